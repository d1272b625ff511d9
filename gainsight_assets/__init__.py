"""Dagster assets that sync Gainsight CS into a warehouse; ``GainsightComponent`` is one tenant.

The component is imported on first use, so that ``import gainsight_assets.<module>`` (the demo
tenant's server, the command line) does not load Dagster's component machinery.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GainsightComponent"]


def __getattr__(name: str) -> Any:
    if name == "GainsightComponent":
        from gainsight_assets.component import GainsightComponent

        return GainsightComponent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
