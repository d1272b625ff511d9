"""Shared fixtures: a deterministic demo tenant, a DuckDB warehouse per test, Dagster resources, and
the session's PostgreSQL.

Every test that needs PostgreSQL takes the ``postgres_url`` fixture (directly, through another
fixture, or as the ``postgres`` parameter of a fixture marked with ``pytest.mark.postgres``) and
so carries the ``postgres`` marker: ``pytest -m postgres`` runs exactly those. Which server the
fixture hands out is decided once, after collection and only if such a test was collected
(:mod:`postgres_source`); a throwaway server is started when the first of them runs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from postgres_source import NoPostgres, PostgresSource, choose
from psycopg.conninfo import conninfo_to_dict

from resources.warehouse.throwaway_postgres import ThrowawayPostgresError, throwaway_postgres

# Tests never touch a real tenant or the developer's own instance/warehouse.
for name in (
    "GAINSIGHT_BASE_URL",
    "GAINSIGHT_ACCESS_KEY",
    "EMEA_GAINSIGHT_BASE_URL",
    "EMEA_GAINSIGHT_ACCESS_KEY",
    "WAREHOUSE_URL",
    "GAINSIGHT_DEFS_FOLDER",
):
    os.environ.pop(name, None)

DEMO_ANCHOR = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)  # a Wednesday, noon UTC
DEMO_KEY = "test-demo-access-key-7f3a"
SOURCE = pytest.StashKey[PostgresSource]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: the test needs PostgreSQL (postgres_url)")


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Check the configured server before any test runs, if a selected test needs one."""
    if session.config.option.collectonly:
        return
    if any(item.get_closest_marker("postgres") for item in session.items):
        postgres_source(session.config)


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    source = config.stash.get(SOURCE, None)
    return [f"PostgreSQL for the tests: {source.description}"] if source else []


def postgres_source(config: pytest.Config) -> PostgresSource:
    if SOURCE not in config.stash:
        try:
            config.stash[SOURCE] = choose(os.environ)
        except NoPostgres as exc:
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
    return config.stash[SOURCE]


@pytest.fixture(scope="session")
def postgres_url(pytestconfig: pytest.Config) -> Iterator[str]:
    """The URL of database ``test`` on the session's PostgreSQL (tests share it: use your own
    schema or database names)."""
    source = postgres_source(pytestconfig)
    if source.url is not None:
        yield source.url
        return
    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_postgres("test"))
        except ThrowawayPostgresError as exc:
            pytest.exit(f"{source.description}: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        yield url


@pytest.fixture(scope="session")
def demo_dataset():
    from gainsight_assets.demo.generator import generate_dataset

    return generate_dataset(companies=30, anchor=DEMO_ANCHOR, variant=7)


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


@pytest.fixture(scope="module")
def dagster_db(postgres_url: str) -> Iterator[dict[str, str]]:
    """A fresh database for Dagster's own storage (runs, events, pools) on the session's
    PostgreSQL, dropped afterwards: its host, port, user, password and name."""
    name = f"dagster_test_{uuid.uuid4().hex[:12]}"
    info = conninfo_to_dict(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "host": str(info.get("host") or "127.0.0.1"),
            "port": str(info.get("port") or "5432"),
            "user": str(info.get("user") or "postgres"),
            "password": str(info.get("password") or ""),
            "db": name,
        }
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
