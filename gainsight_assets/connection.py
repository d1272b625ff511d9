"""The Gainsight connection of the command line: a tenant's two environment variables
(``GAINSIGHT_BASE_URL`` and ``GAINSIGHT_ACCESS_KEY`` for tenant ``default``; the names its
``defs.yaml`` gives under ``connection`` for the others).

Shared by ``gainsight_assets.cli`` and the commands in ``gainsight_assets.operations``; it imports
neither, so the two never import each other.
"""

from __future__ import annotations

import os

from gainsight_assets.tenant import ACCESS_KEY_ENV, BASE_URL_ENV, Tenant
from resources.gainsight import GainsightConfigError, GainsightResource
from resources.gainsight.resource import check_base_url


class CliError(Exception):
    """A failure to report on stderr with exit status 1."""


def resource_from_env(tenant: Tenant | None = None) -> GainsightResource:
    """The tenant's connection (tenant ``default``'s variables when left out)."""
    tenant = Tenant() if tenant is None else tenant
    names = (tenant.base_url_env, tenant.access_key_env)
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise CliError(
            f"{' and '.join(missing)} not set. Export tenant {tenant.name}'s URL and API key, or"
            " run `gainsight-sync demo` to try the project on the local demo tenants."
        )
    try:
        base_url = check_base_url(os.environ[tenant.base_url_env])  # its message, not pydantic's
    except GainsightConfigError as exc:
        if tenant.is_default:
            raise
        message = str(exc).replace(ACCESS_KEY_ENV, tenant.access_key_env)
        raise GainsightConfigError(message.replace(BASE_URL_ENV, tenant.base_url_env)) from None
    return GainsightResource(
        base_url=base_url,
        access_key=os.environ[tenant.access_key_env],
        base_url_env=tenant.base_url_env,
    )
