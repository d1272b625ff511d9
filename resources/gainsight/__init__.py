"""The Gainsight CS API: a configurable Dagster resource over a plain httpx client."""

from resources.gainsight.client import CallStats, GainsightClient, PageStream, RetryPolicy
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
