"""Property: any sequence of survey syncs over any ranges, with or without a limit, never loses a
stored response and never stores one twice (against the demo tenant, through the job)."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gainsight_assets.partitions import partition_tags
from gainsight_assets.settings import parse_settings
from tests.assets.helpers import load_accounts, read, resources, run_object
from tests.conftest import DEMO_KEY

FIRST = date(2025, 2, 10)  # the demo data's responses fall in the 30 days before the anchor
DAYS = 30
RUN = st.tuples(
    st.integers(0, DAYS - 1),  # first day
    st.integers(1, 12),  # days in the range
    st.one_of(st.none(), st.integers(1, 8)),  # response_limit (None: the default, never cut)
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(runs=st.lists(RUN, min_size=2, max_size=3))
def test_survey_syncs_never_lose_or_duplicate_a_response(demo_dataset, demo_tenant, runs) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"duckdb:///{Path(tmp) / 'warehouse.duckdb'}"
        load_accounts(url, demo_dataset.crm_accounts)
        env = resources(demo_tenant.base_url, DEMO_KEY, url, Path(tmp))
        seen: set[str] = set()
        for first, days, limit in runs:
            start = FIRST + timedelta(days=first)
            end = min(start + timedelta(days=days - 1), FIRST + timedelta(days=DAYS - 1))
            surveys = {"response_limit": limit} if limit else {}
            result = run_object(
                parse_settings({"surveys": surveys}),
                "surveys",
                env,
                tags=partition_tags(start.isoformat(), end.isoformat()),
            )
            assert result.success
            table = read(url, "gainsight.survey_responses")
            stored = set(table["response_id"])
            assert seen <= stored, f"lost {sorted(seen - stored)[:5]}"
            assert table.select("source_object", "response_id", "modified_at").is_unique().all()
            latest = read(url, "gainsight.survey_responses_latest")
            assert latest.select("source_object", "response_id").is_unique().all()
            checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
            assert checks["unique_grain"]
            seen = stored
        unmatched = read(url, "gainsight.unmatched_records")
        assert unmatched.select("object", "record_id", "partition_start").is_unique().all()
        # a record is either matched or unmatched, never both
        assert not set(unmatched["record_id"]) & set(table["response_id"])
