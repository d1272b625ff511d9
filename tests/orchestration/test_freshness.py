"""Partition-aware freshness: the latest closed partition must have landed by its deadline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, instance_for_test
from dagster._core.test_utils import freeze_time

from gainsight_assets.definitions import build_definitions
from gainsight_assets.settings import Settings
from tests.assets.helpers import load_accounts, resources, run_object
from tests.conftest import DEMO_KEY

ACTIVITIES = AssetKey(["gainsight", "activities"])


@pytest.fixture
def instance() -> DagsterInstance:
    with instance_for_test() as instance:
        yield instance


def freshness_passed(defs, instance: DagsterInstance, asset_key: AssetKey) -> bool:
    checks = [
        c
        for c in defs.resolve_asset_graph().asset_check_keys
        if c.asset_key == asset_key and c.name == "freshness_check"
    ]
    assert checks, f"no freshness check on {asset_key.to_user_string()}"
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_check_selection=set(checks))
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation.passed


def test_four_hourly_partition_is_due_90_minutes_after_its_window(
    instance, demo_dataset, demo_tenant, duckdb_url: str, tmp_path: Path
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    res = resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    defs = build_definitions(Settings(), resources=res)

    # 09:45: the 04:00-08:00 window closed at 08:00 and was due at 09:30; nothing landed yet
    with freeze_time(datetime(2025, 3, 11, 9, 45, tzinfo=UTC)):
        assert not freshness_passed(defs, instance, ACTIVITIES)
        assert run_object(
            Settings(), "activities", res, partition_key="2025-03-11-04:00", instance=instance
        ).success
        assert freshness_passed(defs, instance, ACTIVITIES)
    # 13:35: the 08:00-12:00 window is now due (13:30) and has not landed
    with freeze_time(datetime(2025, 3, 11, 13, 35, tzinfo=UTC)):
        assert not freshness_passed(defs, instance, ACTIVITIES)


def test_every_object_has_a_freshness_check(duckdb_url: str, tmp_path: Path) -> None:
    defs = build_definitions(
        Settings(), resources=resources("http://127.0.0.1:9", DEMO_KEY, duckdb_url, tmp_path)
    )
    checked = {
        c.asset_key.path[-1]
        for c in defs.resolve_asset_graph().asset_check_keys
        if c.name == "freshness_check"
    }
    assert checked == {
        "companies",
        "activities",
        "survey_responses",
        "product_usage",
        "deleted_records",
    }


def test_sync_jobs_leave_freshness_to_its_sensor(duckdb_url: str, tmp_path: Path) -> None:
    """A sync run evaluates the asset's own checks and the gate in its steps; the freshness
    checks are the sensor's, so they add no step (nor its cost) to every materialization."""
    defs = build_definitions(
        Settings(), resources=resources("http://127.0.0.1:9", DEMO_KEY, duckdb_url, tmp_path)
    )
    for name in ("companies", "activities", "surveys", "product_usage", "deleted_records"):
        job = defs.resolve_job_def(f"gainsight_{name}_sync")
        checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
        assert "freshness_check" not in checks, name
        assert {"primary_crm_accounts_present", "unique_grain"} <= checks, name
        assert len(job.graph.node_dict) == 2, (name, list(job.graph.node_dict))  # asset + gate
