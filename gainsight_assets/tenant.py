"""One Gainsight tenant: its settings, its connection, and the one naming rule for what it owns.

A code location may sync several tenants (an agency's customers, two companies after an
acquisition). Each one gets its own asset keys, warehouse schema, jobs, schedules, sensors,
Dagster pool and run tag, all named here:

=================  ==============================  ==========================================
what               tenant ``default``              tenant ``acme``
=================  ==============================  ==========================================
asset key          ``gainsight/activities``        ``gainsight/acme/activities``
table              ``gainsight.activities``        ``gainsight_acme.activities``
primary-CRM asset  ``primary_crm/accounts``        ``primary_crm/acme/accounts``
job, sensor, ...   ``gainsight_activities_sync``   ``acme_gainsight_activities_sync``
resource key       ``gainsight``                   ``gainsight_acme``
pool               ``gainsight_api``               ``acme_gainsight_api``
run tag            ``gainsight/tenant=default``    ``gainsight/tenant=acme``
=================  ==============================  ==========================================

The tenant named ``default`` keeps the one-tenant layout of earlier versions, so a deployment
that upgrades keeps its tables and its asset history by naming its tenant ``default``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dagster import AssetKey

from gainsight_assets.settings import Settings
from resources.warehouse import TableRef

TENANT_TAG = "gainsight/tenant"
DEFAULT_TENANT = "default"
BASE_URL_ENV = "GAINSIGHT_BASE_URL"
ACCESS_KEY_ENV = "GAINSIGHT_ACCESS_KEY"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TenantError(ValueError):
    """A tenant's name or connection setting is unusable; the message names it and the fix."""


@dataclass(frozen=True)
class Tenant:
    """A Gainsight tenant as this code location syncs it."""

    name: str = DEFAULT_TENANT
    settings: Settings = field(default_factory=Settings)
    base_url_env: str = BASE_URL_ENV  # the environment variable holding the tenant's base URL
    access_key_env: str = ACCESS_KEY_ENV  # ... and the one holding its access key

    def __post_init__(self) -> None:
        if not NAME_PATTERN.fullmatch(self.name):
            raise TenantError(
                f"tenant name '{self.name}' must be lower case letters, digits and _, starting"
                " with a letter (at most 40); rename its defs folder or set `name`"
            )
        for setting in ("base_url_env", "access_key_env"):
            value = getattr(self, setting)
            if not ENV_NAME_PATTERN.fullmatch(value):
                # the value is not repeated: it may be the key itself, pasted by mistake
                raise TenantError(
                    f"connection.{setting} is not an environment variable name; give the"
                    " variable's name (e.g. ACME_GAINSIGHT_ACCESS_KEY), never its value"
                )

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_TENANT

    def named(self, base: str) -> str:
        """A job, schedule, sensor, pool or group name of this tenant."""
        return base if self.is_default else f"{self.name}_{base}"

    @property
    def schema(self) -> str:
        return "gainsight" if self.is_default else f"gainsight_{self.name}"

    def key(self, name: str) -> AssetKey:
        """The asset key of one of the tenant's Gainsight tables."""
        prefix = ["gainsight"] if self.is_default else ["gainsight", self.name]
        return AssetKey([*prefix, name])

    def table(self, name: str) -> TableRef:
        return TableRef(self.schema, name)

    @property
    def crm_accounts_key(self) -> AssetKey:
        """The primary CRM's accounts table as this tenant's gate sees it."""
        middle = [] if self.is_default else [self.name]
        return AssetKey(["primary_crm", *middle, "accounts"])

    @property
    def resource_key(self) -> str:
        """The resource key of the tenant's :class:`GainsightResource`."""
        return "gainsight" if self.is_default else f"gainsight_{self.name}"

    @property
    def pool(self) -> str:
        """The Dagster concurrency pool every step that calls this tenant's API belongs to."""
        return self.named("gainsight_api")

    @property
    def group(self) -> str:
        return self.named("gainsight")

    @property
    def tags(self) -> dict[str, str]:
        return {TENANT_TAG: self.name}


# -- compatibility shim (component branch) ------------------------------------------------------
# objects.py and downstream.py on this branch still tag runs with the host of GAINSIGHT_BASE_URL;
# the per-tenant builders on main replace both functions with ``Tenant.tags``.


def tenant_name(env: Mapping[str, str] = os.environ) -> str:
    """The host of ``GAINSIGHT_BASE_URL``, never credentials or path; ``default`` when unset."""
    try:
        host = urlsplit(env.get(BASE_URL_ENV, "").strip()).hostname
    except ValueError:
        host = None
    return host or DEFAULT_TENANT


def tenant_tags(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    return {TENANT_TAG: tenant_name(env)}
