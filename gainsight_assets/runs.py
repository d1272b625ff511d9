"""Starting runs: every run the CLI, the demo or a test starts is a run of the code location's job.

A run is created the way the UI and the daemon create it (the ``gainsight`` code location loaded
from the project's ``workspace.yaml``, the job's remote origin, the job's own tags plus the
partition tag, or the partition-range tags of a multi-partition run), so it shows in the job's
run history and the timeline, re-executes from the UI, and the failure sensor sees it.

It is then handed straight to the instance's run launcher, as the run queue does when it dequeues
a run: no daemon or webserver is needed, a queue without a daemon does not hold it, and a running
daemon never launches it a second time (it only launches queued runs). Runs started here are
waited for one at a time, so two of them never write the warehouse at once.

Afterwards each run is summarised from what it recorded: status, partition or range, rows written,
unmatched records, API calls, duration, partitions it could not read in full, and for a failure
the same one-line reason the failure sensor stores.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    MetadataValue,
    RunsFilter,
)

from gainsight_assets.dagster_private import (
    CodeLocationError,
    OpenCodeLocation,
    open_code_location,
)
from gainsight_assets.failures import failure_reason
from gainsight_assets.partitions import partition_tags, partition_text
from gainsight_assets.settings import PROJECT_ROOT
from resources.redaction import redact

WORKSPACE_FILE = PROJECT_ROOT / "workspace.yaml"
INSTANCE_TEMPLATE = PROJECT_ROOT / "deploy" / "dagster.yaml"
LOCATION_NAME = "gainsight"
DEFINITIONS_MODULE = "gainsight_assets.definitions"  # workspace.yaml's module for the location
POLL_SECONDS = 0.25
STATUS_WORDS = {
    DagsterRunStatus.SUCCESS: "Completed",
    DagsterRunStatus.FAILURE: "Failed",
    DagsterRunStatus.CANCELED: "Canceled",
    DagsterRunStatus.CANCELING: "Canceling",
    DagsterRunStatus.STARTED: "Running",
    DagsterRunStatus.STARTING: "Running",
    DagsterRunStatus.QUEUED: "Queued",
    DagsterRunStatus.NOT_STARTED: "Queued",
}

__all__ = [
    "CodeLocationError",
    "RunOutcome",
    "RunStarter",
    "RunTarget",
    "ensure_dagster_home",
    "run_starter",
]


@dataclass(frozen=True)
class RunTarget:
    """One run to start: a job over one partition, a range of partitions, or (neither) unpartitioned."""

    job_name: str
    first: str | None = None
    last: str | None = None
    label: str = ""  # what the operator calls it, e.g. the object's name; the job's by default

    @classmethod
    def span(cls, job_name: str, first: str, last: str, label: str = "") -> RunTarget:
        return cls(job_name, first, last, label)

    @classmethod
    def partition(cls, job_name: str, key: str, label: str = "") -> RunTarget:
        return cls(job_name, key, key, label)

    @property
    def name(self) -> str:
        return self.label or self.job_name

    @property
    def tags(self) -> dict[str, str]:
        """The tags the UI and backfills give such a run."""
        if self.first is None or self.last is None:
            return {}
        return partition_tags(self.first, self.last)


@dataclass(frozen=True)
class RunOutcome:
    """What one run did, as an operator reads it."""

    name: str
    status: str  # Completed | Failed | Canceled
    partition: str
    run_id: str | None = None
    seconds: float | None = None
    rows: int | None = None
    unmatched: int | None = None
    api_calls: int | None = None
    incomplete: tuple[str, ...] = field(default_factory=tuple)
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "Completed"

    def line(self, width: int = 14) -> str:
        """One summary line: status, partition, rows, unmatched, API calls, duration, reason."""
        parts = [f"{self.name:<{width}}", f"{self.status:<9}", f"{self.partition or '-':<35}"]
        if self.rows is not None:
            parts.append(f"rows {self.rows}")
        if self.unmatched is not None:
            parts.append(f"unmatched {self.unmatched}")
        if self.api_calls is not None:
            parts.append(f"API calls {self.api_calls}")
        if self.seconds is not None:
            parts.append(f"{self.seconds:.1f}s")
        if self.run_id:
            parts.append(f"run {self.run_id[:8]}")
        if self.incomplete:
            keys = sorted(self.incomplete)
            shown = (
                ", ".join(keys)
                if len(keys) <= 3
                else f"{len(keys)} partitions from {keys[0]} to {keys[-1]}"
            )
            parts.append(f"incomplete: {shown}")
        if self.reason:
            parts.append(self.reason)
        return "  ".join(parts).rstrip()


class RunStarter:
    """Creates, launches and waits for runs of one open code location."""

    def __init__(self, instance: DagsterInstance, location: OpenCodeLocation) -> None:
        self.instance = instance
        self.location = location

    def run(self, target: RunTarget) -> RunOutcome:
        """Start one run and wait for it; a run that cannot even start is a failed outcome."""
        try:
            run = self.location.create_run(target.job_name, target.tags)
        except Exception as exc:
            return RunOutcome(target.name, "Failed", partition_text(target.tags), reason=_one(exc))
        try:
            self.location.launch(run.run_id)
        except Exception as exc:
            return outcome_of(self.instance, run.run_id, target.name, fallback_reason=_one(exc))
        wait_for(self.instance, run.run_id)
        return outcome_of(self.instance, run.run_id, target.name)


@contextmanager
def run_starter(
    instance: DagsterInstance,
    *,
    verbose: bool = False,
    workspace_file: Path = WORKSPACE_FILE,
    location_name: str = LOCATION_NAME,
) -> Iterator[RunStarter]:
    """Open the code location (a code server process of its own) for starting runs.

    Runs print Dagster's event log to this terminal only when ``verbose``; otherwise their output
    goes to ``$DAGSTER_HOME/logs/gainsight-sync.log`` (every event is also in the UI's run view).
    """
    output = None if verbose else Path(instance.root_directory) / "logs" / "gainsight-sync.log"
    with open_code_location(
        instance, workspace_file, location_name, module_name=DEFINITIONS_MODULE, output=output
    ) as location:
        yield RunStarter(instance, location)


def ensure_dagster_home() -> Path:
    """``$DAGSTER_HOME`` (default ``.dagster_home``), with the project's local instance settings
    (``deploy/dagster.yaml``) copied into it the first time."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    return home


def wait_for(instance: DagsterInstance, run_id: str, poll: float = POLL_SECONDS) -> DagsterRun:
    """Wait until the run has finished; Ctrl-C cancels it instead of leaving it running."""
    try:
        while True:
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                return run  # type: ignore[return-value]
            time.sleep(poll)
    except KeyboardInterrupt:
        instance.run_launcher.terminate(run_id)
        raise


def outcome_of(
    instance: DagsterInstance, run_id: str, name: str, *, fallback_reason: str | None = None
) -> RunOutcome:
    """The summary of a finished run, from the run record and the events it stored."""
    [record] = instance.get_run_records(filters=RunsFilter(run_ids=[run_id]), limit=1)
    run = record.dagster_run
    status = STATUS_WORDS.get(run.status, run.status.value)
    seconds = (
        record.end_time - record.start_time
        if record.end_time is not None and record.start_time is not None
        else None
    )
    reason = None
    if run.status == DagsterRunStatus.FAILURE:
        reason = str(failure_reason(instance, run)) if fallback_reason is None else fallback_reason
    totals = materialized(instance, run_id)
    return RunOutcome(
        name=name,
        status=status,
        partition=partition_text(run.tags),
        run_id=run_id,
        seconds=seconds,
        rows=totals.get("rows"),
        unmatched=totals.get("unmatched"),
        api_calls=totals.get("api_calls"),
        incomplete=tuple(totals.get("incomplete", ())),
        reason=reason,
    )


def materialized(instance: DagsterInstance, run_id: str) -> dict[str, Any]:
    """Rows written, unmatched records, API calls and incomplete partitions of a run, summed over
    its assets. A multi-partition run records the same metadata on each partition's
    materialization, so each asset is counted once."""
    per_asset: dict[Any, Mapping[str, Any]] = {}
    for record in instance.get_records_for_run(
        run_id=run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
    ).records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is not None and materialization.asset_key not in per_asset:
            per_asset[materialization.asset_key] = {
                k: _plain(v) for k, v in materialization.metadata.items()
            }
    totals: dict[str, Any] = {}
    incomplete: list[str] = []
    for metadata in per_asset.values():
        rows = metadata.get("rows_written", metadata.get("dagster/row_count"))
        if isinstance(rows, int):
            totals["rows"] = totals.get("rows", 0) + rows
        by_reason = metadata.get("unmatched_by_reason")
        if isinstance(by_reason, dict):
            totals["unmatched"] = totals.get("unmatched", 0) + sum(by_reason.values())
        calls = metadata.get("api_calls")
        if isinstance(calls, int):
            totals["api_calls"] = totals.get("api_calls", 0) + calls
        incomplete.extend(k for k in _keys(metadata.get("incomplete_partitions")) if k)
    if incomplete:
        totals["incomplete"] = list(dict.fromkeys(incomplete))
    return totals


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, MetadataValue) else value


def _keys(value: Any) -> list[str]:
    """Partition keys from a list, or from text separated by commas or whitespace."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(k).strip() for k in value]
    return [k.strip() for k in str(value).replace(",", " ").split()]


def _one(exc: BaseException) -> str:
    """One line: the class and message of ``exc``, without a stack trace or secrets."""
    message = str(exc).split("Stack Trace:")[0]
    return " ".join(redact(f"{type(exc).__name__}: {message}").split())
