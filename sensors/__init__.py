"""Sensors for the Gainsight jobs.

- ``gainsight_gate_sensor``: when the primary CRM's accounts appear (the gate opens), each enabled
  object that has never run gets its first sync over its lookback window, once.
- ``gainsight_run_all_sensor`` (off by default): the seed's "Run all sync jobs". Turning it on
  launches one run per enabled object for its last closed window; run keys make each window run
  once, and one object failing does not stop the others.
- ``gainsight_failure_sensor``: records every failed Gainsight run (object, partition, error class,
  message without secrets) in ``gainsight.sync_failures`` and the sensor log.
- ``customer_usage_after_usage_sensor``: refreshes ``customer_usage_weekly`` for a week as soon as
  that week's product usage lands.
"""

import os
import re
from datetime import UTC, datetime, timedelta

import polars as pl
from dagster import (
    AssetKey,
    DagsterEventType,
    DefaultSensorStatus,
    EventLogEntry,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
    run_failure_sensor,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition as ExecutableDefinition,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from gainsight_assets.gate import gate_status
from gainsight_assets.objects import SYNC_TAG, SyncObject
from gainsight_assets.settings import Settings
from resources.warehouse import TableRef, WarehouseResource
from schedules import last_closed_partition

FAILURES_TABLE = TableRef("gainsight", "sync_failures")
# How far back an object's first sync reaches.
FIRST_SYNC_SPAN = {
    "companies": timedelta(days=1),
    "activities": None,  # surveys.lookback_days, the seed's lookback cap
    "surveys": None,
    "product_usage": timedelta(weeks=4),
}
_SECRET_PATTERNS = (
    re.compile(r"(?i)(accesskey['\"]?\s*[:=]\s*['\"]?)[^\s'\",}&]+"),
    re.compile(r"(://[^:/@\s]+:)[^@\s]+(@)"),
)


def redact(message: str, secrets: tuple[str, ...] = ()) -> str:
    """A message with access keys and URL passwords removed."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "<redacted>")
    message = _SECRET_PATTERNS[0].sub(r"\1<redacted>", message)
    return _SECRET_PATTERNS[1].sub(r"\1<redacted>\2", message)


def first_sync_range(obj: SyncObject, settings: Settings, now: datetime) -> tuple[str, str] | None:
    partitions = obj.asset.partitions_def
    last = last_closed_partition(obj, now)
    if last is None:
        return None
    span = FIRST_SYNC_SPAN[obj.name] or timedelta(days=settings.surveys.lookback_days)
    keys = [
        key
        for key in partitions.get_partition_keys(current_time=now)
        if partitions.time_window_for_partition_key(key).end > now - span
    ]
    return (keys[0], last) if keys else (last, last)


def range_request(obj: SyncObject, first: str, last: str, run_key: str) -> RunRequest:
    if first == last:
        return RunRequest(run_key=run_key, job_name=obj.job_name, partition_key=last)
    return RunRequest(
        run_key=run_key,
        job_name=obj.job_name,
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
    )


def build_gate_sensor(
    settings: Settings, objects: list[SyncObject], jobs: list[ExecutableDefinition]
) -> SensorDefinition:
    @sensor(
        name="gainsight_gate_sensor",
        jobs=jobs,
        minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING,
        description="Starts each never-run object's first sync once the primary CRM's accounts"
        " are present.",
    )
    def gate_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
        status = gate_status(warehouse, settings)
        if not status.open:
            return SkipReason(status.message)
        now = datetime.now(UTC)
        requests = []
        for obj in objects:
            if context.instance.get_runs_count(RunsFilter(job_name=obj.job_name)):
                continue
            window = first_sync_range(obj, settings, now)
            if window is not None:
                requests.append(range_request(obj, *window, run_key=f"first-sync:{obj.name}"))
        return requests or SkipReason("Gate open; every enabled object has run before.")

    return gate_sensor


def build_run_all_sensor(
    settings: Settings, objects: list[SyncObject], jobs: list[ExecutableDefinition]
) -> SensorDefinition:
    @sensor(
        name="gainsight_run_all_sensor",
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
                last = last_closed_partition(obj, now)
            except Exception as exc:  # one object's problem never stops the others
                context.log.error(f"{obj.name}: could not pick a partition: {exc}")
                continue
            if last is not None:
                requests.append(
                    RunRequest(
                        run_key=f"{obj.name}:{last}", job_name=obj.job_name, partition_key=last
                    )
                )
        return requests

    return run_all


def build_failure_sensor() -> SensorDefinition:
    @run_failure_sensor(
        name="gainsight_failure_sensor",
        default_status=DefaultSensorStatus.RUNNING,
        description="Records failed Gainsight runs in gainsight.sync_failures.",
    )
    def failure_sensor(context: RunFailureSensorContext, warehouse: WarehouseResource):
        run = context.dagster_run
        record = failure_record(context)
        if record is None:
            return
        context.log.error(
            f"Gainsight {record['object']} sync failed"
            f" (partition {record['partition']}): {record['error_class']}: {record['message']}"
        )
        warehouse.replace(
            FAILURES_TABLE,
            pl.DataFrame([record], schema=FAILURE_SCHEMA),
            equals={"run_id": run.run_id},
        )

    return failure_sensor


FAILURE_SCHEMA = {
    "run_id": pl.String,
    "job_name": pl.String,
    "object": pl.String,
    "partition": pl.String,
    "error_class": pl.String,
    "message": pl.String,
    "failed_at": pl.Datetime("us", "UTC"),
}


def failure_record(context: RunFailureSensorContext) -> dict | None:
    """What an operator needs to know about one failed Gainsight run, secrets removed."""
    run = context.dagster_run
    name = run.tags.get(SYNC_TAG)
    if name is None:
        return None  # not a Gainsight job
    partition = run.tags.get(PARTITION_NAME_TAG) or (
        f"{run.tags[ASSET_PARTITION_RANGE_START_TAG]}...{run.tags[ASSET_PARTITION_RANGE_END_TAG]}"
        if ASSET_PARTITION_RANGE_START_TAG in run.tags
        else ""
    )
    error_class, message = "RunFailure", context.failure_event.message or ""
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None:
            error_class = error.cls_name or error_class
            message = _CLASS_PREFIX.sub("", error.message.strip(), count=1)
            break
    failed_check = _failed_blocking_check(context)
    if failed_check is not None:  # e.g. the primary-CRM gate: say why it failed, not just "failed"
        error_class, message = failed_check
    secrets = (os.environ.get("GAINSIGHT_ACCESS_KEY", ""),)
    return {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "object": name,
        "partition": partition,
        "error_class": error_class,
        "message": redact(message, secrets)[:2000],
        "failed_at": datetime.now(UTC),
    }


_CLASS_PREFIX = re.compile(r"^[\w.]+(Error|Exception|Failure)[\w]*: ")


def _failed_blocking_check(context: RunFailureSensorContext) -> tuple[str, str] | None:
    """The name and description of the first failed check of the run, if any failed."""
    records = context.instance.get_records_for_run(
        run_id=context.dagster_run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if evaluation is not None and not evaluation.passed:
            return f"AssetCheckFailed[{evaluation.check_name}]", evaluation.description or ""
    return None


def build_usage_sensor(settings: Settings) -> list[SensorDefinition]:
    from gainsight_assets.downstream import CUSTOMER_USAGE_JOB, downstream_enabled

    # Its job exists only when usage, surveys and activities are all synced.
    if not downstream_enabled(settings):
        return []

    @asset_sensor(
        asset_key=AssetKey(["gainsight", "product_usage"]),
        name="customer_usage_after_usage_sensor",
        job_name=CUSTOMER_USAGE_JOB,
        default_status=DefaultSensorStatus.RUNNING,
        description="Refreshes customer_usage_weekly for a week once its product usage lands.",
    )
    def usage_landed(context: SensorEvaluationContext, asset_event: EventLogEntry):
        materialization = asset_event.asset_materialization
        partition = materialization.partition if materialization else None
        if partition is None:
            return SkipReason("Usage materialized without a partition.")
        # an EventLogEntry has no storage id: the materializing run makes the key unique
        return RunRequest(run_key=f"{partition}:{asset_event.run_id}", partition_key=partition)

    return [usage_landed]


def build_sensors(
    settings: Settings, objects: list[SyncObject], jobs: list[ExecutableDefinition]
) -> list[SensorDefinition]:
    """``jobs``: the sync jobs of ``objects``, in the same order."""
    if not objects:
        return [build_failure_sensor()]
    return [
        build_gate_sensor(settings, objects, jobs),
        build_run_all_sensor(settings, objects, jobs),
        build_failure_sensor(),
        *build_usage_sensor(settings),
    ]
