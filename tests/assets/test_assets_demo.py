"""Each asset materialized against the demo tenant into a DuckDB file, through its job."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from gainsight_assets.partitions import partition_tags
from gainsight_assets.settings import Settings, parse_settings
from gainsight_assets.tenants import DEFAULT_TENANT_FILE, load_settings
from resources.warehouse import TableRef, WarehouseResource
from tests.assets.helpers import failure_message, load_accounts, read, resources, run_object
from tests.conftest import DEMO_KEY

WEEK = "2025-03-03"  # a closed week inside the demo data


@pytest.fixture
def demo_settings() -> Settings:
    return load_settings(DEFAULT_TENANT_FILE)


@pytest.fixture
def env(demo_dataset, demo_tenant, duckdb_url: str, tmp_path: Path):
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    return resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)


def metadata(result) -> dict:
    """The output metadata (a ranged run records one materialization per partition, alike)."""
    event = result.get_asset_materialization_events()[0]
    return {k: v.value for k, v in event.materialization.metadata.items()}


# -- activities -------------------------------------------------------------------------------


def test_activities_over_a_week_route_and_resolve(env, duckdb_url: str) -> None:
    result = run_object(
        Settings(), "activities", env, tags=partition_tags("2025-03-03-00:00", "2025-03-09-20:00")
    )
    assert result.success
    table = read(duckdb_url, "gainsight.activities")
    assert table.columns[:10] == [
        "activity_id",
        "account_id",
        "match_method",
        "activity_type",
        "reporting_category",
        "type_name",
        "subject",
        "notes",
        "activity_date",
        "modified_at",
    ]
    assert table.height > 20
    assert set(table["activity_type"]) <= {"EMAIL", "MEETING", "TYPE_MANUAL"}
    assert set(table["match_method"]) == {"crm_id", "gsid_field"}
    window = (datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 10, tzinfo=UTC))
    assert table["modified_at"].min() >= window[0] and table["modified_at"].max() < window[1]
    # unmapped categories land as TYPE_MANUAL and are listed with counts
    meta = metadata(result)
    assert meta["unmapped_categories"], "the demo has categories outside the default map"
    for category in meta["unmapped_categories"]:
        routed = table.filter(pl.col("reporting_category") == category)["activity_type"]
        assert set(routed) == {"TYPE_MANUAL"}
    # case-insensitive mapping: every spelling of "email" is EMAIL
    emails = table.filter(pl.col("reporting_category").str.to_lowercase() == "email")
    assert emails.height and set(emails["activity_type"]) == {"EMAIL"}
    assert meta["api_calls"] >= 3 and meta["rows_written"] == table.height


def test_unmatched_records_are_kept_with_reason_and_raw_json(env, duckdb_url: str) -> None:
    result = run_object(
        Settings(), "activities", env, tags=partition_tags("2025-03-03-00:00", "2025-03-09-20:00")
    )
    assert result.success
    unmatched = read(duckdb_url, "gainsight.unmatched_records")
    assert unmatched.height > 0
    assert set(unmatched["object"]) == {"activity_timeline"}
    assert set(unmatched["reason"]) <= {
        "missing_company_id",
        "unknown_company",
        "no_primary_crm_account",
    }
    raw = unmatched["raw_record"][0]
    assert '"activity_id"' in raw
    meta = metadata(result)
    assert sum(meta["unmatched_by_reason"].values()) == unmatched.height


def test_rerunning_a_partition_replaces_it_without_duplicates(env, duckdb_url: str) -> None:
    tags = partition_tags("2025-03-05-00:00", "2025-03-06-20:00")
    assert run_object(Settings(), "activities", env, tags=tags).success
    first = read(duckdb_url, "gainsight.activities").sort("activity_id")
    first_unmatched = read(duckdb_url, "gainsight.unmatched_records")
    assert run_object(Settings(), "activities", env, tags=tags).success
    second = read(duckdb_url, "gainsight.activities").sort("activity_id")
    assert second.equals(first)  # identical input, identical table
    assert read(duckdb_url, "gainsight.unmatched_records").height == first_unmatched.height
    latest = read(duckdb_url, "gainsight.activities_latest")
    assert latest["activity_id"].n_unique() == latest.height


# -- surveys ----------------------------------------------------------------------------------


def test_surveys_in_multiple_mode_with_mappings_and_custom_fields(
    env, duckdb_url: str, demo_settings: Settings
) -> None:
    result = run_object(
        demo_settings, "surveys", env, tags=partition_tags("2025-02-20", "2025-03-11")
    )
    assert result.success
    table = read(duckdb_url, "gainsight.survey_responses")
    assert set(table["source_object"]) == {"nps_survey_response", "csat_survey_response"}
    assert set(table["survey_type"]) == {"NPS", "CSAT"}
    assert set(table["activity_type"]) == {"SURVEY"}
    nps = table.filter(pl.col("survey_type") == "NPS")
    assert nps["score"].min() >= 0 and nps["score"].max() <= 10
    assert nps["answer"].null_count() < nps.height  # Comment mapped to answer
    assert table.filter(pl.col("survey_type") == "CSAT")["question"].null_count() == 0
    assert any(c.startswith("cf_") for c in table.columns)
    custom = read(duckdb_url, "gainsight.custom_fields")
    assert {"object", "field", "column", "data_type", "label"} <= set(custom.columns)
    assert set(custom["object"]) <= {"nps_survey_response", "csat_survey_response"}
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["unique_grain"] and checks["read_in_full"]


def test_the_survey_grain_check_covers_the_custom_fields_register(
    env, duckdb_url: str, demo_settings: Settings
) -> None:
    days = partition_tags("2025-03-01", "2025-03-11")
    assert run_object(demo_settings, "surveys", env, tags=days).success
    register = read(duckdb_url, "gainsight.custom_fields")
    # a field registered twice (as a writer ignoring the grain would leave it)
    twice = register.head(1).with_columns(pl.lit("other_survey_object").alias("object"))
    WarehouseResource(url=duckdb_url).replace(
        TableRef("gainsight", "custom_fields"),
        pl.concat([twice, twice]),
        equals={"object": "other_survey_object"},
    )
    result = run_object(demo_settings, "surveys", env, tags=days)
    [grain] = [e for e in result.get_asset_check_evaluations() if e.check_name == "unique_grain"]
    assert not grain.passed
    assert "stored more than once in gainsight.custom_fields" in (grain.description or "")


def test_single_mode_auto_detects_the_standard_schema(env, duckdb_url: str) -> None:
    result = run_object(Settings(), "surveys", env, tags=partition_tags("2025-02-20", "2025-03-11"))
    assert result.success
    table = read(duckdb_url, "gainsight.survey_responses")
    assert set(table["source_object"]) == {"survey_response"}
    assert set(table["survey_type"]) <= {"NPS", "CSAT", "CES"}
    for column in ("score", "question", "answer", "responded_at", "respondent_email"):
        assert table[column].null_count() < table.height, column


def test_a_response_limit_never_removes_stored_responses(env, duckdb_url: str) -> None:
    """Sync the range in full, then again with a limit that cuts it: every stored response is
    still there, and the run says which days it could not read to their end."""
    days = partition_tags("2025-02-20", "2025-03-11")
    assert run_object(Settings(), "surveys", env, tags=days).success
    stored = read(duckdb_url, "gainsight.survey_responses")
    assert stored.height > 20

    limited = parse_settings({"surveys": {"response_limit": 5}})
    result = run_object(limited, "surveys", env, tags=days)
    assert result.success  # a WARN check does not fail the run
    after = read(duckdb_url, "gainsight.survey_responses")
    assert set(stored["response_id"]) <= set(after["response_id"])
    assert after.height == stored.height  # the 5 re-read responses replaced their own rows
    latest = read(duckdb_url, "gainsight.survey_responses_latest")
    assert set(latest["response_id"]) == set(stored["response_id"])

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["read_in_full"].passed
    meta = metadata(result)
    assert meta["truncated"] == {"survey_response": 5}
    assert meta["read_in_full"] is False
    incomplete = meta["incomplete_partitions"]
    # newest first: the cut lands in the last days, every day up to it may miss responses
    assert incomplete and incomplete[0] == "2025-02-20"
    assert incomplete == sorted(incomplete)
    assert set(incomplete) <= {
        f"2025-{d}"
        for d in [*(f"02-{x}" for x in range(20, 29)), *(f"03-{x:02}" for x in range(1, 12))]
    }

    # a limit that covers everything completes the range again
    result = run_object(Settings(), "surveys", env, tags=days)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["read_in_full"].passed and metadata(result)["incomplete_partitions"] == []


def test_a_first_sync_cut_by_the_limit_stores_what_it_read(env, duckdb_url: str) -> None:
    settings = parse_settings({"surveys": {"response_limit": 5}})
    result = run_object(settings, "surveys", env, tags=partition_tags("2025-02-20", "2025-03-11"))
    assert result.success
    assert read(duckdb_url, "gainsight.survey_responses").height <= 5
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["read_in_full"].passed


# -- product usage ------------------------------------------------------------------------------


def hand_aggregate(dataset, week_start: datetime) -> dict[tuple, tuple[float, float, int]]:
    """The expected weekly sums, computed row by row in plain Python: a key is an account id,
    or a company GSID whose company names an account, or the GSID an account carries."""
    accounts = set(dataset.crm_accounts["id"].drop_nulls())
    by_crm_id = {
        gsid: crm
        for gsid, crm in dataset.objects["Company"].select("Gsid", "SfdcAccountId").iter_rows()
        if crm in accounts
    }
    by_gsid_column = {
        gsid: account
        for account, gsid in dataset.crm_accounts.select("id", "gainsight_gsid_c").iter_rows()
        if gsid and account
    }

    def account_of(key: str | None) -> str | None:
        if key in accounts:
            return key
        return by_crm_id.get(key) or by_gsid_column.get(key)

    start_ms = int(week_start.timestamp() * 1000)
    end_ms = int((week_start + timedelta(days=7)).timestamp() * 1000)
    sums: dict[tuple, list] = defaultdict(lambda: [0.0, 0.0, 0])
    for row in dataset.objects["product_usage__gc"].iter_rows(named=True):
        account = account_of(row["AccountId"])
        if not start_ms <= row["UsageDate"] < end_ms or account is None:
            continue
        acc = sums[(account, row["MetricName"], row["Feature"])]
        acc[0] += row["MetricValue"] or 0.0
        acc[1] += row["Seats__gc"] or 0.0
        acc[2] += 1
    return {k: (v[0], v[1], v[2]) for k, v in sums.items()}


def test_usage_aggregation_matches_a_hand_computed_expectation(
    env, duckdb_url: str, demo_dataset, demo_settings: Settings
) -> None:
    result = run_object(demo_settings, "product_usage", env, partition_key=WEEK)
    assert result.success
    table = read(duckdb_url, "gainsight.product_usage")
    expected = hand_aggregate(demo_dataset, datetime(2025, 3, 3, tzinfo=UTC))
    got = {
        (r["account_id"], r["metric"], r["dimension"]): (r["value"], r["seats"], r["source_rows"])
        for r in table.iter_rows(named=True)
    }
    assert set(got) == set(expected)
    for key, (value, seats, rows) in expected.items():
        assert got[key][0] == pytest.approx(value)
        assert got[key][1] == pytest.approx(seats)
        assert got[key][2] == rows
    assert set(table["product"]) == {"Acme Analytics"}
    assert set(table["week_start"].dt.date()) == {datetime(2025, 3, 3).date()}
    assert "session_minutes" in table.columns


def test_usage_without_aggregation_makes_each_numeric_field_a_metric(env, duckdb_url: str) -> None:
    result = run_object(Settings(), "product_usage", env, partition_key=WEEK)
    assert result.success
    table = read(duckdb_url, "gainsight.product_usage")
    assert set(table["metric"]) == {"MetricValue", "Seats__gc", "Session_Minutes__gc"}
    assert set(table["product"]) == {"product usage"}


# -- companies ---------------------------------------------------------------------------------


def test_companies_enrich_crm_accounts_without_overriding_them(
    env, duckdb_url: str, demo_dataset
) -> None:
    result = run_object(Settings(), "companies", env, partition_key="2025-03-11")
    assert result.success
    table = read(duckdb_url, "gainsight.companies")
    assert table.columns[:6] == [
        "snapshot_date",
        "account_id",
        "match_method",
        "gsid",
        "account_name",
        "account_domain",
    ]
    assert set(table["snapshot_date"].cast(pl.String)) == {"2025-03-11"}
    # the CRM owns name/ARR: Gainsight's copies are reference columns only
    assert {"gainsight_name", "gainsight_arr"} <= set(table.columns)
    assert "name" not in table.columns and "arr" not in table.columns
    crm = demo_dataset.crm_accounts.select(pl.col("id").alias("account_id"), "name")
    joined = table.join(crm, on="account_id")
    assert joined["account_name"].to_list() == joined["name"].to_list()
    # picklist GSIDs resolved to labels
    stages = set(table["stage"].drop_nulls())
    assert stages and not any(s.startswith("1P") for s in stages)
    assert {"tier__gc", "health_score__gc"} <= set(table.columns)
    unmatched = read(duckdb_url, "gainsight.unmatched_records")
    assert set(unmatched["reason"]) == {"no_primary_crm_account"}


# -- settings against the tenant -----------------------------------------------------------------


def test_a_misspelled_field_fails_with_close_matches(env, duckdb_url: str) -> None:
    settings = parse_settings({"activity": {"date_field": "LastModifedDate"}})
    result = run_object(settings, "activities", env, partition_key="2025-03-05-00:00")
    assert not result.success
    message = failure_message(result)
    assert "LastModifedDate" in message and "activity.date_field" in message
    assert "LastModifiedDate" in message.split("Close matches:")[1]


def test_a_misspelled_object_fails_with_close_matches(env) -> None:
    settings = parse_settings({"product_usage": {"object": "product_usage_gc"}})
    result = run_object(settings, "product_usage", env, partition_key=WEEK)
    assert not result.success
    message = failure_message(result)
    assert "no object 'product_usage_gc'" in message and "product_usage__gc" in message


def test_an_empty_window_costs_one_query_call(env, duckdb_url: str, demo_tenant) -> None:
    before = demo_tenant.stats()["query_calls"]
    result = run_object(Settings(), "activities", env, partition_key="2025-01-01-00:00")
    assert result.success
    assert demo_tenant.stats()["query_calls"] - before == 1  # no company lookup for no records
    assert metadata(result)["rows_written"] == 0
    assert read(duckdb_url, "gainsight.activities").height == 0


def test_every_output_column_is_described(env, demo_settings: Settings) -> None:
    """What the UI shows beside each column of an asset's schema."""
    runs = {
        "companies": {"partition_key": "2025-03-11"},
        "activities": {"partition_key": "2025-03-05-08:00"},
        "surveys": {"tags": partition_tags("2025-03-01", "2025-03-11")},
        "product_usage": {"partition_key": WEEK},
    }
    for name, how in runs.items():
        result = run_object(demo_settings, name, env, **how)
        assert result.success, name
        event = result.get_asset_materialization_events()[0]
        schema = event.materialization.metadata["dagster/column_schema"].value
        undescribed = [c.name for c in schema.columns if not c.description]
        assert schema.columns and not undescribed, (name, undescribed)


# -- an answer that comes back short never shrinks what is stored ------------------------------

EMPTY_ANSWER = {"result": True, "errorCode": None, "errorDesc": None, "data": {"records": []}}


def test_an_empty_company_answer_keeps_the_stored_snapshot(
    env, duckdb_url: str, demo_tenant
) -> None:
    from gainsight_assets.demo.server import Fault

    day = "2025-03-11"
    assert run_object(Settings(), "companies", env, partition_key=day).success
    stored = read(duckdb_url, "gainsight.companies")
    assert stored.height > 0
    demo_tenant.inject(Fault(status=200, body=EMPTY_ANSWER, path="/query/Company"))
    assert run_object(Settings(), "companies", env, partition_key=day).success
    assert read(duckdb_url, "gainsight.companies").sort("gsid").equals(stored.sort("gsid"))


def test_a_short_usage_answer_for_a_stored_week_writes_nothing(
    env, duckdb_url: str, demo_tenant, demo_settings: Settings
) -> None:
    from gainsight_assets.demo.server import Fault

    assert run_object(demo_settings, "product_usage", env, partition_key=WEEK).success
    stored = read(duckdb_url, "gainsight.product_usage")
    sources = read(duckdb_url, "gainsight.product_usage_records")
    demo_tenant.inject(Fault(status=200, body=EMPTY_ANSWER, path="/query/product_usage__gc"))
    result = run_object(demo_settings, "product_usage", env, partition_key=WEEK)
    assert not result.success
    message = failure_message(result)
    assert f"{sources.height} usage record(s) that the stored week(s) {WEEK} counted" in message
    assert "nothing was written" in message
    assert read(duckdb_url, "gainsight.product_usage").equals(stored)
    assert read(duckdb_url, "gainsight.product_usage_records").equals(sources)
    # the full answer again: the week is rebuilt as before
    assert run_object(demo_settings, "product_usage", env, partition_key=WEEK).success
    assert read(duckdb_url, "gainsight.product_usage").equals(stored)
