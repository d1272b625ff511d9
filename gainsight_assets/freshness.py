"""Partition-aware freshness: each cadence's latest closed partition must land by a deadline.

Deadlines leave the schedules (which tick 10-30 minutes after a window closes) time to finish:
a 4-hour partition is due 90 minutes after its window closes, a daily one by 03:00 UTC, a weekly
one by Monday 06:00 UTC. Dagster's own factory evaluates them; a sensor runs them.
"""

import warnings

from dagster import AssetChecksDefinition, SensorDefinition

from gainsight_assets.objects import SyncObject

DEADLINES = {
    "four_hourly": "30 1-23/4 * * *",
    "daily": "0 3 * * *",
    "weekly": "0 6 * * 1",
}


def build_freshness_checks(objects: list[SyncObject]) -> list[AssetChecksDefinition]:
    from dagster import build_time_partition_freshness_checks

    checks: list[AssetChecksDefinition] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # superseded by FreshnessPolicy, not yet partition-aware
        for cadence, cron in DEADLINES.items():
            assets = [obj.asset for obj in objects if obj.cadence == cadence]
            if assets:
                checks += build_time_partition_freshness_checks(
                    assets=assets, deadline_cron=cron, timezone="UTC"
                )
    return checks


def build_freshness_sensor(checks: list[AssetChecksDefinition]) -> list[SensorDefinition]:
    from dagster import DefaultSensorStatus, build_sensor_for_freshness_checks

    if not checks:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            build_sensor_for_freshness_checks(
                freshness_checks=checks,
                name="gainsight_freshness_sensor",
                default_status=DefaultSensorStatus.RUNNING,
            )
        ]
