"""``gainsight-sync``: every command through ``cli.main`` against the demo tenant and DuckDB."""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance

from gainsight_assets.cli import main
from gainsight_assets.demo.runner import DEMO_SETTINGS
from gainsight_assets.demo.server import Fault
from gainsight_assets.operations import sync_status
from gainsight_assets.settings import DEFAULT_SETTINGS_PATH, load_settings
from tests.assets.helpers import exists, read, seed_accounts
from tests.conftest import DEMO_KEY

OBJECTS = ("companies", "activities", "surveys", "product_usage")
QUERY_PATH = "/v1/data/objects/query/"


@pytest.fixture
def cli_env(
    demo_tenant, duckdb_url: str, dagster_home: Path, tmp_path: Path, monkeypatch
) -> dict[str, str]:
    env = {
        "GAINSIGHT_BASE_URL": demo_tenant.base_url,
        "GAINSIGHT_ACCESS_KEY": DEMO_KEY,
        "GAINSIGHT_SETTINGS": str(DEMO_SETTINGS),
        "WAREHOUSE_URL": duckdb_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # the client's shared call budget lives in the temp dir: one per test, not one per session
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return env


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_settings(tmp_path: Path, monkeypatch, change) -> Path:
    raw = yaml.safe_load(DEMO_SETTINGS.read_text())
    change(raw)
    path = tmp_path / "gainsight.yaml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("GAINSIGHT_SETTINGS", str(path))
    return path


def status_rows(out: str) -> dict[str, str]:
    lines = out.strip().splitlines()
    assert lines[0].split() == ["object", "status", "when"]
    return {line.split()[0]: line.split(maxsplit=1)[1].strip() for line in lines[1:]}


# -- validate / objects ----------------------------------------------------------------------


def test_validate_counts_the_objects(cli_env, capsys, demo_dataset) -> None:
    code, out, err = run_cli(capsys, "validate")
    assert code == 0, err
    assert out.strip() == f"Connected: {len(demo_dataset.describe)} Gainsight objects discovered."


def test_validate_with_a_rotated_key_explains_the_401_without_the_key(
    cli_env, capsys, monkeypatch
) -> None:
    wrong = "rotated-key-5c0ffee5c0ffee"
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", wrong)
    code, out, err = run_cli(capsys, "validate")
    assert code == 1
    assert out == ""
    assert "failed with 401" in err
    assert "expired or been rotated" in err
    assert "Generate a new key" in err and "GAINSIGHT_ACCESS_KEY" in err
    assert wrong not in out + err


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        (
            ("GAINSIGHT_BASE_URL", "GAINSIGHT_ACCESS_KEY"),
            "GAINSIGHT_BASE_URL and GAINSIGHT_ACCESS_KEY",
        ),
        (("GAINSIGHT_ACCESS_KEY",), "GAINSIGHT_ACCESS_KEY"),
    ],
)
def test_missing_connection_variables_are_named(
    cli_env, capsys, monkeypatch, missing: tuple[str, ...], expected: str
) -> None:
    for name in missing:
        monkeypatch.delenv(name)
    code, _, err = run_cli(capsys, "validate")
    assert code == 1
    assert err.startswith(f"gainsight-sync validate: {expected} not set.")
    assert "gainsight-sync demo" in err


def test_a_missing_settings_file_is_named(cli_env, capsys, monkeypatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    monkeypatch.setenv("GAINSIGHT_SETTINGS", str(missing))
    code, _, err = run_cli(capsys, "settings", "--offline")
    assert code == 1
    assert f"Settings file {missing} does not exist" in err


def test_objects_lists_every_object_of_the_tenant(cli_env, capsys, demo_dataset) -> None:
    code, out, err = run_cli(capsys, "objects")
    assert code == 0, err
    listed = {line.split()[0] for line in out.strip().splitlines()}
    assert listed == {d["objectName"] for d in demo_dataset.describe.values()}
    assert {"activity_timeline", "nps_survey_response", "product_usage__gc"} <= listed
    assert "company" in {name.lower() for name in listed}


# -- settings --------------------------------------------------------------------------------


def test_settings_json_fills_in_the_detected_survey_fields(cli_env, capsys) -> None:
    code, out, err = run_cli(capsys, "settings", "--json")
    assert code == 0, err
    data = json.loads(out)
    nps, csat = data["surveys"]["objects"]
    assert nps["object"] == "nps_survey_response"
    assert nps["field_mappings"]["score"] == "NpsScore"
    assert nps["field_mappings"]["answer"] == "Comment"  # the override wins
    assert nps["field_mappings"]["response_id"] == "Gsid"
    assert nps["field_mappings"]["gs_company_id"] == "GsCompanyId"
    assert csat["field_mappings"]["score"] == "CsatRating"
    assert csat["field_mappings"]["question"] == "Prompt__gc"
    assert data["product_usage"]["aggregate"]["key"] == "AccountId"
    assert data["start_date"] == "2025-01-01"


def test_settings_offline_shows_the_file_without_calling_gainsight(
    cli_env, capsys, monkeypatch, demo_tenant
) -> None:
    monkeypatch.delenv("GAINSIGHT_BASE_URL")
    monkeypatch.delenv("GAINSIGHT_ACCESS_KEY")
    calls = demo_tenant.stats()["calls"]
    code, out, err = run_cli(capsys, "settings", "--json", "--offline")
    assert code == 0, err
    data = json.loads(out)
    nps, csat = data["surveys"]["objects"]
    assert nps["field_mappings"] == {"answer": "Comment"}
    assert csat["field_mappings"] == {"question": "Prompt__gc"}
    assert demo_tenant.stats()["calls"] == calls
    # without --json it is YAML with the same content
    code, out, _ = run_cli(capsys, "settings", "--offline")
    assert code == 0
    assert yaml.safe_load(out) == data


# -- sample-activities -------------------------------------------------------------------------


def sample_table(out: str) -> dict[str, tuple[int, str]]:
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("ReportingCategory")))
    table = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        category, count, shown = re.match(r"(\S+)\s+(\d+)\s+(.+)$", line).groups()
        table[category] = (int(count), shown)
    return table


def pasted_yaml(out: str) -> list[str]:
    block = out.split("# Paste under activity.category_map in gainsight.yaml:\n")[1]
    return block.split("\n\n")[0].splitlines()


def test_sample_activities_counts_maps_and_suggests(cli_env, capsys, demo_dataset) -> None:
    code, out, err = run_cli(capsys, "sample-activities")
    assert code == 0, err
    categories = demo_dataset.objects["activity_timeline"]["ReportingCategory"].drop_nulls()
    # fewer than 1000 activities in the demo: the sample is all of them
    assert out.startswith(f"Sampled {categories.len()} activities (sample size 1000).")
    expected = dict(categories.value_counts().iter_rows())
    table = sample_table(out)
    assert {c: n for c, (n, _) in table.items()} == expected
    assert table["Webinar"][1] == "unmapped (suggest MEETING)"
    assert table["Escalation"][1] == "unmapped (suggest TYPE_MANUAL)"
    for category, (_, shown) in table.items():
        if category.lower() in {"email"}:
            assert shown == "EMAIL"
        if category.lower() in {"call", "meeting"}:
            assert shown == "MEETING"
    lines = pasted_yaml(out)
    assert sorted(lines) == ["    escalation: TYPE_MANUAL", "    webinar: MEETING"]
    assert out.rstrip().endswith("Activity types: EMAIL, MEETING, TYPE_MANUAL")


def test_the_paste_block_has_one_key_per_category_however_it_is_spelled(
    cli_env, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("GAINSIGHT_SETTINGS", str(DEFAULT_SETTINGS_PATH))  # no "milestone" mapping
    code, out, err = run_cli(capsys, "sample-activities")
    assert code == 0, err
    table = sample_table(out)
    assert table["Milestone"][1] == table["milestone"][1] == "unmapped (suggest TYPE_MANUAL)"
    lines = pasted_yaml(out)
    assert len(lines) == len(set(lines)), lines
    pasted = yaml.safe_load("category_map:\n" + "\n".join(lines))["category_map"]
    assert pasted == {"escalation": "TYPE_MANUAL", "milestone": "TYPE_MANUAL", "webinar": "MEETING"}


@pytest.mark.parametrize(("slow_calls", "size"), [(1, 800), (2, 500)])
def test_a_slow_tenant_falls_back_to_smaller_samples(
    cli_env, capsys, demo_tenant, slow_calls: int, size: int
) -> None:
    demo_tenant.inject(*[Fault(delay_seconds=2.5, path=QUERY_PATH)] * slow_calls)
    try:
        started = time.monotonic()
        code, out, err = run_cli(capsys, "sample-activities", "--budget-seconds", "3")
        elapsed = time.monotonic() - started
    finally:
        demo_tenant.clear_faults()
    assert code == 0, err
    assert re.match(rf"Sampled \d+ activities \(sample size {size}\)\.", out)
    assert elapsed < 3.5


def test_a_tenant_too_slow_for_every_sample_says_what_to_do(cli_env, capsys, demo_tenant) -> None:
    demo_tenant.inject(*[Fault(delay_seconds=2.5, path=QUERY_PATH)] * 3)
    try:
        code, _, err = run_cli(capsys, "sample-activities", "--budget-seconds", "3")
    finally:
        demo_tenant.clear_faults()
    assert code == 1
    assert "Activity sample timed out at 1000, 800, 500 records within 3s" in err
    assert "raise --budget-seconds" in err


# -- status / run --------------------------------------------------------------------------------


def test_status_before_any_run_says_never_run(cli_env, capsys) -> None:
    code, out, err = run_cli(capsys, "status")
    assert code == 0, err
    assert status_rows(out) == dict.fromkeys(OBJECTS, "Never run")


def test_status_lists_only_enabled_objects(cli_env, capsys, tmp_path: Path, monkeypatch) -> None:
    write_settings(tmp_path, monkeypatch, lambda raw: raw["company"].update(enabled=False))
    code, out, _ = run_cli(capsys, "status")
    assert code == 0
    assert list(status_rows(out)) == ["activities", "surveys", "product_usage"]


def test_run_one_object_then_status_shows_it_completed(
    cli_env, capsys, duckdb_url: str, demo_dataset
) -> None:
    seed_accounts(duckdb_url, demo_dataset.crm_accounts)
    code, out, err = run_cli(capsys, "run", "companies")
    assert code == 0, err
    assert out.split() == ["companies", "Completed"]
    companies = read(duckdb_url, "gainsight.companies")
    assert companies.height > 0
    assert set(companies["account_id"]) <= set(demo_dataset.crm_accounts["id"])

    code, out, _ = run_cli(capsys, "status")
    rows = status_rows(out)
    assert rows["companies"] == "Completed  Completed just now"
    assert all(rows[name] == "Never run" for name in OBJECTS if name != "companies")
    with DagsterInstance.get() as instance:
        later = sync_status(load_settings(), instance, now=time.time() + 5 * 60 + 1)
    assert later[0].object == "companies" and later[0].state == "Completed"
    assert later[0].detail == "Completed 5 min ago"


def test_run_an_unknown_object_fails_with_the_enabled_ones(cli_env, capsys) -> None:
    code, _, err = run_cli(capsys, "run", "contacts")
    assert code == 1
    assert "Unknown or disabled object(s): contacts" in err
    assert "companies, activities, surveys, product_usage" in err


def test_one_failing_object_does_not_stop_the_others(
    cli_env, capsys, duckdb_url: str, demo_dataset, tmp_path: Path, monkeypatch
) -> None:
    seed_accounts(duckdb_url, demo_dataset.crm_accounts)
    write_settings(
        tmp_path, monkeypatch, lambda raw: raw["activity"].update(date_field="LastModifedDate")
    )
    code, out, _ = run_cli(capsys, "run")
    assert code == 1
    outcome = dict(line.split(maxsplit=1) for line in out.strip().splitlines())
    assert outcome == {
        "companies": "Completed",
        "activities": "Failed",
        "surveys": "Completed",
        "product_usage": "Completed",
    }
    assert read(duckdb_url, "gainsight.companies").height > 0
    code, out, _ = run_cli(capsys, "status")
    states = {name: detail.split()[0] for name, detail in status_rows(out).items()}
    assert states == {**dict.fromkeys(OBJECTS, "Completed"), "activities": "Failed"}


def test_run_with_the_gate_closed_fails_and_writes_nothing(cli_env, capsys, duckdb_url) -> None:
    code, out, _ = run_cli(capsys, "run", "companies")
    assert code == 1
    assert out.split() == ["companies", "Failed"]
    assert not exists(duckdb_url, "gainsight.companies")
