"""The tenant tag every run carries: the tenant's host, never credentials or a path."""

from __future__ import annotations

import pytest

from gainsight_assets.definitions import build_definitions
from gainsight_assets.tenant import TENANT_TAG, tenant_name
from gainsight_assets.tenants import load_settings


@pytest.mark.parametrize(
    ("url", "tenant"),
    [
        ("https://acme.gainsightcloud.com", "acme.gainsightcloud.com"),
        ("https://acme.gainsightcloud.com/", "acme.gainsightcloud.com"),
        ("https://user:secret@acme.gainsightcloud.com/v1", "acme.gainsightcloud.com"),
        ("http://127.0.0.1:8765", "127.0.0.1"),
        ("", "default"),
        ("http://[::1", "default"),
    ],
)
def test_the_tenant_is_the_host_of_the_base_url(url: str, tenant: str) -> None:
    assert tenant_name({"GAINSIGHT_BASE_URL": url}) == tenant


def test_every_job_tags_its_runs_with_the_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAINSIGHT_BASE_URL", "https://acme.gainsightcloud.com")
    defs = build_definitions(load_settings())
    jobs = [job for job in defs.resolve_all_job_defs() if not job.name.startswith("__")]
    assert len(jobs) >= 4
    assert {job.name: job.run_tags.get(TENANT_TAG) for job in jobs} == {
        job.name: "acme.gainsightcloud.com" for job in jobs
    }
