"""Which PostgreSQL the tests use, and the one line that stops a session pointed at none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from postgres_source import DEFAULT_URL, NoPostgres, choose

PROJECT = Path(__file__).resolve().parents[2]
# a test without PostgreSQL first: with the check put off until needed, it would run and pass
TWO_FILES = ["tests/unit/test_resolve.py", "tests/warehouse/test_warehouse_nul.py"]
MINE = "postgresql://me:hunter2@db.example:5433/mine"


def refuses(*urls: str):
    """A stand-in for the connection check: these URLs are refused, all others let in."""
    tried: list[str] = []

    def refused(url: str) -> str | None:
        tried.append(url)
        return "FATAL: no entry" if url in urls else None

    refused.tried = tried  # type: ignore[attr-defined]
    return refused


def nothing_listens(host: str, port: int) -> bool:
    return False


def something_listens(host: str, port: int) -> bool:
    assert (host, port) == ("127.0.0.1", 5432)
    return True


def test_a_set_url_is_used_when_it_answers() -> None:
    refused = refuses()
    source = choose({"TEST_POSTGRES_URL": MINE}, refused=refused, listening=nothing_listens)
    assert source.url == MINE and not source.throwaway
    assert refused.tried == [MINE]  # type: ignore[attr-defined]
    assert "hunter2" not in source.description and "TEST_POSTGRES_URL" in source.description


def test_a_set_url_that_does_not_answer_stops_with_one_line_naming_it() -> None:
    with pytest.raises(NoPostgres) as raised:
        choose({"TEST_POSTGRES_URL": MINE}, refused=refuses(MINE), listening=something_listens)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("TEST_POSTGRES_URL=postgresql://me:<redacted>@db.example:5433/mine")
    assert "FATAL: no entry" in message and "unset it" in message
    assert "hunter2" not in message


def test_unset_uses_the_default_server_when_one_answers() -> None:
    source = choose({}, refused=refuses(), listening=something_listens)
    assert source.url == DEFAULT_URL == "postgresql://postgres@127.0.0.1:5432/test"


def test_unset_with_nothing_on_the_default_address_means_a_throwaway_server() -> None:
    refused = refuses()
    source = choose({"TEST_POSTGRES_URL": " "}, refused=refused, listening=nothing_listens)
    assert source.throwaway and "nothing answers on 127.0.0.1:5432" in source.description
    assert refused.tried == []  # type: ignore[attr-defined]


def test_a_default_server_that_refuses_the_tests_stops_with_the_ways_out() -> None:
    with pytest.raises(NoPostgres) as raised:
        choose({}, refused=refuses(DEFAULT_URL), listening=something_listens)
    message = str(raised.value)
    assert "\n" not in message and DEFAULT_URL in message and "FATAL: no entry" in message
    assert "TEST_POSTGRES_URL" in message and "GAINSIGHT_TEST_POSTGRES=embedded" in message


def test_embedded_is_forced_even_with_a_server_on_the_default_address() -> None:
    refused = refuses()
    env = {"GAINSIGHT_TEST_POSTGRES": "embedded"}
    source = choose(env, refused=refused, listening=something_listens)
    assert source.throwaway and refused.tried == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GAINSIGHT_TEST_POSTGRES": "embeded"}, "GAINSIGHT_TEST_POSTGRES='embeded'"),
        (
            {"GAINSIGHT_TEST_POSTGRES": "embedded", "TEST_POSTGRES_URL": MINE},
            "TEST_POSTGRES_URL and GAINSIGHT_TEST_POSTGRES=embedded are both set",
        ),
    ],
)
def test_contradictory_settings_are_refused(env: dict[str, str], named: str) -> None:
    with pytest.raises(NoPostgres, match=named):
        choose(env, refused=refuses(), listening=something_listens)


def test_pytest_stops_at_once_with_one_line_when_the_set_url_is_down() -> None:
    env = {**os.environ, "TEST_POSTGRES_URL": "postgresql://me:hunter2@127.0.0.1:1/test"}
    env.pop("GAINSIGHT_TEST_POSTGRES", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *TWO_FILES],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output
    named = [line for line in output.splitlines() if "TEST_POSTGRES_URL" in line]
    assert len(named) == 1, output
    assert "127.0.0.1:1/test: cannot connect" in named[0] and "hunter2" not in output
    assert "Traceback" not in output and "passed" not in output  # nothing ran
