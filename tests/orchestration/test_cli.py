"""``gainsight-sync``: every command through ``cli.main`` against the demo tenant and DuckDB."""

from __future__ import annotations

import json
import re
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, RunsFilter, serialize_value

from gainsight_assets.cli import main
from gainsight_assets.demo.server import Fault
from gainsight_assets.failures import failure_reason
from gainsight_assets.objects import enabled_objects
from gainsight_assets.operations import sync_status
from gainsight_assets.partitions import last_closed_partition
from gainsight_assets.tenants import DEFAULT_TENANT_FILE, pick_tenant
from resources.warehouse import WarehouseResource
from tests.assets.helpers import exists, load_accounts, read
from tests.conftest import DEMO_KEY
from tests.tenant_folders import tenant_folder
from tests.unit.test_words import INTERNAL_WORDS

OBJECTS = ("companies", "activities", "surveys", "product_usage", "deleted_records")
QUERY_PATH = "/v1/data/objects/query/"


@pytest.fixture
def cli_env(
    demo_tenant, duckdb_url: str, dagster_home: Path, tmp_path: Path, monkeypatch
) -> dict[str, str]:
    env = {
        "GAINSIGHT_BASE_URL": demo_tenant.base_url,
        "GAINSIGHT_ACCESS_KEY": DEMO_KEY,
        # a copy of tenant default alone: the code location these tests start runs in has
        # one tenant, whose settings write_settings may change
        "GAINSIGHT_DEFS_FOLDER": str(tenant_folder(tmp_path)),
        "WAREHOUSE_URL": duckdb_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # the client's shared call budget lives in the temp dir: one per test, not one per session
    # (TMPDIR for the runs, which are processes of their own)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return env


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_settings(tmp_path: Path, monkeypatch, change) -> Path:
    """Tenant default with ``change`` applied to its attributes, for the CLI and its runs."""
    folder = tenant_folder(tmp_path / "changed", change)
    monkeypatch.setenv("GAINSIGHT_DEFS_FOLDER", str(folder))
    return folder / "default" / "defs.yaml"


def status_rows(out: str) -> dict[str, str]:
    """object -> the rest of its status line, whitespace collapsed."""
    lines = out.strip().splitlines()
    assert lines[0].split() == ["object", "status", "partition", "when"]
    return {line.split()[0]: " ".join(line.split()[1:]) for line in lines[1:]}


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


def test_a_missing_defs_folder_is_named(cli_env, capsys, monkeypatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    monkeypatch.setenv("GAINSIGHT_DEFS_FOLDER", str(missing))
    code, _, err = run_cli(capsys, "settings", "--offline")
    assert code == 1
    assert f"Defs folder {missing} does not exist" in err


def test_a_bad_setting_is_one_line_per_problem_naming_the_key(
    cli_env, capsys, monkeypatch, tmp_path: Path
) -> None:
    def change(raw: dict) -> None:
        raw["surveys"]["lookback_days"] = 45
        raw["primary_crm"]["acounts_table"] = "x.y"

    path = write_settings(tmp_path, monkeypatch, change)
    code, out, err = run_cli(capsys, "status")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"gainsight-sync status: {path} has 2 problem(s):",
        "  - `primary_crm.acounts_table`: unknown key; remove it or check its spelling against"
        " README's settings table",
        "  - `surveys.lookback_days`: is 45, but the survey lookback is capped at 30 days; set it"
        " to 30 or less",
    ]


def test_tenant_picks_a_tenant_and_an_unknown_one_lists_them(
    cli_env, capsys, monkeypatch, tmp_path: Path
) -> None:
    folder = tenant_folder(tmp_path / "two")
    tenant_folder(
        tmp_path / "two",
        lambda raw: raw["surveys"].update(response_limit=7),
        name="emea",
        base=DEFAULT_TENANT_FILE.parent.parent / "emea" / "defs.yaml",
    )
    monkeypatch.setenv("GAINSIGHT_DEFS_FOLDER", str(folder))
    code, out, err = run_cli(capsys, "settings", "--offline", "--json", "--tenant", "emea")
    assert code == 0, err
    assert json.loads(out)["surveys"]["response_limit"] == 7
    assert json.loads(out)["primary_crm"]["accounts_table"] == "hubspot.companies"
    code, out, err = run_cli(capsys, "settings", "--offline", "--json")  # default: `default`
    assert code == 0, err
    assert json.loads(out)["primary_crm"]["accounts_table"] == "salesforce.account"
    code, _, err = run_cli(capsys, "status", "--tenant", "apac")
    assert code == 1
    assert err.strip() == "gainsight-sync status: No tenant 'apac'; the tenants are default, emea."
    # tenant emea's connection is the variables its defs.yaml names
    code, _, err = run_cli(capsys, "validate", "--tenant", "emea")
    assert code == 1
    assert err.startswith(
        "gainsight-sync validate: EMEA_GAINSIGHT_BASE_URL and EMEA_GAINSIGHT_ACCESS_KEY not set."
    )


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
    block = out.split("# Paste under activity.category_map in ")[1].split(":\n", 1)[1]
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
    cli_env, capsys, monkeypatch, tmp_path: Path
) -> None:
    # the default category_map: no "milestone" mapping
    write_settings(tmp_path, monkeypatch, lambda raw: raw["activity"].pop("category_map"))
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

SUMMARY = re.compile(
    r"^(?P<object>\S+)\s+(?P<status>Completed|Failed|Canceled)\s+(?P<partition>\S+)"
    r"(?:\s+rows (?P<rows>\d+))?(?:\s+unmatched (?P<unmatched>\d+))?"
    r"(?:\s+API calls (?P<api_calls>\d+))?(?:\s+(?P<seconds>\d+\.\d)s)?"
    r"(?:\s+run (?P<run>[0-9a-f]{8}))?(?:\s+(?P<reason>.+))?$"
)


def summary(out: str) -> dict[str, dict[str, str | None]]:
    """The run command's lines, one per object, parsed."""
    lines = {}
    for line in out.strip().splitlines():
        match = SUMMARY.match(line)
        assert match, f"not a summary line: {line!r}"
        lines[match["object"]] = match.groupdict()
    return lines


def last_closed(name: str) -> str:
    [obj] = [o for o in enabled_objects(pick_tenant(None)) if o.name == name]
    key = last_closed_partition(obj.asset.partitions_def, datetime.now(UTC))
    assert key is not None
    return key


def test_status_before_any_run_says_never_run(cli_env, capsys) -> None:
    code, out, err = run_cli(capsys, "status")
    assert code == 0, err
    assert status_rows(out) == dict.fromkeys(OBJECTS, "Never run")


def test_status_lists_only_enabled_objects(cli_env, capsys, tmp_path: Path, monkeypatch) -> None:
    write_settings(tmp_path, monkeypatch, lambda raw: raw["company"].update(enabled=False))
    code, out, _ = run_cli(capsys, "status")
    assert code == 0
    assert list(status_rows(out)) == ["activities", "surveys", "product_usage", "deleted_records"]


def test_run_prints_one_summary_line_and_the_run_is_the_code_locations(
    cli_env, capfd, duckdb_url: str, demo_dataset, demo_tenant, dagster_home: Path
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    calls = demo_tenant.stats()["calls"]
    code, out, err = run_cli(capfd, "run", "companies")
    assert code == 0, err
    # one line, no Dagster event log on the terminal (it is in the instance and a log file)
    assert len(out.strip().splitlines()) == 1, out
    assert "DEBUG" not in out + err and "STEP_START" not in out + err, out + err
    line = summary(out)["companies"]
    partition = last_closed("companies")
    assert (line["status"], line["partition"]) == ("Completed", partition)
    companies = read(duckdb_url, "gainsight.companies")
    assert int(line["rows"]) == companies.height > 0
    unmatched = read(duckdb_url, "gainsight.unmatched_records")
    assert int(line["unmatched"]) == unmatched.filter(pl.col("object") == "Company").height
    assert int(line["api_calls"]) == demo_tenant.stats()["calls"] - calls > 0
    assert float(line["seconds"]) > 0
    assert line["reason"] is None
    assert "STEP_START" in (dagster_home / "logs" / "gainsight-sync.log").read_text()

    with DagsterInstance.get() as instance:
        # the project's instance queues runs, and no daemon runs here: the run skipped the queue,
        # so a daemon (had one been up) would have had nothing to launch a second time
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        [run] = instance.get_runs()
        enqueued = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_ENQUEUED)
        assert not enqueued.records
        # created like the UI's and the daemon's runs: the code location's job, partition tag
        origin = run.remote_job_origin
        assert origin is not None
        assert origin.repository_origin.code_location_origin.location_name == "gainsight"
        assert run.tags["dagster/partition"] == partition
        assert run.tags["gainsight/object"] == "companies"  # the job's own tag
        assert run.run_id.startswith(line["run"])
        # the access key never reaches the run's config, tags or events
        stored = [serialize_value(entry) for entry in instance.all_logs(run.run_id)]
        assert stored
        for text in (json.dumps(run.run_config), json.dumps(dict(run.tags)), *stored):
            assert DEMO_KEY not in text
        assert run.run_config == {}

    code, out, _ = run_cli(capfd, "status")
    rows = status_rows(out)
    assert rows["companies"] == f"Completed {partition} just now"
    assert all(rows[name] == "Never run" for name in OBJECTS if name != "companies")
    with DagsterInstance.get() as instance:
        later = sync_status(pick_tenant(), instance, now=time.time() + 5 * 60 + 1)
    assert later[0].object == "companies" and later[0].state == "Completed"
    assert later[0].when == "5 min ago"


def test_run_verbose_shows_the_event_log(cli_env, capfd, duckdb_url: str, demo_dataset) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    code, out, err = run_cli(capfd, "run", "companies", "--verbose")
    assert code == 0, err
    events = out + err
    for event in ("RUN_START", "STEP_START", "ASSET_MATERIALIZATION", "RUN_SUCCESS"):
        assert event in events, events
    assert re.search(r"^companies\s+Completed\s", out, re.MULTILINE), out


def test_run_an_unknown_object_fails_with_the_enabled_ones(cli_env, capsys) -> None:
    code, _, err = run_cli(capsys, "run", "contacts")
    assert code == 1
    assert "Unknown or disabled object(s): contacts" in err
    assert "companies, activities, surveys, product_usage" in err


def test_one_failing_object_does_not_stop_the_others(
    cli_env, capfd, duckdb_url: str, demo_dataset, tmp_path: Path, monkeypatch
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    write_settings(
        tmp_path, monkeypatch, lambda raw: raw["activity"].update(date_field="LastModifedDate")
    )
    code, out, _ = run_cli(capfd, "run")
    assert code == 1
    lines = summary(out)
    assert {name: line["status"] for name, line in lines.items()} == {
        "companies": "Completed",
        "activities": "Failed",
        "surveys": "Completed",
        "product_usage": "Completed",
        "deleted_records": "Completed",
    }
    reason = lines["activities"]["reason"]
    assert reason.startswith("MissingFieldError: ")
    assert "no field 'LastModifedDate' (setting `activity.date_field`)" in reason
    assert lines["activities"]["partition"] == last_closed("activities")
    assert read(duckdb_url, "gainsight.companies").height > 0

    code, out, _ = run_cli(capfd, "status")
    rows = status_rows(out)
    states = {name: detail.split()[0] for name, detail in rows.items()}
    assert states == {**dict.fromkeys(OBJECTS, "Completed"), "activities": "Failed"}
    # status gives the same reason, word for word
    assert rows["activities"].endswith(f"just now {reason}")
    with DagsterInstance.get() as instance:
        [failed] = instance.get_runs(RunsFilter(job_name="gainsight_activities_sync"))
        assert str(failure_reason(instance, failed)) == reason  # what the failure sensor stores


def test_run_with_the_gate_closed_names_the_table_and_the_warehouse(
    cli_env, capfd, duckdb_url
) -> None:
    code, out, _ = run_cli(capfd, "run", "companies")
    assert code == 1
    line = summary(out)["companies"]
    assert line["status"] == "Failed"
    warehouse = WarehouseResource(url=duckdb_url).target.redacted  # duckdb:///tmp/…/warehouse…
    assert line["reason"].startswith(
        "AssetCheckFailed[primary_crm_accounts_present]: Primary-CRM gate closed: the table"
        f" `salesforce.account` does not exist in the warehouse {warehouse}."
    )
    assert not exists(duckdb_url, "gainsight.companies")


# -- configuration errors ----------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_an_unreachable_base_url_fails_at_once_naming_the_setting(
    cli_env, capsys, monkeypatch
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"  # a name that does not resolve: test_client.py
    monkeypatch.setenv("GAINSIGHT_BASE_URL", url)
    started = time.monotonic()
    code, out, err = run_cli(capsys, "validate")
    assert time.monotonic() - started < 5  # no retries
    assert code == 1 and out == ""
    assert err == (
        "gainsight-sync validate: Cannot reach Gainsight at 127.0.0.1: the connection was"
        f" refused. Check GAINSIGHT_BASE_URL (now {url}); it must be your tenant's root URL,"
        " like https://acme.gainsightcloud.com.\n"
    )


@pytest.mark.parametrize(
    "base_url", ["acme.gainsightcloud.com", "http://acme.gainsightcloud.com", "ftp://x.y"]
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_malformed_base_url_prints_the_message_alone(
    cli_env, capsys, monkeypatch, base_url: str, command: str
) -> None:
    monkeypatch.setenv("GAINSIGHT_BASE_URL", base_url)
    code, out, err = run_cli(capsys, command)
    assert code == 1 and out == ""
    assert err.startswith(f"gainsight-sync {command}: GAINSIGHT_BASE_URL must ")
    assert len(err.strip().splitlines()) == 1, err
    assert "validation error" not in err and "pydantic" not in err
    with DagsterInstance.get() as instance:
        assert not instance.get_runs()  # nothing was started


def test_a_warehouse_in_a_missing_folder_stops_before_any_run(
    cli_env, capsys, monkeypatch, tmp_path: Path
) -> None:
    url = f"duckdb:///{tmp_path}/no-such-dir/x.duckdb"
    monkeypatch.setenv("WAREHOUSE_URL", url)
    code, out, err = run_cli(capsys, "run", "companies")
    assert code == 1 and out == ""
    assert err.startswith(f"gainsight-sync run: WAREHOUSE_URL '{url}' names the DuckDB file")
    assert err.strip().endswith("does not exist. Create the folder, or fix WAREHOUSE_URL.")
    assert not (tmp_path / "no-such-dir").exists()
    with DagsterInstance.get() as instance:
        assert not instance.get_runs()


# -- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, "run", "demo", "status", "settings", "validate"])
def test_help_speaks_to_an_operator(capsys, command: str | None) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"] if command else ["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: gainsight-sync")
    for word in ("``", *INTERNAL_WORDS, "Show JSON"):
        assert word not in text, word
