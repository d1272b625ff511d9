"""``gainsight/deleted_records`` against a demo tenant that really deletes records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from gainsight_assets.demo.generator import DemoDataset, generate_dataset
from gainsight_assets.demo.server import DemoTenant
from gainsight_assets.partitions import partition_tags
from gainsight_assets.settings import Settings
from gainsight_assets.tenants import DEFAULT_TENANT_FILE, load_settings
from tests.assets.helpers import exists, load_accounts, read, resources, run_object
from tests.conftest import DEMO_ANCHOR, DEMO_KEY

DAY = "2025-03-10"
DELETED_AT = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def small_dataset() -> DemoDataset:
    return generate_dataset(companies=6, anchor=DEMO_ANCHOR, variant=11)


@pytest.fixture
def tenant(small_dataset: DemoDataset) -> Iterator[DemoTenant]:
    with DemoTenant(small_dataset, access_key=DEMO_KEY) as running:
        yield running


@pytest.fixture
def settings() -> Settings:
    return load_settings(DEFAULT_TENANT_FILE)


def first_ids(dataset: DemoDataset, name: str, count: int) -> list[str]:
    return dataset.objects[name]["Gsid"].head(count).to_list()


def checks(result) -> dict[str, tuple[bool, str]]:
    return {
        e.check_name: (e.passed, e.severity.value)
        for e in result.get_asset_check_evaluations()
        if e.check_name in {"unique_grain", "read_in_full", "log_available", "deletions_gap"}
    }


def test_deletions_of_every_synced_object_land_in_their_day(
    tenant: DemoTenant,
    small_dataset: DemoDataset,
    settings: Settings,
    duckdb_url: str,
    tmp_path: Path,
) -> None:
    load_accounts(duckdb_url, small_dataset.crm_accounts)
    env = resources(tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    deleted = {
        "Company": first_ids(small_dataset, "Company", 1),
        "activity_timeline": first_ids(small_dataset, "activity_timeline", 2),
        "nps_survey_response": first_ids(small_dataset, "nps_survey_response", 1),
        "product_usage__gc": first_ids(small_dataset, "product_usage__gc", 1),
        # not synced by the demo settings: never read
        "survey_response": first_ids(small_dataset, "survey_response", 1),
    }
    for name, ids in deleted.items():
        assert tenant.delete(name, ids, at=DELETED_AT) == ids
    tenant.delete("gsuser", first_ids(small_dataset, "gsuser", 1), at=DELETED_AT)

    result = run_object(settings, "deleted_records", env, partition_key=DAY)
    assert result.success
    table = read(duckdb_url, "gainsight.deleted_records")
    assert table.columns == ["object", "record_id", "deleted_at", "partition"]
    stored = {(o, r) for o, r in table.select("object", "record_id").iter_rows()}
    wanted = {(o, r) for o, ids in deleted.items() if o != "survey_response" for r in ids}
    assert stored == wanted
    assert set(table["partition"]) == {DAY}
    assert set(table["deleted_at"]) == {DELETED_AT}
    assert checks(result) == {
        "unique_grain": (True, "ERROR"),
        "read_in_full": (True, "WARN"),
        "deletions_gap": (True, "WARN"),
        "log_available": (True, "WARN"),
    }

    # The day after holds none of them; re-running the day changes nothing.
    assert run_object(settings, "deleted_records", env, partition_key="2025-03-11").success
    assert run_object(settings, "deleted_records", env, partition_key=DAY).success
    again = read(duckdb_url, "gainsight.deleted_records").sort("object", "record_id")
    assert again.equals(table.sort("object", "record_id"))


def test_a_tenant_without_the_log_skips_with_a_warning(
    small_dataset: DemoDataset, settings: Settings, duckdb_url: str, tmp_path: Path
) -> None:
    load_accounts(duckdb_url, small_dataset.crm_accounts)
    with DemoTenant(small_dataset.without("record_delete_log"), access_key=DEMO_KEY) as tenant:
        env = resources(tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
        result = run_object(settings, "deleted_records", env, partition_key=DAY)
    assert result.success
    assert not exists(duckdb_url, "gainsight.deleted_records")
    assert checks(result)["log_available"] == (False, "WARN")
    [warning] = [e for e in result.get_asset_check_evaluations() if e.check_name == "log_available"]
    assert "no object 'record_delete_log'" in (warning.description or "")


def test_deletions_can_be_turned_off(settings: Settings) -> None:
    from gainsight_assets.objects import enabled_objects
    from gainsight_assets.tenant import Tenant

    off = settings.model_copy(
        update={"deletions": settings.deletions.model_copy(update={"enabled": False})}
    )
    assert "deleted_records" in {o.name for o in enabled_objects(Tenant(settings=settings))}
    assert "deleted_records" not in {o.name for o in enabled_objects(Tenant(settings=off))}


def test_latest_views_leave_deleted_records_out_and_history_keeps_them(
    tenant: DemoTenant,
    small_dataset: DemoDataset,
    settings: Settings,
    duckdb_url: str,
    tmp_path: Path,
) -> None:
    load_accounts(duckdb_url, small_dataset.crm_accounts)
    env = resources(tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    day_range = partition_tags("2025-03-03-00:00", "2025-03-10-20:00")
    assert run_object(settings, "activities", env, tags=day_range).success
    survey_range = partition_tags("2025-03-01", DAY)
    assert run_object(settings, "surveys", env, tags=survey_range).success
    activities = read(duckdb_url, "gainsight.activities")
    responses = read(duckdb_url, "gainsight.survey_responses")
    gone_activities = sorted(activities["activity_id"].unique())[:2]
    source, response = responses.select("source_object", "response_id").row(0)
    tenant.delete("activity_timeline", gone_activities, at=DELETED_AT)
    tenant.delete(source, [response], at=DELETED_AT)

    assert run_object(settings, "deleted_records", env, partition_key=DAY).success

    latest = read(duckdb_url, "gainsight.activities_latest")
    assert not set(gone_activities) & set(latest["activity_id"])
    assert latest.height == activities["activity_id"].n_unique() - 2
    assert read(duckdb_url, "gainsight.activities").height == activities.height
    audit = read(duckdb_url, "gainsight.activities_excluded")
    assert set(audit["activity_id"]) == set(gone_activities)
    survey_latest = read(duckdb_url, "gainsight.survey_responses_latest")
    assert (source, response) not in set(
        survey_latest.select("source_object", "response_id").iter_rows()
    )
    assert survey_latest.height == responses.select("source_object", "response_id").n_unique() - 1
    assert read(duckdb_url, "gainsight.survey_responses").height == responses.height


def test_the_gap_check_warns_when_the_last_deletions_sync_is_16_days_old(
    tenant: DemoTenant,
    small_dataset: DemoDataset,
    settings: Settings,
    duckdb_url: str,
    tmp_path: Path,
) -> None:
    from dagster import DagsterInstance

    load_accounts(duckdb_url, small_dataset.crm_accounts)
    env = resources(tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    with DagsterInstance.ephemeral() as instance:
        first = run_object(
            settings, "deleted_records", env, partition_key="2025-02-21", instance=instance
        )
        late = run_object(
            settings, "deleted_records", env, partition_key="2025-03-10", instance=instance
        )
        next_day = run_object(
            settings, "deleted_records", env, partition_key="2025-03-11", instance=instance
        )
    assert checks(first)["deletions_gap"] == (True, "WARN")  # nothing synced yet, no data either
    gap = next(e for e in late.get_asset_check_evaluations() if e.check_name == "deletions_gap")
    assert (gap.passed, gap.severity.value) == (False, "WARN")
    assert "Deletions between 2025-02-22 and 2025-03-10 may have been missed" in gap.description
    assert "Re-sync Company, activity_timeline, nps_survey_response" in gap.description
    assert checks(next_day)["deletions_gap"] == (True, "WARN")


def tick_deletions_sensor(settings: Settings, env: dict, instance, cursor: str | None = None):
    from dagster import build_sensor_context

    from gainsight_assets.definitions import build_definitions

    defs = build_definitions(settings, resources=env)
    sensor = defs.get_repository_def().get_sensor_def("product_usage_after_deletions_sensor")
    with build_sensor_context(
        instance=instance, definitions=defs, resources=env, cursor=cursor
    ) as context:
        return sensor.evaluate_tick(context)


def test_a_deleted_usage_row_re_aggregates_its_week_once(
    tenant: DemoTenant,
    small_dataset: DemoDataset,
    settings: Settings,
    duckdb_url: str,
    tmp_path: Path,
) -> None:
    from dagster import DagsterInstance

    week = "2025-03-03"
    load_accounts(duckdb_url, small_dataset.crm_accounts)
    env = resources(tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    usage_object = settings.product_usage.object
    with DagsterInstance.ephemeral() as instance:
        assert run_object(settings, "product_usage", env, partition_key=week, instance=instance)
        usage = read(duckdb_url, "gainsight.product_usage")
        sources = read(duckdb_url, "gainsight.product_usage_records")
        assert usage["source_rows"].sum() == sources.height > 0
        gone = sorted(sources["record_id"])[0]
        # nothing deleted yet: the sensor asks for nothing
        quiet = tick_deletions_sensor(settings, env, instance)
        assert not quiet.run_requests

        assert tenant.delete(usage_object, [gone], at=DELETED_AT) == [gone]
        assert run_object(settings, "deleted_records", env, partition_key=DAY, instance=instance)
        first = tick_deletions_sensor(settings, env, instance, cursor=quiet.cursor)
        [request] = first.run_requests
        assert (request.job_name, request.partition_key) == ("gainsight_product_usage_sync", week)
        # the same batch of deletions always gives the same run key: it runs once
        again = tick_deletions_sensor(settings, env, instance)
        assert [r.run_key for r in again.run_requests] == [request.run_key]

        assert run_object(settings, "product_usage", env, partition_key=week, instance=instance)
        after = tick_deletions_sensor(settings, env, instance, cursor=first.cursor)
        assert not after.run_requests
        assert "No stored usage week counts a deleted record" in (after.skip_message or "")

    reaggregated = read(duckdb_url, "gainsight.product_usage")
    stored = read(duckdb_url, "gainsight.product_usage_records")
    assert gone not in set(stored["record_id"])
    assert stored.height == sources.height - 1
    assert reaggregated["source_rows"].sum() == usage["source_rows"].sum() - 1


def test_records_of_a_deleted_company_become_unknown_company(
    tenant: DemoTenant,
    small_dataset: DemoDataset,
    settings: Settings,
    duckdb_url: str,
    tmp_path: Path,
) -> None:
    load_accounts(duckdb_url, small_dataset.crm_accounts)
    env = resources(tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    day = partition_tags("2025-03-03-00:00", "2025-03-10-20:00")
    assert run_object(settings, "activities", env, tags=day).success
    activities = read(duckdb_url, "gainsight.activities")
    # a company whose CRM account also holds its GSID: both match paths lead to it
    accounts = small_dataset.crm_accounts
    gsids = set(accounts[settings.gsid_field].drop_nulls())
    company = activities.filter(pl.col("gs_company_id").is_in(list(gsids)))[
        "gs_company_id"
    ].value_counts(sort=True)["gs_company_id"][0]
    pointing = set(activities.filter(pl.col("gs_company_id") == company)["activity_id"])
    assert tenant.delete(settings.company.object, [company], at=DELETED_AT) == [company]

    assert run_object(settings, "companies", env, partition_key=DAY).success
    assert company not in set(read(duckdb_url, "gainsight.companies")["gsid"])
    assert run_object(settings, "activities", env, tags=day).success
    unmatched = read(duckdb_url, "gainsight.unmatched_records").filter(
        pl.col("object") == settings.activity.object
    )
    reasons = dict(zip(unmatched["record_id"], unmatched["reason"], strict=True))
    assert {reasons.get(r) for r in pointing} == {"unknown_company"}
    assert not pointing & set(read(duckdb_url, "gainsight.activities")["activity_id"])


def test_a_re_run_after_the_log_expired_keeps_the_stored_deletions(
    tenant: DemoTenant,
    small_dataset: DemoDataset,
    settings: Settings,
    duckdb_url: str,
    tmp_path: Path,
) -> None:
    load_accounts(duckdb_url, small_dataset.crm_accounts)
    gone = first_ids(small_dataset, "activity_timeline", 2)
    tenant.delete("activity_timeline", gone, at=DELETED_AT)
    env = resources(tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    assert run_object(settings, "deleted_records", env, partition_key=DAY).success
    stored = read(duckdb_url, "gainsight.deleted_records")
    assert set(stored["record_id"]) == set(gone)

    # 15 days later Gainsight's log no longer holds them: the same day reads nothing
    with DemoTenant(small_dataset, access_key=DEMO_KEY) as forgetful:
        later = resources(forgetful.base_url, DEMO_KEY, duckdb_url, tmp_path)
        assert run_object(settings, "deleted_records", later, partition_key=DAY).success
    kept = read(duckdb_url, "gainsight.deleted_records")
    assert kept.sort("record_id").equals(stored.sort("record_id"))
