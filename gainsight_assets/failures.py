"""Why a run failed, in one line an operator can act on, with secrets removed.

The failure sensor stores this line in ``gainsight.sync_failures``; ``gainsight-sync run`` and
``gainsight-sync status`` print the same line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance, DagsterRun

from resources.redaction import redact

if TYPE_CHECKING:
    from dagster_shared.error import SerializableErrorInfo

_CLASS_PREFIX = re.compile(r"^[\w.]+(Error|Exception|Failure)[\w]*: ")
_PYDANTIC_VALUE_ERROR = re.compile(r"Value error, (.*?) \[type=", re.DOTALL)
MAX_MESSAGE = 2000


@dataclass(frozen=True)
class FailureReason:
    error_class: str  # the root exception's class, or AssetCheckFailed[<check>] for a failed check
    message: str  # one line, secrets removed

    def __str__(self) -> str:
        return f"{self.error_class}: {self.message}" if self.message else self.error_class


def failure_reason(instance: DagsterInstance, run: DagsterRun) -> FailureReason:
    """What made ``run`` fail: a failed blocking check (the primary-CRM gate) says why it failed;
    else the root cause of the first failed step, of a resource that did not start, or of the run
    itself; else the run failure's own message."""
    error_class, message = "RunFailure", ""
    for event_type in ERROR_EVENTS:
        error = _first_error(instance, run.run_id, event_type)
        if error is not None:
            while error.cause is not None:
                error = error.cause
            error_class = error.cls_name or error_class
            message = _readable(error.cls_name, error.message)
            break
    else:
        message = _run_failure_message(instance, run.run_id)
    if error_class in {"RunFailure", "DagsterAssetCheckFailedError"}:
        failed_check = _failed_check(instance, run.run_id)
        if failed_check is not None:
            error_class, message = failed_check
    one_line = " ".join(redact(message).split())
    return FailureReason(error_class, one_line[:MAX_MESSAGE])


ERROR_EVENTS = (
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.RESOURCE_INIT_FAILURE,
    DagsterEventType.RUN_FAILURE,
)


def _first_error(
    instance: DagsterInstance, run_id: str, event_type: DagsterEventType
) -> SerializableErrorInfo | None:
    for record in instance.get_records_for_run(run_id=run_id, of_type=event_type).records:
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data if event else None
        error = getattr(data, "error", None)
        if error is not None:
            return error
    return None


def _readable(cls_name: str | None, message: str) -> str:
    """The error's own words: no class prefix, and for a pydantic validation error only the
    messages the validators wrote (they name the setting and the fix)."""
    message = _CLASS_PREFIX.sub("", message.strip(), count=1)
    if cls_name == "ValidationError":
        written = _PYDANTIC_VALUE_ERROR.findall(message)
        if written:
            return " ".join(text.strip() for text in written)
    return message


def _run_failure_message(instance: DagsterInstance, run_id: str) -> str:
    records = instance.get_records_for_run(
        run_id=run_id, of_type=DagsterEventType.RUN_FAILURE
    ).records
    return records[-1].event_log_entry.message if records else ""


def _failed_check(instance: DagsterInstance, run_id: str) -> tuple[str, str] | None:
    """The name and description of the first check of the run that failed with ERROR severity."""
    records = instance.get_records_for_run(
        run_id=run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if (
            evaluation is not None
            and not evaluation.passed
            and evaluation.severity == AssetCheckSeverity.ERROR
        ):
            return f"AssetCheckFailed[{evaluation.check_name}]", evaluation.description or ""
    return None
