"""The Dagster code location: assets, checks, jobs, schedules, sensors and resources.

Everything is built from ``gainsight.yaml`` (``$GAINSIGHT_SETTINGS``): a disabled object gets no
asset, job or schedule. Building definitions makes no network call and writes no file.
"""

from __future__ import annotations

from dagster import Definitions

from gainsight_assets.objects import OBJECT_SPECS
from gainsight_assets.pipeline import ObjectSpec
from gainsight_assets.resource_defs import build_resources
from gainsight_assets.settings import Settings, load_settings
from gainsight_assets.tenant import Tenant
from gainsight_assets.tenant_definitions import build_tenant_definitions, shared_definitions

__all__ = ["build_definitions", "build_resources", "defs"]


def build_definitions(
    settings: Settings,
    resources: dict | None = None,
    *,
    tenant: Tenant | None = None,
    specs: tuple[ObjectSpec, ...] = OBJECT_SPECS,
) -> Definitions:
    """One tenant's definitions with the shared warehouse (``resources``: every resource by key,
    the tenant's Gainsight connection included; left out, the defaults)."""
    tenant = tenant or Tenant(settings=settings)
    if resources is None:
        return Definitions.merge(
            build_tenant_definitions(tenant, specs=specs), shared_definitions()
        )
    return Definitions.merge(
        build_tenant_definitions(tenant, with_resource=False, specs=specs),
        Definitions(executor=shared_definitions().executor, resources=resources),
    )


defs = build_definitions(load_settings())
