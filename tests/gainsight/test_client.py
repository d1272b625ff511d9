"""The Gainsight client against respx mocks of the documented API."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import polars as pl
import pytest
import respx

from resources.gainsight import (
    GainsightAuthError,
    GainsightClient,
    GainsightConfigError,
    GainsightObjectNotFound,
    GainsightRequestError,
    GainsightResponseError,
    GainsightRetriesExhausted,
    RetryPolicy,
)
from resources.gainsight.rate_limit import RateLimiter

BASE = "https://acme.gainsightcloud.com"
KEY = "s3cr3t-access-key-0123456789"
QUERY = f"{BASE}/v1/data/objects/query/activity_timeline"
FIELDS = {"Gsid": "GSID", "Subject": "STRING", "LastModifiedDate": "DATETIME", "Score": "NUMBER"}


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(clock: FakeClock, *, page_size: int = 3, **retry: Any) -> GainsightClient:
    policy = RetryPolicy(**{"max_retries": 3, "backoff_base": 0.5, **retry})
    limiter = RateLimiter(90, 60.0, clock=clock.time, sleep=clock.sleep)
    return GainsightClient(
        base_url=BASE,
        access_key=KEY,
        page_size=page_size,
        retry=policy,
        limiter=limiter,
        sleep=clock.sleep,
        clock=clock.time,
    )


def ok(records: list[dict[str, Any]], *, shape: str = "records") -> httpx.Response:
    data: Any = {"records": records} if shape == "records" else records
    return httpx.Response(
        200,
        json={
            "result": True,
            "errorCode": None,
            "errorDesc": None,
            "requestId": "r-1",
            "data": data,
            "message": None,
        },
    )


def rows(start: int, stop: int) -> list[dict[str, Any]]:
    return [
        {"Gsid": f"1P05{i:032d}", "Subject": f"s{i}", "LastModifiedDate": 1714557600000 + i}
        for i in range(start, stop)
    ]


def collect(client: GainsightClient, **kwargs: Any) -> tuple[pl.DataFrame, Any]:
    stream = client.query_pages("activity_timeline", list(FIELDS), field_types=FIELDS, **kwargs)
    pages = list(stream)
    frame = pl.concat(pages) if pages else pl.DataFrame()
    return frame, stream


def bodies(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


@respx.mock
def test_pages_until_a_short_page_with_stable_order_and_offsets(clock: FakeClock) -> None:
    route = respx.post(QUERY).mock(side_effect=[ok(rows(0, 3)), ok(rows(3, 6)), ok(rows(6, 7))])
    frame, stream = collect(make_client(clock))

    assert frame.height == 7
    assert frame["Subject"].to_list() == [f"s{i}" for i in range(7)]
    sent = bodies(route)
    assert [(b["limit"], b["offset"]) for b in sent] == [(3, 0), (3, 3), (3, 6)]
    assert sent[0]["select"] == list(FIELDS)
    assert sent[0]["orderBy"] == {"Gsid": "asc"}
    assert stream.pages == 3
    request = route.calls[0].request
    assert request.headers["accesskey"] == KEY
    assert request.headers["accept"] == "application/json"


@respx.mock
def test_exact_multiple_of_page_size_stops_on_the_empty_page(clock: FakeClock) -> None:
    route = respx.post(QUERY).mock(side_effect=[ok(rows(0, 3)), ok(rows(3, 6)), ok([])])
    frame, stream = collect(make_client(clock))

    assert frame.height == 6
    assert route.call_count == 3
    assert stream.pages == 2


@respx.mock
def test_bare_data_list_envelope_is_accepted(clock: FakeClock) -> None:
    respx.post(QUERY).mock(side_effect=[ok(rows(0, 2), shape="list")])
    frame, _ = collect(make_client(clock))
    assert frame["Gsid"].to_list() == [r["Gsid"] for r in rows(0, 2)]


@respx.mock
def test_epoch_and_iso_dates_become_the_same_utc_instant(clock: FakeClock) -> None:
    instant = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    respx.post(QUERY).mock(
        side_effect=[
            ok(
                [
                    {"Gsid": "a", "LastModifiedDate": 1714557600000},
                    {"Gsid": "b", "LastModifiedDate": "2024-05-01T10:00:00.000Z"},
                    {"Gsid": "c", "LastModifiedDate": "2024-05-01T12:00:00+02:00"},
                    {"Gsid": "d", "LastModifiedDate": "2024-05-01T15:30:00.000+0530"},
                    {"Gsid": "e", "LastModifiedDate": "2024-05-01 10:00:00"},
                    {"Gsid": "f", "LastModifiedDate": None, "Score": "4.5"},
                ]
            )
        ]
    )
    frame, _ = collect(make_client(clock, page_size=10))
    assert frame.schema["LastModifiedDate"] == pl.Datetime("us", "UTC")
    assert frame["LastModifiedDate"].to_list() == [instant] * 5 + [None]
    assert frame["Score"].to_list() == [None] * 5 + [4.5]


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(ok([]), id="empty-records"),
        pytest.param(
            httpx.Response(
                200,
                json={
                    "result": False,
                    "errorCode": "GSOBJ_1XXX",
                    "errorDesc": "No data found for given criteria",
                    "requestId": "r",
                    "data": None,
                    "message": None,
                },
            ),
            id="result-false-no-data",
        ),
        pytest.param(
            httpx.Response(
                400,
                json={
                    "result": False,
                    "errorCode": "GSOBJ_1011",
                    "errorDesc": "No entity matches the given criteria",
                    "requestId": "r",
                },
            ),
            id="http-400-no-entity",
        ),
    ],
)
@respx.mock
def test_each_empty_result_form_means_no_rows(clock: FakeClock, response: httpx.Response) -> None:
    route = respx.post(QUERY).mock(return_value=response)
    frame, stream = collect(make_client(clock))
    assert frame.height == 0
    assert stream.pages == 0
    assert route.call_count == 1


@respx.mock
def test_401_says_the_key_was_rejected_without_the_key(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    respx.post(QUERY).mock(
        return_value=httpx.Response(
            401,
            json={
                "result": False,
                "errorCode": "GS_APIG_2401",
                "errorDesc": "Unauthorized",
                "requestId": "r",
                "message": "Unauthorized",
            },
        )
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(GainsightAuthError) as err:
        collect(make_client(clock))
    message = str(err.value)
    assert "rejected the access key" in message
    assert "expired or been rotated" in message
    assert "GAINSIGHT_ACCESS_KEY" in message
    assert "GS_APIG_2401" in message
    assert KEY not in message and KEY not in repr(err.value)
    assert KEY not in caplog.text


@respx.mock
def test_429_waits_for_the_next_window_then_goes_on(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    too_many = httpx.Response(
        429,
        json={"result": False, "errorCode": "GU_2400", "errorDesc": "Too many request"},
    )
    route = respx.post(QUERY).mock(side_effect=[too_many, ok(rows(0, 2))])
    clock.now = 1_699_999_995.0  # 15 s into a minute window
    with caplog.at_level(logging.WARNING):
        frame, _ = collect(make_client(clock))
    assert frame.height == 2
    assert route.call_count == 2
    assert sum(clock.slept) == pytest.approx(46.0)  # to the next minute, plus a 1 s margin
    assert "rate limit" in caplog.text
    assert KEY not in caplog.text


@respx.mock
def test_429_honours_retry_after(clock: FakeClock) -> None:
    route = respx.post(QUERY).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), ok(rows(0, 1))]
    )
    frame, _ = collect(make_client(clock))
    assert frame.height == 1
    assert route.call_count == 2
    assert sum(clock.slept) == pytest.approx(7.0)


@respx.mock
def test_5xx_timeouts_and_dropped_connections_are_retried(clock: FakeClock) -> None:
    route = respx.post(QUERY).mock(
        side_effect=[
            httpx.Response(503, json={"result": False, "errorCode": "GU_1101"}),
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("dropped"),
            ok(rows(0, 2)),
        ]
    )
    client = make_client(clock)
    frame, _ = collect(client)
    assert frame.height == 2
    assert route.call_count == 4
    assert client.stats.retries == 3
    # exponential with jitter: each delay lies in [ceiling/2, ceiling], ceilings 0.5, 1, 2
    for delay, ceiling in zip(clock.slept, [0.5, 1.0, 2.0], strict=True):
        assert ceiling / 2 <= delay <= ceiling


REFUSED = httpx.ConnectError("[Errno 111] Connection refused")
NO_SUCH_HOST = httpx.ConnectError("[Errno -2] Name or service not known")
NO_RESOLVER = httpx.ConnectError("[Errno -3] Temporary failure in name resolution")


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (REFUSED, "the connection was refused"),
        (NO_SUCH_HOST, "the host name does not resolve"),
        (NO_RESOLVER, "the host name does not resolve"),
    ],
)
@respx.mock
def test_an_unreachable_host_on_the_first_call_is_a_setting_error(
    clock: FakeClock, error: httpx.ConnectError, problem: str
) -> None:
    route = respx.post(QUERY).mock(side_effect=[error, ok(rows(0, 1))])
    with pytest.raises(GainsightConfigError) as err:
        collect(make_client(clock))
    assert route.call_count == 1  # not retried
    assert clock.slept == []
    assert str(err.value) == (
        f"Cannot reach Gainsight at acme.gainsightcloud.com: {problem}. Check GAINSIGHT_BASE_URL"
        f" (now {BASE}); it must be your tenant's root URL, like https://acme.gainsightcloud.com."
    )
    assert "degraded" not in str(err.value)


@respx.mock
def test_once_connected_a_refused_connection_is_retried(clock: FakeClock) -> None:
    route = respx.post(QUERY).mock(
        side_effect=[ok(rows(0, 3)), REFUSED, NO_SUCH_HOST, ok(rows(3, 4))]
    )
    client = make_client(clock)
    frame, _ = collect(client)
    assert frame.height == 4
    assert route.call_count == 4
    assert client.stats.retries == 2


@respx.mock
def test_other_connect_errors_on_the_first_call_are_retried(clock: FakeClock) -> None:
    route = respx.post(QUERY).mock(
        side_effect=[
            httpx.ConnectError("TLS handshake reset"),
            httpx.ConnectTimeout("slow"),
            ok(rows(0, 1)),
        ]
    )
    frame, _ = collect(make_client(clock))
    assert frame.height == 1
    assert route.call_count == 3


@respx.mock
def test_retry_budget_exhausted_names_object_request_and_error_code(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    route = respx.post(QUERY).mock(
        return_value=httpx.Response(
            500,
            json={
                "result": False,
                "errorCode": "GU_1101",
                "errorDesc": "Oops, something went wrong.",
            },
        )
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(GainsightRetriesExhausted) as err:
        collect(make_client(clock, max_retries=2))
    message = str(err.value)
    assert route.call_count == 3
    assert "activity_timeline" in message
    assert "POST /v1/data/objects/query/activity_timeline" in message
    assert "GU_1101" in message and "Oops, something went wrong." in message
    assert err.value.error_code == "GU_1101"
    assert KEY not in message and KEY not in caplog.text


@respx.mock
def test_html_page_with_status_200_is_an_error_not_an_empty_result(clock: FakeClock) -> None:
    respx.post(QUERY).mock(
        return_value=httpx.Response(
            200,
            headers={"content-type": "text/html"},
            text="<html><body>Something went wrong</body></html>",
        )
    )
    with pytest.raises(GainsightResponseError) as err:
        collect(make_client(clock))
    assert "HTML page" in str(err.value)
    assert "activity_timeline" in str(err.value)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"result": True, "data": {"rows": []}}, "without a 'records' list"),
        ({"result": True, "data": {"records": "nope"}}, "not a list"),
        ({"result": True, "data": [1, 2]}, "not a JSON object"),
        ({"result": False, "errorCode": "GSOBJ_1002", "errorDesc": "Invalid field"}, "GSOBJ_1002"),
    ],
)
@respx.mock
def test_malformed_envelopes_are_errors(clock: FakeClock, payload: dict, problem: str) -> None:
    respx.post(QUERY).mock(return_value=httpx.Response(200, json=payload))
    with pytest.raises(GainsightResponseError) as err:
        collect(make_client(clock))
    assert problem in str(err.value)
    assert "activity_timeline" in str(err.value)


@respx.mock
def test_other_4xx_is_an_error_with_gainsights_words(clock: FakeClock) -> None:
    respx.post(QUERY).mock(
        return_value=httpx.Response(
            400, json={"result": False, "errorCode": "GSOBJ_1002", "errorDesc": "Invalid field: X"}
        )
    )
    with pytest.raises(GainsightRequestError) as err:
        collect(make_client(clock))
    assert "GSOBJ_1002: Invalid field: X" in str(err.value)


@respx.mock
def test_duplicates_across_pages_are_dropped_by_gsid(clock: FakeClock) -> None:
    # the record s2 shifted across the page boundary and is served twice
    respx.post(QUERY).mock(side_effect=[ok(rows(0, 3)), ok(rows(2, 5)), ok(rows(5, 6))])
    frame, stream = collect(make_client(clock))
    assert frame["Subject"].to_list() == [f"s{i}" for i in range(6)]
    assert stream.duplicates == 1


@respx.mock
def test_records_without_an_id_are_never_taken_for_repeats(clock: FakeClock) -> None:
    def blank(i: int, gsid: str | None) -> dict[str, Any]:
        return {"Gsid": gsid, "Subject": f"b{i}", "LastModifiedDate": 1714557600000 + i}

    first = [blank(0, ""), blank(1, None), *rows(0, 1)]
    # later pages: more records without ids, a repeat of s0 with spaces, and a new record
    second = [
        blank(2, "  "),
        blank(3, None),
        {**rows(0, 1)[0], "Gsid": f" {rows(0, 1)[0]['Gsid']} "},
    ]
    third = [blank(4, ""), *rows(1, 2)]
    respx.post(QUERY).mock(side_effect=[ok(first), ok(second), ok(third)])
    frame, stream = collect(make_client(clock))
    assert frame["Subject"].to_list() == ["b0", "b1", "s0", "b2", "b3", "b4", "s1"]
    assert stream.duplicates == 1


@respx.mock
def test_max_records_truncates_and_says_so(clock: FakeClock) -> None:
    route = respx.post(QUERY).mock(side_effect=[ok(rows(0, 3)), ok(rows(3, 5))])
    frame, stream = collect(make_client(clock), max_records=4)
    assert frame.height == 4
    assert stream.truncated
    assert [b["limit"] for b in bodies(route)] == [3, 2]


@respx.mock
def test_a_page_cut_at_max_records_drops_its_repeats_within_the_cut(clock: FakeClock) -> None:
    # page size 3, cap 5: the second call has room for 2 and gets 3; the part kept (s3, s3)
    # repeats s3, and s4 lies past the cap
    second = [*rows(3, 4), *rows(3, 4), *rows(4, 5)]
    respx.post(QUERY).mock(side_effect=[ok(rows(0, 3)), ok(second)])
    frame, stream = collect(make_client(clock), max_records=5)
    assert frame["Subject"].to_list() == ["s0", "s1", "s2", "s3"]
    assert stream.truncated and stream.duplicates == 1


@respx.mock
def test_max_records_not_reached_is_not_truncated(clock: FakeClock) -> None:
    respx.post(QUERY).mock(side_effect=[ok(rows(0, 3)), ok(rows(3, 4))])
    frame, stream = collect(make_client(clock), max_records=10)
    assert frame.height == 4
    assert not stream.truncated
    assert stream.complete


@respx.mock
def test_a_server_that_ignores_offset_stops_paging_and_is_not_complete(clock: FakeClock) -> None:
    route = respx.post(QUERY).mock(return_value=ok(rows(0, 3)))  # the same full page forever
    frame, stream = collect(make_client(clock))
    assert frame.height == 3
    assert route.call_count == 2
    assert stream.stalled and not stream.complete


@respx.mock
def test_a_page_larger_than_asked_does_not_end_paging(clock: FakeClock) -> None:
    respx.post(QUERY).mock(side_effect=[ok(rows(0, 4)), ok(rows(4, 6))])  # page_size is 3
    frame, stream = collect(make_client(clock))
    assert frame.height == 6
    assert stream.complete


@respx.mock
def test_a_truncated_stream_is_not_complete(clock: FakeClock) -> None:
    respx.post(QUERY).mock(side_effect=[ok(rows(0, 3)), ok(rows(3, 5))])
    _, stream = collect(make_client(clock), max_records=4)
    assert not stream.complete


@respx.mock
def test_metadata_list_describe_and_validate(clock: FakeClock) -> None:
    listing = respx.get(f"{BASE}/v1/meta/services/objects/list").mock(
        return_value=httpx.Response(
            200,
            json={
                "result": True,
                "data": [
                    {"objectName": "company", "label": "Company", "objectType": "STANDARD"},
                    {"objectName": "activity_timeline", "objectType": "STANDARD"},
                ],
            },
        )
    )
    describe = respx.get(f"{BASE}/v1/meta/services/objects/Company/describe").mock(
        return_value=httpx.Response(
            200,
            json={
                "result": True,
                "data": [
                    {
                        "objectName": "company",
                        "fields": [
                            {"fieldName": "Gsid", "dataType": "GSID"},
                            {"fieldName": "Arr", "dataType": "CURRENCY"},
                        ],
                    }
                ],
            },
        )
    )
    client = make_client(clock)
    assert client.validate_connection() == 2
    first = client.describe("Company")
    again = client.describe("company")
    assert first is again  # cached for the life of the client
    assert describe.call_count == 1
    assert first.field_types() == {"Gsid": "GSID", "Arr": "CURRENCY"}
    assert listing.call_count == 1


@respx.mock
def test_unknown_object_lists_close_matches(clock: FakeClock) -> None:
    respx.get(f"{BASE}/v1/meta/services/objects/list").mock(
        return_value=httpx.Response(
            200, json={"result": True, "data": [{"objectName": "survey_response"}]}
        )
    )
    respx.get(f"{BASE}/v1/meta/services/objects/survey_responses/describe").mock(
        return_value=httpx.Response(
            404,
            json={
                "result": False,
                "title": "OBJECT_NOT_FOUND",
                "detail": "Requested object not found.",
                "errorDesc": "Requested object not found.",
            },
        )
    )
    with pytest.raises(GainsightObjectNotFound) as err:
        make_client(clock).describe("survey_responses")
    assert "no object 'survey_responses'" in str(err.value)
    assert "survey_response" in str(err.value)


def test_client_repr_hides_the_key() -> None:
    client = GainsightClient(base_url=BASE, access_key=KEY)
    assert KEY not in repr(client)
    client.close()


@respx.mock
def test_record_keys_in_another_case_are_not_read_as_nulls(clock: FakeClock) -> None:
    respx.post(QUERY).mock(
        side_effect=[ok([{"gsid": "a", "subject": "hi", "lastmodifieddate": 1714557600000}])]
    )
    frame, _ = collect(make_client(clock))
    assert frame.select("Gsid", "Subject").row(0) == ("a", "hi")
    assert frame["LastModifiedDate"].item() == datetime(2024, 5, 1, 10, tzinfo=UTC)


@respx.mock
def test_empty_data_object_means_no_rows(clock: FakeClock) -> None:
    respx.post(QUERY).mock(return_value=httpx.Response(200, json={"result": True, "data": {}}))
    frame, _ = collect(make_client(clock))
    assert frame.height == 0


@respx.mock
def test_describe_answered_without_the_list_wrapper(clock: FakeClock) -> None:
    respx.get(f"{BASE}/v1/meta/services/objects/Company/describe").mock(
        return_value=httpx.Response(
            200,
            json={
                "result": True,
                "data": {
                    "objectName": "company",
                    "fields": [{"fieldName": "Gsid", "dataType": "GSID"}],
                },
            },
        )
    )
    assert make_client(clock).describe("Company").field_names == ["Gsid"]


def test_an_unreachable_host_names_the_tenants_own_variable() -> None:
    """A second tenant's URL comes from its own variable: the message names that one."""
    from gainsight_assets.tenant import Tenant
    from gainsight_assets.tenant_definitions import tenant_resource

    tenant = Tenant(name="emea", base_url_env="EMEA_GAINSIGHT_BASE_URL")
    with respx.mock:
        respx.post(QUERY).mock(side_effect=REFUSED)
        resource = tenant_resource(tenant).model_copy(update={"base_url": BASE, "access_key": KEY})
        with pytest.raises(GainsightConfigError, match="Check EMEA_GAINSIGHT_BASE_URL \\(now"):
            collect(resource.client)
