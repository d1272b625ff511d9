"""GainsightComponent: one defs.yaml per tenant, read alike by Dagster and by the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import Definitions
from dagster.components.testing import create_defs_folder_sandbox

from gainsight_assets.component import GainsightComponent, scaffold_yaml
from gainsight_assets.definitions import build_definitions
from gainsight_assets.settings import Settings, SettingsError
from gainsight_assets.tenant_definitions import shared_definitions
from gainsight_assets.tenants import DEFS_FOLDER, load_tenants, pick_tenant, read_tenant


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name / "defs.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_shipped_tenants_differ_and_name_their_own_variables() -> None:
    tenants = load_tenants(DEFS_FOLDER)
    assert list(tenants) == ["default", "emea"]
    default, emea = tenants["default"], tenants["emea"]
    assert (default.base_url_env, default.access_key_env) == (
        "GAINSIGHT_BASE_URL",
        "GAINSIGHT_ACCESS_KEY",
    )
    assert (emea.base_url_env, emea.access_key_env) == (
        "EMEA_GAINSIGHT_BASE_URL",
        "EMEA_GAINSIGHT_ACCESS_KEY",
    )
    assert default.settings.primary_crm.accounts_table == "salesforce.account"
    assert emea.settings.primary_crm.accounts_table == "hubspot.companies"
    assert (default.schema, emea.schema) == ("gainsight", "gainsight_emea")
    assert (default.resource_key, emea.resource_key) == ("gainsight", "gainsight_emea")


def test_a_bad_setting_is_one_line_per_problem_naming_the_key_and_the_fix(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "acme",
        "type: gainsight_assets.GainsightComponent\n"
        "attributes:\n"
        "  start_date: 2025-13-01\n"
        "  primary_crm: {system: sap, accounts_table: accounts}\n"
        "  surveys: {lookback_days: 45, respone_limit: 5}\n",
    )
    with pytest.raises(SettingsError) as raised:
        read_tenant(path)
    assert str(raised.value).splitlines() == [
        f"{path} has 5 problem(s):",
        "  - `primary_crm.system`: Input should be 'salesforce' or 'hubspot' (got 'sap')",
        "  - `primary_crm.accounts_table`: 'accounts' must be schema.table, e.g."
        " salesforce.account or hubspot.companies",
        "  - `start_date`: Input should be a valid date or datetime, month value is outside"
        " expected range of 1-12",
        "  - `surveys.lookback_days`: is 45, but the survey lookback is capped at 30 days; set it"
        " to 30 or less",
        "  - `surveys.respone_limit`: unknown key; remove it or check its spelling against"
        " README's settings table",
    ]
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("  name: Acme\n", "tenant name 'Acme' must be lower case letters"),
        (
            "  connection: {access_key_env: 'abc-123-secret'}\n",
            "connection.access_key_env is not an environment variable name",
        ),
        ("  connection: {base_url: https://acme.gainsightcloud.com}\n", "`connection.base_url`"),
    ],
)
def test_the_name_and_connection_are_checked(tmp_path: Path, attributes: str, message: str) -> None:
    path = write(
        tmp_path, "acme", f"type: gainsight_assets.GainsightComponent\nattributes:\n{attributes}"
    )
    with pytest.raises(SettingsError, match=message) as raised:
        read_tenant(path)
    assert "abc-123-secret" not in str(raised.value)  # it may be a key pasted by mistake


def test_the_name_is_the_folder_unless_set_and_is_unique(tmp_path: Path) -> None:
    component = "type: gainsight_assets.GainsightComponent\n"
    write(tmp_path, "acme", component)
    write(tmp_path, "second", component + "attributes:\n  name: globex\n")
    assert list(load_tenants(tmp_path)) == ["acme", "globex"]
    write(tmp_path, "third", component + "attributes:\n  name: acme\n")
    with pytest.raises(SettingsError, match="tenant name 'acme' is used by another defs folder"):
        load_tenants(tmp_path)


def test_the_command_lines_tenant_is_the_only_one_or_default(tmp_path: Path) -> None:
    component = "type: gainsight_assets.GainsightComponent\n"
    write(tmp_path, "acme", component)
    assert pick_tenant(tenants=load_tenants(tmp_path)).name == "acme"
    write(tmp_path, "globex", component)
    with pytest.raises(SettingsError, match=r"none is called default; choose one with --tenant"):
        pick_tenant(tenants=load_tenants(tmp_path))
    write(tmp_path, "default", component)
    assert pick_tenant(tenants=load_tenants(tmp_path)).name == "default"
    assert pick_tenant("globex", load_tenants(tmp_path)).name == "globex"


def test_the_json_schema_lets_dg_check_yaml_catch_typos_choices_and_limits() -> None:
    schema = GainsightComponent.get_model_cls().model_json_schema()
    sections = schema["$defs"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {*Settings.model_fields, "name", "connection"}
    assert all(section["additionalProperties"] is False for section in sections.values())
    crm = sections["PrimaryCrm"]["properties"]
    assert crm["system"]["enum"] == ["salesforce", "hubspot"]
    assert crm["accounts_table"]["pattern"] == r"^[^.]+\.[^.]+$"
    assert sections["Surveys"]["properties"]["lookback_days"]["maximum"] == 30


def test_dagster_loads_a_scaffolded_tenant_into_its_definitions() -> None:
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(GainsightComponent, defs_path="default")
        text = (path / "defs.yaml").read_text()
        assert "base_url_env: GAINSIGHT_BASE_URL" in text
        with sandbox.build_component_tree() as tree:
            component = tree.load_component(path)
            defs = tree.build_defs()  # as the code location's load_from_defs_folder does
        assert isinstance(component, GainsightComponent)
        assert component.name == "default"  # the folder's name
        expected = build_definitions(component.settings)
        assert set(defs.resources or {}) == {"gainsight"}  # the warehouse is shared, added once
        merged = Definitions.merge(defs, shared_definitions())
        assert set(merged.resolve_all_asset_keys()) == set(expected.resolve_all_asset_keys())


def test_dagster_stops_a_bad_tenant_with_the_same_message() -> None:
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(
            GainsightComponent,
            defs_path="acme",
            defs_yaml_contents={
                "type": "gainsight_assets.GainsightComponent",
                "attributes": {"surveys": {"lookback_days": 45}},
            },
        )
        with pytest.raises(Exception) as raised, sandbox.build_component_tree() as tree:
            tree.build_defs()
    cause = raised.value
    while not isinstance(cause, SettingsError) and cause.__cause__ is not None:
        cause = cause.__cause__
    assert isinstance(cause, SettingsError)
    assert str(cause).splitlines() == [
        f"{path / 'defs.yaml'} has 1 problem(s):",
        "  - `surveys.lookback_days`: is 45, but the survey lookback is capped at 30 days; set it"
        " to 30 or less",
    ]


def test_a_scaffolded_tenant_loads_with_its_own_variables(tmp_path: Path) -> None:
    write(tmp_path, "apac", scaffold_yaml("apac"))
    [tenant] = load_tenants(tmp_path).values()
    assert (tenant.name, tenant.base_url_env, tenant.access_key_env) == (
        "apac",
        "APAC_GAINSIGHT_BASE_URL",
        "APAC_GAINSIGHT_ACCESS_KEY",
    )
    assert tenant.settings == Settings()  # the scaffold spells out the defaults to edit


def test_the_docs_tab_explains_the_attributes_and_the_naming_rule() -> None:
    docs = GainsightComponent.get_description() or ""
    for words in ("connection", "base_url_env", "primary_crm", "gainsight/<name>/<object>"):
        assert words in docs
    assert "dg scaffold defs gainsight_assets.GainsightComponent" in docs
