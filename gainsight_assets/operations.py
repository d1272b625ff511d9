"""The wizard's operational tools: Show JSON, the activity sample, the status banner, Run / Run all.

Plain functions over the settings, the Gainsight resource and the Dagster instance; ``cli.py``
only parses arguments and prints.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import polars as pl
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from gainsight_assets.objects import enabled_objects
from gainsight_assets.settings import ACTIVITY_TYPES, Settings, load_settings
from gainsight_assets.survey_fields import detect_fields
from resources.gainsight import GainsightError, GainsightResource, GainsightRetriesExhausted

SAMPLE_SIZES = (1000, 800, 500)


# -- settings --json ------------------------------------------------------------------------


def effective_settings(settings: Settings, gainsight: GainsightResource | None) -> dict[str, Any]:
    """The settings as JSON, with each survey object's detected field mappings filled in."""
    data = settings.model_dump(mode="json")
    if gainsight is None:
        return data
    for row, out in zip(settings.surveys.objects, data["surveys"]["objects"], strict=True):
        detected = detect_fields(gainsight.describe(row.object), row.field_mappings)
        out["field_mappings"] = {k: v for k, v in detected.items() if v}
    return data


def cmd_settings(args: argparse.Namespace) -> int:
    from gainsight_assets.cli import resource_from_env

    settings = load_settings()
    gainsight = None if args.offline else resource_from_env()
    data = effective_settings(settings, gainsight)
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=False))
    else:
        import yaml

        print(yaml.safe_dump(data, sort_keys=False), end="")
    return 0


# -- sample-activities ------------------------------------------------------------------------


def suggest_type(category: str) -> str:
    """A sensible default ActivityType for an unmapped ReportingCategory."""
    lowered = category.lower()
    if "mail" in lowered:
        return "EMAIL"
    if any(word in lowered for word in ("meet", "call", "webinar", "demo", "qbr", "visit")):
        return "MEETING"
    return "TYPE_MANUAL"


@dataclass
class Sample:
    size: int
    counts: pl.DataFrame  # reporting_category, count, mapped_type, suggested_type


def sample_activities(
    settings: Settings,
    gainsight: GainsightResource,
    *,
    budget_seconds: float = 25.0,
    clock: Callable[[], float] = time.monotonic,
) -> Sample:
    """Sample recent activities at 1000, then 800, then 500 records within ``budget_seconds``."""
    cfg = settings.activity
    client = gainsight.client
    description = gainsight.describe(cfg.object)
    category = description.require("ReportingCategory", setting="activity.object").field_name
    date_field = description.require(cfg.date_field, setting="activity.date_field").field_name
    deadline = clock() + budget_seconds
    last_error: Exception | None = None
    for attempt, size in enumerate(SAMPLE_SIZES):
        remaining = deadline - clock()
        if remaining <= 0:
            break
        try:
            records = client.query_once(
                cfg.object,
                {"select": [category], "orderBy": {date_field: "desc"}, "limit": size, "offset": 0},
                select=[category],
                # an equal share of what is left, so a slow answer leaves time for the smaller ones
                timeout=remaining / (len(SAMPLE_SIZES) - attempt),
                max_retries=0,  # the smaller sample is the retry
            )
        except (GainsightRetriesExhausted, httpx.TimeoutException) as exc:
            last_error = exc
            continue
        categories = pl.DataFrame(
            {"reporting_category": [r.get(category) for r in records]},
            schema={"reporting_category": pl.String},
        )
        counts = (
            categories.drop_nulls()
            .group_by("reporting_category")
            .len("count")
            .with_columns(
                pl.col("reporting_category")
                .str.to_lowercase()
                .replace_strict(cfg.category_map, default=None, return_dtype=pl.String)
                .alias("mapped_type")
            )
            .with_columns(
                pl.col("reporting_category")
                .map_elements(suggest_type, return_dtype=pl.String)
                .alias("suggested_type")
            )
            .sort("count", "reporting_category", descending=[True, False])
        )
        return Sample(size=size, counts=counts)
    raise GainsightError(
        f"Activity sample timed out at {', '.join(map(str, SAMPLE_SIZES))} records within"
        f" {budget_seconds:.0f}s ({last_error}). Gainsight's activity_timeline is slow on large"
        " tenants; retry later or raise --budget-seconds."
    )


def cmd_sample_activities(args: argparse.Namespace) -> int:
    from gainsight_assets.cli import resource_from_env

    settings = load_settings()
    sample = sample_activities(settings, resource_from_env(), budget_seconds=args.budget_seconds)
    print(f"Sampled {sample.counts['count'].sum()} activities (sample size {sample.size}).")
    print(f"{'ReportingCategory':<28} {'count':>6}  ActivityType")
    for category, count, mapped, suggested in sample.counts.iter_rows():
        shown = mapped or f"unmapped (suggest {suggested})"
        print(f"{category:<28} {count:>6}  {shown}")
    unmapped = sample.counts.filter(pl.col("mapped_type").is_null())
    if unmapped.height:
        print("\n# Paste under activity.category_map in gainsight.yaml:")
        # keys are case-insensitive: one line per category, however many spellings it has
        pasted: set[str] = set()
        for category, _, _, suggested in unmapped.iter_rows():
            if category.lower() not in pasted:
                pasted.add(category.lower())
                print(f"    {category.lower()}: {suggested}")
    print(f"\nActivity types: {', '.join(ACTIVITY_TYPES)}")
    return 0


# -- status -----------------------------------------------------------------------------------

_STATUS_WORDS = {
    DagsterRunStatus.SUCCESS: "Completed",
    DagsterRunStatus.FAILURE: "Failed",
    DagsterRunStatus.CANCELED: "Failed",
    DagsterRunStatus.STARTED: "Running",
    DagsterRunStatus.STARTING: "Running",
    DagsterRunStatus.QUEUED: "Queued",
    DagsterRunStatus.NOT_STARTED: "Queued",
    DagsterRunStatus.CANCELING: "Running",
}


@dataclass(frozen=True)
class StatusRow:
    object: str
    job: str
    state: str  # Running | Completed | Failed | Queued | Never run
    detail: str


def _ago(timestamp: float | None, now: float) -> str:
    if timestamp is None:
        return ""
    minutes = int((now - timestamp) // 60)
    return "just now" if minutes < 1 else f"{minutes} min ago"


def sync_status(
    settings: Settings, instance: DagsterInstance, *, now: float | None = None
) -> list[StatusRow]:
    """One row per configured (enabled) object: its most recent run."""
    now = time.time() if now is None else now
    rows = []
    for obj in enabled_objects(settings):
        records = instance.get_run_records(filters=RunsFilter(job_name=obj.job_name), limit=1)
        if not records:
            rows.append(StatusRow(obj.name, obj.job_name, "Never run", ""))
            continue
        record = records[0]
        state = _STATUS_WORDS.get(record.dagster_run.status, record.dagster_run.status.value)
        if record.end_time is not None:
            verb = "Completed" if state == "Completed" else "Finished"
            detail = f"{verb} {_ago(record.end_time, now)}"
        else:
            detail = (
                f"Started {_ago(record.start_time or record.create_timestamp.timestamp(), now)}"
            )
        rows.append(StatusRow(obj.name, obj.job_name, state, detail))
    return rows


def cmd_status(args: argparse.Namespace) -> int:
    from gainsight_assets.demo.runner import ensure_dagster_home

    ensure_dagster_home()
    settings = load_settings()
    with DagsterInstance.get() as instance:
        rows = sync_status(settings, instance)
    print(f"{'object':<16} {'status':<10} when")
    for row in rows:
        print(f"{row.object:<16} {row.state:<10} {row.detail}")
    return 0


# -- run / run all ------------------------------------------------------------------------------


def run_objects(
    settings: Settings, names: list[str], instance: DagsterInstance, *, now: datetime | None = None
) -> dict[str, str]:
    """Run the last closed partition of each named (or every enabled) object, each in its own
    run; one object failing does not stop the others. Returns object → outcome."""
    from gainsight_assets.definitions import build_definitions
    from schedules import last_closed_partition

    objects = {obj.name: obj for obj in enabled_objects(settings)}
    unknown = [n for n in names if n not in objects]
    if unknown:
        raise GainsightError(
            f"Unknown or disabled object(s): {', '.join(unknown)}. Enabled objects:"
            f" {', '.join(objects)} (enable others in gainsight.yaml)."
        )
    defs = build_definitions(settings)
    now = now or datetime.now(UTC)
    outcome: dict[str, str] = {}
    for name in names or list(objects):
        obj = objects[name]
        try:
            partition = last_closed_partition(obj, now)
            result = defs.resolve_job_def(obj.job_name).execute_in_process(
                instance=instance, partition_key=partition, raise_on_error=False
            )
            outcome[name] = "Completed" if result.success else "Failed"
        except Exception as exc:  # isolation: one object's failure never stops the rest
            outcome[name] = f"Failed to launch: {type(exc).__name__}: {exc}"
    return outcome


def cmd_run(args: argparse.Namespace) -> int:
    from gainsight_assets.demo.runner import ensure_dagster_home

    ensure_dagster_home()
    settings = load_settings()
    with DagsterInstance.get() as instance:
        outcome = run_objects(settings, list(args.objects), instance)
    for name, state in outcome.items():
        print(f"{name:<16} {state}")
    return 0 if all(state == "Completed" for state in outcome.values()) else 1
