"""(7) The fixed cost of a run, started the three ways users start runs, against (8) the cost of
loading the definitions, itself against an empty ``Definitions``.

Every measured thing is a process of its own, started here, and its CPU time (user + system) is
what the kernel accounts to it:

- **definitions load**: ``dagster asset list -m <module>`` for the project and for a module that
  holds only ``dg.Definitions()``, in the same environment (CPU of the command, from ``wait4``);
- **a run of one small partition** (the last closed 4-hour activities window, one page of
  records, against the demo tenant in a process of its own):
  - ``gainsight-sync run activities`` (the CLI opens the code location in a code server of its
    own and hands the run to the run launcher: the run is a process the code server starts);
  - the job's ``execute_in_process`` in a ``python`` process that imports the definitions;
  - ``launchRun`` over the GraphQL API of a ``dagster-webserver`` (started once, with a Dagster
    home of its own), whose code server starts the run's process.

  For the CLI and the webserver the run's CPU is that of the process the code server starts for
  it, sampled every 20 ms until it exits (psutil); the CLI's whole command (CLI, code server and
  run) is reported beside it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.common import KEY, Count, TenantProcess
from benchmarks.jobs import load_accounts

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
JOB = "gainsight_activities_sync"
MODULE = "gainsight_assets.definitions"
EMPTY_MODULE = "empty_definitions"
EMPTY_DEFINITIONS = "import dagster as dg\n\ndefs = dg.Definitions()\n"
# The project's local instance (deploy/dagster.yaml) with runs started on submission: the
# benchmark runs no daemon to dequeue them.
DIRECT_COORDINATOR = """
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""
EXECUTE_IN_PROCESS = """\
import sys
import warnings

warnings.filterwarnings("ignore")
from dagster import DagsterInstance

from gainsight_assets.definitions import build_code_location

job = build_code_location().resolve_job_def(sys.argv[1])
result = job.execute_in_process(partition_key=sys.argv[2], instance=DagsterInstance.get())
sys.exit(0 if result.success else 1)
"""
LAUNCH_RUN = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN_STATUS = """
query ($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }
"""
FOUR = timedelta(hours=4)
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
SAMPLE_SECONDS = 0.02


# -- processes and their CPU -----------------------------------------------------------------------


def measured(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> dict[str, Any]:
    """Run ``argv`` to its end; its wall time and the CPU of it and every child it waited for."""
    with log.open("a") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)
        watch = RunProcessWatch(process.pid)
        watch.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        watch.stop()
    return {
        "ok": process.returncode == 0,
        "wall_seconds": wall,
        # the process, and those of its children it waited for (not the code server's runs)
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "run_process_cpu_seconds": watch.cpu_seconds(),
    }


class RunProcessWatch(threading.Thread):
    """Samples the CPU time of the run processes under ``root``: the processes a code server
    starts for runs (``multiprocessing`` spawn children) that were not there when it started."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self._halt = threading.Event()
        self._known: dict[int, bool] = {}
        self._cpu: dict[int, float] = {}
        self._ignore: set[int] = set()

    def ignore_existing(self) -> None:
        self._ignore = {p.pid for p in descendants(self.root)}

    def run(self) -> None:
        while not self._halt.is_set():
            for child in descendants(self.root):
                if child.pid in self._ignore:
                    continue
                try:
                    if child.pid not in self._known:
                        self._known[child.pid] = "spawn_main" in " ".join(child.cmdline())
                    if self._known[child.pid]:
                        t = child.cpu_times()
                        self._cpu[child.pid] = (
                            t.user + t.system + t.children_user + t.children_system
                        )
                except psutil.Error:
                    continue
            time.sleep(SAMPLE_SECONDS)

    def wait_exited(self, timeout: float = 60) -> None:
        """Keep sampling until every run process seen has ended (a run process outlives its
        ``SUCCESS`` event: it still closes its storage and shuts its interpreter down)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = []
            for pid in [p for p, is_run in list(self._known.items()) if is_run]:
                try:
                    alive.append(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
                except psutil.Error:
                    alive.append(False)
            if alive and not any(alive):
                return
            time.sleep(SAMPLE_SECONDS)
        raise RuntimeError(f"a run process did not end within {timeout:g} s")

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    def cpu_seconds(self) -> float | None:
        return sum(self._cpu.values()) if self._cpu else None

    def runs(self) -> int:
        return len(self._cpu)


def descendants(root: int) -> list[psutil.Process]:
    """Every process under ``root`` (zombies included, which ``Process.children`` refuses)."""
    children: dict[int, list[psutil.Process]] = {}
    for process in psutil.process_iter(["ppid"]):
        children.setdefault(process.info["ppid"], []).append(process)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.pid)
    return found


def spread(values: list[float]) -> dict[str, float]:
    return {"best": min(values), "worst": max(values), "n": len(values)}


# -- (8) definitions load --------------------------------------------------------------------------


def definitions_load(env: dict[str, str], work: Path, repeats: int) -> dict[str, Any]:
    """CPU of ``dagster asset list`` for the project and for an empty Definitions, alternated."""
    empty_dir = work / "empty"
    empty_dir.mkdir(exist_ok=True)
    (empty_dir / f"{EMPTY_MODULE}.py").write_text(EMPTY_DEFINITIONS)
    dagster = str(BIN / "dagster")
    project, empty = [], []
    for _ in range(repeats):
        project.append(
            measured(
                [dagster, "asset", "list", "-m", MODULE], env, PROJECT, work / "asset-list.log"
            )
        )
        empty.append(
            measured(
                [dagster, "asset", "list", "-m", EMPTY_MODULE],
                {**env, "PYTHONPATH": str(empty_dir)},
                empty_dir,
                work / "asset-list.log",
            )
        )
    if not all(r["ok"] for r in project + empty):
        raise RuntimeError(f"dagster asset list failed: see {work / 'asset-list.log'}")
    return {
        "project_cpu": spread([r["cpu_seconds"] for r in project]),
        "project_wall": spread([r["wall_seconds"] for r in project]),
        "empty_cpu": spread([r["cpu_seconds"] for r in empty]),
        "empty_wall": spread([r["wall_seconds"] for r in empty]),
        "heavy_modules": heavy_modules_at_import(env),
    }


def heavy_modules_at_import(env: dict[str, str]) -> list[str]:
    """Which of Polars, DuckDB, httpx and pyarrow importing the definitions loads."""
    code = (
        "import sys, warnings; warnings.filterwarnings('ignore'); import "
        + MODULE
        + "; print(' '.join(m for m in ('polars', 'duckdb', 'httpx', 'pyarrow')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT, capture_output=True, text=True
    )
    return out.stdout.split()


# -- (7) runs ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def last_closed_window(now: datetime) -> datetime:
    """The end of the last closed 4-hour window (UTC)."""
    return now.replace(hour=now.hour - now.hour % 4, minute=0, second=0, microsecond=0)


def measure_overhead(
    companies: int, activities_per_company: int, repeats: int, load_repeats: int
) -> dict[str, Any]:
    anchor = last_closed_window(datetime.now(UTC))
    partition = (anchor - FOUR).strftime("%Y-%m-%d-%H:%M")
    with tempfile.TemporaryDirectory(prefix="gainsight-bench-overhead-") as tmp:
        work = Path(tmp)
        home = work / "dagster_home"
        home.mkdir()
        config = (PROJECT / "deploy" / "dagster.yaml").read_text() + DIRECT_COORDINATOR
        (home / "dagster.yaml").write_text(config)
        accounts = str(work / "accounts.parquet")
        warehouse = f"duckdb:///{work / 'warehouse.duckdb'}"
        dataset = {
            "companies": companies,
            "activities_per_company": activities_per_company,
            "surveys_per_company": 0,
            "usage_rows_per_company": 0,
            "days": 1,
            "anchor": anchor,
        }
        window = Count("partition", "activity_timeline", "LastModifiedDate", anchor - FOUR, anchor)
        with TenantProcess(dataset, [{}], [window], accounts_path=accounts) as tenant:
            records = tenant.count("partition")
            load_accounts(warehouse, accounts)
            env = {
                **os.environ,
                "DAGSTER_HOME": str(home),
                "GAINSIGHT_BASE_URL": tenant.url(),
                "GAINSIGHT_ACCESS_KEY": KEY,
                "WAREHOUSE_URL": warehouse,
                "TMPDIR": str(work),  # the client's call budget file
            }
            load = definitions_load(env, work, load_repeats)
            cli = [
                measured(
                    [str(BIN / "gainsight-sync"), "run", "activities"],
                    env,
                    PROJECT,
                    work / "cli.log",
                )
                for _ in range(repeats)
            ]
            in_process = [
                measured(
                    [sys.executable, "-c", EXECUTE_IN_PROCESS, JOB, partition],
                    env,
                    PROJECT,
                    work / "execute_in_process.log",
                )
                for _ in range(repeats)
            ]
            web = webserver_runs(env, work, partition, repeats)
        cli_log = (work / "cli.log").read_text()
    for name, runs in (("CLI", cli), ("execute_in_process", in_process), ("webserver", web)):
        if not all(r["ok"] for r in runs):
            raise RuntimeError(f"a {name} run failed:\n{cli_log[-3000:]}")
    if partition not in cli_log:
        raise RuntimeError(
            f"the CLI ran another window than {partition} (a 4-hour boundary passed):\n{cli_log}"
        )
    return {
        "partition": partition,
        "records": records,
        "load": load,
        "cli": cli,
        "execute_in_process": in_process,
        "webserver": web,
    }


def webserver_runs(env: dict[str, str], work: Path, partition: str, repeats: int) -> list[dict]:
    """Start dagster-webserver once, then launch ``repeats`` runs over GraphQL, one at a time."""
    port = free_port()
    log = work / "webserver.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [
                str(BIN / "dagster-webserver"),
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                f"{port}",
            ],
            cwd=PROJECT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the code server goes with it
        )
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        wait_until_up(http, server, log)
        results = []
        for _ in range(repeats):
            watch = RunProcessWatch(server.pid)
            watch.ignore_existing()
            watch.start()
            started = time.perf_counter()
            answer = graphql(
                http,
                LAUNCH_RUN,
                params={
                    "selector": {
                        "repositoryLocationName": "gainsight",
                        "repositoryName": "__repository__",
                        "jobName": JOB,
                    },
                    "executionMetadata": {
                        "tags": [{"key": "dagster/partition", "value": partition}]
                    },
                    "runConfigData": {},
                },
            )["launchRun"]
            if answer["__typename"] != "LaunchRunSuccess":
                raise RuntimeError(f"launchRun: {answer}")
            run_id = answer["run"]["runId"]
            status = wait_run(http, run_id)
            wall = time.perf_counter() - started
            watch.wait_exited()  # its CPU until it ends, not until its last event
            watch.stop()
            results.append(
                {
                    "ok": status == "SUCCESS",
                    "wall_seconds": wall,
                    "run_process_cpu_seconds": watch.cpu_seconds(),
                    "run_processes": watch.runs(),
                }
            )
        return results
    finally:
        http.close()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def graphql(http: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    answer = http.post("/graphql", json={"query": query, "variables": variables}).json()
    if "errors" in answer:
        raise RuntimeError(f"GraphQL: {answer['errors']}")
    return answer["data"]


def wait_until_up(http: httpx.Client, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited:\n{log.read_text()[-3000:]}")
        try:
            if http.get("/server_info", timeout=2).status_code == 200:
                # the code location loads after the server answers: wait for the job
                data = graphql(
                    http,
                    "query { repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }",
                )
                if data["repositoriesOrError"].get("nodes"):
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"dagster-webserver did not come up:\n{log.read_text()[-3000:]}")


def wait_run(http: httpx.Client, run_id: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = graphql(http, RUN_STATUS, id=run_id)["runOrError"].get("status")
        if status in TERMINAL:
            return status
        time.sleep(0.1)
    return "TIMEOUT"


if __name__ == "__main__":  # a quick look: python -m benchmarks.overhead
    import json

    print(json.dumps(measure_overhead(1000, 28, 1, 1), indent=2, default=str))
