"""The demo tenant's deletions: deleted records stop answering and ``record_delete_log`` says when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gainsight_assets.demo.generator import DemoDataset, generate_dataset
from gainsight_assets.demo.server import DemoTenant

ANCHOR = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
KEY = "demo-test-key-13"
HEADERS = {"accesskey": KEY, "Accept": "application/json"}


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return generate_dataset(companies=6, anchor=ANCHOR, days=20, variant=3)


def records(tenant: DemoTenant, object_name: str, **body: Any) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{tenant.base_url}/v1/data/objects/query/{object_name}",
        json={"select": ["Gsid"], "limit": 5000, **body},
        headers=HEADERS,
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["records"]


def test_the_log_object_is_listed_and_described(dataset: DemoDataset) -> None:
    with DemoTenant(dataset, access_key=KEY) as tenant:
        listed = httpx.get(f"{tenant.base_url}/v1/meta/services/objects/list", headers=HEADERS)
        names = {o["objectName"] for o in listed.json()["data"]}
        described = httpx.get(
            f"{tenant.base_url}/v1/meta/services/objects/record_delete_log/describe",
            headers=HEADERS,
        ).json()["data"][0]
    assert "record_delete_log" in names
    fields = {f["fieldName"]: f["dataType"] for f in described["fields"]}
    assert fields == {
        "Gsid": "GSID",
        "ObjectName": "STRING",
        "RecordId": "STRING",
        "DeletedOn": "DATETIME",
    }


def test_deleted_records_stop_answering_and_are_logged(dataset: DemoDataset) -> None:
    at = ANCHOR - timedelta(days=2)
    with DemoTenant(dataset, access_key=KEY) as tenant:
        before = [r["Gsid"] for r in records(tenant, "activity_timeline")]
        assert records(tenant, "record_delete_log") == []
        gone = before[:3]
        assert tenant.delete("Activity_Timeline", [*gone, "no-such-id"], at=at) == gone
        after = [r["Gsid"] for r in records(tenant, "activity_timeline")]
        log = records(
            tenant,
            "record_delete_log",
            select=["ObjectName", "RecordId", "DeletedOn"],
            where={
                "conditions": [
                    {
                        "name": "ObjectName",
                        "alias": "A",
                        "operator": "IN",
                        "value": ["activity_timeline", "company"],
                    },
                    {
                        "name": "DeletedOn",
                        "alias": "B",
                        "operator": "GTE",
                        "value": (at - timedelta(hours=1)).isoformat(),
                    },
                ],
                "expression": "A AND B",
            },
        )
        assert tenant.delete("activity_timeline", gone, at=at) == []
    assert after == [g for g in before if g not in gone]
    assert sorted(r["RecordId"] for r in log) == sorted(gone)
    assert {r["ObjectName"] for r in log} == {"activity_timeline"}
    assert {r["DeletedOn"] for r in log} == {int(at.timestamp() * 1000)}
    # The dataset itself is untouched: another tenant over it still serves everything.
    with DemoTenant(dataset, access_key=KEY) as fresh:
        assert len(records(fresh, "activity_timeline")) == len(before)


def test_the_control_endpoint_deletes(dataset: DemoDataset) -> None:
    with DemoTenant(dataset, access_key=KEY) as tenant:
        company = records(tenant, "Company")[0]["Gsid"]
        answer = httpx.post(
            f"{tenant.base_url}/__demo__/delete",
            json={"object": "Company", "ids": [company], "at": "2025-03-10T08:00:00Z"},
        )
        bad = httpx.post(f"{tenant.base_url}/__demo__/delete", json={"ids": []})
        remaining = {r["Gsid"] for r in records(tenant, "Company")}
    assert answer.json() == {"deleted": [company]}
    assert bad.status_code == 400
    assert company not in remaining


def test_a_tenant_without_the_log_object_answers_not_found(dataset: DemoDataset) -> None:
    with DemoTenant(dataset.without("record_delete_log"), access_key=KEY) as tenant:
        response = httpx.post(
            f"{tenant.base_url}/v1/data/objects/query/record_delete_log",
            json={"select": ["Gsid"]},
            headers=HEADERS,
        )
    assert response.status_code == 404
    assert response.json()["errorCode"] == "GSOBJ_1023"
