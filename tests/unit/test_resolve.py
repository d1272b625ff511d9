"""Customer resolution: crm id first, GSID column second, unmatched kept with a reason."""

from __future__ import annotations

import polars as pl

from gainsight_assets.resolve import AccountDirectory

ACCOUNTS = pl.DataFrame(
    {
        "account_id": ["001A", "001B", "001C", "001D"],
        "gsid": [None, "GS_B", "GS_C_ONLY", "GS_D"],
    }
)
COMPANIES = pl.DataFrame(
    {
        "gsid": ["GS_A", "GS_B", "GS_C_ONLY", "GS_NOACCT", "GS_D"],
        "crm_id": ["001A", "001B", "stale-id", None, "001A"],
    }
)


def directory() -> AccountDirectory:
    return AccountDirectory.build(ACCOUNTS, COMPANIES)


def test_each_path_and_each_reason() -> None:
    records = pl.DataFrame(
        {
            "id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7"],
            "company": ["GS_A", "GS_B", "GS_C_ONLY", "GS_NOACCT", "GS_UNKNOWN", None, " GS_A "],
        }
    )
    matched, unmatched = directory().resolve(records, "company")

    assert matched.sort("id").select("id", "account_id", "match_method").rows() == [
        ("r1", "001A", "crm_id"),
        ("r2", "001B", "crm_id"),
        ("r3", "001C", "gsid_field"),
        ("r7", "001A", "crm_id"),
    ]
    assert unmatched.sort("id").select("id", "reason").rows() == [
        ("r4", "no_primary_crm_account"),
        ("r5", "unknown_company"),
        ("r6", "missing_company_id"),
    ]
    assert matched.height + unmatched.height == records.height  # nothing dropped


def test_crm_id_wins_over_gsid_column() -> None:
    # GS_D's crm id points at 001A while account 001D carries GS_D in its GSID column
    matched, _ = directory().resolve(pl.DataFrame({"company": ["GS_D"]}), "company")
    assert matched.select("account_id", "match_method").row(0) == ("001A", "crm_id")


def test_resolve_key_accepts_account_ids_and_gsids() -> None:
    frame = pl.DataFrame({"key": ["001C", "GS_B", "nobody", None]})
    matched, unmatched = directory().resolve_key(frame, "key")
    assert sorted(matched.select("key", "account_id", "match_method").rows()) == [
        ("001C", "001C", "crm_id"),
        ("GS_B", "001B", "crm_id"),
    ]
    assert sorted(unmatched["reason"].to_list()) == ["missing_company_id", "unknown_company"]


def test_two_accounts_sharing_a_gsid_are_ambiguous_not_guessed() -> None:
    accounts = pl.DataFrame({"account_id": ["001X", "001Y"], "gsid": ["GS_Z", "GS_Z"]})
    companies = pl.DataFrame(
        {"gsid": ["GS_Z"], "crm_id": [None]}, schema_overrides={"crm_id": pl.String}
    )
    matched, unmatched = AccountDirectory.build(accounts, companies).resolve(
        pl.DataFrame({"company": ["GS_Z"]}), "company"
    )
    assert matched.height == 0
    assert unmatched["reason"].to_list() == ["ambiguous_account"]
