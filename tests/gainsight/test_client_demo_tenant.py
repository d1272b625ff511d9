"""The real client against the local demo tenant: the same code path a production run takes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from gainsight_assets.demo.server import DemoTenant, Fault
from resources.gainsight import (
    GainsightAuthError,
    GainsightResource,
    GainsightResponseError,
    GainsightRetriesExhausted,
    window_where,
)
from tests.conftest import DEMO_KEY

FIELDS = ["Gsid", "GsCompanyId", "ReportingCategory", "LastModifiedDate"]


def resource(tenant: DemoTenant, tmp_path: Path, **overrides) -> GainsightResource:
    config = {
        "base_url": tenant.base_url,
        "access_key": DEMO_KEY,
        "backoff_base_seconds": 0.01,
        "rate_limit_state_path": str(tmp_path / "rate.json"),
        **overrides,
    }
    return GainsightResource(**config)


@pytest.fixture
def tenant(demo_tenant: DemoTenant) -> DemoTenant:
    demo_tenant.clear_faults()
    demo_tenant.reset_stats()
    return demo_tenant


def all_activities(gainsight: GainsightResource, **kwargs) -> pl.DataFrame:
    return pl.concat(list(gainsight.query_pages("activity_timeline", FIELDS, **kwargs)))


def test_validate_and_describe(tenant: DemoTenant, tmp_path: Path) -> None:
    gainsight = resource(tenant, tmp_path)
    count = gainsight.validate_connection()
    assert count >= 6
    names = {o.object_name for o in gainsight.list_objects()}
    assert {"company", "activity_timeline", "product_usage__gc"} <= names
    fields = gainsight.describe("Company").field_types()
    assert fields["SfdcAccountId"] and fields["RenewalDate"] == "DATE"


def test_paging_matches_the_generated_data(demo_dataset, tenant: DemoTenant, tmp_path) -> None:
    gainsight = resource(tenant, tmp_path, page_size=50)
    frame = all_activities(gainsight)
    expected = demo_dataset.objects["activity_timeline"]
    assert frame.height == expected.height
    assert sorted(frame["Gsid"]) == sorted(expected["Gsid"])
    assert frame.schema["LastModifiedDate"] == pl.Datetime("us", "UTC")
    # offset paging at page_size, stopping on the short last page
    assert tenant.stats()["query_calls"] == -(-expected.height // 50)


def test_windowed_query_returns_only_the_window(tenant: DemoTenant, tmp_path: Path) -> None:
    start, end = datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 5, tzinfo=UTC)
    frame = all_activities(
        resource(tenant, tmp_path), where=window_where("LastModifiedDate", start, end)
    )
    assert frame.height > 0
    assert frame["LastModifiedDate"].min() >= start and frame["LastModifiedDate"].max() < end


@pytest.mark.parametrize("date_format", ["epoch", "iso"])
@pytest.mark.parametrize("envelope", ["records", "list"])
@pytest.mark.parametrize("empty_result", ["records", "result-false", "http-400"])
def test_every_documented_answer_shape(
    demo_dataset, tmp_path: Path, date_format: str, envelope: str, empty_result: str
) -> None:
    with DemoTenant(
        demo_dataset,
        access_key=DEMO_KEY,
        date_format=date_format,
        envelope=envelope,
        empty_result=empty_result,
    ) as tenant:
        gainsight = resource(tenant, tmp_path)
        frame = all_activities(gainsight)
        assert frame.height == demo_dataset.objects["activity_timeline"].height
        assert frame["LastModifiedDate"].null_count() == 0
        far_future = window_where(
            "LastModifiedDate", datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC)
        )
        assert list(gainsight.query_pages("activity_timeline", FIELDS, where=far_future)) == []


def test_wrong_key_gets_the_401_advice_without_the_key(
    tenant: DemoTenant, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-key-that-must-not-leak-123"
    with caplog.at_level(logging.DEBUG), pytest.raises(GainsightAuthError) as err:
        resource(tenant, tmp_path, access_key=wrong).validate_connection()
    assert "expired or been rotated" in str(err.value)
    assert "GS_APIG_2401" in str(err.value)
    assert wrong not in str(err.value) and wrong not in caplog.text


def test_429_then_5xx_then_dropped_connection_then_success(
    tenant: DemoTenant, tmp_path: Path
) -> None:
    tenant.inject(
        Fault(status=429, path="query"),
        Fault(status=503, path="query"),
        Fault(drop_connection=True, path="query"),
    )
    gainsight = resource(tenant, tmp_path, rate_window_seconds=0.5)
    frame = all_activities(gainsight)
    assert frame.height > 0
    stats = gainsight.client.stats
    assert stats.rate_limited == 1 and stats.retries == 2


def test_slow_answers_time_out_and_exhaust_the_budget(tenant: DemoTenant, tmp_path: Path) -> None:
    tenant.inject(*(Fault(delay_seconds=1.0, path="query") for _ in range(3)))
    gainsight = resource(tenant, tmp_path, timeout_seconds=0.2, max_retries=2)
    with pytest.raises(GainsightRetriesExhausted) as err:
        all_activities(gainsight)
    assert "timed out" in str(err.value) and "activity_timeline" in str(err.value)


def test_html_answer_is_an_error(tenant: DemoTenant, tmp_path: Path) -> None:
    tenant.inject(Fault(html=True, path="query"))
    with pytest.raises(GainsightResponseError, match="HTML page"):
        all_activities(resource(tenant, tmp_path))


def test_the_server_rate_limit_is_never_exceeded(demo_dataset, tmp_path: Path) -> None:
    with DemoTenant(
        demo_dataset, access_key=DEMO_KEY, rate_limit_per_minute=5, rate_limit_window_seconds=1.0
    ) as tenant:
        gainsight = resource(
            tenant, tmp_path, page_size=40, calls_per_minute=5, rate_window_seconds=1.0
        )
        frame = all_activities(gainsight)
        stats = tenant.stats()
    assert frame.height == demo_dataset.objects["activity_timeline"].height
    assert stats["max_calls_per_window"] <= 5
    assert stats["rate_limited"] == 0
