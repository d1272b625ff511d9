"""Turn a page of Gainsight records into a typed Polars frame.

Gainsight returns dates as epoch milliseconds in some tenants and ISO-8601 strings in others
(``Z``, ``+hh:mm``, ``+hhmm``, date-only, and the legacy ``MM-dd-yyyy``), numbers sometimes as
strings, and booleans as JSON booleans or ``"true"``. Every page is built the same way so that the
frames of one query share one schema: each selected field gets the dtype its describe ``dataType``
implies, and every date becomes a UTC ``Datetime``.
"""

from __future__ import annotations

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
    typed = raw.select(_typed(name, dtype, raw.schema[name]) for name, dtype in schema.items())
    _ensure_nothing_lost(raw, typed, object_name)
    return typed


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


def _typed(name: str, dtype: pl.DataType, raw_dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
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
        if dtype == pl.String():
            continue
        sample = raw[name].filter(raw[name].is_not_null() & typed[name].is_null()).head(3)
        if len(sample):
            raise UnparseableValues(
                f"{object_name}.{name}: values {sample.to_list()!r} do not fit its Gainsight type "
                f"({dtype}). Check the field's dataType in describe, or leave it out of the sync."
            )
