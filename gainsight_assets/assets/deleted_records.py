"""``gainsight/deleted_records``: the records deleted in Gainsight, per day of deletion.

Gainsight logs deletions for 15 days in ``deletions.object`` (``record_delete_log`` by default;
``ObjectName``, ``RecordId``, ``DeletedOn``). Each run reads its window of that log in one paged
query, limited to the objects this project syncs, and stores them in
``gainsight.deleted_records`` by key: a deletion once stored stays, even when the window is
re-read after Gainsight dropped it from its log. The ``_latest`` views leave these records out; the history tables
keep them. A tenant without the log object gets a WARN check result, not a failed run.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
    Output,
)

from gainsight_assets.pipeline import Finished, ObjectSpec, Query, Skip
from gainsight_assets.resolve import key_text
from gainsight_assets.sync import SyncRun, grain_check, read_keys, require_fields
from gainsight_assets.tenant import Tenant
from resources.gainsight import GainsightObjectNotFound, and_where, window_where
from resources.warehouse import KeyedRows, Window

if TYPE_CHECKING:
    import polars as pl

NAME = "deleted_records"
GRAIN = ("object", "record_id")


@functools.cache
def output_schema() -> dict[str, pl.DataType]:
    import polars as pl

    return {
        "object": pl.String,
        "record_id": pl.String,
        "deleted_at": pl.Datetime("us", "UTC"),
        "partition": pl.String,
    }


LOG_FIELDS = ("ObjectName", "RecordId", "DeletedOn")
RETENTION = timedelta(days=15)  # how long Gainsight keeps a deletion in its log
SYNCED_TABLES = ("companies", "activities", "survey_responses", "product_usage")


def latest_by(tenant: Tenant, key: list[str], order: str, on: dict[str, str]) -> dict:
    """A ``latest_by`` whose view leaves out deleted records (``on``: column -> column of the
    tenant's ``deleted_records``) while deletions are synced."""
    spec: dict = {"key": key, "order": order}
    if tenant.settings.deletions.enabled:
        spec["exclude"] = {"table": str(tenant.table(NAME)), "on": on}
    return spec


def check_specs(key: AssetKey) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            name="unique_grain",
            asset=key,
            description="One row per (object, record_id) in every synced window (ERROR).",
        ),
        AssetCheckSpec(
            name="read_in_full",
            asset=key,
            description="The deletion log of the run's window was read to its end (WARN).",
        ),
        AssetCheckSpec(
            name="deletions_gap",
            asset=key,
            description="No day of deletions was left unsynced until it left Gainsight's"
            " 15-day log (WARN); otherwise which objects and range to re-sync.",
        ),
        AssetCheckSpec(
            name="log_available",
            asset=key,
            description="The tenant has the deletion log object (deletions.object); without it"
            " deletions are skipped (WARN).",
        ),
    ]


def object_names_filter(names: list[str]) -> dict:
    """``ObjectName IN (...)``: each name as configured and in lower case (how the log spells
    object names varies; Gainsight object names match case-insensitively)."""
    values = list(dict.fromkeys([*names, *(n.casefold() for n in names)]))
    return {
        "conditions": [{"name": "ObjectName", "alias": "A", "value": values, "operator": "IN"}],
        "expression": "A",
    }


def shape_log(
    page: pl.DataFrame, fields: dict[str, str], names: list[str], fmt: str
) -> pl.DataFrame:
    """Log entries as rows of ``gainsight.deleted_records``, object names as configured; ids
    trimmed, and an entry with a blank id (it names no record) left out."""
    import polars as pl

    canonical = {name.casefold(): name for name in names}
    deleted_at = pl.col(fields["DeletedOn"]).cast(pl.Datetime("us", "UTC"))
    return page.select(
        pl.col(fields["ObjectName"])
        .cast(pl.String)
        .str.to_lowercase()
        .replace_strict(canonical, default=pl.col(fields["ObjectName"]).cast(pl.String))
        .alias("object"),
        key_text(pl.col(fields["RecordId"])).alias("record_id"),
        deleted_at.alias("deleted_at"),
        deleted_at.dt.strftime(fmt).alias("partition"),
    ).filter(pl.col("record_id").is_not_null())


def latest_deletion(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per deleted record: the last time it was deleted (a record can be restored from
    the recycle bin and deleted again)."""
    return (
        frame.sort("deleted_at", "object", "record_id")
        .unique(subset=list(GRAIN), keep="last", maintain_order=True)
        .select(list(output_schema()))
    )


def gap_check(
    last_end: datetime | None,
    run_start: datetime,
    now: datetime,
    names: list[str],
    has_data: bool,
) -> AssetCheckResult:
    """``deletions_gap``: were deletions before this run's window synced while Gainsight still
    had them? ``last_end`` is the end of the latest synced day before this run (None: never)."""
    horizon = now - RETENTION
    if last_end is None:  # never synced: what was deleted before this window is unknown
        lost, since = has_data, None
    else:
        lost, since = last_end < run_start and last_end < horizon, last_end
    if not lost:
        return AssetCheckResult(
            check_name="deletions_gap",
            passed=True,
            severity=AssetCheckSeverity.WARN,
            description="Deletions are synced without a gap longer than Gainsight keeps them.",
        )
    until = min(run_start, horizon)
    start = "the start of the synced data" if since is None else f"{since:%Y-%m-%d}"
    return AssetCheckResult(
        check_name="deletions_gap",
        passed=False,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"Deletions between {start} and {until:%Y-%m-%d} may have been missed: Gainsight"
            f" keeps them {RETENTION.days} days and they were not synced in time. Backfill"
            " the deletions for the days Gainsight still holds and keep their schedule on."
            f" Re-sync {', '.join(names)} over that range after removing its stored rows"
            " (README, Deleted records): a re-sync alone keeps rows it does not read again."
        ),
        metadata={
            "missed_from": start,
            "missed_until": f"{until:%Y-%m-%d}",
            "objects": MetadataValue.json(names),
        },
    )


def last_synced_end(context: AssetExecutionContext, partitions_def) -> datetime | None:
    """The end of the day of the latest deletions materialization (before this run's)."""
    event = context.instance.get_latest_materialization_event(context.asset_key)
    materialization = event.asset_materialization if event is not None else None
    if materialization is None or materialization.partition is None:
        return None
    return partitions_def.time_window_for_partition_key(materialization.partition).end


def skipped(object_name: str, why: str) -> Iterator[AssetCheckResult]:
    yield AssetCheckResult(
        check_name="unique_grain",
        passed=True,
        severity=AssetCheckSeverity.ERROR,
        description="Nothing written: deletions were skipped.",
    )
    yield AssetCheckResult(
        check_name="read_in_full",
        passed=True,
        severity=AssetCheckSeverity.WARN,
        description="Nothing read: deletions were skipped.",
    )
    yield AssetCheckResult(
        check_name="deletions_gap",
        passed=True,
        severity=AssetCheckSeverity.WARN,
        description="Not evaluated: deletions were skipped.",
    )
    yield AssetCheckResult(
        check_name="log_available",
        passed=False,
        severity=AssetCheckSeverity.WARN,
        description=f"Deletions skipped: {why} Set deletions.object in the tenant's settings to the"
        " tenant's deletion log (record_delete_log or record_delete_log_high_volume), or set"
        " deletions.enabled: false.",
        metadata={"object": object_name},
    )


def plan(run: SyncRun) -> list[Query]:
    """One query over the day's log, limited to the synced objects; skipped (WARN) when the
    tenant has no such log."""
    cfg = run.settings.deletions
    run.extras["last_end"] = last_synced_end(run.context, run.partitions_def)
    names = run.settings.tracked_objects()
    try:
        description = run.gainsight.describe(cfg.object)
    except GainsightObjectNotFound:
        run.context.log.warning(
            "Gainsight tenant has no object '%s'; deletions skipped.", cfg.object
        )
        raise Skip(f"the tenant has no object '{cfg.object}'.") from None
    fields = require_fields(description, {name: name for name in LOG_FIELDS})
    start, end = run.window
    return [
        Query(
            object_name=cfg.object,
            fields=list(fields.values()),
            shape=partial(shape_log, fields=fields, names=names, fmt=run.partitions_def.fmt),
            id_col="record_id",
            record_key=GRAIN,
            where=and_where(
                window_where(fields["DeletedOn"], start, end), object_names_filter(names)
            ),
            order_by={fields["DeletedOn"]: "asc", fields["RecordId"]: "asc"},
            id_field=None,
            date_col="deleted_at",
            resolve_by=None,  # a deletion belongs to no account
        )
    ]


def finish(run: SyncRun, matched: pl.DataFrame, read: pl.DataFrame) -> Finished:
    import polars as pl

    output = latest_deletion(
        pl.concat([pl.DataFrame(schema=output_schema()), matched], how="vertical_relaxed")
    )
    # by key, never the whole window: a re-run after the log expired reads nothing
    return Finished(
        KeyedRows(output, read_keys(output, GRAIN)),
        metadata={
            "rows_written": output.height,
            "objects": MetadataValue.json(run.settings.tracked_objects()),
            "deleted_by_object": MetadataValue.json(
                dict(output["object"].value_counts().sort("object").iter_rows())
            ),
        },
    )


def results(run: SyncRun, finished: Finished) -> Iterator[Output | AssetCheckResult]:
    """The output, then the grain, read-in-full, gap and log checks."""
    yield Output(finished.value, metadata={**finished.metadata, **run.api_metadata()})
    start, end = run.window
    table = run.tenant.table(NAME)
    yield grain_check(run.warehouse, {table: (GRAIN, Window("deleted_at", start, end))})
    yield AssetCheckResult(
        check_name="read_in_full",
        passed=run.read_in_full,
        severity=AssetCheckSeverity.WARN,
        description=(
            "The deletion log of the window was read to its end."
            if run.read_in_full
            else f"Not read in full: {'; '.join(run.unread.values())}. Re-run the window."
        ),
    )
    has_data = any(run.warehouse.table_exists(run.tenant.table(name)) for name in SYNCED_TABLES)
    names = run.settings.tracked_objects()
    yield gap_check(run.extras["last_end"], start, datetime.now(UTC), names, has_data)
    yield AssetCheckResult(
        check_name="log_available",
        passed=True,
        severity=AssetCheckSeverity.WARN,
        description=f"Read {run.settings.deletions.object} for {', '.join(names)}.",
    )


def _describe(tenant: Tenant) -> str:
    return (
        f"Records deleted in Gainsight, per UTC day of deletion, read from"
        f" `{tenant.settings.deletions.object}` for the synced objects. The `_latest` views"
        " leave them out; Gainsight keeps the log 15 days, so a gap longer than that needs a"
        " re-sync of the objects."
    )


SPEC = ObjectSpec(
    name="deleted_records",
    table=NAME,
    cadence="daily",
    cron="40 0 * * *",
    grain=GRAIN,
    window_column="deleted_at",
    describe=_describe,
    enabled=lambda s: s.deletions.enabled and bool(s.tracked_objects()),
    plan=plan,
    finish=finish,
    first_sync_span=lambda _s: RETENTION,  # all that Gainsight keeps
    demo_span=RETENTION,
    checks=lambda _tenant, key: check_specs(key),
    skipped=lambda run, why: skipped(run.settings.deletions.object, why),
    results=results,
)
