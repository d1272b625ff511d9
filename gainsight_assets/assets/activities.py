"""``gainsight/activities``: the activity timeline, every 4 hours, routed to activity types.

Each entry's ``ReportingCategory`` maps to ``EMAIL`` / ``MEETING`` / ``TYPE_MANUAL`` through
``activity.category_map`` (case-insensitively). An unmapped category becomes ``TYPE_MANUAL`` and is
listed with its count in the materialization metadata, so the mapping can be extended.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from dagster import MetadataValue

from gainsight_assets.assets.deleted_records import latest_by
from gainsight_assets.pipeline import Finished, ObjectSpec, Query
from gainsight_assets.sync import SyncRun, require_fields
from gainsight_assets.tenant import Tenant
from resources.gainsight import window_where
from resources.warehouse import KeyedRows

if TYPE_CHECKING:
    import polars as pl

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
    import polars as pl

    return (
        categories.str.strip_chars()
        .str.to_lowercase()
        .replace_strict(category_map, default="TYPE_MANUAL", return_dtype=pl.String)
    )


def unmapped_categories(frame: pl.DataFrame, category_map: dict[str, str]) -> dict[str, int]:
    import polars as pl

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


def plan(run: SyncRun) -> list[Query]:
    """One query over the window, oldest first; the fields each page is shaped from."""
    cfg = run.settings.activity
    description = run.gainsight.describe(cfg.object)
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
    return [
        Query(
            object_name=cfg.object,
            fields=[*fields.values(), *optional.values()],
            shape=partial(
                shape_page, fields=fields, optional=optional, category_map=cfg.category_map
            ),
            id_col="activity_id",
            record_key=RECORD_KEY,
            where=window_where(date_field, start, end),
            order_by={date_field: "asc", fields["Gsid"]: "asc"},
            date_col="modified_at",
            key_field=fields["GsCompanyId"],
        )
    ]


def shape_page(
    page: pl.DataFrame,
    *,
    fields: dict[str, str],
    optional: dict[str, str],
    category_map: dict[str, str],
) -> pl.DataFrame:
    """One page of activities in the output layout (before resolution)."""

    import polars as pl

    def text(name: str) -> pl.Expr:
        return pl.col(optional[name]) if name in optional else pl.lit(None, pl.String)

    return page.select(
        pl.col(fields["Gsid"]).alias("activity_id"),
        pl.col(fields["GsCompanyId"]).alias("gs_company_id"),
        route_categories(pl.col(fields["ReportingCategory"]), category_map).alias("activity_type"),
        pl.col(fields["ReportingCategory"]).alias("reporting_category"),
        text("TypeName").alias("type_name"),
        text("Subject").alias("subject"),
        text("Notes").alias("notes"),
        (
            pl.col(optional["ActivityDate"])
            if "ActivityDate" in optional
            else pl.lit(None, pl.Datetime("us", "UTC"))
        ).alias("activity_date"),
        pl.col(fields["activity.date_field"]).alias("modified_at"),
    )


def finish(run: SyncRun, matched: pl.DataFrame, read: pl.DataFrame) -> Finished:
    category_map = run.settings.activity.category_map
    unmapped = unmapped_categories(matched, category_map)
    if unmapped:
        run.context.log.warning(
            "ReportingCategory values without a mapping were routed to TYPE_MANUAL: %s. Add"
            " them to activity.category_map in the tenant's settings.",
            ", ".join(f"{k} ({v})" for k, v in unmapped.items()),
        )
    # Rows keep the API's order (the query orders by the date field, then Gsid): no sorted copy.
    output = matched.select(OUTPUT_COLUMNS)
    return Finished(
        KeyedRows(output, read),
        metadata={
            "unmapped_categories": MetadataValue.json(unmapped),
            "activity_types": MetadataValue.json(
                dict(output["activity_type"].value_counts().sort("activity_type").iter_rows())
            ),
        },
    )


def _describe(tenant: Tenant) -> str:
    return (
        f"Gainsight `{tenant.settings.activity.object}` entries modified in each 4-hour UTC"
        " window, resolved to primary-CRM accounts and routed to activity types. Keeps every"
        f" version; read `{tenant.table(NAME).latest_view}` for one row per activity."
    )


SPEC = ObjectSpec(
    name="activities",
    table=NAME,
    cadence="four_hourly",
    cron="15 */4 * * *",
    grain=GRAIN,
    window_column="modified_at",
    describe=_describe,
    enabled=lambda s: s.activity.enabled,
    plan=plan,
    finish=finish,
    first_sync_span=lambda s: timedelta(days=s.surveys.lookback_days),  # the lookback cap
    demo_span=timedelta(days=7),
    gsid_override=lambda s: s.activity.gsid_field_override,
    metadata=lambda tenant: {
        "latest_by": latest_by(tenant, ["activity_id"], "modified_at", {"activity_id": "record_id"})
    },
)
