"""The local demo Gainsight tenant: the generated data and every endpoint, option and fault."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from gainsight_assets.demo.generator import DAY_MS, DemoDataset, generate_dataset
from gainsight_assets.demo.server import DemoTenant, Fault, main

ANCHOR = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
DAYS = 35
KEY = "demo-test-key-41"
JSON_HEADERS = {"accesskey": KEY, "Accept": "application/json"}
QUERY = "/v1/data/objects/query/{}"
LIST = "/v1/meta/services/objects/list"
START_MS = int((ANCHOR - timedelta(days=DAYS)).timestamp() * 1000)
END_MS = int(ANCHOR.timestamp() * 1000)
GSID_PATTERN = re.compile(r"^[0-9A-Z]{36}$")
ISO_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


# -- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return generate_dataset(anchor=ANCHOR, days=DAYS, variant=7)


@pytest.fixture(scope="module")
def shared_tenant(dataset: DemoDataset) -> Iterator[DemoTenant]:
    with DemoTenant(dataset, access_key=KEY) as tenant:
        yield tenant


@pytest.fixture
def tenant(shared_tenant: DemoTenant) -> DemoTenant:
    shared_tenant.clear_faults()
    shared_tenant.reset_stats()
    return shared_tenant


@pytest.fixture
def client(tenant: DemoTenant) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tenant.base_url, headers=JSON_HEADERS, timeout=10) as http:
        yield http


@pytest.fixture
def make_tenant(dataset: DemoDataset) -> Iterator[Callable[..., DemoTenant]]:
    started: list[DemoTenant] = []

    def make(**options: Any) -> DemoTenant:
        tenant = DemoTenant(dataset, access_key=KEY, **options).start()
        started.append(tenant)
        return tenant

    yield make
    for tenant in started:
        tenant.stop()


def query(
    http: httpx.Client | str, object_name: str, **body: Any
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """POST a query; the response and its records (``[]`` when there are none)."""
    if isinstance(http, str):
        response = httpx.post(http + QUERY.format(object_name), json=body, headers=JSON_HEADERS)
    else:
        response = http.post(QUERY.format(object_name), json=body)
    payload = response.json()
    data = payload.get("data")
    records = data.get("records", []) if isinstance(data, dict) else data or []
    return response, records


def where(*conditions: tuple[str, str, list[Any]], expression: str | None = None) -> dict:
    aliases = "ABCDEFGH"
    built = [
        {"name": name, "alias": aliases[i], "value": value, "operator": op}
        for i, (name, op, value) in enumerate(conditions)
    ]
    return {"conditions": built, "expression": expression or " AND ".join(aliases[: len(built)])}


def gsids(records: list[dict[str, Any]]) -> set[str]:
    return {r["Gsid"] for r in records}


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- generator ----------------------------------------------------------------------------------


def test_same_variant_and_anchor_give_the_same_data(dataset: DemoDataset) -> None:
    again = generate_dataset(anchor=ANCHOR, days=DAYS, variant=7)
    assert again.objects.keys() == dataset.objects.keys()
    for name, frame in dataset.objects.items():
        assert frame.equals(again.objects[name]), name
    assert again.crm_accounts.equals(dataset.crm_accounts)
    assert again.describe == dataset.describe
    other = generate_dataset(anchor=ANCHOR, days=DAYS, variant=8)
    assert not other.objects["Company"]["Gsid"].equals(dataset.objects["Company"]["Gsid"])


def test_sizes_scale_per_company(dataset: DemoDataset) -> None:
    counts = dataset.counts()
    assert counts["Company"] == 40
    assert counts["activity_timeline"] == 40 * 12
    assert counts["survey_response"] == 40 * 6
    assert counts["product_usage__gc"] == 40 * 40
    assert counts["nps_survey_response"] > 0
    assert counts["csat_survey_response"] > 0
    assert {"gsuser", "relationship", "call_to_action", "person"} <= counts.keys()


def test_every_date_falls_in_the_window(dataset: DemoDataset) -> None:
    for name, frame in dataset.objects.items():
        for field, kind in dataset.field_types(name).items():
            if kind not in {"DATE", "DATETIME"}:
                continue
            column = frame[field].drop_nulls()
            assert column.dtype == pl.Int64, (name, field)
            if column.len():
                assert column.min() >= START_MS and column.max() < END_MS, (name, field)
            if kind == "DATE":
                assert (column % DAY_MS == 0).all(), (name, field)


def test_anchor_defaults_to_now_floored_to_the_hour() -> None:
    data = generate_dataset(companies=2)
    now = datetime.now(UTC)
    assert data.anchor.minute == data.anchor.second == data.anchor.microsecond == 0
    assert timedelta(0) <= now - data.anchor < timedelta(hours=1)


def test_gsids_are_unique_and_start_with_the_key_prefix(dataset: DemoDataset) -> None:
    for name, frame in dataset.objects.items():
        prefix = dataset.describe[name]["keyPrefix"]
        ids = frame["Gsid"].to_list()
        assert len(set(ids)) == len(ids), name
        assert all(GSID_PATTERN.match(i) and i.startswith(prefix) for i in ids), name
    csm = dataset.objects["Company"]["Csm"].drop_nulls()
    assert set(csm) <= set(dataset.objects["gsuser"]["Gsid"])


def test_crm_accounts_match_by_id_by_gsid_only_or_not_at_all() -> None:
    data = generate_dataset(companies=100, anchor=ANCHOR)
    companies = data.objects["Company"]
    accounts = data.crm_accounts
    assert accounts.columns == ["id", "name", "website", "gainsight_gsid_c"]
    ids = set(accounts["id"])
    account_gsids = set(accounts["gainsight_gsid_c"].drop_nulls())
    by_id = companies.filter(pl.col("SfdcAccountId").is_in(ids))
    rest = companies.filter(~pl.col("SfdcAccountId").is_in(ids).fill_null(False))
    gsid_only = rest.filter(pl.col("Gsid").is_in(account_gsids))
    unmatched = rest.filter(~pl.col("Gsid").is_in(account_gsids))
    assert (by_id.height, gsid_only.height, unmatched.height) == (80, 10, 10)
    assert gsid_only["SfdcAccountId"].null_count() > 0  # some NULL, some stale ids
    assert gsid_only["SfdcAccountId"].drop_nulls().len() > 0
    assert 0 < by_id.filter(pl.col("Gsid").is_in(account_gsids)).height < 80
    company_gsids = set(companies["Gsid"])
    orphans = accounts.filter(
        ~pl.col("id").is_in(set(companies["SfdcAccountId"].drop_nulls()))
        & ~pl.col("gainsight_gsid_c").is_in(company_gsids).fill_null(False)
    )
    assert orphans.height >= 2
    assert all(len(i) == 18 and i.startswith("001") for i in accounts["id"])
    assert all(re.match(r"^https://[a-z0-9-]+\.example\.com$", w) for w in accounts["website"])


def test_activities_have_orphans_case_variants_and_late_edits(dataset: DemoDataset) -> None:
    activities = dataset.objects["activity_timeline"]
    companies = set(dataset.objects["Company"]["Gsid"])
    orphans = activities.filter(~pl.col("GsCompanyId").is_in(companies)).height
    assert 3 <= orphans <= 30  # about 3% of 480
    assert (activities["LastModifiedDate"] >= activities["CreatedDate"]).all()
    late = activities.filter(pl.col("LastModifiedDate") - pl.col("CreatedDate") > DAY_MS)
    assert late.height > 0
    categories = set(activities["ReportingCategory"])
    assert {"Email", "email", "Escalation", "Milestone", "Webinar"} <= categories
    assert set(activities["ContextName"]) == {"Company"}


def test_survey_scores_fit_their_type(dataset: DemoDataset) -> None:
    surveys = dataset.objects["survey_response"]
    ranges = {"NPS": (0, 10), "CSAT": (1, 5), "CES": (1, 7)}
    assert set(surveys["SurveyType"]) == set(ranges)
    for kind, (low, high) in ranges.items():
        scores = surveys.filter(pl.col("SurveyType") == kind)["Score"]
        assert scores.min() >= low and scores.max() <= high
    nps = dataset.objects["nps_survey_response"]
    csat = dataset.objects["csat_survey_response"]
    assert nps["NpsScore"].is_between(0, 10).all()
    assert csat["CsatRating"].is_between(1, 5).all()
    assert "NpsScore" in nps.columns and "Feedback__gc" in csat.columns


def test_usage_rows_are_flat_and_sometimes_lack_an_account(dataset: DemoDataset) -> None:
    usage = dataset.objects["product_usage__gc"]
    assert set(usage["MetricName"]) == {"logins", "api_calls", "reports_created", "active_users"}
    assert set(usage["Feature"]) == {"dashboards", "exports", "integrations", "admin"}
    assert 0 < usage["AccountId"].null_count() < usage.height // 3
    keys = usage.group_by("GsCompanyId", "UsageDate", "MetricName", "Feature").len()
    assert keys["len"].max() > 1  # several rows per key: they need aggregating


def test_describe_fields_match_the_frames(dataset: DemoDataset) -> None:
    for name, frame in dataset.objects.items():
        payload = dataset.describe[name]
        assert payload["objectName"] == name.lower()
        assert [f["fieldName"] for f in payload["fields"]] == frame.columns
        assert all(f["objectName"] == name.lower() for f in payload["fields"])
    company = {f["fieldName"]: f for f in dataset.describe["Company"]["fields"]}
    stage = company["Stage"]
    assert [o["label"] for o in stage["options"]][:2] == ["New Customer", "Kicked Off"]
    assert set(dataset.objects["Company"]["Stage"]) <= {o["value"] for o in stage["options"]}
    assert company["Csm"]["meta"]["lookupDetail"]["lookupObjects"][0]["objectName"] == "gsuser"
    assert company["Tier__gc"]["meta"]["fieldGroupType"] == "CUSTOM"
    assert dataset.describe["product_usage__gc"]["objectType"] == "CUSTOM"


def test_large_datasets_generate_columnar_and_fast() -> None:
    started = time.perf_counter()
    data = generate_dataset(companies=200, usage_rows_per_company=2_500, anchor=ANCHOR)
    assert time.perf_counter() - started < 5
    usage = data.objects["product_usage__gc"]
    assert usage.height == 500_000
    assert usage["Gsid"].n_unique() == usage.height


# -- metadata endpoints and auth ----------------------------------------------------------------


def test_object_list(client: httpx.Client) -> None:
    response = client.get(LIST, params={"po": "company", "em": "false"})
    assert response.status_code == 200
    payload = response.json()
    assert payload["result"] is True and payload["requestId"]
    entries = {e["objectName"]: e for e in payload["data"]}
    assert {"company", "activity_timeline", "survey_response", "product_usage__gc"} <= set(entries)
    assert {"gsuser", "relationship", "call_to_action", "person"} <= set(entries)
    assert entries["company"]["objectType"] == "STANDARD"
    assert entries["company"]["readable"] is True and entries["company"]["createable"] is True


def test_describe_is_case_insensitive(client: httpx.Client, dataset: DemoDataset) -> None:
    response = client.get("/v1/meta/services/objects/COMPANY/describe?ic=false&cl=0&idd=false")
    assert response.status_code == 200
    assert response.json()["data"] == [dataset.describe["Company"]]


def test_describe_of_an_unknown_object_is_404(client: httpx.Client) -> None:
    response = client.get("/v1/meta/services/objects/nope__gc/describe")
    assert response.status_code == 404
    body = response.json()
    assert body["result"] is False
    assert (body["title"], body["errorCode"]) == ("OBJECT_NOT_FOUND", "GSOBJ_1023")
    assert body["errorDesc"] == body["detail"] == "Requested object not found."


@pytest.mark.parametrize("headers", [{}, {"accesskey": "wrong"}])
def test_requests_without_the_key_get_401(tenant: DemoTenant, headers: dict[str, str]) -> None:
    response = httpx.get(tenant.base_url + LIST, headers={**headers, "Accept": "application/json"})
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"result", "errorCode", "errorDesc", "requestId", "message"}
    assert body["result"] is False
    assert (body["errorCode"], body["errorDesc"], body["message"]) == (
        "GS_APIG_2401",
        "Unauthorized",
        "Unauthorized",
    )


def test_the_key_header_name_is_case_insensitive(tenant: DemoTenant) -> None:
    headers = {"AccessKey": KEY, "Accept": "application/json"}
    assert httpx.get(tenant.base_url + LIST, headers=headers).status_code == 200


def test_errors_are_an_html_page_with_200_unless_json_is_accepted(tenant: DemoTenant) -> None:
    response = httpx.get(tenant.base_url + LIST)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text and "Unauthorized" in response.text
    ok = httpx.get(tenant.base_url + LIST, headers={"accesskey": KEY})
    assert ok.headers["content-type"] == "application/json"
    assert ok.json()["result"] is True


# -- query ---------------------------------------------------------------------------------------


def test_record_keys_are_the_select_strings(client: httpx.Client, dataset: DemoDataset) -> None:
    response, records = query(client, "company", select=["gsid", "NAME", "Arr"], limit=3)
    assert response.status_code == 200
    body = response.json()
    assert body["result"] is True and body["errorCode"] is None and body["message"] is None
    assert [list(r) for r in records] == [["gsid", "NAME", "Arr"]] * 3
    first = dataset.objects["Company"].row(0, named=True)
    assert records[0] == {"gsid": first["Gsid"], "NAME": first["Name"], "Arr": first["Arr"]}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"select": ["Gsid", "Nope"]}, "GSOBJ_1002"),
        ({"select": ["Gsid"], "where": where(("Nope", "EQ", ["x"]))}, "GSOBJ_1002"),
        ({"select": ["Gsid"], "orderBy": {"Nope": "asc"}}, "GSOBJ_1002"),
        ({"select": []}, "GSOBJ_1008"),
        ({"select": ["Gsid"], "limit": 5001}, "GSOBJ_1008"),
        (
            {"select": ["Gsid"], "where": where(("ModifiedDate", "BTW", ["2025-01-01"]))},
            "GSOBJ_1008",
        ),
        ({"select": ["Gsid"], "where": where(("ModifiedDate", "GT", ["yesterday"]))}, "GSOBJ_1005"),
        ({"select": ["Gsid"], "where": where(("RenewalDate", "GT", ["03/01/2025"]))}, "GSOBJ_1006"),
        ({"select": ["Gsid"], "where": where(("Name", "LIKE", ["x"]))}, "GSOBJ_1008"),
        (
            {"select": ["Gsid"], "where": where(("Name", "EQ", ["x"]), expression="A AND")},
            "GSOBJ_1008",
        ),
        ({"select": ["Gsid"], "orderBy": {"Name": "up"}}, "GSOBJ_1008"),
    ],
)
def test_bad_queries_are_400(client: httpx.Client, body: dict, code: str) -> None:
    response = client.post(QUERY.format("Company"), json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["result"] is False and payload["data"] is None
    assert payload["errorCode"] == code
    if body["select"] and "Nope" in body["select"]:
        assert payload["errorDesc"] == "Invalid field: Nope"


def test_query_of_an_unknown_object_is_404(client: httpx.Client) -> None:
    response = client.post(QUERY.format("nope__gc"), json={"select": ["Gsid"]})
    assert response.status_code == 404
    assert response.json()["title"] == "OBJECT_NOT_FOUND"


def test_limit_5000_is_accepted(client: httpx.Client, dataset: DemoDataset) -> None:
    response, records = query(client, "product_usage__gc", select=["Gsid"], limit=5000)
    assert response.status_code == 200
    assert len(records) == dataset.objects["product_usage__gc"].height


def test_paging_with_offset_and_limit(client: httpx.Client, dataset: DemoDataset) -> None:
    expected = sorted(dataset.objects["activity_timeline"]["Gsid"])
    seen: list[str] = []
    offset = 0
    while True:
        _, page = query(
            client,
            "activity_timeline",
            select=["Gsid"],
            orderBy={"Gsid": "asc"},
            limit=50,
            offset=offset,
        )
        seen += [r["Gsid"] for r in page]
        offset += len(page)
        if len(page) < 50:
            break
    assert seen == expected
    _, past_end = query(client, "activity_timeline", select=["Gsid"], offset=10_000)
    assert past_end == []


def _company_rows(dataset: DemoDataset) -> list[dict[str, Any]]:
    return dataset.objects["Company"].to_dicts()


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


LOW_ISO, HIGH_ISO = "2025-02-20T00:00:00Z", "2025-03-05T12:30:00Z"
LOW_MS, HIGH_MS = _ms("2025-02-20T00:00:00+00:00"), _ms("2025-03-05T12:30:00+00:00")
OPERATOR_CASES: list[tuple[str, str, list[Any], Callable[[dict[str, Any]], bool]]] = [
    ("Industry", "EQ", ["Software"], lambda r: r["Industry"] == "Software"),
    ("Industry", "NE", ["Software"], lambda r: r["Industry"] != "Software"),
    ("Arr", "GT", [200_000], lambda r: r["Arr"] > 200_000),
    ("Arr", "GTE", [200_000], lambda r: r["Arr"] >= 200_000),
    ("Arr", "LT", ["200000"], lambda r: r["Arr"] < 200_000),
    ("Arr", "LTE", [200_000], lambda r: r["Arr"] <= 200_000),
    ("Industry", "IN", ["Retail", "Media"], lambda r: r["Industry"] in {"Retail", "Media"}),
    ("Industry", "NOT_IN", ["Retail"], lambda r: r["Industry"] != "Retail"),
    ("Name", "CONTAINS", ["ANALYTICS"], lambda r: "analytics" in r["Name"].lower()),
    ("Name", "STARTS_WITH", ["acme"], lambda r: r["Name"].lower().startswith("acme")),
    ("Name", "ENDS_WITH", ["logistics"], lambda r: r["Name"].lower().endswith("logistics")),
    ("SfdcAccountId", "IS_NULL", [], lambda r: r["SfdcAccountId"] is None),
    ("SfdcAccountId", "IS_NOT_NULL", [], lambda r: r["SfdcAccountId"] is not None),
    ("Onboarding_Complete__gc", "EQ", [True], lambda r: r["Onboarding_Complete__gc"]),
    ("ModifiedDate", "BTW", [LOW_ISO, HIGH_ISO], lambda r: LOW_MS <= r["ModifiedDate"] <= HIGH_MS),
    ("ModifiedDate", "BTW", [LOW_MS, HIGH_MS], lambda r: LOW_MS <= r["ModifiedDate"] <= HIGH_MS),
    (
        "ModifiedDate",
        "BTW",
        ["2025-02-20T00:00:00.000+00:00", "2025-03-05 12:30:00"],
        lambda r: LOW_MS <= r["ModifiedDate"] <= HIGH_MS,
    ),
    ("RenewalDate", "GTE", ["2025-03-01"], lambda r: r["RenewalDate"] >= _ms("2025-03-01T00:00Z")),
    ("CreatedDate", "LT", [str(LOW_MS)], lambda r: r["CreatedDate"] < LOW_MS),
]


@pytest.mark.parametrize(
    ("field", "operator", "value", "keep"),
    OPERATOR_CASES,
    ids=[f"{c[1]}-{c[0]}-{i}" for i, c in enumerate(OPERATOR_CASES)],
)
def test_where_operators(
    client: httpx.Client,
    dataset: DemoDataset,
    field: str,
    operator: str,
    value: list[Any],
    keep: Callable[[dict[str, Any]], bool],
) -> None:
    expected = {r["Gsid"] for r in _company_rows(dataset) if keep(r)}
    response, records = query(
        client, "Company", select=["Gsid"], where=where((field, operator, value)), limit=5000
    )
    assert response.status_code == 200
    assert gsids(records) == expected
    assert 0 < len(expected) < dataset.objects["Company"].height


def test_picklist_filters_take_labels_or_option_ids(
    client: httpx.Client, dataset: DemoDataset
) -> None:
    options = {
        o["label"]: o["value"]
        for f in dataset.describe["Company"]["fields"]
        if f["fieldName"] == "Stage"
        for o in f["options"]
    }
    expected = {r["Gsid"] for r in _company_rows(dataset) if r["Stage"] == options["Adopting"]}
    _, by_label = query(
        client, "Company", select=["Gsid"], where=where(("Stage", "EQ", ["Adopting"]))
    )
    _, by_id = query(
        client, "Company", select=["Gsid"], where=where(("Stage", "IN", [options["Adopting"]]))
    )
    assert gsids(by_label) == gsids(by_id) == expected != set()


def test_where_expressions_with_or_and_parentheses(
    client: httpx.Client, dataset: DemoDataset
) -> None:
    clause = where(
        ("Industry", "EQ", ["Software"]),
        ("Arr", "GT", [300_000]),
        ("Tier__gc", "EQ", ["SMB"]),
        expression="A OR (B AND C)",
    )
    expected = {
        r["Gsid"]
        for r in _company_rows(dataset)
        if r["Industry"] == "Software" or (r["Arr"] > 300_000 and r["Tier__gc"] == "SMB")
    }
    _, records = query(client, "Company", select=["Gsid"], where=clause)
    assert gsids(records) == expected


def test_order_by_several_keys_is_stable_across_pages(
    client: httpx.Client, dataset: DemoDataset
) -> None:
    order = {"Industry": "asc", "Arr": "desc"}
    _, everything = query(client, "Company", select=["Gsid", "Industry", "Arr"], orderBy=order)
    keys = [(r["Industry"], -r["Arr"]) for r in everything]
    assert keys == sorted(keys)
    pages: list[dict[str, Any]] = []
    for offset in range(0, 40, 7):
        _, page = query(
            client, "Company", select=["Gsid"], orderBy={"Industry": "desc"}, limit=7, offset=offset
        )
        pages += page
    _, again = query(client, "Company", select=["Gsid"], orderBy={"Industry": "desc"})
    assert [r["Gsid"] for r in pages] == [r["Gsid"] for r in again]
    assert len(gsids(pages)) == dataset.objects["Company"].height


# -- options -------------------------------------------------------------------------------------


def test_list_envelope(make_tenant: Callable[..., DemoTenant]) -> None:
    tenant = make_tenant(envelope="list")
    response = httpx.post(
        tenant.base_url + QUERY.format("Company"),
        json={"select": ["Gsid"], "limit": 2},
        headers=JSON_HEADERS,
    )
    body = response.json()
    assert isinstance(body["data"], list) and len(body["data"]) == 2


@pytest.mark.parametrize(
    ("mode", "status", "result", "code"),
    [
        ("records", 200, True, None),
        ("result-false", 200, False, "GSOBJ_1XXX"),
        ("http-400", 400, False, "GSOBJ_1011"),
    ],
)
def test_empty_result_forms(
    make_tenant: Callable[..., DemoTenant], mode: str, status: int, result: bool, code: str | None
) -> None:
    tenant = make_tenant(empty_result=mode)
    for body in (
        {"select": ["Gsid"], "where": where(("Name", "EQ", ["No such company"]))},
        {"select": ["Gsid"], "offset": 1_000},
    ):
        response, records = query(tenant.base_url, "Company", **body)
        assert response.status_code == status
        payload = response.json()
        assert payload["result"] is result and payload["errorCode"] == code
        assert records == []
        if mode == "records":
            assert payload["data"] == {"records": []}
        else:
            assert payload["data"] is None


def test_iso_dates(make_tenant: Callable[..., DemoTenant], dataset: DemoDataset) -> None:
    tenant = make_tenant(date_format="iso")
    _, records = query(
        tenant.base_url, "Company", select=["Gsid", "ModifiedDate", "RenewalDate"], limit=3
    )
    frame = dataset.objects["Company"]
    for record, modified, renewal in zip(
        records, frame["ModifiedDate"], frame["RenewalDate"], strict=False
    ):
        assert ISO_PATTERN.match(record["ModifiedDate"])
        assert _ms(record["ModifiedDate"].replace("Z", "+00:00")) == modified
        assert re.match(r"^\d{4}-\d{2}-\d{2}$", record["RenewalDate"])
        assert _ms(record["RenewalDate"] + "T00:00:00+00:00") == renewal


def test_epoch_dates_are_integers(client: httpx.Client, dataset: DemoDataset) -> None:
    _, records = query(client, "activity_timeline", select=["ActivityDate"], limit=2)
    assert records[0]["ActivityDate"] == dataset.objects["activity_timeline"]["ActivityDate"][0]
    assert isinstance(records[0]["ActivityDate"], int)


# -- rate limit ----------------------------------------------------------------------------------


def test_fixed_window_rate_limit(make_tenant: Callable[..., DemoTenant]) -> None:
    clock = FakeClock(1_000 * 60.0 + 1)
    tenant = make_tenant(rate_limit_per_minute=3, rate_limit_window_seconds=60.0, clock=clock)
    with httpx.Client(base_url=tenant.base_url, headers=JSON_HEADERS) as http:
        assert [http.get(LIST).status_code for _ in range(3)] == [200] * 3
        limited = http.get(LIST)
        assert limited.status_code == 429
        assert "retry-after" not in limited.headers
        body = limited.json()
        assert (body["result"], body["errorCode"], body["errorDesc"]) == (
            False,
            "GU_2400",
            "Too many request",
        )
        assert body["data"] is None and body["message"] is None and body["requestId"]
        clock.now += 60  # the next fixed window
        assert http.get(LIST).status_code == 200
    stats = tenant.stats()
    assert stats["rate_limited"] == 1
    assert stats["max_calls_per_window"] == 4
    assert stats["window_counts"] == [4, 1]
    assert stats["calls_by_kind"]["list"] == 5


def test_rate_limit_can_send_retry_after(make_tenant: Callable[..., DemoTenant]) -> None:
    clock = FakeClock(10.0 * 60 + 45)
    tenant = make_tenant(rate_limit_per_minute=1, retry_after=True, clock=clock)
    with httpx.Client(base_url=tenant.base_url, headers=JSON_HEADERS) as http:
        http.get(LIST)
        limited = http.get(LIST)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "15"


# -- faults and stats ----------------------------------------------------------------------------


def test_status_faults_are_used_once_in_order(client: httpx.Client, tenant: DemoTenant) -> None:
    tenant.inject(Fault(status=429), Fault(status=503, body={"oops": True}))
    first = client.get(LIST)
    assert first.status_code == 429 and first.json()["errorCode"] == "GU_2400"
    second = client.get(LIST)
    assert second.status_code == 503 and second.json() == {"oops": True}
    assert client.get(LIST).status_code == 200
    assert tenant.stats()["rate_limited"] == 1


def test_path_faults_wait_for_a_matching_request(client: httpx.Client, tenant: DemoTenant) -> None:
    tenant.inject(Fault(status=500, path="/query/"))
    assert client.get(LIST).status_code == 200
    response, _ = query(client, "Company", select=["Gsid"])
    assert response.status_code == 500
    assert response.json()["errorCode"] == "GU_1101"


def test_delay_html_and_dropped_connection_faults(client: httpx.Client, tenant: DemoTenant) -> None:
    tenant.inject(Fault(delay_seconds=0.3))
    started = time.perf_counter()
    assert client.get(LIST).status_code == 200
    assert time.perf_counter() - started >= 0.3
    tenant.inject(Fault(html=True))
    page = client.get(LIST)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    tenant.inject(Fault(drop_connection=True))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(LIST)
    assert client.get(LIST).status_code == 200


def test_stats_count_calls_by_kind(client: httpx.Client, tenant: DemoTenant) -> None:
    client.get(LIST)
    client.get("/v1/meta/services/objects/company/describe")
    query(client, "Company", select=["Gsid"])
    query(client, "Company", select=["Gsid"])
    stats = tenant.stats()
    assert stats["calls"] == 4
    assert stats["calls_by_kind"] == {"query": 2, "describe": 1, "list": 1}
    assert stats["max_calls_per_window"] == sum(stats["window_counts"]) == 4
    tenant.reset_stats()
    assert tenant.stats()["calls"] == 0


def test_control_endpoints(client: httpx.Client, tenant: DemoTenant) -> None:
    queued = client.post("/__demo__/faults", json=[{"status": 502}, {"html": True}])
    assert queued.json() == {"queued": 2, "pending": 2}
    assert client.get(LIST).status_code == 502
    assert client.delete("/__demo__/faults").json() == {"pending": 0}
    assert client.get(LIST).status_code == 200
    assert client.post("/__demo__/faults", json=[{"bogus": 1}]).status_code == 400
    stats = client.get("/__demo__/stats").json()
    assert stats["calls"] == 2 and stats["statuses"] == {"200": 1, "502": 1}
    client.post("/__demo__/stats/reset")
    assert client.get("/__demo__/stats").json()["calls"] == 0


# -- lifecycle and CLI ---------------------------------------------------------------------------


def test_loopback_only(dataset: DemoDataset, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="loopback"):
        DemoTenant(dataset, access_key=KEY, host="0.0.0.0")
    assert main(["--host", "10.1.2.3", "--companies", "1"]) == 2
    assert "refusing to bind" in capsys.readouterr().err


def test_stop_frees_the_port(dataset: DemoDataset) -> None:
    tenant = DemoTenant(dataset, access_key=KEY).start()
    url = tenant.base_url
    tenant.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + LIST, timeout=1)


def test_cli_serves_until_terminated() -> None:
    command = [
        sys.executable,
        "-m",
        "gainsight_assets.demo.server",
        "--port",
        "0",
        "--companies",
        "3",
        "--access-key",
        KEY,
        "--date-format",
        "iso",
        "--anchor",
        "2025-03-12T12:00:00Z",
    ]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url, first + (process.stderr.read() if process.stderr else "")
        _, records = query(url.group(0), "Company", select=["Gsid", "ModifiedDate"])
        assert len(records) == 3 and ISO_PATTERN.match(records[0]["ModifiedDate"])
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_stop_ends_kept_alive_connections(dataset: DemoDataset) -> None:
    tenant = DemoTenant(dataset, access_key=KEY).start()
    with httpx.Client(base_url=tenant.base_url, headers=JSON_HEADERS, timeout=2) as http:
        assert http.get(LIST).status_code == 200
        tenant.stop()
        with pytest.raises(httpx.TransportError):
            http.get(LIST)
