"""Schema evolution without loss: what must change in a table before a frame can be written.

Given the table's columns and the frame's logical types, :func:`plan_evolution` decides, per column:

- frame column missing from the table: **add** it (ALTER TABLE ADD COLUMN, nullable; an all-null
  frame column is added as TEXT);
- table column missing from the frame: nothing; the new rows get NULL there;
- both present: the widening table in :mod:`resources.warehouse.sqltypes` says *fits* (write as
  is), *widen* (ALTER the column to the wider type, e.g. INTEGER -> BIGINT, BIGINT -> DOUBLE,
  DATE -> TIMESTAMP) or *conflict*.

A conflict is resolved only when there is nothing to convert: a column that holds no value at all
(typically one created as TEXT from an all-null frame column) is retyped to the new type. Any
other conflict fails the write before anything is changed (whole-table replaces included), with one
line per column such as::

    gainsight.activities.score: table has TIMESTAMP, new data has BOOLEAN; cannot widen. Drop or
    rename the column, or cast it in the asset.

A frame column that matches a table column only up to letter case is refused (see
:mod:`resources.warehouse.identifiers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from resources.warehouse.errors import IdentifierError, SchemaEvolutionError
from resources.warehouse.identifiers import fold
from resources.warehouse.refs import TableRef
from resources.warehouse.sqltypes import NULL, TEXT, compatibility


@dataclass(frozen=True)
class Conflict:
    column: str
    table_type: str
    new_type: str

    def message(self, table: TableRef) -> str:
        return (
            f"{table}.{self.column}: table has {self.table_type}, new data has {self.new_type};"
            " cannot widen. Drop or rename the column, or cast it in the asset."
        )


@dataclass(frozen=True)
class EvolutionPlan:
    add: dict[str, str] = field(default_factory=dict)  # column -> logical type
    widen: dict[str, str] = field(default_factory=dict)  # column -> new logical type
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def changes_columns(self) -> bool:
        return bool(self.add or self.widen or self.conflicts)


def plan_evolution(
    table: TableRef, existing: Mapping[str, str], incoming: Mapping[str, str]
) -> EvolutionPlan:
    """``existing``: canonical table types by column; ``incoming``: logical frame types."""
    folded = {fold(name): name for name in existing}
    plan = EvolutionPlan()
    clashes: list[str] = []
    for name, logical in incoming.items():
        if name not in existing:
            other = folded.get(fold(name))
            if other is not None:
                clashes.append(f"{name!r} (table has {other!r})")
                continue
            plan.add[name] = TEXT if logical == NULL else logical
            continue
        verdict = compatibility(existing[name], logical)
        if verdict.verdict == "widen" and verdict.new_type:
            plan.widen[name] = verdict.new_type
        elif verdict.verdict == "conflict":
            plan.conflicts.append(Conflict(name, existing[name], logical))
    if clashes:
        raise IdentifierError(
            f"{table}: the new columns {', '.join(clashes)} differ only in letter case from"
            " existing columns. DuckDB treats them as the same column, so the warehouse refuses"
            " them on every engine. Rename the column in the asset (or drop the old one)."
        )
    return plan


def raise_conflicts(table: TableRef, conflicts: list[Conflict]) -> None:
    if conflicts:
        raise SchemaEvolutionError("\n".join(conflict.message(table) for conflict in conflicts))
