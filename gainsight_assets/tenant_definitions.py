"""Everything one Gainsight tenant contributes to the code location.

:func:`build_tenant_definitions` turns a :class:`~gainsight_assets.tenant.Tenant` into its assets,
checks, jobs, schedules, sensors and its Gainsight connection (resource ``tenant.resource_key``).
The warehouse, its IO manager and the executor are shared by every tenant and come from
:func:`shared_definitions`. Building makes no network call and writes no file.
"""

from __future__ import annotations

from functools import cache

from dagster import Definitions, EnvVar, in_process_executor

from gainsight_assets.downstream import (
    build_customer_usage_asset,
    build_customer_usage_job,
    downstream_enabled,
)
from gainsight_assets.freshness import build_freshness_checks, build_freshness_sensor
from gainsight_assets.gate import build_gate_check, primary_crm_accounts_spec
from gainsight_assets.objects import enabled_objects
from gainsight_assets.resource_defs import build_resources
from gainsight_assets.tenant import Tenant
from resources.gainsight import GainsightResource

__all__ = ["build_tenant_definitions", "shared_definitions", "tenant_resource"]


def tenant_resource(tenant: Tenant) -> GainsightResource:
    """The tenant's connection, read from its environment variables when a run starts (the UI
    shows their names, never their values)."""
    return GainsightResource(
        base_url=EnvVar(tenant.base_url_env), access_key=EnvVar(tenant.access_key_env)
    )


def build_tenant_definitions(tenant: Tenant, *, with_resource: bool = True) -> Definitions:
    """The tenant's definitions; ``with_resource=False`` leaves its Gainsight resource to the
    caller (tests bind one to a local server)."""
    from schedules import build_schedules
    from sensors import build_failures_grain_check, build_sensors, failures_spec

    settings = tenant.settings
    gate_check = build_gate_check(settings)
    objects = enabled_objects(settings)
    sync_jobs = [obj.job(gate_check) for obj in objects]
    jobs = list(sync_jobs)
    assets = [
        primary_crm_accounts_spec(settings),
        *(obj.asset for obj in objects),
        failures_spec(),
    ]
    if downstream_enabled(settings):
        assets.append(build_customer_usage_asset(settings))
        jobs.append(build_customer_usage_job())
    freshness = build_freshness_checks(objects)
    return Definitions(
        assets=assets,
        asset_checks=[gate_check, build_failures_grain_check(), *freshness],
        jobs=jobs,
        schedules=build_schedules(settings, objects),
        sensors=[
            *build_sensors(settings, objects, sync_jobs),
            *build_freshness_sensor(freshness),
        ],
        resources={tenant.resource_key: tenant_resource(tenant)} if with_resource else {},
    )


@cache
def shared_definitions() -> Definitions:
    """The warehouse, its IO manager and the executor, one object each for every tenant (Dagster
    merges definitions only when a resource key holds the same object)."""
    resources = build_resources()
    return Definitions(
        # Every job here is one I/O-bound asset and its checks: running them in the run's own
        # process saves a Python start and a definitions load per step (seconds per run). On
        # Kubernetes or Docker each run still gets its own pod or container.
        executor=in_process_executor,
        resources={key: value for key, value in resources.items() if key != "gainsight"},
    )
