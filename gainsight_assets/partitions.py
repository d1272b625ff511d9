"""The four sync cadences as Dagster partitions, every one of them in UTC."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import polars as pl
from dagster import (
    DailyPartitionsDefinition,
    PartitionsDefinition,
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


def unread_partitions(
    partitions_def: PartitionsDefinition | None,
    keys: Sequence[str],
    last_read: datetime | None,
    descending: bool,
) -> list[str]:
    """The partitions of ``keys`` that may hold records a query cut short did not read.

    The query asked for its records ordered by the partitions' date field and stopped after
    the record dated ``last_read``: unread records lie at or before it (``descending``) or at
    or after it. Without a ``last_read`` (nothing read, or an answer out of order) every
    partition may miss records.
    """
    if last_read is None or not isinstance(partitions_def, TimeWindowPartitionsDefinition):
        return list(keys)
    unread = []
    for key in keys:
        window = partitions_def.time_window_for_partition_key(key)
        if (window.start <= last_read) if descending else (window.end > last_read):
            unread.append(key)
    return unread
