"""Loading the code location: what it costs a process that loads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gainsight_assets.definitions import _code_location, defs
from gainsight_assets.tenants import DEFS_FOLDER_ENV
from tests.tenant_folders import tenant_folder

ROOT = Path(__file__).resolve().parents[2]
# Needed only when a run, a sensor tick or an IO manager call does work.
HEAVY = ("polars", "pyarrow", "httpx", "duckdb", "psycopg")
LOAD = f"""
import json, sys
from gainsight_assets.definitions import _code_location, defs
location = defs()
location.resolve_asset_graph()
location.resolve_all_job_defs()
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


@pytest.fixture
def fresh_cache():
    """The process-wide cache of ``defs()``, empty before the test and after it."""
    _code_location.cache_clear()
    yield
    _code_location.cache_clear()


def warehouse_url(location) -> object:
    return location.resources["warehouse"].url


def test_the_code_location_is_built_once_per_defs_folder(
    fresh_cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dagster resolves the entry point twice per load: the second call must cost nothing
    monkeypatch.delenv(DEFS_FOLDER_ENV, raising=False)
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    shipped = defs()
    assert defs() is shipped

    monkeypatch.setenv(DEFS_FOLDER_ENV, str(tenant_folder(tmp_path, name="north")))
    north = defs()
    assert north is not shipped
    assert defs() is north
    jobs = {job.name for job in north.resolve_all_job_defs()}
    assert "north_gainsight_activities_sync" in jobs
    assert "gainsight_activities_sync" not in jobs


def test_what_the_build_reads_from_the_environment_is_part_of_the_key(
    fresh_cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    folder = tenant_folder(tmp_path, name="north")
    monkeypatch.setenv(DEFS_FOLDER_ENV, str(folder))
    embedded = defs()
    assert warehouse_url(embedded) is None  # the project's DuckDB file

    # setting WAREHOUSE_URL later in the same process must not serve the embedded warehouse
    monkeypatch.setenv("WAREHOUSE_URL", f"duckdb:///{tmp_path / 'w.duckdb'}")
    configured = defs()
    assert configured is not embedded
    assert warehouse_url(configured) is not None

    # the same folder named relatively is the same code location
    monkeypatch.chdir(folder.parent)
    monkeypatch.setenv(DEFS_FOLDER_ENV, folder.name)
    assert defs() is configured


def test_loading_the_code_location_imports_no_data_library() -> None:
    # a fresh process: this test run has imported them all already
    env = {k: v for k, v in os.environ.items() if k != DEFS_FOLDER_ENV}
    done = subprocess.run(
        [sys.executable, "-c", LOAD], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
