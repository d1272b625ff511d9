"""The operator's tools: effective settings, the activity sample, sync status, run now / run all.

Plain functions over one tenant's settings, its Gainsight resource and the Dagster instance;
``cli.py`` only parses arguments and prints. Each ``cmd_*`` works on the tenant ``--tenant``
names (:func:`gainsight_assets.tenants.pick_tenant`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import polars as pl
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from gainsight_assets.connection import resource_from_env
from gainsight_assets.failures import failure_reason
from gainsight_assets.objects import enabled_objects
from gainsight_assets.partitions import partition_text
from gainsight_assets.runs import (
    STATUS_WORDS,
    RunOutcome,
    RunTarget,
    ensure_dagster_home,
    run_starter,
)
from gainsight_assets.settings import ACTIVITY_TYPES, Settings
from gainsight_assets.survey_fields import detect_fields
from gainsight_assets.tenant import Tenant
from gainsight_assets.tenants import pick_tenant, settings_file
from resources.gainsight import GainsightError, GainsightResource, GainsightRetriesExhausted
from resources.warehouse import WarehouseResource

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


def chosen_tenant(args: argparse.Namespace) -> Tenant:
    """The tenant ``--tenant`` names; left out, the only tenant or the one called ``default``."""
    return pick_tenant(getattr(args, "tenant", None))


def missing_objects(gainsight: GainsightResource, tenant: Tenant) -> list[str]:
    """One line per object the tenant's settings name that the tenant does not have."""
    settings = tenant.settings
    wanted = {name: "synced object" for name in settings.tracked_objects()}
    if settings.deletions.enabled:
        wanted[settings.deletions.object] = "deletions.object"
    present = {obj.object_name.casefold() for obj in gainsight.list_objects()}
    lines = []
    for name, role in wanted.items():
        if name.casefold() in present:
            continue
        if role == "deletions.object":
            lines.append(
                f"Missing: {name} (deletions.object): deletions will be skipped with a warning;"
                " set deletions.object to the tenant's deletion log or deletions.enabled: false."
            )
        else:
            lines.append(
                f"Missing: {name} ({role}): its sync will fail; fix {settings_file(tenant.name)}."
            )
    return lines


def cmd_settings(args: argparse.Namespace) -> int:
    tenant = chosen_tenant(args)
    gainsight = None if args.offline else resource_from_env(tenant)
    data = effective_settings(tenant.settings, gainsight)
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
    tenant = chosen_tenant(args)
    sample = sample_activities(
        tenant.settings, resource_from_env(tenant), budget_seconds=args.budget_seconds
    )
    print(f"Sampled {sample.counts['count'].sum()} activities (sample size {sample.size}).")
    print(f"{'ReportingCategory':<28} {'count':>6}  ActivityType")
    for category, count, mapped, suggested in sample.counts.iter_rows():
        shown = mapped or f"unmapped (suggest {suggested})"
        print(f"{category:<28} {count:>6}  {shown}")
    unmapped = sample.counts.filter(pl.col("mapped_type").is_null())
    if unmapped.height:
        print(f"\n# Paste under activity.category_map in {settings_file(tenant.name)}:")
        # keys are case-insensitive: one line per category, however many spellings it has
        pasted: set[str] = set()
        for category, _, _, suggested in unmapped.iter_rows():
            if category.lower() not in pasted:
                pasted.add(category.lower())
                print(f"    {category.lower()}: {suggested}")
    print(f"\nActivity types: {', '.join(ACTIVITY_TYPES)}")
    return 0


# -- status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    object: str
    job: str
    state: str  # Running | Completed | Failed | Canceled | Queued | Never run
    partition: str  # the last run's partition or range
    when: str  # "4 min ago", "started 2 min ago"
    reason: str = ""  # why the last run failed, one line

    def line(self) -> str:
        cells = [f"{self.object:<14}", f"{self.state:<10}", f"{self.partition:<35}", self.when]
        if self.reason:
            cells.append(self.reason)
        return "  ".join(cells).rstrip()


STATUS_HEADER = f"{'object':<14}  {'status':<10}  {'partition':<35}  when"


def ago(timestamp: float | None, now: float) -> str:
    if timestamp is None:
        return ""
    minutes = int((now - timestamp) // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    hours = minutes // 60
    return f"{hours} h ago" if hours < 48 else f"{hours // 24} days ago"


def sync_status(
    tenant: Tenant, instance: DagsterInstance, *, now: float | None = None
) -> list[StatusRow]:
    """One row per configured (enabled) object: its most recent run, whoever started it."""
    now = time.time() if now is None else now
    rows = []
    for obj in enabled_objects(tenant):
        records = instance.get_run_records(filters=RunsFilter(job_name=obj.job_name), limit=1)
        if not records:
            rows.append(StatusRow(obj.name, obj.job_name, "Never run", "", ""))
            continue
        record = records[0]
        run = record.dagster_run
        state = STATUS_WORDS.get(run.status, run.status.value)
        if record.end_time is not None:
            when = ago(record.end_time, now)
        else:
            when = f"started {ago(record.start_time or record.create_timestamp.timestamp(), now)}"
        reason = (
            str(failure_reason(instance, run)) if run.status == DagsterRunStatus.FAILURE else ""
        )
        rows.append(
            StatusRow(obj.name, obj.job_name, state, partition_text(run.tags), when, reason)
        )
    return rows


def cmd_status(args: argparse.Namespace) -> int:
    ensure_dagster_home()
    tenant = chosen_tenant(args)
    with DagsterInstance.get() as instance:
        rows = sync_status(tenant, instance)
    print(STATUS_HEADER)
    for row in rows:
        print(row.line())
    return 0


# -- run / run all ------------------------------------------------------------------------------


def run_targets(tenant: Tenant, names: list[str], now: datetime) -> list[RunTarget | RunOutcome]:
    """What each named (or every enabled) object's schedule would ask for now: its last closed
    partition (surveys: the trailing lookback ending with it). An object that has none yet is
    already a failed outcome."""
    from schedules import scheduled_window

    settings = tenant.settings
    objects = {obj.name: obj for obj in enabled_objects(tenant)}
    unknown = [n for n in names if n not in objects]
    if unknown:
        raise GainsightError(
            f"Unknown or disabled object(s): {', '.join(unknown)}. Enabled objects:"
            f" {', '.join(objects)} (enable others in the tenant's defs.yaml)."
        )
    targets: list[RunTarget | RunOutcome] = []
    for name in dict.fromkeys(names or objects):
        obj = objects[name]
        window = scheduled_window(obj, now)
        if window is None:
            reason = f"no closed partition yet: start_date is {settings.start_date}"
            targets.append(RunOutcome(name, "Failed", "", reason=reason))
        else:
            targets.append(RunTarget.span(obj.job_name, *window, label=name))
    return targets


def run_objects(
    tenant: Tenant,
    names: list[str],
    instance: DagsterInstance,
    *,
    now: datetime | None = None,
    verbose: bool = False,
    report: Callable[[RunOutcome], None] = lambda outcome: None,
) -> list[RunOutcome]:
    """Run the last closed partition of each named (or every enabled) object, each in its own
    run of the object's job, one after the other; one object failing does not stop the others."""
    targets = run_targets(tenant, names, now or datetime.now(UTC))
    outcomes = []
    with run_starter(instance, verbose=verbose) as starter:
        for target in targets:
            outcome = target if isinstance(target, RunOutcome) else starter.run(target)
            report(outcome)
            outcomes.append(outcome)
    return outcomes


def cmd_run(args: argparse.Namespace) -> int:
    ensure_dagster_home()
    tenant = chosen_tenant(args)
    # a missing or wrong setting is one line here, not the same failure in every run
    resource_from_env(tenant)
    WarehouseResource(url=os.environ.get("WAREHOUSE_URL") or None).target  # noqa: B018
    with DagsterInstance.get() as instance:
        outcomes = run_objects(
            tenant,
            list(args.objects),
            instance,
            verbose=args.verbose,
            report=lambda outcome: print(outcome.line(), flush=True),
        )
    return 0 if all(outcome.ok for outcome in outcomes) else 1
