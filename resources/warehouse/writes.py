"""What an asset hands the IO manager when it must not replace its whole partition window.

A plain ``DataFrame`` output replaces the window (right for a table rebuilt from a full read:
an aggregate, a snapshot). :class:`KeyedRows` replaces only the stored rows of the records the
run read again, so a run that read part of a window (a limit, an early stop) or a record that
left the window since never removes what an earlier run stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class KeyedRows:
    """``rows`` to store; ``read_keys`` (key columns only) names every record the run read,
    stored or not (e.g. now unmatched): their earlier rows in the window are replaced."""

    rows: pl.DataFrame
    read_keys: pl.DataFrame

    @property
    def height(self) -> int:
        return self.rows.height
