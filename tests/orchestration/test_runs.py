"""Starting runs: the tags a run gets, and the summary line read back from what a run recorded."""

from __future__ import annotations

import pytest
from dagster import (
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    MetadataValue,
    Output,
    asset,
    instance_for_test,
    materialize,
)

from gainsight_assets.operations import ago
from gainsight_assets.partitions import partition_text
from gainsight_assets.runs import RunTarget, outcome_of, run_starter

DAILY = DailyPartitionsDefinition(start_date="2025-03-01", timezone="UTC")
RANGE = {
    "dagster/asset_partition_range_start": "2025-03-01",
    "dagster/asset_partition_range_end": "2025-03-03",
}


def test_run_targets_carry_the_tags_the_ui_and_backfills_use() -> None:
    assert RunTarget.partition("job", "2025-03-11").tags == {"dagster/partition": "2025-03-11"}
    assert RunTarget.span("job", "2025-03-01", "2025-03-03").tags == RANGE
    assert RunTarget.span("job", "2025-03-11", "2025-03-11").tags == {
        "dagster/partition": "2025-03-11"
    }
    assert RunTarget("job").tags == {}
    assert partition_text(RANGE) == "2025-03-01...2025-03-03"
    assert partition_text({"dagster/partition": "k"}) == "k"
    assert partition_text({}) == ""


@pytest.mark.parametrize(
    ("incomplete", "shown"),
    [
        (["2025-03-01", "2025-03-02"], "incomplete: 2025-03-01, 2025-03-02"),
        (
            [f"2025-03-{d:02}" for d in range(30, 0, -1)],
            "incomplete: 30 partitions from 2025-03-01 to 2025-03-30",
        ),
        ("2025-03-01, 2025-03-02", "incomplete: 2025-03-01, 2025-03-02"),
        ([], None),
    ],
)
def test_the_summary_line_reads_the_runs_metadata_once_per_asset(incomplete, shown) -> None:
    @asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
    def synced(context) -> Output[None]:
        metadata = {
            "rows_written": 7,
            "unmatched_by_reason": MetadataValue.json({"unknown_company": 2, "no_crm": 1}),
            "api_calls": 4,
        }
        if incomplete:
            metadata["incomplete_partitions"] = (
                MetadataValue.json(incomplete) if isinstance(incomplete, list) else incomplete
            )
        return Output(None, metadata=metadata)

    with instance_for_test() as instance:
        # one run over three partitions: three materializations carrying the run's totals
        result = materialize([synced], instance=instance, tags=RANGE)
        assert result.success
        assert len(result.get_asset_materialization_events()) == 3
        outcome = outcome_of(instance, result.run_id, "surveys")

    assert (outcome.status, outcome.partition) == ("Completed", "2025-03-01...2025-03-03")
    assert (outcome.rows, outcome.unmatched, outcome.api_calls) == (7, 3, 4)
    line = outcome.line()
    assert line.startswith("surveys         Completed  2025-03-01...2025-03-03")
    assert "  rows 7  unmatched 3  API calls 4  " in line
    assert f"run {result.run_id[:8]}" in line
    if shown:
        assert line.endswith(shown)
    else:
        assert "incomplete" not in line


def test_a_failed_run_has_its_reason_on_the_line() -> None:
    @asset
    def broken() -> None:
        raise ValueError("the setting `x` is wrong: fix it in defs.yaml\nsecond line")

    with instance_for_test() as instance:
        result = materialize([broken], instance=instance, raise_on_error=False)
        outcome = outcome_of(instance, result.run_id, "companies")
    assert outcome.status == "Failed" and not outcome.ok
    assert outcome.reason == "ValueError: the setting `x` is wrong: fix it in defs.yaml second line"
    assert outcome.line().endswith(outcome.reason)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(30, "just now"), (60 * 4, "4 min ago"), (3600 * 5, "5 h ago"), (86400 * 3, "3 days ago")],
)
def test_ago(seconds: int, shown: str) -> None:
    assert ago(1_000_000.0, 1_000_000.0 + seconds) == shown


def test_without_workspace_yaml_the_same_location_is_loaded(
    tmp_path, dagster_home, monkeypatch
) -> None:
    """An installed package has no workspace.yaml: runs still belong to `gainsight`."""
    monkeypatch.setenv("GAINSIGHT_BASE_URL", "http://127.0.0.1:9")  # the plan resolves them
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", "unused-key-000000")
    with (
        DagsterInstance.get() as instance,
        run_starter(instance, workspace_file=tmp_path / "missing.yaml") as starter,
    ):
        origin = starter.location.location.origin
        assert starter.location.name == "gainsight"
        assert origin.loadable_target_origin.module_name == "gainsight_assets.definitions"
        run = starter.location.create_run(
            "gainsight_companies_sync", {"dagster/partition": "2025-03-11"}
        )
        assert run.remote_job_origin.repository_origin.code_location_origin == origin
