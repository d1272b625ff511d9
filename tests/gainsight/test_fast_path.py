"""The Polars fast path for query answers reads exactly what the general path reads."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import polars as pl
import pytest
import respx
from polars.testing import assert_frame_equal

from resources.gainsight import GainsightClient, RetryPolicy
from resources.gainsight.frames import frame_schema, json_page_frame, records_to_frame

TYPES = {
    "Gsid": "GSID",
    "Subject": "STRING",
    "Score": "NUMBER",
    "Done": "BOOLEAN",
    "LastModifiedDate": "DATETIME",
    "DueDate": "DATE",
}
SCHEMA = frame_schema(list(TYPES), TYPES)
RECORDS: list[dict[str, Any]] = [
    {
        "Gsid": "a",
        "Subject": "hi",
        "Score": 4.5,
        "Done": True,
        "LastModifiedDate": 1714557600000,
        "DueDate": 1714521600000,
    },
    {
        "Gsid": "b",
        "Subject": None,
        "Score": "7",
        "Done": "false",
        "LastModifiedDate": "2024-05-01T12:00:00+02:00",
        "DueDate": "2024-05-01",
    },
    {
        "Gsid": "c",
        "Subject": "x",
        "Score": None,
        "Done": None,
        "LastModifiedDate": None,
        "DueDate": "05-01-2024",
    },
]


def body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize("records", [RECORDS, RECORDS[:1]], ids=["mixed-dates", "epoch-only"])
@pytest.mark.parametrize("shape", ["records", "list"])
def test_fast_path_equals_the_general_path(records: list[dict], shape: str) -> None:
    data: Any = {"records": records} if shape == "records" else records
    content = body({"result": True, "errorCode": None, "requestId": "r", "data": data})
    fast = json_page_frame(content, SCHEMA, object_name="x")
    assert fast is not None
    assert_frame_equal(fast, records_to_frame(records, SCHEMA, object_name="x"))


@pytest.mark.parametrize(
    "payload",
    [
        {"result": True, "data": {"records": [{**RECORDS[0], "Subject": {"nested": 1}}]}},
        {"result": True, "data": {"records": [{k.lower(): v for k, v in RECORDS[0].items()}]}},
        {"result": True, "data": {"records": []}},
        {"result": True, "data": {}},
        {"result": False, "errorCode": "GSOBJ_1XXX", "errorDesc": "No data found"},
        {"result": True, "errorCode": "GU_2400", "data": {"records": RECORDS}},
    ],
    ids=["nested-value", "other-case-keys", "empty", "no-records", "result-false", "error-code"],
)
def test_anything_else_takes_the_general_path(payload: dict) -> None:
    assert json_page_frame(body(payload), SCHEMA, object_name="x") is None


@respx.mock
def test_a_caller_that_stops_early_leaves_no_call_running() -> None:
    page = {"result": True, "data": {"records": [{"Gsid": f"g{i}"} for i in range(2)]}}
    route = respx.post("https://acme.gainsightcloud.com/v1/data/objects/query/o").mock(
        return_value=httpx.Response(200, json=page)
    )
    client = GainsightClient(
        base_url="https://acme.gainsightcloud.com",
        access_key="k",
        page_size=2,
        retry=RetryPolicy(max_retries=0),
    )
    stream = client.query_pages("o", ["Gsid"], field_types={"Gsid": "GSID"})
    pages = iter(stream)
    first = next(pages)
    pages.close()  # the next page may already be asked for: closing cancels or awaits it
    calls = route.call_count
    time.sleep(0.2)
    assert first["Gsid"].to_list() == ["g0", "g1"]
    assert calls in (1, 2) and route.call_count == calls  # nothing runs after close()
    client.close()


def test_duplicates_within_and_across_pages_by_hash_then_exactly() -> None:
    from resources.gainsight.client import PageStream

    stream = PageStream(
        client=None,  # type: ignore[arg-type]
        object_name="o",
        select=["Gsid"],
        where=None,
        order_by=None,
        max_records=None,
        schema=pl.Schema({"Gsid": pl.String()}),
        id_field="Gsid",
    )
    first = stream._dedupe(pl.DataFrame({"Gsid": ["a", "b", "b", None]}))
    second = stream._dedupe(pl.DataFrame({"Gsid": ["c", "a"]}))
    third = stream._dedupe(pl.DataFrame({"Gsid": ["d", "c"]}))
    assert first["Gsid"].to_list() == ["a", "b", None]
    assert second["Gsid"].to_list() == ["c"]
    assert third["Gsid"].to_list() == ["d"]
    assert stream.duplicates == 3
