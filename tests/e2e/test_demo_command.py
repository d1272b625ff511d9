"""README's main command, ``gainsight-sync demo``, end to end in a temporary home."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from dagster import DagsterInstance

from gainsight_assets.demo.runner import TABLES, run_demo
from gainsight_assets.downstream import CUSTOMER_USAGE_JOB
from resources.warehouse import TableRef, WarehouseResource

JOBS = {
    "gainsight_companies_sync",
    "gainsight_activities_sync",
    "gainsight_surveys_sync",
    "gainsight_product_usage_sync",
    "gainsight_deleted_records_sync",
    CUSTOMER_USAGE_JOB,
}


def test_the_demo_runs_every_job_and_fills_every_table(
    tmp_path: Path, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'demo.duckdb'}"
    monkeypatch.setenv("WAREHOUSE_URL", url)
    # run_demo sets these for its own tenant; monkeypatch puts them back afterwards
    monkeypatch.setenv("GAINSIGHT_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", "unused")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a call budget of its own
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # and for the runs, processes of their own

    lines: list[str] = []
    outcome = run_demo(companies=12, out=lines.append)

    assert outcome == dict.fromkeys(JOBS, True), "\n".join(lines)
    printed = "\n".join(lines)
    assert re.search(r"Validate connection: \d+ Gainsight objects discovered", printed)
    assert "salesforce accounts loaded into salesforce.account" in printed
    for job in JOBS:
        assert re.search(rf"^{job}\s+Completed\s+\S+\s+rows \d+", printed, re.MULTILINE), job
    assert re.search(
        r"^Deleted in the demo tenant \(\S+\): 2 Company, 2 activity_timeline",
        printed,
        re.MULTILINE,
    )
    assert "DEBUG" not in printed
    assert (dagster_home / "dagster.yaml").exists()  # the instance lives in the temp home
    # every run belongs to the code location (job history, timeline, re-execution, sensors)
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert {run.job_name for run in runs} == JOBS
        for run in runs:
            assert run.remote_job_origin is not None, run.job_name
            location = run.remote_job_origin.repository_origin.code_location_origin
            assert location.location_name == "gainsight"

    header, *rows = lines[-1].splitlines()  # the summary: one line per table
    assert header.split() == ["table", "rows", "columns"]
    summary = {row.split()[0]: row.split()[1] for row in rows}
    warehouse = WarehouseResource(url=url)
    for name in TABLES:
        table = TableRef("gainsight", name)
        assert summary[str(table)].isdigit(), f"{table} was not materialized"
        assert int(summary[str(table)]) == warehouse.count(table) > 0, table
