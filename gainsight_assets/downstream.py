"""``gainsight/customer_usage_weekly``: the example a data team copies for its own assets.

Per account, week and metric: the week's usage value, the previous week's and the week-over-week
change, plus the account's latest survey score in the week and its activity counts by type. It
reads the Gainsight tables through the warehouse IO manager (partition-aware inputs), so it works
unchanged on DuckDB and Postgres, and it counts each activity and survey response once (the latest
version) even when an edited record was synced in several windows.
"""

from typing import TYPE_CHECKING

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    DagsterType,
    MetadataValue,
    Output,
    TimeWindowPartitionMapping,
    TypeCheck,
    asset,
    define_asset_job,
)

from gainsight_assets.assets.common import IO_MANAGER_KEY, table_metadata
from gainsight_assets.columns import COLUMN_DESCRIPTIONS
from gainsight_assets.partitions import weekly
from gainsight_assets.settings import Settings
from gainsight_assets.sync import grain_check
from gainsight_assets.tenant import Tenant
from resources.warehouse import WarehouseResource, Window

if TYPE_CHECKING:
    import polars as pl

NAME = "customer_usage_weekly"
GRAIN = ("week_start", "account_id", "product", "metric", "dimension")
CUSTOMER_USAGE_JOB = "customer_usage_weekly_refresh"  # behind the tenant's name (Tenant.named)
ACTIVITY_COUNTS = {"EMAIL": "emails", "MEETING": "meetings", "TYPE_MANUAL": "manual_notes"}


def _is_polars_frame(_context, value) -> TypeCheck:
    import polars as pl

    if isinstance(value, pl.DataFrame):
        return TypeCheck(success=True)
    return TypeCheck(
        success=False,
        description=f"Value of type {type(value).__name__} is not a Polars DataFrame"
        " (polars.DataFrame); the warehouse IO manager loads each input as one.",
    )


# The inputs' type: a Polars DataFrame, checked when a run loads it. Declared here rather than
# inferred from a ``pl.DataFrame`` annotation, which Dagster would resolve (importing Polars)
# whenever definitions load.
POLARS_FRAME = DagsterType(
    _is_polars_frame,
    name="PolarsDataFrame",
    description="A Polars DataFrame (polars.DataFrame).",
)


def week_over_week(usage: "pl.DataFrame", week_start) -> "pl.DataFrame":
    """This week's value per account/product/metric/dimension beside last week's."""
    import polars as pl

    keys = ["account_id", "product", "metric", "dimension"]
    totals = usage.group_by([*keys, "week_start"]).agg(pl.col("value").sum())
    this_week = totals.filter(pl.col("week_start") == week_start)
    last_week = totals.filter(pl.col("week_start") < week_start).select(
        *keys, pl.col("value").alias("previous_value")
    )
    return this_week.join(last_week, on=keys, how="left", nulls_equal=True).with_columns(
        (pl.col("value") - pl.col("previous_value")).alias("wow_change"),
        pl.when(pl.col("previous_value") != 0)
        .then((pl.col("value") - pl.col("previous_value")) / pl.col("previous_value"))
        .alias("wow_change_pct"),
    )


def latest_scores(surveys: "pl.DataFrame") -> "pl.DataFrame":
    import polars as pl

    return (
        surveys.sort("modified_at")
        .unique(["source_object", "response_id"], keep="last")
        .sort("responded_at", "modified_at", nulls_last=False)
        .group_by("account_id")
        .agg(
            pl.col("score").last().alias("latest_survey_score"),
            pl.col("survey_type").last().alias("latest_survey_type"),
        )
    )


def activity_counts(activities: "pl.DataFrame") -> "pl.DataFrame":
    import polars as pl

    latest = activities.sort("modified_at").unique("activity_id", keep="last")
    counts = latest.group_by("account_id").agg(
        pl.len().cast(pl.Int64).alias("activities"),
        *(
            (pl.col("activity_type") == kind).sum().cast(pl.Int64).alias(column)
            for kind, column in ACTIVITY_COUNTS.items()
        ),
    )
    return counts


def build_customer_usage_asset(tenant: Tenant) -> AssetsDefinition:
    settings = tenant.settings
    key, table = tenant.key(NAME), tenant.table(NAME)

    @asset(
        key=key,
        partitions_def=weekly(settings.start_date),
        ins={
            # this week and the one before, for the week-over-week change
            "usage": AssetIn(
                tenant.key("product_usage"),
                partition_mapping=TimeWindowPartitionMapping(start_offset=-1),
                dagster_type=POLARS_FRAME,
            ),
            "surveys": AssetIn(tenant.key("survey_responses"), dagster_type=POLARS_FRAME),
            "activities": AssetIn(tenant.key("activities"), dagster_type=POLARS_FRAME),
        },
        metadata={
            **table_metadata(tenant, NAME),
            "partition_expr": "week_start",
            "column_descriptions": COLUMN_DESCRIPTIONS,
        },
        check_specs=[
            AssetCheckSpec(
                "unique_grain",
                asset=key,
                description=f"One row per ({', '.join(GRAIN)}) in the week (ERROR).",
            )
        ],
        io_manager_key=IO_MANAGER_KEY,
        group_name=tenant.group,
        kinds={"polars"},
        description="Weekly usage per account and metric with its week-over-week change, the"
        " latest survey score and activity counts. Refreshed when a week's usage lands.",
    )
    def customer_usage_weekly(
        context: AssetExecutionContext,
        warehouse: WarehouseResource,
        usage,  # POLARS_FRAME, as are surveys and activities
        surveys,
        activities,
    ):
        import polars as pl

        week_start = context.partition_time_window.start
        frame = (
            week_over_week(usage, week_start)
            .join(latest_scores(surveys), on="account_id", how="left")
            .join(activity_counts(activities), on="account_id", how="left")
            .with_columns(pl.col(c).fill_null(0) for c in ["activities", *ACTIVITY_COUNTS.values()])
            .sort("account_id", "product", "metric", "dimension", nulls_last=True)
        )
        yield Output(
            frame,
            metadata={
                "accounts": frame["account_id"].n_unique(),
                "metrics": MetadataValue.json(sorted(frame["metric"].unique().to_list())),
            },
        )
        window = context.partition_time_window
        yield grain_check(
            warehouse, {table: (GRAIN, Window("week_start", window.start, window.end))}
        )

    return customer_usage_weekly


def build_customer_usage_job(tenant: Tenant):
    return define_asset_job(
        tenant.named(CUSTOMER_USAGE_JOB),
        selection=[tenant.key(NAME)],
        tags=tenant.tags,  # it writes the tenant's warehouse: queued with the tenant's syncs
        description="Recompute customer_usage_weekly for a week (launched by a sensor).",
    )


def downstream_enabled(settings: Settings) -> bool:
    """It reads usage, surveys and activities, so it exists only when all three are synced."""
    return settings.product_usage.enabled and settings.surveys.enabled and settings.activity.enabled
