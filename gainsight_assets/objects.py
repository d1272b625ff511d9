"""The registry of syncable Gainsight objects: one entry per object section of gainsight.yaml.

Jobs, schedules, sensors and the CLI all iterate this registry, so adding an object is one entry.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSelection,
    BetaWarning,
    define_asset_job,
)

from gainsight_assets.assets.activities import build_activities_asset
from gainsight_assets.assets.companies import build_companies_asset
from gainsight_assets.assets.deleted_records import build_deleted_records_asset
from gainsight_assets.assets.product_usage import build_product_usage_asset
from gainsight_assets.assets.surveys import build_survey_asset
from gainsight_assets.dagster_private import AssetJob
from gainsight_assets.settings import Settings
from gainsight_assets.tenant import tenant_tags

SYNC_TAG = "gainsight/object"


@dataclass(frozen=True)
class SyncObject:
    """One Gainsight object the project syncs, with its asset and cadence."""

    name: str  # the CLI / tag name: companies, activities, surveys, product_usage, ...
    cadence: str  # daily | four_hourly | weekly
    asset: AssetsDefinition

    @property
    def job_name(self) -> str:
        return f"gainsight_{self.name}_sync"

    def job(self, gate_check: AssetChecksDefinition) -> AssetJob:
        # The asset's own checks (evaluated in its step) and the gate, nothing else: checks
        # defined elsewhere on the asset (freshness) are evaluated by their own sensor, so a sync
        # run does not pay a step for them.
        return define_asset_job(
            name=self.job_name,
            selection=AssetSelection.assets(self.asset).without_checks()
            | AssetSelection.checks(*self.asset.check_keys, gate_check),
            partitions_def=self.asset.partitions_def,
            tags={SYNC_TAG: self.name, **tenant_tags()},
            description=f"Sync Gainsight {self.name} (gated on the primary CRM's accounts).",
        )


_REGISTRY: tuple[tuple[str, str, Callable[[Settings], bool], Callable], ...] = (
    ("companies", "daily", lambda s: s.company.enabled, build_companies_asset),
    ("activities", "four_hourly", lambda s: s.activity.enabled, build_activities_asset),
    ("surveys", "daily", lambda s: s.surveys.enabled, build_survey_asset),
    ("product_usage", "weekly", lambda s: s.product_usage.enabled, build_product_usage_asset),
    (
        "deleted_records",
        "daily",
        lambda s: s.deletions.enabled and bool(s.tracked_objects()),
        build_deleted_records_asset,
    ),
)
OBJECT_NAMES = tuple(name for name, *_ in _REGISTRY)


def enabled_objects(settings: Settings) -> list[SyncObject]:
    # The assets use `backfill_policy`, a beta parameter in Dagster 1.13, on purpose (a backfill
    # of any length is one run); its warning tells an operator starting the UI nothing to act on.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy")
        return [
            SyncObject(name=name, cadence=cadence, asset=build(settings))
            for name, cadence, enabled, build in _REGISTRY
            if enabled(settings)
        ]
