"""Runtime conditions: a non-UTC host time zone, and another process holding the DuckDB file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from warehouse_helpers import raw_sql

from resources.warehouse import (
    TableRef,
    WarehouseLockedError,
    WarehouseTarget,
    Window,
    open_engine,
    parse_warehouse_url,
)

LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def los_angeles_host() -> Iterator[None]:
    """Host (TZ) and libpq (PGTZ) time zones set to America/Los_Angeles for the test."""
    saved = {name: os.environ.get(name) for name in ("TZ", "PGTZ")}
    os.environ["TZ"] = os.environ["PGTZ"] = "America/Los_Angeles"
    time.tzset()
    try:
        assert time.localtime(1710064800).tm_zone in {"PST", "PDT"}
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        time.tzset()


def test_windows_and_timestamps_ignore_the_host_time_zone(
    los_angeles_host: None, target: WarehouseTarget, schema: str
) -> None:
    table = TableRef(schema, "events")
    day = datetime(2024, 3, 10, tzinfo=UTC)  # the US switches to daylight time that day
    stamps = [
        day - timedelta(microseconds=1),
        day,
        day + timedelta(hours=7, minutes=30),
        day + timedelta(hours=10),
        day + timedelta(days=1) - timedelta(microseconds=1),
        day + timedelta(days=1),
    ]
    frame = pl.DataFrame({"ts": stamps, "n": list(range(len(stamps)))})
    with open_engine(target) as engine:
        for start in (day - timedelta(days=1), day, day + timedelta(days=1)):
            window = Window("ts", start, start + timedelta(days=1))
            in_window = frame.filter((pl.col("ts") >= window.start) & (pl.col("ts") < window.end))
            engine.replace(table, in_window, window=window)
        utc_day = engine.read(table, window=Window("ts", day, day + timedelta(days=1)))
        assert sorted(utc_day["n"].to_list()) == [1, 2, 3, 4]
        assert sorted(utc_day["ts"].to_list()) == stamps[1:5]
        # the same instant range given in Los Angeles time (a 23-hour local day)
        local = Window("ts", datetime(2024, 3, 10, tzinfo=LA), datetime(2024, 3, 11, tzinfo=LA))
        assert local.start_utc == datetime(2024, 3, 10, 8) and local.end_utc == datetime(
            2024, 3, 11, 7
        )
        assert sorted(engine.read(table, window=local)["n"].to_list()) == [3, 4, 5]
        # tz-aware frames in another zone are stored as the same UTC instants
        la_frame = frame.with_columns(pl.col("ts").dt.convert_time_zone("America/Los_Angeles"))
        engine.replace(TableRef(schema, "events_la"), la_frame)
        assert engine.read(TableRef(schema, "events_la"))["ts"].to_list() == stamps
    stored = raw_sql(target, f'SELECT CAST(ts AS VARCHAR) FROM "{schema}".events WHERE n = 2')
    assert stored == [("2024-03-10 07:30:00",)]


HOLDER = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.close()
"""


def test_duckdb_waits_for_another_process_then_says_how_to_avoid_it(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), "2.0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        impatient = parse_warehouse_url(f"duckdb:///{path}", lock_timeout_seconds=0.4)
        with pytest.raises(WarehouseLockedError) as error, open_engine(impatient):
            pass
        assert time.monotonic() - started >= 0.4
        message = str(error.value)
        assert "Another run holds the DuckDB warehouse file" in message
        assert str(path) in message
        assert "max_concurrent_runs: 1" in message
        patient = parse_warehouse_url(f"duckdb:///{path}", lock_timeout_seconds=30)
        with open_engine(patient) as engine:  # succeeds once the holder lets go
            engine.replace(TableRef("main", "t"), pl.DataFrame({"a": [1]}))
        assert holder.wait(timeout=10) == 0
    finally:
        holder.kill()
        holder.wait()


def test_duckdb_writes_a_bulk_commit_once_not_through_its_log(tmp_path: Path) -> None:
    """A large commit goes straight to the file: the write-ahead log stays small, so the rows
    are not written twice (into the log, then again at the checkpoint when the file closes)."""
    path = tmp_path / "warehouse.duckdb"
    rows = 60_000  # fewer than one DuckDB row group: such a commit would be logged in full
    frame = pl.DataFrame(
        {
            "id": range(rows),
            "raw": [f'{{"record": {i}, "text": "{"x" * 200}"}}' for i in range(rows)],
        }
    )
    wal = Path(f"{path}.wal")
    with open_engine(parse_warehouse_url(f"duckdb:///{path}")) as engine:
        assert engine.replace(TableRef("main", "unmatched"), frame) == rows
        logged = wal.stat().st_size if wal.exists() else 0
        assert logged < 1_000_000, f"{logged} bytes in the write-ahead log"
    with open_engine(parse_warehouse_url(f"duckdb:///{path}")) as engine:
        assert engine.count(TableRef("main", "unmatched")) == rows
