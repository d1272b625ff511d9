"""Partitions, windows and the run tags that name them: the one module for all three.

- The sync cadences as Dagster partitions, every one of them in UTC (:func:`daily`,
  :func:`four_hourly`, :func:`weekly`), and where a timestamp's window starts
  (:func:`window_start`).
- Which partitions a run asks for: the last closed one at a time (:func:`last_closed_partition`)
  and the trailing span of closed partitions ending with it (:func:`trailing_window`); schedules,
  the first-sync sensor, the CLI and the demo all ask these.
- The tags a run of one partition or of a range carries (:func:`partition_tags`), as the UI and
  backfills set them; Dagster names these tags only in its private API
  (:mod:`gainsight_assets.dagster_private`), so nothing else spells them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from dagster import (
    DailyPartitionsDefinition,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    partition_loading_context,
)

from gainsight_assets.dagster_private import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

if TYPE_CHECKING:
    import polars as pl

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


@dataclass(frozen=True)
class Cadence:
    """A sync cadence: its partitions, where a timestamp's window starts, and its deadline."""

    name: str
    partitions: Callable[[date], TimeWindowPartitionsDefinition]
    truncate_every: str  # Polars truncation that lands a timestamp on its window's start
    # Cron of the times the last closed partition must have landed by. It leaves the schedules
    # (which tick 10-30 minutes after a window closes) time to finish.
    freshness_deadline: str


CADENCES = {
    cadence.name: cadence
    for cadence in (
        Cadence("four_hourly", four_hourly, "4h", "30 1-23/4 * * *"),  # 90 min after close
        Cadence("daily", daily, "1d", "0 3 * * *"),
        Cadence("weekly", weekly, "1w", "0 6 * * 1"),  # Monday 06:00 UTC
    )
}


def window_start(column: pl.Expr, cadence: str) -> pl.Expr:
    """The start of the partition window each timestamp falls in (weeks start on Monday)."""
    return column.dt.truncate(CADENCES[cadence].truncate_every)


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


def last_closed_partition(partitions_def: PartitionsDefinition, at: datetime) -> str | None:
    """The last partition whose window has closed at ``at``; ``None`` before the first."""
    # Dagster 1.13 takes the evaluation time from the partition loading context, not an argument.
    with partition_loading_context(effective_dt=at):
        return partitions_def.get_last_partition_key()


def trailing_window(
    partitions_def: PartitionsDefinition, at: datetime, span: timedelta
) -> tuple[str, str] | None:
    """The first and last closed partitions at ``at`` whose windows end within ``span`` before
    it (never before the first partition); ``None`` when no partition has closed yet."""
    last = last_closed_partition(partitions_def, at)
    if last is None:
        return None
    keys = [
        key
        for key in partitions_def.get_partition_keys(current_time=at)
        if partitions_def.time_window_for_partition_key(key).end > at - span
    ]
    return (keys[0], last) if keys else (last, last)


def partition_tags(first: str, last: str) -> dict[str, str]:
    """The tags of a run of partition ``first`` (when ``first == last``) or of the range
    ``first``..``last`` in one run, as the UI and backfills set them."""
    if first == last:
        return {PARTITION_TAG: first}
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def partition_text(tags: Mapping[str, str]) -> str:
    """A run's partition (``key``) or partition range (``first...last``); empty if neither."""
    if PARTITION_TAG in tags:
        return tags[PARTITION_TAG]
    if RANGE_START_TAG in tags:
        return f"{tags[RANGE_START_TAG]}...{tags.get(RANGE_END_TAG, '')}"
    return ""
