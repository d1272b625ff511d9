"""The production topology without containers: a code server, the webserver and the daemon as
three processes sharing an instance on Postgres (``deploy/dagster.postgres.yaml`` and
``deploy/workspace.yaml`` as shipped), against the demo tenant and a Postgres warehouse.

Everything goes through the webserver's GraphQL API, as an operator's clicks would: a partitioned
run, a two-partition backfill and a schedule turned on. Runs wait in the queue until the daemon
starts them, one per tenant at a time.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import polars as pl
import psycopg
import pytest
from dagster._grpc.client import DagsterGrpcClient

from gainsight_assets.demo.server import Fault
from gainsight_assets.settings import PROJECT_ROOT
from gainsight_assets.tenant import TENANT_TAG, Tenant
from gainsight_assets.tenants import load_tenants
from resources.warehouse import TableRef, WarehouseResource
from tests.assets.helpers import load_accounts
from tests.conftest import DEMO_KEY
from tests.e2e.test_webserver import free_port

BIN = Path(sys.executable).parent
DEPLOY = PROJECT_ROOT / "deploy"
LOCATION_FILE = Path(__file__).with_name("topology_location.py")
REPO = {"repositoryLocationName": "gainsight", "repositoryName": "__repository__"}
JOB = "gainsight_companies_sync"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


@dataclass
class Topology:
    port: int  # the webserver's
    warehouse_url: str

    def graphql(self, query: str, **variables) -> dict:
        answer = httpx.post(
            f"http://127.0.0.1:{self.port}/graphql",
            json={"query": query, "variables": variables},
            timeout=60,
        ).json()
        assert "errors" not in answer, answer
        return answer["data"]

    def location_loaded(self) -> bool:
        data = self.graphql(LOCATIONS)["workspaceOrError"]
        entries = data.get("locationEntries") or []
        errors = [e["locationOrLoadError"] for e in entries if e["loadStatus"] == "LOADED"]
        assert not [e for e in errors if e.get("__typename") == "PythonError"], errors
        return any(e.get("__typename") == "RepositoryLocation" for e in errors)


class Processes:
    """Starts processes in their own process groups; stops every group, also on failure."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        with (self.logs / f"{name}.log").open("w") as sink:
            process = subprocess.Popen(
                argv,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # children (the code server's runs) share its group
            )
        self.started.append((name, process))
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()

    def check_alive(self) -> None:
        for name, process in self.started:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{self.log(name)}")

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            signal_group(process.pid, signal.SIGTERM)
        for _, process in reversed(self.started):
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            signal_group(process.pid, signal.SIGKILL)  # whatever is left of the group
            process.wait(timeout=10)
        deadline = time.monotonic() + 10  # killed processes take a moment to be reaped
        while any(group_alive(p.pid) for _, p in self.started) and time.monotonic() < deadline:
            time.sleep(0.2)


def signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A database of its own for the instance and the warehouse, dropped afterwards."""
    name = f"topology_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(postgres_url, name)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for(what: str, check, processes: Processes, timeout: float, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        value = check()
        if value:
            return value
        time.sleep(every)
    logs = "\n".join(f"--- {n}\n{processes.log(n)[-4000:]}" for n, _ in processes.started)
    pytest.fail(f"{what} did not happen within {timeout:.0f}s\n{logs}")


def code_server_up(port: int) -> bool:
    try:
        DagsterGrpcClient(port=port, host="127.0.0.1").ping("")
    except Exception:
        return False
    return True


def webserver_up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def topology(
    demo_tenant, demo_dataset, fresh_database: str, tmp_path: Path
) -> Iterator[tuple[Topology, Processes]]:
    """Code server and webserver up; the daemon is started by the test (runs queue until then)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.postgres.yaml", home / "dagster.yaml")
    load_accounts(fresh_database, demo_dataset.crm_accounts)
    pg = urlsplit(fresh_database)
    code_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": pg.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(pg.port or 5432),
        "DAGSTER_PG_USER": pg.username or "postgres",
        "DAGSTER_PG_PASSWORD": pg.password or "",
        "DAGSTER_PG_DB": pg.path.lstrip("/"),
        "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
        "DAGSTER_CODE_SERVER_PORT": str(code_port),
        "GAINSIGHT_BASE_URL": demo_tenant.base_url,
        "GAINSIGHT_ACCESS_KEY": DEMO_KEY,
        "WAREHOUSE_URL": fresh_database,
        "TMPDIR": str(tmp_path),  # the client's call budget file, one for this test
    }
    processes = Processes(env, tmp_path)
    with ExitStack() as stack:
        stack.callback(processes.stop_all)
        processes.start(
            "code-server",
            str(BIN / "dagster"), "code-server", "start",
            "-h", "127.0.0.1", "-p", str(code_port),
            "-f", str(LOCATION_FILE), "--location-name", "gainsight",
        )  # fmt: skip
        wait_for("the code server answering", lambda: code_server_up(code_port), processes, 90)
        processes.start(
            "webserver",
            str(BIN / "dagster-webserver"),
            "-w", str(DEPLOY / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(web_port),
        )  # fmt: skip
        wait_for("the webserver answering", lambda: webserver_up(web_port), processes, 90)
        topology = Topology(web_port, fresh_database)
        wait_for("the webserver loading the code location", topology.location_loaded, processes, 60)
        stack.callback(demo_tenant.clear_faults)  # the tenant serves later tests too
        yield topology, processes
    for _, process in processes.started:
        assert not group_alive(process.pid), "a process of the topology outlived the test"


LOCATIONS = """
query {
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name } }
          ... on PythonError { message }
        }
      }
    }
  }
}"""
START_DAEMON_ARGS = ("-w", str(DEPLOY / "workspace.yaml"))

SENSOR_QUERY = """
query ($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { jobOriginId sensorState { selectorId status } }
  }
}"""
STOP_SENSOR = """
mutation ($origin: String!, $selectorId: String!) {
  stopSensor(jobOriginId: $origin, jobSelectorId: $selectorId) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on PythonError { message }
  }
}"""
SET_POOL = """
mutation ($pool: String!, $limit: Int!) { setConcurrencyLimit(concurrencyKey: $pool, limit: $limit) }
"""
START_SCHEDULE = """
mutation ($selector: ScheduleSelector!) {
  startSchedule(scheduleSelector: $selector) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}"""
SCHEDULE_TICKS = """
query ($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    ... on Schedule { scheduleState { ticks(limit: 10) { status runIds error { message } } } }
  }
}"""
LAUNCH_RUN = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
LAUNCH_BACKFILL = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
BACKFILL = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs { runId } }
  }
}"""
RUNS = """
query {
  runsOrError {
    ... on Runs {
      results { runId jobName status startTime endTime tags { key value } }
    }
  }
}"""


def stop_sensor(topology: Topology, name: str) -> None:
    data = topology.graphql(SENSOR_QUERY, selector={**REPO, "sensorName": name})
    sensor = data["sensorOrError"]
    assert sensor["__typename"] == "Sensor", sensor
    result = topology.graphql(
        STOP_SENSOR, origin=sensor["jobOriginId"], selectorId=sensor["sensorState"]["selectorId"]
    )["stopSensor"]
    assert result["instigationState"]["status"] == "STOPPED", result


def runs(topology: Topology) -> list[dict]:
    found = topology.graphql(RUNS)["runsOrError"]["results"]
    for run in found:
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
    return found


def test_code_server_webserver_and_daemon_run_the_tenant_one_run_at_a_time(
    topology, demo_tenant
) -> None:
    topology, processes = topology
    today = datetime.now(UTC).date()
    day = [(today - timedelta(days=n)).isoformat() for n in range(4)]
    schedule = {**REPO, "scheduleName": "topology_every_minute"}

    # The first-sync sensor would start every object's history; an operator may stop it.
    stop_sensor(topology, "gainsight_gate_sensor")
    # The Gainsight pool alone would hold queued runs back one at a time (its single slot is taken
    # by a running step); open it so the per-tenant run limit is what keeps the runs apart.
    assert topology.graphql(SET_POOL, pool=Tenant().pool, limit=4)["setConcurrencyLimit"]
    started = topology.graphql(START_SCHEDULE, selector=schedule)["startSchedule"]
    assert started["scheduleState"]["status"] == "RUNNING", started

    launched = topology.graphql(
        LAUNCH_RUN,
        params={
            "selector": {**REPO, "jobName": JOB},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day[1]}]},
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    assert launched["run"]["status"] == "QUEUED"  # no daemon yet: the queue holds it
    backfill = topology.graphql(
        LAUNCH_BACKFILL,
        params={
            "selector": {
                "partitionSetName": f"{JOB}_partition_set",
                "repositorySelector": REPO,
            },
            "partitionNames": [day[2], day[3]],
        },
    )["launchPartitionBackfill"]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill

    # Each run's first company query answers after a few seconds: runs long enough that two
    # runs started together would overlap.
    demo_tenant.inject(*[Fault(delay_seconds=4, path="/query/Company") for _ in range(4)])
    processes.start("daemon", str(BIN / "dagster-daemon"), "run", *START_DAEMON_ARGS)

    def backfill_runs() -> list[str] | None:
        data = topology.graphql(BACKFILL, id=backfill["backfillId"])["partitionBackfillOrError"]
        ids = [r["runId"] for r in data["runs"]]
        assert data["status"] in {"REQUESTED", "COMPLETED", "COMPLETED_SUCCESS"}, data
        return ids if len(ids) == 2 else None

    backfill_ids = wait_for("the backfill submitting its two runs", backfill_runs, processes, 120)

    def tick_run() -> list[str] | None:
        ticks = topology.graphql(SCHEDULE_TICKS, selector=schedule)["scheduleOrError"]
        ticks = ticks["scheduleState"]["ticks"]
        assert all(t["status"] != "FAILURE" for t in ticks), ticks
        return next((t["runIds"] for t in ticks if t["status"] == "SUCCESS"), None)

    [scheduled_id] = wait_for("a schedule tick launching a run", tick_run, processes, 150, 3)

    expected = {launched["run"]["runId"], *backfill_ids, scheduled_id}

    def all_done() -> list[dict] | None:
        mine = [r for r in runs(topology) if r["runId"] in expected]
        return mine if len(mine) == 4 and all(r["status"] in TERMINAL for r in mine) else None

    finished = wait_for("the four runs finishing", all_done, processes, 150, 2)
    assert {r["status"] for r in finished} == {"SUCCESS"}, finished
    tenant = Tenant().name
    history = [r for r in runs(topology) if r["tags"].get(TENANT_TAG) == tenant]
    others = [r for r in runs(topology) if r["runId"] not in expected]
    assert {r["runId"] for r in history} == expected, [(r["jobName"], r["tags"]) for r in history]
    # besides them only the tenants' freshness sensors' check runs (they read the instance, not
    # Gainsight); the stopped first-sync sensor started nothing
    freshness = {t.named("gainsight_freshness_sensor") for t in load_tenants().values()}
    assert all(r["tags"].get("dagster/sensor_name") in freshness for r in others), [
        (r["jobName"], r["tags"]) for r in others
    ]
    assert sorted(r["tags"]["dagster/partition"] for r in history)[-3:] == sorted(day[1:])

    # One tenant, one run at a time: each run starts after the previous one ended.
    spans = sorted((r["startTime"], r["endTime"]) for r in history)
    for (_, previous_end), (start, _) in itertools.pairwise(spans):
        assert start >= previous_end, spans

    companies = WarehouseResource(url=topology.warehouse_url).read(
        TableRef("gainsight", "companies")
    )
    partitions = {r["tags"]["dagster/partition"] for r in history}
    assert set(companies["snapshot_date"].cast(pl.String)) == partitions
    assert (
        companies.height
        == len(partitions)
        * companies.filter(pl.col("snapshot_date").cast(pl.String) == day[1]).height
    )
