"""Everything one Gainsight tenant contributes to the code location.

:func:`build_tenant_definitions` turns a :class:`~gainsight_assets.tenant.Tenant` into its assets,
checks, jobs, schedules, sensors and its Gainsight connection (resource ``tenant.resource_key``).
The warehouse, its IO manager and the executor are shared by every tenant and come from
:func:`shared_definitions`. Building makes no network call and writes no file.
"""

from __future__ import annotations

from dagster import Definitions, EnvVar, in_process_executor

from gainsight_assets.downstream import (
    build_customer_usage_asset,
    build_customer_usage_job,
    downstream_enabled,
)
from gainsight_assets.freshness import build_freshness_checks, build_freshness_sensor
from gainsight_assets.gate import build_gate_check, primary_crm_accounts_spec
from gainsight_assets.objects import OBJECT_SPECS, enabled_objects
from gainsight_assets.pipeline import ObjectSpec
from gainsight_assets.resource_defs import build_resources
from gainsight_assets.tenant import Tenant
from resources.gainsight import GainsightResource

__all__ = ["build_tenant_definitions", "shared_definitions", "tenant_resource"]


def tenant_resource(tenant: Tenant) -> GainsightResource:
    """The tenant's connection, read from its environment variables when a run starts (the UI
    shows their names, never their values)."""
    return GainsightResource(
        base_url=EnvVar(tenant.base_url_env),
        access_key=EnvVar(tenant.access_key_env),
        base_url_env=tenant.base_url_env,
    )


def build_tenant_definitions(
    tenant: Tenant,
    *,
    with_resource: bool = True,
    specs: tuple[ObjectSpec, ...] = OBJECT_SPECS,
) -> Definitions:
    """The tenant's definitions for the objects of ``specs`` its settings enable;
    ``with_resource=False`` leaves its Gainsight resource to the caller (tests bind one to a
    local server)."""
    from schedules import build_schedules
    from sensors import build_failures_grain_check, build_sensors, failures_spec

    gate_check = build_gate_check(tenant)
    objects = enabled_objects(tenant, specs)
    sync_jobs = [obj.job(gate_check) for obj in objects]
    jobs = list(sync_jobs)
    assets = [
        primary_crm_accounts_spec(tenant),
        *(obj.asset for obj in objects),
        failures_spec(tenant),
    ]
    if downstream_enabled(tenant.settings):
        assets.append(build_customer_usage_asset(tenant))
        jobs.append(build_customer_usage_job(tenant))
    freshness = build_freshness_checks(objects)
    return Definitions(
        assets=assets,
        asset_checks=[gate_check, build_failures_grain_check(tenant), *freshness],
        jobs=jobs,
        schedules=build_schedules(objects),
        sensors=[
            *build_sensors(tenant, objects, sync_jobs),
            *build_freshness_sensor(tenant, freshness),
        ],
        resources={tenant.resource_key: tenant_resource(tenant)} if with_resource else {},
    )


def shared_definitions() -> Definitions:
    """The warehouse, its IO manager and the executor that every tenant of the code location
    shares: merge it once with the tenants' definitions (theirs hold no such resource)."""
    resources = build_resources()
    return Definitions(
        # Every job here is one I/O-bound asset and its checks: running them in the run's own
        # process saves a Python start and a definitions load per step (seconds per run). On
        # Kubernetes or Docker each run still gets its own pod or container.
        executor=in_process_executor,
        resources={key: value for key, value in resources.items() if key != "gainsight"},
    )
