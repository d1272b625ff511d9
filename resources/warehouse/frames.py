"""Frames on their way in: dtype normalisation and the check that rows belong to their slice.

:func:`prepare_frame` turns any supported Polars frame into the exact shape both engines write:

- tz-aware datetimes are converted to UTC and lose their zone; naive ones are taken as UTC
  already; all are cast to microseconds (TIMESTAMP holds microseconds);
- every integer becomes Int64 (UInt64/Int128 values beyond its range are refused), every float
  Float64, Categorical/Enum String, and List/Array/Struct their JSON text;
- all-null (``pl.Null``) columns are kept as such (they fit any existing column type);
- strings containing NUL are refused when written (:func:`refuse_nul`, called by the engines:
  Postgres cannot store them; DuckDB would, so both refuse);
- ``equals`` columns absent from the frame are added with their constant value, so the rows land
  inside the slice they replace.

:func:`check_slice` refuses a frame with rows outside its slice (a window column null or outside
``[start, end)``, an ``equals`` column with another value): such rows would not be removed by a
re-run of the same slice and would pile up as duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from resources.warehouse.errors import SliceMismatchError, UnsupportedTypeError, WarehouseError
from resources.warehouse.identifiers import check_column_name, check_no_case_collisions
from resources.warehouse.refs import TableRef, Window, sql_value
from resources.warehouse.sqltypes import (
    BIGINT,
    DATE,
    DOUBLE,
    NULL,
    TEXT,
    TIMESTAMP,
    logical_type,
)

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


@dataclass(frozen=True)
class PreparedFrame:
    """A frame ready to write, with the logical warehouse type of each column."""

    frame: pl.DataFrame
    types: dict[str, str]


def prepare_frame(
    frame: pl.DataFrame, table: TableRef, *, equals: Mapping[str, object] | None = None
) -> PreparedFrame:
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(
            f"Writing {table}: expected a polars DataFrame, got {type(frame).__name__}."
        )
    for name in frame.columns:
        check_column_name(name)
    frame = _add_constant_columns(frame, equals or {})
    check_no_case_collisions(frame.columns, str(table))
    types: dict[str, str] = {}
    columns: list[pl.Series] = []
    for series in frame.get_columns():
        logical = logical_type(series.dtype, series.name)
        converted = _convert(series, logical, table)
        types[series.name] = logical
        columns.append(converted)
    return PreparedFrame(pl.DataFrame(columns, schema=None), types)


def refuse_nul(frame: pl.DataFrame, table: TableRef, *, arrow: pa.Table | None = None) -> None:
    """Raise if a text value holds a NUL character (engines call it on the frame they write).

    Each column is joined into one string and searched once (a search per value costs several
    times more), all columns in one parallel pass. With ``arrow`` (the same rows as Arrow, which
    the DuckDB engine builds anyway) each column's value bytes are searched in place first, and
    only a column where that finds a NUL byte is checked exactly.
    """
    import polars as pl

    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if arrow is not None:
        text = [name for name in text if _arrow_may_hold_nul(arrow.column(name))]
    if not text or not frame.height:
        return
    found = frame.select(pl.col(text).str.join("").str.contains("\x00", literal=True))
    for name, has_nul in found.row(0, named=True).items():
        if has_nul:
            raise WarehouseError(
                f"{table}.{name}: a value contains a NUL character, which Postgres"
                " cannot store. Strip it in the asset (str.replace_all('\\x00', ''))."
            )


_NUL = re.compile(b"\x00")


def _arrow_may_hold_nul(column: pa.ChunkedArray) -> bool:
    """False when no value byte of a (large_)string column is NUL; True when one may be."""
    import pyarrow as pa

    for chunk in column.chunks:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return True  # another layout: let the exact check decide
        _, offsets, data = chunk.buffers()
        if data is None or offsets is None or len(chunk) == 0:
            continue
        width = 8 if pa.types.is_large_string(chunk.type) else 4
        raw = memoryview(offsets)
        ends = raw[: len(raw) - len(raw) % width].cast("q" if width == 8 else "i")
        first, last = ends[chunk.offset], ends[chunk.offset + len(chunk)]
        if _NUL.search(memoryview(data)[first:last]):
            return True
    return False


def _add_constant_columns(frame: pl.DataFrame, equals: Mapping[str, object]) -> pl.DataFrame:
    import polars as pl

    missing = [name for name in equals if name not in frame.columns]
    if not missing:
        return frame
    additions: list[pl.Series] = []
    for name in missing:
        check_column_name(name)
        value = sql_value(equals[name])
        original = equals[name]
        if isinstance(original, datetime):
            series = pl.Series(name, [original] * frame.height, dtype=pl.Datetime("us", "UTC"))
        elif value is None:
            series = pl.Series(name, [None] * frame.height, dtype=pl.Null)
        else:
            series = pl.Series(name, [value] * frame.height)
        additions.append(series)
    return frame.with_columns(additions)


def _convert(series: pl.Series, logical: str, table: TableRef) -> pl.Series:
    import polars as pl

    dtype = series.dtype
    if logical == TIMESTAMP:
        assert isinstance(dtype, pl.Datetime)
        if dtype.time_zone is not None:
            series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return series.cast(pl.Datetime("us"))
    if logical == BIGINT:
        if dtype == pl.Int64:
            return series
        try:
            return series.cast(pl.Int64, strict=True)
        except pl.exceptions.InvalidOperationError as error:
            raise UnsupportedTypeError(
                f"{table}.{series.name}: {dtype} values do not fit BIGINT (64-bit signed)."
                " Cast the column to Float64 or String in the asset."
            ) from error
    if logical == DOUBLE:
        return series.cast(pl.Float64)
    if logical == TEXT:
        if isinstance(dtype, pl.List | pl.Array | pl.Struct):
            series = _json_text(series)
        elif dtype != pl.String:
            series = series.cast(pl.String)
        return series  # NUL characters are refused by the engine, see refuse_nul
    return series  # BOOLEAN, DATE, NULL keep their dtype


def _json_text(series: pl.Series) -> pl.Series:
    import polars as pl

    wrapped = pl.struct(pl.col(series.name).alias("v")).struct.json_encode()  # {"v":<json>}
    body = wrapped.str.slice(5, wrapped.str.len_chars() - 6)
    frame = series.to_frame()
    return frame.select(
        pl.when(pl.col(series.name).is_not_null()).then(body).otherwise(None).alias(series.name)
    ).to_series()


def check_slice(
    prepared: PreparedFrame,
    table: TableRef,
    *,
    window: Window | None,
    equals: Mapping[str, object] | None,
) -> None:
    """Raise :class:`SliceMismatchError` if a row of the frame lies outside its slice."""
    import polars as pl

    frame = prepared.frame
    if frame.width == 0 or frame.height == 0:
        return
    if window is not None:
        _check_window(prepared, table, window)
    for name, raw in (equals or {}).items():
        value = sql_value(raw)
        column = pl.col(name)
        inside = column.is_null() if value is None else (column == value).fill_null(False)
        outside = frame.filter(~inside)
        if outside.height:
            example = outside.get_column(name)[0]
            raise SliceMismatchError(
                f"Writing {table}: {outside.height} of {frame.height} rows have {name}"
                f" = {example!r}, not {value!r}; they would not be replaced on a re-run. Filter"
                " the frame to the slice."
            )


def _check_window(prepared: PreparedFrame, table: TableRef, window: Window) -> None:
    import polars as pl

    frame = prepared.frame
    logical = prepared.types.get(window.column)
    if logical is None:
        raise SliceMismatchError(
            f"Writing {table}: the frame has no column {window.column!r} to place its rows in the"
            f" window {window}. Columns: {', '.join(frame.columns)}."
        )
    if logical not in {TIMESTAMP, DATE, NULL}:
        raise SliceMismatchError(
            f"Writing {table}: the window column {window.column!r} must be a Datetime or Date,"
            f" it is {frame.schema[window.column]}."
        )
    column = pl.col(window.column)
    if logical == DATE:
        column = column.cast(pl.Datetime("us"))
    inside = ((column >= window.start_utc) & (column < window.end_utc)).fill_null(False)
    outside = frame.filter(~inside)
    if outside.height:
        example = outside.get_column(window.column)[0]
        shown = example.isoformat() if isinstance(example, date | datetime) else repr(example)
        raise SliceMismatchError(
            f"Writing {table}: {outside.height} of {frame.height} rows have {window.column}"
            f" outside the window [{window.start_utc.isoformat()}, {window.end_utc.isoformat()})"
            f" UTC (e.g. {shown}); they would not be replaced on a re-run. Filter the frame to"
            " the window, or check the asset's partition_expr."
        )
