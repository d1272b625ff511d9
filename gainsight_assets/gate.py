"""Primary-CRM gating: nothing from Gainsight is ingested while the primary CRM's accounts are
missing.

The accounts table is loaded by another pipeline (Fivetran, Airbyte, dlt, …) and appears here as
the external asset ``primary_crm/accounts``. Its blocking check stops every Gainsight asset in the
same run; because blocking does not carry across runs, each asset also calls ``require_accounts``
before it asks Gainsight for anything. This project only reads the table; it never creates or
edits primary-CRM accounts.

Each evaluation of the gate (the check in every Gainsight run, the gate sensor) also records an
observation of ``primary_crm/accounts``: its row count and, when the table has a column a loader
stamps rows with (``_fivetran_synced``, ``_airbyte_extracted_at``, ``SystemModstamp``, …), when
it was last loaded. So the asset's tile says whether the CRM side is ready.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetObservation,
    AssetSpec,
    Failure,
    MetadataValue,
    asset_check,
)

from gainsight_assets.resolve import key_text
from gainsight_assets.settings import Settings
from gainsight_assets.tenant import Tenant
from resources.gainsight.metadata import close_matches
from resources.warehouse import TableRef, WarehouseEngine, WarehouseResource

if TYPE_CHECKING:
    import polars as pl

GATE_CHECK_NAME = "primary_crm_accounts_present"
# Columns that CRM loaders stamp each row with when they load it, in order of preference.
LOAD_STAMP_COLUMNS = (
    "_fivetran_synced",
    "_airbyte_extracted_at",
    "_airbyte_emitted_at",
    "_sdc_batched_at",
    "_loaded_at",
    "systemmodstamp",
    "lastmodifieddate",
    "hs_lastmodifieddate",
    "updated_at",
)


@dataclass(frozen=True)
class GateStatus:
    open: bool
    accounts: int
    message: str
    table: str = ""  # schema.table checked
    warehouse: str = ""  # the warehouse it was checked in (redacted URL)
    last_loaded: datetime | None = None
    last_loaded_column: str | None = None


def primary_crm_accounts_spec(tenant: Tenant) -> AssetSpec:
    crm = tenant.settings.primary_crm
    return AssetSpec(
        key=tenant.crm_accounts_key,
        description=(
            f"Accounts of the primary CRM ({crm.system}), table `{crm.accounts_table}`, loaded by"
            " another pipeline. Gainsight enriches these accounts and never creates them."
        ),
        group_name=tenant.named("primary_crm"),
        metadata={"table": crm.accounts_table, "system": crm.system},
        kinds={crm.system},
    )


def gate_status(warehouse: WarehouseResource, settings: Settings) -> GateStatus:
    with warehouse.engine() as engine:
        return _gate_status(engine, settings)


def _gate_status(engine: WarehouseEngine, settings: Settings) -> GateStatus:
    crm = settings.primary_crm
    table = TableRef.parse(crm.accounts_table)
    where = engine.target.redacted
    if not engine.table_exists(table):
        problem = f"the table `{crm.accounts_table}` does not exist in the warehouse {where}"
        return GateStatus(False, 0, closed_message(settings, problem), crm.accounts_table, where)
    count = _accounts_with_an_id(engine, table, crm.account_id_column)
    column, loaded = _last_loaded(engine, table)
    if count == 0:
        problem = (
            f"`{crm.accounts_table}` is empty in the warehouse {where}"
            if engine.count(table) == 0
            else f"no row of `{crm.accounts_table}` ({where}) has an account id in"
            f" `{crm.account_id_column}` (primary_crm.account_id_column): blank ids match nothing"
        )
        message = closed_message(settings, problem)
    else:
        message = f"{count} {crm.system} accounts in `{crm.accounts_table}` ({where})."
    return GateStatus(count > 0, count, message, crm.accounts_table, where, loaded, column)


def _accounts_with_an_id(engine: WarehouseEngine, table: TableRef, id_column: str) -> int:
    """Accounts whose id is not blank (a blank id matches nothing); every row when the id
    column is missing, which resolving then reports with the setting to fix."""
    import polars as pl

    folded = {name.casefold(): name for name in engine.columns(table)}
    column = folded.get(id_column.casefold())
    if column is None:
        return engine.count(table)
    ids = engine.read(table, columns=[column]).select(key_text(pl.col(column)).alias("id"))
    return ids["id"].drop_nulls().n_unique()


def _last_loaded(engine: WarehouseEngine, table: TableRef) -> tuple[str | None, datetime | None]:
    """The newest value of the table's load-stamp column, if it has one of a known loader."""
    folded = {name.casefold(): name for name in engine.columns(table)}
    column = next((folded[c] for c in LOAD_STAMP_COLUMNS if c in folded), None)
    if column is None:
        return None, None
    try:
        newest = engine.read(table, columns=[column])[column].max()
    except Exception:  # an odd type in someone else's table never closes the gate
        return column, None
    if not isinstance(newest, datetime):
        return column, None
    return column, newest if newest.tzinfo else newest.replace(tzinfo=UTC)


def closed_message(settings: Settings, problem: str) -> str:
    crm = settings.primary_crm
    return (
        f"Primary-CRM gate closed: {problem}. Gainsight cannot be the primary CRM: Salesforce or"
        f" HubSpot must own the canonical accounts and be connected first. Load the {crm.system}"
        f" accounts into `{crm.accounts_table}` (or point primary_crm.accounts_table in"
        " the tenant's defs.yaml at them, or WAREHOUSE_URL at the warehouse that holds them),"
        " then re-run the Gainsight sync. Nothing was ingested."
    )


def accounts_observation(key: AssetKey, status: GateStatus) -> AssetObservation:
    """What the gate saw of the primary CRM's accounts (asset ``key``), for the asset's page
    and tile."""
    metadata: dict[str, object] = {
        "dagster/row_count": status.accounts,
        "table": status.table,
        "warehouse": status.warehouse,
        "gate": "open" if status.open else "closed",
    }
    if status.last_loaded is not None:
        metadata["last_loaded"] = MetadataValue.timestamp(status.last_loaded)
        metadata["last_loaded_column"] = status.last_loaded_column
    return AssetObservation(asset_key=key, metadata=metadata)


def require_accounts(
    warehouse: WarehouseResource, settings: Settings, gsid_column: str
) -> "pl.DataFrame":
    """The accounts as ``account_id``, ``gsid`` — or a Failure that writes nothing.

    One warehouse connection for the whole check and read.
    """
    import polars as pl

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
            f"The accounts table has no column `{wanted}` ({setting} in the tenant's defs.yaml).{hint}"
            f" Its columns are: {', '.join(columns)}."
        ),
        allow_retries=False,
    )


def build_gate_check(tenant: Tenant) -> AssetChecksDefinition:
    """The blocking check on the tenant's primary-CRM accounts that each of its jobs selects."""
    settings = tenant.settings

    @asset_check(
        asset=tenant.crm_accounts_key,
        name=GATE_CHECK_NAME,
        blocking=True,
        description="Blocks Gainsight ingestion until the primary CRM's accounts are present.",
    )
    def primary_crm_gate(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        status = gate_status(warehouse, settings)
        context.op_execution_context.log_event(
            accounts_observation(tenant.crm_accounts_key, status)
        )
        if not status.open:
            context.log.error(status.message)
        return AssetCheckResult(
            passed=status.open,
            severity=AssetCheckSeverity.ERROR,
            description=status.message,
            metadata={"accounts": status.accounts},
        )

    return primary_crm_gate
