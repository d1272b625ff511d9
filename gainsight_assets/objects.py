"""The syncable Gainsight objects: one :class:`ObjectSpec` each, and nothing else per object.

A spec holds everything that differs between objects outside their asset: cadence, schedule,
how far a first sync and the demo reach, and whether the tenant's settings enable it. Jobs,
schedules, sensors, freshness checks, the CLI and the demo all read the specs, so adding an
object is one spec in :data:`OBJECT_SPECS`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSelection,
    BetaWarning,
    TimeWindowPartitionsDefinition,
    define_asset_job,
)

from gainsight_assets.assets.activities import build_activities_asset
from gainsight_assets.assets.companies import build_companies_asset
from gainsight_assets.assets.deleted_records import build_deleted_records_asset
from gainsight_assets.assets.product_usage import build_product_usage_asset
from gainsight_assets.assets.surveys import build_survey_asset
from gainsight_assets.dagster_private import AssetJob
from gainsight_assets.settings import Settings
from gainsight_assets.tenant import Tenant

SYNC_TAG = "gainsight/object"


def _survey_lookback(settings: Settings) -> timedelta:
    return timedelta(days=settings.surveys.lookback_days)


@dataclass(frozen=True)
class ObjectSpec:
    """One Gainsight object the project can sync."""

    name: str  # the CLI / tag name: companies, activities, surveys, product_usage, ...
    cadence: str  # a key of gainsight_assets.partitions.CADENCES
    cron: str  # when its schedule ticks: a few minutes after a window closes
    build: Callable[[Tenant], AssetsDefinition]
    enabled: Callable[[Settings], bool]
    # How far back the first sync reaches once the primary CRM's accounts are present.
    first_sync_span: Callable[[Settings], timedelta]
    demo_span: timedelta  # how far back the demo materializes it
    # A schedule tick asks for this trailing span of closed partitions; None: the last one.
    lookback: Callable[[Settings], timedelta] | None = None


def _span(value: timedelta) -> Callable[[Settings], timedelta]:
    return lambda _settings: value


OBJECT_SPECS: tuple[ObjectSpec, ...] = (
    ObjectSpec(
        name="companies",
        cadence="daily",
        cron="10 0 * * *",
        build=build_companies_asset,
        enabled=lambda s: s.company.enabled,
        first_sync_span=_span(timedelta(days=1)),
        demo_span=timedelta(days=1),
    ),
    ObjectSpec(
        name="activities",
        cadence="four_hourly",
        cron="15 */4 * * *",
        build=build_activities_asset,
        enabled=lambda s: s.activity.enabled,
        first_sync_span=_survey_lookback,  # the lookback cap
        demo_span=timedelta(days=7),
    ),
    ObjectSpec(
        name="surveys",
        cadence="daily",
        cron="20 0 * * *",
        build=build_survey_asset,
        enabled=lambda s: s.surveys.enabled,
        first_sync_span=_survey_lookback,
        demo_span=timedelta(days=30),
        lookback=_survey_lookback,
    ),
    ObjectSpec(
        name="product_usage",
        cadence="weekly",
        cron="30 0 * * 1",
        build=build_product_usage_asset,
        enabled=lambda s: s.product_usage.enabled,
        first_sync_span=_span(timedelta(weeks=4)),
        demo_span=timedelta(weeks=4),
    ),
    ObjectSpec(
        name="deleted_records",
        cadence="daily",
        cron="40 0 * * *",
        build=build_deleted_records_asset,
        enabled=lambda s: s.deletions.enabled and bool(s.tracked_objects()),
        first_sync_span=_span(timedelta(days=15)),  # all that Gainsight keeps
        demo_span=timedelta(days=15),
    ),
)
OBJECT_NAMES = tuple(spec.name for spec in OBJECT_SPECS)


@dataclass(frozen=True)
class SyncObject:
    """One object as one tenant syncs it: its spec and its asset."""

    spec: ObjectSpec
    tenant: Tenant
    asset: AssetsDefinition

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def cadence(self) -> str:
        return self.spec.cadence

    @property
    def partitions_def(self) -> TimeWindowPartitionsDefinition:
        partitions_def = self.asset.partitions_def
        if not isinstance(partitions_def, TimeWindowPartitionsDefinition):
            raise TypeError(f"{self.name} must be partitioned by time windows")
        return partitions_def

    @property
    def job_name(self) -> str:
        return self.tenant.named(f"gainsight_{self.name}_sync")

    def job(self, gate_check: AssetChecksDefinition) -> AssetJob:
        # The asset's own checks (evaluated in its step) and the gate, nothing else: checks
        # defined elsewhere on the asset (freshness) are evaluated by their own sensor, so a sync
        # run does not pay a step for them.
        return define_asset_job(
            name=self.job_name,
            selection=AssetSelection.assets(self.asset).without_checks()
            | AssetSelection.checks(*self.asset.check_keys, gate_check),
            partitions_def=self.asset.partitions_def,
            tags={SYNC_TAG: self.name, **self.tenant.tags},
            description=f"Sync Gainsight {self.name} of tenant {self.tenant.name} (gated on the"
            " primary CRM's accounts).",
        )


def enabled_objects(
    tenant: Tenant, specs: tuple[ObjectSpec, ...] = OBJECT_SPECS
) -> list[SyncObject]:
    # The assets use `backfill_policy`, a beta parameter in Dagster 1.13, on purpose (a backfill
    # of any length is one run); its warning tells an operator starting the UI nothing to act on.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy")
        return [
            SyncObject(spec=spec, tenant=tenant, asset=spec.build(tenant))
            for spec in specs
            if spec.enabled(tenant.settings)
        ]
