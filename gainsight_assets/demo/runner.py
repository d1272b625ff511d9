"""README's main command: the whole sync, end to end, against the local demo tenant and DuckDB.

It starts the demo tenant on loopback, loads the demo's primary-CRM accounts into the warehouse
(standing in for the Salesforce pipeline that owns them in production; the sync itself never
writes accounts), then runs every enabled Gainsight job of the code location (gate check
included) over the demo's recent windows, as ordinary runs that the UI lists, and prints a
summary of each run and each table.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import DagsterInstance, PartitionKeyRange

from gainsight_assets.demo.generator import generate_dataset
from gainsight_assets.demo.server import DemoTenant
from gainsight_assets.downstream import CUSTOMER_USAGE_JOB, downstream_enabled
from gainsight_assets.objects import SyncObject, enabled_objects
from gainsight_assets.partitions import trailing_window
from gainsight_assets.runs import RunTarget, ensure_dagster_home, run_starter
from gainsight_assets.settings import SETTINGS_ENV, Settings, load_settings
from gainsight_assets.tenant import Tenant
from resources.gainsight import GainsightResource
from resources.warehouse import TableRef, WarehouseResource

__all__ = ["DEMO_KEY", "DEMO_SETTINGS", "TABLES", "ensure_dagster_home", "run_demo"]

DEMO_SETTINGS = Path(__file__).with_name("gainsight.yaml")
DEMO_KEY = "demo-access-key"
# How far back the demo syncs each object (the demo data spans the last 35 days).
TABLES = (
    "companies",
    "activities",
    "survey_responses",
    "product_usage",
    "customer_usage_weekly",
    "unmatched_records",
    "deleted_records",
)
JOB_WIDTH = 30


def recent_range(obj: SyncObject, now: datetime) -> PartitionKeyRange | None:
    """The closed partitions of ``obj`` in the demo's span before ``now``."""
    window = trailing_window(obj.partitions_def, now, obj.spec.demo_span)
    return None if window is None else PartitionKeyRange(*window)


def run_demo(
    *, companies: int = 40, out: Callable[[str], None] = print, verbose: bool = False
) -> dict[str, bool]:
    """Run every enabled job once over its recent windows; the result per job name."""
    ensure_dagster_home()
    os.environ.setdefault(SETTINGS_ENV, str(DEMO_SETTINGS))
    settings = load_settings()
    dataset = generate_dataset(companies=companies)
    outcome: dict[str, bool] = {}
    with DemoTenant(dataset, access_key=DEMO_KEY) as tenant:
        # set before the code location starts: its runs read them (never from run config)
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

        now = datetime.now(UTC)
        with (
            DagsterInstance.get() as instance,
            run_starter(instance, verbose=verbose) as starter,
        ):
            for obj in enabled_objects(Tenant(settings=settings)):
                window = recent_range(obj, now)
                if window is None:
                    continue
                if obj.name == "deleted_records":
                    out(delete_some(tenant, settings, now - timedelta(days=1)))
                run = starter.run(RunTarget.span(obj.job_name, window.start, window.end))
                outcome[obj.job_name] = run.ok
                out(run.line(width=JOB_WIDTH))
                if obj.name == "product_usage" and run.ok and downstream_enabled(settings):
                    refresh = starter.run(RunTarget.partition(CUSTOMER_USAGE_JOB, window.end))
                    outcome[CUSTOMER_USAGE_JOB] = refresh.ok
                    out(refresh.line(width=JOB_WIDTH))
    out("")
    out(summarize(warehouse))
    return outcome


def delete_some(tenant: DemoTenant, settings: Settings, at: datetime) -> str:
    """Delete a few records of each synced object in the tenant, as a user would, so that the
    deletions sync has something to show."""
    counts = []
    for name in settings.tracked_objects():
        found = tenant.dataset.resolve(name)
        if found is None:
            continue
        ids = tenant.dataset.objects[found]["Gsid"].head(2).to_list()
        counts.append(f"{len(tenant.delete(name, ids, at=at))} {name}")
    return f"Deleted in the demo tenant ({at:%Y-%m-%d}): {', '.join(counts)} records"


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
