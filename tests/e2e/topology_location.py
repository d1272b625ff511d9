"""The production code location plus one schedule that ticks every minute.

The production schedules tick once a day or every four hours; the topology test needs a tick
within a minute to see the daemon's scheduler at work. Everything else is the production
definitions unchanged.
"""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    Definitions,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

import gainsight_assets.definitions as production

EVERY_MINUTE = "topology_every_minute"
SCHEDULED_DAYS_AGO = 4  # the partition its tick asks for: one no other run of the test uses


@schedule(
    name=EVERY_MINUTE,
    cron_schedule="* * * * *",
    execution_timezone="UTC",
    job_name="gainsight_companies_sync",
)
def every_minute(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    # one run whatever the number of ticks (a schedule's run keys are unique per tick only)
    mine = RunsFilter(tags={"dagster/schedule_name": EVERY_MINUTE})
    if context.instance.get_runs_count(mine):
        return SkipReason("This schedule has launched its run.")
    day = (context.scheduled_execution_time - timedelta(days=SCHEDULED_DAYS_AGO)).date()
    return RunRequest(partition_key=day.isoformat())


defs = Definitions.merge(production.build_code_location(), Definitions(schedules=[every_minute]))
