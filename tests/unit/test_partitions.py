"""Partitions, windows and range tags: one module answers, everything else asks it."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gainsight_assets.partitions import (
    daily,
    four_hourly,
    last_closed_partition,
    partition_tags,
    partition_text,
    trailing_window,
    weekly,
)

ROOT = Path(__file__).resolve().parents[2]
START = date(2025, 1, 1)


def test_partition_tags_name_one_partition_or_a_range() -> None:
    assert partition_tags("2025-03-01", "2025-03-01") == {"dagster/partition": "2025-03-01"}
    tags = partition_tags("2025-03-01", "2025-03-03")
    assert tags == {
        "dagster/asset_partition_range_start": "2025-03-01",
        "dagster/asset_partition_range_end": "2025-03-03",
    }
    assert partition_text(tags) == "2025-03-01...2025-03-03"
    assert partition_text(partition_tags("k", "k")) == "k"


@pytest.mark.parametrize(
    ("at", "span", "expected"),
    [
        # a daily tick a few minutes after midnight: the 30 closed days before it
        (
            datetime(2025, 3, 12, 0, 20, tzinfo=UTC),
            timedelta(days=30),
            ("2025-02-10", "2025-03-11"),
        ),
        (datetime(2025, 3, 12, 0, 0, tzinfo=UTC), timedelta(days=30), ("2025-02-10", "2025-03-11")),
        (datetime(2025, 3, 12, 12, 0, tzinfo=UTC), timedelta(days=1), ("2025-03-11", "2025-03-11")),
        # never before the first partition
        (datetime(2025, 1, 5, 1, 0, tzinfo=UTC), timedelta(days=30), ("2025-01-01", "2025-01-04")),
        # nothing has closed yet
        (datetime(2025, 1, 1, 12, 0, tzinfo=UTC), timedelta(days=30), None),
    ],
)
def test_trailing_window_of_days(at: datetime, span: timedelta, expected) -> None:
    assert trailing_window(daily(START), at, span) == expected


def test_trailing_window_of_weeks_and_four_hours() -> None:
    at = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)  # a Wednesday
    assert trailing_window(weekly(START), at, timedelta(weeks=4)) == ("2025-02-10", "2025-03-03")
    assert trailing_window(four_hourly(START), at, timedelta(hours=8)) == (
        "2025-03-12-04:00",
        "2025-03-12-08:00",
    )
    assert last_closed_partition(weekly(START), at) == "2025-03-03"


def test_no_other_module_builds_range_tags_or_picks_windows() -> None:
    """The tag names and Dagster's partition-time calls appear in partitions.py only (the tag
    names also in dagster_private.py, which takes them from Dagster)."""
    owners = {"gainsight_assets/partitions.py", "gainsight_assets/dagster_private.py"}
    words = {
        "RANGE_START_TAG",
        "RANGE_END_TAG",
        "PARTITION_TAG",
        "ASSET_PARTITION_RANGE_START_TAG",
        "ASSET_PARTITION_RANGE_END_TAG",
        "get_last_partition_key",
        "partition_loading_context",
        "dagster/asset_partition_range_start",
        "dagster/asset_partition_range_end",
    }
    found = []
    for folder in ("gainsight_assets", "resources", "schedules", "sensors", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in owners:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                name = (
                    node.id
                    if isinstance(node, ast.Name)
                    else node.attr
                    if isinstance(node, ast.Attribute)
                    else node.value
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)
                    else None
                )
                names = [alias.name for alias in getattr(node, "names", [])]
                if name in words or words & set(names):
                    found.append(f"{relative}:{node.lineno}")
    assert found == []
