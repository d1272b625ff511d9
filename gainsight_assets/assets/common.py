"""Asset arguments every Gainsight asset shares."""

from dagster import AssetKey

from gainsight_assets.gate import PRIMARY_CRM_ACCOUNTS
from resources.gainsight import POOL

GROUP = "gainsight"
IO_MANAGER_KEY = "warehouse_io_manager"


def gainsight_key(name: str) -> AssetKey:
    return AssetKey(["gainsight", name])


def shared_asset_args() -> dict:
    return {
        "group_name": GROUP,
        "io_manager_key": IO_MANAGER_KEY,
        "pool": POOL,
        "deps": [PRIMARY_CRM_ACCOUNTS],
        "kinds": {"gainsight", "polars"},
    }
