"""The four sync cadences as Dagster partitions, every one of them in UTC."""

from __future__ import annotations

from datetime import date

import polars as pl
from dagster import (
    DailyPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

FOUR_HOURLY_FORMAT = "%Y-%m-%d-%H:%M"


def daily(start: date) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC")


def four_hourly(start: date) -> TimeWindowPartitionsDefinition:
    return TimeWindowPartitionsDefinition(
        start=f"{start.isoformat()}-00:00",
        fmt=FOUR_HOURLY_FORMAT,
        cron_schedule="0 */4 * * *",
        timezone="UTC",
    )


def weekly(start: date) -> WeeklyPartitionsDefinition:
    """Weeks start on Monday 00:00 UTC."""
    return WeeklyPartitionsDefinition(start_date=start.isoformat(), day_offset=1, timezone="UTC")


# Polars truncation that lands a timestamp on the start of its partition window.
TRUNCATE_EVERY = {"daily": "1d", "four_hourly": "4h", "weekly": "1w"}


def window_start(column: pl.Expr, cadence: str) -> pl.Expr:
    """The start of the partition window each timestamp falls in (weeks start on Monday)."""
    return column.dt.truncate(TRUNCATE_EVERY[cadence])
