"""Schedules at each object's cadence, one per enabled object.

Each tick asks for the last *closed* partition, a few minutes after its window closes so late
writes in Gainsight are included. The survey schedule re-materializes the trailing
``surveys.lookback_days`` window in one run. While the primary-CRM gate is closed a tick skips
with the reason instead of launching a run that would fail.
"""

from datetime import datetime

from dagster import (
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from gainsight_assets.gate import gate_status
from gainsight_assets.objects import SyncObject
from gainsight_assets.partitions import last_closed_partition, partition_tags, trailing_window
from resources.warehouse import WarehouseResource


def scheduled_window(obj: SyncObject, at: datetime) -> tuple[str, str] | None:
    """The first and last partition a tick at ``at`` asks for: the last closed window, or the
    trailing span of the object's ``lookback`` ending with it (surveys: ``lookback_days``).
    The CLI's run asks the same."""
    partitions = obj.partitions_def
    lookback = obj.spec.lookback(obj.tenant.settings)
    if lookback is not None:
        return trailing_window(partitions, at, lookback)
    last = last_closed_partition(partitions, at)
    return None if last is None else (last, last)


def window_request(
    obj: SyncObject, first: str, last: str, key_prefix: str = "", run_key: str | None = None
) -> RunRequest:
    """A run of ``obj``'s job over ``first``..``last`` (one partition, or a range in one run);
    its run key is ``run_key``, else the window behind ``key_prefix``."""
    if run_key is None:
        run_key = f"{key_prefix}{last}" if first == last else f"{key_prefix}{first}...{last}"
    if first == last:
        return RunRequest(run_key=run_key, job_name=obj.job_name, partition_key=last)
    return RunRequest(run_key=run_key, job_name=obj.job_name, tags=partition_tags(first, last))


def build_schedule(obj: SyncObject) -> ScheduleDefinition:
    settings = obj.tenant.settings

    @schedule(
        name=f"{obj.job_name}_schedule",
        cron_schedule=obj.spec.cron,
        execution_timezone="UTC",
        job_name=obj.job_name,
        description=f"Syncs the last closed {obj.cadence.replace('_', '-')} window of {obj.name}.",
    )
    def _schedule(context: ScheduleEvaluationContext, warehouse: WarehouseResource):
        status = gate_status(warehouse, settings)
        if not status.open:
            return SkipReason(status.message)
        at = context.scheduled_execution_time
        window = scheduled_window(obj, at)
        if window is None:
            return SkipReason(f"No closed {obj.name} partition before {at.isoformat()}.")
        return window_request(obj, *window)

    return _schedule


def build_schedules(objects: list[SyncObject]) -> list[ScheduleDefinition]:
    return [build_schedule(obj) for obj in objects]
