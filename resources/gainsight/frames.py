"""Turn a page of Gainsight records into a typed Polars frame.

Gainsight returns dates as epoch milliseconds in some tenants and ISO-8601 strings in others
(``Z``, ``+hh:mm``, ``+hhmm``, date-only, and the legacy ``MM-dd-yyyy``), numbers sometimes as
strings, and booleans as JSON booleans or ``"true"``. Every page is built the same way so that the
frames of one query share one schema: each selected field gets the dtype its describe ``dataType``
implies, and every date becomes a UTC ``Datetime``.

``json_page_frame`` is the fast path for the common answer (``result: true`` and a list of flat
records): Polars reads the body straight into columns, outside the GIL, without building a Python
object per value. Anything else (nested values, other-case keys, error or empty envelopes) returns
``None`` and takes the general path, ``records_to_frame``, which keeps every rule above.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from resources.gainsight.metadata import BOOLEAN_TYPES, DATE_TYPES, DATETIME_TYPES, NUMBER_TYPES

UTC_DATETIME = pl.Datetime("us", "UTC")

_ISO_WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%.f%z"
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%m-%d-%Y")


class UnparseableValues(ValueError):
    """A column held values that do not fit the field's Gainsight dataType."""


def polars_dtype(gainsight_type: str | None) -> pl.DataType:
    kind = (gainsight_type or "STRING").upper()
    if kind in NUMBER_TYPES:
        return pl.Float64()
    if kind in BOOLEAN_TYPES:
        return pl.Boolean()
    if kind in DATE_TYPES | DATETIME_TYPES:
        return UTC_DATETIME
    return pl.String()


def frame_schema(select: Sequence[str], field_types: Mapping[str, str]) -> pl.Schema:
    """The frame schema of a query: each selected key, typed by describe (case-insensitive)."""
    folded = {name.casefold(): kind for name, kind in field_types.items()}
    return pl.Schema({key: polars_dtype(folded.get(key.casefold())) for key in select})


def records_to_frame(
    records: list[dict[str, Any]], schema: pl.Schema, *, object_name: str
) -> pl.DataFrame:
    """Build one page. Raises ``UnparseableValues`` naming the field and a sample bad value.

    Keys are the select strings verbatim; a tenant that answers with another case
    (``gsid`` for ``Gsid``) is matched case-insensitively instead of read as nulls.
    """
    keys = _answered_keys(records, schema)
    if keys != list(schema):
        frame = records_to_frame(
            records, pl.Schema(zip(keys, schema.values(), strict=True)), object_name=object_name
        )
        return frame.rename(dict(zip(keys, schema, strict=True)))
    raw_schema = {
        name: (pl.Float64() if dtype == pl.Float64 else pl.String())
        for name, dtype in schema.items()
    }
    try:
        raw = pl.DataFrame(records, schema=raw_schema, strict=False, orient="row")
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        # Nested values (JSON fields, lookups answered as objects) or numbers sent as text:
        # serialise them and let the typed conversion below report what does not fit.
        raw = pl.DataFrame(
            [_flatten(record, schema) for record in records],
            schema=dict.fromkeys(schema, pl.String()),
            orient="row",
        )
    return typed_frame(raw, schema, object_name=object_name)


def _bare_list(content: bytes) -> bool:
    """Whether the first ``"data"`` key holds a list (a guess: only the order of tries)."""
    at = content.find(b'"data"')
    return at >= 0 and content[at + 6 : at + 64].lstrip(b" \t\r\n:")[:1] == b"["


def json_page_frame(content: bytes, schema: pl.Schema, *, object_name: str) -> pl.DataFrame | None:
    """A typed page read by Polars from a ``result: true`` query answer, else ``None``.

    ``None`` (take the general path) unless every selected key occurs in the body verbatim, the
    envelope has no ``errorCode``, and ``data.records`` (or a bare ``data`` list) is a non-empty
    list of flat objects. Values are read as text, as the general path reads them (a JSON
    number as its shortest text), then typed the same way.
    """
    if not all(json.dumps(name, ensure_ascii=False).encode() + b":" in content for name in schema):
        return None  # keys in another case, or absent: the general path matches them
    record = pl.Struct({name: pl.String() for name in schema})
    shapes = [pl.Struct({"records": pl.List(record)}), pl.List(record)]
    if _bare_list(content):
        shapes.reverse()
    for shape in shapes:
        try:
            envelope = pl.read_json(
                io.BytesIO(content),
                schema={"result": pl.Boolean(), "errorCode": pl.String(), "data": shape},
            )
        except (pl.exceptions.PolarsError, ValueError):
            continue
        if envelope.height != 1:
            return None
        records = pl.col("data")
        if isinstance(shape, pl.Struct):
            records = records.struct.field("records")
        result, error_code, count = envelope.select("result", "errorCode", records.list.len()).row(
            0
        )
        if result is False or error_code is not None or not count:
            return None  # an error, no rows, or "data": null / {} / "records": null
        raw = envelope.select(records.alias("records")).explode("records").unnest("records")
        return typed_frame(raw, schema, object_name=object_name)
    return None


def typed_frame(raw: pl.DataFrame, schema: pl.Schema, *, object_name: str) -> pl.DataFrame:
    """Raw columns (text, or Float64 for numbers) in the query's schema, checked for losses."""
    epochs = _epoch_columns(raw, schema)
    typed = raw.select(
        _typed(name, dtype, raw.schema[name], epoch=name in epochs)
        for name, dtype in schema.items()
    )
    _ensure_nothing_lost(raw, typed, object_name)
    return typed


def _epoch_columns(raw: pl.DataFrame, schema: pl.Schema) -> set[str]:
    """Date columns whose every value is whole epoch milliseconds (the common case), which
    convert directly instead of trying every date format on every value."""
    dates = [n for n, dtype in schema.items() if dtype == UTC_DATETIME and raw.height]
    if not dates:
        return set()
    checks = raw.select(
        (_as_epoch_ms(pl.col(n), raw.schema[n]).null_count() == pl.col(n).null_count()).alias(n)
        for n in dates
    )
    return {name for name, whole in checks.row(0, named=True).items() if whole}


def _as_epoch_ms(col: pl.Expr, raw_dtype: pl.DataType) -> pl.Expr:
    if raw_dtype.is_integer():
        return col.cast(pl.Int64)
    return col.cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False)


def _answered_keys(records: list[dict[str, Any]], schema: pl.Schema) -> list[str]:
    """The record key carrying each selected field (looked up in the first record only)."""
    first = records[0] if records else {}
    if all(name in first for name in schema):
        return list(schema)
    folded = {key.casefold(): key for key in first}
    return [name if name in first else folded.get(name.casefold(), name) for name in schema]


def _flatten(record: dict[str, Any], schema: pl.Schema) -> list[str | None]:
    def text(value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value, sort_keys=True)
        return str(value)

    return [text(record.get(name)) for name in schema]


def _typed(
    name: str, dtype: pl.DataType, raw_dtype: pl.DataType, *, epoch: bool = False
) -> pl.Expr:
    col = pl.col(name)
    if dtype == UTC_DATETIME and epoch:
        return (
            pl.from_epoch(_as_epoch_ms(col, raw_dtype), time_unit="ms")
            .dt.cast_time_unit("us")
            .dt.replace_time_zone("UTC")
            .alias(name)
        )
    if dtype == UTC_DATETIME:
        return parse_utc_datetime(col).alias(name)
    if dtype == pl.Float64:
        return (col if raw_dtype == pl.Float64 else col.cast(pl.Float64, strict=False)).alias(name)
    if dtype == pl.Boolean:
        lowered = col.str.strip_chars().str.to_lowercase()
        return (
            pl.when(lowered.is_in(["true", "1", "yes"]))
            .then(True)
            .when(lowered.is_in(["false", "0", "no"]))
            .then(False)
            .otherwise(None)
            .alias(name)
        )
    return col.alias(name)


def parse_utc_datetime(col: pl.Expr) -> pl.Expr:
    """Epoch milliseconds or any ISO-ish string → ``Datetime('us', 'UTC')``; zone-less means UTC."""
    text = col.cast(pl.String).str.strip_chars()
    iso = text.str.replace(r"Z$", "+00:00")
    epoch_ms = text.cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
    candidates = [
        pl.from_epoch(epoch_ms, time_unit="ms").dt.cast_time_unit("us").dt.replace_time_zone("UTC"),
        iso.str.to_datetime(_ISO_WITH_OFFSET, strict=False, time_unit="us").dt.convert_time_zone(
            "UTC"
        ),
    ]
    candidates += [
        iso.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        for fmt in _NAIVE_FORMATS
    ]
    candidates += [
        iso.str.to_date(fmt, strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        for fmt in _DATE_FORMATS
    ]
    return pl.coalesce(candidates)


def _ensure_nothing_lost(raw: pl.DataFrame, typed: pl.DataFrame, object_name: str) -> None:
    """Fail when a non-null value became null in conversion: data would silently be lost."""
    for name, dtype in typed.schema.items():
        if dtype == pl.String() or typed[name].null_count() == raw[name].null_count():
            continue  # a raw null stays null, so equal counts mean no value was lost
        sample = raw[name].filter(raw[name].is_not_null() & typed[name].is_null()).head(3)
        if len(sample):
            raise UnparseableValues(
                f"{object_name}.{name}: values {sample.to_list()!r} do not fit its Gainsight type "
                f"({dtype}). Check the field's dataType in describe, or leave it out of the sync."
            )
