"""Engine guarantees, each checked on DuckDB and on Postgres: slices, rollback, evolution, names."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from warehouse_helpers import raw_sql

from resources.warehouse import (
    IdentifierError,
    SchemaEvolutionError,
    SliceMismatchError,
    TableNotFoundError,
    TableRef,
    WarehouseTarget,
    Window,
    open_engine,
)

DAY = timedelta(days=1)
D1 = datetime(2024, 3, 1, tzinfo=UTC)


def day_window(start: datetime, days: int = 1, column: str = "ts") -> Window:
    return Window(column, start, start + days * DAY)


def day_rows(start: datetime, label: str, hours: tuple[int, ...] = (0, 9, 23)) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [start + timedelta(hours=h) for h in hours],
            "id": [f"{label}-{h}" for h in hours],
            "value": [float(h) for h in hours],
        }
    )


def ids(frame: pl.DataFrame) -> list[str]:
    return sorted(frame["id"].to_list())


def test_write_read_and_rerun_replaces_partition(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "activities")
    with open_engine(target) as engine:
        assert not engine.table_exists(table)
        assert engine.replace(table, day_rows(D1, "a"), window=day_window(D1)) == 3
        assert engine.replace(table, day_rows(D1 + DAY, "b"), window=day_window(D1 + DAY)) == 3
        # re-run of day 1 with other contents: replaced, no duplicates, day 2 untouched
        rerun = day_rows(D1, "a2", hours=(1, 2))
        assert engine.replace(table, rerun, window=day_window(D1)) == 2
        assert engine.replace(table, rerun, window=day_window(D1)) == 2
        assert ids(engine.read(table, window=day_window(D1))) == ["a2-1", "a2-2"]
        assert ids(engine.read(table, window=day_window(D1 + DAY))) == ["b-0", "b-23", "b-9"]
        assert engine.count(table) == 5
        assert engine.count(table, window=day_window(D1)) == 2
        assert engine.columns(table) == {"ts": "TIMESTAMP", "id": "TEXT", "value": "DOUBLE"}
        whole = engine.read(table, columns=["id", "ts"])
    assert whole.columns == ["id", "ts"]
    assert whole.schema["ts"] == pl.Datetime("us", "UTC")


def test_empty_window_keeps_columns_and_missing_table_is_named(
    target: WarehouseTarget, schema: str
) -> None:
    table = TableRef(schema, "activities")
    with open_engine(target) as engine:
        with pytest.raises(TableNotFoundError, match=f"{schema}.activities"):
            engine.read(table)
        engine.replace(table, day_rows(D1, "a"), window=day_window(D1))
        empty = engine.read(table, window=day_window(D1 + 5 * DAY))
    assert empty.height == 0
    assert empty.schema == pl.Schema(
        {"ts": pl.Datetime("us", "UTC"), "id": pl.String, "value": pl.Float64}
    )


def test_single_run_range_replaces_whole_range(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "activities")
    with open_engine(target) as engine:
        for i, label in enumerate("abc"):
            engine.replace(table, day_rows(D1 + i * DAY, label), window=day_window(D1 + i * DAY))
        backfill = pl.concat([day_rows(D1, "x", (5,)), day_rows(D1 + DAY, "y", (6,))])
        assert engine.replace(table, backfill, window=day_window(D1, days=2)) == 2
        assert ids(engine.read(table)) == ["c-0", "c-23", "c-9", "x-5", "y-6"]


def test_whole_table_replace_and_equals_slices(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "unmatched_records")
    window = day_window(D1, column="partition_start")
    frame = pl.DataFrame({"partition_start": [D1, D1], "record_id": ["r1", "r2"]})
    with open_engine(target) as engine:
        # the equals column is added when the frame lacks it
        engine.replace(table, frame, window=window, equals={"object": "Company"})
        engine.replace(table, frame.head(1), window=window, equals={"object": "activity"})
        engine.replace(table, frame.tail(1), window=window, equals={"object": "activity"})
        company = engine.read(table, equals={"object": "Company"})
        activity = engine.read(table, window=window, equals={"object": "activity"})
        assert company["record_id"].to_list() == ["r1", "r2"]
        assert activity["record_id"].to_list() == ["r2"]
        with pytest.raises(SliceMismatchError, match="not 'Company'"):
            engine.replace(
                table,
                frame.with_columns(pl.lit("other").alias("object")),
                window=window,
                equals={"object": "Company"},
            )
        assert engine.replace(table, frame.with_columns(pl.lit("x").alias("object"))) == 2
        assert engine.count(table) == 2


def test_rows_outside_the_window_are_refused(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "activities")
    with open_engine(target) as engine:
        with pytest.raises(SliceMismatchError, match="outside the window"):
            engine.replace(table, day_rows(D1, "a", hours=(0, 24)), window=day_window(D1))
        with pytest.raises(SliceMismatchError, match="no column 'when'"):
            engine.replace(table, day_rows(D1, "a"), window=day_window(D1, column="when"))
        assert not engine.table_exists(table)


def test_failure_after_delete_rolls_back(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "activities")

    def explode() -> None:
        raise RuntimeError("injected failure after the delete")

    with open_engine(target) as engine:
        engine.replace(table, day_rows(D1, "old"), window=day_window(D1))
        before = engine.read(table)
        replacement = day_rows(D1, "new").with_columns(pl.lit(1).alias("extra"))
        with pytest.raises(RuntimeError, match="injected"):
            engine.replace(table, replacement, window=day_window(D1), _after_delete=explode)
        with pytest.raises(RuntimeError, match="injected"):
            engine.replace(table, replacement, _after_delete=explode)  # whole-table replace
        # the engine stays usable on the same connection
        assert ids(engine.read(table)) == ["old-0", "old-23", "old-9"]
    with open_engine(target) as engine:  # and a fresh connection sees the old contents
        assert_frame_equal(engine.read(table), before)
        assert "extra" not in engine.columns(table)  # the ALTER was rolled back too


def test_new_and_missing_columns(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "activities")
    with open_engine(target) as engine:
        engine.replace(table, day_rows(D1, "a"), window=day_window(D1))
        day2 = day_rows(D1 + DAY, "b").drop("value").with_columns(pl.lit(True).alias("flag"))
        engine.replace(table, day2, window=day_window(D1 + DAY))
        assert engine.columns(table) == {
            "ts": "TIMESTAMP",
            "id": "TEXT",
            "value": "DOUBLE",
            "flag": "BOOLEAN",
        }
        first = engine.read(table, window=day_window(D1))
        second = engine.read(table, window=day_window(D1 + DAY))
    assert first["flag"].null_count() == 3
    assert second["value"].null_count() == 3
    assert second["flag"].to_list() == [True] * 3


def test_widening(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "metrics")
    first = pl.DataFrame({"ts": [D1], "n": [2**40 + 1], "day": [date(2024, 3, 1)]})
    second = pl.DataFrame({"ts": [D1 + DAY], "n": [0.5], "day": [datetime(2024, 3, 2, 6)]})
    with open_engine(target) as engine:
        engine.replace(table, first, window=day_window(D1))
        assert engine.columns(table)["n"] == "BIGINT"
        engine.replace(table, second, window=day_window(D1 + DAY))
        assert engine.columns(table) == {"ts": "TIMESTAMP", "n": "DOUBLE", "day": "TIMESTAMP"}
        rows = engine.read(table).sort("ts")
    assert rows["n"].to_list() == [float(2**40 + 1), 0.5]
    assert rows["day"].to_list() == [
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 3, 2, 6, tzinfo=UTC),
    ]


def test_integer_column_widens_to_bigint(target: WarehouseTarget, schema: str) -> None:
    raw_sql(target, f'CREATE SCHEMA "{schema}"')
    raw_sql(target, f'CREATE TABLE "{schema}".counts (ts TIMESTAMP, n INTEGER)')
    raw_sql(target, f"INSERT INTO \"{schema}\".counts VALUES ('2024-03-01 01:00:00', 7)")
    table = TableRef(schema, "counts")
    frame = pl.DataFrame({"ts": [D1 + DAY], "n": [2**40]})
    with open_engine(target) as engine:
        assert engine.columns(table)["n"] == "INTEGER"
        engine.replace(table, frame, window=day_window(D1 + DAY))
        assert engine.columns(table)["n"] == "BIGINT"
        assert sorted(engine.read(table)["n"].to_list()) == [7, 2**40]


def test_unwidenable_change_fails_clearly_and_changes_nothing(
    target: WarehouseTarget, schema: str
) -> None:
    table = TableRef(schema, "activities")
    first = day_rows(D1, "a").with_columns(pl.col("ts").alias("score"))
    second = day_rows(D1 + DAY, "b").with_columns(pl.lit(True).alias("score"), pl.lit(1).alias("x"))
    with open_engine(target) as engine:
        engine.replace(table, first, window=day_window(D1))
        with pytest.raises(SchemaEvolutionError) as error:
            engine.replace(table, second, window=day_window(D1 + DAY))
        assert str(error.value) == (
            f"{schema}.activities.score: table has TIMESTAMP, new data has BOOLEAN; cannot"
            " widen. Drop or rename the column, or cast it in the asset."
        )
        assert engine.columns(table) == {
            "ts": "TIMESTAMP",
            "id": "TEXT",
            "value": "DOUBLE",
            "score": "TIMESTAMP",
        }
        assert engine.count(table) == 3
        with pytest.raises(SchemaEvolutionError, match="table has DOUBLE, new data has TEXT"):
            engine.replace(
                table,
                day_rows(D1 + DAY, "b").with_columns(pl.col("value").cast(pl.String)),
                window=day_window(D1 + DAY),
            )


def test_all_null_columns_take_the_first_real_type(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "activities")
    with open_engine(target) as engine:
        # an all-null column creates TEXT when it is new, and fits any type afterwards
        nulls = day_rows(D1, "a").with_columns(pl.lit(None).alias("score"))
        engine.replace(table, nulls, window=day_window(D1))
        assert engine.columns(table)["score"] == "TEXT"
        # the TEXT column holds no value yet, so it takes the first real type
        scored = day_rows(D1 + DAY, "b").with_columns(pl.lit(0.75).alias("score"))
        engine.replace(table, scored, window=day_window(D1 + DAY))
        assert engine.columns(table)["score"] == "DOUBLE"
        engine.replace(table, nulls, window=day_window(D1))  # Null dtype fits DOUBLE
        assert engine.read(table).sort("ts")["score"].to_list() == [None] * 3 + [0.75] * 3
        # once it holds values, even a whole-table replace does not change its type
        texts = day_rows(D1, "c").with_columns(pl.lit("high").alias("score"))
        with pytest.raises(
            SchemaEvolutionError, match="score: table has DOUBLE, new data has TEXT"
        ):
            engine.replace(table, texts)
        assert engine.count(table) == 6


def test_latest_view_follows_column_changes(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "companies")
    first = pl.DataFrame(
        {"snapshot": [D1, D1], "gsid": ["g1", "g2"], "arr": [10, 20], "seen": [D1, D1]}
    )
    second = pl.DataFrame(
        {
            "snapshot": [D1 + DAY],
            "gsid": ["g1"],
            "arr": [12.5],  # BIGINT -> DOUBLE under the view
            "seen": [D1 + DAY],
            "tier": ["gold"],  # new column
        }
    )
    with open_engine(target) as engine:
        engine.replace(table, first, window=day_window(D1, column="snapshot"))
        view = engine.ensure_latest_view(table, ["gsid"], "seen")
        assert view == TableRef(schema, "companies_latest")
        engine.replace(table, second, window=day_window(D1 + DAY, column="snapshot"))
        latest = engine.read(view).sort("gsid")
    assert latest.columns == ["snapshot", "gsid", "arr", "seen", "tier"]
    assert latest["arr"].to_list() == [12.5, 20.0]
    assert latest["tier"].to_list() == ["gold", None]


HOSTILE = [
    'a"b',
    "x'y",
    "a; DROP TABLE t; --",
    "with space",
    "número_ç",
    "select",
    "order",
    "%s",
    "$1",
    "?",
    "back\\slash",
]


def test_hostile_names_round_trip(
    target: WarehouseTarget, new_schema: Callable[[str], str]
) -> None:
    schema = new_schema('; DROP SCHEMA public CASCADE; --"')
    frame = pl.DataFrame({name: [f"value of {name}"] for name in HOSTILE}).with_columns(
        pl.lit(D1).alias("ts")
    )
    sentinel = TableRef(schema, "t")
    with open_engine(target) as engine:
        engine.replace(sentinel, pl.DataFrame({"keep": [1]}))
        for name in HOSTILE:
            table = TableRef(schema, name)
            window = day_window(D1)
            assert engine.replace(table, frame, window=window, equals={name: f"value of {name}"})
            assert engine.replace(table, frame, window=window, equals={name: f"value of {name}"})
            assert list(engine.columns(table)) == [*HOSTILE, "ts"]
            back = engine.read(
                table, columns=[name, "ts"], window=window, equals={name: f"value of {name}"}
            )
            assert back.to_dicts() == [{name: f"value of {name}", "ts": D1}]
            engine.ensure_latest_view(table, [name], "select")
            assert engine.read(table.latest_view).height == 1
        assert engine.read(sentinel)["keep"].to_list() == [1]


def test_names_differing_only_in_case_are_refused_on_every_engine(
    target: WarehouseTarget, schema: str
) -> None:
    table = TableRef(schema, "scores")
    with open_engine(target) as engine:
        with pytest.raises(IdentifierError, match="'Score' and 'score' differ only in letter case"):
            engine.replace(table, pl.DataFrame({"Score": [1], "score": [2]}))
        engine.replace(table, pl.DataFrame({"Score": [1]}))
        with pytest.raises(IdentifierError, match=r"'score' \(table has 'Score'\)"):
            engine.replace(table, pl.DataFrame({"Score": [1], "score": [2]}).drop("Score"))
        with pytest.raises(IdentifierError, match="differ only in letter case"):
            engine.read(TableRef(schema, "Scores"))
        with pytest.raises(IdentifierError, match="differ only in letter case"):
            engine.replace(TableRef(schema.upper(), "other"), pl.DataFrame({"a": [1]}))
        # non-ASCII letters are not folded by either engine, so these two columns coexist
        engine.replace(TableRef(schema, "u"), pl.DataFrame({"número_Ç": [1], "número_ç": [2]}))
        assert engine.read(TableRef(schema, "u")).row(0) == (1, 2)
        with pytest.raises(Exception, match="did you mean 'Score'"):
            engine.read(table, columns=["score"])


def test_values_round_trip(target: WarehouseTarget, schema: str) -> None:
    strings = ["", None, "a,b", 'q"uote', "new\nline", "cr\r\nlf", "back\\slash", "\\N", "NULL"]
    strings += ["número ç 漢字 🎉", "  padded  ", "'", "\t"]
    n = len(strings)
    floats = [0.1 + 0.2, None, 1e300, -0.0, float("nan"), float("inf"), float("-inf"), 5e-324]
    floats += [1 / 3, 123456789.123456789, -2.5, 0.0, 1.0]
    la = "America/Los_Angeles"
    frame = pl.DataFrame(
        {
            "s": strings,
            "i": [None, -(2**63), 2**63 - 1, *range(n - 3)],
            "f": floats,
            "b": [True, False, None] * 4 + [True],
            "d": [date(2024, 2, 29), None, date(1, 1, 1), date(9999, 12, 31)] * 3 + [None],
            "t": [datetime(2024, 3, 10, 2, 30, 0, 123456), None, datetime(1970, 1, 1)] * 4
            + [datetime(2024, 11, 3, 1, 30)],
            "tz": pl.Series(
                [datetime(2024, 3, 10, 1, 59, 59, 999999), datetime(2024, 3, 10, 3, 0)] * 6 + [None]
            ).dt.replace_time_zone(la),
            "small": pl.Series(list(range(n)), dtype=pl.Int8),
            "f32": pl.Series([0.1] * n, dtype=pl.Float32),
            "cat": pl.Series(["x", "y", None] * 4 + ["x"], dtype=pl.Categorical),
            "lst": [[1, 2], None, []] * 4 + [[3]],
            "obj": [{"k": 'v"1', "n": 1}, None] * 6 + [{"k": None, "n": None}],
            "nothing": [None] * n,
        }
    )
    table = TableRef(schema, "values")
    with open_engine(target) as engine:
        assert engine.replace(table, frame) == n
        assert engine.columns(table) == {
            "s": "TEXT",
            "i": "BIGINT",
            "f": "DOUBLE",
            "b": "BOOLEAN",
            "d": "DATE",
            "t": "TIMESTAMP",
            "tz": "TIMESTAMP",
            "small": "BIGINT",
            "f32": "DOUBLE",
            "cat": "TEXT",
            "lst": "TEXT",
            "obj": "TEXT",
            "nothing": "TEXT",
        }
        back = engine.read(table)
    expected = frame.with_columns(
        pl.col("t").dt.replace_time_zone("UTC"),
        pl.col("tz").dt.convert_time_zone("UTC"),
        pl.col("small").cast(pl.Int64),
        pl.col("f32").cast(pl.Float64),
        pl.col("cat").cast(pl.String),
        pl.Series("lst", ["[1,2]", None, "[]"] * 4 + ["[3]"]),
        pl.Series("obj", ['{"k":"v\\"1","n":1}', None] * 6 + ['{"k":null,"n":null}']),
        pl.col("nothing").cast(pl.String),
    )
    assert_frame_equal(back, expected, check_exact=True)
    assert [str(v) for v in back["f"].to_list()][3] == "-0.0"


def test_query_runs_read_only_selects(target: WarehouseTarget, schema: str) -> None:
    table = TableRef(schema, "activities")
    with open_engine(target) as engine:
        engine.replace(table, day_rows(D1, "a"), window=day_window(D1))
        result = engine.query(
            f'SELECT id, ts FROM "{schema}".activities WHERE value > $1 ORDER BY id', [5]
        )
        assert result["id"].to_list() == ["a-23", "a-9"]
        assert result.schema["ts"] == pl.Datetime("us", "UTC")
        with pytest.raises(Exception):  # noqa: B017 - either engine's read-only refusal
            engine.query(f'DELETE FROM "{schema}".activities')
        assert engine.count(table) == 3


def test_duplicates_counts_every_repeated_key_and_samples_five(
    target: WarehouseTarget, schema: str
) -> None:
    table = TableRef(schema, "dups")
    ids = [f"k{i}" for i in range(7) for _ in range(2)] + ["k7", "k8", "k8", "k8"]
    frame = pl.DataFrame(
        {"ts": [D1 + timedelta(minutes=i) for i in range(len(ids))], "id": ids, "value": 1.0}
    )
    with open_engine(target) as engine:
        engine.replace(table, frame, window=day_window(D1))
        total, sample = engine.duplicates(table, ["id"], window=day_window(D1))
        assert total == 8  # k0..k6 twice, k8 three times; k7 once is no duplicate
        assert sample == [{"id": f"k{i}", "rows": 2} for i in range(5)]
        assert engine.duplicates(table, ["id", "ts"], window=day_window(D1)) == (0, [])
        assert engine.duplicates(table, ["id"], window=day_window(D1 + DAY)) == (0, [])


def test_duckdb_insert_leaves_reads_ordered_and_its_own_errors_visible(tmp_path: Path) -> None:
    """DuckDB inserts without keeping the frame's row order (faster); the connection's reads
    keep their order afterwards, and a failed insert raises its own error."""
    import duckdb

    from resources.warehouse import parse_warehouse_url

    target = parse_warehouse_url(f"duckdb:///{tmp_path / 'w.duckdb'}", lock_timeout_seconds=10)
    table = TableRef("main", "events")
    setting = "SELECT current_setting('preserve_insertion_order')"
    with open_engine(target) as engine:
        engine.replace(table, day_rows(D1, "a"), window=day_window(D1))
        assert engine.query(setting).item() is True
    raw_sql(target, "CREATE TABLE main.strict (ts TIMESTAMPTZ, id VARCHAR NOT NULL, value DOUBLE)")
    with open_engine(target) as engine:
        rows = day_rows(D1, "b").with_columns(pl.lit(None, pl.String).alias("id"))
        with pytest.raises(duckdb.ConstraintException):
            engine.replace(TableRef("main", "strict"), rows, window=day_window(D1))
