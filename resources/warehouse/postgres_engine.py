"""The Postgres warehouse (production), through psycopg 3.

- **Connection per operation**, autocommit outside explicit transactions, with the session set to
  ``TimeZone UTC``, ``DateStyle ISO`` and shortest-exact float output on connect.
- **Server-side parameters**: statements are sent with ``$1, $2...`` placeholders through
  psycopg's ``RawCursor``, so no value is ever formatted into SQL and a ``%`` in a quoted
  identifier means nothing to the driver.
- **Bulk insert**: ``COPY t (cols) FROM STDIN (FORMAT csv)``, fed with the frame written by
  Polars in chunks. Every non-numeric value is quoted and NULL is the unquoted empty field, so
  NULL, the empty string and strings with quotes, commas, newlines or backslashes stay distinct;
  floats keep their shortest exact text (``NaN``/``inf`` included), timestamps six decimals.
- **Bulk read**: ``COPY (SELECT ...) TO STDOUT (FORMAT csv, FORCE_QUOTE *)`` parsed by Polars.
  COPY cannot take parameters, so window/equals values are bound with ``set_config($1, $2, true)``
  (transaction-local settings) and read back in the query as ``CAST(current_setting(...) AS t)``.
- **Writers take turns** per table through ``pg_advisory_xact_lock`` on the table's name, so two
  runs replacing the same slice cannot both delete and then both insert.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, ClassVar

import polars as pl
import psycopg
from psycopg.conninfo import conninfo_to_dict

from resources.redaction import redact
from resources.warehouse.engine import WarehouseEngine, utc_timestamps
from resources.warehouse.errors import WarehouseError
from resources.warehouse.identifiers import quote_ident
from resources.warehouse.refs import TableRef, Window
from resources.warehouse.sqltypes import (
    BIGINT,
    BOOLEAN,
    DATE,
    DOUBLE,
    TEXT,
    TIMESTAMP,
    polars_dtype,
)

COPY_CHUNK_ROWS = 100_000
CONNECT_TIMEOUT_SECONDS = 10
LOCK_NAMESPACE = "gainsight-warehouse"
SESSION_SETTINGS = (
    "SET TimeZone TO 'UTC'",
    "SET DateStyle TO 'ISO, YMD'",
    "SET extra_float_digits TO 1",
    "SET client_encoding TO 'UTF8'",
)
_PG_OID_DTYPES: dict[int, pl.DataType] = {
    16: pl.Boolean(),
    20: pl.Int64(),
    21: pl.Int16(),
    23: pl.Int32(),
    25: pl.String(),
    700: pl.Float32(),
    701: pl.Float64(),
    1043: pl.String(),
    1082: pl.Date(),
    1114: pl.Datetime("us"),
    1184: pl.Datetime("us", "UTC"),
}


class PostgresEngine(WarehouseEngine):
    kind: ClassVar[str] = "postgres"
    ddl_types: ClassVar[Mapping[str, str]] = {
        TEXT: "TEXT",
        BIGINT: "BIGINT",
        DOUBLE: "DOUBLE PRECISION",
        BOOLEAN: "BOOLEAN",
        DATE: "DATE",
        TIMESTAMP: "TIMESTAMP",
    }
    _conn: psycopg.Connection[Any] | None = None

    # ----------------------------------------------------------------- lifecycle
    def _connect(self) -> None:
        conninfo = self.target.conninfo or ""
        options = conninfo_to_dict(conninfo)
        extra: dict[str, Any] = {}
        if "connect_timeout" not in options:
            extra["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        if "application_name" not in options:
            extra["application_name"] = "gainsight-dagster warehouse"
        try:
            conn = psycopg.connect(
                conninfo, autocommit=True, cursor_factory=psycopg.RawCursor, **extra
            )
        except psycopg.Error as error:
            message = str(error)
            message = redact(message, (str(options.get("password") or ""),))
            raise WarehouseError(
                f"Cannot connect to the Postgres warehouse {self.target.redacted}: {message}"
            ) from None
        self._conn = conn
        for statement in SESSION_SETTINGS:
            self._execute(statement)

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise WarehouseError("The Postgres engine is not open; use it in a `with` block.")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    # ----------------------------------------------------------------- primitives
    def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall()

    def _execute(self, sql: str, params: Sequence[object] = ()) -> None:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, list(params) if params else None)

    def _lock(self, table: TableRef) -> None:
        self._advisory_lock(f"table {table.schema}.{table.name}")

    def _advisory_lock(self, key: str) -> None:
        self._fetchall(
            "SELECT pg_advisory_xact_lock(hashtextextended(CAST($1 AS text), 0))",
            [f"{LOCK_NAMESPACE} {key}"],
        )

    def _relations(self, table: TableRef) -> list[tuple[str, str, str]]:
        rows = self._fetchall(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c"
            " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            " AND lower(n.nspname) = lower(CAST($1 AS text))"
            " AND lower(c.relname) = lower(CAST($2 AS text))",
            [table.schema, table.name],
        )
        return [(s, n, "view" if kind in {"v", "m"} else "table") for s, n, kind in rows]

    def _schemas(self, schema: str) -> list[str]:
        rows = self._fetchall(
            "SELECT nspname FROM pg_catalog.pg_namespace"
            " WHERE lower(nspname) = lower(CAST($1 AS text))",
            [schema],
        )
        return [row[0] for row in rows]

    def _raw_columns(self, table: TableRef) -> list[tuple[str, str]]:
        rows = self._fetchall(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod)"
            " FROM pg_catalog.pg_attribute a"
            " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
            " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = CAST($1 AS text) AND c.relname = CAST($2 AS text)"
            " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            [table.schema, table.name],
        )
        return [(name, kind) for name, kind in rows]

    def _create_schema(self, schema: str) -> None:
        self._advisory_lock(f"schema {schema}")
        self._execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")

    def _bulk_insert(self, table: TableRef, frame: pl.DataFrame) -> None:
        columns = ", ".join(quote_ident(name) for name in frame.columns)
        statement = f"COPY {self._name(table)} ({columns}) FROM STDIN (FORMAT csv)"
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for chunk in frame.iter_slices(n_rows=COPY_CHUNK_ROWS):
                copy.write(_csv(chunk))

    @contextmanager
    def _staged(self, frame: pl.DataFrame) -> Iterator[str]:
        name = quote_ident(f"__warehouse_keys_{uuid.uuid4().hex}")
        columns = ", ".join(f"{quote_ident(c)} TEXT" for c in frame.columns)
        self._execute(f"CREATE TEMPORARY TABLE {name} ({columns}) ON COMMIT DROP")
        with (
            self.conn.cursor() as cursor,
            cursor.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy,
        ):
            for chunk in frame.iter_slices(n_rows=COPY_CHUNK_ROWS):
                copy.write(_csv(chunk))
        yield name

    def _select(
        self,
        table: TableRef,
        columns: Mapping[str, str],
        window: Window | None,
        equals: Mapping[str, object],
    ) -> pl.DataFrame:
        settings: list[tuple[str, str]] = []

        def bind(value: object) -> str:
            name = f"gainsight_warehouse.p{len(settings) + 1}"
            text, sql_type = _setting(value)
            settings.append((name, text))
            return f"CAST(current_setting('{name}') AS {sql_type})"

        where = self._where(window, equals, bind)
        select = ", ".join(_select_item(name, kind) for name, kind in columns.items())
        statement = (
            f"COPY (SELECT {select} FROM {self._name(table)}{where})"
            " TO STDOUT (FORMAT csv, FORCE_QUOTE *)"
        )
        buffer = io.BytesIO()
        with self._transaction():
            for name, text in settings:
                self._fetchall("SELECT set_config($1, $2, true)", [name, text])
            with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
                for block in copy:
                    buffer.write(block)
        raw = pl.read_csv(
            buffer.getvalue(),
            has_header=False,
            schema={name: pl.String for name in columns},
            empty_string_is_null=True,  # unquoted empty = NULL; quoted "" = empty string
            raise_if_empty=False,
        )
        return raw.with_columns(_parse(name, kind) for name, kind in columns.items())

    def query(self, sql: str, params: Sequence[object] | None = None) -> pl.DataFrame:
        with self._transaction(), self.conn.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute(sql, list(params) if params else None)
            if cursor.description is None:
                raise WarehouseError("query() runs a read-only SELECT; this returned no rows.")
            rows = cursor.fetchall()
            description = list(cursor.description)
        series = [
            pl.Series(
                column.name,
                [row[i] for row in rows],
                dtype=_PG_OID_DTYPES.get(column.type_code),
                strict=False,
            )
            for i, column in enumerate(description)
        ]
        return utc_timestamps(pl.DataFrame(series))


def _csv(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(
        buffer,
        include_header=False,
        quote_style="non_numeric",
        null_value="",
        date_format="%Y-%m-%d",
        datetime_format="%Y-%m-%d %H:%M:%S%.6f",
        line_terminator="\n",
    )
    return buffer.getvalue()


def _setting(value: object) -> tuple[str, str]:
    """A bound value as (text for set_config, SQL type to cast it back to)."""
    if isinstance(value, bool):
        return ("true" if value else "false"), "boolean"
    if isinstance(value, int):
        return str(value), "bigint"
    if isinstance(value, float):
        return repr(value), "double precision"
    if isinstance(value, datetime):
        return value.isoformat(sep=" "), "timestamp"
    if isinstance(value, date):
        return value.isoformat(), "date"
    return str(value), "text"


def _select_item(name: str, kind: str) -> str:
    quoted = quote_ident(name)
    if kind == "TIMESTAMPTZ":
        return f"({quoted} AT TIME ZONE 'UTC') AS {quoted}"
    return quoted


def _parse(name: str, kind: str) -> pl.Expr:
    column = pl.col(name)
    if kind in {TIMESTAMP, "TIMESTAMPTZ"}:
        return column.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", time_zone="UTC")
    if kind == DATE:
        return column.str.to_date("%Y-%m-%d")
    if kind == BOOLEAN:
        return column == "t"
    dtype = polars_dtype(kind)
    return column if dtype == pl.String else column.cast(dtype)
