"""Primary-CRM gating: nothing from Gainsight is ingested while the primary CRM's accounts are
missing.

The accounts table is loaded by another pipeline (Fivetran, Airbyte, dlt, …) and appears here as
the external asset ``primary_crm/accounts``. Its blocking check stops every Gainsight asset in the
same run; because blocking does not carry across runs, each asset also calls ``require_accounts``
before it asks Gainsight for anything. This project only reads the table; it never creates or
edits primary-CRM accounts.
"""

from dataclasses import dataclass

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetSpec,
    Failure,
    asset_check,
)

from gainsight_assets.settings import Settings
from resources.gainsight.metadata import close_matches
from resources.warehouse import TableRef, WarehouseEngine, WarehouseResource

PRIMARY_CRM_ACCOUNTS = AssetKey(["primary_crm", "accounts"])
GATE_CHECK_NAME = "primary_crm_accounts_present"


@dataclass(frozen=True)
class GateStatus:
    open: bool
    accounts: int
    message: str


def primary_crm_accounts_spec(settings: Settings) -> AssetSpec:
    crm = settings.primary_crm
    return AssetSpec(
        key=PRIMARY_CRM_ACCOUNTS,
        description=(
            f"Accounts of the primary CRM ({crm.system}), table `{crm.accounts_table}`, loaded by"
            " another pipeline. Gainsight enriches these accounts and never creates them."
        ),
        group_name="primary_crm",
        metadata={"table": crm.accounts_table, "system": crm.system},
        kinds={crm.system},
    )


def gate_status(warehouse: WarehouseResource, settings: Settings) -> GateStatus:
    with warehouse.engine() as engine:
        return _gate_status(engine, settings)


def _gate_status(engine: WarehouseEngine, settings: Settings) -> GateStatus:
    crm = settings.primary_crm
    table = TableRef.parse(crm.accounts_table)
    if not engine.table_exists(table):
        problem = f"the table `{crm.accounts_table}` does not exist"
        return GateStatus(False, 0, closed_message(settings, problem))
    count = engine.count(table)
    if count == 0:
        return GateStatus(False, 0, closed_message(settings, f"`{crm.accounts_table}` is empty"))
    return GateStatus(True, count, f"{count} {crm.system} accounts in `{crm.accounts_table}`.")


def closed_message(settings: Settings, problem: str) -> str:
    crm = settings.primary_crm
    return (
        f"Primary-CRM gate closed: {problem}. Gainsight cannot be the primary CRM: Salesforce or"
        f" HubSpot must own the canonical accounts and be connected first. Load the {crm.system}"
        f" accounts into `{crm.accounts_table}` (or point primary_crm.accounts_table in"
        " gainsight.yaml at them), then re-run the Gainsight sync. Nothing was ingested."
    )


def require_accounts(
    warehouse: WarehouseResource, settings: Settings, gsid_column: str
) -> pl.DataFrame:
    """The accounts as ``account_id``, ``gsid`` — or a Failure that writes nothing.

    One warehouse connection for the whole check and read.
    """
    crm = settings.primary_crm
    table = TableRef.parse(crm.accounts_table)
    with warehouse.engine() as engine:
        status = _gate_status(engine, settings)
        if not status.open:
            raise Failure(description=status.message, allow_retries=False)
        columns = list(engine.columns(table))
        account_id = _column(columns, crm.account_id_column, "primary_crm.account_id_column")
        gsid = _column(columns, gsid_column, "gsid_field (or the object's gsid_field_override)")
        frame = engine.read(table, columns=[account_id, gsid])
    return frame.select(
        pl.col(account_id).cast(pl.String).alias("account_id"),
        pl.col(gsid).cast(pl.String).alias("gsid"),
    )


def _column(columns: list[str], wanted: str, setting: str) -> str:
    folded = {name.casefold(): name for name in columns}
    if wanted.casefold() in folded:
        return folded[wanted.casefold()]
    matches = close_matches(wanted, columns)
    hint = f" Close matches: {', '.join(matches)}." if matches else ""
    raise Failure(
        description=(
            f"The accounts table has no column `{wanted}` ({setting} in gainsight.yaml).{hint}"
            f" Its columns are: {', '.join(columns)}."
        ),
        allow_retries=False,
    )


def build_gate_check(settings: Settings) -> AssetChecksDefinition:
    """The blocking check on ``primary_crm/accounts`` that every Gainsight job selects."""

    @asset_check(
        asset=PRIMARY_CRM_ACCOUNTS,
        name=GATE_CHECK_NAME,
        blocking=True,
        description="Blocks Gainsight ingestion until the primary CRM's accounts are present.",
    )
    def primary_crm_gate(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        status = gate_status(warehouse, settings)
        if not status.open:
            context.log.error(status.message)
        return AssetCheckResult(
            passed=status.open,
            severity=AssetCheckSeverity.ERROR,
            description=status.message,
            metadata={"accounts": status.accounts},
        )

    return primary_crm_gate
