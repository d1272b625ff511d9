"""``gainsight/survey_responses``: NPS / CSAT / custom survey responses, daily, as activities.

Single mode reads one object (typically ``survey_response``); multiple mode one object per row of
``surveys.objects``, each with its own field names. Output fields are auto-detected from describe
(``gainsight_assets.survey_fields``) unless ``field_mappings`` names them.

``response_limit`` caps the records read per object per run, newest first. A run it cuts short
stores the responses it read and keeps every response stored before; the days it could not
read to their end are listed in ``incomplete_partitions`` and in the ``read_in_full`` check.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from dagster import BackfillPolicy, MetadataValue

from gainsight_assets.assets.deleted_records import latest_by
from gainsight_assets.naming import custom_field_column, unique_columns
from gainsight_assets.pipeline import Finished, ObjectSpec, Query
from gainsight_assets.settings import (
    MAX_LOOKBACK_DAYS,
    SURVEY_ACTIVITY_TYPE,
    Settings,
    SurveyObject,
)
from gainsight_assets.survey_fields import REQUIRED, detect_fields
from gainsight_assets.sync import SyncRun
from gainsight_assets.tenant import Tenant
from resources.gainsight import and_where, window_where
from resources.gainsight.metadata import ObjectDescription
from resources.warehouse import KeyedRows, TableRef, WarehouseResource

if TYPE_CHECKING:
    import polars as pl

NAME = "survey_responses"
RECORD_KEY = ("source_object", "response_id")
GRAIN = ("source_object", "response_id", "modified_at")  # one row per version of a response
CUSTOM_FIELDS = "custom_fields"
CUSTOM_FIELDS_GRAIN = ("object", "field")
OUTPUT_COLUMNS = (
    "response_id",
    "account_id",
    "match_method",
    "activity_type",
    "survey_type",
    "score",
    "question",
    "answer",
    "responded_at",
    "respondent_email",
    "source_object",
    "modified_at",
    "gs_company_id",
)


@functools.cache
def _output_types() -> dict[str, pl.DataType]:
    import polars as pl

    return {
        "score": pl.Float64,
        "responded_at": pl.Datetime("us", "UTC"),
    }


def shape_page(
    page: pl.DataFrame,
    *,
    mapping: dict[str, str | None],
    row: SurveyObject,
    date_name: str,
    custom: dict[str, str],
) -> pl.DataFrame:
    """One page of an object's responses in the output layout; ``custom``: the custom fields'
    columns by field name."""

    import polars as pl

    def mapped(name: str) -> pl.Expr:
        source = mapping.get(name)
        dtype = _output_types().get(name, pl.String)
        return (pl.col(source) if source else pl.lit(None)).cast(dtype).alias(name)

    survey_type = (
        pl.lit(row.survey_type)
        if row.survey_type
        else mapped("survey_type").str.to_uppercase().fill_null("CUSTOM")
    )
    return page.select(
        mapped("response_id"),
        mapped("gs_company_id"),
        pl.lit(SURVEY_ACTIVITY_TYPE).alias("activity_type"),
        survey_type.alias("survey_type"),
        mapped("score"),
        mapped("question"),
        mapped("answer"),
        mapped("responded_at"),
        mapped("respondent_email"),
        pl.lit(row.object).alias("source_object"),
        pl.col(date_name).alias("modified_at"),
        *(pl.col(name).alias(column) for name, column in custom.items()),
    )


def survey_mapping(description: ObjectDescription, row: SurveyObject) -> dict[str, str | None]:
    mapping = detect_fields(description, row.field_mappings)
    missing = [name for name in REQUIRED if not mapping.get(name)]
    if missing:
        raise ValueError(
            f"Survey object '{row.object}': no field found for {', '.join(missing)}. Set"
            f" surveys.objects[].field_mappings ({', '.join(f'{m}: <field>' for m in missing)})"
            f" in the tenant's settings. Its fields are: {', '.join(description.field_names)}."
        )
    return mapping


def plan(run: SyncRun) -> list[Query]:
    """One query per survey object, newest first, up to ``surveys.response_limit`` each."""
    cfg = run.settings.surveys
    start, end = run.window
    queries, custom_rows = [], []
    for row in cfg.objects:
        description = run.gainsight.describe(row.object)
        mapping = survey_mapping(description, row)
        date_field = description.require(cfg.date_field, setting="surveys.date_field")
        custom = (
            [f for f in description.fields if f.is_custom] if cfg.register_custom_fields else []
        )
        columns = unique_columns(
            [f.field_name for f in custom], custom_field_column, reserved=OUTPUT_COLUMNS
        )
        select = [name for name in mapping.values() if name]
        select += [date_field.field_name, *(f.field_name for f in custom)]
        queries.append(
            Query(
                object_name=row.object,
                fields=select,
                shape=partial(
                    shape_page,
                    mapping=mapping,
                    row=row,
                    date_name=date_field.field_name,
                    custom=columns,
                ),
                id_col="response_id",
                record_key=RECORD_KEY,
                where=and_where(window_where(date_field.field_name, start, end), cfg.filter),
                order_by={date_field.field_name: "desc", mapping["response_id"]: "asc"},
                max_records=cfg.response_limit,
                date_col="modified_at",
                descending=True,
                key_field=mapping["gs_company_id"] or "GsCompanyId",
            )
        )
        custom_rows += [
            {
                "object": row.object,
                "field": f.field_name,
                "column": columns[f.field_name],
                "data_type": f.data_type,
                "label": f.label,
            }
            for f in custom
        ]
    run.extras[CUSTOM_FIELDS] = custom_rows
    return queries


def finish(run: SyncRun, matched: pl.DataFrame, read: pl.DataFrame) -> Finished:
    cfg = run.settings.surveys
    custom_rows = run.extras.get(CUSTOM_FIELDS, [])
    custom_fields = run.tenant.table(CUSTOM_FIELDS)
    if cfg.register_custom_fields:
        _register_custom_fields(run.warehouse, custom_fields, cfg.objects, custom_rows)
    extra = [c for c in matched.columns if c not in OUTPUT_COLUMNS]
    output = matched.select(*OUTPUT_COLUMNS, *sorted(extra)).sort(
        "modified_at", "source_object", "response_id"
    )
    if run.truncated:
        run.context.log.warning(
            "surveys.response_limit (%d) reached for %s: older responses of %s were not read;"
            " their stored rows were kept. Raise the limit or re-run smaller ranges.",
            cfg.response_limit,
            ", ".join(run.truncated),
            ", ".join(sorted(run.incomplete_partitions)),
        )
    return Finished(
        KeyedRows(output, read),
        also_grains=(
            {custom_fields: (CUSTOM_FIELDS_GRAIN, None)} if cfg.register_custom_fields else {}
        ),
        metadata={
            "response_limit": cfg.response_limit,
            "survey_types": MetadataValue.json(
                dict(output["survey_type"].value_counts().sort("survey_type").iter_rows())
            ),
            "custom_fields_registered": len(custom_rows),
        },
    )


def _describe(tenant: Tenant) -> str:
    objects = ", ".join(o.object for o in tenant.settings.surveys.objects)
    return (
        f"Survey responses ({objects}) modified each UTC day, resolved to primary-CRM accounts."
        f" Keeps every version; read `{tenant.table(NAME).latest_view}` for one row per response."
    )


def _lookback(settings: Settings) -> timedelta:
    return timedelta(days=settings.surveys.lookback_days)


SPEC = ObjectSpec(
    name="surveys",
    table=NAME,
    cadence="daily",
    cron="20 0 * * *",
    grain=GRAIN,
    window_column="modified_at",
    describe=_describe,
    enabled=lambda s: s.surveys.enabled,
    plan=plan,
    finish=finish,
    first_sync_span=_lookback,
    demo_span=timedelta(days=30),
    lookback=_lookback,
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=MAX_LOOKBACK_DAYS),
    gsid_override=lambda s: s.surveys.gsid_field_override,
    metadata=lambda tenant: {
        "latest_by": latest_by(
            tenant,
            ["source_object", "response_id"],
            "modified_at",
            {"source_object": "object", "response_id": "record_id"},
        )
    },
)


def _register_custom_fields(
    warehouse: WarehouseResource, table: TableRef, objects: list[SurveyObject], rows: list[dict]
) -> None:
    import polars as pl

    schema = {
        "object": pl.String,
        "field": pl.String,
        "column": pl.String,
        "data_type": pl.String,
        "label": pl.String,
    }
    frame = pl.DataFrame(rows, schema=schema)
    for row in objects:
        warehouse.replace(
            table,
            frame.filter(pl.col("object") == row.object),
            equals={"object": row.object},
        )
