"""Resolution invariants over generated inputs: blank keys, case, spaces, duplicates, collisions."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from gainsight_assets.resolve import (
    CRM_ID,
    GSID_FIELD,
    REASON_AMBIGUOUS,
    REASON_MISSING_ID,
    REASON_UNKNOWN_COMPANY,
    REASONS,
    AccountDirectory,
)

# few distinct ids, so that collisions, duplicates and case twins are common
BASE = st.sampled_from(["a1", "A1", "GS1", "gs1", "GS2"])
BLANK = st.sampled_from(["", " ", "\t", "  \n"])
PADDED = st.builds(
    lambda k, left, right: f"{left}{k}{right}",
    BASE,
    st.sampled_from(["", " "]),
    st.sampled_from(["", "  "]),
)
KEY = st.one_of(st.none(), BLANK, BASE, PADDED)


def frame(**columns: list) -> pl.DataFrame:
    return pl.DataFrame(columns, schema={name: pl.String for name in columns})


@st.composite
def world(draw):
    n_accounts = draw(st.integers(0, 6))
    n_companies = draw(st.integers(0, 6))
    accounts = frame(
        account_id=draw(st.lists(KEY, min_size=n_accounts, max_size=n_accounts)),
        gsid=draw(st.lists(KEY, min_size=n_accounts, max_size=n_accounts)),
    )
    companies = frame(
        gsid=draw(st.lists(KEY, min_size=n_companies, max_size=n_companies)),
        crm_id=draw(st.lists(KEY, min_size=n_companies, max_size=n_companies)),
    )
    records = draw(st.lists(KEY, max_size=12))
    return accounts, companies, frame(id=[f"r{i}" for i in range(len(records))], key=records)


def clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def expected(accounts: pl.DataFrame, companies: pl.DataFrame, key: str | None) -> str | None:
    """The documented rules, written plainly over Python rows: the account, or None."""
    key = clean(key)
    if key is None:
        return None
    ids = {clean(a) for a in accounts["account_id"]} - {None}
    direct = {clean(c) for g, c in companies.iter_rows() if clean(g) == key and clean(c) in ids}
    if direct:
        return direct.pop() if len(direct) == 1 else None
    if key not in {clean(g) for g in companies["gsid"]}:
        return None  # not a company Gainsight has (e.g. deleted): no GSID match
    fallback = {clean(a) for a, g in accounts.iter_rows() if clean(g) == key and clean(a)}
    return fallback.pop() if len(fallback) == 1 else None


@settings(max_examples=300, deadline=None)
@given(world())
def test_every_record_lands_once_and_where_the_rules_say(data) -> None:
    accounts, companies, records = data
    directory = AccountDirectory.build(accounts, companies)
    matched, unmatched = directory.resolve(records, "key")

    # exactly once: matched and unmatched partition the input
    assert sorted(matched["id"].to_list() + unmatched["id"].to_list()) == sorted(records["id"])
    assert matched["id"].is_unique().all() and unmatched["id"].is_unique().all()
    # the input order is kept on each side
    assert matched["id"].to_list() == [i for i in records["id"] if i in set(matched["id"])]

    want = {i: expected(accounts, companies, k) for i, k in records.iter_rows()}
    got = dict(zip(matched["id"], matched["account_id"], strict=True))
    assert got == {i: a for i, a in want.items() if a is not None}
    assert set(matched["match_method"].to_list()) <= {CRM_ID, GSID_FIELD}
    assert set(unmatched["reason"].to_list()) <= set(REASONS)
    # a key naming no Gainsight company is unknown, whatever the CRM's GSID column holds
    known = {clean(g) for g in companies["gsid"]} - {None}
    reasons = dict(zip(unmatched["id"], unmatched["reason"], strict=True))
    for i, k in records.iter_rows():
        if clean(k) is not None and clean(k) not in known:
            assert reasons[i] == REASON_UNKNOWN_COMPANY


@settings(max_examples=200, deadline=None)
@given(world())
def test_blank_keys_never_match_and_say_missing(data) -> None:
    accounts, companies, records = data
    matched, unmatched = AccountDirectory.build(accounts, companies).resolve(records, "key")
    blank = {i for i, k in records.iter_rows() if clean(k) is None}
    assert not blank & set(matched["id"])
    reasons = dict(zip(unmatched["id"], unmatched["reason"], strict=True))
    assert all(reasons[i] == REASON_MISSING_ID for i in blank)


@settings(max_examples=200, deadline=None)
@given(world(), st.randoms(use_true_random=False))
def test_input_order_does_not_change_the_answer(data, rng) -> None:
    accounts, companies, records = data
    first = AccountDirectory.build(accounts, companies).resolve(records, "key")[0]
    order = list(range(accounts.height))
    rng.shuffle(order)
    shuffled_accounts = accounts[order] if order else accounts
    order = list(range(companies.height))
    rng.shuffle(order)
    shuffled_companies = companies[order] if order else companies
    second = AccountDirectory.build(shuffled_accounts, shuffled_companies).resolve(records, "key")[
        0
    ]
    assert first.sort("id").equals(second.sort("id"))


@settings(max_examples=200, deadline=None)
@given(world())
def test_usage_keys_resolve_once_account_ids_first(data) -> None:
    accounts, companies, records = data
    directory = AccountDirectory.build(accounts, companies)
    matched, unmatched = directory.resolve_key(records, "key")
    assert sorted(matched["id"].to_list() + unmatched["id"].to_list()) == sorted(records["id"])
    ids = {clean(a) for a in accounts["account_id"]} - {None}
    for key, account in matched.select("key", "account_id").iter_rows():
        if clean(key) in ids:
            assert account == clean(key)
        else:
            assert account == expected(accounts, companies, key)


def test_ambiguity_is_reported_as_such() -> None:
    accounts = frame(account_id=["001", "002", "001"], gsid=["GS", "GS ", "GS"])
    gainsight = frame(gsid=["GS"], crm_id=[None])
    matched, unmatched = AccountDirectory.build(accounts, gainsight).resolve(
        frame(id=["r"], key=["GS"]), "key"
    )
    assert matched.height == 0 and unmatched["reason"].to_list() == [REASON_AMBIGUOUS]
    # the same account listed twice is one account, not an ambiguity
    accounts = frame(account_id=["001", " 001"], gsid=["GS", "GS"])
    matched, _ = AccountDirectory.build(accounts, gainsight).resolve(
        frame(id=["r"], key=["GS"]), "key"
    )
    assert matched["account_id"].to_list() == ["001"]
