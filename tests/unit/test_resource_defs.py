"""The resources dict is built in one place, and it is what every job needs."""

from __future__ import annotations

import ast
from pathlib import Path

from dagster import Definitions, EnvVar

from gainsight_assets.definitions import build_definitions
from gainsight_assets.resource_defs import build_resources
from gainsight_assets.settings import Settings
from resources.gainsight import GainsightResource
from resources.warehouse import WarehouseIOManager, WarehouseResource
from tests.assets.helpers import resources as fixture_resources

ROOT = Path(__file__).resolve().parents[2]
# Tests and benchmarks of the IO manager or the warehouse alone build those on their own.
ALONE = ("tests/warehouse/", "benchmarks/writes.py")


def test_the_code_location_loads_with_the_built_resources() -> None:
    defs = build_definitions(Settings())
    Definitions.validate_loadable(defs)
    assert set(defs.resources) == set(build_resources())


def test_left_out_the_connection_and_warehouse_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", "duckdb:///tmp/elsewhere.duckdb")
    built = build_resources()
    gainsight = built["gainsight"]
    assert isinstance(gainsight, GainsightResource)
    # EnvVars: the names are stored with the definitions, the values read when a run starts
    assert gainsight.__dict__["base_url"] == EnvVar("GAINSIGHT_BASE_URL")
    assert gainsight.__dict__["access_key"] == EnvVar("GAINSIGHT_ACCESS_KEY")
    assert built["warehouse"].__dict__["url"] == EnvVar("WAREHOUSE_URL")
    monkeypatch.delenv("WAREHOUSE_URL")
    assert build_resources()["warehouse"].url is None  # the project's DuckDB file


def test_the_tests_use_the_same_resources(tmp_path: Path) -> None:
    res = fixture_resources("http://127.0.0.1:9", "k", "duckdb:///x.duckdb", tmp_path)
    assert {key: type(value) for key, value in res.items()} == {
        "gainsight": GainsightResource,
        "warehouse": WarehouseResource,
        "warehouse_io_manager": WarehouseIOManager,
    }
    assert res["gainsight"].rate_limit_state_path == str(tmp_path / "rate.json")


def test_only_one_module_builds_the_resources_dict() -> None:
    builders = []
    for folder in ("gainsight_assets", "resources", "schedules", "sensors", "benchmarks", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(ALONE):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "WarehouseIOManager"
                ):
                    builders.append(relative)
    assert builders == ["gainsight_assets/resource_defs.py"]
