"""The Dagster code location: every tenant of the defs folder, plus what they share.

Each ``gainsight_assets/defs/<tenant>/defs.yaml`` is a
:class:`~gainsight_assets.component.GainsightComponent`: Dagster loads the folder (as ``dg`` and
the UI expect), each instance builds its tenant's assets, checks, jobs, schedules, sensors and
Gainsight resource, and :func:`~gainsight_assets.tenant_definitions.shared_definitions` adds the
warehouse, its IO manager and the executor once. With ``GAINSIGHT_DEFS_FOLDER`` set, the tenants
come from that folder instead (:mod:`gainsight_assets.tenants`, the same model). A disabled object
gets no asset, job or schedule. Building definitions makes no network call and writes no file.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import dagster as dg
from dagster import Definitions, in_process_executor

from gainsight_assets.objects import OBJECT_SPECS
from gainsight_assets.pipeline import ObjectSpec
from gainsight_assets.resource_defs import build_resources, env_warehouse_url
from gainsight_assets.settings import PROJECT_ROOT, Settings
from gainsight_assets.tenant import Tenant
from gainsight_assets.tenant_definitions import build_tenant_definitions, shared_definitions
from gainsight_assets.tenants import DEFS_FOLDER_ENV, defs_folder, load_tenants

__all__ = ["build_code_location", "build_definitions", "build_resources", "defs"]


def build_definitions(
    settings: Settings,
    resources: dict | None = None,
    *,
    tenant: Tenant | None = None,
    specs: tuple[ObjectSpec, ...] = OBJECT_SPECS,
) -> Definitions:
    """One tenant's definitions with ``settings`` (tenant ``default`` unless given), and either
    the project's resources or ``resources`` (a dict like :func:`build_resources`'s, whose
    ``gainsight`` entry is the tenant's connection)."""
    tenant = (
        Tenant(settings=settings)
        if tenant is None
        else dataclasses.replace(tenant, settings=settings)
    )
    if resources is None:
        return Definitions.merge(
            build_tenant_definitions(tenant, specs=specs), shared_definitions()
        )
    resources = dict(resources)
    if tenant.resource_key not in resources and "gainsight" in resources:
        resources[tenant.resource_key] = resources.pop("gainsight")
    return Definitions.merge(
        build_tenant_definitions(tenant, with_resource=False, specs=specs),
        Definitions(executor=in_process_executor, resources=resources),
    )


def build_code_location() -> Definitions:
    """Every tenant's definitions and the shared ones: the code location ``gainsight``."""
    if os.environ.get(DEFS_FOLDER_ENV):
        tenants = load_tenants()
        return Definitions.merge(
            *(build_tenant_definitions(t) for t in tenants.values()), shared_definitions()
        )
    return Definitions.merge(
        dg.load_from_defs_folder(path_within_project=PROJECT_ROOT), shared_definitions()
    )


@functools.cache
def _code_location(folder: Path, warehouse_from_env: bool) -> Definitions:
    return build_code_location()


@dg.definitions
def defs() -> Definitions:
    """The code location, built once per process for what it is built from: the defs folder
    (``GAINSIGHT_DEFS_FOLDER``, resolved) and whether ``WAREHOUSE_URL`` is set.

    Dagster resolves this function twice when it loads a code location (once to record how to
    load it again, once to build the repository); building it once halves the load. Dagster
    reloads a code location in a new process, so an edited ``defs.yaml`` is read again there;
    :func:`build_code_location` always builds afresh.
    """
    return _code_location(defs_folder(), env_warehouse_url() is not None)
