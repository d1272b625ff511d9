"""Loading the code location: what it costs a process that loads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gainsight_assets.definitions import defs
from gainsight_assets.tenants import DEFS_FOLDER_ENV
from tests.tenant_folders import tenant_folder


def test_the_code_location_is_built_once_per_defs_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dagster resolves the entry point twice per load: the second call must cost nothing
    monkeypatch.delenv(DEFS_FOLDER_ENV, raising=False)
    shipped = defs()
    assert defs() is shipped

    monkeypatch.setenv(DEFS_FOLDER_ENV, str(tenant_folder(tmp_path, name="north")))
    north = defs()
    assert north is not shipped
    assert defs() is north
    jobs = {job.name for job in north.resolve_all_job_defs()}
    assert "north_gainsight_activities_sync" in jobs
    assert "gainsight_activities_sync" not in jobs
