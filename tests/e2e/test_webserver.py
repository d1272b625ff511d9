"""The code location served by ``dagster-webserver``: a run launched over GraphQL, what the UI
lists (schedules, sensors, the gate check), and runs started by ``gainsight-sync``: in the job's
history, re-executable, and recorded by the failure sensor when they fail."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest
from dagster_graphql import DagsterGraphQLClient

from gainsight_assets.cli import main
from gainsight_assets.settings import PROJECT_ROOT
from gainsight_assets.tenants import load_tenants
from resources.warehouse import TableRef, WarehouseResource
from tests.assets.helpers import load_accounts
from tests.conftest import DEMO_KEY

WEBSERVER = Path(sys.executable).with_name("dagster-webserver")
RUN_ENV = (
    "DAGSTER_HOME",
    "GAINSIGHT_BASE_URL",
    "GAINSIGHT_ACCESS_KEY",
    "WAREHOUSE_URL",
    "TMPDIR",
)
INSTANCE_YAML = """\
# no daemon in this test: runs start as soon as they are submitted
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""
REPOSITORY_QUERY = """
query {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        schedules { name }
        sensors { name }
        assetNodes {
          assetKey { path }
          assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not answer within {timeout:.0f}s:\n{log.read_text()}")


@dataclass(frozen=True)
class Webserver:
    port: int
    url: str  # WAREHOUSE_URL
    env: dict[str, str]  # what the webserver (and so its code server) runs with

    def graphql(self, query: str, **variables: object) -> dict:
        answer = httpx.post(
            f"http://127.0.0.1:{self.port}/graphql",
            json={"query": query, "variables": variables},
            timeout=60,
        ).json()
        assert "errors" not in answer, answer
        return answer["data"]


@pytest.fixture(scope="module")
def webserver(
    demo_tenant, demo_dataset, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Webserver]:
    tmp_path = tmp_path_factory.mktemp("webserver")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    load_accounts(url, demo_dataset.crm_accounts)  # the connection is closed again right away
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "GAINSIGHT_BASE_URL": demo_tenant.base_url,  # a thread of this process, on loopback
        "GAINSIGHT_ACCESS_KEY": DEMO_KEY,
        "WAREHOUSE_URL": url,
        "TMPDIR": str(tmp_path),  # the client's call budget file, one for this test
    }
    port = free_port()
    log = tmp_path / "webserver.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(WEBSERVER), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the code server goes with it
        )
    try:
        wait_until_up(port, process, log)
        yield Webserver(port, url, {k: env[k] for k in RUN_ENV})
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_a_run_submitted_over_graphql_fills_the_table(webserver) -> None:
    url = webserver.url
    client = DagsterGraphQLClient("127.0.0.1", port_number=webserver.port)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    run_id = client.submit_job_execution(
        "gainsight_companies_sync", tags={"dagster/partition": yesterday}
    )
    deadline = time.monotonic() + 120
    status = client.get_run_status(run_id)
    while status.value not in {"SUCCESS", "FAILURE", "CANCELED"} and time.monotonic() < deadline:
        time.sleep(1)
        status = client.get_run_status(run_id)
    assert status.value == "SUCCESS", status
    # the run (a subprocess) is over and has closed the DuckDB file
    warehouse = WarehouseResource(url=url)
    companies = warehouse.read(TableRef("gainsight", "companies"))
    assert companies.height > 0
    assert set(companies["snapshot_date"].cast(pl.String)) == {yesterday}


def test_the_ui_lists_schedules_sensors_and_the_gate_check(webserver) -> None:
    [repo] = webserver.graphql(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    assert repo["location"]["name"] == "gainsight"
    # every tenant of the defs folder, each under its own names (default and emea as shipped)
    tenants = load_tenants().values()
    assert {s["name"] for s in repo["schedules"]} == {
        tenant.named(f"gainsight_{name}_sync_schedule")
        for tenant in tenants
        for name in ("companies", "activities", "surveys", "product_usage", "deleted_records")
    }
    assert {s["name"] for s in repo["sensors"]} == {
        tenant.named(name)
        for tenant in tenants
        for name in (
            "gainsight_gate_sensor",
            "gainsight_run_all_sensor",
            "gainsight_failure_sensor",
            "gainsight_freshness_sensor",
            "customer_usage_after_usage_sensor",
            "product_usage_after_deletions_sensor",
        )
    }
    checks = {
        tuple(node["assetKey"]["path"]): {
            c["name"]: c["blocking"] for c in node["assetChecksOrError"]["checks"]
        }
        for node in repo["assetNodes"]
    }
    assert checks[("primary_crm", "accounts")] == {"primary_crm_accounts_present": True}
    assert {"unique_grain", "match_rate", "read_in_full", "freshness_check"} <= set(
        checks[("gainsight", "companies")]
    )


# -- runs started by gainsight-sync ----------------------------------------------------------

JOB_HISTORY = """
query ($job: String!) {
  pipelineOrError(
    params: {repositoryLocationName: "gainsight", repositoryName: "__repository__",
             pipelineName: $job}
  ) {
    ... on Pipeline {
      pipelineSnapshotId
      runs {
        runId
        status
        pipelineSnapshotId
        repositoryOrigin { repositoryLocationName repositoryName }
        tags { key value }
      }
    }
  }
}
"""
REEXECUTE = """
mutation ($parent: String!) {
  launchPipelineReexecution(reexecutionParams: {parentRunId: $parent, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
DRY_RUN = """
mutation ($cursor: String) {
  sensorDryRun(
    selectorData: {repositoryLocationName: "gainsight", repositoryName: "__repository__",
                   sensorName: "gainsight_failure_sensor"},
    cursor: $cursor
  ) {
    __typename
    ... on DryRunInstigationTick { evaluationResult { cursor skipReason error { message } } }
    ... on PythonError { message }
  }
}
"""


@pytest.fixture
def cli_in(webserver, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]):
    """Run ``gainsight-sync`` in this process against the webserver's instance and warehouse."""
    for name, value in webserver.env.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        out, _ = capfd.readouterr()
        return code, out

    return run


def job_history(webserver: Webserver, job: str) -> tuple[str, dict[str, dict]]:
    pipeline = webserver.graphql(JOB_HISTORY, job=job)["pipelineOrError"]
    return pipeline["pipelineSnapshotId"], {run["runId"]: run for run in pipeline["runs"]}


def wait_for_run(webserver: Webserver, run_id: str) -> str:
    client = DagsterGraphQLClient("127.0.0.1", port_number=webserver.port)
    deadline = time.monotonic() + 120
    status = client.get_run_status(run_id)
    while status.value not in {"SUCCESS", "FAILURE", "CANCELED"} and time.monotonic() < deadline:
        time.sleep(0.5)
        status = client.get_run_status(run_id)
    return status.value


def test_a_cli_run_is_in_the_jobs_history_and_re_executes(webserver, cli_in) -> None:
    code, out = cli_in("run", "surveys")
    assert code == 0, out
    [line] = out.strip().splitlines()
    short_id = line.split(" run ")[1].split()[0]

    snapshot, runs = job_history(webserver, "gainsight_surveys_sync")
    [run_id] = [run_id for run_id in runs if run_id.startswith(short_id)]
    run = runs[run_id]
    assert run["status"] == "SUCCESS"
    assert run["repositoryOrigin"] == {
        "repositoryLocationName": "gainsight",
        "repositoryName": "__repository__",
    }
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    # surveys re-sync the trailing lookback in one run, as the daily schedule does
    first, last = line.split()[2].split("...")
    assert tags["dagster/asset_partition_range_start"] == first
    assert tags["dagster/asset_partition_range_end"] == last
    assert tags["gainsight/object"] == "surveys"
    assert run["pipelineSnapshotId"] == snapshot  # the job as the UI has it: not degraded

    answer = webserver.graphql(REEXECUTE, parent=run_id)["launchPipelineReexecution"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    child = answer["run"]["runId"]
    assert wait_for_run(webserver, child) == "SUCCESS"


def test_a_failed_cli_run_is_recorded_by_the_failure_sensor(
    webserver, cli_in, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sensor starts from "now", as it does when the daemon first evaluates it
    first = webserver.graphql(DRY_RUN, cursor=None)["sensorDryRun"]["evaluationResult"]
    assert first["error"] is None, first

    wrong = "wrong-key-4f1d2c3b"
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", wrong)
    code, out = cli_in("run", "activities")
    assert code == 1
    [line] = out.strip().splitlines()
    reason = line.split(maxsplit=1)[1].split(" run ", 1)[1].split(maxsplit=1)[1]
    assert reason.startswith("GainsightAuthError: ")

    # the sensor evaluated in the webserver's code server, exactly as the daemon evaluates it
    tick = webserver.graphql(DRY_RUN, cursor=first["cursor"])["sensorDryRun"]["evaluationResult"]
    assert tick["error"] is None, tick
    failures = WarehouseResource(url=webserver.url).read(TableRef("gainsight", "sync_failures"))
    [row] = failures.filter(pl.col("job_name") == "gainsight_activities_sync").to_dicts()
    assert row["object"] == "activities"
    assert f"{row['error_class']}: {row['message']}" == reason  # the CLI printed the same line
    assert row["partition"] == line.split()[2]
    assert wrong not in row["message"]
