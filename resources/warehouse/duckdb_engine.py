"""The embedded DuckDB warehouse: one file, one writing process at a time.

- **Connection per operation.** The file is opened when the engine's ``with`` block starts and
  closed when it ends, which releases DuckDB's file lock for the next process.
- **Lock waits.** Opening a file another process holds raises DuckDB's ``IOException`` about a
  lock; the engine retries with exponential backoff (50 ms doubling to 2 s) for up to
  ``lock_timeout_seconds`` (default 120) and then raises :class:`WarehouseLockedError` saying
  which file is busy and how to keep runs from overlapping.
- **Session time zone** is set to UTC on connect; window bounds are bound as naive UTC TIMESTAMPs.
- **Results are always consumed** (duckdb 2.0 refuses new work on a connection with unfetched
  ``execute()`` results).
- **Bulk insert through Arrow**: the frame's Arrow table is registered as a view on the connection
  and copied with ``INSERT INTO t (cols) SELECT cols FROM view``, matching columns by name. Text
  is checked for NUL characters on that Arrow table's value buffers, in place.
- **Catalog reads are cached per connection**: the open connection holds the file's only lock,
  so no other process changes the catalog meanwhile; this connection's own DDL (anything but
  SELECT, INSERT, DELETE, UPDATE, SET) and a rollback forget what was read.
- **Letter case**: DuckDB treats ``Score`` and ``score`` as one identifier even when quoted; the
  shared rules in :mod:`resources.warehouse.identifiers` refuse such pairs on every engine.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import polars as pl

from resources.warehouse.engine import WarehouseEngine, param_binder, utc_timestamps
from resources.warehouse.errors import WarehouseError, WarehouseLockedError
from resources.warehouse.frames import refuse_nul
from resources.warehouse.identifiers import quote_ident
from resources.warehouse.refs import TableRef, Window
from resources.warehouse.sqltypes import BIGINT, BOOLEAN, DATE, DOUBLE, TEXT, TIMESTAMP

# A commit that leaves more than this in the write-ahead log checkpoints at once; DuckDB then
# writes a large commit (over about 100 KB) straight to the file, skipping the log, instead of
# writing it twice: into the log, and again when the connection closes.
CHECKPOINT_THRESHOLD = "1MB"
FIRST_DELAY_SECONDS = 0.05
# statements that change no catalog entry (anything else forgets the cached catalog reads)
DATA_STATEMENTS = frozenset({"SELECT", "INSERT", "DELETE", "UPDATE", "SET"})
MAX_DELAY_SECONDS = 2.0


class DuckDBEngine(WarehouseEngine):
    kind: ClassVar[str] = "duckdb"
    ddl_types: ClassVar[Mapping[str, str]] = {
        TEXT: "VARCHAR",
        BIGINT: "BIGINT",
        DOUBLE: "DOUBLE",
        BOOLEAN: "BOOLEAN",
        DATE: "DATE",
        TIMESTAMP: "TIMESTAMP",
    }
    _conn: duckdb.DuckDBPyConnection | None = None
    _catalog: dict[tuple[str, ...], list[tuple[Any, ...]]]

    # ----------------------------------------------------------------- lifecycle
    def _connect(self) -> None:
        path = self.target.path
        assert path is not None
        self._conn = connect_with_retry(path, self.target.lock_timeout_seconds)
        self._catalog = {}
        self._execute("SET TimeZone = 'UTC'")
        self._execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    @property
    def conn(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise WarehouseError("The DuckDB engine is not open; use it in a `with` block.")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.conn.begin()
        try:
            yield
        except BaseException:
            self._catalog.clear()
            self.conn.rollback()
            raise
        self.conn.commit()

    # ----------------------------------------------------------------- primitives
    def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, list(params)).fetchall()

    def _execute(self, sql: str, params: Sequence[object] = ()) -> None:
        if sql.split(None, 1)[0].upper() not in DATA_STATEMENTS:
            self._catalog.clear()
        self.conn.execute(sql, list(params)).fetchall()

    def _catalog_read(self, sql: str, params: list[str]) -> list[tuple[Any, ...]]:
        key = (sql, *params)
        if key not in self._catalog:
            self._catalog[key] = self._fetchall(sql, params)
        return list(self._catalog[key])

    def _relations(self, table: TableRef) -> list[tuple[str, str, str]]:
        rows = self._catalog_read(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables"
            " WHERE table_catalog = current_database()"
            " AND lower(table_schema) = lower(CAST($1 AS VARCHAR))"
            " AND lower(table_name) = lower(CAST($2 AS VARCHAR))",
            [table.schema, table.name],
        )
        return [(s, n, "view" if kind == "VIEW" else "table") for s, n, kind in rows]

    def _schemas(self, schema: str) -> list[str]:
        rows = self._catalog_read(
            "SELECT schema_name FROM information_schema.schemata"
            " WHERE catalog_name = current_database()"
            " AND lower(schema_name) = lower(CAST($1 AS VARCHAR))",
            [schema],
        )
        return [row[0] for row in rows]

    def _raw_columns(self, table: TableRef) -> list[tuple[str, str]]:
        rows = self._catalog_read(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2"
            " ORDER BY ordinal_position",
            [table.schema, table.name],
        )
        return [(name, kind) for name, kind in rows]

    def _create_schema(self, schema: str) -> None:
        self._execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")

    def _check_text(self, frame: pl.DataFrame, table: TableRef) -> None:
        """Checked in ``_bulk_insert``, on the Arrow data it inserts (one conversion, not two)."""

    def _bulk_insert(self, table: TableRef, frame: pl.DataFrame) -> None:
        view = f"__warehouse_frame_{uuid.uuid4().hex}"
        columns = ", ".join(quote_ident(name) for name in frame.columns)
        data = frame.to_arrow()
        refuse_nul(frame, table, arrow=data)  # inside the transaction: a refusal rolls back
        self.conn.register(view, data)
        # A table has no row order, so the insert need not keep the frame's: DuckDB then
        # converts and compresses the scan's batches in parallel (about twice as fast for the
        # 436,230 rows of the benchmark's activities run). Only this statement; reads keep it.
        self._execute("SET preserve_insertion_order = false")
        try:
            self._execute(
                f"INSERT INTO {self._name(table)} ({columns})"
                f" SELECT {columns} FROM {quote_ident(view)}"
            )
        except BaseException:
            # the failed statement aborted the transaction, which refuses any other until its
            # rollback: raise the insert's own error, not the clean-up's
            with suppress(duckdb.Error):
                self._execute("SET preserve_insertion_order = true")
                self.conn.unregister(view)
            raise
        self._execute("SET preserve_insertion_order = true")
        self.conn.unregister(view)

    @contextmanager
    def _staged(self, frame: pl.DataFrame) -> Iterator[str]:
        view = f"__warehouse_keys_{uuid.uuid4().hex}"
        self.conn.register(view, frame.to_arrow())
        try:
            yield quote_ident(view)
        finally:
            self.conn.unregister(view)

    def _select(
        self,
        table: TableRef,
        columns: Mapping[str, str],
        window: Window | None,
        equals: Mapping[str, object],
    ) -> pl.DataFrame:
        params: list[object] = []
        where = self._where(window, equals, param_binder(params))
        select = ", ".join(quote_ident(name) for name in columns)
        sql = f"SELECT {select} FROM {self._name(table)}{where}"
        return _frame(self.conn.sql(sql, params=params or None).to_arrow_table())

    def query(self, sql: str, params: Sequence[object] | None = None) -> pl.DataFrame:
        statements = self.conn.extract_statements(sql)
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise WarehouseError("query() runs exactly one read-only SELECT statement.")
        relation = self.conn.sql(sql, params=list(params) if params else None)
        return utc_timestamps(_frame(relation.to_arrow_table()))


def _frame(table: Any) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def connect_with_retry(path: Path, timeout_seconds: float) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, waiting (with backoff) while another process holds its lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_seconds
    delay = FIRST_DELAY_SECONDS
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseLockedError(
                    f"Another run holds the DuckDB warehouse file {path} (waited"
                    f" {timeout_seconds:g} s for its lock). DuckDB allows one writing process at a"
                    " time: let only one run write the warehouse at once (run queue"
                    " max_concurrent_runs: 1, or put the writing assets in one concurrency pool"
                    " with limit 1), raise lock_timeout_seconds, or point WAREHOUSE_URL at"
                    f" Postgres. DuckDB said: {error}"
                ) from error
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_DELAY_SECONDS)
