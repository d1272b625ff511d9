"""Primary-CRM gating: nothing from Gainsight is ingested while the CRM's accounts are missing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from gainsight_assets.settings import Settings
from tests.assets.helpers import exists, failure_message, resources, run_object, seed_accounts
from tests.conftest import DEMO_KEY

PARTITION = "2025-03-10"


@pytest.mark.parametrize("accounts", [None, "empty"], ids=["table-missing", "table-empty"])
def test_closed_gate_fails_the_check_and_writes_nothing(
    demo_tenant, duckdb_url: str, tmp_path: Path, accounts
) -> None:
    if accounts == "empty":
        seed_accounts(
            duckdb_url, pl.DataFrame(schema={"id": pl.String, "gainsight_gsid_c": pl.String})
        )
    res = resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    calls_before = demo_tenant.stats()["calls"]

    result = run_object(Settings(), "surveys", res, partition_key=PARTITION)

    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "Gainsight cannot be the primary CRM" in evaluation.description
    assert "Salesforce or HubSpot" in evaluation.description
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
    seed_accounts(duckdb_url, demo_dataset.crm_accounts)
    res = resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    result = run_object(Settings(), "companies", res, partition_key=PARTITION)
    assert result.success
    gate = [e for e in result.get_asset_check_evaluations() if e.check_name.startswith("primary")]
    assert gate[0].passed
    assert gate[0].metadata["accounts"].value == demo_dataset.crm_accounts.height
