"""README's main command, ``gainsight-sync demo``, end to end in a temporary home: both shipped
tenants, each against a demo tenant of its own."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from dagster import DagsterInstance

from gainsight_assets.demo.runner import TABLES, run_demo
from gainsight_assets.downstream import CUSTOMER_USAGE_JOB
from gainsight_assets.tenants import load_tenants
from resources.warehouse import WarehouseResource

OBJECTS = ("companies", "activities", "surveys", "product_usage", "deleted_records")


def test_the_demo_runs_every_job_of_both_tenants_and_fills_their_tables(
    tmp_path: Path, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenants = load_tenants()
    assert list(tenants) == ["default", "emea"]
    url = f"duckdb:///{tmp_path / 'demo.duckdb'}"
    monkeypatch.setenv("WAREHOUSE_URL", url)
    # run_demo sets these for its own tenants; monkeypatch puts them back afterwards
    for tenant in tenants.values():
        monkeypatch.setenv(tenant.base_url_env, "http://127.0.0.1:9")
        monkeypatch.setenv(tenant.access_key_env, "unused")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a call budget of its own
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # and for the runs, processes of their own

    lines: list[str] = []
    outcome = run_demo(companies=12, out=lines.append)

    jobs = {
        tenant.named(name)
        for tenant in tenants.values()
        for name in (*(f"gainsight_{o}_sync" for o in OBJECTS), CUSTOMER_USAGE_JOB)
    }
    assert outcome == dict.fromkeys(jobs, True), "\n".join(lines)
    printed = "\n".join(lines)
    assert re.search(
        r"^Tenant default: demo Gainsight tenant at http://127\.0\.0\.1:\d+ \(GAINSIGHT_BASE_URL\),"
        r" \d+ objects; \d+ salesforce accounts loaded into salesforce\.account$",
        printed,
        re.MULTILINE,
    )
    assert re.search(
        r"^Tenant emea: .* \(EMEA_GAINSIGHT_BASE_URL\), \d+ objects; \d+ hubspot accounts loaded"
        r" into hubspot\.companies$",
        printed,
        re.MULTILINE,
    )
    for job in jobs:
        assert re.search(rf"^{job}\s+Completed\s+\S+\s+rows \d+", printed, re.MULTILINE), job
    assert "DEBUG" not in printed
    assert (dagster_home / "dagster.yaml").exists()  # the instance lives in the temp home
    # every run belongs to the code location (job history, timeline, re-execution, sensors)
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert {run.job_name for run in runs} == jobs
        for run in runs:
            assert run.remote_job_origin is not None, run.job_name
            location = run.remote_job_origin.repository_origin.code_location_origin
            assert location.location_name == "gainsight"

    # one summary per tenant: its tables, one line each
    warehouse = WarehouseResource(url=url)
    blocks = printed.split("\n\n")[-len(tenants) :]
    counts: dict[str, dict[str, int]] = {}
    for tenant, block in zip(tenants.values(), blocks, strict=True):
        title, header, *rows = block.splitlines()
        assert title == f"Tenant {tenant.name}:"
        assert header.split() == ["table", "rows", "columns"]
        summary = {row.split()[0]: row.split()[1] for row in rows}
        for name in TABLES:
            table = tenant.table(name)
            assert summary[str(table)].isdigit(), f"{table} was not materialized"
            assert int(summary[str(table)]) == warehouse.count(table) > 0, table
        counts[tenant.name] = {name: int(summary[str(tenant.table(name))]) for name in TABLES}
    assert counts["default"] != counts["emea"]  # other data, other settings
