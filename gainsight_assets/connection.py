"""The Gainsight connection of the command line, from GAINSIGHT_BASE_URL and GAINSIGHT_ACCESS_KEY.

Shared by ``gainsight_assets.cli`` and the commands in ``gainsight_assets.operations``; it imports
neither, so the two never import each other.
"""

from __future__ import annotations

import os

from resources.gainsight import GainsightResource
from resources.gainsight.resource import check_base_url


class CliError(Exception):
    """A failure to report on stderr with exit status 1."""


def resource_from_env() -> GainsightResource:
    missing = [n for n in ("GAINSIGHT_BASE_URL", "GAINSIGHT_ACCESS_KEY") if not os.environ.get(n)]
    if missing:
        raise CliError(
            f"{' and '.join(missing)} not set. Export your tenant URL and API key, or run"
            " `gainsight-sync demo` to try the project on the local demo tenant."
        )
    base_url = check_base_url(os.environ["GAINSIGHT_BASE_URL"])  # its message, not pydantic's
    return GainsightResource(base_url=base_url, access_key=os.environ["GAINSIGHT_ACCESS_KEY"])
