"""Schedules at each object's cadence, one per enabled object.

Each tick asks for the last *closed* partition, a few minutes after its window closes so late
writes in Gainsight are included. The survey schedule re-materializes the trailing
``surveys.lookback_days`` window in one run. While the primary-CRM gate is closed a tick skips
with the reason instead of launching a run that would fail.
"""

from datetime import datetime, timedelta

from dagster import (
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    partition_loading_context,
    schedule,
)

from gainsight_assets.dagster_private import RANGE_END_TAG, RANGE_START_TAG
from gainsight_assets.gate import gate_status
from gainsight_assets.objects import SyncObject
from gainsight_assets.settings import Settings
from resources.warehouse import WarehouseResource

# Minutes after a window closes before its tick runs.
CRON = {
    "companies": "10 0 * * *",
    "activities": "15 */4 * * *",
    "surveys": "20 0 * * *",
    "product_usage": "30 0 * * 1",
    "deleted_records": "40 0 * * *",
}


def last_closed_partition(obj: SyncObject, at: datetime) -> str | None:
    partitions = obj.asset.partitions_def
    # Dagster 1.13 takes the evaluation time from the partition loading context, not an argument.
    with partition_loading_context(effective_dt=at):
        return partitions.get_last_partition_key()


def scheduled_window(settings: Settings, obj: SyncObject, at: datetime) -> tuple[str, str] | None:
    """The first and last partition a tick at ``at`` asks for: the last closed window, and for
    surveys the trailing ``surveys.lookback_days`` ending with it. The CLI's run asks the same."""
    last = last_closed_partition(obj, at)
    if last is None:
        return None
    if obj.name != "surveys":
        return last, last
    return _lookback_start(obj, last, settings.surveys.lookback_days), last


def window_request(
    obj: SyncObject, first: str, last: str, key_prefix: str = "", run_key: str | None = None
) -> RunRequest:
    """A run of ``obj``'s job over ``first``..``last`` (one partition, or a range in one run);
    its run key is ``run_key``, else the window behind ``key_prefix``."""
    if run_key is None:
        run_key = f"{key_prefix}{last}" if first == last else f"{key_prefix}{first}...{last}"
    if first == last:
        return RunRequest(run_key=run_key, job_name=obj.job_name, partition_key=last)
    return RunRequest(
        run_key=run_key,
        job_name=obj.job_name,
        tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
    )


def build_schedule(settings: Settings, obj: SyncObject) -> ScheduleDefinition:
    @schedule(
        name=f"{obj.job_name}_schedule",
        cron_schedule=CRON[obj.name],
        execution_timezone="UTC",
        job_name=obj.job_name,
        description=f"Syncs the last closed {obj.cadence.replace('_', '-')} window of {obj.name}.",
    )
    def _schedule(context: ScheduleEvaluationContext, warehouse: WarehouseResource):
        status = gate_status(warehouse, settings)
        if not status.open:
            return SkipReason(status.message)
        at = context.scheduled_execution_time
        window = scheduled_window(settings, obj, at)
        if window is None:
            return SkipReason(f"No closed {obj.name} partition before {at.isoformat()}.")
        return window_request(obj, *window)

    return _schedule


def _lookback_start(obj: SyncObject, last: str, days: int) -> str:
    partitions = obj.asset.partitions_def
    last_start = partitions.time_window_for_partition_key(last).start
    # never before the first partition (start_date): such a key does not exist
    wanted = max(last_start - timedelta(days=days - 1), partitions.start)
    keys = partitions.get_partition_keys_in_time_window(
        type(partitions.time_window_for_partition_key(last))(wanted, last_start + timedelta(days=1))
    )
    return keys[0] if keys else last


def build_schedules(settings: Settings, objects: list[SyncObject]) -> list[ScheduleDefinition]:
    return [build_schedule(settings, obj) for obj in objects]
