"""What every Gainsight asset of one tenant shares: its arguments and its resources."""

from __future__ import annotations

from dagster import AssetExecutionContext

from gainsight_assets.tenant import Tenant
from resources.gainsight import GainsightResource
from resources.warehouse import WarehouseResource
from resources.warehouse.io_manager import TABLE_NAME_KEY

IO_MANAGER_KEY = "warehouse_io_manager"
WAREHOUSE_KEY = "warehouse"


def table_metadata(tenant: Tenant, name: str) -> dict[str, str]:
    """The asset's table in the tenant's schema, where the IO manager writes it."""
    return {TABLE_NAME_KEY: str(tenant.table(name))}


def shared_asset_args(tenant: Tenant) -> dict:
    return {
        "group_name": tenant.group,
        "io_manager_key": IO_MANAGER_KEY,
        "pool": tenant.pool,
        "deps": [tenant.crm_accounts_key],
        "kinds": {"gainsight", "polars"},
        "required_resource_keys": {tenant.resource_key, WAREHOUSE_KEY},
    }


def run_resources(
    context: AssetExecutionContext, tenant: Tenant
) -> tuple[GainsightResource, WarehouseResource]:
    """The tenant's Gainsight connection and the warehouse, as the run was given them."""
    return getattr(context.resources, tenant.resource_key), context.resources.warehouse
