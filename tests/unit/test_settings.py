"""A tenant's settings: defaults, every validation rule, and errors that name the key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from gainsight_assets.settings import (
    DEFAULT_CATEGORY_MAP,
    Settings,
    SettingsError,
    parse_settings,
)
from gainsight_assets.tenants import load_settings

PROJECT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_documented_settings() -> None:
    s = Settings()
    assert s.primary_crm.accounts_table == "salesforce.account"
    assert s.gsid_field == "gainsight_gsid_c"
    assert s.company.crm_id_field == "SfdcAccountId"
    assert s.activity.category_map == DEFAULT_CATEGORY_MAP
    assert [o.object for o in s.surveys.objects] == ["survey_response"]
    assert (s.surveys.response_limit, s.surveys.lookback_days) == (500, 30)
    assert s.product_usage.aggregate.function == "sum"


def test_shipped_tenants_are_valid_and_differ() -> None:
    default = load_settings(PROJECT / "gainsight_assets" / "defs" / "default" / "defs.yaml")
    assert default.surveys.mode == "multiple" and len(default.surveys.objects) >= 2
    assert default.product_usage.aggregate.enabled
    assert load_settings() == default  # the command line's tenant when none is named
    emea = load_settings(PROJECT / "gainsight_assets" / "defs" / "emea" / "defs.yaml")
    assert (emea.primary_crm.system, emea.primary_crm.accounts_table) == (
        "hubspot",
        "hubspot.companies",
    )
    assert emea != default


@pytest.mark.parametrize(
    ("raw", "key", "fix"),
    [
        ({"surveys": {"lookback_days": 45}}, "`surveys.lookback_days`", "capped at 30"),
        (
            {"surveys": {"mode": "multiple", "objects": [{"object": "nps"}, {"object": "NPS"}]}},
            "`surveys`",
            "must be unique",
        ),
        (
            {"surveys": {"objects": [{"object": "a"}, {"object": "b"}]}},
            "`surveys`",
            "set mode: multiple",
        ),
        (
            {"activity": {"category_map": {"webinar": "WEBINAR"}}},
            "`activity.category_map`",
            "use one of EMAIL, MEETING, TYPE_MANUAL",
        ),
        (
            {"product_usage": {"aggregate": {"enabled": True, "key": "AccountId"}}},
            "`product_usage.aggregate`",
            "product_usage.aggregate.metric_name_field",
        ),
        ({"surveys": {"lookbak_days": 10}}, "`surveys.lookbak_days`", "unknown key"),
        ({"primary_crm": {"system": "gainsight"}}, "`primary_crm.system`", "'salesforce'"),
        (
            {"primary_crm": {"accounts_table": "account"}},
            "`primary_crm.accounts_table`",
            "schema.table",
        ),
        ({"surveys": {"filter": "{not json"}}, "`surveys.filter`", "not valid JSON"),
        ({"surveys": {"filter": {"name": "x"}}}, "`surveys.filter`", "where-clause"),
        (
            {"surveys": {"objects": [{"object": "s", "field_mappings": {"grade": "X"}}]}},
            "`surveys.objects.0.field_mappings`",
            "mappable fields are",
        ),
    ],
)
def test_bad_settings_name_the_key_and_the_fix(raw: dict, key: str, fix: str) -> None:
    with pytest.raises(SettingsError) as err:
        parse_settings(raw)
    assert key in str(err.value)
    assert fix in str(err.value)


def test_category_map_is_case_insensitive_and_types_normalised() -> None:
    s = parse_settings({"activity": {"category_map": {"Webinar": "meeting"}}})
    assert s.activity.category_map == {"webinar": "MEETING"}


def test_filter_accepts_json_text() -> None:
    s = parse_settings(
        {
            "surveys": {
                "filter": '{"conditions": [{"name": "Score", "alias": "A",'
                ' "value": [5], "operator": "GTE"}], "expression": "A"}'
            }
        }
    )
    assert s.surveys.filter["conditions"][0]["operator"] == "GTE"


def test_the_defs_folder_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "only" / "defs.yaml"
    path.parent.mkdir()
    path.write_text(
        "type: gainsight_assets.GainsightComponent\n"
        "attributes:\n  surveys:\n    response_limit: 7\n"
    )
    monkeypatch.setenv("GAINSIGHT_DEFS_FOLDER", str(tmp_path))
    assert load_settings().surveys.response_limit == 7  # the only tenant, whatever its name
    monkeypatch.setenv("GAINSIGHT_DEFS_FOLDER", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings()
