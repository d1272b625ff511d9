"""The sensors: gate (first syncs), run all, failures recorded in the warehouse, usage refresh."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    Definitions,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    job,
    op,
)

import sensors
from gainsight_assets.definitions import build_definitions, build_resources
from gainsight_assets.objects import SYNC_TAG
from gainsight_assets.partitions import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from gainsight_assets.settings import Settings, parse_settings
from gainsight_assets.tenant import DEFAULT_TENANT, TENANT_TAG
from gainsight_assets.tenants import DEFAULT_TENANT_FILE, load_settings
from tests.assets.helpers import exists, load_accounts, read, resources, run_object
from tests.conftest import DEMO_ANCHOR, DEMO_KEY

OBJECTS = ("companies", "activities", "surveys", "product_usage", "deleted_records")
NO_TENANT = "http://127.0.0.1:9"  # sensors never call Gainsight


class FrozenDatetime(datetime):
    """``datetime`` whose ``now()`` is the demo anchor: Wednesday 2025-03-12 12:00 UTC."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return DEMO_ANCHOR if tz is not None else DEMO_ANCHOR.replace(tzinfo=None)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(sensors, "datetime", FrozenDatetime)
    return DEMO_ANCHOR


@pytest.fixture
def instance():
    with instance_for_test() as instance:
        yield instance


@pytest.fixture
def offline(duckdb_url: str, tmp_path: Path) -> dict[str, Any]:
    return resources(NO_TENANT, "k", duckdb_url, tmp_path)


@pytest.fixture
def online(demo_tenant, duckdb_url: str, tmp_path: Path) -> dict[str, Any]:
    return resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)


def tick(defs: Definitions, name: str, instance: DagsterInstance, res: dict, cursor=None):
    repo = defs.get_repository_def()
    with build_sensor_context(
        instance=instance, definitions=defs, resources=res, cursor=cursor
    ) as context:
        return repo.get_sensor_def(name).evaluate_tick(context)


def by_job(result) -> dict[str, Any]:
    assert result.skip_message is None, result.skip_message
    requests = {request.job_name: request for request in result.run_requests}
    assert len(requests) == len(result.run_requests)
    return requests


def add_run(instance: DagsterInstance, job_name: str) -> None:
    instance.add_run(
        DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()), status=DagsterRunStatus.SUCCESS)
    )


def span(request) -> tuple[str | None, str | None]:
    if request.partition_key is not None:
        return request.partition_key, request.partition_key
    return (
        request.tags.get(RANGE_START_TAG),
        request.tags.get(RANGE_END_TAG),
    )


# -- gate sensor -----------------------------------------------------------------------------


def test_gate_sensor_skips_while_the_gate_is_closed(instance, offline) -> None:
    defs = build_definitions(Settings(), resources=offline)
    result = tick(defs, "gainsight_gate_sensor", instance, offline)
    assert not result.run_requests
    assert result.skip_message.startswith("Primary-CRM gate closed")
    assert "`salesforce.account` does not exist" in result.skip_message


def test_an_open_gate_starts_each_first_sync_over_its_lookback(
    instance, offline, duckdb_url: str, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    defs = build_definitions(Settings(), resources=offline)
    requests = by_job(tick(defs, "gainsight_gate_sensor", instance, offline))
    assert set(requests) == {f"gainsight_{name}_sync" for name in OBJECTS}
    for name in OBJECTS:
        assert requests[f"gainsight_{name}_sync"].run_key == f"first-sync:{name}"
    # now = 2025-03-12 12:00 UTC; companies look back one day, usage four weeks, and activities
    # and surveys surveys.lookback_days (30): every window ending after now - span, all closed
    companies = requests["gainsight_companies_sync"]
    assert companies.partition_key == "2025-03-11"
    assert span(requests["gainsight_activities_sync"]) == ("2025-02-10-12:00", "2025-03-12-08:00")
    assert span(requests["gainsight_surveys_sync"]) == ("2025-02-10", "2025-03-11")
    assert span(requests["gainsight_product_usage_sync"]) == ("2025-02-10", "2025-03-03")


def test_the_first_sync_follows_surveys_lookback_days(
    instance, offline, duckdb_url: str, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    settings = parse_settings({"surveys": {"lookback_days": 10}})
    requests = by_job(
        tick(
            build_definitions(settings, resources=offline),
            "gainsight_gate_sensor",
            instance,
            offline,
        )
    )
    assert span(requests["gainsight_activities_sync"]) == ("2025-03-02-12:00", "2025-03-12-08:00")
    assert span(requests["gainsight_surveys_sync"]) == ("2025-03-02", "2025-03-11")


def test_an_object_that_ran_is_not_started_again(
    instance, online, duckdb_url: str, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    settings = Settings()
    assert run_object(settings, "companies", online, partition_key="2025-03-11", instance=instance)
    defs = build_definitions(settings, resources=online)
    requests = by_job(tick(defs, "gainsight_gate_sensor", instance, online))
    assert set(requests) == {f"gainsight_{name}_sync" for name in OBJECTS if name != "companies"}
    # a failed first sync counts too: the operator re-runs it, the sensor does not loop
    for name in ("activities", "surveys", "product_usage", "deleted_records"):
        add_run(instance, f"gainsight_{name}_sync")
    result = tick(defs, "gainsight_gate_sensor", instance, online)
    assert not result.run_requests
    assert result.skip_message == "Gate open; every enabled object has run before."


def test_the_gate_sensor_leaves_disabled_objects_alone(
    instance, offline, duckdb_url: str, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    settings = parse_settings({"company": {"enabled": False}, "surveys": {"enabled": False}})
    defs = build_definitions(settings, resources=offline)
    requests = by_job(tick(defs, "gainsight_gate_sensor", instance, offline))
    assert set(requests) == {
        "gainsight_activities_sync",
        "gainsight_product_usage_sync",
        "gainsight_deleted_records_sync",
    }


def test_the_gate_sensor_observes_the_accounts_each_time_it_looks(
    instance, offline, duckdb_url: str, demo_dataset
) -> None:
    defs = build_definitions(Settings(), resources=offline)
    closed = tick(defs, "gainsight_gate_sensor", instance, offline)
    [observation] = closed.asset_events
    assert observation.asset_key == AssetKey(["primary_crm", "accounts"])
    assert observation.metadata["dagster/row_count"].value == 0
    assert observation.metadata["gate"].value == "closed"
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    opened = tick(defs, "gainsight_gate_sensor", instance, offline)
    [observation] = opened.asset_events
    assert observation.metadata["dagster/row_count"].value == demo_dataset.crm_accounts.height
    assert observation.metadata["gate"].value == "open"
    assert observation.metadata["table"].value == "salesforce.account"


# -- run all ---------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [Settings(), load_settings(DEFAULT_TENANT_FILE)])
def test_run_all_requests_what_each_schedule_would(
    settings: Settings, instance, offline, duckdb_url: str, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    defs = build_definitions(settings, resources=offline)
    requests = by_job(tick(defs, "gainsight_run_all_sensor", instance, offline))
    lookback_start = date(2025, 3, 11) - timedelta(days=settings.surveys.lookback_days - 1)
    expected = {
        "companies": ("2025-03-11", "2025-03-11"),
        "activities": ("2025-03-12-08:00", "2025-03-12-08:00"),
        # surveys: the trailing lookback in one run, as the daily schedule asks
        "surveys": (max(lookback_start, settings.start_date).isoformat(), "2025-03-11"),
        "product_usage": ("2025-03-03", "2025-03-03"),
        "deleted_records": ("2025-03-11", "2025-03-11"),
    }
    assert {job: span(r) for job, r in requests.items()} == {
        f"gainsight_{name}_sync": window for name, window in expected.items()
    }
    for name, (first, last) in expected.items():
        request = requests[f"gainsight_{name}_sync"]
        assert request.run_key == (
            f"{name}:{last}" if first == last else f"{name}:{first}...{last}"
        )
        if first == last:
            assert request.tags[PARTITION_TAG] == last


def test_run_all_skips_while_the_gate_is_closed(instance, offline) -> None:
    defs = build_definitions(Settings(), resources=offline)
    result = tick(defs, "gainsight_run_all_sensor", instance, offline)
    assert not result.run_requests
    assert result.skip_message.startswith("Primary-CRM gate closed")


def test_run_all_only_runs_enabled_objects(
    instance, offline, duckdb_url: str, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    settings = parse_settings({"activity": {"enabled": False}})
    defs = build_definitions(settings, resources=offline)
    requests = by_job(tick(defs, "gainsight_run_all_sensor", instance, offline))
    assert set(requests) == {
        "gainsight_companies_sync",
        "gainsight_surveys_sync",
        "gainsight_product_usage_sync",
        "gainsight_deleted_records_sync",
    }


# -- failure sensor --------------------------------------------------------------------------


def failure_tick(
    defs: Definitions,
    instance: DagsterInstance,
    run_id: str,
    res: dict,
    sensor_name: str = "gainsight_failure_sensor",
):
    """One evaluation of the failure sensor ``sensor_name`` for the failed run ``run_id``."""
    run = instance.get_run_by_id(run_id)
    [entry] = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
    sensor = defs.get_repository_def().get_sensor_def(sensor_name)
    with (
        build_sensor_context(instance=instance, definitions=defs, resources=res) as sensor_context,
        build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=entry.get_dagster_event(),
            context=sensor_context,
            resources=res,
        ).for_run_failure() as context,
    ):
        return sensor(context)


def test_a_failed_sync_is_recorded_without_the_access_key(
    instance, demo_tenant, duckdb_url: str, tmp_path: Path, demo_dataset, monkeypatch
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    wrong_key = "stale-key-0123456789abcdef"
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", wrong_key)
    res = resources(demo_tenant.base_url, wrong_key, duckdb_url, tmp_path)
    settings = Settings()
    result = run_object(settings, "companies", res, partition_key="2025-03-11", instance=instance)
    assert not result.success
    defs = build_definitions(settings, resources=res)

    failure_tick(defs, instance, result.run_id, res)
    # evaluated twice, recorded once
    reported = failure_tick(defs, instance, result.run_id, res)

    [row] = read(duckdb_url, "gainsight.sync_failures").to_dicts()
    assert row["run_id"] == result.run_id
    assert row["job_name"] == "gainsight_companies_sync"
    assert row["object"] == "companies"
    assert row["partition"] == "2025-03-11"
    assert row["error_class"] == "GainsightAuthError"
    assert "rejected the access key (HTTP 401)" in row["message"]
    assert "expired or been rotated" in row["message"]
    assert wrong_key not in row["message"]
    assert row["failed_at"] is not None
    # the table's grain is checked after each write, on the asset gainsight/sync_failures
    materialization, grain = reported.asset_events
    assert materialization.asset_key == AssetKey(["gainsight", "sync_failures"])
    assert (grain.check_name, grain.passed) == ("unique_grain", True)


def test_the_sync_failures_grain_check_fails_on_a_run_recorded_twice(
    duckdb_url: str, tmp_path: Path
) -> None:
    from dagster import AssetCheckKey

    from gainsight_assets.definitions import build_definitions
    from resources.warehouse import TableRef, WarehouseResource

    row = {
        "run_id": "r1",
        "job_name": "gainsight_companies_sync",
        "object": "companies",
        "partition": "2025-03-11",
        "error_class": "GainsightAuthError",
        "message": "rejected",
        "failed_at": DEMO_ANCHOR,
    }
    warehouse = WarehouseResource(url=duckdb_url)
    table = TableRef("gainsight", "sync_failures")
    warehouse.replace(table, pl.DataFrame([row, {**row, "run_id": "r2"}]))
    res = resources(NO_TENANT, "k", duckdb_url, tmp_path)
    defs = build_definitions(Settings(), resources=res)
    check = AssetCheckKey(AssetKey(["gainsight", "sync_failures"]), "unique_grain")
    job = defs.get_implicit_global_asset_job_def()

    def evaluate():
        result = job.get_subset(asset_check_selection={check}).execute_in_process(
            raise_on_error=False
        )
        [evaluation] = result.get_asset_check_evaluations()
        return evaluation

    assert evaluate().passed
    # a writer that ignored the grain: run r1 twice
    warehouse.replace(table, pl.DataFrame([row, row]), equals={"run_id": "r1"})
    failed = evaluate()
    assert not failed.passed
    assert "1 key(s) stored more than once in gainsight.sync_failures" in failed.description


def test_a_settings_mistake_is_recorded_with_the_key_to_fix(
    instance, online, duckdb_url: str, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    settings = parse_settings({"activity": {"date_field": "LastModifedDate"}})
    result = run_object(
        settings, "activities", online, partition_key="2025-03-11-00:00", instance=instance
    )
    assert not result.success
    failure_tick(build_definitions(settings, resources=online), instance, result.run_id, online)
    [row] = read(duckdb_url, "gainsight.sync_failures").to_dicts()
    assert (row["object"], row["partition"]) == ("activities", "2025-03-11-00:00")
    assert row["error_class"] == "MissingFieldError"
    assert "no field 'LastModifedDate' (setting `activity.date_field`)" in row["message"]
    assert "Close matches: LastModifiedDate" in row["message"]


def test_a_malformed_base_url_is_recorded_as_the_validators_message(
    instance, duckdb_url: str, tmp_path: Path, monkeypatch
) -> None:
    """A setting that is wrong in the code location's environment fails the run before any
    step: the record is the validator's sentence, not pydantic's report around it."""
    monkeypatch.setenv("GAINSIGHT_BASE_URL", "acme.gainsightcloud.com")
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", "some-key-0123456789")
    offline = resources(NO_TENANT, "k", duckdb_url, tmp_path)
    defs = build_definitions(
        Settings(), resources={**offline, "gainsight": build_resources()["gainsight"]}
    )
    load_accounts(duckdb_url, pl.DataFrame({"id": ["a"], "gainsight_gsid_c": ["g"]}))
    result = defs.resolve_job_def("gainsight_companies_sync").execute_in_process(
        instance=instance, partition_key="2025-03-11", raise_on_error=False
    )
    assert not result.success
    failure_tick(defs, instance, result.run_id, offline)
    [row] = read(duckdb_url, "gainsight.sync_failures").to_dicts()
    assert row["error_class"] == "ValidationError"
    assert row["message"] == (
        "GAINSIGHT_BASE_URL must be your tenant's https URL, like"
        " https://acme.gainsightcloud.com; got 'acme.gainsightcloud.com'."
    )


def test_a_failure_message_that_carries_secrets_is_redacted(
    instance, offline, duckdb_url: str, monkeypatch
) -> None:
    key = "live-key-fedcba9876543210"
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", key)

    @op
    def leaky() -> None:
        raise RuntimeError(
            f"call with key {key} failed; warehouse postgresql://etl:hunter2@db.internal/dw;"
            ' echoed {"accessKey": "other-key-42"}'
        )

    @job(tags={SYNC_TAG: "surveys", TENANT_TAG: DEFAULT_TENANT})
    def gainsight_surveys_sync():
        leaky()

    result = gainsight_surveys_sync.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={RANGE_START_TAG: "2025-02-10", RANGE_END_TAG: "x"},
    )
    assert not result.success
    defs = build_definitions(Settings(), resources=offline)
    failure_tick(defs, instance, result.run_id, offline)

    [row] = read(duckdb_url, "gainsight.sync_failures").to_dicts()
    assert row["object"] == "surveys"
    assert row["partition"] == "2025-02-10...x"
    assert row["error_class"] == "RuntimeError"
    message = row["message"]
    for secret in (key, "hunter2", "other-key-42"):
        assert secret not in message
    assert "postgresql://etl:<redacted>@db.internal/dw" in message
    assert "call with key <redacted> failed" in message


def test_a_closed_gate_is_recorded_with_its_reason(instance, online, duckdb_url: str) -> None:
    result = run_object(
        Settings(), "surveys", online, partition_key="2025-03-11", instance=instance
    )
    assert not result.success
    failure_tick(build_definitions(Settings(), resources=online), instance, result.run_id, online)
    [row] = read(duckdb_url, "gainsight.sync_failures").to_dicts()
    assert row["error_class"] == "AssetCheckFailed[primary_crm_accounts_present]"
    assert row["message"].startswith("Primary-CRM gate closed")
    assert "Gainsight cannot be the primary CRM" in row["message"]


def test_failures_of_other_jobs_are_not_recorded(instance, offline, duckdb_url: str) -> None:
    @op
    def boom() -> None:
        raise RuntimeError("not ours")

    @job
    def some_other_pipeline():
        boom()

    result = some_other_pipeline.execute_in_process(instance=instance, raise_on_error=False)
    failure_tick(build_definitions(Settings(), resources=offline), instance, result.run_id, offline)
    assert not exists(duckdb_url, "gainsight.sync_failures")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("accesskey: k-123 rejected", "accesskey: <redacted> rejected"),
        ('headers {"accessKey": "k-123"}', 'headers {"accessKey": "<redacted>"}'),
        ("AccessKey=k-123 rejected", "AccessKey=<redacted> rejected"),
        ("postgresql://user:secret@host/db", "postgresql://user:<redacted>@host/db"),
        (
            "could not reach postgresql+psycopg2://user:s3cr%40t@10.0.0.1:5432/db today",
            "could not reach postgresql+psycopg2://user:<redacted>@10.0.0.1:5432/db today",
        ),
        ("postgresql://user@host/db has no password", "postgresql://user@host/db has no password"),
        ("HTTP 401 Unauthorized", "HTTP 401 Unauthorized"),
    ],
)
def test_redact_removes_keys_and_url_passwords(message: str, expected: str) -> None:
    assert sensors.redact(message) == expected


def test_redact_removes_known_secrets_anywhere() -> None:
    secret = "abc-DEF-123"
    assert sensors.redact(f"sent {secret} twice: {secret}", (secret,)) == (
        "sent <redacted> twice: <redacted>"
    )
    assert sensors.redact("nothing to hide", ("",)) == "nothing to hide"


# -- usage → customer_usage_weekly -------------------------------------------------------------


def usage_events(instance: DagsterInstance) -> dict[str, int]:
    """week -> storage id of its latest product-usage materialization."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(["gainsight", "product_usage"])), limit=100
    ).records
    latest: dict[str, int] = {}
    for record in sorted(records, key=lambda r: r.storage_id):
        latest[record.partition_key] = record.storage_id
    return latest


def test_usage_landing_requests_the_same_weeks_customer_usage(
    instance, online, duckdb_url: str, demo_dataset
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    settings = load_settings(DEFAULT_TENANT_FILE)
    defs = build_definitions(settings, resources=online)
    name = "customer_usage_after_usage_sensor"
    before = tick(defs, name, instance, online)
    assert not before.run_requests
    assert before.skip_message == "No new product usage."

    result = run_object(
        settings, "product_usage", online, partition_key="2025-03-03", instance=instance
    )
    assert result.success
    after = tick(defs, name, instance, online, cursor=before.cursor)
    [request] = after.run_requests
    assert request.partition_key == "2025-03-03"
    assert request.run_key == f"2025-03-03:{usage_events(instance)['2025-03-03']}"
    sensor = defs.get_repository_def().get_sensor_def(name)
    assert sensor.job_name == "customer_usage_weekly_refresh"
    # the cursor moves on: the same materialization is not requested twice
    again = tick(defs, name, instance, online, cursor=after.cursor)
    assert not again.run_requests


def test_a_week_refreshed_after_its_usage_landed_is_not_refreshed_again(
    instance, online, duckdb_url: str, demo_dataset
) -> None:
    """As after `gainsight-sync demo`: usage synced over three weeks in one run, the last week
    refreshed right away; then the UI starts and the sensor looks for the first time."""
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    settings = load_settings(DEFAULT_TENANT_FILE)
    defs = build_definitions(settings, resources=online)
    name = "customer_usage_after_usage_sensor"
    weeks = ["2025-02-17", "2025-02-24", "2025-03-03"]
    tags = {RANGE_START_TAG: weeks[0], RANGE_END_TAG: weeks[-1]}
    assert run_object(settings, "product_usage", online, tags=tags, instance=instance).success
    # the refresh of the last week (its run is tested in test_downstream.py)
    instance.report_runless_asset_event(
        AssetMaterialization(["gainsight", "customer_usage_weekly"], partition=weeks[-1])
    )

    first = tick(defs, name, instance, online)
    assert sorted(r.partition_key for r in first.run_requests) == weeks[:2]
    landed = usage_events(instance)
    assert {r.run_key for r in first.run_requests} == {f"{w}:{landed[w]}" for w in weeks[:2]}
    assert not tick(defs, name, instance, online, cursor=first.cursor).run_requests

    # usage of the refreshed week lands again: that is new, so it is refreshed once more
    assert run_object(
        settings, "product_usage", online, partition_key=weeks[-1], instance=instance
    ).success
    second = tick(defs, name, instance, online, cursor=first.cursor)
    [request] = second.run_requests
    assert request.partition_key == weeks[-1]
    assert request.run_key == f"{weeks[-1]}:{usage_events(instance)[weeks[-1]]}"
