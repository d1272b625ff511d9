"""Shared fixtures: a seeded demo tenant, a DuckDB warehouse per test, Dagster resources."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

# Tests never touch a real tenant or the developer's own instance/warehouse.
for name in ("GAINSIGHT_BASE_URL", "GAINSIGHT_ACCESS_KEY", "WAREHOUSE_URL", "GAINSIGHT_SETTINGS"):
    os.environ.pop(name, None)

DEMO_ANCHOR = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)  # a Wednesday, noon UTC
DEMO_KEY = "test-demo-access-key-7f3a"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def demo_dataset():
    from gainsight_assets.demo.generator import generate_dataset

    return generate_dataset(companies=30, anchor=DEMO_ANCHOR, seed=7)


@pytest.fixture(scope="session")
def demo_tenant(demo_dataset) -> Iterator:
    from gainsight_assets.demo.server import DemoTenant

    with DemoTenant(demo_dataset, access_key=DEMO_KEY) as tenant:
        yield tenant


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home
