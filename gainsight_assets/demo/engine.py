"""The demo tenant's object-query engine: a Gainsight query body evaluated with Polars.

``POST /v1/data/objects/query/{object}`` takes ``select``, an optional ``where`` (conditions
joined by an ``A AND (B OR C)`` expression), an optional ``orderBy`` and ``limit``/``offset``.
Field names match case-insensitively; record keys are the ``select`` strings verbatim. The rows a
``where``/``orderBy`` pair selects are cached (as row numbers, in a small LRU) so that paging
through a large result only slices, gathers and serialises one page each call.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from gainsight_assets.demo.generator import DemoDataset

MAX_LIMIT = 5000
DEFAULT_LIMIT = 100
DATE_FORMATS = ("epoch", "iso")
ISO_DATETIME = "%Y-%m-%dT%H:%M:%S.%3fZ"
ISO_DATE = "%Y-%m-%d"
NUMBER_TYPES = frozenset({"NUMBER", "CURRENCY", "PERCENTAGE"})
_NO_VALUE_OPERATORS = frozenset({"IS_NULL", "IS_NOT_NULL"})
_TEXT_OPERATORS = frozenset({"CONTAINS", "STARTS_WITH", "ENDS_WITH"})
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


class QueryError(Exception):
    """A request Gainsight would refuse: HTTP status, errorCode and errorDesc."""

    def __init__(self, status: int, error_code: str, error_desc: str) -> None:
        super().__init__(error_desc)
        self.status = status
        self.error_code = error_code
        self.error_desc = error_desc


def _invalid(desc: str) -> QueryError:
    return QueryError(400, "GSOBJ_1008", desc)


@dataclass(frozen=True)
class Page:
    """One page of records as a JSON array (bytes), and how many records it holds."""

    records_json: bytes
    count: int


@dataclass(frozen=True)
class QueryRequest:
    select: list[str]
    where: dict[str, Any] | None
    order_by: list[tuple[str, str]]
    limit: int
    offset: int

    @classmethod
    def parse(cls, body: Any) -> QueryRequest:
        if not isinstance(body, dict):
            raise _invalid("Request body must be a JSON object")
        select = body.get("select")
        if (
            not isinstance(select, list)
            or not select
            or not all(isinstance(s, str) for s in select)
        ):
            raise _invalid("select must be a non-empty list of field names")
        where = body.get("where")
        if where is not None and not isinstance(where, dict):
            raise _invalid("where must be an object with conditions and expression")
        order_by = body.get("orderBy") or {}
        if not isinstance(order_by, dict):
            raise _invalid("orderBy must be an object of field: asc|desc")
        limit = _whole(body.get("limit", DEFAULT_LIMIT), "limit")
        offset = _whole(body.get("offset", 0), "offset")
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        if offset < 0:
            raise _invalid(f"offset must be 0 or more, got {offset}")
        return cls(
            select=list(dict.fromkeys(select)),
            where=where or None,
            order_by=[(str(k), str(v)) for k, v in order_by.items()],
            limit=limit,
            offset=offset,
        )


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid(f"{name} must be a whole number")
    try:
        number = float(value)
    except ValueError:
        raise _invalid(f"{name} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise _invalid(f"{name} must be a whole number, got {value!r}")
    return int(number)


# -- filter values ------------------------------------------------------------------------------


def parse_date_value(value: Any) -> int | None:
    """A filter value as epoch milliseconds (UTC); ``None`` when it is not a date.

    Accepts epoch milliseconds (number or digits), ISO-8601 with ``Z`` or an offset, with or
    without fractions, ``yyyy-MM-dd``, ``yyyy-MM-dd HH:mm:ss`` and the legacy ``MM-dd-yyyy``.
    Zone-less values are UTC.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"-?\d{9,}", text):
        return int(text)
    if re.fullmatch(r"\d{2}-\d{2}-\d{4}", text):
        text = f"{text[6:]}-{text[:2]}-{text[3:5]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return round(parsed.timestamp() * 1000)


class _ObjectView:
    """One object's frame with what queries need: case-insensitive fields and their types."""

    def __init__(self, name: str, frame: pl.DataFrame, describe: dict[str, Any]) -> None:
        self.name = name
        self.frame = frame
        self.types = {f["fieldName"]: f["dataType"].upper() for f in describe["fields"]}
        self._folded = {column.casefold(): column for column in frame.columns}
        self.picklists = {
            f["fieldName"]: {o["label"].casefold(): o["value"] for o in f.get("options", [])}
            for f in describe["fields"]
            if f.get("options")
        }

    def column(self, field: Any) -> str:
        column = self._folded.get(str(field).casefold())
        if column is None:
            raise QueryError(400, "GSOBJ_1002", f"Invalid field: {field}")
        return column

    def is_date(self, column: str) -> bool:
        return self.types.get(column) in {"DATE", "DATETIME"}

    def convert(self, column: str, value: Any) -> Any:
        """A filter value in the column's storage type, or a GSOBJ_1005/1006/1008 error."""
        if value is None:
            return None
        kind = self.types.get(column, "STRING")
        if kind in {"DATE", "DATETIME"}:
            millis = parse_date_value(value)
            if millis is None:
                code, what = (
                    ("GSOBJ_1006", "Date") if kind == "DATE" else ("GSOBJ_1005", "DateTime")
                )
                raise QueryError(400, code, f"Invalid {what} format ({column}= {value})")
            return millis
        if kind in NUMBER_TYPES:
            try:
                return float(value)
            except (TypeError, ValueError):
                raise _invalid(f"Invalid number ({column}= {value})") from None
        if kind == "BOOLEAN":
            return value if isinstance(value, bool) else str(value).strip().lower() == "true"
        text = str(value)
        return self.picklists.get(column, {}).get(text.casefold(), text)


# -- where --------------------------------------------------------------------------------------


def _condition(view: _ObjectView, condition: Any) -> pl.Expr:
    if not isinstance(condition, dict):
        raise _invalid("each where condition must be an object")
    column = view.column(condition.get("name"))
    operator = str(condition.get("operator", "")).upper()
    raw = condition.get("value", [])
    values = [view.convert(column, v) for v in (raw if isinstance(raw, list) else [raw])]
    col = pl.col(column)
    if operator in _NO_VALUE_OPERATORS:
        return col.is_null() if operator == "IS_NULL" else col.is_not_null()
    if not values:
        raise _invalid(f"operator {operator or '(none)'} on {column} needs a value")
    if operator in _TEXT_OPERATORS:
        return _text_match(col, operator, values)
    build = _COMPARISONS.get(operator)
    if build is None:
        raise _invalid(f"Invalid operator: {operator or '(none)'}")
    if operator == "BTW" and len(values) != 2:
        raise _invalid(f"operator BTW on {column} needs exactly two values")
    return build(col, values)


def _text_match(col: pl.Expr, operator: str, values: list[Any]) -> pl.Expr:
    """CONTAINS / STARTS_WITH / ENDS_WITH, case-insensitive, any of the values."""
    text = col.cast(pl.String).str.to_lowercase()
    matches = []
    for value in values:
        needle = str(value).lower()
        if operator == "CONTAINS":
            matches.append(text.str.contains(needle, literal=True))
        elif operator == "STARTS_WITH":
            matches.append(text.str.starts_with(needle))
        else:
            matches.append(text.str.ends_with(needle))
    return pl.any_horizontal(matches).fill_null(False)


_COMPARISONS: dict[str, Callable[[pl.Expr, list[Any]], pl.Expr]] = {
    "EQ": lambda c, v: c == v[0] if len(v) == 1 else c.is_in(v),
    "NE": lambda c, v: c.ne_missing(v[0]) if len(v) == 1 else ~c.is_in(v).fill_null(False),
    "GT": lambda c, v: c > v[0],
    "GTE": lambda c, v: c >= v[0],
    "LT": lambda c, v: c < v[0],
    "LTE": lambda c, v: c <= v[0],
    "IN": lambda c, v: c.is_in(v),
    "NOT_IN": lambda c, v: ~c.is_in(v).fill_null(False),
    "BTW": lambda c, v: c.is_between(v[0], v[1], closed="both"),
}


class _ExpressionParser:
    """``A AND (B OR C)`` over condition aliases; AND binds tighter than OR."""

    def __init__(self, text: str, terms: dict[str, pl.Expr]) -> None:
        self.text = text
        self.tokens = _TOKEN.findall(text)
        self.position = 0
        self.terms = terms
        self.folded = {alias.casefold(): expr for alias, expr in terms.items()}

    def parse(self) -> pl.Expr:
        expr = self._disjunction()
        if self.position != len(self.tokens):
            raise self._error(f"unexpected '{self.tokens[self.position]}'")
        return expr

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise self._error("it ends too early")
        self.position += 1
        return token

    def _disjunction(self) -> pl.Expr:
        expr = self._conjunction()
        while (self._peek() or "").upper() == "OR":
            self._take()
            expr = expr | self._conjunction()
        return expr

    def _conjunction(self) -> pl.Expr:
        expr = self._atom()
        while (self._peek() or "").upper() == "AND":
            self._take()
            expr = expr & self._atom()
        return expr

    def _atom(self) -> pl.Expr:
        token = self._take()
        if token == "(":
            expr = self._disjunction()
            if self._take() != ")":
                raise self._error("a parenthesis is not closed")
            return expr
        term = self.terms.get(token, self.folded.get(token.casefold()))
        if term is None:
            raise self._error(f"'{token}' is not the alias of a condition")
        return term

    def _error(self, why: str) -> QueryError:
        return _invalid(f"Invalid where expression '{self.text}': {why}")


def compile_where(view: _ObjectView, where: dict[str, Any] | None) -> pl.Expr | None:
    """The Polars filter of a Gainsight ``where``; ``None`` when it has no conditions."""
    if not where:
        return None
    conditions = where.get("conditions") or []
    if not isinstance(conditions, list):
        raise _invalid("where.conditions must be a list")
    if not conditions:
        return None
    terms: dict[str, pl.Expr] = {}
    for number, condition in enumerate(conditions):
        alias = str(condition.get("alias") or number) if isinstance(condition, dict) else ""
        terms[alias] = _condition(view, condition)
    expression = where.get("expression")
    if not expression or not str(expression).strip():
        combined = pl.all_horizontal(list(terms.values()))
    else:
        combined = _ExpressionParser(str(expression), terms).parse()
    return combined.fill_null(False)


def compile_order(view: _ObjectView, order_by: list[tuple[str, str]]) -> list[tuple[str, bool]]:
    """(column, descending) pairs; Gainsight's direction words are asc and desc."""
    order = []
    for field, direction in order_by:
        word = direction.strip().lower()
        if word not in {"asc", "desc"}:
            raise _invalid(f"orderBy direction for {field} must be asc or desc, got {direction!r}")
        order.append((view.column(field), word == "desc"))
    return order


# -- the engine ---------------------------------------------------------------------------------


class _ResultCache:
    """Least-recently-used query results, bounded by count and by estimated bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, pl.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> pl.DataFrame | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, frame: pl.DataFrame) -> None:
        with self._lock:
            self._items[key] = frame
            self._items.move_to_end(key)
            while len(self._items) > 1 and (
                len(self._items) > self.max_entries or self._bytes() > self.max_bytes
            ):
                self._items.popitem(last=False)

    def _bytes(self) -> int:
        return sum(int(frame.estimated_size()) for frame in self._items.values())


class QueryEngine:
    """Runs query bodies over a ``DemoDataset``; thread-safe."""

    def __init__(
        self,
        dataset: DemoDataset,
        *,
        date_format: str = "epoch",
        cache_entries: int = 8,
        cache_bytes: int = 2_000_000_000,
    ) -> None:
        if date_format not in DATE_FORMATS:
            raise ValueError(f"date_format must be one of {DATE_FORMATS}, got {date_format!r}")
        self.dataset = dataset
        self.date_format = date_format
        self._views = {
            name: _ObjectView(name, frame, dataset.describe[name])
            for name, frame in dataset.objects.items()
        }
        self._results = _ResultCache(cache_entries, cache_bytes)

    def query(self, object_name: str, body: Any) -> Page:
        """One page of records for a query body; raises ``QueryError`` for bad requests."""
        name = self.dataset.resolve(object_name)
        if name is None:
            raise QueryError(404, "GSOBJ_1023", "Requested object not found.")
        view = self._views[name]
        request = QueryRequest.parse(body)
        result = self._result(view, request)
        page = result.slice(request.offset, request.limit)
        page = page.select(self._output(view, page.columns, request.select))
        buffer = io.BytesIO()
        page.write_json(buffer)
        return Page(buffer.getvalue(), page.height)

    def _result(self, view: _ObjectView, request: QueryRequest) -> pl.DataFrame:
        """The selected columns (named by the select keys) of every matching row, in order.

        Filtered or sorted results are built once per (object, select, where, orderBy) and
        cached, with their strings copied into contiguous buffers so that each page reads
        memory in order; the plain "everything as stored" result is a zero-copy projection.
        """
        columns = [view.column(key) for key in request.select]
        projection = [pl.col(c).alias(k) for k, c in zip(request.select, columns, strict=True)]
        condition = compile_where(view, request.where)
        order = compile_order(view, request.order_by)
        if condition is None and not order:
            return view.frame.select(projection)
        key = (
            view.name,
            tuple(request.select),
            json.dumps(request.where, sort_keys=True, default=str),
            json.dumps(request.order_by),
        )
        cached = self._results.get(key)
        if cached is not None:
            return cached
        frame = view.frame.lazy()
        if condition is not None:
            frame = frame.filter(condition)
        if order:
            frame = frame.sort(
                [column for column, _ in order],
                descending=[descending for _, descending in order],
                # As Postgres sorts: nulls last ascending, first descending.
                nulls_last=[not descending for _, descending in order],
                maintain_order=True,
            )
        result = _compact(frame.select(projection).collect())
        self._results.put(key, result)
        return result

    def _output(self, view: _ObjectView, keys: list[str], select: list[str]) -> list[pl.Expr]:
        """Page columns as served: dates as epoch ms, or ISO strings with ``date_format="iso"``."""
        exprs = []
        for key in keys:
            expr = pl.col(key)
            column = view.column(key)
            if self.date_format == "iso" and view.is_date(column):
                pattern = ISO_DATE if view.types[column] == "DATE" else ISO_DATETIME
                expr = pl.from_epoch(expr, time_unit="ms").dt.strftime(pattern)
            exprs.append(expr)
        return exprs


def _compact(frame: pl.DataFrame) -> pl.DataFrame:
    """The same frame with its strings copied in row order (a gather leaves them scattered)."""
    if not any(dtype == pl.String for dtype in frame.dtypes):
        return frame
    copied = pl.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
    assert isinstance(copied, pl.DataFrame)
    return copied
