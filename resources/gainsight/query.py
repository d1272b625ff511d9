"""Builders for the body of ``POST /v1/data/objects/query/{object}``.

A Gainsight ``where`` is ``{"conditions": [{name, alias, value: [...], operator}], "expression"}``.
Windows are half-open (``GTE`` start ``AND`` ``LT`` end) so adjacent partitions never share a row;
``BTW`` is inclusive at both ends and would count a record on a boundary twice.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

Where = dict[str, Any]
MAX_PAGE_SIZE = 5000  # records per query call: Gainsight's cap


def format_filter_value(value: datetime, *, date_only: bool = False) -> str:
    """A UTC timestamp as Gainsight filters take it: ISO-8601 with ``Z``, or ``yyyy-MM-dd``."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%d") if date_only else utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def window_where(field: str, start: datetime, end: datetime, *, date_only: bool = False) -> Where:
    return {
        "conditions": [
            {
                "name": field,
                "alias": "A",
                "value": [format_filter_value(start, date_only=date_only)],
                "operator": "GTE",
            },
            {
                "name": field,
                "alias": "B",
                "value": [format_filter_value(end, date_only=date_only)],
                "operator": "LT",
            },
        ],
        "expression": "A AND B",
    }


def and_where(first: Where | None, second: Where | None) -> Where | None:
    """Both clauses at once; the second's aliases are renamed so they cannot collide."""
    if not first or not second:
        return first or second
    taken = {c["alias"] for c in first["conditions"]}
    free = (a for a in _aliases() if a not in taken)
    renames = {c["alias"]: next(free) for c in second["conditions"]}
    conditions = [*first["conditions"]]
    conditions += [{**c, "alias": renames[c["alias"]]} for c in second["conditions"]]
    expression = _rename_aliases(_expression(second), renames)
    return {"conditions": conditions, "expression": f"({_expression(first)}) AND ({expression})"}


def _expression(where: Where) -> str:
    return where.get("expression") or " AND ".join(c["alias"] for c in where["conditions"])


def _aliases() -> Any:
    letters = string.ascii_uppercase
    yield from letters
    yield from (a + b for a in letters for b in letters)


def _rename_aliases(expression: str, renames: dict[str, str]) -> str:
    tokens = expression.replace("(", " ( ").replace(")", " ) ").split()
    return (
        " ".join(renames.get(token, token) for token in tokens)
        .replace("( ", "(")
        .replace(" )", ")")
    )
