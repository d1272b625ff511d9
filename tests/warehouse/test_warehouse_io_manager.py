"""WarehouseIOManager through dagster.materialize: partitions, ranges, whole tables, metadata.

No ``from __future__ import annotations`` here: Dagster reads the `context` annotation at runtime.
"""

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
    build_input_context,
    build_output_context,
    materialize,
)

from resources.warehouse import (
    TableNotFoundError,
    TableRef,
    WarehouseIOManager,
    WarehouseResource,
    WarehouseTarget,
)

DAILY = DailyPartitionsDefinition(start_date="2024-03-01", timezone="UTC")
RANGE_TAGS = {
    "dagster/asset_partition_range_start": "2024-03-01",
    "dagster/asset_partition_range_end": "2024-03-03",
}


def events_for(start: datetime, end: datetime, run: str) -> pl.DataFrame:
    days = (end - start).days
    return pl.DataFrame(
        {
            "ts": [start + timedelta(days=d, hours=h) for d in range(days) for h in (3, 15)],
            "id": [f"e{(start + timedelta(days=d)).day % 2}" for d in range(days) for _ in (3, 15)],
            "run": [run] * (2 * days),
        }
    )


def build_assets(schema: str, received: dict[str, list[pl.DataFrame]], run: str) -> list[object]:
    @asset(
        key=[schema, "events"],
        partitions_def=DAILY,
        backfill_policy=BackfillPolicy.single_run(),
        metadata={"partition_expr": "ts", "latest_by": {"key": ["id"], "order": "ts"}},
    )
    def events(context: AssetExecutionContext) -> pl.DataFrame:
        window = context.partition_time_window
        return events_for(window.start, window.end, run)

    @asset(
        key=[schema, "daily_counts"],
        partitions_def=DAILY,
        backfill_policy=BackfillPolicy.single_run(),
        ins={"events": AssetIn(key=[schema, "events"])},
        metadata={"partition_expr": "day"},
    )
    def daily_counts(events: pl.DataFrame) -> pl.DataFrame:
        received.setdefault("daily_counts", []).append(events)
        return events.group_by(day=pl.col("ts").dt.truncate("1d")).agg(pl.len().alias("n"))

    @asset(
        key=[schema, "event_ids"],
        ins={"events": AssetIn(key=[schema, "events"], metadata={"columns": ["id", "ts"]})},
    )
    def event_ids(events: pl.DataFrame) -> pl.DataFrame:
        received.setdefault("event_ids", []).append(events)
        return events.unique("id").sort("id")

    @asset(key=[f"accounts_{schema}"])  # one component: schema public
    def accounts() -> pl.DataFrame:
        return pl.DataFrame({"id": ["a1", "a2"], "name": ["Acme", "Globex"]})

    @asset(key=[schema, "nothing"])
    def nothing() -> None:
        return None

    return [events, daily_counts, event_ids, accounts, nothing]


def test_partitions_ranges_and_whole_tables(url: str, target: WarehouseTarget, schema: str) -> None:
    io_manager = WarehouseIOManager(url=url)
    resources = {"io_manager": io_manager}
    instance = DagsterInstance.ephemeral()
    received: dict[str, list[pl.DataFrame]] = {}
    events, daily_counts, *_ = build_assets(schema, received, "first")
    table = TableRef(schema, "events")

    # one partition, then a single-run range backfill over three days (2024-03-01..03)
    result = materialize(
        [events, daily_counts], partition_key="2024-03-02", resources=resources, instance=instance
    )
    assert result.success
    assert received["daily_counts"][-1]["ts"].dt.date().unique().to_list() == [
        datetime(2024, 3, 2).date()
    ]
    result = materialize(
        [events, daily_counts], tags=RANGE_TAGS, resources=resources, instance=instance
    )
    assert result.success
    assert received["daily_counts"][-1].height == 6  # three days x two events
    # re-running a partition replaces it
    events2, _, event_ids2, accounts2, nothing2 = build_assets(schema, received, "second")
    assert materialize(
        [events2], partition_key="2024-03-02", resources=resources, instance=instance
    ).success
    warehouse = WarehouseResource(url=url)
    stored = warehouse.read(table).sort("ts")
    assert stored.height == 6
    assert stored["run"].to_list() == ["first", "first", "second", "second", "first", "first"]
    assert warehouse.read(TableRef(schema, "daily_counts"))["n"].to_list() == [2, 2, 2]

    # an unpartitioned downstream loads the whole upstream table, with the selected columns
    accounts_table = TableRef("public", f"accounts_{schema}")
    try:
        result = materialize(
            [events2, event_ids2, accounts2, nothing2],
            resources=resources,
            instance=instance,
            selection=[event_ids2, accounts2, nothing2],
        )
        assert result.success
        assert received["event_ids"][-1].columns == ["id", "ts"]
        assert received["event_ids"][-1].height == 6
        assert warehouse.read(accounts_table)["name"].to_list() == ["Acme", "Globex"]
        materialization = result.asset_materializations_for_node(accounts2.op.name)[0]
    finally:
        with warehouse.engine() as engine:
            engine._execute(f'DROP TABLE IF EXISTS "public"."{accounts_table.name}"')
    assert not warehouse.table_exists(TableRef(schema, "nothing"))
    latest = warehouse.read(table.latest_view).sort("id")
    assert latest["id"].to_list() == ["e0", "e1"]
    assert latest["ts"].to_list() == [
        datetime(2024, 3, 2, 15, tzinfo=UTC),
        datetime(2024, 3, 3, 15, tzinfo=UTC),
    ]

    # output metadata: rows, table, column schema; never the URL
    metadata = materialization.metadata
    assert metadata["dagster/row_count"].value == 2
    assert metadata["dagster/table_name"].value == f"public.accounts_{schema}"
    columns = metadata["dagster/column_schema"].value.columns
    assert [(c.name, c.type) for c in columns] == [("id", "TEXT"), ("name", "TEXT")]
    assert metadata["warehouse"].value == target.kind
    assert url not in str(metadata)


def test_empty_partition_and_missing_table(url: str, schema: str) -> None:
    io_manager = WarehouseIOManager(url=url)
    key = AssetKey([schema, "events"])
    upstream = build_output_context(
        asset_key=key, definition_metadata={"partition_expr": "ts"}, asset_partitions_def=DAILY
    )
    context = build_input_context(
        asset_key=key,
        upstream_output=upstream,
        asset_partitions_def=DAILY,
        partition_key="2024-03-05",
    )
    with pytest.raises(TableNotFoundError, match=f"Materialize the upstream asset {schema}/events"):
        io_manager.load_input(context)
    WarehouseResource(url=url).replace(
        TableRef(schema, "events"),
        events_for(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC), "x"),
    )
    empty = io_manager.load_input(context)
    assert empty.height == 0
    assert empty.columns == ["ts", "id", "run"]


def test_configuration_errors_are_clear(url: str, schema: str) -> None:
    resources = {"io_manager": WarehouseIOManager(url=url)}

    @asset(key=[schema, "no_expr"], partitions_def=DAILY)
    def no_expr(context: AssetExecutionContext) -> pl.DataFrame:
        window = context.partition_time_window
        return events_for(window.start, window.end, "x")

    @asset(
        key=[schema, "static"],
        partitions_def=StaticPartitionsDefinition(["a"]),
        metadata={"partition_expr": "ts"},
    )
    def static() -> pl.DataFrame:
        return pl.DataFrame({"ts": [datetime(2024, 3, 1, tzinfo=UTC)]})

    cases: list[tuple[AssetsDefinition, str, str]] = [
        (no_expr, "2024-03-01", "partition_expr"),
        (static, "a", "time-window partitions only"),
    ]
    for definition, partition, message in cases:
        with pytest.raises(Exception, match=message):
            materialize([definition], partition_key=partition, resources=resources)
