"""Keyed replace: a run replaces only the stored rows of records it read again (both engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warehouse_helpers import raw_sql

from resources.warehouse import TableRef, WarehouseTarget, Window, open_engine

DAY = timedelta(days=1)
D1 = datetime(2024, 3, 1, tzinfo=UTC)


def rows(pairs: list[tuple[str, int]], value: float = 1.0) -> pl.DataFrame:
    """(id, hour offset from D1) pairs as rows."""
    return pl.DataFrame(
        {
            "id": [i for i, _ in pairs],
            "ts": [D1 + timedelta(hours=h) for _, h in pairs],
            "value": [value] * len(pairs),
        },
        schema={"id": pl.String, "ts": pl.Datetime("us", "UTC"), "value": pl.Float64},
    )


def keys(*names: str) -> pl.DataFrame:
    return pl.DataFrame({"id": list(names)}, schema={"id": pl.String})


def stored(engine, table: TableRef) -> dict[str, float]:
    frame = engine.read(table)
    return dict(zip(frame["id"], frame["value"], strict=True))


def test_only_listed_and_written_keys_are_replaced(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "records")
    window = Window("ts", D1, D1 + DAY)
    with open_engine(target) as engine:
        engine.replace(table, rows([("a", 1), ("b", 2), ("c", 3)]), window=window)
        # read again: b (new version) and c (now elsewhere, e.g. unmatched); a was not read
        written = engine.replace(
            table, rows([("b", 2)], value=2.0), window=window, only_keys=keys("b", "c")
        )
        assert written == 1
        assert stored(engine, table) == {"a": 1.0, "b": 2.0}


def test_written_rows_supersede_their_own_keys(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "records")
    window = Window("ts", D1, D1 + DAY)
    with open_engine(target) as engine:
        engine.replace(table, rows([("a", 1), ("b", 2)]), window=window)
        engine.replace(table, rows([("a", 5)], value=3.0), window=window, only_keys=keys())
        assert stored(engine, table) == {"a": 3.0, "b": 1.0}
        assert engine.count(table) == 2


def test_keys_outside_the_window_are_untouched(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "records")
    with open_engine(target) as engine:
        engine.replace(table, rows([("a", 1), ("a", 30)]), window=Window("ts", D1, D1 + 2 * DAY))
        engine.replace(
            table, rows([]), window=Window("ts", D1 + DAY, D1 + 2 * DAY), only_keys=keys("a")
        )
        frame = engine.read(table)
    assert frame["ts"].to_list() == [D1 + timedelta(hours=1)]


def test_blank_keys_name_no_row(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "records")
    window = Window("ts", D1, D1 + DAY)
    with open_engine(target) as engine:
        engine.replace(table, rows([("", 1), (" ", 2), ("a", 3)]), window=window)
        engine.replace(table, rows([]), window=window, only_keys=keys("", "  ", None))
        assert engine.count(table) == 3


def test_failure_after_the_keyed_delete_rolls_back(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "records")
    window = Window("ts", D1, D1 + DAY)

    def boom() -> None:
        raise RuntimeError("killed mid-write")

    with open_engine(target) as engine:
        engine.replace(table, rows([("a", 1), ("b", 2)]), window=window)
        with pytest.raises(RuntimeError):
            engine.replace(
                table, rows([("a", 1)]), window=window, only_keys=keys("a", "b"), _after_delete=boom
            )
    assert sorted(r[0] for r in raw_sql(target, f'SELECT id FROM "{schema}"."records"')) == [
        "a",
        "b",
    ]


# -- property: any sequence of runs over any windows, each reading all or part of them ----------

IDS = st.sampled_from([f"r{i}" for i in range(8)])
HOURS = st.integers(min_value=0, max_value=95)  # four daily windows
RUN = st.tuples(
    st.integers(min_value=0, max_value=3),  # first day of the run's range
    st.integers(min_value=1, max_value=4),  # days in the range
    st.lists(st.tuples(IDS, HOURS), max_size=12),  # the records the run read
)


@pytest.mark.parametrize("kind", ["duckdb"], indirect=True)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(runs=st.lists(RUN, min_size=1, max_size=6))
def test_runs_never_lose_or_duplicate_a_stored_record(
    target: WarehouseTarget, new_schema, runs
) -> None:
    """A model of the warehouse next to the real one: after every run, each record stored
    before is still stored, each (id, window) pair is stored at most once, and what the run
    read is what is stored for those ids in its range."""
    table = TableRef(new_schema(""), "records")
    model: dict[tuple[str, int], int] = {}  # (id, day) -> hour
    with open_engine(target) as engine:
        for first, days, read in runs:
            lo, hi = first * 24, min(first + days, 4) * 24
            inside = {(i, h) for i, h in read if lo <= h < hi}
            latest: dict[str, int] = {}
            for i, h in sorted(inside):
                latest[i] = h  # one version per id per run, as the client dedupes by id
            frame = rows(sorted(latest.items()))
            engine.replace(
                table,
                frame,
                window=Window("ts", D1 + timedelta(hours=lo), D1 + timedelta(hours=hi)),
                only_keys=keys(*latest),
            )
            for i, day in [k for k in model if lo <= model[k] < hi and k[0] in latest]:
                del model[(i, day)]
            for i, h in latest.items():
                model[(i, h // 24)] = h
            got = engine.read(table)
            pairs = sorted(
                (i, int((t - D1).total_seconds() // 3600))
                for i, t in zip(got["id"], got["ts"], strict=True)
            )
            assert pairs == sorted((i, h) for (i, _), h in model.items())
