"""Every use of Dagster's private API in the project, and why there is no public one.

1. Creating a run of the code location's job outside the webserver and the daemon. The UI
   (GraphQL ``launchRun``), the schedule and sensor daemons and ``dagster job launch`` all load the
   workspace, ask the code location for the job and its execution plan, and call
   ``DagsterInstance.create_run`` with the job's remote origin. Dagster 1.13 exposes none of that
   publicly: ``dagster job launch`` only hands the run to the run queue (it then waits for a
   daemon) and takes no partition range, and ``execute_in_process`` / ``dagster asset
   materialize`` create runs that belong to no code location (no job history, no timeline,
   degraded re-execution, no run-status sensors). :func:`open_code_location` makes the same calls
   as ``dagster job launch``; ``gainsight_assets.runs`` uses it.
2. The names of the run tags Dagster reads a partition or a partition range from; only
   ``gainsight_assets.partitions`` uses them, to tag runs the way the UI and backfills do.
3. The type of a job built by ``define_asset_job``, for type hints.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, DagsterRun
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)
from dagster._core.remote_representation.code_location import CodeLocation
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from dagster._core.workspace.context import WorkspaceProcessContext, WorkspaceRequestContext
from dagster._core.workspace.load_target import (
    ModuleTarget,
    WorkspaceFileTarget,
    WorkspaceLoadTarget,
)

__all__ = [
    "PARTITION_TAG",
    "RANGE_END_TAG",
    "RANGE_START_TAG",
    "AssetJob",
    "CodeLocationError",
    "OpenCodeLocation",
    "open_code_location",
]

PARTITION_TAG = PARTITION_NAME_TAG  # "dagster/partition"
RANGE_START_TAG = ASSET_PARTITION_RANGE_START_TAG  # "dagster/asset_partition_range_start"
RANGE_END_TAG = ASSET_PARTITION_RANGE_END_TAG  # "dagster/asset_partition_range_end"
AssetJob = UnresolvedAssetJobDefinition
MAX_OUTPUT_BYTES = 5_000_000


class CodeLocationError(Exception):
    """The code location did not load; the message is Dagster's, one paragraph."""


@dataclass
class OpenCodeLocation:
    """One loaded code location of a workspace, able to create and launch runs of its jobs."""

    instance: DagsterInstance
    workspace: WorkspaceRequestContext
    location: CodeLocation

    @property
    def name(self) -> str:
        return self.location.name

    def create_run(self, job_name: str, tags: Mapping[str, str]) -> DagsterRun:
        """A NOT_STARTED run of ``job_name``, as ``dagster job launch`` and the daemon create it:
        the remote origin of this location, the job's snapshot and plan, its own tags + ``tags``."""
        [repository] = self.location.get_repositories().values()
        remote_job = self.location.get_job(
            JobSubsetSelector(
                location_name=self.location.name,
                repository_name=repository.name,
                job_name=job_name,
                op_selection=None,
            )
        )
        plan = self.location.get_execution_plan(
            remote_job, {}, step_keys_to_execute=None, known_state=None, instance=self.instance
        )
        return self.instance.create_run(
            job_name=job_name,
            run_id=None,
            run_config={},
            resolved_op_selection=remote_job.resolved_op_selection,
            step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute,
            status=None,
            op_selection=None,
            root_run_id=None,
            parent_run_id=None,
            tags={**remote_job.tags, **tags},
            job_snapshot=remote_job.job_snapshot,
            execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            asset_selection=None,
            asset_check_selection=None,
            asset_graph=repository.asset_graph,
        )

    def launch(self, run_id: str) -> DagsterRun:
        """Hand the run to the instance's run launcher, as the run queue does when it dequeues."""
        return self.instance.launch_run(run_id, self.workspace)


@contextmanager
def open_code_location(
    instance: DagsterInstance,
    workspace_file: Path,
    location_name: str,
    *,
    module_name: str,
    output: Path | None = None,
) -> Iterator[OpenCodeLocation]:
    """Load ``location_name`` from ``workspace_file`` as the webserver does: a code server
    process of its own, which also starts the runs it is asked to launch (default launcher).
    Without the file (an installed package has no workspace.yaml) the location is
    ``module_name`` under ``location_name``, which is what the file says.

    ``output``: a file that takes the code server's (and so its runs') stdout and stderr, the
    Dagster event log among them; ``None`` leaves them on this process's terminal.
    """
    target: WorkspaceLoadTarget = (
        WorkspaceFileTarget(paths=[str(workspace_file)])
        if workspace_file.exists()
        else ModuleTarget(module_name, None, None, location_name)
    )
    with _children_output(output):
        context = WorkspaceProcessContext(instance, target, code_server_log_level="WARNING")
    with context:
        workspace = context.create_request_context()
        if workspace.has_code_location_error(location_name):
            error = workspace.get_code_location_error(location_name)
            raise CodeLocationError(error.to_string() if error else "unknown error")
        if not workspace.has_code_location(location_name):
            raise CodeLocationError(f"{workspace_file} has no code location {location_name!r}.")
        yield OpenCodeLocation(instance, workspace, workspace.get_code_location(location_name))


@contextmanager
def _children_output(path: Path | None) -> Iterator[None]:
    """Processes started inside the block write their stdout/stderr to ``path``."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > MAX_OUTPUT_BYTES:
        path.replace(path.with_name(path.name + ".1"))  # keep one previous file, no more
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
