"""Helpers for asset tests: resources against the demo tenant and a DuckDB file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from dagster import materialize

from gainsight_assets.definitions import build_definitions
from gainsight_assets.objects import enabled_objects
from gainsight_assets.resource_defs import build_resources
from gainsight_assets.settings import Settings
from gainsight_assets.tenant import Tenant
from resources.warehouse import TableRef, WarehouseResource


def resources(base_url: str, key: str, warehouse_url: str, tmp: Path) -> dict[str, Any]:
    """The code location's resources on ``base_url`` and ``warehouse_url``: fast retries and a
    rate-limit state file of the test's own."""
    return build_resources(
        base_url=base_url,
        access_key=key,
        warehouse_url=warehouse_url,
        backoff_base_seconds=0.01,
        rate_limit_state_path=str(tmp / "rate.json"),
    )


def load_accounts(warehouse_url: str, accounts: pl.DataFrame, table: str = "salesforce.account"):
    WarehouseResource(url=warehouse_url).replace(TableRef.parse(table), accounts)


def read(warehouse_url: str, table: str) -> pl.DataFrame:
    return WarehouseResource(url=warehouse_url).read(TableRef.parse(table))


def exists(warehouse_url: str, table: str) -> bool:
    return WarehouseResource(url=warehouse_url).table_exists(TableRef.parse(table))


def run_object(
    settings: Settings,
    name: str,
    res: dict[str, Any],
    *,
    partition_key: str | None = None,
    tags: dict[str, str] | None = None,
    with_gate: bool = True,
    instance=None,
):
    """Materialize one object's asset (and the gate check) the way its job does."""
    if not with_gate:
        [obj] = [o for o in enabled_objects(Tenant(settings=settings)) if o.name == name]
        return materialize(
            [obj.asset],
            resources=res,
            partition_key=partition_key,
            tags=tags,
            raise_on_error=False,
            instance=instance,
        )
    defs = build_definitions(settings, resources=res)
    job = defs.resolve_job_def(f"gainsight_{name}_sync")
    return job.execute_in_process(
        partition_key=partition_key, tags=tags, raise_on_error=False, instance=instance
    )


def failure_message(result) -> str:
    """The first step failure's message with its causes: what the UI shows the user."""
    error = result.get_step_failure_events()[0].step_failure_data.error
    parts = []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)
