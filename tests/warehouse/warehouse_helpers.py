"""Helpers shared by the warehouse tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import duckdb
import psycopg

from resources.warehouse import WarehouseTarget
from resources.warehouse.identifiers import quote_ident


def raw_sql(target: WarehouseTarget, sql: str) -> list[tuple[object, ...]]:
    """Run SQL with the driver directly (no engine), for setup and independent checks."""
    if target.kind == "duckdb":
        assert target.path is not None
        with duckdb.connect(str(target.path)) as conn:
            return conn.execute(sql).fetchall()
    with psycopg.connect(target.conninfo or "", autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(sql.replace("%", "%%"), [])
        return cur.fetchall() if cur.description else []


def drop_schemas(target: WarehouseTarget, names: list[str]) -> None:
    if target.kind != "postgres":
        return  # the DuckDB file lives in tmp_path
    with psycopg.connect(target.conninfo or "", autocommit=True) as conn:
        for name in names:
            conn.execute(
                f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE".replace("%", "%%"), []
            )
            if conn.execute("SELECT to_regclass('_warehouse.latest_views')").fetchone() != (None,):
                conn.execute("DELETE FROM _warehouse.latest_views WHERE table_schema = %s", [name])
