"""The demo's CRM accounts take each tenant's column names; each tenant gets other data."""

from __future__ import annotations

from gainsight_assets.demo.generator import generate_dataset
from gainsight_assets.demo.runner import FIRST_VARIANT, demo_accounts
from gainsight_assets.tenants import load_tenants


def test_each_tenant_gets_its_accounts_under_its_own_column_names() -> None:
    tenants = load_tenants()
    accounts = generate_dataset(companies=8, variant=FIRST_VARIANT).crm_accounts
    default = demo_accounts(accounts, tenants["default"].settings)
    assert default.columns == ["id", "name", "website", "gainsight_gsid_c"]
    emea = demo_accounts(accounts, tenants["emea"].settings)
    assert emea.columns == ["hs_object_id", "name", "domain", "gainsight_gsid"]
    assert emea.rename(dict(zip(emea.columns, default.columns, strict=True))).equals(default)


def test_the_second_tenants_data_differs() -> None:
    first = generate_dataset(companies=8, variant=FIRST_VARIANT).crm_accounts
    second = generate_dataset(companies=8, variant=FIRST_VARIANT + 1).crm_accounts
    assert set(first["id"]).isdisjoint(second["id"])
