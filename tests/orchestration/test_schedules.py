"""Every schedule of the code location, ticked at chosen times against a DuckDB warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from dagster import Definitions, PartitionKeyRange, build_schedule_context

from gainsight_assets.definitions import build_definitions
from gainsight_assets.downstream import CUSTOMER_USAGE_JOB
from gainsight_assets.partitions import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from gainsight_assets.settings import Settings, parse_settings
from gainsight_assets.tenants import DEFAULT_TENANT_FILE, load_settings
from resources.warehouse import WarehouseResource
from tests.assets.helpers import load_accounts, resources

SCHEDULES = {
    "companies": "gainsight_companies_sync_schedule",
    "activities": "gainsight_activities_sync_schedule",
    "surveys": "gainsight_surveys_sync_schedule",
    "product_usage": "gainsight_product_usage_sync_schedule",
    "deleted_records": "gainsight_deleted_records_sync_schedule",
}
SETTING_SECTION = {
    "companies": "company",
    "activities": "activity",
    "surveys": "surveys",
    "product_usage": "product_usage",
    "deleted_records": "deletions",
}
# Schedules never call Gainsight: the resource points at a closed port.
NO_TENANT = "http://127.0.0.1:9"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(params=["defaults", "demo"])
def settings(request: pytest.FixtureRequest) -> Settings:
    return Settings() if request.param == "defaults" else load_settings(DEFAULT_TENANT_FILE)


def definitions(settings: Settings, warehouse_url: str, tmp: Path) -> Definitions:
    return build_definitions(settings, resources=resources(NO_TENANT, "k", warehouse_url, tmp))


def tick(defs: Definitions, name: str, at: datetime, warehouse_url: str):
    repo = defs.get_repository_def()
    context = build_schedule_context(
        scheduled_execution_time=at,
        repository_def=repo,
        resources={"warehouse": WarehouseResource(url=warehouse_url)},
    )
    return repo.get_schedule_def(name).evaluate_tick(context)


def only_request(result):
    assert result.skip_message is None, result.skip_message
    [request] = result.run_requests
    return request


def test_one_schedule_per_object_in_utc_after_its_window_closes(
    settings: Settings, duckdb_url: str, tmp_path: Path
) -> None:
    defs = definitions(settings, duckdb_url, tmp_path)
    schedules = {s.name: s for s in defs.get_repository_def().schedule_defs}
    assert set(schedules) == set(SCHEDULES.values())
    for obj, name in SCHEDULES.items():
        assert schedules[name].job_name == f"gainsight_{obj}_sync"
        assert schedules[name].execution_timezone == "UTC"
    assert schedules[SCHEDULES["activities"]].cron_schedule == "15 */4 * * *"
    assert schedules[SCHEDULES["product_usage"]].cron_schedule == "30 0 * * 1"


@pytest.mark.parametrize("obj", list(SCHEDULES))
def test_a_closed_gate_skips_the_tick_with_the_reason(
    obj: str, settings: Settings, duckdb_url: str, tmp_path: Path
) -> None:
    defs = definitions(settings, duckdb_url, tmp_path)
    result = tick(defs, SCHEDULES[obj], utc(2025, 3, 12, 4, 15), duckdb_url)
    assert not result.run_requests
    assert result.skip_message.startswith("Primary-CRM gate closed")
    assert "`salesforce.account` does not exist" in result.skip_message
    assert "Nothing was ingested" in result.skip_message


def test_an_empty_accounts_table_keeps_the_gate_closed(
    settings: Settings, duckdb_url: str, tmp_path: Path, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts.clear())
    defs = definitions(settings, duckdb_url, tmp_path)
    result = tick(defs, SCHEDULES["companies"], utc(2025, 3, 12, 0, 10), duckdb_url)
    assert not result.run_requests
    assert "gate closed: `salesforce.account` is empty" in result.skip_message


@pytest.mark.parametrize(
    ("obj", "at", "expected"),
    [
        ("activities", utc(2025, 3, 12, 4, 15), "2025-03-12-00:00"),
        ("activities", utc(2025, 3, 12, 0, 15), "2025-03-11-20:00"),
        ("companies", utc(2025, 3, 12, 0, 10), "2025-03-11"),
        ("companies", utc(2025, 3, 1, 0, 10), "2025-02-28"),
        ("product_usage", utc(2025, 3, 10, 0, 30), "2025-03-03"),
        ("deleted_records", utc(2025, 3, 12, 0, 40), "2025-03-11"),
    ],
)
def test_an_open_gate_requests_the_last_closed_partition(
    obj: str,
    at: datetime,
    expected: str,
    settings: Settings,
    duckdb_url: str,
    tmp_path: Path,
    demo_dataset,
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    defs = definitions(settings, duckdb_url, tmp_path)
    request = only_request(tick(defs, SCHEDULES[obj], at, duckdb_url))
    assert request.partition_key == expected
    assert request.tags[PARTITION_TAG] == expected
    assert request.run_key == expected  # one run per window, however often the tick repeats
    job = defs.resolve_job_def(f"gainsight_{obj}_sync")
    assert job.partitions_def.has_partition_key(expected)


def test_surveys_rerun_the_trailing_lookback_window_in_one_run(
    settings: Settings, duckdb_url: str, tmp_path: Path, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    defs = definitions(settings, duckdb_url, tmp_path)
    request = only_request(tick(defs, SCHEDULES["surveys"], utc(2025, 3, 12, 0, 20), duckdb_url))
    assert request.partition_key is None
    assert PARTITION_TAG not in request.tags
    start = request.tags[RANGE_START_TAG]
    end = request.tags[RANGE_END_TAG]
    assert (start, end) == ("2025-02-10", "2025-03-11")
    partitions = defs.resolve_job_def("gainsight_surveys_sync").partitions_def
    keys = partitions.get_partition_keys_in_range(PartitionKeyRange(start, end))
    assert len(keys) == settings.surveys.lookback_days == 30


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"surveys": {"lookback_days": 7}}, ("2025-03-05", "2025-03-11")),
        ({"surveys": {"lookback_days": 1}}, ("2025-03-11", "2025-03-11")),
        # the window never reaches before start_date
        ({"start_date": "2025-03-01"}, ("2025-03-01", "2025-03-11")),
    ],
)
def test_the_survey_window_follows_lookback_days_and_start_date(
    raw: dict, expected: tuple[str, str], duckdb_url: str, tmp_path: Path, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    defs = definitions(parse_settings(raw), duckdb_url, tmp_path)
    request = only_request(tick(defs, SCHEDULES["surveys"], utc(2025, 3, 12, 0, 20), duckdb_url))
    if expected[0] == expected[1]:  # one day: a plain partition run
        assert request.partition_key == expected[1] and request.run_key == expected[1]
        return
    got = (
        request.tags[RANGE_START_TAG],
        request.tags[RANGE_END_TAG],
    )
    assert got == expected
    assert request.run_key == f"{expected[0]}...{expected[1]}"


def test_no_closed_partition_yet_skips_with_the_reason(
    duckdb_url: str, tmp_path: Path, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    defs = definitions(parse_settings({"start_date": "2025-03-12"}), duckdb_url, tmp_path)
    result = tick(defs, SCHEDULES["companies"], utc(2025, 3, 12, 0, 10), duckdb_url)
    assert not result.run_requests
    assert result.skip_message.startswith("No closed companies partition before 2025-03-12")


@pytest.mark.parametrize("obj", list(SCHEDULES))
def test_a_disabled_object_gets_no_job_and_no_schedule(
    obj: str, duckdb_url: str, tmp_path: Path
) -> None:
    settings = parse_settings({SETTING_SECTION[obj]: {"enabled": False}})
    defs = definitions(settings, duckdb_url, tmp_path)
    repo = defs.get_repository_def()  # the code location still loads
    jobs = {job.name for job in repo.get_all_jobs()}
    schedules = {s.name for s in repo.schedule_defs}
    assert f"gainsight_{obj}_sync" not in jobs
    assert schedules == {name for other, name in SCHEDULES.items() if other != obj}
    assert {f"gainsight_{o}_sync" for o in SCHEDULES if o != obj} <= jobs
    # the weekly customer usage reads usage, surveys and activities: it needs all three
    assert (CUSTOMER_USAGE_JOB in jobs) == (obj in {"companies", "deleted_records"})
    sensors = {s.name for s in repo.sensor_defs}
    assert ("customer_usage_after_usage_sensor" in sensors) == (
        obj in {"companies", "deleted_records"}
    )
    # deletions re-aggregate usage weeks only when both are synced
    assert ("product_usage_after_deletions_sensor" in sensors) == (
        obj not in {"product_usage", "deleted_records"}
    )
    assert {"gainsight_gate_sensor", "gainsight_failure_sensor"} <= sensors


def test_with_every_object_disabled_nothing_is_scheduled(duckdb_url: str, tmp_path: Path) -> None:
    settings = parse_settings({section: {"enabled": False} for section in SETTING_SECTION.values()})
    repo = definitions(settings, duckdb_url, tmp_path).get_repository_def()
    assert not repo.schedule_defs
    assert not [job for job in repo.get_all_jobs() if job.name.startswith("gainsight_")]
    assert {s.name for s in repo.sensor_defs} == {"gainsight_failure_sensor"}


def test_a_single_account_opens_the_gate(duckdb_url: str, tmp_path: Path) -> None:
    """One account is enough: the gate counts rows, it does not judge them."""
    load_accounts(
        duckdb_url,
        pl.DataFrame(
            {"id": ["001A"], "gainsight_gsid_c": [None]},
            schema={"id": pl.String, "gainsight_gsid_c": pl.String},
        ),
    )
    defs = definitions(Settings(), duckdb_url, tmp_path)
    request = only_request(tick(defs, SCHEDULES["companies"], utc(2025, 3, 12, 0, 10), duckdb_url))
    assert request.partition_key == "2025-03-11"
