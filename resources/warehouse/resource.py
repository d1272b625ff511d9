"""``WarehouseResource``: the warehouse engines for asset code that reads or writes side tables.

Assets use it to read the primary CRM accounts or write tables that are not their own output
(for instance ``gainsight.unmatched_records``), with the same engines and guarantees as the IO
manager. Wire ``url`` to ``EnvVar("WAREHOUSE_URL")``; unset means the embedded DuckDB file.

Each call opens the engine for that call only (``with resource.engine() as engine:`` groups
several calls on one connection), so nothing is shared between the processes Dagster runs steps in.
Tables may be given as :class:`TableRef` or as ``"schema.table"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dagster import Config, ConfigurableResource
from pydantic import Field

from resources.warehouse.connect import open_engine
from resources.warehouse.engine import Exclude, WarehouseEngine
from resources.warehouse.refs import TableRef, Window
from resources.warehouse.url import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    WarehouseTarget,
    parse_warehouse_url,
)

if TYPE_CHECKING:
    import polars as pl

URL_DESCRIPTION = (
    "WAREHOUSE_URL: unset for the embedded DuckDB file <project>/data/warehouse.duckdb,"
    " duckdb:///abs/path.duckdb, duckdb:rel/path.duckdb or postgresql://user:pass@host:port/db."
)
LOCK_DESCRIPTION = "How long to wait for another process's lock on the DuckDB file (seconds)."

TableLike = TableRef | str


def as_table(table: TableLike) -> TableRef:
    return table if isinstance(table, TableRef) else TableRef.parse(table)


class WarehouseConnection(Config):
    """The settings the warehouse resource and the IO manager share: where the warehouse is."""

    url: str | None = Field(default=None, description=URL_DESCRIPTION, repr=False)
    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS, ge=0, description=LOCK_DESCRIPTION
    )

    @property
    def target(self) -> WarehouseTarget:
        return parse_warehouse_url(self.url, lock_timeout_seconds=self.lock_timeout_seconds)


class WarehouseResource(ConfigurableResource, WarehouseConnection):
    """Read and write warehouse tables from asset code (DuckDB or Postgres)."""

    @contextmanager
    def engine(self) -> Iterator[WarehouseEngine]:
        with open_engine(self.target) as engine:
            yield engine

    def replace(
        self,
        table: TableLike,
        frame: pl.DataFrame,
        *,
        window: Window | None = None,
        equals: Mapping[str, object] | None = None,
        only_keys: pl.DataFrame | None = None,
    ) -> int:
        with self.engine() as engine:
            return engine.replace(
                as_table(table), frame, window=window, equals=equals, only_keys=only_keys
            )

    def read(
        self,
        table: TableLike,
        *,
        columns: Sequence[str] | None = None,
        window: Window | None = None,
        equals: Mapping[str, object] | None = None,
    ) -> pl.DataFrame:
        with self.engine() as engine:
            return engine.read(as_table(table), columns=columns, window=window, equals=equals)

    def table_exists(self, table: TableLike) -> bool:
        with self.engine() as engine:
            return engine.table_exists(as_table(table))

    def columns(self, table: TableLike) -> dict[str, str]:
        with self.engine() as engine:
            return engine.columns(as_table(table))

    def count(
        self,
        table: TableLike,
        *,
        window: Window | None = None,
        equals: Mapping[str, object] | None = None,
    ) -> int:
        with self.engine() as engine:
            return engine.count(as_table(table), window=window, equals=equals)

    def duplicates(
        self, table: TableLike, grain: Sequence[str], *, window: Window | None = None
    ) -> tuple[int, list[dict[str, object]]]:
        with self.engine() as engine:
            return engine.duplicates(as_table(table), grain, window=window)

    def ensure_latest_view(
        self,
        table: TableLike,
        key_columns: Sequence[str],
        order_column: str,
        exclude: Exclude | None = None,
    ) -> TableRef:
        with self.engine() as engine:
            return engine.ensure_latest_view(as_table(table), key_columns, order_column, exclude)

    def query(self, sql: str, params: Sequence[object] | None = None) -> pl.DataFrame:
        with self.engine() as engine:
            return engine.query(sql, params)
