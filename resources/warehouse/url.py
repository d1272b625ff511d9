"""Which warehouse to use: ``WAREHOUSE_URL`` parsed into a :class:`WarehouseTarget`.

Accepted forms (anything else raises :class:`WarehouseConfigError` listing them):

- unset or empty: the embedded DuckDB file ``<project root>/data/warehouse.duckdb``
  (see :func:`default_duckdb_path`); its folder is created when the file is first opened;
- ``duckdb:///absolute/path/warehouse.duckdb``: a DuckDB file at an absolute path;
- ``duckdb:relative/path/warehouse.duckdb``: a DuckDB file relative to the working directory
  (resolved when the URL is parsed; ``~`` is expanded). The file's folder must exist: a typo in
  the path is an error, not a new empty warehouse somewhere else;
- ``postgresql://user:password@host:5432/database`` (also ``postgres://`` and
  ``postgresql+psycopg://``; query parameters such as ``?sslmode=require`` are kept).

Secrets: neither a target's ``repr``/``str`` nor any error message shows a password; both go
through :func:`resources.redaction.redact` (the userinfo password, also of strings that do not
parse as URLs, and a ``password=`` parameter become ``<redacted>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from resources.redaction import redact
from resources.warehouse.errors import WarehouseConfigError

DEFAULT_LOCK_TIMEOUT_SECONDS = 120.0
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
ACCEPTED_FORMS = (
    "unset/empty (embedded DuckDB file at <project>/data/warehouse.duckdb)",
    "duckdb:///absolute/path/warehouse.duckdb",
    "duckdb:relative/path/warehouse.duckdb",
    "postgresql://user:password@host:5432/database (also postgres:// and postgresql+psycopg://)",
)


def default_duckdb_path() -> Path:
    """``<project root>/data/warehouse.duckdb``; the project root holds the ``resources`` package."""
    return Path(__file__).resolve().parents[2] / "data" / "warehouse.duckdb"


@dataclass(frozen=True, repr=False)
class WarehouseTarget:
    """Where the warehouse lives. ``repr``/``str`` show the redacted URL only.

    ``kind`` is ``"duckdb"`` (then ``path`` is set) or ``"postgres"`` (then ``conninfo`` is the
    libpq URL including the password; never log it, use :attr:`redacted`).
    """

    kind: Literal["duckdb", "postgres"]
    path: Path | None = None
    conninfo: str | None = None
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS

    @property
    def redacted(self) -> str:
        if self.kind == "duckdb":
            return f"duckdb:///{str(self.path).lstrip('/')}"
        return redact(self.conninfo or "")

    def __repr__(self) -> str:
        return f"WarehouseTarget(kind={self.kind!r}, url={self.redacted!r})"

    def __str__(self) -> str:
        return self.redacted


def parse_warehouse_url(
    url: str | None,
    *,
    default_duckdb_path: Path | None = None,
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> WarehouseTarget:
    """Turn ``WAREHOUSE_URL`` into a target (see the module docstring for the accepted forms)."""
    if lock_timeout_seconds < 0:
        raise WarehouseConfigError("lock_timeout_seconds must be >= 0.")
    text = (url or "").strip()
    if not text:
        path = default_duckdb_path if default_duckdb_path is not None else _project_default()
        return WarehouseTarget("duckdb", path=Path(path), lock_timeout_seconds=lock_timeout_seconds)
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme == "duckdb":
        return WarehouseTarget(
            "duckdb", path=_duckdb_path(text), lock_timeout_seconds=lock_timeout_seconds
        )
    if scheme in POSTGRES_SCHEMES:
        return WarehouseTarget(
            "postgres", conninfo=_postgres_conninfo(text), lock_timeout_seconds=lock_timeout_seconds
        )
    raise _rejected(text, "unknown scheme" if scheme else "no scheme")


def _project_default() -> Path:
    return default_duckdb_path()


def _rejected(url: str, problem: str) -> WarehouseConfigError:
    forms = "\n".join(f"  - {form}" for form in ACCEPTED_FORMS)
    return WarehouseConfigError(
        f"WAREHOUSE_URL {redact(url)!r} is not usable ({problem}). Accepted forms:\n{forms}"
    )


def _duckdb_path(url: str) -> Path:
    rest = url.split(":", 1)[1]
    if rest.startswith("///"):
        raw = "/" + rest[3:].lstrip("/")
    elif rest.startswith("//"):
        raise _rejected(url, "duckdb URLs take no host; use duckdb:///abs/path or duckdb:rel/path")
    else:
        raw = rest
    if "?" in raw or "#" in raw:
        raise _rejected(url, "duckdb URLs take no query string")
    if not raw or raw.endswith("/") or raw.strip() in {":memory:", "/:memory:"}:
        raise _rejected(url, "a DuckDB warehouse needs a file path")
    path = Path(raw).expanduser().resolve()
    if not path.parent.is_dir():
        raise WarehouseConfigError(
            f"WAREHOUSE_URL {redact(url)!r} names the DuckDB file {path}, but its folder"
            f" {path.parent} does not exist. Create the folder, or fix WAREHOUSE_URL."
        )
    return path


def _postgres_conninfo(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _rejected(url, "the host or port does not parse") from error
    if parts.fragment:
        raise _rejected(url, "a fragment (#...) is not allowed")
    database = parts.path.lstrip("/")
    if not database or "/" in database:
        raise _rejected(url, "the URL must name exactly one database after the host")
    if not parts.hostname and not any(key == "host" for key, _ in parse_qsl(parts.query)):
        raise _rejected(url, "the URL must name a host")
    del port  # parsed only to reject a malformed port early
    query = urlencode(parse_qsl(parts.query, keep_blank_values=True), quote_via=quote)
    return f"postgresql://{parts.netloc}/{database}" + (f"?{query}" if query else "")
