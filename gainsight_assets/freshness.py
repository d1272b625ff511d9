"""Partition-aware freshness: each cadence's latest closed partition must land by its deadline
(:data:`gainsight_assets.partitions.CADENCES`): a 4-hour partition 90 minutes after its window
closes, a daily one by 03:00 UTC, a weekly one by Monday 06:00 UTC. Dagster's own factory
evaluates them; one sensor per tenant runs them.
"""

import warnings

from dagster import AssetChecksDefinition, SensorDefinition

from gainsight_assets.objects import SyncObject
from gainsight_assets.partitions import CADENCES
from gainsight_assets.tenant import Tenant


def build_freshness_checks(objects: list[SyncObject]) -> list[AssetChecksDefinition]:
    from dagster import build_time_partition_freshness_checks

    checks: list[AssetChecksDefinition] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # superseded by FreshnessPolicy, not yet partition-aware
        for cadence in CADENCES.values():
            assets = [obj.asset for obj in objects if obj.cadence == cadence.name]
            if assets:
                checks += build_time_partition_freshness_checks(
                    assets=assets, deadline_cron=cadence.freshness_deadline, timezone="UTC"
                )
    return checks


def build_freshness_sensor(
    tenant: Tenant, checks: list[AssetChecksDefinition]
) -> list[SensorDefinition]:
    from dagster import DefaultSensorStatus, build_sensor_for_freshness_checks

    if not checks:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            build_sensor_for_freshness_checks(
                freshness_checks=checks,
                name=tenant.named("gainsight_freshness_sensor"),
                default_status=DefaultSensorStatus.RUNNING,
            )
        ]
