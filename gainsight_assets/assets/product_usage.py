"""``gainsight/product_usage``: usage metrics rolled up per account, product, metric and week.

With ``product_usage.aggregate`` on (usage stored as flat rows), rows are grouped by the aggregate
key, which may hold a primary-CRM account id or a Gainsight company GSID; the metric name and value
come from the configured fields, the dimension from the dimension key, and each additional value
field becomes its own column, all combined over the week with ``aggregate.function``. Without
aggregation each row's ``GsCompanyId`` resolves the account and every numeric field (per describe)
is a metric. Everything is vectorised Polars.

The grain is one row per (``week_start``, ``account_id``, ``product``, ``metric``, ``dimension``): every raw row
of an account is combined into it, however the row reached the account (its key an account id,
or a company GSID, or two companies of one account). How rows were matched is kept as
information (``match_methods``), never as part of the key. An aggregate is only right over every
raw row of its week, so a run whose read stopped early writes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from dagster import Failure, MetadataValue

from gainsight_assets.naming import unique_columns, value_column
from gainsight_assets.partitions import window_start
from gainsight_assets.pipeline import Finished, ObjectSpec, Query
from gainsight_assets.sync import SyncRun, require_fields
from gainsight_assets.tenant import Tenant
from resources.gainsight import window_where
from resources.gainsight.metadata import DATE_TYPES, NUMBER_TYPES
from resources.warehouse import WarehouseResource, Window

if TYPE_CHECKING:
    import polars as pl

NAME = "product_usage"
GROUP_COLUMNS = ("week_start", "account_id", "product", "metric", "dimension")
GRAIN = GROUP_COLUMNS
# Which raw usage records each stored week was aggregated from: a deletion of one of them
# means the week must be aggregated again (``sensors``, after ``gainsight/deleted_records``).
SOURCES = f"{NAME}_records"
SOURCES_GRAIN = ("week_start", "record_id")
# Columns of the rows and the rollup that an additional value field's column must not take.
RESERVED = (
    *GROUP_COLUMNS,
    "value",
    "source_rows",
    "match_methods",
    "usage_key",
    "usage_date",
    "record_id",
    "match_method",
)


def combine(expr: pl.Expr, function: str) -> pl.Expr:
    """The weekly combination; ``last`` takes the value of the latest row (by date, then id)."""
    if function == "last":
        return expr.sort_by(["usage_date", "record_id"], nulls_last=True).last()
    return {"sum": expr.sum(), "max": expr.max(), "mean": expr.mean()}[function]


def aggregate_weekly(frame: pl.DataFrame, value_columns: list[str], function: str) -> pl.DataFrame:
    """One row per account, product, metric, dimension and week.

    Groups by the ``GROUP_COLUMNS`` the frame has (``weekly_usage`` adds the constant product
    after grouping). Only ``last`` depends on row order, and it orders within each group, so
    the frame is never sorted as a whole; the query runs lazily so that only the columns it
    needs are touched.
    """
    return _aggregate(frame.lazy(), value_columns, function).collect()


def _aggregate(frame: pl.LazyFrame, value_columns: list[str], function: str) -> pl.LazyFrame:
    """Text keys are grouped as categoricals: grouping millions of rows by several text columns
    row-encodes every key (about 1 GiB for 10 million usage rows), four-byte codes a fraction."""
    import polars as pl

    schema = frame.collect_schema()
    keys = [c for c in GROUP_COLUMNS if c in schema]
    text = [c for c in keys if schema[c] == pl.String]
    methods = (
        [pl.col("match_method").unique().sort().str.join(",").alias("match_methods")]
        if "match_method" in schema
        else []
    )
    return (
        frame.with_columns(pl.col(text).cast(pl.Categorical))
        .group_by(keys)
        .agg(
            combine(pl.col("value"), function),
            *(combine(pl.col(c), function) for c in value_columns),
            pl.len().alias("source_rows"),
            *methods,
        )
        .with_columns(pl.col(text).cast(pl.String))
        .sort(keys, nulls_last=True)
    )


def weekly_usage(
    matched: pl.DataFrame, value_columns: list[str], function: str, product: str
) -> pl.DataFrame:
    """Resolved flat usage rows -> the asset's output: weekly rows with their ``usage_key``."""
    import polars as pl

    weekly_rows = _aggregate(
        matched.lazy().with_columns(
            window_start(pl.col("usage_date"), "weekly").alias("week_start")
        ),
        value_columns,
        function,
    )
    return (
        weekly_rows.select(
            *(pl.lit(product).alias(c) if c == "product" else pl.col(c) for c in GROUP_COLUMNS),
            pl.exclude(GROUP_COLUMNS),
        )
        .with_columns(
            pl.concat_str(
                [pl.col(c).cast(pl.String).fill_null("") for c in GROUP_COLUMNS], separator="|"
            ).alias("usage_key")
        )
        .collect()
    )


def week_sources(matched: pl.DataFrame) -> pl.DataFrame:
    """One row per (``week_start``, ``record_id``) of the raw rows a week's aggregate counts."""
    import polars as pl

    return (
        matched.select(
            window_start(pl.col("usage_date"), "weekly").alias("week_start"),
            pl.col("record_id").cast(pl.String),
        )
        .filter(pl.col("record_id").str.strip_chars() != "")
        .unique()
        .sort(SOURCES_GRAIN)
    )


def unaccounted_sources(
    stored: pl.DataFrame, read_ids: pl.Series, deleted_ids: pl.Series
) -> pl.DataFrame:
    """The stored weeks' source records (``week_start``, ``record_id``) that a new read of those
    weeks neither returned nor can explain by a logged deletion."""
    import polars as pl

    return stored.filter(
        ~pl.col("record_id").is_in(read_ids.implode()),
        ~pl.col("record_id").is_in(deleted_ids.implode()),
    )


def check_accounted(
    warehouse: WarehouseResource, tenant: Tenant, fetched: pl.DataFrame, window: Window
) -> str | None:
    """Why the read must not replace the stored weeks, or None. A week is rebuilt whole from
    its read, so a record the stored week counted that is missing from the read, and not
    logged as deleted, means the answer was short (e.g. an early empty page)."""
    import polars as pl

    from gainsight_assets.assets.deleted_records import NAME as DELETED_NAME

    sources, deleted_table = tenant.table(SOURCES), tenant.table(DELETED_NAME)
    if not warehouse.table_exists(sources):
        return None
    stored = warehouse.read(sources, columns=list(SOURCES_GRAIN), window=window)
    if stored.is_empty():
        return None
    deleted = (
        warehouse.read(
            deleted_table,
            columns=["record_id"],
            equals={"object": tenant.settings.product_usage.object},
        )
        if warehouse.table_exists(deleted_table)
        else pl.DataFrame(schema={"record_id": pl.String})
    )
    missing = unaccounted_sources(
        stored, fetched["record_id"].cast(pl.String), deleted["record_id"].cast(pl.String)
    )
    if missing.is_empty():
        return None
    weeks = ", ".join(sorted(missing["week_start"].dt.strftime("%Y-%m-%d").unique()))
    return (
        f"{missing.height} usage record(s) that the stored week(s) {weeks} counted were not"
        f" returned and are not in {deleted_table}, so the answer may be short:"
        " nothing was written and the stored weeks are unchanged. Re-run the weeks; if the"
        f" records were deleted in Gainsight, sync deletions first ({tenant.named('gainsight_deleted_records_sync')}"
        f" over the days they were deleted); to accept the smaller weeks, delete their rows from"
        f" {sources} and re-run."
    )


def plan(run: SyncRun) -> list[Query]:
    """One query over the week: flat rows (aggregation on) or one row per record whose numeric
    fields are the metrics (aggregation off)."""
    cfg = run.settings.product_usage
    agg = cfg.aggregate
    description = run.gainsight.describe(cfg.object)
    date_info = description.require(cfg.date_field, setting="product_usage.date_field")
    gsid = description.require("Gsid", setting="product_usage.object").field_name
    fields: dict[str, str] = {}
    numeric: list[str] = []
    extras: list[str] = []
    if agg.enabled:
        fields = require_fields(
            description,
            {
                "product_usage.aggregate.key": agg.key,
                "product_usage.aggregate.metric_name_field": agg.metric_name_field,
                "product_usage.aggregate.metric_value_field": agg.metric_value_field,
                "product_usage.aggregate.dimension_key_field": agg.dimension_key_field,
            },
        )
        extras = [
            description.require(
                name, setting="product_usage.aggregate.additional_value_fields"
            ).field_name
            for name in agg.additional_value_fields
        ]
        select = [gsid, date_info.field_name, *fields.values(), *extras]
        key_field = fields["product_usage.aggregate.key"]
    else:
        key_field = description.require("GsCompanyId", setting="product_usage.object").field_name
        numeric = [
            f.field_name
            for f in description.fields
            if f.data_type.upper() in NUMBER_TYPES and f.field_name != gsid
        ]
        select = [gsid, key_field, date_info.field_name, *numeric]
    value_columns = list(unique_columns(extras, value_column, reserved=RESERVED).values())
    run.extras["value_columns"] = value_columns
    start, end = run.window
    base = {"record_id": gsid, "usage_key": key_field, "usage_date": date_info.field_name}
    shape = (
        partial(
            shape_flat,
            base=base,
            metric=fields["product_usage.aggregate.metric_name_field"],
            value=fields["product_usage.aggregate.metric_value_field"],
            dimension=fields.get("product_usage.aggregate.dimension_key_field"),
            extras=dict(zip(extras, value_columns, strict=True)),
        )
        if agg.enabled
        else partial(shape_wide, base=base, numeric=numeric)
    )
    return [
        Query(
            object_name=cfg.object,
            fields=select,
            shape=shape,
            id_col="record_id",
            record_key=("record_id",),
            where=window_where(
                date_info.field_name,
                start,
                end,
                date_only=date_info.data_type.upper() in DATE_TYPES,
            ),
            order_by={date_info.field_name: "asc", gsid: "asc"},
            date_col="usage_date",
            resolve_by="key",
            key_col="usage_key",
            key_field=key_field,
        )
    ]


def _base(base: dict[str, str]) -> list[pl.Expr]:
    import polars as pl

    return [
        pl.col(base["record_id"]).alias("record_id"),
        pl.col(base["usage_key"]).cast(pl.String).alias("usage_key"),
        pl.col(base["usage_date"]).alias("usage_date"),
    ]


def shape_flat(
    page: pl.DataFrame,
    *,
    base: dict[str, str],
    metric: str,
    value: str,
    dimension: str | None,
    extras: dict[str, str],
) -> pl.DataFrame:
    """Flat usage rows: one metric per row, named by ``metric`` and valued by ``value``."""
    import polars as pl

    return page.select(
        *_base(base),
        pl.col(metric).cast(pl.String).alias("metric"),
        (pl.col(dimension).cast(pl.String) if dimension else pl.lit(None, pl.String)).alias(
            "dimension"
        ),
        pl.col(value).cast(pl.Float64).alias("value"),
        *(pl.col(name).cast(pl.Float64).alias(column) for name, column in extras.items()),
    )


def shape_wide(page: pl.DataFrame, *, base: dict[str, str], numeric: list[str]) -> pl.DataFrame:
    """Wide usage records: each numeric field is a metric (empty values left out)."""
    import polars as pl

    return (
        page.select(*_base(base), *numeric)
        .unpivot(
            index=["record_id", "usage_key", "usage_date"],
            on=numeric,
            variable_name="metric",
            value_name="value",
        )
        .with_columns(pl.lit(None, pl.String).alias("dimension"), pl.col("value").cast(pl.Float64))
        .filter(pl.col("value").is_not_null())
    )


def guard(run: SyncRun, fetched: pl.DataFrame) -> None:
    """An aggregate is only right over every raw row of its week: refuse a partial read, and a
    read that misses records the stored week counted (and that are not logged as deleted)."""
    cfg = run.settings.product_usage
    if not run.read_in_full:
        raise Failure(
            description=f"{cfg.object} was not read in full ({run.unread[cfg.object]}), so"
            " the weekly aggregates would be partial: nothing was written and the stored"
            f" weeks are unchanged. Re-run {', '.join(run.partition_keys)}.",
            allow_retries=False,
        )
    start, end = run.window
    short = check_accounted(run.warehouse, run.tenant, fetched, Window("week_start", start, end))
    if short is not None:
        raise Failure(description=short, allow_retries=False)


def finish(run: SyncRun, matched: pl.DataFrame, read: pl.DataFrame) -> Finished:
    cfg = run.settings.product_usage
    function = cfg.aggregate.function if cfg.aggregate.enabled else "sum"
    output = weekly_usage(matched, run.extras["value_columns"], function, cfg.product_name)
    # read in full (checked by the guard): the run's weeks are replaced whole
    sources = run.tenant.table(SOURCES)
    start, end = run.window
    run.warehouse.replace(sources, week_sources(matched), window=Window("week_start", start, end))
    return Finished(
        output,
        also_grains={sources: (SOURCES_GRAIN, "week_start")},
        # a flat usage row counts once in the match rate, however many metrics it carries
        matched_records=matched["record_id"].n_unique(),
        metadata={
            "metrics": MetadataValue.json(sorted(output["metric"].unique().drop_nulls().to_list())),
            "aggregate_function": function,
        },
    )


def _describe(tenant: Tenant) -> str:
    cfg = tenant.settings.product_usage
    return (
        f"Gainsight `{cfg.object}` usage per primary-CRM account, product, metric, dimension"
        f" and week (Monday 00:00 UTC), combined with `{cfg.aggregate.function}`."
    )


SPEC = ObjectSpec(
    name="product_usage",
    table=NAME,
    cadence="weekly",
    cron="30 0 * * 1",
    grain=GRAIN,
    window_column="week_start",
    describe=_describe,
    enabled=lambda s: s.product_usage.enabled,
    plan=plan,
    finish=finish,
    guard=guard,
    first_sync_span=lambda _s: timedelta(weeks=4),
    demo_span=timedelta(weeks=4),
    gsid_override=lambda s: s.product_usage.gsid_field_override,
)
