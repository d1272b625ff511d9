"""Pydantic models of Gainsight's JSON envelopes, and the rules that read them.

Gainsight wraps every answer in ``{"result", "errorCode", "errorDesc", "requestId", "data",
"message"}``. Query results come either as ``data.records`` (custom objects, timeline) or as a bare
``data`` list (the Company read sample), and "no rows" has three spellings: an empty
``data.records``, ``result: false`` with ``GSOBJ_1XXX`` "No data found for given criteria", and
HTTP 400 ``GSOBJ_1011`` "No entity matches the given criteria". This module turns all of them into
one answer: a list of record dicts, possibly empty.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# errorCodes (and errorDesc fragments) that mean "the query matched nothing", not "it failed".
NO_DATA_CODES = frozenset({"GSOBJ_1XXX", "GSOBJ_1011"})
NO_DATA_PHRASES = ("no data found", "no entity matches")
# errorCodes that mean "slow down" even when the HTTP status says otherwise.
RATE_LIMIT_CODES = frozenset({"GU_2400", "GS_APIG_2404"})
AUTH_CODES = frozenset({"GS_APIG_2401", "GSOBJ_1024"})


class MalformedEnvelope(ValueError):
    """The body parsed as JSON but is not a Gainsight envelope of the expected shape."""


class Envelope(BaseModel):
    """The outer shape shared by every Gainsight REST answer."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    result: bool | None = None
    error_code: str | None = Field(default=None, alias="errorCode")
    error_desc: str | None = Field(default=None, alias="errorDesc")
    request_id: str | None = Field(default=None, alias="requestId")
    message: str | None = None
    title: str | None = None
    detail: str | None = None
    data: Any = None

    @classmethod
    def parse(cls, payload: Any) -> Envelope:
        if not isinstance(payload, dict):
            raise MalformedEnvelope(f"expected a JSON object, got {type(payload).__name__}")
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            fields = ", ".join(str(err["loc"][0]) for err in exc.errors() if err["loc"])
            raise MalformedEnvelope(f"unexpected types for {fields or 'envelope fields'}") from exc

    @property
    def describes_no_data(self) -> bool:
        if self.error_code in NO_DATA_CODES:
            return True
        text = f"{self.error_desc or ''} {self.message or ''}".lower()
        return any(phrase in text for phrase in NO_DATA_PHRASES)

    @property
    def is_rate_limited(self) -> bool:
        return self.error_code in RATE_LIMIT_CODES

    @property
    def explanation(self) -> str:
        """Gainsight's own words about a failure, as ``errorCode: errorDesc``."""
        code = self.error_code or self.title or "no errorCode"
        desc = self.error_desc or self.detail or self.message or "no errorDesc"
        return f"{code}: {desc}"


def query_records(envelope: Envelope) -> list[dict[str, Any]]:
    """The records of a query answer; ``[]`` for each of Gainsight's empty-result forms."""
    if envelope.result is False:
        if envelope.describes_no_data:
            return []
        raise MalformedEnvelope(f"result is false ({envelope.explanation})")
    data = envelope.data
    if data is None:
        return []
    if isinstance(data, dict):
        if not data:
            return []
        if "records" not in data:
            raise MalformedEnvelope("data is an object without a 'records' list")
        data = data["records"]
        if data is None:
            return []
    if not isinstance(data, list):
        raise MalformedEnvelope(f"data.records is a {type(data).__name__}, not a list")
    if any(not isinstance(record, dict) for record in data):
        raise MalformedEnvelope("data.records holds an entry that is not a JSON object")
    return data


def data_list(envelope: Envelope, what: str) -> list[dict[str, Any]]:
    """``data`` of a metadata answer, which is always a list of objects."""
    if envelope.result is False:
        raise MalformedEnvelope(f"result is false ({envelope.explanation})")
    data = envelope.data
    if isinstance(data, dict):  # tolerate {"records": [...]} and a single unwrapped entry
        data = data.get("records", data.get(what, [data] if "objectName" in data else None))
    if not isinstance(data, list) or any(not isinstance(item, dict) for item in data):
        raise MalformedEnvelope(f"data is not a list of {what}")
    return data
