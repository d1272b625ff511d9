"""``WarehouseIOManager``: asset outputs stored as warehouse tables (DuckDB or Postgres).

Asset key -> table: the last two key components are ``[schema, table]``
(``["gainsight", "activities"]`` -> ``gainsight.activities``); a one-component key goes to schema
``public`` on both engines; longer keys keep only their last two components.

Writing (``handle_output``), always one :meth:`WarehouseEngine.replace` transaction:

- unpartitioned assets replace the whole table;
- time-partitioned assets replace exactly ``context.asset_partitions_time_window`` (one partition,
  or the whole range of a single-run backfill) on the column named by the definition metadata
  ``partition_expr`` (required; a Datetime or Date column of the frame). Other partition kinds
  (static, multi-dimensional) are refused rather than guessed;
- a :class:`~resources.warehouse.writes.KeyedRows` output replaces, within that window, only the
  stored rows whose key the run read (its ``read_keys``, or a key of its rows): every other
  stored row stays;
- definition metadata ``latest_by={"key": [...], "order": "<col>"}`` refreshes the view
  ``<schema>.<table>_latest`` (latest row per key) on the same engine connection right after;
- output metadata: ``dagster/row_count`` (rows written), ``dagster/table_name``, ``table``,
  ``dagster/column_schema`` (with each column's description from the definition metadata
  ``column_descriptions``: name -> text, a key ending in ``*`` matching a prefix) and the engine
  kind; never the URL;
- ``None`` stores nothing.

Loading (``load_input``): the partition or partition range the input maps to (the upstream's
``partition_expr`` names the column), else the whole table; input metadata ``columns=[...]``
selects columns; an empty window gives an empty frame with the table's columns; a missing table
raises an error naming it and the asset to materialize first.

The ``url`` field comes from ``EnvVar("WAREHOUSE_URL")``; unset means the embedded DuckDB file.
Every call opens its own short-lived connection, so each step subprocess stands alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetKey,
    ConfigurableIOManager,
    InputContext,
    MetadataValue,
    OutputContext,
    TableColumn,
    TableSchema,
    TimeWindowPartitionsDefinition,
)

from resources.warehouse.connect import open_engine
from resources.warehouse.engine import Exclude, LatestSpec
from resources.warehouse.errors import TableNotFoundError, WarehouseError
from resources.warehouse.refs import TableRef, Window
from resources.warehouse.resource import WarehouseConnection
from resources.warehouse.url import (
    WarehouseTarget,
)
from resources.warehouse.writes import KeyedRows

if TYPE_CHECKING:
    import polars as pl

TABLE_NAME_KEY = "dagster/table_name"


class WarehouseIOManager(ConfigurableIOManager, WarehouseConnection):
    """Stores Polars DataFrames as warehouse tables, one table per asset."""

    def handle_output(
        self, context: OutputContext, obj: pl.DataFrame | pl.LazyFrame | KeyedRows | None
    ) -> None:
        import polars as pl

        if obj is None:
            return
        key = _asset_key(context)
        only_keys = None
        if isinstance(obj, KeyedRows):
            obj, only_keys = obj.rows, obj.read_keys
        if isinstance(obj, pl.LazyFrame):
            obj = obj.collect()
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(
                f"WarehouseIOManager stores polars DataFrames; asset {key} returned"
                f" {type(obj).__name__}."
            )
        metadata = plain_metadata(context.definition_metadata)
        table = asset_table(context.asset_key, metadata)
        window = partition_window(context, metadata.get("partition_expr"), key)
        latest = latest_spec(metadata.get("latest_by"), key)
        target = self.target
        with open_engine(target) as engine:
            rows = engine.replace(table, obj, window=window, only_keys=only_keys)
            if latest is not None:
                engine.ensure_latest_view(table, latest.key, latest.order, latest.exclude)
            engine.refresh_views_excluding(table)
            columns = engine.columns(table)
        descriptions = metadata.get("column_descriptions") or {}
        context.add_output_metadata(
            output_metadata(table, rows, columns, target, window, latest, descriptions)
        )

    def load_input(self, context: InputContext) -> pl.DataFrame:
        key = _asset_key(context)
        upstream = context.upstream_output
        upstream_metadata = plain_metadata(upstream.definition_metadata if upstream else None)
        table = asset_table(context.asset_key, upstream_metadata)
        window = partition_window(context, upstream_metadata.get("partition_expr"), key)
        columns = plain_metadata(context.definition_metadata).get("columns")
        if columns is not None and (
            isinstance(columns, str) or not all(isinstance(c, str) for c in columns)
        ):
            raise WarehouseError(f"Input {key}: metadata 'columns' must be a list of names.")
        target = self.target
        with open_engine(target) as engine:
            if not engine.table_exists(table):
                raise TableNotFoundError(
                    f"The table {table} for asset {key} does not exist in the {target.kind}"
                    f" warehouse. Materialize the upstream asset {key} first."
                )
            return engine.read(table, columns=columns, window=window)


def _asset_key(context: InputContext | OutputContext) -> str:
    if not context.has_asset_key:
        raise WarehouseError(
            "WarehouseIOManager stores asset outputs only; this op output has no asset key."
        )
    return context.asset_key.to_user_string()


def plain_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Definition metadata with MetadataValue wrappers removed."""
    return {
        name: value.value if isinstance(value, MetadataValue) else value
        for name, value in (metadata or {}).items()
    }


def partition_window(
    context: InputContext | OutputContext, partition_expr: object, key: str
) -> Window | None:
    """The time window of the partitions this step writes or reads, or None if unpartitioned."""
    if not context.has_asset_partitions:
        return None
    partitions_def = context.asset_partitions_def
    if not isinstance(partitions_def, TimeWindowPartitionsDefinition):
        raise WarehouseError(
            f"Asset {key} uses {type(partitions_def).__name__}; WarehouseIOManager supports"
            " time-window partitions only (daily, weekly, cron-based...)."
        )
    if not isinstance(partition_expr, str) or not partition_expr:
        raise WarehouseError(
            f"Asset {key} is partitioned, so WarehouseIOManager needs to know which column holds"
            " the partition time: add metadata={'partition_expr': '<timestamp column>'} to the"
            " asset definition."
        )
    return Window.from_time_window(partition_expr, context.asset_partitions_time_window)


def latest_spec(value: object, key: str) -> LatestSpec | None:
    """Parse ``latest_by={"key": [...], "order": "<col>"}`` (``key`` may be one name), with an
    optional ``"exclude": {"table": "schema.table", "on": {"<col>": "<its col>"}}``."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        keys = value.get("key")
        order = value.get("order")
        if isinstance(keys, str):
            keys = [keys]
        exclude = _exclude(value.get("exclude"))
        if (
            isinstance(keys, list | tuple)
            and keys
            and all(isinstance(k, str) for k in keys)
            and isinstance(order, str)
            and exclude is not False
        ):
            return LatestSpec(tuple(keys), order, exclude or None)
    raise WarehouseError(
        f"Asset {key}: metadata latest_by must look like"
        f" {{'key': ['id'], 'order': 'updated_at'}} (optionally with 'exclude':"
        f" {{'table': 'schema.table', 'on': {{'id': 'record_id'}}}}), got {value!r}."
    )


def _exclude(value: object) -> Exclude | bool | None:
    """The exclusion of a latest_by; ``None`` without one, ``False`` when it is malformed."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return False
    table, on = value.get("table"), value.get("on")
    if (
        not isinstance(table, str)
        or not isinstance(on, Mapping)
        or not on
        or not all(isinstance(a, str) and isinstance(b, str) for a, b in on.items())
    ):
        return False
    try:
        return Exclude(TableRef.parse(table), tuple(on.items()))
    except ValueError:
        return False


def output_metadata(
    table: TableRef,
    rows: int,
    columns: Mapping[str, str],
    target: WarehouseTarget,
    window: Window | None,
    latest: LatestSpec | None,
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": MetadataValue.int(rows),
        TABLE_NAME_KEY: MetadataValue.text(str(table)),
        "table": MetadataValue.text(str(table)),
        "dagster/column_schema": MetadataValue.table_schema(
            TableSchema(
                columns=[
                    TableColumn(name, kind, description=describe(name, descriptions or {}))
                    for name, kind in columns.items()
                ]
            )
        ),
        "warehouse": MetadataValue.text(target.kind),
    }
    if window is not None:
        metadata["partition_window"] = MetadataValue.text(
            f"{window.column} in [{window.start_utc.isoformat()}, {window.end_utc.isoformat()}) UTC"
        )
    if latest is not None:
        metadata["latest_view"] = MetadataValue.text(str(table.latest_view))
    return metadata


def describe(column: str, descriptions: Mapping[str, str]) -> str | None:
    """The column's description: its own entry, else the longest matching ``prefix*`` entry."""
    if column in descriptions:
        return descriptions[column]
    prefixes = [k for k in descriptions if k.endswith("*") and column.startswith(k[:-1])]
    return descriptions[max(prefixes, key=len)] if prefixes else None


def asset_table(asset_key: AssetKey, metadata: Mapping[str, Any]) -> TableRef:
    """The asset's table: its ``dagster/table_name`` definition metadata (``schema.table``) when
    it has one, else the last two components of its key."""
    named = metadata.get(TABLE_NAME_KEY)
    return TableRef.parse(str(named)) if named else TableRef.from_asset_key(asset_key)
