"""The tenant naming rule: every tenant owns its keys, tables, jobs, pool and run tag."""

from __future__ import annotations

import pytest
from dagster import Definitions
from hypothesis import given
from hypothesis import strategies as st

from gainsight_assets.definitions import build_definitions
from gainsight_assets.settings import Settings
from gainsight_assets.tenant import DEFAULT_TENANT, TENANT_TAG, Tenant, TenantError
from gainsight_assets.tenant_definitions import build_tenant_definitions, shared_definitions

names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def owned(tenant: Tenant) -> set[str]:
    """Every name the tenant's definitions hold: asset keys, tables, check keys, jobs,
    schedules, sensors, resources, pools and groups."""
    defs = build_tenant_definitions(tenant)
    repo = Definitions.merge(defs, shared_definitions()).get_repository_def()
    assets = [a for a in repo.asset_graph.asset_nodes]
    found = {f"key:{node.key.to_user_string()}" for node in assets}
    found |= {f"check:{key.to_user_string()}" for key in repo.asset_graph.asset_check_keys}
    found |= {f"table:{node.metadata.get('dagster/table_name')}" for node in assets}
    found |= {f"job:{job.name}" for job in repo.get_all_jobs() if not job.name.startswith("__")}
    found |= {f"schedule:{s.name}" for s in repo.schedule_defs}
    found |= {f"sensor:{s.name}" for s in repo.sensor_defs}
    found |= {f"resource:{key}" for key in defs.resources or {}}
    found |= {f"pool:{node.pools and sorted(node.pools)}" for node in assets if node.pools}
    found |= {f"group:{node.group_name}" for node in assets}
    found.discard("table:None")
    return found


def test_the_default_tenant_keeps_the_one_tenant_layout() -> None:
    tenant = Tenant()
    assert tenant.key("activities").to_user_string() == "gainsight/activities"
    assert str(tenant.table("activities")) == "gainsight.activities"
    assert tenant.crm_accounts_key.to_user_string() == "primary_crm/accounts"
    assert tenant.named("gainsight_activities_sync") == "gainsight_activities_sync"
    assert (tenant.resource_key, tenant.pool, tenant.tags) == (
        "gainsight",
        "gainsight_api",
        {TENANT_TAG: DEFAULT_TENANT},
    )


def test_another_tenant_gets_its_own_prefix_schema_and_names() -> None:
    tenant = Tenant(name="acme")
    assert tenant.key("activities").to_user_string() == "gainsight/acme/activities"
    assert str(tenant.table("activities")) == "gainsight_acme.activities"
    assert tenant.crm_accounts_key.to_user_string() == "primary_crm/acme/accounts"
    assert tenant.named("gainsight_activities_sync") == "acme_gainsight_activities_sync"
    assert (tenant.resource_key, tenant.pool) == ("gainsight_acme", "acme_gainsight_api")


@given(first=names, second=names)
def test_two_tenants_share_nothing_but_their_names_rule(first: str, second: str) -> None:
    """Whatever two tenants are called, nothing one owns is owned by the other (a shared key,
    table, job or pool would mix their data or their API budgets)."""
    if first == second:
        return
    mine, theirs = Tenant(name=first), Tenant(name=second)
    plain = {
        tenant.name: {
            str(tenant.table("activities")),
            tenant.key("activities").to_user_string(),
            tenant.crm_accounts_key.to_user_string(),
            tenant.named("gainsight_activities_sync"),
            tenant.resource_key,
            tenant.pool,
            tenant.group,
        }
        for tenant in (mine, theirs)
    }
    assert not plain[first] & plain[second]


def test_the_definitions_of_two_tenants_do_not_overlap() -> None:
    acme = owned(Tenant(name="acme", base_url_env="ACME_URL", access_key_env="ACME_KEY"))
    globex = owned(Tenant(name="globex", base_url_env="GLOBEX_URL", access_key_env="GLOBEX_KEY"))
    assert any(name.startswith("table:gainsight_acme.") for name in acme)
    assert any(name.startswith("pool:") for name in acme)
    assert not acme & globex


def test_every_job_tags_its_runs_with_its_tenant() -> None:
    defs = build_definitions(Settings(), tenant=Tenant(name="acme"))
    jobs = [job for job in defs.resolve_all_job_defs() if not job.name.startswith("__")]
    assert len(jobs) >= 4
    assert {job.name: job.run_tags.get(TENANT_TAG) for job in jobs} == {
        job.name: "acme" for job in jobs
    }


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"name": "Acme"}, "tenant name 'Acme'"),
        ({"name": "acme-east"}, "tenant name 'acme-east'"),
        ({"name": ""}, "tenant name ''"),
        ({"access_key_env": "sk_live 123"}, "connection.access_key_env"),
        ({"base_url_env": "https://acme.gainsightcloud.com"}, "connection.base_url_env"),
    ],
)
def test_a_bad_name_is_refused_with_the_fix(fields: dict, named: str) -> None:
    with pytest.raises(TenantError, match=f"^{named}") as raised:
        Tenant(**fields)
    assert "\n" not in str(raised.value)
    assert "sk_live" not in str(raised.value)  # a key pasted by mistake is never repeated
