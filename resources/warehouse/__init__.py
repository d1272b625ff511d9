"""The warehouse: Polars frames in DuckDB (embedded default) or Postgres (production).

``WAREHOUSE_URL`` picks the engine (:mod:`resources.warehouse.url`); both engines keep the same
tables with the same guarantees (:mod:`resources.warehouse.engine`): one-transaction slice
replaces, schema evolution without loss, quoted identifiers and bound values, bulk paths only,
naive-UTC timestamps. Dagster reaches them through :class:`WarehouseIOManager` (asset outputs and
inputs) and :class:`WarehouseResource` (side tables read or written by asset code).
"""

from resources.warehouse.connect import open_engine
from resources.warehouse.engine import Exclude, LatestSpec, WarehouseEngine
from resources.warehouse.errors import (
    IdentifierError,
    SchemaEvolutionError,
    SliceMismatchError,
    TableNotFoundError,
    UnsupportedTypeError,
    WarehouseConfigError,
    WarehouseError,
    WarehouseLockedError,
)
from resources.warehouse.io_manager import WarehouseIOManager
from resources.warehouse.refs import TableRef, Window
from resources.warehouse.resource import WarehouseResource
from resources.warehouse.url import (
    WarehouseTarget,
    default_duckdb_path,
    parse_warehouse_url,
)
from resources.warehouse.writes import KeyedRows

__all__ = [
    "Exclude",
    "IdentifierError",
    "KeyedRows",
    "LatestSpec",
    "SchemaEvolutionError",
    "SliceMismatchError",
    "TableNotFoundError",
    "TableRef",
    "UnsupportedTypeError",
    "WarehouseConfigError",
    "WarehouseEngine",
    "WarehouseError",
    "WarehouseIOManager",
    "WarehouseLockedError",
    "WarehouseResource",
    "WarehouseTarget",
    "Window",
    "default_duckdb_path",
    "open_engine",
    "parse_warehouse_url",
]
