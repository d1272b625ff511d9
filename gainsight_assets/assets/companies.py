"""``gainsight/companies``: a daily snapshot of Gainsight company attributes per CRM account.

Companies enrich accounts the primary CRM already has; nothing here creates an account. The CRM
stays the source of truth for the fields it owns (name, domain, parent, ARR, MRR, renewal date,
owners): the CRM's name and domain are carried as ``account_name``/``account_domain``, and
Gainsight's own copies of CRM-owned fields are kept only as ``gainsight_<field>`` reference columns.
Picklist values (option GSIDs in the API) are resolved to their labels. The API has no history, so
each run snapshots the companies as they are when it runs, dated with its partition day. A re-run
of a day replaces the companies it read and keeps every other company the day already held: an
answer cut short or empty never shrinks a stored snapshot, and a company deleted in Gainsight
is absent from the next day's snapshot.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from dagster import BackfillPolicy

from gainsight_assets.columns import COLUMN_DESCRIPTIONS
from gainsight_assets.naming import column_name, unique_columns
from gainsight_assets.pipeline import Finished, ObjectSpec, Query
from gainsight_assets.sync import SyncRun
from gainsight_assets.tenant import Tenant
from resources.warehouse import KeyedRows, TableRef

if TYPE_CHECKING:
    import polars as pl

NAME = "companies"
GRAIN = ("snapshot_date", "gsid")  # one row per Gainsight company and day
# Fields the primary CRM owns; Gainsight's copies are kept only as gainsight_<field>.
CRM_OWNED = frozenset(
    name.casefold()
    for name in (
        "Name",
        "Arr",
        "Mrr",
        "RenewalDate",
        "Renewal_Date",
        "ParentCompany",
        "Csm",
        "Owner",
        "OwnerId",
        "Domain",
        "Website",
        "BillingAddress",
        "OriginalContractDate",
        "Employees",
    )
)
SKIPPED_TYPES = frozenset({"LOOKUP"})  # lookups hold GSIDs of other objects; keep only the id


def output_name(field_name: str) -> str:
    """The field's column: its column name, behind ``gainsight_`` for a field the CRM owns."""
    column = column_name(field_name)
    return f"gainsight_{column}" if field_name.casefold() in CRM_OWNED else column


def plan(run: SyncRun) -> list[Query]:
    """One read of every company (the API has no history): it is also the run's directory."""
    cfg = run.settings.company
    description = run.gainsight.describe(cfg.object)
    gsid = description.require("Gsid", setting="company.object").field_name
    crm_id = description.require(cfg.crm_id_field, setting="company.crm_id_field").field_name
    fields = [f for f in description.fields if f.data_type.upper() not in SKIPPED_TYPES]
    names = unique_columns([f.field_name for f in fields], output_name, reserved=("gsid", "crm_id"))
    names[gsid], names[crm_id] = "gsid", "crm_id"
    return [
        Query(
            object_name=cfg.object,
            fields=[f.field_name for f in fields],
            shape=partial(shape_page, names=names, labels=description.picklist_labels()),
            id_col="gsid",
            record_key=("gsid",),
            key_col="gsid",
            key_field=gsid,
            directory=("gsid", "crm_id"),
        )
    ]


def shape_page(
    page: pl.DataFrame, *, names: dict[str, str], labels: dict[str, dict[str, str]]
) -> pl.DataFrame:
    """One page of companies: columns renamed, picklist option GSIDs replaced by their labels."""
    import polars as pl

    return page.select(
        (
            pl.col(name).replace_strict(labels[name], default=pl.col(name))
            if name in labels
            else pl.col(name)
        ).alias(names[name])
        for name in page.columns
    )


def finish(run: SyncRun, matched: pl.DataFrame, read: pl.DataFrame) -> Finished:
    """The day's snapshot: matched companies with the CRM's own name and domain."""
    import polars as pl

    crm = run.settings.primary_crm
    accounts = TableRef.parse(crm.accounts_table)
    folded = {c.casefold(): c for c in run.warehouse.columns(accounts)}
    wanted = {"account_name": crm.name_column, "account_domain": crm.domain_column}
    present = {
        out: folded[col.casefold()] for out, col in wanted.items() if col.casefold() in folded
    }
    id_column = folded[crm.account_id_column.casefold()]
    crm_accounts = (
        run.warehouse.read(accounts, columns=[id_column, *present.values()])
        .select(
            pl.col(id_column).cast(pl.String).alias("account_id"),
            *(pl.col(col).cast(pl.String).alias(out) for out, col in present.items()),
        )
        .unique("account_id", keep="first", maintain_order=True)
    )
    start, _ = run.window
    output = matched.join(crm_accounts, on="account_id", how="left").with_columns(
        pl.lit(start.date()).alias("snapshot_date")
    )
    leading = [
        "snapshot_date",
        "account_id",
        "match_method",
        "gsid",
        *(c for c in ("account_name", "account_domain") if c in output.columns),
    ]
    output = output.select(*leading, *sorted(c for c in output.columns if c not in leading))
    # by key: whatever the answer missed (cut short, an early empty page) keeps its row
    return Finished(KeyedRows(output.sort("account_id", "gsid"), read))


def _describe(tenant: Tenant) -> str:
    return (
        f"Daily snapshot of Gainsight `{tenant.settings.company.object}` attributes for every"
        " company that matches a primary-CRM account (one row per matched account and day)."
    )


SPEC = ObjectSpec(
    name="companies",
    table=NAME,
    cadence="daily",
    cron="10 0 * * *",
    grain=GRAIN,
    window_column="snapshot_date",
    describe=_describe,
    enabled=lambda s: s.company.enabled,
    plan=plan,
    finish=finish,
    first_sync_span=lambda _s: timedelta(days=1),
    demo_span=timedelta(days=1),
    # The API has no history: each day is its own snapshot run.
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
    gsid_override=lambda s: s.company.gsid_field_override,
    column_descriptions={
        **COLUMN_DESCRIPTIONS,
        "*": "A field of the Gainsight company object, in lower snake case"
        " (NPSScore__gc → nps_score__gc).",
    },
)
