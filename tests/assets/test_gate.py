"""Primary-CRM gating: nothing from Gainsight is ingested while the CRM's accounts are missing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, instance_for_test

from gainsight_assets.settings import Settings
from resources.warehouse import WarehouseResource
from tests.assets.helpers import exists, failure_message, load_accounts, resources, run_object
from tests.conftest import DEMO_KEY

PARTITION = "2025-03-10"


@pytest.mark.parametrize(
    "accounts", [None, "empty", "blank-ids"], ids=["table-missing", "table-empty", "blank-ids"]
)
def test_closed_gate_fails_the_check_and_writes_nothing(
    demo_tenant, duckdb_url: str, tmp_path: Path, accounts
) -> None:
    if accounts == "empty":
        load_accounts(
            duckdb_url, pl.DataFrame(schema={"id": pl.String, "gainsight_gsid_c": pl.String})
        )
    if accounts == "blank-ids":  # rows, but no account a record could belong to
        load_accounts(
            duckdb_url, pl.DataFrame({"id": ["", "  ", None], "gainsight_gsid_c": ["A", "B", "C"]})
        )
    res = resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    calls_before = demo_tenant.stats()["calls"]

    result = run_object(Settings(), "surveys", res, partition_key=PARTITION)

    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "Gainsight cannot be the primary CRM" in evaluation.description
    assert "Salesforce or HubSpot" in evaluation.description
    if accounts == "blank-ids":
        assert "primary_crm.account_id_column" in evaluation.description
    assert not exists(duckdb_url, "gainsight.survey_responses")
    assert not exists(duckdb_url, "gainsight.unmatched_records")
    assert demo_tenant.stats()["calls"] == calls_before  # Gainsight was never asked


def test_asset_refuses_on_its_own_in_a_run_without_the_check(
    demo_tenant, duckdb_url: str, tmp_path: Path
) -> None:
    res = resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    result = run_object(
        Settings(), "activities", res, partition_key="2025-03-10-00:00", with_gate=False
    )
    assert not result.success
    assert "Primary-CRM gate closed" in failure_message(result)
    assert not exists(duckdb_url, "gainsight.activities")


def test_open_gate_passes_with_the_account_count(
    demo_dataset, demo_tenant, duckdb_url: str, tmp_path: Path
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    res = resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    result = run_object(Settings(), "companies", res, partition_key=PARTITION)
    assert result.success
    gate = [e for e in result.get_asset_check_evaluations() if e.check_name.startswith("primary")]
    assert gate[0].passed
    assert gate[0].metadata["accounts"].value == demo_dataset.crm_accounts.height


def observations(instance) -> list:
    records = instance.fetch_observations(AssetKey(["primary_crm", "accounts"]), limit=10).records
    return [record.asset_observation for record in records]


def test_every_gate_check_observes_the_accounts(
    demo_dataset, demo_tenant, duckdb_url: str, tmp_path: Path
) -> None:
    res = resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    with instance_for_test() as instance:
        assert not run_object(
            Settings(), "surveys", res, partition_key=PARTITION, instance=instance
        ).success
        [closed] = observations(instance)
        assert closed.metadata["dagster/row_count"].value == 0
        assert closed.metadata["gate"].value == "closed"
        assert (
            closed.metadata["warehouse"].value == WarehouseResource(url=duckdb_url).target.redacted
        )

        loaded = datetime(2025, 3, 9, 6, 30, tzinfo=UTC)
        accounts = demo_dataset.crm_accounts.with_columns(pl.lit(loaded).alias("_fivetran_synced"))
        load_accounts(duckdb_url, accounts)
        assert run_object(
            Settings(), "companies", res, partition_key=PARTITION, instance=instance
        ).success
        latest = observations(instance)[0]
        assert latest.metadata["dagster/row_count"].value == accounts.height
        assert latest.metadata["gate"].value == "open"
        assert latest.metadata["table"].value == "salesforce.account"
        assert latest.metadata["last_loaded"].value == loaded.timestamp()
        assert latest.metadata["last_loaded_column"].value == "_fivetran_synced"
