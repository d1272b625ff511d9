"""The one pipeline every Gainsight object goes through, and the spec that feeds it.

An object is data: an :class:`ObjectSpec` (its table, grain, cadence, schedule, spans, settings
switch) whose ``plan`` turns the object's description into :class:`Query` objects and whose
``finish`` turns the resolved rows into the output. :func:`build_object_asset` owns the control
flow for every object alike::

    gate ─► plan (describe) ─► query pages ─► shape each page ─► set aside records without an id
         ─► resolve (crm id → GSID fallback → unmatched) ─► unmatched records, by key
         ─► finish (the output) ─► write (IO manager) ─► grain, match-rate and read-in-full checks

Objects differ only through the hooks an object may set: ``guard`` (refuse a read before
anything is written), ``skipped`` (what a run reports when the tenant cannot serve the object)
and ``results`` (checks of its own).
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    Output,
    asset,
)

from gainsight_assets.assets.common import run_resources, shared_asset_args, table_metadata
from gainsight_assets.columns import COLUMN_DESCRIPTIONS
from gainsight_assets.partitions import CADENCES
from gainsight_assets.resolve import AccountDirectory
from gainsight_assets.settings import Settings
from gainsight_assets.sync import SyncRun, quality_check_specs, read_keys
from gainsight_assets.tenant import Tenant
from resources.gainsight.query import Where
from resources.warehouse import KeyedRows, TableRef

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Finished", "ObjectSpec", "Query", "Skip", "build_object_asset"]


class Skip(Exception):
    """Raised by a plan when the tenant cannot serve the object: nothing is read or written,
    and the spec's ``skipped`` hook reports why."""


@dataclass(frozen=True)
class Query:
    """One paged Gainsight query of a run, and how its records become rows."""

    object_name: str
    fields: Sequence[str]
    shape: "Callable[[pl.DataFrame], pl.DataFrame]"  # one page → rows in the output layout
    id_col: str  # the shaped rows' own record id (blank: set aside as missing_record_id)
    record_key: Sequence[str]  # the columns that name a record in the output table
    where: Where | None = None
    order_by: Mapping[str, str] | None = None
    max_records: int | None = None
    field_types: Mapping[str, str] | None = None
    id_field: str | None = "Gsid"  # the Gainsight field that names a record (page dedupe)
    date_col: str | None = None  # the shaped rows' window column, for partial reads
    descending: bool = False  # whether the query reads newest first
    # How records reach an account: "company" (a Gainsight company GSID, through the account
    # directory), "key" (a value that may be a CRM account id or a company GSID), or None.
    resolve_by: Literal["company", "key"] | None = "company"
    key_col: str = "gs_company_id"  # the shaped column resolution looks up
    key_field: str = "GsCompanyId"  # the Gainsight field it came from, for unmatched records
    # (gsid column, crm id column) when this read is itself the company directory
    directory: tuple[str, str] | None = None


@dataclass(frozen=True)
class Finished:
    """What ``finish`` makes of a run's resolved rows."""

    value: "pl.DataFrame | KeyedRows"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # side tables written, with their grain and the window column (None: the whole table)
    also_grains: Mapping[TableRef, tuple[Sequence[str], str | None]] = field(default_factory=dict)
    matched_records: int | None = None  # records behind the matched rows, when rows ≠ records


Plan = Callable[[SyncRun], list[Query]]
Finish = Callable[[SyncRun, "pl.DataFrame", "pl.DataFrame"], Finished]
Results = Callable[[SyncRun, Finished], Iterable[Output | AssetCheckResult]]


def _never(_: Settings) -> timedelta | None:
    return None


@dataclass(frozen=True)
class ObjectSpec:
    """One Gainsight object the project can sync: everything that differs between objects."""

    name: str  # the CLI, tag and job name: companies, activities, surveys, ...
    table: str  # its table in the tenant's schema, and the last part of its asset key
    cadence: str  # a key of gainsight_assets.partitions.CADENCES
    cron: str  # when its schedule ticks: a few minutes after a window closes
    grain: tuple[str, ...]  # one row per these columns, checked after every write
    window_column: str  # the column a partition's window applies to
    describe: Callable[[Tenant], str]  # the asset's description
    enabled: Callable[[Settings], bool]
    plan: Plan
    finish: Finish
    # How far back the first sync reaches once the primary CRM's accounts are present.
    first_sync_span: Callable[[Settings], timedelta]
    demo_span: timedelta  # how far back the demo materializes it
    # A schedule tick asks for this trailing span of closed partitions; None: the last one.
    lookback: Callable[[Settings], timedelta | None] = _never
    backfill_policy: BackfillPolicy = field(default_factory=BackfillPolicy.single_run)
    gsid_override: Callable[[Settings], str | None] = lambda _settings: None
    metadata: Callable[[Tenant], Mapping[str, Any]] = lambda _tenant: {}
    column_descriptions: Mapping[str, str] = field(default_factory=lambda: COLUMN_DESCRIPTIONS)
    checks: Callable[[Tenant, AssetKey], list[AssetCheckSpec]] | None = None
    guard: "Callable[[SyncRun, pl.DataFrame], None] | None" = None  # raise to write nothing
    skipped: Callable[[SyncRun, str], Iterable[AssetCheckResult]] | None = None
    results: Results | None = None  # checks of its own instead of the standard three

    def check_specs(self, tenant: Tenant, key: AssetKey) -> list[AssetCheckSpec]:
        if self.checks is not None:
            return self.checks(tenant, key)
        return quality_check_specs(tenant, key, self.grain)


def build_object_asset(spec: ObjectSpec, tenant: Tenant) -> AssetsDefinition:
    """The tenant's asset of ``spec``: the same flow for every object."""
    settings = tenant.settings
    key, table = tenant.key(spec.table), tenant.table(spec.table)

    @asset(
        key=key,
        partitions_def=CADENCES[spec.cadence].partitions(settings.start_date),
        backfill_policy=spec.backfill_policy,
        output_required=spec.skipped is None,
        metadata={
            **table_metadata(tenant, spec.table),
            "partition_expr": spec.window_column,
            "column_descriptions": dict(spec.column_descriptions),
            **spec.metadata(tenant),
        },
        check_specs=spec.check_specs(tenant, key),
        description=spec.describe(tenant),
        **shared_asset_args(tenant),
    )
    def _sync(context: AssetExecutionContext) -> Iterator:
        import polars as pl

        gainsight, warehouse = run_resources(context, tenant)
        run = SyncRun(context, tenant, gainsight, warehouse, cadence=spec.cadence)
        run.open_gate(spec.gsid_override(settings))
        try:
            queries = spec.plan(run)
        except Skip as skip:
            if spec.skipped is None:
                raise
            yield from spec.skipped(run, str(skip))
            return
        matched, read, unmatched = [], [], []
        for query in queries:
            fetched = _read(run, query)
            if spec.guard is not None:
                spec.guard(run, fetched)
            read.append(read_keys(fetched, query.record_key))
            if query.resolve_by is None:
                matched.append(fetched)
                continue
            found, missed = _resolve(run, query, fetched)
            matched.append(found)
            unmatched.append(
                (
                    query,
                    run.record_unmatched(
                        query.object_name,
                        missed.unique(query.id_col, maintain_order=True),
                        id_col=query.id_col,
                        key_col=query.key_col,
                        key_field=query.key_field,
                        date_col=query.date_col,
                    ),
                    # every record read, repeats and all: the keyed replace de-duplicates
                    # its keys itself, and only when the window holds stored rows to match
                    fetched.select(
                        pl.lit(query.object_name).alias("object"),
                        pl.col(query.id_col).cast(pl.String).alias("record_id"),
                    ),
                )
            )
            del fetched, found, missed  # hold one copy of each read at a time
        if unmatched:
            run.write_unmatched(
                [rows for _, rows, _ in unmatched], pl.concat([ids for *_, ids in unmatched])
            )
            unmatched.clear()
        finished = spec.finish(run, _concat(matched), _concat(read))
        # the generator stays suspended while the IO manager writes: hold only the output
        matched.clear()
        read.clear()
        if spec.results is not None:
            yield from spec.results(run, finished)
            return
        yield from run.results(
            finished.value,
            table=table,
            grain=spec.grain,
            window_column=spec.window_column,
            also_grains=finished.also_grains,
            matched_records=finished.matched_records,
            extra_metadata=finished.metadata,
        )

    return _sync


def _concat(frames: "list[pl.DataFrame]") -> "pl.DataFrame":
    import polars as pl

    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _read(run: SyncRun, query: Query) -> "pl.DataFrame":
    stream = run.gainsight.query_pages(
        query.object_name,
        list(query.fields),
        where=query.where,
        order_by=query.order_by,
        max_records=query.max_records,
        field_types=query.field_types,
        id_field=query.id_field,
    )
    return run.collect(
        stream,
        query.shape,
        date_col=query.date_col,
        descending=query.descending,
        id_col=query.id_col,
    )


def _resolve(run: SyncRun, query: Query, fetched: "pl.DataFrame") -> "tuple[pl.DataFrame, ...]":
    import polars as pl

    if query.directory is not None:
        gsid, crm_id = query.directory
        run.use_directory(
            AccountDirectory.build(
                run.accounts,
                fetched.select(pl.col(gsid).alias("gsid"), pl.col(crm_id).alias("crm_id")),
            )
        )
    if query.resolve_by == "key":
        return run.resolve_key(fetched, query.key_col)
    return run.resolve(fetched, query.key_col)
