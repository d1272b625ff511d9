"""``GainsightResource``: the one configurable connection every Gainsight asset uses.

Wire it with environment variables so the access key never lands in code or in the Dagster UI::

    GainsightResource(base_url=EnvVar("GAINSIGHT_BASE_URL"), access_key=EnvVar("GAINSIGHT_ACCESS_KEY"))

Rate limiting is shared on two levels. Across runs, on any number of machines, every Gainsight
asset of one tenant belongs to that tenant's Dagster concurrency pool (``gainsight_api`` for the
tenant ``default``, ``<tenant>_gainsight_api`` for the others; one slot each by default). The pool
lives in the Dagster instance's storage, so steps of one tenant take turns wherever their runs are
launched, while tenants run side by side. Inside one machine, every process that talks to the same
tenant URL (a run, the CLI's ``sample``, a second code location) also draws on one call budget kept
in a lock-guarded state file (``rate_limit_state_path``, by default in the system temp dir, one
file per tenant URL): that covers calls made outside any pool. A 429 still waits for the next
window and goes on.
"""

from __future__ import annotations

import hashlib
import ipaddress
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import Field, PrivateAttr, field_validator

from resources.gainsight.errors import GainsightConfigError
from resources.gainsight.metadata import ObjectDescription, ObjectInfo
from resources.gainsight.query import MAX_PAGE_SIZE, Where
from resources.gainsight.rate_limit import RateLimiter
from resources.redaction import REDACTED, redact

if TYPE_CHECKING:
    import httpx

    from resources.gainsight.client import GainsightClient, PageStream


def check_base_url(url: str) -> str:
    """https only, except plain http on a loopback host (the demo tenant and tests)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in {"http", "https"} or not host:
        raise GainsightConfigError(
            f"GAINSIGHT_BASE_URL must be your tenant's https URL, like"
            f" https://acme.gainsightcloud.com; got {_safe(url)!r}."
        )
    if parts.username or parts.password:
        raise GainsightConfigError(
            "GAINSIGHT_BASE_URL must not carry credentials; put the key in GAINSIGHT_ACCESS_KEY."
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise GainsightConfigError(
            f"GAINSIGHT_BASE_URL must use https (got http://{host}). Plain http is allowed only"
            " for a loopback host such as the local demo tenant (http://127.0.0.1:8765)."
        )
    if parts.path not in {"", "/"} or parts.query:
        raise GainsightConfigError(
            f"GAINSIGHT_BASE_URL must be the tenant root ({parts.scheme}://{parts.netloc}), without"
            f" a path such as {parts.path!r}; the client adds /v1/... itself."
        )
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` or ``::1`` (brackets allowed)."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _safe(url: str) -> str:
    return redact(url, (urlsplit(url).password,))


def refuse_key_in_run_config(context: InitResourceContext) -> None:
    """Fail a run whose config carries an access key: run config is stored with the run and
    shown in the UI, so the key comes only from the environment (``EnvVar``)."""
    run = context.dagster_run
    resources = (run.run_config.get("resources") if run is not None else None) or {}
    for name, entry in resources.items():
        config = entry.get("config") if isinstance(entry, dict) else None
        if isinstance(config, dict) and isinstance(config.get("access_key"), str):
            raise GainsightConfigError(
                f"The run config sets resources.{name}.config.access_key. The Gainsight access"
                " key must come only from the GAINSIGHT_ACCESS_KEY environment variable: run"
                " config is stored with the run and shown in the UI. Remove access_key from the"
                " launchpad, set the variable where the code location runs, and rotate the key."
            )


def default_rate_limit_state(base_url: str) -> Path:
    digest = hashlib.sha256(base_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "gainsight-dagster" / f"rate-{digest}.json"


class GainsightResource(ConfigurableResource):
    """A connection to one Gainsight CS tenant: its base URL and REST API access key."""

    base_url: str = Field(
        description="Tenant root URL, e.g. https://acme.gainsightcloud.com (env GAINSIGHT_BASE_URL)."
    )
    access_key: str = Field(
        description="Gainsight REST API access key (env GAINSIGHT_ACCESS_KEY). Never logged."
    )
    base_url_env: str = Field(
        default="GAINSIGHT_BASE_URL",
        description="The environment variable base_url comes from, named in error messages.",
    )
    page_size: int = Field(
        default=MAX_PAGE_SIZE, description="Records per query call; Gainsight's maximum is 5000."
    )
    timeout_seconds: float = Field(default=120.0, description="Read timeout of one call.")
    connect_timeout_seconds: float = Field(default=10.0, description="Connect timeout.")
    max_retries: int = Field(
        default=5, description="Retries of a call after 5xx, timeouts or dropped connections."
    )
    backoff_base_seconds: float = Field(
        default=1.0, description="First retry delay; doubles per retry, with jitter."
    )
    backoff_max_seconds: float = Field(default=60.0, description="Longest retry delay.")
    calls_per_minute: int = Field(
        default=90,
        description="Client-side call budget per rate window (Gainsight allows 100/minute).",
    )
    rate_window_seconds: float = Field(
        default=60.0, description="Length of Gainsight's fixed rate window."
    )
    max_rate_limit_waits: int = Field(
        default=20, description="How many 429 answers in a row to wait out before failing."
    )
    rate_limit_state_path: str | None = Field(
        default=None,
        description="File that shares the call budget between processes on this machine.",
    )

    _client: GainsightClient | None = PrivateAttr(default=None)
    _transport: httpx.BaseTransport | None = PrivateAttr(default=None)

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return value if isinstance(value, EnvVar) else check_base_url(value)

    @field_validator("page_size")
    @classmethod
    def _page_size(cls, value: int) -> int:
        if not 1 <= value <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE} (Gainsight's cap)")
        return value

    @field_validator("calls_per_minute", "max_retries", "max_rate_limit_waits")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, (REDACTED if name == "access_key" else value)

    # -- lifecycle --------------------------------------------------------------------------

    def setup_for_execution(self, context: InitResourceContext) -> None:
        refuse_key_in_run_config(context)
        self._client = self._build_client()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> GainsightClient:
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _build_client(self) -> GainsightClient:
        from resources.gainsight.client import GainsightClient, RetryPolicy

        base_url = check_base_url(self.base_url)
        if not self.access_key:
            raise GainsightConfigError(
                "GAINSIGHT_ACCESS_KEY is empty. Generate a key in Gainsight (Administration >"
                " Connectors 2.0 > Gainsight API) and export it."
            )
        state = (
            Path(self.rate_limit_state_path)
            if self.rate_limit_state_path
            else default_rate_limit_state(base_url)
        )
        return GainsightClient(
            base_url=base_url,
            base_url_setting=self.base_url_env,
            access_key=self.access_key,
            page_size=self.page_size,
            timeout=self.timeout_seconds,
            connect_timeout=self.connect_timeout_seconds,
            retry=RetryPolicy(
                max_retries=self.max_retries,
                backoff_base=self.backoff_base_seconds,
                backoff_max=self.backoff_max_seconds,
                max_rate_limit_waits=self.max_rate_limit_waits,
                rate_window=self.rate_window_seconds,
            ),
            limiter=RateLimiter(
                max(1, self.calls_per_minute), self.rate_window_seconds, state_path=state
            ),
            transport=self._transport,
        )

    # -- the API ----------------------------------------------------------------------------

    def list_objects(self) -> list[ObjectInfo]:
        return self.client.list_objects()

    def validate_connection(self) -> int:
        """The number of objects the tenant exposes (validates the URL and the access key)."""
        return self.client.validate_connection()

    def describe(self, object_name: str) -> ObjectDescription:
        return self.client.describe(object_name)

    def query_pages(
        self,
        object_name: str,
        select: Sequence[str],
        *,
        where: Where | None = None,
        order_by: Mapping[str, str] | None = None,
        max_records: int | None = None,
        field_types: Mapping[str, str] | None = None,
        id_field: str | None = "Gsid",
    ) -> PageStream:
        return self.client.query_pages(
            object_name,
            select,
            where=where,
            order_by=order_by,
            max_records=max_records,
            field_types=field_types,
            id_field=id_field,
        )
