"""What a consumer can trust, each against a respx tenant that a test controls record by record:
blank ids never match, usage has one row per grain, stored rows survive partial reads, and every
check fails on bad data and passes on good data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import respx

from gainsight_assets.settings import parse_settings
from resources.gainsight import GainsightResource
from resources.warehouse import TableRef, WarehouseResource, Window
from tests.assets.helpers import load_accounts, read, resources, run_object
from tests.assets.test_assets_respx import BASE, KEY, bare, describe

PARTITION = "2025-03-05-08:00"
IN_WINDOW = "2025-03-05T09:00:00Z"
COMPANIES = [
    {"Gsid": "C1", "SfdcAccountId": "001A"},
    {"Gsid": "C2", "SfdcAccountId": "001A"},  # a second company claiming the same account
    {"Gsid": "C3", "SfdcAccountId": "  "},  # a blank CRM id claims nothing
    {"Gsid": "C9", "SfdcAccountId": None},  # known only through the CRM's GSID column
]
ACCOUNTS = pl.DataFrame(
    {
        "id": ["001A", "001B", "", "001D"],
        # empty and whitespace-only GSIDs must never attract a record with a blank company id
        "gainsight_gsid_c": ["C9", "", "GS_EMPTY_ID", "   "],
    }
)


def activity(gsid: str, company: str | None, modified: str = IN_WINDOW) -> dict[str, Any]:
    return {
        "Gsid": gsid,
        "GsCompanyId": company,
        "ReportingCategory": "Email",
        "LastModifiedDate": modified,
    }


def mock_tenant(activities: list[dict] | None = None, usage: list[dict] | None = None) -> None:
    respx.get(f"{BASE}/v1/meta/services/objects/Company/describe").mock(
        return_value=describe("Company", {"Gsid": "GSID", "SfdcAccountId": "SFDCID"})
    )
    respx.post(f"{BASE}/v1/data/objects/query/Company").mock(return_value=bare(COMPANIES))
    respx.get(f"{BASE}/v1/meta/services/objects/activity_timeline/describe").mock(
        return_value=describe(
            "activity_timeline",
            {
                "Gsid": "GSID",
                "GsCompanyId": "GSID",
                "ReportingCategory": "STRING",
                "LastModifiedDate": "DATETIME",
            },
        )
    )
    respx.post(f"{BASE}/v1/data/objects/query/activity_timeline").mock(
        return_value=bare(activities or [])
    )
    respx.get(f"{BASE}/v1/meta/services/objects/product_usage__gc/describe").mock(
        return_value=describe(
            "product_usage__gc",
            {
                "Gsid": "GSID",
                "AccountId": "STRING",
                "UsageDate": "DATETIME",
                "MetricName": "STRING",
                "MetricValue": "NUMBER",
            },
        )
    )
    respx.post(f"{BASE}/v1/data/objects/query/product_usage__gc").mock(
        return_value=bare(usage or [])
    )


@pytest.fixture
def env(tmp_path: Path, duckdb_url: str) -> dict[str, Any]:
    load_accounts(duckdb_url, ACCOUNTS)
    return resources(BASE, KEY, duckdb_url, tmp_path)


def checks(result) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


# -- blank ids ------------------------------------------------------------------------------------


@respx.mock
def test_blank_company_ids_are_missing_and_never_attributed(env, duckdb_url: str) -> None:
    mock_tenant(
        [activity("A1", ""), activity("A2", "   "), activity("A3", None), activity("A4", "C1")]
    )
    result = run_object(parse_settings({}), "activities", env, partition_key=PARTITION)
    assert result.success
    table = read(duckdb_url, "gainsight.activities")
    assert table.select("activity_id", "account_id").rows() == [("A4", "001A")]
    unmatched = read(duckdb_url, "gainsight.unmatched_records").sort("record_id")
    assert unmatched.select("record_id", "reason").rows() == [
        ("A1", "missing_company_id"),
        ("A2", "missing_company_id"),
        ("A3", "missing_company_id"),
    ]
    assert set(unmatched["partition"]) == {PARTITION}
    assert set(unmatched["company_key_field"]) == {"GsCompanyId"}


@respx.mock
def test_records_without_an_id_are_kept_aside_once(env, duckdb_url: str) -> None:
    mock_tenant(
        [activity("", "C1"), activity("  ", "C1"), activity(None, "C1"), activity(" A1 ", "C1")]
    )
    settings = parse_settings({})
    for _ in range(2):  # a re-run replaces them: no row is stored twice
        result = run_object(settings, "activities", env, partition_key=PARTITION)
        assert result.success
        assert checks(result)["unique_grain"].passed
    table = read(duckdb_url, "gainsight.activities")
    assert table["activity_id"].to_list() == ["A1"]  # trimmed, like every key
    unmatched = read(duckdb_url, "gainsight.unmatched_records")
    assert unmatched.height == 3
    assert set(unmatched["reason"]) == {"missing_record_id"}
    assert unmatched["record_id"].n_unique() == 3
    assert all(r.startswith("no-id:") for r in unmatched["record_id"])
    assert checks(result)["match_rate"].metadata["match_rate"].value == 0.25


# -- usage grain ----------------------------------------------------------------------------------

USAGE = [
    # one account reached three ways: its own id, a company claiming it, its own GSID column
    {
        "Gsid": "U1",
        "AccountId": "001A",
        "UsageDate": "2025-03-04T10:00:00Z",
        "MetricName": "logins",
        "MetricValue": 10,
    },
    {
        "Gsid": "U2",
        "AccountId": "C1",
        "UsageDate": "2025-03-05T10:00:00Z",
        "MetricName": "logins",
        "MetricValue": 30,
    },
    {
        "Gsid": "U3",
        "AccountId": "C9",
        "UsageDate": "2025-03-06T10:00:00Z",
        "MetricName": "logins",
        "MetricValue": 20,
    },
    {
        "Gsid": "U4",
        "AccountId": " ",
        "UsageDate": "2025-03-06T11:00:00Z",
        "MetricName": "logins",
        "MetricValue": 99,
    },
    {
        "Gsid": "U5",
        "AccountId": "SF-NOPE",
        "UsageDate": "2025-03-06T12:00:00Z",
        "MetricName": "logins",
        "MetricValue": 7,
    },
]
AGGREGATE = {
    "enabled": True,
    "key": "AccountId",
    "metric_name_field": "MetricName",
    "metric_value_field": "MetricValue",
}


@pytest.mark.parametrize(
    ("function", "expected"), [("sum", 60.0), ("max", 30.0), ("mean", 20.0), ("last", 20.0)]
)
@respx.mock
def test_usage_has_one_row_per_grain_whatever_the_match_path(
    env, duckdb_url: str, function: str, expected: float
) -> None:
    mock_tenant(usage=USAGE)
    settings = parse_settings({"product_usage": {"aggregate": {**AGGREGATE, "function": function}}})
    result = run_object(settings, "product_usage", env, partition_key="2025-03-03")
    assert result.success
    table = read(duckdb_url, "gainsight.product_usage")
    assert table.select("account_id", "metric", "value", "source_rows", "match_methods").rows() == [
        ("001A", "logins", expected, 3, "crm_id,gsid_field")
    ]
    assert "match_method" not in table.columns
    assert checks(result)["unique_grain"].passed
    unmatched = read(duckdb_url, "gainsight.unmatched_records").sort("record_id")
    assert unmatched.select("record_id", "reason", "company_key", "company_key_field").rows() == [
        ("U4", "missing_company_id", " ", "AccountId"),
        ("U5", "unknown_company", "SF-NOPE", "AccountId"),
    ]
    # an AccountId is not a Gainsight company id: the column meant for one stays empty
    assert unmatched["gs_company_id"].null_count() == unmatched.height


# -- checks that fail on bad data and pass on good data ---------------------------------------------


@respx.mock
def test_the_grain_check_fails_when_the_table_holds_a_key_twice(env, duckdb_url: str) -> None:
    mock_tenant([activity("A4", "C1")])
    settings = parse_settings({})
    assert checks(run_object(settings, "activities", env, partition_key=PARTITION))[
        "unique_grain"
    ].passed
    # another writer stored one version of Z9 twice in the window
    table = read(duckdb_url, "gainsight.activities")
    twice = pl.concat([table, table]).with_columns(pl.lit("Z9").alias("activity_id"))
    WarehouseResource(url=duckdb_url).replace(
        TableRef("gainsight", "activities"), twice, only_keys=pl.DataFrame({"activity_id": ["Z9"]})
    )
    result = run_object(settings, "activities", env, partition_key=PARTITION)
    check = checks(result)["unique_grain"]
    assert not check.passed
    assert check.severity.value == "ERROR"
    assert check.metadata["duplicate_keys"].value == 1
    assert "gainsight.activities" in check.description


@respx.mock
def test_the_unmatched_grain_is_checked_too(env, duckdb_url: str) -> None:
    mock_tenant([activity("A1", "nobody")])
    settings = parse_settings({})
    run_object(settings, "activities", env, partition_key=PARTITION)
    unmatched = read(duckdb_url, "gainsight.unmatched_records")
    copy = unmatched.with_columns(pl.lit("Z9").alias("record_id"))
    WarehouseResource(url=duckdb_url).replace(
        TableRef("gainsight", "unmatched_records"),
        pl.concat([copy, copy]),
        only_keys=pl.DataFrame({"object": ["activity_timeline"], "record_id": ["Z9"]}),
    )
    check = checks(run_object(settings, "activities", env, partition_key=PARTITION))["unique_grain"]
    assert not check.passed and "unmatched_records" in check.description


@pytest.mark.parametrize(("threshold", "passes"), [(0.5, True), (0.75, False)])
@respx.mock
def test_the_match_rate_check_compares_with_the_threshold(
    env, threshold: float, passes: bool
) -> None:
    # 2 of 3 records match: 67 %
    mock_tenant([activity("A1", "C1"), activity("A2", "C2"), activity("A3", "nobody")])
    settings = parse_settings({"quality": {"min_match_rate": threshold}})
    result = run_object(settings, "activities", env, partition_key=PARTITION)
    check = checks(result)["match_rate"]
    assert check.passed is passes
    assert check.metadata["match_rate"].value == pytest.approx(2 / 3, abs=1e-4)
    assert check.severity.value == "WARN"


@respx.mock
def test_paging_that_stalls_keeps_stored_rows_and_fails_read_in_full(
    tmp_path: Path, duckdb_url: str
) -> None:
    load_accounts(duckdb_url, ACCOUNTS)
    env = resources(BASE, KEY, duckdb_url, tmp_path)
    settings = parse_settings({})
    # first run: three activities stored
    mock_tenant([activity("A1", "C1"), activity("A2", "C1"), activity("A3", "C2")])
    assert checks(run_object(settings, "activities", env, partition_key=PARTITION))[
        "read_in_full"
    ].passed
    # second run: a server that ignores offset serves the same two records on every page
    respx.reset()
    mock_tenant([activity("A1", "C1", "2025-03-05T10:00:00Z"), activity("A2", "C1")])
    respx.post(f"{BASE}/v1/data/objects/query/Company").mock(
        side_effect=[bare(COMPANIES[:2]), bare(COMPANIES[2:]), bare([])]
    )
    env["gainsight"] = GainsightResource(
        base_url=BASE, access_key=KEY, page_size=2, rate_limit_state_path=str(tmp_path / "r.json")
    )
    result = run_object(settings, "activities", env, partition_key=PARTITION)
    assert result.success
    check = checks(result)["read_in_full"]
    assert not check.passed
    assert check.metadata["incomplete_partitions"].value == [PARTITION]
    table = read(duckdb_url, "gainsight.activities").sort("activity_id")
    # A3 was not read again and is still stored; A1's new version replaced its old one
    assert table["activity_id"].to_list() == ["A1", "A2", "A3"]
    assert str(table["modified_at"][0]).startswith("2025-03-05 10:00")


@respx.mock
def test_a_record_that_moved_to_a_later_window_keeps_its_stored_version(
    env, duckdb_url: str
) -> None:
    """Re-reading an old window in full does not drop a record edited since: its old version
    is the only one stored until the later window is synced."""
    settings = parse_settings({})
    mock_tenant([activity("A1", "C1"), activity("A2", "C1")])
    run_object(settings, "activities", env, partition_key=PARTITION)
    respx.reset()
    mock_tenant([activity("A2", "C1")])  # A1 was edited after 12:00: not in this window any more
    assert run_object(settings, "activities", env, partition_key=PARTITION).success
    stored = WarehouseResource(url=duckdb_url).read(
        TableRef("gainsight", "activities"),
        window=Window(
            "modified_at",
            *(
                pl.Series([s]).str.to_datetime(time_zone="UTC")[0]
                for s in ("2025-03-05T08:00:00Z", "2025-03-05T12:00:00Z")
            ),
        ),
    )
    assert sorted(stored["activity_id"]) == ["A1", "A2"]
