"""(4) Writes: rows per second through the IO manager into DuckDB and Postgres, against a naive
``executemany`` of the same rows.

The frame is the activities asset's output (11 columns: eight strings, two timestamps) for one
day of generated activities, written as one daily partition of ``<schema>.activities`` with its
``_latest`` view, exactly as ``WarehouseIOManager.handle_output`` writes an asset's output. Each
engine writes the previous day's partition into a new table (``first``), then ``appends`` new
daily partitions into that table (``append``: the daily case, what the target is checked on; the
best counts, as the machine is shared), then re-runs one of them (``rerun``: its old rows deleted
and the new ones inserted in the same transaction). The engines' own speed for the same rows
(DuckDB: one bare ``INSERT``; Postgres: one bare ``COPY`` of CSV built beforehand) is measured
too, best of two.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import ANCHOR
from gainsight_assets.assets.activities import OUTPUT_COLUMNS

DAY = (ANCHOR - timedelta(days=1)).date().isoformat()
COLUMNS = OUTPUT_COLUMNS  # the rows written are shaped like gainsight.activities


def activity_rows(rows: int):
    """``rows`` activities shaped like the activities asset's output."""
    import polars as pl

    from gainsight_assets.demo.generator import generate_dataset

    companies = 1000
    dataset = generate_dataset(
        companies=companies,
        activities_per_company=-(-rows // companies),
        surveys_per_company=0,
        usage_rows_per_company=0,
        days=1,
        anchor=ANCHOR,
    )
    accounts = dataset.crm_accounts.select(
        pl.col("gainsight_gsid_c").alias("GsCompanyId"), pl.col("id").alias("account_id")
    ).drop_nulls()

    def moment(name: str) -> pl.Expr:
        return (
            pl.from_epoch(name, time_unit="ms").dt.cast_time_unit("us").dt.replace_time_zone("UTC")
        )

    frame = dataset.objects["activity_timeline"].head(rows)
    return (
        frame.join(accounts, on="GsCompanyId", how="left")
        .select(
            pl.col("Gsid").alias("activity_id"),
            pl.col("account_id").fill_null(pl.col("GsCompanyId").str.slice(0, 18)),
            pl.lit("crm_id").alias("match_method"),
            pl.col("ReportingCategory").str.to_uppercase().alias("activity_type"),
            pl.col("ReportingCategory").alias("reporting_category"),
            pl.col("TypeName").alias("type_name"),
            pl.col("Subject").alias("subject"),
            pl.col("Notes").alias("notes"),
            moment("ActivityDate").alias("activity_date"),
            moment("LastModifiedDate").alias("modified_at"),
            pl.col("GsCompanyId").alias("gs_company_id"),
        )
        .sort("modified_at", "activity_id")
    )


def io_manager_write(url: str, schema: str, frame, day: str = DAY) -> float:
    """Seconds for ``WarehouseIOManager.handle_output`` of ``frame`` as one daily partition."""
    from dagster import AssetKey, DailyPartitionsDefinition, build_output_context

    from resources.warehouse import WarehouseIOManager

    context = build_output_context(
        asset_key=AssetKey([schema, "activities"]),
        definition_metadata={
            "partition_expr": "modified_at",
            "latest_by": {"key": ["activity_id"], "order": "modified_at"},
        },
        partition_key=day,
        asset_partitions_def=DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC"),
    )
    manager = WarehouseIOManager(url=url)
    started = time.perf_counter()
    manager.handle_output(context, frame)
    return time.perf_counter() - started


def _ddl(frame, kind: str) -> str:
    import polars as pl

    text = "VARCHAR" if kind == "duckdb" else "TEXT"
    return ", ".join(
        f'"{name}" {"TIMESTAMP" if isinstance(dtype, pl.Datetime) else text}'
        for name, dtype in frame.schema.items()
    )


def naive_rows(frame) -> list[tuple]:
    """The frame as Python tuples with naive UTC datetimes, what a hand-written loader binds."""
    import polars as pl

    naive = frame.with_columns(
        pl.col(c).dt.replace_time_zone(None)
        for c, t in frame.schema.items()
        if isinstance(t, pl.Datetime)
    )
    return naive.rows()


def duckdb_executemany(path: Path, frame) -> float:
    import duckdb

    rows = naive_rows(frame)
    with duckdb.connect(str(path)) as conn:
        conn.execute(f"CREATE TABLE naive ({_ddl(frame, 'duckdb')})")
        marks = ", ".join("?" for _ in frame.columns)
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO naive VALUES ({marks})", rows)
        conn.execute("COMMIT")
        return time.perf_counter() - started


def postgres_executemany(url: str, schema: str, frame) -> float:
    import psycopg

    rows = naive_rows(frame)
    with psycopg.connect(url) as conn:
        conn.execute(f'CREATE TABLE "{schema}".naive ({_ddl(frame, "postgres")})')
        conn.commit()
        marks = ", ".join("%s" for _ in frame.columns)
        started = time.perf_counter()
        with conn.cursor() as cursor:
            cursor.executemany(f'INSERT INTO "{schema}".naive VALUES ({marks})', rows)
        conn.commit()
        return time.perf_counter() - started


def postgres2_executemany(url: str, schema: str, frame) -> float:
    """The same with psycopg2 (one INSERT round trip per row), for comparison."""
    import psycopg2

    rows = naive_rows(frame)
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE TABLE "{schema}".naive2 ({_ddl(frame, "postgres")})')
        conn.commit()
        marks = ", ".join("%s" for _ in frame.columns)
        started = time.perf_counter()
        with conn.cursor() as cursor:
            cursor.executemany(f'INSERT INTO "{schema}".naive2 VALUES ({marks})', rows)
        conn.commit()
        return time.perf_counter() - started
    finally:
        conn.close()


def duckdb_bare_insert(path: Path, frame) -> float:
    """DuckDB's own speed for these rows: one INSERT from the frame, nothing else."""
    import duckdb
    import polars as pl

    naive = frame.with_columns(
        pl.col(c).dt.replace_time_zone(None)
        for c, t in frame.schema.items()
        if isinstance(t, pl.Datetime)
    )
    with duckdb.connect(str(path)) as conn:
        conn.execute(f"CREATE TABLE bare ({_ddl(frame, 'duckdb')})")
        started = time.perf_counter()
        conn.register("frame", naive)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO bare SELECT * FROM frame").fetchall()
        conn.execute("COMMIT")
        return time.perf_counter() - started


def postgres_bare_copy(url: str, schema: str, frame, name: str = "bare") -> float:
    """The server's own COPY speed for these rows: CSV built beforehand, one COPY, nothing else."""
    import psycopg

    from resources.warehouse.frames import prepare_frame
    from resources.warehouse.postgres_engine import _csv
    from resources.warehouse.refs import TableRef

    data = _csv(prepare_frame(frame, TableRef(schema, name)).frame)
    with psycopg.connect(url) as conn:
        conn.execute(f'CREATE TABLE "{schema}"."{name}" ({_ddl(frame, "postgres")})')
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f'COPY "{schema}"."{name}" FROM STDIN (FORMAT csv)') as copy,
        ):
            copy.write(data)
        conn.commit()
        return time.perf_counter() - started


def measure_writes(
    rows: int,
    naive_rows_duckdb: int,
    naive_rows_postgres: int,
    naive_rows_postgres2: int,
    postgres_url: str,
    appends: int,
    workdir: str,
) -> dict[str, Any]:
    """Runs in a child process. Postgres work happens in a schema of its own, dropped after."""
    import polars as pl
    import psycopg

    frame = activity_rows(rows)
    day_before = frame.with_columns(pl.col("activity_date", "modified_at") - timedelta(days=1))
    previous = (ANCHOR - timedelta(days=2)).date().isoformat()
    result: dict[str, Any] = {"rows": frame.height}

    def shifted(days: int):
        return frame.with_columns(pl.col("activity_date", "modified_at") + timedelta(days=days))

    def day(days: int) -> str:
        return (ANCHOR - timedelta(days=1 - days)).date().isoformat()

    def three_writes(url: str, schema: str) -> dict[str, Any]:
        """The first write (new table), three new daily partitions (best counts), a re-run."""
        first = io_manager_write(url, schema, day_before, previous)
        written = [io_manager_write(url, schema, shifted(d), day(d)) for d in range(appends)]
        return {
            "first_seconds": first,
            "append_seconds": min(written),
            "append_all_seconds": written,
            "rerun_seconds": io_manager_write(url, schema, frame),
        }

    duck = f"duckdb:///{Path(workdir) / f'writes-{uuid.uuid4().hex[:8]}.duckdb'}"
    result["duckdb"] = three_writes(duck, "gainsight")
    sample = frame.head(naive_rows_duckdb)
    result["duckdb"]["naive_rows"] = sample.height
    result["duckdb"]["naive_seconds"] = duckdb_executemany(Path(workdir) / "naive.duckdb", sample)
    result["duckdb"]["bare_seconds"] = min(
        duckdb_bare_insert(Path(workdir) / f"bare{i}.duckdb", frame) for i in range(2)
    )
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        result["postgres"] = three_writes(postgres_url, schema)
        sample = frame.head(naive_rows_postgres)
        result["postgres"]["naive_rows"] = sample.height
        result["postgres"]["naive_seconds"] = postgres_executemany(postgres_url, schema, sample)
        sample2 = frame.head(naive_rows_postgres2)
        result["postgres"]["naive2_rows"] = sample2.height
        result["postgres"]["naive2_seconds"] = postgres2_executemany(postgres_url, schema, sample2)
        result["postgres"]["bare_seconds"] = min(
            postgres_bare_copy(postgres_url, schema, frame, f"bare{i}") for i in range(2)
        )
        with psycopg.connect(postgres_url) as conn:
            result["postgres"]["server_version"] = conn.execute("SHOW server_version").fetchone()[0]
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(
                "DELETE FROM _warehouse.latest_views WHERE table_schema = %s", [schema]
            ) if _has_registry(conn) else None
    return result


def _has_registry(conn) -> bool:
    row = conn.execute("SELECT to_regclass('_warehouse.latest_views')").fetchone()
    return row is not None and row[0] is not None
