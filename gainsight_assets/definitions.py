"""The Dagster code location: assets, checks, jobs, schedules, sensors and resources.

Everything is built from ``gainsight.yaml`` (``$GAINSIGHT_SETTINGS``): a disabled object gets no
asset, job or schedule. Building definitions makes no network call and writes no file.
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from gainsight_assets.downstream import (
    build_customer_usage_asset,
    build_customer_usage_job,
    downstream_enabled,
)
from gainsight_assets.freshness import build_freshness_checks, build_freshness_sensor
from gainsight_assets.gate import build_gate_check, primary_crm_accounts_spec
from gainsight_assets.objects import enabled_objects
from gainsight_assets.resource_defs import build_resources
from gainsight_assets.settings import Settings, load_settings

__all__ = ["build_definitions", "build_resources", "defs"]


def build_definitions(settings: Settings, resources: dict | None = None) -> Definitions:
    from schedules import build_schedules
    from sensors import build_failures_grain_check, build_sensors, failures_spec

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
        # Every job here is one I/O-bound asset and its checks: running them in the run's own
        # process saves a Python start and a definitions load per step (seconds per run). On
        # Kubernetes or Docker each run still gets its own pod or container.
        executor=in_process_executor,
        assets=assets,
        asset_checks=[gate_check, build_failures_grain_check(), *freshness],
        jobs=jobs,
        schedules=build_schedules(settings, objects),
        sensors=[
            *build_sensors(settings, objects, sync_jobs),
            *build_freshness_sensor(freshness),
        ],
        resources=resources if resources is not None else build_resources(),
    )


defs = build_definitions(load_settings())
