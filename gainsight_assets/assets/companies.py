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

from collections.abc import Iterator

import polars as pl
from dagster import AssetExecutionContext, BackfillPolicy, asset

from gainsight_assets.assets.common import run_resources, shared_asset_args, table_metadata
from gainsight_assets.columns import COLUMN_DESCRIPTIONS
from gainsight_assets.naming import column_name, unique_columns
from gainsight_assets.partitions import daily
from gainsight_assets.resolve import AccountDirectory
from gainsight_assets.sync import SyncRun, quality_check_specs, read_keys
from gainsight_assets.tenant import Tenant
from resources.warehouse import KeyedRows, TableRef

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


def build_companies_asset(tenant: Tenant):
    settings = tenant.settings
    cfg = settings.company
    key, table = tenant.key(NAME), tenant.table(NAME)

    @asset(
        key=key,
        partitions_def=daily(settings.start_date),
        # The API has no history: each day is its own snapshot run.
        backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
        metadata={
            **table_metadata(tenant, NAME),
            "partition_expr": "snapshot_date",
            "column_descriptions": {
                **COLUMN_DESCRIPTIONS,
                "*": f"A field of the Gainsight `{cfg.object}` object, in lower snake case"
                " (NPSScore__gc → nps_score__gc).",
            },
        },
        check_specs=quality_check_specs(tenant, key, GRAIN),
        description=(
            f"Daily snapshot of Gainsight `{cfg.object}` attributes for every company that matches"
            " a primary-CRM account (one row per matched account and day)."
        ),
        **shared_asset_args(tenant),
    )
    def companies(context: AssetExecutionContext) -> Iterator:
        gainsight, warehouse = run_resources(context, tenant)
        run = SyncRun(context, tenant, gainsight, warehouse, cadence="daily")
        accounts = run.open_gate(cfg.gsid_field_override)
        description = gainsight.describe(cfg.object)
        gsid = description.require("Gsid", setting="company.object").field_name
        crm_id = description.require(cfg.crm_id_field, setting="company.crm_id_field").field_name
        fields = [f for f in description.fields if f.data_type.upper() not in SKIPPED_TYPES]
        names = unique_columns(
            [f.field_name for f in fields], output_name, reserved=("gsid", "crm_id")
        )
        names[gsid], names[crm_id] = "gsid", "crm_id"
        labels = description.picklist_labels()
        start, _ = run.window

        def shape(page: pl.DataFrame) -> pl.DataFrame:
            return page.select(
                (
                    pl.col(name).replace_strict(labels[name], default=pl.col(name))
                    if name in labels
                    else pl.col(name)
                ).alias(names[name])
                for name in page.columns
            )

        stream = gainsight.query_pages(cfg.object, [f.field_name for f in fields])
        fetched = run.collect(stream, shape, id_col="gsid")
        read = read_keys(fetched, ["gsid"])
        run.use_directory(AccountDirectory.build(accounts, fetched.select("gsid", "crm_id")))
        matched, unmatched = run.resolve(fetched, "gsid")
        run.write_unmatched(
            [
                run.record_unmatched(
                    cfg.object,
                    unmatched,
                    id_col="gsid",
                    key_col="gsid",
                    key_field=gsid,
                    date_col=None,
                )
            ],
            read.select(pl.lit(cfg.object).alias("object"), pl.col("gsid").alias("record_id")),
        )
        crm = settings.primary_crm
        crm_columns = warehouse.columns(TableRef.parse(crm.accounts_table))
        folded = {c.casefold(): c for c in crm_columns}
        wanted = {"account_name": crm.name_column, "account_domain": crm.domain_column}
        present = {
            out: folded[col.casefold()] for out, col in wanted.items() if col.casefold() in folded
        }
        crm_accounts = (
            warehouse.read(
                TableRef.parse(crm.accounts_table),
                columns=[folded[crm.account_id_column.casefold()], *present.values()],
            )
            .select(
                pl.col(folded[crm.account_id_column.casefold()])
                .cast(pl.String)
                .alias("account_id"),
                *(pl.col(col).cast(pl.String).alias(out) for out, col in present.items()),
            )
            .unique("account_id", keep="first", maintain_order=True)
        )
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
        output = output.sort("account_id", "gsid")
        # by key: whatever the answer missed (cut short, an early empty page) keeps its row
        yield from run.results(
            KeyedRows(output, read),
            table=table,
            grain=GRAIN,
            window_column="snapshot_date",
        )

    return companies
