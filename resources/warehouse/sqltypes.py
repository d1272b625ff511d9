"""Column types: Polars dtypes -> warehouse types, engine type names, and the widening table.

Each frame column gets one *logical* type; each engine spells it in its own DDL:

=============================  ===========  =========  ==================
Polars dtype                   logical      DuckDB     Postgres
=============================  ===========  =========  ==================
String, Categorical, Enum      TEXT         VARCHAR    TEXT
Int8..Int64, UInt8..UInt64     BIGINT       BIGINT     BIGINT
Float32, Float64               DOUBLE       DOUBLE     DOUBLE PRECISION
Boolean                        BOOLEAN      BOOLEAN    BOOLEAN
Date                           DATE         DATE       DATE
Datetime (any unit, any tz)    TIMESTAMP    TIMESTAMP  TIMESTAMP
List, Array, Struct            TEXT (JSON)  VARCHAR    TEXT
Null (all-null column)         NULL         VARCHAR when it creates a column, else any
=============================  ===========  =========  ==================

Decimal, Time, Duration, Binary and Object columns are refused with a message saying what to cast
them to. Table columns are reported (``engine.columns()``) with canonical names that are the same
on both engines: TEXT, BIGINT, INTEGER, SMALLINT, DOUBLE, REAL, BOOLEAN, DATE, TIMESTAMP,
TIMESTAMPTZ, NUMERIC(p,s), anything else upper-cased as the engine spells it.

Widening (table type x incoming logical type), used by schema evolution:

====================  ==========  ==========  =======  =========  =========  =====
table \\ incoming      BIGINT      DOUBLE      BOOLEAN  DATE       TIMESTAMP  TEXT
====================  ==========  ==========  =======  =========  =========  =====
TINYINT..INTEGER      -> BIGINT   -> DOUBLE   no       no         no         no
BIGINT                fits        -> DOUBLE   no       no         no         no
REAL                  -> DOUBLE   -> DOUBLE   no       no         no         no
DOUBLE                fits        fits        no       no         no         no
NUMERIC               fits        no          no       no         no         no
BOOLEAN               no          no          fits     no         no         no
DATE                  no          no          no       fits       -> TIMESTAMP no
TIMESTAMP(TZ)         no          no          no       fits       fits       no
TEXT                  no          no          no       no         no         fits
====================  ==========  ==========  =======  =========  =========  =====

"no" is never automatic (in particular nothing becomes TEXT by itself): the write fails, unless the
column holds only NULLs (see :mod:`resources.warehouse.evolution`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from resources.warehouse.errors import UnsupportedTypeError

if TYPE_CHECKING:
    import polars as pl

TEXT = "TEXT"
BIGINT = "BIGINT"
DOUBLE = "DOUBLE"
BOOLEAN = "BOOLEAN"
DATE = "DATE"
TIMESTAMP = "TIMESTAMP"
NULL = "NULL"  # an all-null frame column: fits any table type, creates TEXT

LOGICAL_TYPES = (TEXT, BIGINT, DOUBLE, BOOLEAN, DATE, TIMESTAMP)

# integer types that widen to BIGINT (every value fits); BIGINT and larger take BIGINT as is
_INTEGER_RANK = {
    "TINYINT": 1,
    "UTINYINT": 1,
    "SMALLINT": 2,
    "USMALLINT": 2,
    "INTEGER": 3,
    "UINTEGER": 3,
}
_SYNONYMS = {
    "VARCHAR": TEXT,
    "CHARACTER VARYING": TEXT,
    "STRING": TEXT,
    "BPCHAR": TEXT,
    "CHAR": TEXT,
    "CHARACTER": TEXT,
    "INT8": BIGINT,
    "LONG": BIGINT,
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "SIGNED": "INTEGER",
    "INT2": "SMALLINT",
    "SHORT": "SMALLINT",
    "INT1": "TINYINT",
    "DOUBLE PRECISION": DOUBLE,
    "FLOAT8": DOUBLE,
    "FLOAT4": "REAL",
    "FLOAT": "REAL",
    "BOOL": BOOLEAN,
    "LOGICAL": BOOLEAN,
    "TIMESTAMP WITHOUT TIME ZONE": TIMESTAMP,
    "DATETIME": TIMESTAMP,
    "TIMESTAMP_US": TIMESTAMP,
    "TIMESTAMP_MS": TIMESTAMP,
    "TIMESTAMP_NS": TIMESTAMP,
    "TIMESTAMP_S": TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
}
_MODIFIERS = re.compile(r"\s*\([^)]*\)")


def canonical_type(engine_type: str) -> str:
    """One spelling for a column type on both engines (``character varying(40)`` -> ``TEXT``)."""
    upper = " ".join(engine_type.strip().upper().split())
    if upper.startswith(("NUMERIC", "DECIMAL")):  # both words have 7 letters
        return "NUMERIC" + upper[7:].replace(" ", "")
    bare = _MODIFIERS.sub("", upper)
    return _SYNONYMS.get(bare, bare)


Verdict = Literal["fits", "widen", "conflict"]


@dataclass(frozen=True)
class Compatibility:
    verdict: Verdict
    new_type: str | None = None  # the logical type to ALTER the column to, for "widen"


def compatibility(table_type: str, incoming: str) -> Compatibility:
    """Can a column of canonical ``table_type`` take values of logical type ``incoming``?"""
    if incoming == NULL:
        return Compatibility("fits")
    family = _family(table_type)
    if incoming == BIGINT:
        if family == "integer":
            return (
                Compatibility("fits")
                if table_type not in _INTEGER_RANK
                else Compatibility("widen", BIGINT)
            )
        if family == "real":
            return Compatibility("widen", DOUBLE)
        if family in {"double", "numeric"}:
            return Compatibility("fits")
    if incoming == DOUBLE:
        if family == "double":
            return Compatibility("fits")
        if family in {"integer", "real"}:
            return Compatibility("widen", DOUBLE)
    if incoming == DATE and family in {"date", "timestamp"}:
        return Compatibility("fits")
    if incoming == TIMESTAMP:
        if family == "timestamp":
            return Compatibility("fits")
        if family == "date":
            return Compatibility("widen", TIMESTAMP)
    if incoming == BOOLEAN and family == "boolean":
        return Compatibility("fits")
    if incoming == TEXT and family == "text":
        return Compatibility("fits")
    return Compatibility("conflict")


def _family(table_type: str) -> str:
    if table_type in _INTEGER_RANK or table_type in {BIGINT, "UBIGINT", "HUGEINT", "UHUGEINT"}:
        return "integer"
    if table_type.startswith("NUMERIC"):
        return "numeric"
    return {
        DOUBLE: "double",
        "REAL": "real",
        BOOLEAN: "boolean",
        DATE: "date",
        TIMESTAMP: "timestamp",
        "TIMESTAMPTZ": "timestamp",
        TEXT: "text",
    }.get(table_type, "other")


def logical_type(dtype: pl.DataType, column: str) -> str:
    """The logical warehouse type of a Polars dtype (raises for dtypes without one)."""
    import polars as pl

    if dtype == pl.Null:
        return NULL
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return TEXT
    if dtype.is_integer():
        return BIGINT
    if dtype.is_float():
        return DOUBLE
    if dtype == pl.Boolean:
        return BOOLEAN
    if dtype == pl.Date:
        return DATE
    if isinstance(dtype, pl.Datetime):
        return TIMESTAMP
    if isinstance(dtype, pl.List | pl.Array | pl.Struct):
        return TEXT
    hint = {
        "Decimal": "Float64 (or String to keep every digit)",
        "Time": "String",
        "Duration": "Int64 (e.g. total seconds)",
        "Binary": "String (e.g. base64)",
    }.get(type(dtype).__name__, "a supported dtype")
    raise UnsupportedTypeError(
        f"Column {column!r} has Polars dtype {dtype}, which the warehouse does not store."
        f" Cast it to {hint} in the asset."
    )


def polars_dtype(table_type: str) -> pl.DataType:
    """The Polars dtype reads return for a canonical column type."""
    import polars as pl

    if table_type.startswith("NUMERIC"):
        match = re.fullmatch(r"NUMERIC\((\d+),(\d+)\)", table_type)
        if match:
            return pl.Decimal(int(match[1]), int(match[2]))
        return pl.Float64()
    return {
        TEXT: pl.String(),
        BIGINT: pl.Int64(),
        "INTEGER": pl.Int32(),
        "SMALLINT": pl.Int16(),
        "TINYINT": pl.Int8(),
        DOUBLE: pl.Float64(),
        "REAL": pl.Float32(),
        BOOLEAN: pl.Boolean(),
        DATE: pl.Date(),
        TIMESTAMP: pl.Datetime("us", "UTC"),
        "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
    }.get(table_type, pl.String())


def write_dtype(table_type: str) -> pl.DataType:
    """The dtype an all-null frame column is cast to before it is written into ``table_type``."""
    import polars as pl

    dtype = polars_dtype(table_type)
    if isinstance(dtype, pl.Datetime):
        return pl.Datetime("us")
    if isinstance(dtype, pl.Decimal):
        return pl.Float64()
    return dtype
