"""The Gainsight tenant a run belongs to, as a run tag.

Every job of this code location tags its runs ``gainsight/tenant=<tenant host>``. The production
instance (``deploy/dagster.postgres.yaml``) limits queued runs per value of that tag, so two runs
of one tenant never run at once (they share its API budget and its warehouse tables), while runs
of different tenants may.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

TENANT_TAG = "gainsight/tenant"
DEFAULT_TENANT = "default"


def tenant_name(env: Mapping[str, str] = os.environ) -> str:
    """The host of ``GAINSIGHT_BASE_URL`` (``acme.gainsightcloud.com``), never credentials or
    path; ``default`` when it is unset or unreadable (the run then fails on the URL itself)."""
    try:
        host = urlsplit(env.get("GAINSIGHT_BASE_URL", "").strip()).hostname
    except ValueError:
        host = None
    return host or DEFAULT_TENANT


def tenant_tags(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    return {TENANT_TAG: tenant_name(env)}
