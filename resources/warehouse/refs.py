"""Value objects that name what to touch: :class:`TableRef` (a table) and :class:`Window` (a slice).

``TableRef("gainsight", "activities")`` is the table ``"gainsight"."activities"``; names are kept
exactly as given (see :mod:`resources.warehouse.identifiers` for the rules they must follow).

``Window(column, start, end)`` is the half-open interval ``start <= column < end``. Both ends must
be time-zone aware; SQL receives them as naive UTC, which is how every timestamp is stored, so the
filter means the same thing whatever the host's or the session's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from resources.warehouse.identifiers import check_column_name, check_identifier

DEFAULT_SCHEMA = "public"


class TimeBounds(Protocol):
    """Anything with aware ``start`` and ``end`` datetimes, such as Dagster's ``TimeWindow``."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


@dataclass(frozen=True)
class TableRef:
    schema: str
    name: str

    def __post_init__(self) -> None:
        check_identifier(self.schema, "schema name")
        check_identifier(self.name, "table name")

    @classmethod
    def parse(cls, dotted: str) -> TableRef:
        """``schema.table``; either part may be double-quoted (``"my.schema"."a""b"``)."""
        parts = _split_dotted(dotted)
        if len(parts) != 2:
            raise ValueError(
                f"Expected a table as schema.table (quote a part that contains a dot), got"
                f" {dotted!r}."
            )
        return cls(parts[0], parts[1])

    @classmethod
    def from_asset_key(cls, path: Sequence[str] | object) -> TableRef:
        """The table for an asset key: its last two components are ``[schema, table]``.

        A one-component key goes to schema ``public`` (on DuckDB too, so both engines agree).
        Longer keys keep only the last two components: ``["crm", "gainsight", "activities"]`` is
        ``gainsight.activities``.
        """
        components = list(getattr(path, "path", path))  # an AssetKey or a list of strings
        if not components:
            raise ValueError("An empty asset key names no table.")
        if len(components) == 1:
            return cls(DEFAULT_SCHEMA, components[0])
        return cls(components[-2], components[-1])

    @property
    def latest_view(self) -> TableRef:
        return TableRef(self.schema, f"{self.name}_latest")

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Window:
    """Rows with ``start <= column < end``; ``start`` and ``end`` are time-zone aware."""

    column: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        check_column_name(self.column)
        for label, value in (("start", self.start), ("end", self.end)):
            if not isinstance(value, datetime):
                raise TypeError(f"Window {label} must be a datetime, got {value!r}.")
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(
                    f"Window {label} {value.isoformat()} has no time zone; pass an aware datetime"
                    " (e.g. datetime(..., tzinfo=UTC)) so the window cannot shift with the host's"
                    " time zone."
                )
        if not self.start < self.end:
            raise ValueError(f"Window start {self.start} must be before its end {self.end}.")

    @classmethod
    def from_time_window(cls, column: str, time_window: TimeBounds) -> Window:
        """From a Dagster ``TimeWindow`` (anything with ``start`` and ``end``)."""
        return cls(column, time_window.start, time_window.end)

    @property
    def start_utc(self) -> datetime:
        """``start`` as a naive UTC datetime, the form bound to SQL."""
        return naive_utc(self.start)

    @property
    def end_utc(self) -> datetime:
        return naive_utc(self.end)

    def __str__(self) -> str:
        return f"{self.column} in [{self.start.isoformat()}, {self.end.isoformat()})"


def naive_utc(value: datetime) -> datetime:
    """An aware datetime converted to UTC without its tzinfo (naive input is returned as is)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def sql_value(value: object) -> object:
    """A Python value ready to bind: aware datetimes become naive UTC; naive ones are refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"The datetime {value.isoformat()} has no time zone; pass an aware datetime."
            )
        return naive_utc(value)
    if value is None or isinstance(value, str | bool | int | float | date):
        return value
    raise TypeError(
        f"Cannot compare a column with {value!r} ({type(value).__name__}); use a str, int,"
        " float, bool, date, aware datetime or None."
    )


def _split_dotted(text: str) -> list[str]:
    parts: list[str] = []
    i, n = 0, len(text)
    while i <= n:
        if i < n and text[i] == '"':
            j, buf = i + 1, []
            while True:
                k = text.find('"', j)
                if k < 0:
                    raise ValueError(f"Unbalanced double quote in {text!r}.")
                buf.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':
                    buf.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            parts.append("".join(buf))
        else:
            k = text.find(".", i)
            k = n if k < 0 else k
            parts.append(text[i:k].strip())
            i = k
        if i >= n:
            break
        if text[i] != ".":
            raise ValueError(f"Expected '.' after a quoted name in {text!r}.")
        i += 1
    return parts
