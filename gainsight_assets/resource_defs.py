"""The resources every Gainsight job uses, built in one place.

The code location (``gainsight_assets.definitions``), the tests' fixtures and the benchmarks all
take their resources dict from :func:`build_resources`, so a resource added, renamed or
configured differently reaches all three at once.
"""

from __future__ import annotations

import os
from typing import Any

from dagster import ConfigurableIOManager, ConfigurableResource, EnvVar

from gainsight_assets.assets.common import IO_MANAGER_KEY, WAREHOUSE_KEY
from resources.gainsight import GainsightResource
from resources.warehouse import WarehouseIOManager, WarehouseResource

GAINSIGHT_KEY = "gainsight"

__all__ = [
    "GAINSIGHT_KEY",
    "IO_MANAGER_KEY",
    "WAREHOUSE_KEY",
    "build_resources",
    "env_warehouse_url",
]


def env_warehouse_url() -> EnvVar | None:
    """``WAREHOUSE_URL`` as an EnvVar (so the UI shows its name, never its password); ``None``
    (the project's DuckDB file) when it is unset."""
    return EnvVar("WAREHOUSE_URL") if os.environ.get("WAREHOUSE_URL") else None


def build_resources(
    *,
    base_url: str | EnvVar | None = None,
    access_key: str | EnvVar | None = None,
    warehouse_url: str | EnvVar | None = None,
    **gainsight: Any,
) -> dict[str, ConfigurableResource | ConfigurableIOManager]:
    """The Gainsight connection, the warehouse and the warehouse IO manager, by resource key.

    Left out, the connection comes from the GAINSIGHT_BASE_URL and GAINSIGHT_ACCESS_KEY
    environment variables (read when a run starts, never stored with it) and the warehouse from
    :func:`env_warehouse_url`. ``gainsight`` holds further :class:`GainsightResource` settings
    (retry backoff, call budget, rate-limit state file).
    """
    url = warehouse_url if warehouse_url is not None else env_warehouse_url()
    return {
        GAINSIGHT_KEY: GainsightResource(
            base_url=base_url if base_url is not None else EnvVar("GAINSIGHT_BASE_URL"),
            access_key=access_key if access_key is not None else EnvVar("GAINSIGHT_ACCESS_KEY"),
            **gainsight,
        ),
        WAREHOUSE_KEY: WarehouseResource(url=url),
        IO_MANAGER_KEY: WarehouseIOManager(url=url),
    }
