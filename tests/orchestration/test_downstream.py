"""``customer_usage_weekly`` against a hand computation over the upstream Gainsight tables."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from dagster import check_dagster_type

from gainsight_assets.definitions import build_definitions
from gainsight_assets.downstream import CUSTOMER_USAGE_JOB, POLARS_FRAME
from gainsight_assets.partitions import partition_tags
from gainsight_assets.tenants import DEFAULT_TENANT_FILE, load_settings
from tests.assets.helpers import load_accounts, read, resources, run_object
from tests.conftest import DEMO_KEY

WEEK = datetime(2025, 3, 3, tzinfo=UTC)  # the second of two synced weeks
PREVIOUS = WEEK - timedelta(weeks=1)
WEEK_END = WEEK + timedelta(weeks=1)
EARLIEST = datetime.min.replace(tzinfo=UTC)  # a response without a date sorts first
KINDS = {"EMAIL": "emails", "MEETING": "meetings", "TYPE_MANUAL": "manual_notes"}


@pytest.fixture(scope="module")
def synced(demo_tenant, demo_dataset, tmp_path_factory: pytest.TempPathFactory):
    """Activities and surveys of the week, two weeks of usage, then the weekly refresh."""
    tmp: Path = tmp_path_factory.mktemp("downstream")
    url = f"duckdb:///{tmp / 'warehouse.duckdb'}"
    load_accounts(url, demo_dataset.crm_accounts)
    res = resources(demo_tenant.base_url, DEMO_KEY, url, tmp)
    settings = load_settings(DEFAULT_TENANT_FILE)
    # a little wider than the week, so the refresh must pick the week's partitions itself
    runs = {
        "activities": partition_tags("2025-03-02-00:00", "2025-03-10-20:00"),
        "surveys": partition_tags("2025-03-01", "2025-03-11"),
        "product_usage": partition_tags("2025-02-24", "2025-03-03"),
    }
    for name, tags in runs.items():
        assert run_object(settings, name, res, tags=tags).success, name
    defs = build_definitions(settings, resources=res)
    result = defs.resolve_job_def(CUSTOMER_USAGE_JOB).execute_in_process(
        partition_key="2025-03-03", raise_on_error=False
    )
    assert result.success
    return url, result


def rows(url: str, table: str) -> list[dict]:
    return read(url, table).to_dicts()


def in_week(moment: datetime | None) -> bool:
    return moment is not None and WEEK <= moment < WEEK_END


def test_one_row_per_usage_key_of_the_week(synced) -> None:
    url, _ = synced
    out = rows(url, "gainsight.customer_usage_weekly")
    usage = [r for r in rows(url, "gainsight.product_usage") if r["week_start"] == WEEK]
    key = ("account_id", "product", "metric", "dimension")
    assert out, "the week has usage"
    assert sorted(tuple(r[k] for k in key) for r in out) == sorted(
        {tuple(r[k] for k in key) for r in usage}
    )
    assert {r["week_start"] for r in out} == {WEEK}
    # as many rows as usage keys: one per grain, and the usage table too has one per grain
    assert len(out) == len({tuple(r[k] for k in key) for r in usage}) == len(usage)
    _, result = synced
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "unique_grain" and check.passed


def test_value_previous_value_and_week_over_week_change(synced) -> None:
    url, _ = synced
    totals: dict[tuple, dict[datetime, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows(url, "gainsight.product_usage"):
        totals[(r["account_id"], r["product"], r["metric"], r["dimension"])][r["week_start"]] += r[
            "value"
        ]
    compared = with_previous = 0
    for r in rows(url, "gainsight.customer_usage_weekly"):
        weeks = totals[(r["account_id"], r["product"], r["metric"], r["dimension"])]
        assert r["value"] == pytest.approx(weeks[WEEK])
        if PREVIOUS in weeks:
            with_previous += 1
            assert r["previous_value"] == pytest.approx(weeks[PREVIOUS])
            assert r["wow_change"] == pytest.approx(weeks[WEEK] - weeks[PREVIOUS])
            if weeks[PREVIOUS]:
                expected_pct = (weeks[WEEK] - weeks[PREVIOUS]) / weeks[PREVIOUS]
                assert r["wow_change_pct"] == pytest.approx(expected_pct)
        else:
            assert r["previous_value"] is None and r["wow_change"] is None
        compared += 1
    assert compared and with_previous, "both kinds of rows are exercised"


def test_activity_counts_are_distinct_activities_of_the_week(synced) -> None:
    url, _ = synced
    latest: dict[str, dict] = {}
    for r in rows(url, "gainsight.activities"):
        if in_week(r["modified_at"]):
            kept = latest.get(r["activity_id"])
            if kept is None or r["modified_at"] >= kept["modified_at"]:
                latest[r["activity_id"]] = r
    expected: dict[str, dict[str, int]] = defaultdict(
        lambda: {"activities": 0, **dict.fromkeys(KINDS.values(), 0)}
    )
    for r in latest.values():
        expected[r["account_id"]]["activities"] += 1
        expected[r["account_id"]][KINDS[r["activity_type"]]] += 1
    out = rows(url, "gainsight.customer_usage_weekly")
    seen_with_activity = 0
    for r in out:
        counts = expected.get(r["account_id"], dict.fromkeys(["activities", *KINDS.values()], 0))
        got = {column: r[column] for column in ["activities", *KINDS.values()]}
        assert got == counts, r["account_id"]
        seen_with_activity += counts["activities"] > 0
    assert seen_with_activity, "some accounts had activities that week"


def order(response: dict) -> tuple[datetime, datetime]:
    return (response["responded_at"] or EARLIEST, response["modified_at"])


def test_latest_survey_score_is_the_latest_response_of_the_week(synced) -> None:
    url, _ = synced
    # latest version of each response modified in the week, then the latest response per account
    versions: dict[tuple, dict] = {}
    for r in rows(url, "gainsight.survey_responses"):
        if in_week(r["modified_at"]):
            key = (r["source_object"], r["response_id"])
            if key not in versions or r["modified_at"] >= versions[key]["modified_at"]:
                versions[key] = r
    latest: dict[str, dict] = {}
    for r in versions.values():
        kept = latest.get(r["account_id"])
        if kept is None or order(r) > order(kept):
            latest[r["account_id"]] = r
    scored = 0
    for r in rows(url, "gainsight.customer_usage_weekly"):
        response = latest.get(r["account_id"])
        if response is None:
            assert r["latest_survey_score"] is None and r["latest_survey_type"] is None
        else:
            scored += 1
            assert r["latest_survey_score"] == response["score"], r["account_id"]
            assert r["latest_survey_type"] == response["survey_type"]
    assert scored, "some accounts answered a survey that week"


def test_the_refresh_reports_what_it_wrote(synced) -> None:
    url, result = synced
    [event] = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    out = read(url, "gainsight.customer_usage_weekly")
    assert meta["accounts"] == out["account_id"].n_unique()
    assert meta["metrics"] == sorted(set(out["metric"]))
    assert event.materialization.partition == "2025-03-03"


def test_the_inputs_must_be_polars_frames() -> None:
    assert check_dagster_type(POLARS_FRAME, pl.DataFrame({"a": [1]})).success
    refused = check_dagster_type(POLARS_FRAME, pl.DataFrame({"a": [1]}).lazy())
    assert not refused.success
    assert "LazyFrame is not a Polars DataFrame" in (refused.description or "")
