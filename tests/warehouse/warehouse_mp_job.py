"""A job run by the multiprocess executor in tests: every step in its own subprocess.

Two partitioned assets are written to DuckDB at the same time (one of them may wait for the file
lock); a third loads both as inputs and writes its output to Postgres. The DuckDB warehouse comes
from ``WAREHOUSE_URL`` through an EnvVar, as in production; the schema of the asset keys and the
Postgres URL are the reconstructor's arguments.
"""

import os
from datetime import timedelta
from functools import cache

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetIn,
    DailyPartitionsDefinition,
    Definitions,
    EnvVar,
    JobDefinition,
    asset,
    define_asset_job,
    multiprocess_executor,
)

from resources.warehouse import WarehouseIOManager

DAILY = DailyPartitionsDefinition(start_date="2024-03-01", timezone="UTC")
PARTITIONED = {"partitions_def": DAILY, "metadata": {"partition_expr": "ts"}}


def _rows(context: AssetExecutionContext, side: str) -> pl.DataFrame:
    start = context.partition_time_window.start
    return pl.DataFrame(
        {
            "ts": [start + timedelta(hours=h) for h in (1, 2)],
            "side": [side, side],
            "pid": [os.getpid()] * 2,
        }
    )


@cache
def get_job(schema: str, postgres_url: str) -> JobDefinition:
    """The job for the tables of ``schema`` (rebuilt the same way in every step process)."""

    @asset(key=[schema, "left"], **PARTITIONED)
    def left(context: AssetExecutionContext) -> pl.DataFrame:
        return _rows(context, "left")

    @asset(key=[schema, "right"], **PARTITIONED)
    def right(context: AssetExecutionContext) -> pl.DataFrame:
        return _rows(context, "right")

    @asset(
        key=[schema, "both"],
        ins={"left": AssetIn(key=[schema, "left"]), "right": AssetIn(key=[schema, "right"])},
        io_manager_key="postgres_io_manager",
        **PARTITIONED,
    )
    def both(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
        return pl.concat([left, right]).with_columns(pl.lit(os.getpid()).alias("reader_pid"))

    defs = Definitions(
        assets=[left, right, both],
        jobs=[define_asset_job("warehouse_multiprocess", partitions_def=DAILY)],
        resources={
            "io_manager": WarehouseIOManager(url=EnvVar("WAREHOUSE_URL")),
            "postgres_io_manager": WarehouseIOManager(url=postgres_url),
        },
        executor=multiprocess_executor,
    )
    return defs.resolve_job_def("warehouse_multiprocess")
