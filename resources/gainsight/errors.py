"""Errors raised by the Gainsight client.

Every message names the Gainsight object and the request that failed and says what to do next.
None of them ever carries the access key: the client redacts it from any text it did not write.
"""

from __future__ import annotations


class GainsightError(Exception):
    """A Gainsight API call failed in a way the caller cannot retry away."""

    def __init__(
        self,
        message: str,
        *,
        object_name: str | None = None,
        request: str | None = None,
        status: int | None = None,
        error_code: str | None = None,
        error_desc: str | None = None,
    ) -> None:
        self.object_name = object_name
        self.request = request
        self.status = status
        self.error_code = error_code
        self.error_desc = error_desc
        super().__init__(message)


class GainsightConfigError(GainsightError, ValueError):
    """The resource was configured with a value the client cannot use."""


class GainsightAuthError(GainsightError):
    """Gainsight rejected the access key (HTTP 401)."""


class GainsightObjectNotFound(GainsightError):
    """The tenant does not expose the named object."""


class GainsightRequestError(GainsightError):
    """Gainsight refused the request itself (a 4xx other than 401/429)."""


class GainsightResponseError(GainsightError):
    """Gainsight answered with something that is not a well-formed API envelope."""


class GainsightRetriesExhausted(GainsightError):
    """Transient failures (5xx, timeouts, dropped connections, 429s) outlasted the retry budget."""
