"""The Gainsight CS API: a configurable Dagster resource over a plain httpx client.

The client (:mod:`resources.gainsight.client`, which needs httpx and Polars) is imported when one
of its names is first used, so loading definitions does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resources.gainsight.errors import (
    GainsightAuthError,
    GainsightConfigError,
    GainsightError,
    GainsightObjectNotFound,
    GainsightRequestError,
    GainsightResponseError,
    GainsightRetriesExhausted,
)
from resources.gainsight.metadata import FieldInfo, MissingFieldError, ObjectDescription, ObjectInfo
from resources.gainsight.query import and_where, window_where
from resources.gainsight.resource import GainsightResource, check_base_url

if TYPE_CHECKING:
    from resources.gainsight.client import CallStats, GainsightClient, PageStream, RetryPolicy

_CLIENT_NAMES = frozenset({"CallStats", "GainsightClient", "PageStream", "RetryPolicy"})

__all__ = [
    "CallStats",
    "FieldInfo",
    "GainsightAuthError",
    "GainsightClient",
    "GainsightConfigError",
    "GainsightError",
    "GainsightObjectNotFound",
    "GainsightRequestError",
    "GainsightResource",
    "GainsightResponseError",
    "GainsightRetriesExhausted",
    "MissingFieldError",
    "ObjectDescription",
    "ObjectInfo",
    "PageStream",
    "RetryPolicy",
    "and_where",
    "check_base_url",
    "window_where",
]


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from resources.gainsight import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_CLIENT_NAMES})
