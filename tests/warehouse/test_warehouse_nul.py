"""Text with a NUL character is refused on both engines, and a refused write changes nothing."""

from __future__ import annotations

import polars as pl
import pytest

from resources.warehouse import TableRef, WarehouseError, WarehouseTarget, open_engine


def test_nul_is_refused_and_nothing_changes(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "notes")
    with open_engine(target) as engine:
        engine.replace(table, pl.DataFrame({"id": [1, 2], "text": ["a", None]}))
        with pytest.raises(WarehouseError, match=r"notes\.text: a value contains a NUL"):
            engine.replace(table, pl.DataFrame({"id": [3, 4], "text": ["ok", "b\x00d"]}))
        assert sorted(engine.read(table)["id"].to_list()) == [1, 2]


@pytest.mark.parametrize(
    "value",
    ["\x00", "ab\x00", "a long value with a NUL \x00 past its first twelve bytes"],
    ids=["alone", "short", "long"],
)
def test_nul_is_found_in_short_and_long_values(
    target: WarehouseTarget, schema: str, value: str
) -> None:
    """Wherever the NUL sits: Arrow lays short and long values out differently (inline in a
    string view, or in a data buffer), and the DuckDB engine searches the value bytes in place."""
    table = TableRef(schema, "views")
    frame = pl.DataFrame({"id": [1, 2, 3], "text": ["x" * 40, value, None]})
    with open_engine(target) as engine, pytest.raises(WarehouseError, match=r"views\.text"):
        engine.replace(table, frame)


def test_bytes_outside_a_sliced_frame_do_not_count(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "sliced")
    frame = pl.DataFrame({"id": list(range(6)), "text": ["z\x00z", *["fine"] * 5]})
    with open_engine(target) as engine:
        assert engine.replace(table, frame.slice(1)) == 5
