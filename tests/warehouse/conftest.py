"""Fixtures: every warehouse test runs on a DuckDB file in tmp_path and on the real Postgres.

Postgres is the session's (the ``postgres_url`` fixture of tests/conftest.py; the ``postgres``
variant of each test carries the ``postgres`` marker). Each test gets its own schema names (``wh_<random>``), dropped afterwards with their latest-view registrations, so
tests can run repeatedly and side by side.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from warehouse_helpers import drop_schemas

from resources.warehouse import WarehouseTarget, parse_warehouse_url


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture
def target(url: str) -> WarehouseTarget:
    return parse_warehouse_url(url, lock_timeout_seconds=10)


@pytest.fixture
def new_schema(target: WarehouseTarget) -> Iterator[Callable[[str], str]]:
    """``new_schema(suffix)`` -> a fresh schema name ``wh_<random><suffix>``, dropped afterwards."""
    made: list[str] = []

    def make(suffix: str = "") -> str:
        name = f"wh_{uuid.uuid4().hex[:12]}{suffix}"
        made.append(name)
        return name

    yield make
    drop_schemas(target, made)


@pytest.fixture
def schema(new_schema: Callable[[str], str]) -> str:
    return new_schema("")
