"""The code location served by ``dagster-webserver``: a run launched over GraphQL, and what the UI
lists (schedules, sensors, the gate check)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest
from dagster_graphql import DagsterGraphQLClient

from gainsight_assets.demo.runner import DEMO_SETTINGS
from gainsight_assets.settings import PROJECT_ROOT
from resources.warehouse import TableRef, WarehouseResource
from tests.assets.helpers import seed_accounts
from tests.conftest import DEMO_KEY

WEBSERVER = Path(sys.executable).with_name("dagster-webserver")
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


@pytest.fixture(scope="module")
def webserver(
    demo_tenant, demo_dataset, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, str]]:
    tmp_path = tmp_path_factory.mktemp("webserver")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    seed_accounts(url, demo_dataset.crm_accounts)  # the connection is closed again right away
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "GAINSIGHT_BASE_URL": demo_tenant.base_url,  # a thread of this process, on loopback
        "GAINSIGHT_ACCESS_KEY": DEMO_KEY,
        "GAINSIGHT_SETTINGS": str(DEMO_SETTINGS),
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
        yield port, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_a_run_submitted_over_graphql_fills_the_table(webserver) -> None:
    port, url = webserver
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
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
    port, _ = webserver
    answer = httpx.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": REPOSITORY_QUERY}, timeout=30
    ).json()
    assert "errors" not in answer, answer
    [repo] = answer["data"]["repositoriesOrError"]["nodes"]
    assert repo["location"]["name"] == "gainsight"
    assert {s["name"] for s in repo["schedules"]} == {
        "gainsight_companies_sync_schedule",
        "gainsight_activities_sync_schedule",
        "gainsight_surveys_sync_schedule",
        "gainsight_product_usage_sync_schedule",
    }
    assert {s["name"] for s in repo["sensors"]} == {
        "gainsight_gate_sensor",
        "gainsight_run_all_sensor",
        "gainsight_failure_sensor",
        "gainsight_freshness_sensor",
        "customer_usage_after_usage_sensor",
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
