"""The pipeline shape every Gainsight object shares: fetch a window → shape → resolve → write.

What differs per object is data (settings, fields, the shaping function); the control flow lives
here once: the gate, the account directory, paging with per-page shaping (pages are shaped and
resolved as they arrive, so only the output columns are held), unmatched records, run metadata and
the two quality checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
    Output,
)

from gainsight_assets.gate import require_accounts
from gainsight_assets.partitions import window_start
from gainsight_assets.resolve import AccountDirectory
from gainsight_assets.settings import Settings
from resources.gainsight import GainsightResource, PageStream
from resources.gainsight.metadata import ObjectDescription
from resources.warehouse import TableRef, WarehouseResource, Window

UNMATCHED_TABLE = TableRef("gainsight", "unmatched_records")
UNMATCHED_SCHEMA = {
    "object": pl.String,
    "record_id": pl.String,
    "gs_company_id": pl.String,
    "partition_start": pl.Datetime("us", "UTC"),
    "reason": pl.String,
    "raw_record": pl.String,
}


def quality_check_specs(asset_key: AssetKey, id_column: str) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            name=f"unique_{id_column}",
            asset=asset_key,
            description=f"Each {id_column} appears once per partition (ERROR).",
        ),
        AssetCheckSpec(
            name="match_rate",
            asset=asset_key,
            description="Share of records resolved to a primary-CRM account, against"
            " quality.min_match_rate (WARN).",
        ),
    ]


@dataclass
class SyncRun:
    """One materialization of one Gainsight asset."""

    context: AssetExecutionContext
    settings: Settings
    gainsight: GainsightResource
    warehouse: WarehouseResource
    cadence: str
    unmatched_counts: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    truncated: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stats_start = self.gainsight.client.stats.snapshot()
        self._accounts: pl.DataFrame | None = None
        self._cached_directory: AccountDirectory | None = None

    @property
    def window(self) -> tuple[datetime, datetime]:
        window = self.context.partition_time_window
        return window.start, window.end

    def open_gate(self, gsid_field_override: str | None) -> None:
        """Refuse (writing nothing, asking Gainsight nothing) unless the CRM accounts exist."""
        self._accounts = require_accounts(
            self.warehouse, self.settings, self.settings.gsid_column(gsid_field_override)
        )

    def resolve(self, frame: pl.DataFrame, company_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Matched and unmatched rows; an empty window costs no company lookup."""
        if not frame.height:
            return _unresolved(frame)
        return self._directory().resolve(frame, company_col)

    def resolve_key(self, frame: pl.DataFrame, key_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        if not frame.height:
            return _unresolved(frame)
        return self._directory().resolve_key(frame, key_col)

    def _directory(self) -> AccountDirectory:
        """The account directory, built once per run from the accounts and one Company query."""
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
            )
            self._cached_directory = AccountDirectory.build(self._accounts, companies)
        return self._cached_directory

    def collect(
        self, stream: PageStream, shape: Callable[[pl.DataFrame], pl.DataFrame]
    ) -> pl.DataFrame:
        """Shape each page as it arrives and concatenate only the shaped result."""
        parts = [shape(page) for page in stream]
        self.pages += stream.pages
        if stream.truncated:
            self.truncated[stream.object_name] = stream.records
        if not parts:
            return shape(pl.DataFrame(schema=stream.schema))
        return pl.concat(parts, how="vertical_relaxed")

    def record_unmatched(
        self,
        object_name: str,
        unmatched: pl.DataFrame,
        *,
        id_col: str,
        company_col: str,
        date_col: str | None,
    ) -> pl.DataFrame:
        """The unmatched rows of one object in the ``gainsight.unmatched_records`` layout."""
        for reason, count in unmatched["reason"].value_counts().iter_rows():
            self.unmatched_counts[reason] = self.unmatched_counts.get(reason, 0) + count
        start, _ = self.window
        partition_start = (
            window_start(pl.col(date_col), self.cadence) if date_col else pl.lit(start)
        )
        raw_columns = [c for c in unmatched.columns if c != "reason"]
        return unmatched.select(
            pl.lit(object_name).alias("object"),
            pl.col(id_col).cast(pl.String).alias("record_id"),
            pl.col(company_col).cast(pl.String).alias("gs_company_id"),
            partition_start.cast(pl.Datetime("us", "UTC")).alias("partition_start"),
            pl.col("reason"),
            pl.struct(raw_columns).struct.json_encode().alias("raw_record")
            if raw_columns
            else pl.lit("{}").alias("raw_record"),
        )

    def write_unmatched(self, object_names: Iterable[str], frames: list[pl.DataFrame]) -> int:
        """Replace this window's unmatched records of these objects (kept, never dropped)."""
        frame = pl.concat([pl.DataFrame(schema=UNMATCHED_SCHEMA), *frames], how="vertical_relaxed")
        start, end = self.window
        written = 0
        for name in object_names:
            written += self.warehouse.replace(
                UNMATCHED_TABLE,
                frame.filter(pl.col("object") == name),
                window=Window("partition_start", start, end),
                equals={"object": name},
            )
        return written

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
        }

    def results(
        self,
        frame: pl.DataFrame,
        *,
        id_column: str,
        matched_records: int | None = None,
        extra_metadata: Mapping[str, Any] | None = None,
    ) -> Iterable[Output | AssetCheckResult]:
        """The output with its metadata, then the uniqueness and match-rate checks."""
        matched = frame.height if matched_records is None else matched_records
        unmatched = sum(self.unmatched_counts.values())
        total = matched + unmatched
        rate = matched / total if total else 1.0
        metadata = {
            "rows_written": frame.height,
            "records_fetched": total,
            "match_rate": round(rate, 4),
            **self.api_metadata(),
            **(extra_metadata or {}),
        }
        yield Output(frame, metadata=metadata)
        duplicates = frame.filter(pl.col(id_column).is_duplicated())[id_column].unique()
        yield AssetCheckResult(
            check_name=f"unique_{id_column}",
            passed=duplicates.len() == 0,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "duplicate_ids": duplicates.len(),
                "sample": MetadataValue.json(duplicates.head(5).to_list()),
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
                " gainsight.unmatched_records with their reason."
            ),
            metadata={"match_rate": round(rate, 4), "threshold": threshold},
        )


def _unresolved(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The resolution of an empty frame: the output columns, no rows."""
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
