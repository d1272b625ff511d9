"""The warehouse engine: one interface, the same tables and guarantees on DuckDB and Postgres.

``open_engine(target)`` (in :mod:`resources.warehouse.connect`) returns a context manager; the
connection lives for the ``with`` block only (open one per operation, never per process), so
nothing global is shared between the processes Dagster runs steps in.

Guarantees of :meth:`WarehouseEngine.replace` (the only write):

- **One transaction**: create the schema/table if missing, evolve the columns, delete the slice,
  insert the frame, commit. Any failure, including one after the delete, rolls everything back and
  the previous contents stay as they were. ``_after_delete`` is a test hook called right after the
  delete.
- **Slices**: the rows deleted are those matching the ``window`` (``start <= col < end``, bound as
  naive UTC) AND every ``equals`` pair (``col = value``; ``None`` means ``IS NULL``); with neither,
  the whole table is replaced. The frame must lie inside its slice (see
  :mod:`resources.warehouse.frames`), so re-running a slice never duplicates rows. On Postgres,
  writers of one table take turns through a transaction-scoped advisory lock.
- **Keyed replace** (``only_keys``): when a run did not read a whole slice, or must not drop the
  slice's other rows, only the stored rows of the slice whose key (the columns of ``only_keys``)
  is listed in ``only_keys`` or carried by a row of ``frame`` are deleted. Every other stored row
  stays, and the slice still holds each key at most once more than before it held it.
- **Columns** evolve without loss (:mod:`resources.warehouse.evolution`); a ``<table>_latest``
  view made by :meth:`ensure_latest_view` is recreated in the same transaction when they change.
- **Identifiers** are always quoted and values always bound as parameters (``$1``, ``$2``...);
  names that only one engine could keep apart are refused (:mod:`resources.warehouse.identifiers`).
- **Bulk only**: DuckDB inserts from the frame's Arrow table, Postgres through ``COPY FROM STDIN``.

Reads return timestamps as ``Datetime("us", "UTC")`` (stored naive UTC). The registry of latest
views is the table ``_warehouse.latest_views`` (key columns, order column per table, and an
optional exclusion). A latest view with an exclusion (``Exclude``: another table and the column
pairs that match) leaves out the keys that table lists, and only while that table exists; a
``<table>_excluded`` view shows the stored rows it leaves out. :meth:`refresh_views_excluding`
recreates both after the excluding table is written.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from resources.warehouse.errors import IdentifierError, TableNotFoundError, WarehouseError
from resources.warehouse.evolution import EvolutionPlan, plan_evolution, raise_conflicts
from resources.warehouse.frames import PreparedFrame, check_slice, prepare_frame, refuse_nul
from resources.warehouse.identifiers import check_column_name, fold, quote_ident
from resources.warehouse.refs import TableRef, Window, sql_value
from resources.warehouse.sqltypes import NULL, TEXT, canonical_type, write_dtype
from resources.warehouse.url import WarehouseTarget

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Exclude", "LatestSpec", "TableRef", "WarehouseEngine", "Window"]

META = TableRef("_warehouse", "latest_views")


def excluded_view(table: TableRef) -> TableRef:
    """``<table>_excluded``: the stored rows a latest view's exclusion leaves out."""
    return TableRef(table.schema, f"{table.name}_excluded")


Bind = Callable[[object], str]


@dataclass(frozen=True)
class Exclude:
    """Rows of ``table`` that hide matching rows: ``on`` pairs (column, column of ``table``)."""

    table: TableRef
    on: tuple[tuple[str, str], ...]

    def to_json(self) -> str:
        return json.dumps({"table": str(self.table), "on": [list(pair) for pair in self.on]})

    @classmethod
    def from_json(cls, text: str | None) -> Exclude | None:
        if not text:
            return None
        raw = json.loads(text)
        return cls(TableRef.parse(raw["table"]), tuple((a, b) for a, b in raw["on"]))


@dataclass(frozen=True)
class LatestSpec:
    """How a ``<table>_latest`` view picks rows: the last ``order`` value per ``key``, without
    the keys ``exclude`` lists."""

    key: tuple[str, ...]
    order: str
    exclude: Exclude | None = None


class WarehouseEngine(ABC):
    """Shared logic; subclasses supply connections, catalog queries and the bulk paths."""

    kind: ClassVar[str]
    ddl_types: ClassVar[Mapping[str, str]]

    def __init__(self, target: WarehouseTarget) -> None:
        self.target = target

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> Self:
        self._connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abstractmethod
    def _connect(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    # ----------------------------------------------------------------- primitives
    @abstractmethod
    def _transaction(self) -> AbstractContextManager[None]: ...

    @abstractmethod
    def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run a statement that returns no rows (its result is consumed)."""

    @abstractmethod
    def _relations(self, table: TableRef) -> list[tuple[str, str, str]]:
        """(schema, name, 'table'|'view') of relations equal to ``table`` ignoring case."""

    @abstractmethod
    def _schemas(self, schema: str) -> list[str]:
        """Schema names equal to ``schema`` ignoring case."""

    @abstractmethod
    def _raw_columns(self, table: TableRef) -> list[tuple[str, str]]:
        """(column, engine type) in table order."""

    @abstractmethod
    def _create_schema(self, schema: str) -> None: ...

    @abstractmethod
    def _bulk_insert(self, table: TableRef, frame: pl.DataFrame) -> None: ...

    @abstractmethod
    def _staged(self, frame: pl.DataFrame) -> AbstractContextManager[str]:
        """Inside a transaction: ``frame`` (text columns) as a relation SQL can name."""

    @abstractmethod
    def _select(
        self,
        table: TableRef,
        columns: Mapping[str, str],
        window: Window | None,
        equals: Mapping[str, object],
    ) -> pl.DataFrame:
        """Rows of ``columns`` (name -> canonical type) in the slice, as raw engine output."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[object] | None = None) -> pl.DataFrame:
        """Run one read-only SELECT (placeholders ``$1``, ``$2``...) and return its rows."""

    def _check_text(self, frame: pl.DataFrame, table: TableRef) -> None:
        """Refuse NUL characters before writing (DuckDB checks the Arrow data it inserts)."""
        refuse_nul(frame, table)

    def _lock(self, table: TableRef) -> None:
        """Serialise writers of ``table`` until the transaction ends (engines that need it)."""
        return None  # DuckDB: a single writing process holds the file anyway

    # ----------------------------------------------------------------- catalog
    def table_exists(self, table: TableRef) -> bool:
        """True if a table or view of exactly this name exists (a near miss in case raises)."""
        return self._resolve(table) is not None

    def columns(self, table: TableRef) -> dict[str, str]:
        """Column name -> canonical SQL type (TEXT, BIGINT, DOUBLE, TIMESTAMP...), in order."""
        self._require(table)
        return self._columns_of(table)

    def _columns_of(self, table: TableRef) -> dict[str, str]:
        return {name: canonical_type(kind) for name, kind in self._raw_columns(table)}

    def _resolve(self, table: TableRef) -> str | None:
        candidates = self._relations(table)
        for schema, name, kind in candidates:
            if schema == table.schema and name == table.name:
                return kind
        for schema, name, _ in candidates:
            if fold(schema) == fold(table.schema) and fold(name) == fold(table.name):
                found = TableRef(schema, name)
                raise IdentifierError(
                    f"The warehouse has {found} but not {table}: the names differ only in letter"
                    " case, which Postgres keeps apart and DuckDB does not. Use the exact name"
                    f" {found}."
                )
        return None

    def _require(self, table: TableRef) -> str:
        kind = self._resolve(table)
        if kind is None:
            raise TableNotFoundError(
                f"The table {table} does not exist in the warehouse ({self.target.redacted})."
            )
        return kind

    def _ensure_schema(self, schema: str) -> None:
        names = self._schemas(schema)
        if schema in names:
            return
        if names:
            raise IdentifierError(
                f"The warehouse has the schema {names[0]!r} but not {schema!r}: the names differ"
                f" only in letter case, which DuckDB does not keep apart. Use {names[0]!r}."
            )
        self._create_schema(schema)

    # ----------------------------------------------------------------- reads
    def read(
        self,
        table: TableRef,
        *,
        columns: Sequence[str] | None = None,
        window: Window | None = None,
        equals: Mapping[str, object] | None = None,
    ) -> pl.DataFrame:
        """Rows of the slice (whole table without ``window``/``equals``); empty keeps columns."""
        self._require(table)
        existing = self._columns_of(table)
        selected = list(existing) if columns is None else list(columns)
        if not selected:
            raise ValueError(f"Reading {table}: columns must name at least one column.")
        if len(set(selected)) != len(selected):
            raise ValueError(f"Reading {table}: columns listed twice in {selected}.")
        self._check_columns(table, existing, [*selected, *_slice_columns(window, equals)])
        types = {name: existing[name] for name in selected}
        frame = self._select(table, types, window, dict(equals or {}))
        return utc_timestamps(frame)

    def count(
        self,
        table: TableRef,
        *,
        window: Window | None = None,
        equals: Mapping[str, object] | None = None,
    ) -> int:
        self._require(table)
        self._check_columns(table, self._columns_of(table), _slice_columns(window, equals))
        params: list[object] = []
        where = self._where(window, equals or {}, param_binder(params))
        rows = self._fetchall(f"SELECT count(*) FROM {self._name(table)}{where}", params)
        return int(rows[0][0])

    def duplicates(
        self, table: TableRef, grain: Sequence[str], *, window: Window | None = None
    ) -> tuple[int, list[dict[str, object]]]:
        """How many ``grain`` values occur more than once in the slice, and up to five of them.

        A missing table has none. NULLs count as values: two rows that agree on every grain
        column, NULLs included, are a duplicate.
        """
        if not self.table_exists(table):
            return 0, []
        self._check_columns(table, self._columns_of(table), [*grain, *_slice_columns(window, {})])
        params: list[object] = []
        where = self._where(window, {}, param_binder(params))
        columns = ", ".join(quote_ident(c) for c in grain)
        grouped = (
            f"SELECT {columns}, count(*) AS n FROM {self._name(table)}{where}"
            f" GROUP BY {columns} HAVING count(*) > 1"
        )
        # one pass: the first five duplicated keys, each carrying how many there are in all
        sample = self._fetchall(
            f"SELECT d.*, count(*) OVER () AS total FROM ({grouped}) AS d"
            f" ORDER BY {columns} LIMIT 5",
            params,
        )
        total = sample[0][-1] if sample else 0
        return int(total), [
            {**dict(zip(grain, row[:-2], strict=True)), "rows": int(row[-2])} for row in sample
        ]

    # ----------------------------------------------------------------- the write
    def replace(
        self,
        table: TableRef,
        frame: pl.DataFrame,
        *,
        window: Window | None = None,
        equals: Mapping[str, object] | None = None,
        only_keys: pl.DataFrame | None = None,
        _after_delete: Callable[[], None] | None = None,
    ) -> int:
        """Replace the slice of ``table`` with ``frame`` in one transaction; rows written.

        With ``only_keys``, only the slice's rows whose key is in ``only_keys`` or in ``frame``
        are replaced (see the module docstring); the others stay as they are.
        """
        equals = dict(equals or {})
        for name in equals:
            check_column_name(name)
        if only_keys is not None:
            _check_keys(only_keys, frame, table)
        prepared = prepare_frame(frame, table, equals=equals)
        check_slice(prepared, table, window=window, equals=equals)
        self._check_text(prepared.frame, table)
        with self._transaction():
            self._lock(table)
            kind = self._resolve(table)
            if kind == "view":
                raise WarehouseError(f"{table} is a view; the warehouse writes tables only.")
            if kind is None:
                if prepared.frame.width == 0:
                    return 0
                self._ensure_schema(table.schema)
                self._create_table(table, prepared.types)
                existing = self._columns_of(table)
            else:
                existing = self._columns_of(table)
                self._check_columns(table, existing, _slice_columns(window, equals))
                plan = plan_evolution(table, existing, prepared.types)
                if plan.changes_columns:
                    self._evolve(table, plan)
                    existing = self._columns_of(table)
                self._delete(table, window, equals, only_keys, frame)
            if _after_delete is not None:
                _after_delete()
            if prepared.frame.height:
                self._bulk_insert(table, _insert_frame(prepared, existing))
        return prepared.frame.height

    def _delete(
        self,
        table: TableRef,
        window: Window | None,
        equals: Mapping[str, object],
        only_keys: pl.DataFrame | None,
        frame: pl.DataFrame,
    ) -> None:
        """Delete the slice, or only its rows whose key is listed in ``only_keys`` or carried by
        ``frame``. The key set is built only when the slice holds a row (a new window, the
        common case, holds none: building it costs more than the rest of the delete)."""
        params: list[object] = []
        where = self._where(window, equals, param_binder(params))
        if only_keys is None:
            self._execute(f"DELETE FROM {self._name(table)}{where}", params)
            return
        if not self._fetchall(f"SELECT 1 FROM {self._name(table)}{where} LIMIT 1", params):
            return
        keys = _key_set(only_keys, frame)
        if not keys.height:
            return
        self._check_columns(table, self._columns_of(table), keys.columns)
        name = self._name(table)
        with self._staged(keys) as staged:
            match = " AND ".join(
                f"k.{quote_ident(c)} = CAST({name}.{quote_ident(c)} AS TEXT)" for c in keys.columns
            )
            exists = f"EXISTS (SELECT 1 FROM {staged} AS k WHERE {match})"
            where = f"{where} AND {exists}" if where else f" WHERE {exists}"
            self._execute(f"DELETE FROM {name}{where}", params)

    def _create_table(self, table: TableRef, types: Mapping[str, str]) -> None:
        columns = ", ".join(
            f"{quote_ident(name)} {self.ddl_types[TEXT if logical == NULL else logical]}"
            for name, logical in types.items()
        )
        self._execute(f"CREATE TABLE {self._name(table)} ({columns})")

    def _evolve(self, table: TableRef, plan: EvolutionPlan) -> None:
        raise_conflicts(table, [c for c in plan.conflicts if self._holds_values(table, c.column)])
        spec = self._latest_spec(table)
        if spec is not None:
            self._drop_latest_views(table)
        name = self._name(table)
        for column, logical in plan.add.items():
            self._execute(
                f"ALTER TABLE {name} ADD COLUMN {quote_ident(column)} {self.ddl_types[logical]}"
            )
        for column, logical in plan.widen.items():
            ddl, quoted = self.ddl_types[logical], quote_ident(column)
            self._execute(
                f"ALTER TABLE {name} ALTER COLUMN {quoted} TYPE {ddl} USING CAST({quoted} AS {ddl})"
            )
        for conflict in plan.conflicts:  # columns holding only NULLs: nothing to convert
            ddl, quoted = self.ddl_types[conflict.new_type], quote_ident(conflict.column)
            self._execute(
                f"ALTER TABLE {name} ALTER COLUMN {quoted} TYPE {ddl} USING CAST(NULL AS {ddl})"
            )
        if spec is not None:
            self._create_latest_view(table, spec)

    def _holds_values(self, table: TableRef, column: str) -> bool:
        """Does any row of ``table`` hold a non-NULL value in ``column``?"""
        rows = self._fetchall(
            f"SELECT 1 FROM {self._name(table)} WHERE {quote_ident(column)} IS NOT NULL LIMIT 1"
        )
        return bool(rows)

    # ----------------------------------------------------------------- latest views
    def ensure_latest_view(
        self,
        table: TableRef,
        key_columns: Sequence[str],
        order_column: str,
        exclude: Exclude | None = None,
    ) -> TableRef:
        """Create or replace ``<schema>.<name>_latest``: the row with the greatest
        ``order_column`` per key (DISTINCT ON; NULL orders last, ties pick any row), without the
        keys ``exclude`` lists while its table exists."""
        key = tuple(key_columns)
        if isinstance(key_columns, str) or not key:
            raise ValueError(f"{table}: latest view key_columns must be a non-empty list.")
        spec = LatestSpec(key, order_column, exclude)
        view = table.latest_view
        with self._transaction():
            self._lock(table)
            if self._require(table) != "table":
                raise WarehouseError(f"{table} is a view; a latest view needs a table.")
            self._check_columns(table, self._columns_of(table), [*key, order_column])
            if self._resolve(view) == "table":
                raise WarehouseError(
                    f"Cannot create the view {view}: a table of that name exists. Rename it."
                )
            self._register_latest(table, spec)
            self._drop_latest_views(table)
            self._create_latest_view(table, spec)
        return view

    def refresh_views_excluding(self, excluding: TableRef) -> list[TableRef]:
        """Recreate the latest views whose exclusion reads ``excluding`` (after it was written,
        or created): the views they are now."""
        if self._resolve(META) is None or "exclude_by" not in self._columns_of(META):
            return []
        rows = self._fetchall(
            f"SELECT table_schema, table_name, key_columns, order_column, exclude_by"
            f" FROM {self._name(META)} WHERE exclude_by IS NOT NULL"
        )
        refreshed = []
        for schema, name, key, order, exclude_by in rows:
            exclude = Exclude.from_json(exclude_by)
            if exclude is None or fold(str(exclude.table)) != fold(str(excluding)):
                continue
            table = TableRef(schema, name)
            with self._transaction():
                self._lock(table)
                if self._resolve(table) != "table":
                    continue
                self._drop_latest_views(table)
                self._create_latest_view(table, LatestSpec(tuple(json.loads(key)), order, exclude))
            refreshed.append(table.latest_view)
        return refreshed

    def _drop_latest_views(self, table: TableRef) -> None:
        self._execute(f"DROP VIEW IF EXISTS {self._name(excluded_view(table))}")
        self._execute(f"DROP VIEW IF EXISTS {self._name(table.latest_view)}")

    def _create_latest_view(self, table: TableRef, spec: LatestSpec) -> None:
        keys = ", ".join(quote_ident(column) for column in spec.key)
        hidden = self._exclusion(spec.exclude)
        where = f" WHERE NOT {hidden}" if hidden else ""
        self._execute(
            f"CREATE VIEW {self._name(table.latest_view)} AS SELECT DISTINCT ON ({keys}) *"
            f" FROM {self._name(table)} AS t{where}"
            f" ORDER BY {keys}, {quote_ident(spec.order)} DESC NULLS LAST"
        )
        if hidden:
            self._execute(
                f"CREATE VIEW {self._name(excluded_view(table))} AS SELECT *"
                f" FROM {self._name(table)} AS t WHERE {hidden}"
            )

    def _exclusion(self, exclude: Exclude | None) -> str | None:
        """``EXISTS (...)`` matching a row ``t`` to the excluding table; ``None`` while that
        table (or one of its columns) does not exist."""
        if exclude is None or self._resolve(exclude.table) is None:
            return None
        columns = {fold(c) for c in self._columns_of(exclude.table)}
        if not all(fold(theirs) in columns for _, theirs in exclude.on):
            return None
        match = " AND ".join(
            f"x.{quote_ident(theirs)} = t.{quote_ident(ours)}" for ours, theirs in exclude.on
        )
        return f"EXISTS (SELECT 1 FROM {self._name(exclude.table)} AS x WHERE {match})"

    def _register_latest(self, table: TableRef, spec: LatestSpec) -> None:
        self._lock(META)
        if self._resolve(META) is None:
            self._ensure_schema(META.schema)
            self._execute(
                f"CREATE TABLE IF NOT EXISTS {self._name(META)} (table_schema TEXT NOT NULL,"
                " table_name TEXT NOT NULL, key_columns TEXT NOT NULL, order_column TEXT NOT NULL)"
            )
        if "exclude_by" not in self._columns_of(META):  # registries made before exclusions
            self._execute(f"ALTER TABLE {self._name(META)} ADD COLUMN exclude_by TEXT")
        self._execute(
            f"DELETE FROM {self._name(META)} WHERE table_schema = $1 AND table_name = $2",
            [table.schema, table.name],
        )
        self._execute(
            f"INSERT INTO {self._name(META)} (table_schema, table_name, key_columns,"
            " order_column, exclude_by) VALUES ($1, $2, $3, $4, $5)",
            [
                table.schema,
                table.name,
                json.dumps(list(spec.key)),
                spec.order,
                spec.exclude.to_json() if spec.exclude else None,
            ],
        )

    def _latest_spec(self, table: TableRef) -> LatestSpec | None:
        if self._resolve(META) is None:
            return None
        exclude_by = "exclude_by" if "exclude_by" in self._columns_of(META) else "NULL"
        rows = self._fetchall(
            f"SELECT key_columns, order_column, {exclude_by} FROM {self._name(META)}"
            " WHERE table_schema = $1 AND table_name = $2",
            [table.schema, table.name],
        )
        if not rows:
            return None
        key, order, exclude = rows[0]
        return LatestSpec(tuple(json.loads(key)), order, Exclude.from_json(exclude))

    # ----------------------------------------------------------------- SQL helpers
    @staticmethod
    def _name(table: TableRef) -> str:
        return f"{quote_ident(table.schema)}.{quote_ident(table.name)}"

    @staticmethod
    def _predicate(window: Window | None, equals: Mapping[str, object], bind: Bind) -> str:
        parts: list[str] = []
        if window is not None:
            column = quote_ident(window.column)
            parts.append(f"{column} >= {bind(window.start_utc)}")
            parts.append(f"{column} < {bind(window.end_utc)}")
        for name, raw in equals.items():
            value = sql_value(raw)
            if value is None:
                parts.append(f"{quote_ident(name)} IS NULL")
            else:
                parts.append(f"{quote_ident(name)} = {bind(value)}")
        return " AND ".join(parts) if parts else "TRUE"

    def _where(self, window: Window | None, equals: Mapping[str, object], bind: Bind) -> str:
        if window is None and not equals:
            return ""
        return " WHERE " + self._predicate(window, equals, bind)

    @staticmethod
    def _check_columns(table: TableRef, existing: Mapping[str, str], wanted: Sequence[str]) -> None:
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return
        folded = {fold(name): name for name in existing}
        hints = [
            f"{name!r} (did you mean {folded[fold(name)]!r}?)"
            if fold(name) in folded
            else repr(name)
            for name in missing
        ]
        raise WarehouseError(
            f"{table} has no column {', '.join(hints)}. Its columns: {', '.join(existing)}."
        )


def param_binder(params: list[object]) -> Bind:
    def bind(value: object) -> str:
        params.append(value)
        return f"${len(params)}"

    return bind


def _slice_columns(window: Window | None, equals: Mapping[str, object] | None) -> list[str]:
    return ([window.column] if window is not None else []) + list(equals or {})


def _check_keys(only_keys: pl.DataFrame, frame: pl.DataFrame, table: TableRef) -> None:
    """Refuse ``only_keys`` that name no column, or columns the frame lacks, before writing."""
    columns = only_keys.columns
    if not columns:
        raise ValueError(f"Writing {table}: only_keys must have at least one key column.")
    missing = [c for c in columns if c not in frame.columns]
    if missing and frame.width:
        raise ValueError(f"Writing {table}: the frame lacks the key column(s) {missing}.")
    for name in columns:
        check_column_name(name)


def _key_set(only_keys: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """The keys whose stored rows a keyed replace deletes: the listed ones and the frame's own."""
    import polars as pl

    columns = only_keys.columns
    parts = [only_keys, frame.select(columns)] if frame.width else [only_keys]
    text = pl.concat([p.select(pl.col(columns).cast(pl.String).str.strip_chars()) for p in parts])
    # a blank key is a missing key: it names no stored row
    present = pl.all_horizontal(pl.col(columns).is_not_null() & (pl.col(columns) != ""))
    return text.filter(present).unique()


def _insert_frame(prepared: PreparedFrame, existing: Mapping[str, str]) -> pl.DataFrame:
    """All-null columns take the dtype of the table column they land in."""
    import polars as pl

    casts = [
        pl.col(name).cast(write_dtype(existing[name]))
        for name, logical in prepared.types.items()
        if logical == NULL
    ]
    return prepared.frame.with_columns(casts) if casts else prepared.frame


def utc_timestamps(frame: pl.DataFrame) -> pl.DataFrame:
    """Timestamps as ``Datetime("us", "UTC")``: naive values are UTC, aware ones converted."""
    import polars as pl

    casts: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            column = pl.col(name)
            column = (
                column.dt.replace_time_zone("UTC")
                if dtype.time_zone is None
                else column.dt.convert_time_zone("UTC")
            )
            casts.append(column.cast(pl.Datetime("us", "UTC")))
    return frame.with_columns(casts) if casts else frame
