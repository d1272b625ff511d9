"""The pipeline shape every Gainsight object shares: fetch a window → shape → resolve → write.

What differs per object is data (settings, fields, the shaping function); the control flow lives
here once: the gate, the account directory, paging with per-page shaping (pages are shaped and
resolved as they arrive, so only the output columns are held), unmatched records, run metadata and
the two quality checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Failure,
    MetadataValue,
    Output,
    TimeWindowPartitionsDefinition,
)

from gainsight_assets.gate import require_accounts
from gainsight_assets.partitions import unread_partitions, window_start
from gainsight_assets.resolve import REASON_MISSING_RECORD_ID, AccountDirectory, key_text
from gainsight_assets.settings import Settings
from gainsight_assets.tenant import Tenant
from resources.gainsight import GainsightResource
from resources.gainsight.metadata import ObjectDescription
from resources.warehouse import KeyedRows, TableRef, WarehouseResource, Window

if TYPE_CHECKING:
    import polars as pl

    from resources.gainsight import PageStream

UNMATCHED = "unmatched_records"  # in each tenant's schema


@functools.cache
def unmatched_schema() -> dict[str, pl.DataType]:
    import polars as pl

    return {
        "object": pl.String,
        "record_id": pl.String,
        "gs_company_id": pl.String,  # the record's Gainsight company GSID, when its key is one
        "company_key": pl.String,  # the value resolution looked up, as Gainsight sent it
        "company_key_field": pl.String,  # the Gainsight field it came from (GsCompanyId, AccountId...)
        "partition": pl.String,  # the partition key, as the asset's partitions name it
        "partition_start": pl.Datetime("us", "UTC"),
        "reason": pl.String,
        "raw_record": pl.String,
    }


UNMATCHED_KEY = ("object", "record_id")
UNMATCHED_GRAIN = (*UNMATCHED_KEY, "partition_start")
COMPANY_ID_FIELDS = frozenset({"gscompanyid", "gsid"})
NO_ID_PREFIX = "no-id:"  # record_id of an unmatched record that came without an id


def quality_check_specs(
    tenant: Tenant, asset_key: AssetKey, grain: Sequence[str]
) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            name="unique_grain",
            asset=asset_key,
            description=f"The table holds one row per ({', '.join(grain)}) in every synced"
            f" window, and {tenant.table(UNMATCHED)} one per object, record_id and partition"
            " (ERROR).",
        ),
        AssetCheckSpec(
            name="match_rate",
            asset=asset_key,
            description="Share of records resolved to a primary-CRM account, against"
            " quality.min_match_rate (WARN).",
        ),
        AssetCheckSpec(
            name="read_in_full",
            asset=asset_key,
            description="Every partition of the run was read to its end (WARN). A partition"
            " cut short (surveys.response_limit, or paging that stopped early) keeps the rows"
            " stored before and gains the records read; re-run it to complete it.",
        ),
    ]


def grain_check(
    warehouse: WarehouseResource, tables: Mapping[TableRef, tuple[Sequence[str], Window | None]]
) -> AssetCheckResult:
    """``unique_grain`` (ERROR): each table holds its grain at most once in the window (or in
    the whole table, for ``None``), read from the warehouse after the write, as a consumer
    would see it."""
    with warehouse.engine() as engine:  # one connection for every table
        found = {
            str(table): engine.duplicates(table, grain, window=window)
            for table, (grain, window) in tables.items()
        }
    bad = {name: count for name, (count, _) in found.items() if count}
    first, (grain, _) = next(iter(tables.items()))
    return AssetCheckResult(
        check_name="unique_grain",
        passed=not bad,
        severity=AssetCheckSeverity.ERROR,
        description=(
            "; ".join(
                f"{count} key(s) stored more than once in {name}" for name, count in bad.items()
            )
            if bad
            else f"One row per ({', '.join(grain)}) in {first} for this window."
        ),
        metadata={
            "grain": MetadataValue.json(list(grain)),
            "duplicate_keys": sum(count for count, _ in found.values()),
            "sample": MetadataValue.json(
                {
                    name: [{k: str(v) for k, v in row.items()} for row in rows]
                    for name, (_, rows) in found.items()
                    if rows
                }
            ),
        },
    )


def read_keys(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The key columns of every record read, as text (what a keyed replace supersedes)."""
    import polars as pl

    return frame.select(pl.col(c).cast(pl.String) for c in columns)


@dataclass
class SyncRun:
    """One materialization of one Gainsight asset."""

    context: AssetExecutionContext
    tenant: Tenant
    gainsight: GainsightResource
    warehouse: WarehouseResource
    cadence: str
    unmatched_counts: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    truncated: dict[str, int] = field(default_factory=dict)
    # object -> why its query was not read in full; the partitions that may miss records
    unread: dict[str, str] = field(default_factory=dict)
    incomplete_partitions: set[str] = field(default_factory=set)
    # object -> records read without an id of their own (set aside for unmatched_records)
    without_id: dict[str, pl.DataFrame] = field(default_factory=dict)
    # what an object's plan hands to its finish (e.g. the custom fields it found)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.tenant.settings

    @property
    def unmatched_table(self) -> TableRef:
        return self.tenant.table(UNMATCHED)

    def __post_init__(self) -> None:
        self._stats_start = self.gainsight.client.stats.snapshot()
        self._accounts: pl.DataFrame | None = None
        self._cached_directory: AccountDirectory | None = None

    @property
    def window(self) -> tuple[datetime, datetime]:
        window = self.context.partition_time_window
        return window.start, window.end

    @property
    def partition_keys(self) -> list[str]:
        return list(self.context.partition_keys)

    @property
    def partitions_def(self) -> TimeWindowPartitionsDefinition:
        partitions_def = self.context.assets_def.partitions_def
        if not isinstance(partitions_def, TimeWindowPartitionsDefinition):
            raise TypeError("Gainsight assets are partitioned by time windows")
        return partitions_def

    @property
    def accounts(self) -> pl.DataFrame:
        """The primary CRM's accounts, as the gate read them."""
        if self._accounts is None:
            raise RuntimeError("open_gate() must run before the accounts are read")
        return self._accounts

    @property
    def read_in_full(self) -> bool:
        return not self.unread

    def open_gate(self, gsid_field_override: str | None) -> pl.DataFrame:
        """Refuse (writing nothing, asking Gainsight nothing) unless the CRM accounts exist."""
        self._accounts = require_accounts(
            self.warehouse, self.settings, self.settings.gsid_column(gsid_field_override)
        )
        return self._accounts

    def resolve(self, frame: pl.DataFrame, company_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Matched and unmatched rows; an empty window costs no company lookup."""
        if not frame.height:
            return _unresolved(frame)
        return self._directory().resolve(frame, company_col)

    def resolve_key(self, frame: pl.DataFrame, key_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        if not frame.height:
            return _unresolved(frame)
        return self._directory().resolve_key(frame, key_col)

    def use_directory(self, directory: AccountDirectory) -> None:
        """Resolve with this directory (an object that reads the companies itself)."""
        self._cached_directory = directory

    def _directory(self) -> AccountDirectory:
        """The account directory, built once per run from the accounts and one Company query."""
        import polars as pl

        if self._accounts is None:
            raise RuntimeError("open_gate() must run before records are resolved")
        if self._cached_directory is None:
            company = self.settings.company
            description = self.gainsight.describe(company.object)
            gsid = description.require("Gsid", setting="company.object").field_name
            crm_id = description.require(company.crm_id_field, setting="company.crm_id_field")
            companies = self.collect(
                self.gainsight.query_pages(
                    company.object,
                    [gsid, crm_id.field_name],
                    field_types={gsid: "GSID", crm_id.field_name: "STRING"},
                ),
                lambda page: page.select(
                    pl.col(gsid).alias("gsid"), pl.col(crm_id.field_name).alias("crm_id")
                ),
                directory=True,
            )
            self._cached_directory = AccountDirectory.build(self._accounts, companies)
        return self._cached_directory

    def collect(
        self,
        stream: PageStream,
        shape: Callable[[pl.DataFrame], pl.DataFrame],
        *,
        date_col: str | None = None,
        descending: bool = False,
        directory: bool = False,
        id_col: str | None = None,
    ) -> pl.DataFrame:
        """Shape each page as it arrives and concatenate only the shaped result.

        ``id_col`` names the record's own id: it is trimmed, and a record whose id is blank is
        set aside (no write can key it): ``record_unmatched`` stores it with reason
        ``missing_record_id``.

        A query not read in full is remembered with the partitions it may have left records in:
        ordered by ``date_col`` (``descending`` as asked), only the partitions past the last
        record read; when the answer was not in that order, or there is no date, all of them.
        A company directory that was not read in full stops the run: resolving against part of
        it would call known companies unknown.
        """
        import polars as pl

        parts = [shape(page) for page in stream]
        self.pages += stream.pages
        if stream.truncated:
            self.truncated[stream.object_name] = stream.records
        frame = (
            pl.concat(parts, how="vertical_relaxed")
            if parts
            else shape(pl.DataFrame(schema=stream.schema))
        )
        if not stream.complete:
            why = (
                f"stopped at {stream.records} records (limit)"
                if stream.truncated
                else f"paging stopped after {stream.records} records (the API repeated a page)"
            )
            if directory:
                raise Failure(
                    description=f"The Gainsight company directory ({stream.object_name}) was not"
                    f" read in full: {why}. Nothing was written; run again.",
                    allow_retries=False,
                )
            self.unread[stream.object_name] = why
            dates = frame[date_col].drop_nulls() if date_col and frame.height else None
            ordered = dates is not None and dates.is_sorted(descending=descending)
            last_read = dates[-1] if ordered and dates is not None and dates.len() else None
            self.incomplete_partitions.update(
                unread_partitions(self.partitions_def, self.partition_keys, last_read, descending)
            )
        if id_col is not None:
            frame = self._set_aside_without_id(stream.object_name, frame, id_col)
        return frame

    def _set_aside_without_id(
        self, object_name: str, frame: pl.DataFrame, id_col: str
    ) -> pl.DataFrame:
        import polars as pl

        frame = frame.with_columns(key_text(pl.col(id_col)).alias(id_col))
        blank = frame[id_col].is_null()
        if not blank.any():
            return frame
        earlier = self.without_id.get(object_name)
        aside = frame.filter(blank)
        self.without_id[object_name] = (
            aside if earlier is None else pl.concat([earlier, aside], how="diagonal_relaxed")
        )
        return frame.filter(~blank)

    def record_unmatched(
        self,
        object_name: str,
        unmatched: pl.DataFrame,
        *,
        id_col: str,
        key_col: str,
        key_field: str,
        date_col: str | None,
    ) -> pl.DataFrame:
        """The unmatched rows of one object in the ``unmatched_records`` layout, with
        the object's records that came without an id (``record_id`` made from their content,
        so that a re-run replaces them rather than adding them again)."""
        import polars as pl

        aside = self.without_id.pop(object_name, None)
        if aside is not None:
            unmatched = pl.concat(
                [unmatched, aside.with_columns(pl.lit(REASON_MISSING_RECORD_ID).alias("reason"))],
                how="diagonal_relaxed",
            )
        for reason, count in unmatched["reason"].value_counts().iter_rows():
            self.unmatched_counts[reason] = self.unmatched_counts.get(reason, 0) + count
        start, _ = self.window
        partition_start = (
            window_start(pl.col(date_col), self.cadence) if date_col else pl.lit(start)
        ).cast(pl.Datetime("us", "UTC"))
        fmt = self.partitions_def.fmt
        key = pl.col(key_col).cast(pl.String)
        raw_columns = [c for c in unmatched.columns if c != "reason"]
        raw = (pl.struct(raw_columns).struct.json_encode() if raw_columns else pl.lit("{}")).alias(
            "raw_record"
        )
        # A record without an id is named by its content (Polars' hash, stable within the locked
        # version) and, for identical twins, its place among them.
        content = pl.col("raw_record").hash(7)
        record_id = (
            pl.when(pl.col("reason") == REASON_MISSING_RECORD_ID)
            .then(
                pl.concat_str(
                    pl.lit(NO_ID_PREFIX),
                    content.cast(pl.String),
                    pl.lit("-"),
                    pl.int_range(pl.len()).over(content).cast(pl.String),
                )
            )
            .otherwise(pl.col(id_col).cast(pl.String))
        )
        return unmatched.with_columns(raw).select(
            pl.lit(object_name).alias("object"),
            record_id.alias("record_id"),
            (key if key_field.casefold() in COMPANY_ID_FIELDS else pl.lit(None, pl.String)).alias(
                "gs_company_id"
            ),
            key.alias("company_key"),
            pl.lit(key_field).alias("company_key_field"),
            partition_start.dt.strftime(fmt).alias("partition"),
            partition_start.alias("partition_start"),
            pl.col("reason"),
            pl.col("raw_record"),
        )

    def write_unmatched(self, frames: list[pl.DataFrame], read: pl.DataFrame) -> int:
        """Store this run's unmatched records; ``read`` (``object``, ``record_id``) names every
        record the run read, so a record that matches now leaves the table and one that was
        not read again keeps its row."""
        import polars as pl

        frame = pl.concat(
            [pl.DataFrame(schema=unmatched_schema()), *frames], how="vertical_relaxed"
        )
        start, end = self.window
        return self.warehouse.replace(
            self.unmatched_table,
            frame,
            window=Window("partition_start", start, end),
            only_keys=read.select(pl.col(c).cast(pl.String) for c in UNMATCHED_KEY),
        )

    def api_metadata(self) -> dict[str, Any]:
        spent = self.gainsight.client.stats.since(self._stats_start)
        start, end = self.window
        return {
            "api_calls": spent.calls,
            "api_query_calls": spent.query_calls,
            "api_retries": spent.retries,
            "api_rate_limited": spent.rate_limited,
            "pages": self.pages,
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "unmatched_by_reason": MetadataValue.json(dict(sorted(self.unmatched_counts.items()))),
            "truncated": MetadataValue.json(self.truncated),
            "read_in_full": self.read_in_full,
            "incomplete_partitions": MetadataValue.json(sorted(self.incomplete_partitions)),
        }

    def results(
        self,
        value: pl.DataFrame | KeyedRows,
        *,
        table: TableRef,
        grain: Sequence[str],
        window_column: str,
        also_grains: Mapping[TableRef, tuple[Sequence[str], str | None]] | None = None,
        matched_records: int | None = None,
        extra_metadata: Mapping[str, Any] | None = None,
    ) -> Iterable[Output | AssetCheckResult]:
        """The output with its metadata, then the grain, match-rate and read-in-full checks.

        The grain check runs after the output is stored and reads the warehouse, so it sees
        what a consumer sees: the table and the unmatched records in the run's window, and
        ``also_grains``: side tables the asset writes, each with its grain and the column that
        the run's window applies to (``None``: the whole table).
        """
        frame = value.rows if isinstance(value, KeyedRows) else value
        matched = frame.height if matched_records is None else matched_records
        unmatched = sum(self.unmatched_counts.values())
        total = matched + unmatched
        rate = matched / total if total else 1.0
        metadata = {
            "rows_written": frame.height,
            "records_fetched": total,
            "match_rate": round(rate, 4),
            "grain": MetadataValue.json(list(grain)),
            **self.api_metadata(),
            **(extra_metadata or {}),
        }
        yield Output(value, metadata=metadata)
        start, end = self.window
        yield grain_check(
            self.warehouse,
            {
                table: (grain, Window(window_column, start, end)),
                **{
                    side: (side_grain, Window(column, start, end) if column else None)
                    for side, (side_grain, column) in (also_grains or {}).items()
                },
                self.unmatched_table: (UNMATCHED_GRAIN, Window("partition_start", start, end)),
            },
        )
        threshold = self.settings.quality.min_match_rate
        yield AssetCheckResult(
            check_name="match_rate",
            passed=rate >= threshold,
            severity=AssetCheckSeverity.WARN,
            description=(
                f"{matched} of {total} records matched a primary-CRM account ({rate:.1%});"
                f" threshold {threshold:.0%}. Unmatched records are in"
                f" {self.unmatched_table} with their reason."
            ),
            metadata={"match_rate": round(rate, 4), "threshold": threshold},
        )
        incomplete = sorted(self.incomplete_partitions)
        yield AssetCheckResult(
            check_name="read_in_full",
            passed=self.read_in_full,
            severity=AssetCheckSeverity.WARN,
            description=(
                f"Not read in full: {'; '.join(f'{o} {w}' for o, w in self.unread.items())}."
                f" Partitions that may miss records: {', '.join(incomplete)}. Their stored rows"
                " were kept; re-run them (smaller ranges, or a higher surveys.response_limit)."
                if not self.read_in_full
                else "Every partition of the run was read to its end."
            ),
            metadata={
                "incomplete_partitions": MetadataValue.json(incomplete),
                "unread_objects": MetadataValue.json(self.unread),
            },
        )


def _unresolved(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The resolution of an empty frame: the output columns, no rows."""
    import polars as pl

    matched = frame.with_columns(
        pl.lit(None, pl.String).alias("account_id"), pl.lit(None, pl.String).alias("match_method")
    )
    return matched, frame.with_columns(pl.lit(None, pl.String).alias("reason"))


def require_fields(
    description: ObjectDescription, wanted: Mapping[str, str | None]
) -> dict[str, str]:
    """Setting → the object's real field name, failing with close matches for a missing one."""
    return {
        setting: description.require(name, setting=setting).field_name
        for setting, name in wanted.items()
        if name
    }
