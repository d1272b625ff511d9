"""``dg`` finds the component and the tenants: ``dg list defs``, ``dg scaffold defs`` and
``dg check yaml`` as an operator runs them (subprocesses, a few seconds each)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gainsight_assets.settings import PROJECT_ROOT
from gainsight_assets.tenants import load_tenants

DG = Path(sys.executable).with_name("dg")
PACKAGES = ("gainsight_assets", "resources", "schedules", "sensors")


def dg(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DG), *args],
        cwd=cwd,
        env={**os.environ, **(env or {}), "NO_COLOR": "1", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def project_copy(tmp_path: Path) -> Path:
    """The project's packages and pyproject.toml in ``tmp_path``, importable ahead of the
    installed ones (PYTHONPATH), so scaffolding writes there and not into the repository."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root)
    for name in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    return root


@pytest.mark.timeout(240)
def test_scaffold_makes_a_tenant_that_loads_and_check_yaml_names_a_bad_key(
    tmp_path: Path,
) -> None:
    root = project_copy(tmp_path)
    env = {"PYTHONPATH": str(root)}
    made = dg("scaffold", "defs", "gainsight_assets.GainsightComponent", "apac", cwd=root, env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    path = root / "gainsight_assets" / "defs" / "apac" / "defs.yaml"
    apac = load_tenants(path.parent.parent)["apac"]
    assert (apac.base_url_env, apac.access_key_env) == (
        "APAC_GAINSIGHT_BASE_URL",
        "APAC_GAINSIGHT_ACCESS_KEY",
    )

    text = path.read_text().replace("    system: salesforce", "    system: sap")
    path.write_text(text + "  surveys:\n    respone_limit: 5\n")
    # one tenant per call: dg 1.13.27 checks only the last file of each component type
    checked = dg("check", "yaml", str(path.parent), cwd=root, env=env)
    out = checked.stdout + checked.stderr
    assert checked.returncode == 1, out
    assert "attributes.primary_crm.system 'sap' is not one of ['salesforce', 'hubspot']" in out
    assert "attributes.surveys.respone_limit Additional properties are not allowed" in out


@pytest.mark.timeout(240)
def test_dg_list_defs_lists_both_tenants() -> None:
    listed = dg("list", "defs", "--json", cwd=PROJECT_ROOT)
    assert listed.returncode == 0, listed.stderr[-3000:]
    defs = json.loads(listed.stdout)
    assets = {asset["asset_key"] for asset in defs["assets"]}
    jobs = {job["name"] for job in defs["jobs"]}
    resources = {resource["name"] for resource in defs["resources"]}
    for tenant in load_tenants().values():
        assert "/".join(tenant.key("companies").path) in assets, tenant.name
        assert tenant.named("gainsight_companies_sync") in jobs, tenant.name
        assert tenant.resource_key in resources, tenant.name
    assert {"gainsight/companies", "gainsight/emea/companies"} <= assets
    assert {"gainsight_companies_sync", "emea_gainsight_companies_sync"} <= jobs
    assert {"warehouse", "warehouse_io_manager"} <= resources
