"""The remaining settings: survey filter, GSID override, aggregation functions, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import polars as pl
import pytest
import respx

from gainsight_assets.assets.product_usage import aggregate_weekly
from gainsight_assets.partitions import partition_tags
from gainsight_assets.settings import Settings, parse_settings
from tests.assets.helpers import load_accounts, read, resources, run_object
from tests.conftest import DEMO_KEY

RANGE = partition_tags("2025-02-20", "2025-03-11")


@pytest.fixture
def env(demo_dataset, demo_tenant, duckdb_url: str, tmp_path: Path):
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    return resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)


def test_survey_filter_is_anded_with_the_window(env, duckdb_url: str) -> None:
    promoters = {
        "conditions": [{"name": "Score", "alias": "A", "value": [9], "operator": "GTE"}],
        "expression": "A",
    }
    settings = parse_settings({"surveys": {"filter": promoters}})
    assert run_object(settings, "surveys", env, tags=RANGE).success
    table = read(duckdb_url, "gainsight.survey_responses")
    assert table.height > 0
    assert table["score"].min() >= 9
    assert table["modified_at"].min() >= datetime(2025, 2, 20, tzinfo=UTC)


def test_gsid_field_override_uses_another_accounts_column(
    demo_dataset, demo_tenant, duckdb_url: str, tmp_path: Path
) -> None:
    accounts = demo_dataset.crm_accounts.rename({"gainsight_gsid_c": "gs_company_gsid"})
    load_accounts(
        duckdb_url, accounts.with_columns(pl.lit(None, pl.String).alias("gainsight_gsid_c"))
    )
    res = resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    common = run_object(Settings(), "surveys", res, tags=RANGE)
    assert common.success
    without = set(read(duckdb_url, "gainsight.survey_responses")["match_method"])
    override = parse_settings({"surveys": {"gsid_field_override": "gs_company_gsid"}})
    assert run_object(override, "surveys", res, tags=RANGE).success
    with_override = set(read(duckdb_url, "gainsight.survey_responses")["match_method"])
    assert without == {"crm_id"}  # the common GSID column is empty
    assert with_override == {"crm_id", "gsid_field"}


def test_a_missing_accounts_column_names_the_setting(env) -> None:
    settings = parse_settings({"gsid_field": "gainsight_gsid"})
    result = run_object(settings, "surveys", env, tags=RANGE)
    assert not result.success
    from tests.assets.helpers import failure_message

    message = failure_message(result)
    assert "no column `gainsight_gsid`" in message and "gainsight_gsid_c" in message


FLAT = pl.DataFrame(
    {
        "record_id": ["r1", "r2", "r3", "r4"],
        "usage_date": [datetime(2025, 3, d, tzinfo=UTC) for d in (3, 5, 4, 6)],
        "week_start": [datetime(2025, 3, 3, tzinfo=UTC)] * 4,
        "account_id": ["a", "a", "a", "b"],
        "match_method": ["crm_id"] * 4,
        "product": ["p"] * 4,
        "metric": ["logins"] * 4,
        "dimension": ["web"] * 4,
        "value": [1.0, 5.0, 3.0, 7.0],
        "seats": [10.0, 30.0, 20.0, 1.0],
    }
)


@pytest.mark.parametrize(
    ("function", "a_value", "a_seats"),
    [("sum", 9.0, 60.0), ("max", 5.0, 30.0), ("mean", 3.0, 20.0), ("last", 5.0, 30.0)],
)
def test_aggregation_functions(function: str, a_value: float, a_seats: float) -> None:
    out = aggregate_weekly(FLAT, ["seats"], function)
    row = out.filter(pl.col("account_id") == "a").row(0, named=True)
    assert (row["value"], row["seats"], row["source_rows"]) == (a_value, a_seats, 3)
    assert out.filter(pl.col("account_id") == "b")["value"].item() == 7.0


BASE = "https://acme.gainsightcloud.com"


def _describe(fields: dict[str, str]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "result": True,
            "data": [
                {
                    "objectName": "x",
                    "fields": [{"fieldName": f, "dataType": t} for f, t in fields.items()],
                }
            ],
        },
    )


@respx.mock
def test_an_edited_record_keeps_each_version_and_the_view_shows_the_latest(
    tmp_path: Path, duckdb_url: str
) -> None:
    respx.get(f"{BASE}/v1/meta/services/objects/Company/describe").mock(
        return_value=_describe({"Gsid": "GSID", "SfdcAccountId": "SFDCID"})
    )
    respx.get(f"{BASE}/v1/meta/services/objects/activity_timeline/describe").mock(
        return_value=_describe(
            {
                "Gsid": "GSID",
                "GsCompanyId": "GSID",
                "ReportingCategory": "STRING",
                "Subject": "STRING",
                "LastModifiedDate": "DATETIME",
            }
        )
    )
    respx.post(f"{BASE}/v1/data/objects/query/Company").mock(
        return_value=httpx.Response(
            200,
            json={"result": True, "data": {"records": [{"Gsid": "C1", "SfdcAccountId": "001A"}]}},
        )
    )
    first = {
        "Gsid": "A1",
        "GsCompanyId": "C1",
        "ReportingCategory": "email",
        "Subject": "draft",
        "LastModifiedDate": "2025-03-05T01:00:00Z",
    }
    edited = {**first, "Subject": "final", "LastModifiedDate": "2025-03-05T09:00:00Z"}
    respx.post(f"{BASE}/v1/data/objects/query/activity_timeline").mock(
        side_effect=[
            httpx.Response(200, json={"result": True, "data": {"records": [first]}}),
            httpx.Response(200, json={"result": True, "data": {"records": [edited]}}),
        ]
    )
    load_accounts(duckdb_url, pl.DataFrame({"id": ["001A"], "gainsight_gsid_c": [None]}))
    res = resources(BASE, "k", duckdb_url, tmp_path)
    assert run_object(Settings(), "activities", res, partition_key="2025-03-05-00:00").success
    assert run_object(Settings(), "activities", res, partition_key="2025-03-05-08:00").success

    versions = read(duckdb_url, "gainsight.activities").sort("modified_at")
    assert versions["subject"].to_list() == ["draft", "final"]
    latest = read(duckdb_url, "gainsight.activities_latest")
    assert latest.select("activity_id", "subject").rows() == [("A1", "final")]
