"""Opening the warehouse: the engine that serves a target.

The engine classes import the shared :class:`~resources.warehouse.engine.WarehouseEngine`; this
module sits above both, so the base module never imports its own subclasses. Each engine's driver
(duckdb, psycopg) is imported only when a target of its kind is opened.
"""

from __future__ import annotations

from resources.warehouse.engine import WarehouseEngine
from resources.warehouse.url import WarehouseTarget, parse_warehouse_url


def open_engine(target: WarehouseTarget | str | None) -> WarehouseEngine:
    """The engine for a target (or a WAREHOUSE_URL string); use it as a context manager."""
    if not isinstance(target, WarehouseTarget):
        target = parse_warehouse_url(target)
    if target.kind == "duckdb":
        from resources.warehouse.duckdb_engine import DuckDBEngine

        return DuckDBEngine(target)
    from resources.warehouse.postgres_engine import PostgresEngine

    return PostgresEngine(target)
