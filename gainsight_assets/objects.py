"""The syncable Gainsight objects: one :class:`~gainsight_assets.pipeline.ObjectSpec` each.

Assets (through :func:`~gainsight_assets.pipeline.build_object_asset`), jobs, schedules, sensors,
freshness checks, the CLI and the demo all read the specs, so adding an object is one spec in
:data:`OBJECT_SPECS` (or in the ``specs`` a caller passes).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSelection,
    BetaWarning,
    TimeWindowPartitionsDefinition,
    define_asset_job,
)

from gainsight_assets.assets import (
    activities,
    companies,
    deleted_records,
    product_usage,
    surveys,
)
from gainsight_assets.dagster_private import AssetJob
from gainsight_assets.pipeline import ObjectSpec, build_object_asset
from gainsight_assets.tenant import Tenant

SYNC_TAG = "gainsight/object"

OBJECT_SPECS: tuple[ObjectSpec, ...] = (
    companies.SPEC,
    activities.SPEC,
    surveys.SPEC,
    product_usage.SPEC,
    deleted_records.SPEC,
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
            SyncObject(spec=spec, tenant=tenant, asset=build_object_asset(spec, tenant))
            for spec in specs
            if spec.enabled(tenant.settings)
        ]
