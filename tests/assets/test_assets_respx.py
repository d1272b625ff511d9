"""Assets against respx mocks of a tenant that answers in the *other* documented shapes: bare
``data`` lists, ISO dates with offsets, and ``result: false`` for "no data"."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import polars as pl
import respx

from gainsight_assets.settings import Settings
from tests.assets.helpers import load_accounts, read, resources, run_object

BASE = "https://acme.gainsightcloud.com"
KEY = "respx-key-123"


def describe(name: str, fields: dict[str, str]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "result": True,
            "data": [
                {
                    "objectName": name.lower(),
                    "fields": [{"fieldName": f, "dataType": t} for f, t in fields.items()],
                }
            ],
        },
    )


def bare(records: list[dict]) -> httpx.Response:
    return httpx.Response(200, json={"result": True, "requestId": "x", "data": records})


NO_DATA = httpx.Response(
    200,
    json={
        "result": False,
        "errorCode": "GSOBJ_1XXX",
        "errorDesc": "No data found for given criteria",
        "data": None,
    },
)
ACTIVITIES = [
    {
        "Gsid": "A1",
        "GsCompanyId": "C1",
        "ReportingCategory": "Email",
        "Subject": "hello",
        "LastModifiedDate": "2025-03-05T09:30:00.000+01:00",
    },
    {
        "Gsid": "A2",
        "GsCompanyId": "C2",
        "ReportingCategory": "QBR",
        "Subject": "review",
        "LastModifiedDate": "2025-03-05T08:59:59Z",
    },
    {
        "Gsid": "A3",
        "GsCompanyId": "C9",
        "ReportingCategory": "call",
        "Subject": "ring",
        "LastModifiedDate": 1741165200000,
    },
]


@respx.mock
def test_activities_against_respx(tmp_path: Path, duckdb_url: str) -> None:
    respx.get(f"{BASE}/v1/meta/services/objects/Company/describe").mock(
        return_value=describe("Company", {"Gsid": "GSID", "SfdcAccountId": "SFDCID"})
    )
    respx.get(f"{BASE}/v1/meta/services/objects/activity_timeline/describe").mock(
        return_value=describe(
            "activity_timeline",
            {
                "Gsid": "GSID",
                "GsCompanyId": "GSID",
                "ReportingCategory": "STRING",
                "Subject": "STRING",
                "LastModifiedDate": "DATETIME",
            },
        )
    )
    companies = respx.post(f"{BASE}/v1/data/objects/query/Company").mock(
        side_effect=[
            bare([{"Gsid": "C1", "SfdcAccountId": "001A"}, {"Gsid": "C2", "SfdcAccountId": None}])
        ]
    )
    activities = respx.post(f"{BASE}/v1/data/objects/query/activity_timeline").mock(
        side_effect=[bare(ACTIVITIES), NO_DATA]
    )
    load_accounts(
        duckdb_url,
        pl.DataFrame({"id": ["001A", "001B"], "gainsight_gsid_c": [None, "C2"]}),
    )
    res = resources(BASE, KEY, duckdb_url, tmp_path)

    result = run_object(Settings(), "activities", res, partition_key="2025-03-05-08:00")

    assert result.success
    table = read(duckdb_url, "gainsight.activities").sort("activity_id")
    assert table.select("activity_id", "account_id", "match_method", "activity_type").rows() == [
        ("A1", "001A", "crm_id", "EMAIL"),
        ("A2", "001B", "gsid_field", "TYPE_MANUAL"),
    ]
    unmatched = read(duckdb_url, "gainsight.unmatched_records")
    assert unmatched.select("record_id", "reason").rows() == [("A3", "unknown_company")]
    body = json.loads(activities.calls[0].request.content)
    assert body["where"] == {
        "conditions": [
            {
                "name": "LastModifiedDate",
                "alias": "A",
                "value": ["2025-03-05T08:00:00Z"],
                "operator": "GTE",
            },
            {
                "name": "LastModifiedDate",
                "alias": "B",
                "value": ["2025-03-05T12:00:00Z"],
                "operator": "LT",
            },
        ],
        "expression": "A AND B",
    }
    assert body["limit"] == 5000 and body["offset"] == 0
    assert body["orderBy"] == {"LastModifiedDate": "asc", "Gsid": "asc"}
    assert companies.call_count == 1  # a short page ends the stream
    assert activities.calls[0].request.headers["accesskey"] == KEY
