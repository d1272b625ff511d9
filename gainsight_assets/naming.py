"""How a Gainsight field's name becomes a warehouse column: one rule for every table.

:func:`column_name` is the rule: lower snake case, words split at each lower-to-upper change and
before the last capital of an acronym (``SfdcAccountId`` → ``sfdc_account_id``, ``NPSScore`` →
``nps_score``), every run of other characters one ``_``, and Gainsight's custom-field suffix
kept (``Health_Score__gc`` → ``health_score__gc``). It is idempotent: a column name maps to itself.

Tables that mark custom fields otherwise derive their names from it, dropping the suffix:

- survey responses: ``cf_`` + the name without the suffix (``NPSScore__gc`` → ``cf_nps_score``),
  see :func:`custom_field_column`;
- product usage's additional value fields: the name without the suffix (``Seats__gc`` →
  ``seats``), see :func:`value_column`.

Distinct fields can give one name (``NPS_Score`` and ``NPSScore``). :func:`unique_columns`
settles that the same way whatever order the fields come in: the fields are sorted, the first
keeps the name, the next get ``_2``, ``_3``... (never a name another field has as its own).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

CUSTOM_SUFFIX = re.compile(r"__(gc|c)$")
EMPTY_STEM = "field"  # a name with no letter or digit left (``__gc``, ``€``) becomes this
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z][a-z])")
_NOT_WORD = re.compile(r"[^0-9a-z]+")

__all__ = ["column_name", "custom_field_column", "unique_columns", "value_column"]


def _stem(field_name: str) -> tuple[str, str]:
    """The field's name without its custom suffix, and the suffix (``""`` if none)."""
    custom = CUSTOM_SUFFIX.search(field_name)
    if custom is None:
        return field_name, ""
    return field_name[: custom.start()], custom.group(0)


def _snake(stem: str) -> str:
    words = _NOT_WORD.sub("_", _WORD_BREAK.sub(r"_\1\2", stem).lower()).strip("_")
    return words or EMPTY_STEM


def column_name(field_name: str) -> str:
    """``NPSScore__gc`` → ``nps_score__gc``; ``SfdcAccountId`` → ``sfdc_account_id``."""
    stem, suffix = _stem(field_name)
    return _snake(stem) + suffix


def value_column(field_name: str) -> str:
    """An additional value field's column: the column name without the custom suffix."""
    return _snake(_stem(field_name)[0])


def custom_field_column(field_name: str) -> str:
    """A survey custom field's column: ``cf_`` + the column name without the custom suffix."""
    return "cf_" + value_column(field_name)


def unique_columns(
    field_names: Iterable[str],
    rule: Callable[[str], str] = column_name,
    *,
    reserved: Iterable[str] = (),
) -> dict[str, str]:
    """Each field's column by ``rule``, made distinct; ``reserved`` names are never given out.

    Fields are settled in sorted order, so the answer does not depend on the order they are
    listed in: the first field wanting a name gets it, the others ``<name>_2``, ``<name>_3``...
    skipping any name that is reserved or that another field gets by the rule itself.
    """
    names = list(dict.fromkeys(field_names))
    wanted = {name: rule(name) for name in sorted(names)}
    blocked = set(reserved)
    given: dict[str, str] = {}
    for name, column in wanted.items():
        if column not in blocked:
            given[name] = column
            blocked.add(column)
    blocked |= set(wanted.values())
    for name, column in wanted.items():
        if name in given:
            continue
        number = 2
        while f"{column}_{number}" in blocked:
            number += 1
        given[name] = f"{column}_{number}"
        blocked.add(given[name])
    return {name: given[name] for name in names}
