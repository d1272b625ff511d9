"""Sensors for the Gainsight jobs, one set per tenant (named as :class:`Tenant` names them;
the names below are those of the tenant ``default``).

- ``gainsight_gate_sensor``: when the primary CRM's accounts appear (the gate opens), each enabled
  object that has never run gets its first sync over its lookback window, once.
- ``gainsight_run_all_sensor`` (off by default): "run all sync jobs". Turning it on launches one
  run per enabled object for its last closed window; run keys make each window run once, and one
  object failing does not stop the others.
- ``gainsight_failure_sensor``: records every failed Gainsight run of this code location, whoever
  started it (object, partition, error class, one-line message without secrets) in
  the tenant's ``sync_failures`` table and the sensor log, then reports the table's materialization and
  its ``unique_grain`` check (one row per run) on the asset ``gainsight/sync_failures``.
  Each tenant's sensor records its own tenant's runs only.
- ``customer_usage_after_usage_sensor``: refreshes ``customer_usage_weekly`` for a week once per
  new product-usage materialization of that week, unless the week was refreshed after it landed.
- ``product_usage_after_deletions_sensor``: when deletions land for usage records that a stored
  week was aggregated from, re-materializes that week once per batch of deletions, so the
  aggregate stops counting them.

The gate sensor also records an observation of the tenant's primary-CRM accounts asset each
time it looks.
"""

import functools
import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetKey,
    AssetMaterialization,
    AssetRecordsFilter,
    AssetSpec,
    DagsterInstance,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_check,
    run_failure_sensor,
    sensor,
)

from gainsight_assets.dagster_private import AssetJob as ExecutableDefinition
from gainsight_assets.failures import failure_reason, redact
from gainsight_assets.gate import accounts_observation, gate_status
from gainsight_assets.objects import SYNC_TAG, SyncObject
from gainsight_assets.partitions import partition_text, trailing_window
from gainsight_assets.tenant import TENANT_TAG, Tenant
from resources.warehouse import WarehouseResource
from schedules import scheduled_window, window_request

if TYPE_CHECKING:
    import polars as pl

FAILURES = "sync_failures"
FAILURES_GRAIN = ("run_id",)
__all__ = [
    "FAILURES",
    "build_failures_grain_check",
    "build_sensors",
    "failure_record",
    "failures_spec",
    "redact",
]


def first_sync_range(obj: SyncObject, now: datetime) -> tuple[str, str] | None:
    span = obj.spec.first_sync_span(obj.tenant.settings)
    return trailing_window(obj.partitions_def, now, span)


def build_gate_sensor(
    tenant: Tenant, objects: list[SyncObject], jobs: list[ExecutableDefinition]
) -> SensorDefinition:
    settings = tenant.settings

    @sensor(
        name=tenant.named("gainsight_gate_sensor"),
        jobs=jobs,
        minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING,
        description="Starts each never-run object's first sync once the primary CRM's accounts"
        " are present.",
    )
    def gate_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
        status = gate_status(warehouse, settings)
        observed = [accounts_observation(tenant.crm_accounts_key, status)]
        if not status.open:
            return SensorResult(skip_reason=status.message, asset_events=observed)
        now = datetime.now(UTC)
        requests = []
        for obj in objects:
            if context.instance.get_runs_count(RunsFilter(job_name=obj.job_name)):
                continue
            window = first_sync_range(obj, now)
            if window is not None:
                requests.append(window_request(obj, *window, run_key=f"first-sync:{obj.name}"))
        if not requests:
            return SensorResult(
                skip_reason="Gate open; every enabled object has run before.",
                asset_events=observed,
            )
        return SensorResult(run_requests=requests, asset_events=observed)

    return gate_sensor


def build_run_all_sensor(
    tenant: Tenant, objects: list[SyncObject], jobs: list[ExecutableDefinition]
) -> SensorDefinition:
    settings = tenant.settings

    @sensor(
        name=tenant.named("gainsight_run_all_sensor"),
        jobs=jobs,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="Run all sync jobs: one run per enabled object for its last closed window.",
    )
    def run_all(context: SensorEvaluationContext, warehouse: WarehouseResource):
        status = gate_status(warehouse, settings)
        if not status.open:
            return SkipReason(status.message)
        now = datetime.now(UTC)
        requests = []
        for obj in objects:
            try:
                window = scheduled_window(obj, now)
            except Exception as exc:  # one object's problem never stops the others
                context.log.error(f"{obj.name}: could not pick a partition: {exc}")
                continue
            if window is not None:  # what the object's schedule would ask for now
                requests.append(window_request(obj, *window, key_prefix=f"{obj.name}:"))
        return requests

    return run_all


def failures_spec(tenant: Tenant) -> AssetSpec:
    """The tenant's ``sync_failures``: written by its failure sensor, never by a run."""
    table = tenant.table(FAILURES)
    return AssetSpec(
        key=tenant.key(FAILURES),
        description=f"Failed Gainsight runs of tenant {tenant.name}, one row per run (object,"
        " partition, error class, one-line message without secrets), written by"
        f" {tenant.named('gainsight_failure_sensor')}.",
        group_name=tenant.group,
        metadata={"table": str(table), "grain": list(FAILURES_GRAIN)},
        kinds={"gainsight"},
    )


def failures_grain(warehouse: WarehouseResource, tenant: Tenant) -> AssetCheckResult:
    from gainsight_assets.sync import grain_check

    return grain_check(warehouse, {tenant.table(FAILURES): (FAILURES_GRAIN, None)})


def build_failures_grain_check(tenant: Tenant) -> AssetChecksDefinition:
    @asset_check(
        asset=tenant.key(FAILURES),
        name="unique_grain",
        description=f"{tenant.table(FAILURES)} holds one row per run (ERROR). The failure sensor"
        " reports it after each write; it can also be run from the UI.",
    )
    def sync_failures_unique_grain(warehouse: WarehouseResource) -> AssetCheckResult:
        return failures_grain(warehouse, tenant)

    return sync_failures_unique_grain


def build_failure_sensor(tenant: Tenant) -> SensorDefinition:
    table, key = tenant.table(FAILURES), tenant.key(FAILURES)

    @run_failure_sensor(
        name=tenant.named("gainsight_failure_sensor"),
        default_status=DefaultSensorStatus.RUNNING,
        description=f"Records failed Gainsight runs of tenant {tenant.name} in {table}.",
    )
    def failure_sensor(context: RunFailureSensorContext, warehouse: WarehouseResource):
        import polars as pl

        run = context.dagster_run
        record = failure_record(context, tenant)
        if record is None:
            return
        context.log.error(
            f"Gainsight {record['object']} sync failed"
            f" (partition {record['partition']}): {record['error_class']}: {record['message']}"
        )
        warehouse.replace(
            table,
            pl.DataFrame([record], schema=failure_schema()),
            equals={"run_id": run.run_id},
        )
        grain = failures_grain(warehouse, tenant)
        return SensorResult(
            asset_events=[
                AssetMaterialization(
                    key,
                    metadata={"run_id": run.run_id, "object": record["object"]},
                ),
                AssetCheckEvaluation(
                    asset_key=key,
                    check_name="unique_grain",
                    passed=grain.passed,
                    severity=grain.severity,
                    description=grain.description,
                    metadata=grain.metadata,
                ),
            ]
        )

    return failure_sensor


@functools.cache
def failure_schema() -> "dict[str, pl.DataType]":
    import polars as pl

    return {
        "run_id": pl.String,
        "job_name": pl.String,
        "object": pl.String,
        "partition": pl.String,
        "error_class": pl.String,
        "message": pl.String,
        "failed_at": pl.Datetime("us", "UTC"),
    }


def failure_record(context: RunFailureSensorContext, tenant: Tenant) -> dict | None:
    """What an operator needs to know about one failed Gainsight run of ``tenant``, secrets
    removed; None for any other run."""
    run = context.dagster_run
    name = run.tags.get(SYNC_TAG)
    if name is None or run.tags.get(TENANT_TAG) != tenant.name:
        return None  # not a Gainsight job of this tenant
    reason = failure_reason(context.instance, run)
    return {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "object": name,
        "partition": partition_text(run.tags),
        "error_class": reason.error_class,
        "message": reason.message,
        "failed_at": datetime.now(UTC),
    }


USAGE_BATCH = 100


def build_usage_sensor(tenant: Tenant) -> list[SensorDefinition]:
    from gainsight_assets.downstream import CUSTOMER_USAGE_JOB, NAME, downstream_enabled

    # Its job exists only when usage, surveys and activities are all synced.
    if not downstream_enabled(tenant.settings):
        return []
    usage_key, refreshed_key = tenant.key("product_usage"), tenant.key(NAME)

    @sensor(
        name=tenant.named("customer_usage_after_usage_sensor"),
        job_name=tenant.named(CUSTOMER_USAGE_JOB),
        default_status=DefaultSensorStatus.RUNNING,
        description="Refreshes customer_usage_weekly for a week once per new product usage"
        " materialization of that week, unless the week was refreshed after it landed.",
    )
    def usage_landed(context: SensorEvaluationContext):
        # the cursor is the storage id of the last usage materialization looked at
        after = int(context.cursor) if context.cursor else None
        records = context.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=usage_key, after_storage_id=after),
            limit=USAGE_BATCH,
            ascending=True,
        ).records
        if not records:
            return SkipReason("No new product usage.")
        requests: dict[str, RunRequest] = {}
        refreshed: list[str] = []
        for record in records:
            week = record.partition_key
            if week is None or week in requests or week in refreshed:
                continue
            if _refreshed_after(context.instance, refreshed_key, week, record.storage_id):
                refreshed.append(week)  # e.g. the demo or the CLI refreshed it already
                continue
            requests[week] = RunRequest(run_key=f"{week}:{record.storage_id}", partition_key=week)
        context.update_cursor(str(records[-1].storage_id))
        if requests:
            return list(requests.values())
        return SkipReason(f"Already refreshed since its usage landed: {', '.join(refreshed)}.")

    return [usage_landed]


def _refreshed_after(
    instance: DagsterInstance, key: AssetKey, partition: str, storage_id: int
) -> bool:
    """Whether ``key``'s ``partition`` was materialized after the event ``storage_id``."""
    later = instance.fetch_materializations(
        AssetRecordsFilter(
            asset_key=key, asset_partitions=[partition], after_storage_id=storage_id
        ),
        limit=1,
    ).records
    return bool(later)


def deleted_usage_weeks(
    warehouse: WarehouseResource, tenant: Tenant, partitions_def
) -> dict[str, str]:
    """Week partition -> a digest of its deleted source records, for each stored week whose
    aggregate still counts a record that the tenant's ``deleted_records`` lists as deleted."""
    import polars as pl

    from gainsight_assets.assets.deleted_records import NAME as DELETED
    from gainsight_assets.assets.product_usage import SOURCES

    deleted, sources = tenant.table(DELETED), tenant.table(SOURCES)
    if not (warehouse.table_exists(deleted) and warehouse.table_exists(sources)):
        return {}
    rows = warehouse.query(
        f"SELECT s.week_start, s.record_id FROM {sources} s JOIN {deleted} d"
        " ON d.record_id = s.record_id WHERE d.object = $1",
        [tenant.settings.product_usage.object],
    )
    if rows.is_empty():
        return {}
    weeks = (
        rows.group_by("week_start")
        .agg(pl.col("record_id").unique().sort().str.join(","))
        .with_columns(pl.col("week_start").dt.strftime(partitions_def.fmt).alias("week"))
        .sort("week")
    )
    # a digest stable across processes and versions (one per week, not per row)
    return {
        week: hashlib.sha256(ids.encode()).hexdigest()[:16]
        for week, ids in weeks.select("week", "record_id").iter_rows()
    }


def build_deletions_usage_sensor(
    tenant: Tenant, objects: list[SyncObject]
) -> list[SensorDefinition]:
    usage = next((o for o in objects if o.name == "product_usage"), None)
    deletions = next((o for o in objects if o.name == "deleted_records"), None)
    if usage is None or deletions is None:
        return []
    watched = (deletions.asset.key, usage.asset.key)

    @sensor(
        name=tenant.named("product_usage_after_deletions_sensor"),
        job_name=usage.job_name,
        minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING,
        description="Re-aggregates a product usage week once per batch of deletions of the"
        " usage records it counts.",
    )
    def deletions_landed(context: SensorEvaluationContext, warehouse: WarehouseResource):
        # the cursor is the last storage id seen of deletions or usage: look only after either
        after = int(context.cursor) if context.cursor else None
        latest = [
            context.instance.fetch_materializations(
                AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=1
            ).records
            for key in watched
        ]
        newest = max((r[0].storage_id for r in latest if r), default=None)
        if newest is None:
            return SkipReason("No new deletions or product usage.")
        weeks = deleted_usage_weeks(warehouse, tenant, usage.partitions_def)
        context.update_cursor(str(newest))
        if not weeks:
            return SkipReason("No stored usage week counts a deleted record.")
        # one run per week and batch of deletions: the same batch never runs twice
        return [
            window_request(usage, week, week, run_key=f"deletions:{week}:{digest}")
            for week, digest in weeks.items()
        ]

    return [deletions_landed]


def build_sensors(
    tenant: Tenant, objects: list[SyncObject], jobs: list[ExecutableDefinition]
) -> list[SensorDefinition]:
    """``jobs``: the sync jobs of ``objects``, in the same order."""
    if not objects:
        return [build_failure_sensor(tenant)]
    return [
        build_gate_sensor(tenant, objects, jobs),
        build_run_all_sensor(tenant, objects, jobs),
        build_failure_sensor(tenant),
        *build_usage_sensor(tenant),
        *build_deletions_usage_sensor(tenant, objects),
    ]
