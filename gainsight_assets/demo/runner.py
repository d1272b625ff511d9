"""README's main command: the whole sync, end to end, against local demo tenants and DuckDB.

Every tenant of the defs folder (``default`` and ``emea`` as shipped) gets a demo Gainsight tenant
of its own on loopback, with its own data (another ``variant`` of the generator), reached through
the environment variables its ``defs.yaml`` names. The demo loads each tenant's primary-CRM
accounts into the table its settings name (standing in for the CRM pipeline that owns them in
production; the sync itself never writes accounts), then runs every enabled Gainsight job of each
tenant (gate check included) over the demo's recent windows, as ordinary runs of the code location
that the UI lists, and prints a summary of each run and, per tenant, of each table.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import polars as pl
from dagster import DagsterInstance, PartitionKeyRange

from gainsight_assets.demo.generator import generate_dataset
from gainsight_assets.demo.server import DemoTenant
from gainsight_assets.downstream import CUSTOMER_USAGE_JOB, downstream_enabled
from gainsight_assets.objects import SyncObject, enabled_objects
from gainsight_assets.partitions import trailing_window
from gainsight_assets.runs import RunTarget, ensure_dagster_home, run_starter
from gainsight_assets.settings import Settings
from gainsight_assets.tenant import Tenant
from gainsight_assets.tenants import load_tenants
from resources.gainsight import GainsightResource
from resources.warehouse import TableRef, WarehouseResource

__all__ = ["DEMO_KEY", "TABLES", "demo_accounts", "ensure_dagster_home", "run_demo"]

DEMO_KEY = "demo-access-key"
FIRST_VARIANT = 7  # the generator's default dataset; each further tenant gets the next one
TABLES = (
    "companies",
    "activities",
    "survey_responses",
    "product_usage",
    "customer_usage_weekly",
    "unmatched_records",
    "deleted_records",
)
JOB_WIDTH = 36


def recent_range(obj: SyncObject, now: datetime) -> PartitionKeyRange | None:
    """The closed partitions of ``obj`` in its demo span before ``now`` (the demo data spans the
    last 35 days)."""
    window = trailing_window(obj.partitions_def, now, obj.spec.demo_span)
    return None if window is None else PartitionKeyRange(*window)


def demo_accounts(accounts: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The demo's CRM accounts with the column names the tenant's ``primary_crm`` and
    ``gsid_field`` settings give (a HubSpot tenant reads ``hs_object_id``, ``domain``, ...)."""
    crm = settings.primary_crm
    names = {
        "id": crm.account_id_column,
        "name": crm.name_column,
        "website": crm.domain_column,
        "gainsight_gsid_c": settings.gsid_field,
    }
    return accounts.rename({old: new for old, new in names.items() if old != new})


def set_env(stack: ExitStack, name: str, value: str) -> None:
    """Set ``name`` until ``stack`` closes, then put back what it was."""
    previous = os.environ.get(name)
    os.environ[name] = value
    stack.callback(_restore_env, name, previous)


def _restore_env(name: str, previous: str | None) -> None:
    if previous is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = previous


def run_demo(
    *, companies: int = 40, out: Callable[[str], None] = print, verbose: bool = False
) -> dict[str, bool]:
    """Run every enabled job of every tenant once over its recent windows; the result per job."""
    ensure_dagster_home()
    tenants = list(load_tenants().values())
    outcome: dict[str, bool] = {}
    warehouse = WarehouseResource(url=os.environ.get("WAREHOUSE_URL") or None)
    with ExitStack() as stack:
        servers: dict[str, DemoTenant] = {}
        for index, tenant in enumerate(tenants):
            dataset = generate_dataset(companies=companies, variant=FIRST_VARIANT + index)
            server = stack.enter_context(DemoTenant(dataset, access_key=DEMO_KEY))
            servers[tenant.name] = server
            # set before the code location starts: its runs read them (never from run config)
            set_env(stack, tenant.base_url_env, server.base_url)
            set_env(stack, tenant.access_key_env, DEMO_KEY)
            gainsight = GainsightResource(base_url=server.base_url, access_key=DEMO_KEY)
            crm = tenant.settings.primary_crm
            accounts = demo_accounts(dataset.crm_accounts, tenant.settings)
            warehouse.replace(TableRef.parse(crm.accounts_table), accounts)
            out(
                f"Tenant {tenant.name}: demo Gainsight tenant at {server.base_url}"
                f" ({tenant.base_url_env}), {gainsight.validate_connection()} objects;"
                f" {accounts.height} {crm.system} accounts loaded into {crm.accounts_table}"
            )
        out(f"Warehouse: {warehouse.target}")

        now = datetime.now(UTC)
        with (
            DagsterInstance.get() as instance,
            run_starter(instance, verbose=verbose) as starter,
        ):
            for tenant in tenants:
                server = servers[tenant.name]
                settings = tenant.settings
                for obj in enabled_objects(tenant):
                    window = recent_range(obj, now)
                    if window is None:
                        continue
                    if obj.name == "deleted_records":
                        out(delete_some(server, settings, now - timedelta(days=1)))
                    run = starter.run(RunTarget.span(obj.job_name, window.start, window.end))
                    outcome[obj.job_name] = run.ok
                    out(run.line(width=JOB_WIDTH))
                    if obj.name == "product_usage" and run.ok and downstream_enabled(settings):
                        job = tenant.named(CUSTOMER_USAGE_JOB)
                        refresh = starter.run(RunTarget.partition(job, window.end))
                        outcome[job] = refresh.ok
                        out(refresh.line(width=JOB_WIDTH))
    for tenant in tenants:
        out("")
        out(summarize(warehouse, tenant))
    return outcome


def delete_some(server: DemoTenant, settings: Settings, at: datetime) -> str:
    """Delete a few records of each synced object in the tenant, as a user would, so that the
    deletions sync has something to show."""
    counts = []
    for name in settings.tracked_objects():
        found = server.dataset.resolve(name)
        if found is None:
            continue
        ids = server.dataset.objects[found]["Gsid"].head(2).to_list()
        counts.append(f"{len(server.delete(name, ids, at=at))} {name}")
    return f"Deleted in the demo tenant ({at:%Y-%m-%d}): {', '.join(counts)} records"


def summarize(warehouse: WarehouseResource, tenant: Tenant) -> str:
    """Tenant ``tenant``'s tables: rows and columns of each."""
    width = max(32, *(len(str(tenant.table(name))) for name in TABLES))
    lines = [f"Tenant {tenant.name}:", f"{'table':<{width}} {'rows':>7}  columns"]
    for name in TABLES:
        table = tenant.table(name)
        if not warehouse.table_exists(table):
            lines.append(f"{table!s:<{width}} {'-':>7}  (not materialized)")
            continue
        columns = list(warehouse.columns(table))
        shown = ", ".join(columns[:8]) + (", …" if len(columns) > 8 else "")
        lines.append(f"{table!s:<{width}} {warehouse.count(table):>7}  {shown}")
    return "\n".join(lines)
