"""README's main command: the whole sync, end to end, against the local demo tenant and DuckDB.

It starts the demo tenant on loopback, loads the demo's primary-CRM accounts into the warehouse
(standing in for the Salesforce pipeline that owns them in production; the sync itself never
writes accounts), then runs every enabled Gainsight job of the real definitions (gate check
included) over the demo's recent windows, and prints a summary of each table.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import DagsterInstance, PartitionKeyRange
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from gainsight_assets.definitions import build_definitions
from gainsight_assets.demo.generator import generate_dataset
from gainsight_assets.demo.server import DemoTenant
from gainsight_assets.downstream import CUSTOMER_USAGE_JOB, downstream_enabled
from gainsight_assets.objects import SyncObject, enabled_objects
from gainsight_assets.settings import PROJECT_ROOT, SETTINGS_ENV, load_settings
from resources.gainsight import GainsightResource
from resources.warehouse import TableRef, WarehouseResource

DEMO_SETTINGS = Path(__file__).with_name("gainsight.yaml")
DEMO_KEY = "demo-access-key"
# How far back the demo syncs each object (the demo data spans the last 35 days).
DEMO_SPANS = {
    "companies": timedelta(days=1),
    "activities": timedelta(days=7),
    "surveys": timedelta(days=30),
    "product_usage": timedelta(weeks=4),
}
# Dagster's console logger at WARNING: the demo prints its own summary.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
TABLES = (
    "companies",
    "activities",
    "survey_responses",
    "product_usage",
    "customer_usage_weekly",
    "unmatched_records",
)


def ensure_dagster_home() -> Path:
    """``$DAGSTER_HOME`` (default ``.dagster_home``) with the project's dagster.yaml in it."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(PROJECT_ROOT / "dagster.yaml", config)
    return home


def recent_range(obj: SyncObject, now: datetime) -> PartitionKeyRange | None:
    """The closed partitions of ``obj`` in the demo's span before ``now``."""
    partitions = obj.asset.partitions_def
    keys = partitions.get_partition_keys(current_time=now)
    since = now - DEMO_SPANS[obj.name]
    recent = [k for k in keys if partitions.time_window_for_partition_key(k).end > since]
    if not recent:
        return None
    return PartitionKeyRange(recent[0], recent[-1])


def run_demo(*, companies: int = 40, out: Callable[[str], None] = print) -> dict[str, bool]:
    """Run every enabled job once over its recent windows; the result per job name."""
    ensure_dagster_home()
    os.environ.setdefault(SETTINGS_ENV, str(DEMO_SETTINGS))
    settings = load_settings()
    dataset = generate_dataset(companies=companies)
    outcome: dict[str, bool] = {}
    with DemoTenant(dataset, access_key=DEMO_KEY) as tenant:
        os.environ["GAINSIGHT_BASE_URL"] = tenant.base_url
        os.environ["GAINSIGHT_ACCESS_KEY"] = DEMO_KEY
        out(f"Demo Gainsight tenant at {tenant.base_url} (settings: {os.environ[SETTINGS_ENV]})")
        gainsight = GainsightResource(base_url=tenant.base_url, access_key=DEMO_KEY)
        out(f"Validate connection: {gainsight.validate_connection()} Gainsight objects discovered")

        warehouse = WarehouseResource(url=os.environ.get("WAREHOUSE_URL") or None)
        accounts = TableRef.parse(settings.primary_crm.accounts_table)
        warehouse.replace(accounts, dataset.crm_accounts)
        out(
            f"Primary CRM stand-in: {dataset.crm_accounts.height} {settings.primary_crm.system}"
            f" accounts loaded into {settings.primary_crm.accounts_table}"
            f" ({warehouse.target})"
        )

        defs = build_definitions(settings)
        instance = DagsterInstance.get()
        now = datetime.now(UTC)
        for obj in enabled_objects(settings):
            window = recent_range(obj, now)
            if window is None:
                continue
            job = defs.resolve_job_def(obj.job_name)
            result = job.execute_in_process(
                instance=instance,
                tags={
                    ASSET_PARTITION_RANGE_START_TAG: window.start,
                    ASSET_PARTITION_RANGE_END_TAG: window.end,
                },
                run_config=QUIET,
                raise_on_error=False,
            )
            outcome[obj.job_name] = result.success
            state = "succeeded" if result.success else "FAILED"
            out(f"{obj.job_name}: {window.start} .. {window.end} {state}")
            if obj.name == "product_usage" and result.success and downstream_enabled(settings):
                refresh = defs.resolve_job_def(CUSTOMER_USAGE_JOB).execute_in_process(
                    instance=instance,
                    partition_key=window.end,
                    run_config=QUIET,
                    raise_on_error=False,
                )
                outcome[CUSTOMER_USAGE_JOB] = refresh.success
                state = "succeeded" if refresh.success else "FAILED"
                out(f"{CUSTOMER_USAGE_JOB}: {window.end} {state}")
    out("")
    out(summarize(warehouse))
    return outcome


def summarize(warehouse: WarehouseResource) -> str:
    lines = [f"{'table':<32} {'rows':>7}  columns"]
    for name in TABLES:
        table = TableRef("gainsight", name)
        if not warehouse.table_exists(table):
            lines.append(f"{table!s:<32} {'-':>7}  (not materialized)")
            continue
        columns = list(warehouse.columns(table))
        shown = ", ".join(columns[:8]) + (", …" if len(columns) > 8 else "")
        lines.append(f"{table!s:<32} {warehouse.count(table):>7}  {shown}")
    return "\n".join(lines)
