"""Latest views that leave out the keys another table lists, on DuckDB and on Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from resources.warehouse import Exclude, TableRef, WarehouseTarget, Window, open_engine

D1 = datetime(2024, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def versions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ["a1", "a1", "a2", "a2", "a3"],
            "seen": [D1, D1 + timedelta(hours=2), D1, D1 + timedelta(hours=3), D1],
            "value": [1, 2, 3, 4, 5],
        }
    )


def deletions(*ids: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"record_id": list(ids), "deleted_at": [D1 + timedelta(hours=5)] * len(ids)},
        schema={"record_id": pl.String, "deleted_at": pl.Datetime("us", "UTC")},
    )


def test_a_latest_view_leaves_out_listed_keys_once_their_table_exists(
    target: WarehouseTarget, schema: str
) -> None:
    table, deleted = TableRef(schema, "activities"), TableRef(schema, "deleted")
    exclude = Exclude(deleted, (("id", "record_id"),))
    window = Window("seen", D1, D1 + DAY)
    deleted_window = Window("deleted_at", D1, D1 + DAY)
    with open_engine(target) as engine:
        engine.replace(table, versions(), window=window)
        view = engine.ensure_latest_view(table, ["id"], "seen", exclude)
        # no deletions table yet: every record, and no audit view
        assert sorted(engine.read(view)["id"]) == ["a1", "a2", "a3"]
        assert not engine.table_exists(TableRef(schema, "activities_excluded"))

        engine.replace(deleted, deletions("a2"), window=deleted_window)
        assert engine.refresh_views_excluding(deleted) == [view]
        latest = engine.read(view).sort("id")
        audit = engine.read(TableRef(schema, "activities_excluded")).sort("seen")
        history = engine.count(table)

        # a new column under the view keeps the exclusion (it is registered, not just in SQL)
        engine.replace(table, versions().with_columns(pl.lit("x").alias("tier")), window=window)
        evolved = engine.read(view)

        # the deletions change: the view follows after a refresh
        engine.replace(deleted, deletions("a1", "a3"), window=deleted_window)
        engine.refresh_views_excluding(deleted)
        after = engine.read(view)
    assert latest["id"].to_list() == ["a1", "a3"]
    assert latest["value"].to_list() == [2, 5]
    assert audit["id"].to_list() == ["a2", "a2"]
    assert history == 5
    assert sorted(evolved["id"]) == ["a1", "a3"] and "tier" in evolved.columns
    assert after["id"].to_list() == ["a2"]


def test_refreshing_for_another_table_changes_nothing(target: WarehouseTarget, schema: str) -> None:
    table, deleted = TableRef(schema, "activities"), TableRef(schema, "deleted")
    with open_engine(target) as engine:
        engine.replace(table, versions(), window=Window("seen", D1, D1 + DAY))
        engine.replace(deleted, deletions("a2"), window=Window("deleted_at", D1, D1 + DAY))
        view = engine.ensure_latest_view(table, ["id"], "seen")
        assert engine.refresh_views_excluding(deleted) == []
        assert engine.refresh_views_excluding(TableRef(schema, "other")) == []
        assert sorted(engine.read(view)["id"]) == ["a1", "a2", "a3"]
