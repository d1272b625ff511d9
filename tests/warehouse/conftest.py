"""Fixtures: every warehouse test runs on a DuckDB file in tmp_path and on the real Postgres.

Postgres comes from ``TEST_POSTGRES_URL`` (default: trust auth on 127.0.0.1). Each test gets its
own schema names (``wh_<random>``), dropped afterwards with their latest-view registrations, so
tests can run repeatedly and side by side.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from warehouse_helpers import ENGINES, drop_schemas, warehouse_url

from resources.warehouse import WarehouseTarget, parse_warehouse_url


@pytest.fixture(params=ENGINES)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(kind: str, tmp_path: Path) -> str:
    return warehouse_url(kind, tmp_path)


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
