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


def test_bytes_outside_a_sliced_frame_do_not_count(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "sliced")
    frame = pl.DataFrame({"id": list(range(6)), "text": ["z\x00z", *["fine"] * 5]})
    with open_engine(target) as engine:
        assert engine.replace(table, frame.slice(1)) == 5
