"""``gainsight/activities``: the activity timeline, every 4 hours, routed to activity types.

Each entry's ``ReportingCategory`` maps to ``EMAIL`` / ``MEETING`` / ``TYPE_MANUAL`` through
``activity.category_map`` (case-insensitively). An unmapped category becomes ``TYPE_MANUAL`` and is
listed with its count in the materialization metadata, so the mapping can be extended.
"""

from collections.abc import Iterator

import polars as pl
from dagster import AssetExecutionContext, BackfillPolicy, MetadataValue, asset

from gainsight_assets.assets.common import run_resources, shared_asset_args, table_metadata
from gainsight_assets.assets.deleted_records import latest_by
from gainsight_assets.columns import COLUMN_DESCRIPTIONS
from gainsight_assets.partitions import four_hourly
from gainsight_assets.sync import SyncRun, quality_check_specs, read_keys, require_fields
from gainsight_assets.tenant import Tenant
from resources.gainsight import window_where
from resources.warehouse import KeyedRows

NAME = "activities"
RECORD_KEY = ("activity_id",)
GRAIN = ("activity_id", "modified_at")  # one row per version of an activity
OPTIONAL_FIELDS = ("Subject", "Notes", "ActivityDate", "TypeName")
OUTPUT_COLUMNS = (
    "activity_id",
    "account_id",
    "match_method",
    "activity_type",
    "reporting_category",
    "type_name",
    "subject",
    "notes",
    "activity_date",
    "modified_at",
    "gs_company_id",
)


def route_categories(categories: pl.Expr, category_map: dict[str, str]) -> pl.Expr:
    """ReportingCategory → activity type; unmapped (and missing) → TYPE_MANUAL."""
    return (
        categories.str.strip_chars()
        .str.to_lowercase()
        .replace_strict(category_map, default="TYPE_MANUAL", return_dtype=pl.String)
    )


def unmapped_categories(frame: pl.DataFrame, category_map: dict[str, str]) -> dict[str, int]:
    counts = (
        frame.select(pl.col("reporting_category").str.strip_chars())
        .filter(
            pl.col("reporting_category").is_not_null()
            & ~pl.col("reporting_category").str.to_lowercase().is_in(list(category_map))
        )
        .group_by("reporting_category")
        .len()
        .sort("len", "reporting_category", descending=[True, False])
    )
    return dict(counts.iter_rows())


def build_activities_asset(tenant: Tenant):
    settings = tenant.settings
    cfg = settings.activity
    key, table = tenant.key(NAME), tenant.table(NAME)

    @asset(
        key=key,
        partitions_def=four_hourly(settings.start_date),
        backfill_policy=BackfillPolicy.single_run(),
        metadata={
            "column_descriptions": COLUMN_DESCRIPTIONS,
            "partition_expr": "modified_at",
            **table_metadata(tenant, NAME),
            "latest_by": latest_by(
                tenant, ["activity_id"], "modified_at", {"activity_id": "record_id"}
            ),
        },
        check_specs=quality_check_specs(tenant, key, GRAIN),
        description=(
            f"Gainsight `{cfg.object}` entries modified in each 4-hour UTC window, resolved to"
            " primary-CRM accounts and routed to activity types. Keeps every version; read"
            f" `{table.latest_view}` for one row per activity."
        ),
        **shared_asset_args(tenant),
    )
    def activities(context: AssetExecutionContext) -> Iterator:
        gainsight, warehouse = run_resources(context, tenant)
        run = SyncRun(context, tenant, gainsight, warehouse, cadence="four_hourly")
        run.open_gate(cfg.gsid_field_override)
        description = gainsight.describe(cfg.object)
        fields = require_fields(
            description,
            {
                "Gsid": "Gsid",
                "GsCompanyId": "GsCompanyId",
                "ReportingCategory": "ReportingCategory",
                "activity.date_field": cfg.date_field,
            },
        )
        optional = {
            name: found.field_name
            for name in OPTIONAL_FIELDS
            if (found := description.find(name)) is not None
        }
        date_field = fields["activity.date_field"]
        start, end = run.window
        stream = gainsight.query_pages(
            cfg.object,
            [*fields.values(), *optional.values()],
            where=window_where(date_field, start, end),
            order_by={date_field: "asc", fields["Gsid"]: "asc"},
        )

        def shape(page: pl.DataFrame) -> pl.DataFrame:
            def text(name: str) -> pl.Expr:
                return pl.col(optional[name]) if name in optional else pl.lit(None, pl.String)

            shaped = page.select(
                pl.col(fields["Gsid"]).alias("activity_id"),
                pl.col(fields["GsCompanyId"]).alias("gs_company_id"),
                route_categories(pl.col(fields["ReportingCategory"]), cfg.category_map).alias(
                    "activity_type"
                ),
                pl.col(fields["ReportingCategory"]).alias("reporting_category"),
                text("TypeName").alias("type_name"),
                text("Subject").alias("subject"),
                text("Notes").alias("notes"),
                (
                    pl.col(optional["ActivityDate"])
                    if "ActivityDate" in optional
                    else pl.lit(None, pl.Datetime("us", "UTC"))
                ).alias("activity_date"),
                pl.col(date_field).alias("modified_at"),
            )
            return shaped

        fetched = run.collect(stream, shape, date_col="modified_at", id_col="activity_id")
        unmapped = unmapped_categories(fetched, cfg.category_map)
        read = read_keys(fetched, RECORD_KEY)
        matched, unmatched = run.resolve(fetched, "gs_company_id")
        del fetched  # hold one copy of the window at a time
        run.write_unmatched(
            [
                run.record_unmatched(
                    cfg.object,
                    unmatched,
                    id_col="activity_id",
                    key_col="gs_company_id",
                    key_field=fields["GsCompanyId"],
                    date_col="modified_at",
                )
            ],
            read.select(
                pl.lit(cfg.object).alias("object"), pl.col("activity_id").alias("record_id")
            ),
        )
        # Rows keep the API's order (the query orders by the date field, then Gsid): no sorted copy.
        output = matched.select(OUTPUT_COLUMNS)
        del matched, unmatched
        if unmapped:
            context.log.warning(
                "ReportingCategory values without a mapping were routed to TYPE_MANUAL: %s. Add"
                " them to activity.category_map in gainsight.yaml.",
                ", ".join(f"{k} ({v})" for k, v in unmapped.items()),
            )
        yield from run.results(
            KeyedRows(output, read),
            table=table,
            grain=GRAIN,
            window_column="modified_at",
            extra_metadata={
                "unmapped_categories": MetadataValue.json(unmapped),
                "activity_types": MetadataValue.json(
                    dict(output["activity_type"].value_counts().sort("activity_type").iter_rows())
                ),
            },
        )

    return activities
