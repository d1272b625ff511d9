"""Two tenants in one code location, one of them with a revoked key.

Every job of both tenants runs against its own demo tenant (different data, different primary-CRM
tables). The tenant whose key works ends with every table complete; the other fails alone, each
failure recorded in its own ``sync_failures`` by its own failure sensor, and nothing of one tenant
lands in the other's schema.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import instance_for_test

from gainsight_assets.component import scaffold_yaml
from gainsight_assets.definitions import build_code_location
from gainsight_assets.demo.generator import generate_dataset
from gainsight_assets.demo.server import DemoTenant
from gainsight_assets.objects import enabled_objects
from gainsight_assets.partitions import partition_tags, trailing_window
from gainsight_assets.tenants import DEFS_FOLDER_ENV, load_tenants
from resources.warehouse import TableRef, WarehouseResource
from tests.assets.helpers import load_accounts
from tests.conftest import DEMO_ANCHOR, DEMO_KEY
from tests.orchestration.test_sensors import failure_tick

WRONG_KEY = "revoked-key-00112233445566"
TABLES = ("companies", "activities", "survey_responses", "product_usage")


def write_tenant(folder: Path, name: str, accounts_table: str) -> None:
    """The tenant's defs.yaml, as ``dg scaffold defs`` writes it, with its CRM table."""
    (folder / name).mkdir(parents=True)
    text = scaffold_yaml(name).replace("salesforce.account", accounts_table)
    (folder / name / "defs.yaml").write_text(text)


@pytest.fixture
def servers():
    north = DemoTenant(
        generate_dataset(companies=25, anchor=DEMO_ANCHOR, variant=11), access_key=DEMO_KEY
    )
    south = DemoTenant(
        generate_dataset(companies=25, anchor=DEMO_ANCHOR, variant=12), access_key=DEMO_KEY
    )
    with north, south:
        yield north, south


def test_a_revoked_key_fails_its_tenant_alone(
    servers, duckdb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    north_server, south_server = servers
    folder = tmp_path / "defs"
    write_tenant(folder, "north", "salesforce.account")
    write_tenant(folder, "south", "hubspot.companies")
    monkeypatch.setenv(DEFS_FOLDER_ENV, str(folder))
    monkeypatch.setenv("WAREHOUSE_URL", duckdb_url)
    tenants = load_tenants()
    north, south = tenants["north"], tenants["south"]
    load_accounts(duckdb_url, north_server.dataset.crm_accounts, "salesforce.account")
    load_accounts(duckdb_url, south_server.dataset.crm_accounts, "hubspot.companies")
    for who, server, key in ((north, north_server, DEMO_KEY), (south, south_server, WRONG_KEY)):
        monkeypatch.setenv(who.base_url_env, server.base_url)
        monkeypatch.setenv(who.access_key_env, key)
    # the code location as Dagster loads it: both tenants plus the shared warehouse
    defs = build_code_location()
    res = dict(defs.resources or {})

    outcomes: dict[tuple[str, str], object] = {}
    with instance_for_test() as instance:
        for who in (north, south):
            for obj in enabled_objects(who):
                first, last = trailing_window(obj.partitions_def, DEMO_ANCHOR, obj.spec.demo_span)
                job = defs.resolve_job_def(obj.job_name)
                result = job.execute_in_process(
                    instance=instance,
                    raise_on_error=False,
                    **(
                        {"partition_key": last}
                        if first == last
                        else {"tags": partition_tags(first, last)}
                    ),
                )
                outcomes[(who.name, obj.name)] = result
        # each tenant's failure sensor looks at every failed run of the code location
        for (name, obj_name), result in outcomes.items():
            if result.success:
                continue
            for who in (north, south):
                tick = failure_tick(
                    defs,
                    instance,
                    result.run_id,
                    res,
                    sensor_name=who.named("gainsight_failure_sensor"),
                )
                recorded = bool(tick and tick.asset_events)
                assert recorded == (who.name == name), (who.name, name, obj_name)

    assert {key: r.success for key, r in outcomes.items() if key[0] == "north"} == {
        ("north", obj.name): True for obj in enabled_objects(north)
    }
    assert not any(r.success for key, r in outcomes.items() if key[0] == "south")

    warehouse = WarehouseResource(url=duckdb_url)
    for name in TABLES:
        assert warehouse.count(north.table(name)) > 0, name
        assert not warehouse.table_exists(south.table(name)), name
    for result in (r for key, r in outcomes.items() if key[0] == "north"):
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks.get("read_in_full", True) and checks.get("unique_grain", True), checks

    failures = warehouse.read(south.table("sync_failures"))
    assert sorted(failures["job_name"]) == sorted(obj.job_name for obj in enabled_objects(south))
    assert set(failures["error_class"]) == {"GainsightAuthError"}
    assert not any(WRONG_KEY in message for message in failures["message"])
    assert not warehouse.table_exists(north.table("sync_failures"))
    assert not warehouse.table_exists(TableRef("gainsight", "sync_failures"))
