"""What every benchmark part shares: the demo tenant in its own process, child processes that
report their peak memory, and the machine description."""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from multiprocessing.connection import Connection
from typing import Any

import httpx

KEY = "benchmark-access-key"
# Wednesday 00:00 UTC: a day, 4-hour and (with days=2) a Monday-week boundary line up on it.
ANCHOR = datetime(2025, 3, 12, tzinfo=UTC)
SPAWN = multiprocessing.get_context("spawn")
PAGE = 5000


# -- memory ---------------------------------------------------------------------------------------


def peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> None:
    """Start VmHWM again from the current resident set (Linux ``clear_refs`` 5)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


# -- child processes ------------------------------------------------------------------------------


def quiet_dagster_warnings() -> None:
    """Silence Dagster's beta/preview notices (one per asset definition), as pytest and the CLI
    do, so that the benchmark prints its table and not hundreds of warnings."""
    import warnings

    from dagster import BetaWarning, PreviewWarning

    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)


def _child(target: Callable[..., Any], args: tuple, conn: Connection) -> None:
    try:
        quiet_dagster_warnings()
        result = target(*args)
        conn.send(("ok", result))
    except BaseException:  # report everything to the parent, then exit
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def in_child(target: Callable[..., Any], *args: Any, timeout: float = 1800) -> Any:
    """Run ``target(*args)`` in a fresh (spawned) interpreter and return what it returns."""
    parent, child = SPAWN.Pipe(duplex=False)
    process = SPAWN.Process(target=_child, args=(target, args, child), daemon=False)
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise TimeoutError(f"{target.__name__} did not finish in {timeout:.0f}s")
        status, value = parent.recv()
    finally:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
    if status != "ok":
        raise RuntimeError(f"{target.__name__} failed in its child process:\n{value}")
    return value


# -- the demo tenant in a child process -----------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """Records of ``object`` whose ``field`` (epoch ms) lies in ``[start, end)``."""

    name: str
    object: str
    field: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def _serve(spec: dict[str, Any], conn: Connection) -> None:
    import polars as pl

    from gainsight_assets.demo.generator import generate_dataset
    from gainsight_assets.demo.server import DemoTenant

    started = time.perf_counter()
    dataset = generate_dataset(**{"anchor": ANCHOR, "variant": 7, **spec["dataset"]})
    counts = {}
    for count in spec.get("counts", []):
        frame = dataset.objects[count.object]
        if count.field is not None:
            start = int(count.start.timestamp() * 1000)
            end = int(count.end.timestamp() * 1000)
            frame = frame.filter(pl.col(count.field).is_between(start, end, closed="left"))
        counts[count.name] = frame.height
    if spec.get("accounts_path"):
        dataset.crm_accounts.write_parquet(spec["accounts_path"])
    tenants = [DemoTenant(dataset, access_key=KEY, **options) for options in spec["tenants"]]
    for tenant in tenants:
        tenant.start()
    conn.send(
        {
            "base_urls": [t.base_url for t in tenants],
            "counts": counts,
            "objects": dataset.counts(),
            "generated_seconds": time.perf_counter() - started,
        }
    )
    conn.recv()  # anything means stop
    for tenant in tenants:
        tenant.stop()


class TenantProcess:
    """Demo tenants over one generated dataset, served from a child process."""

    def __init__(
        self,
        dataset: dict[str, Any],
        tenants: list[dict[str, Any]] | None = None,
        counts: list[Count] | None = None,
        accounts_path: str | None = None,
    ) -> None:
        self.spec = {
            "dataset": dataset,
            "tenants": tenants or [{}],
            "counts": counts or [],
            "accounts_path": accounts_path,
        }
        self.info: dict[str, Any] = {}

    def __enter__(self) -> TenantProcess:
        self._conn, child = SPAWN.Pipe()
        self._process = SPAWN.Process(target=_serve, args=(self.spec, child), daemon=True)
        self._process.start()
        deadline = time.monotonic() + 600
        while not self._conn.poll(1):
            if not self._process.is_alive():  # its traceback is on stderr
                raise RuntimeError(
                    f"the demo tenant's process exited ({self._process.exitcode}) before serving"
                )
            if time.monotonic() > deadline:
                raise TimeoutError("the demo tenant did not start in 600s")
        self.info = self._conn.recv()
        self._http = httpx.Client(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()
        self._conn.send("stop")
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()

    def url(self, index: int = 0) -> str:
        return self.info["base_urls"][index]

    def count(self, name: str) -> int:
        return self.info["counts"][name]

    def stats(self, index: int = 0) -> dict[str, Any]:
        return self._http.get(f"{self.url(index)}/__demo__/stats").json()

    def reset(self, index: int = 0) -> None:
        self._http.post(f"{self.url(index)}/__demo__/stats/reset")


@contextmanager
def timer() -> Any:
    box = {"seconds": 0.0}
    started = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - started


# -- the machine ----------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "?"
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                    break
    except OSError:
        pass
    versions = {
        name: _version(name) for name in ("polars", "duckdb", "dagster", "psycopg", "httpx")
    }
    import dagster

    cache = os.path.join(os.path.dirname(dagster.__file__), "__pycache__")
    return {
        # Whether imports read compiled bytecode or compile every module in every process: this
        # machine's environment sets PYTHONDONTWRITEBYTECODE and its venv holds no bytecode; the
        # project's image compiles it (UV_COMPILE_BYTECODE=1).
        "bytecode": "compiled" if os.path.isdir(cache) else "not compiled (every process compiles)",
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        **versions,
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def dump(path: str, payload: Any) -> None:
    with open(path, "w") as out:
        json.dump(payload, out, indent=2, default=str)
