"""``gainsight/deleted_records`` against respx mocks: both envelopes, "no data", no log object."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import polars as pl
import pytest
import respx

from gainsight_assets.settings import Settings
from tests.assets.helpers import exists, load_accounts, read, resources, run_object
from tests.assets.test_assets_respx import BASE, KEY, NO_DATA, bare, describe

LOG = {"Gsid": "GSID", "ObjectName": "STRING", "RecordId": "STRING", "DeletedOn": "DATETIME"}
ENTRIES = [
    {"ObjectName": "activity_timeline", "RecordId": "A1", "DeletedOn": "2025-03-05T09:30:00Z"},
    {"ObjectName": "Company", "RecordId": " C1 ", "DeletedOn": 1741170600000},
    # a blank id names no record: it must never hide one
    {"ObjectName": "activity_timeline", "RecordId": "  ", "DeletedOn": 1741170600000},
    {"ObjectName": "activity_timeline", "RecordId": None, "DeletedOn": 1741170600000},
]


def records(entries: list[dict]) -> httpx.Response:
    return httpx.Response(200, json={"result": True, "data": {"records": entries}})


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (records(ENTRIES), {("activity_timeline", "A1"), ("Company", "C1")}),
        (bare(ENTRIES), {("activity_timeline", "A1"), ("Company", "C1")}),
        (NO_DATA, set()),
    ],
    ids=["records", "list", "no-data"],
)
@respx.mock
def test_the_log_in_every_envelope(
    tmp_path: Path, duckdb_url: str, answer: httpx.Response, expected: set
) -> None:
    respx.get(f"{BASE}/v1/meta/services/objects/record_delete_log/describe").mock(
        return_value=describe("record_delete_log", LOG)
    )
    query = respx.post(f"{BASE}/v1/data/objects/query/record_delete_log").mock(
        side_effect=[answer, NO_DATA]
    )
    load_accounts(duckdb_url, pl.DataFrame({"id": ["001A"], "gainsight_gsid_c": ["C1"]}))
    result = run_object(
        Settings(),
        "deleted_records",
        resources(BASE, KEY, duckdb_url, tmp_path),
        partition_key="2025-03-05",
    )
    assert result.success
    table = read(duckdb_url, "gainsight.deleted_records")
    assert set(table.select("object", "record_id").iter_rows()) == expected
    body = json.loads(query.calls[0].request.content)
    condition = next(c for c in body["where"]["conditions"] if c["name"] == "ObjectName")
    assert condition["operator"] == "IN"
    assert {"Company", "activity_timeline", "survey_response", "product_usage__gc"} <= set(
        condition["value"]
    )
    assert [c["value"] for c in body["where"]["conditions"] if c["name"] == "DeletedOn"] == [
        ["2025-03-05T00:00:00Z"],
        ["2025-03-06T00:00:00Z"],
    ]


@respx.mock
def test_a_tenant_without_the_log_object(tmp_path: Path, duckdb_url: str) -> None:
    respx.get(f"{BASE}/v1/meta/services/objects/record_delete_log/describe").mock(
        return_value=httpx.Response(
            404, json={"result": False, "errorCode": "GSOBJ_1023", "errorDesc": "not found"}
        )
    )
    respx.get(url__regex=rf"{BASE}/v1/meta/services/objects(/list)?$").mock(
        return_value=httpx.Response(200, json={"result": True, "data": []})
    )
    respx.post(url__regex=rf"{BASE}/v1/meta/services/objects$").mock(
        return_value=httpx.Response(200, json={"result": True, "data": []})
    )
    load_accounts(duckdb_url, pl.DataFrame({"id": ["001A"], "gainsight_gsid_c": ["C1"]}))
    result = run_object(
        Settings(),
        "deleted_records",
        resources(BASE, KEY, duckdb_url, tmp_path),
        partition_key="2025-03-05",
    )
    assert result.success
    assert not exists(duckdb_url, "gainsight.deleted_records")
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "log_available"]
    assert (check.passed, check.severity.value) == (False, "WARN")
