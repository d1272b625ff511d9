"""The column-naming rule: examples, and properties over arbitrary field names."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gainsight_assets.naming import (
    column_name,
    custom_field_column,
    unique_columns,
    value_column,
)

# Field-like names (letters, digits, _ and the custom suffixes) and any text at all.
FIELD_NAMES = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,30}(__gc|__c)?", fullmatch=True),
    st.text(max_size=40),
)
COLUMN = re.compile(r"[0-9a-z]+(_[0-9a-z]+)*(__gc|__c)?")


@pytest.mark.parametrize(
    ("field", "column", "custom", "value"),
    [
        ("NPSScore__gc", "nps_score__gc", "cf_nps_score", "nps_score"),
        ("SfdcAccountId", "sfdc_account_id", "cf_sfdc_account_id", "sfdc_account_id"),
        ("Health_Score__gc", "health_score__gc", "cf_health_score", "health_score"),
        ("Channel__gc", "channel__gc", "cf_channel", "channel"),
        ("Session_Minutes__gc", "session_minutes__gc", "cf_session_minutes", "session_minutes"),
        ("ARR", "arr", "cf_arr", "arr"),
        ("Renewal Date (UTC)", "renewal_date_utc", "cf_renewal_date_utc", "renewal_date_utc"),
        ("__gc", "field__gc", "cf_field", "field"),
    ],
)
def test_examples(field: str, column: str, custom: str, value: str) -> None:
    assert column_name(field) == column
    assert custom_field_column(field) == custom
    assert value_column(field) == value


@given(FIELD_NAMES)
def test_the_rule_is_idempotent_and_gives_a_plain_name(name: str) -> None:
    column = column_name(name)
    assert COLUMN.fullmatch(column), column
    assert column_name(column) == column
    # the derived names agree with the rule: it does not matter which form they start from
    assert custom_field_column(column) == custom_field_column(name)
    assert value_column(column) == value_column(name)


@given(st.lists(FIELD_NAMES, max_size=12), st.randoms(use_true_random=False))
def test_unique_columns_are_distinct_and_do_not_depend_on_order(
    names: list[str], shuffle: random.Random
) -> None:
    given_names = unique_columns(names, reserved=("gsid",))
    assert list(given_names) == list(dict.fromkeys(names))
    assert len(set(given_names.values())) == len(given_names)
    assert "gsid" not in given_names.values()
    shuffled = list(names)
    shuffle.shuffle(shuffled)
    assert unique_columns(shuffled, reserved=("gsid",)) == given_names
    # a field whose name nobody else wants keeps it
    wanted = [column_name(name) for name in given_names]
    for name in given_names:
        if wanted.count(column_name(name)) == 1 and column_name(name) != "gsid":
            assert given_names[name] == column_name(name)


def test_colliding_fields_are_settled_the_same_way_every_time() -> None:
    names = ["NPSScore", "NPS_Score", "nps_score_2", "NpsScore"]
    assert unique_columns(names) == {
        "NPSScore": "nps_score",
        "NPS_Score": "nps_score_3",
        "nps_score_2": "nps_score_2",
        "NpsScore": "nps_score_4",
    }
    assert unique_columns(["Gsid", "Name"], reserved=("gsid",)) == {
        "Gsid": "gsid_2",
        "Name": "name",
    }


def test_a_renamed_column_keeps_what_was_stored_under_the_old_name(tmp_path) -> None:
    """The first run after the rule changed writes cf_nps_score; cf_npsscore keeps its values."""
    import polars as pl

    from resources.warehouse import TableRef, WarehouseResource

    warehouse = WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    table = TableRef("gainsight", "survey_responses")
    before = pl.DataFrame({"day": ["2025-03-01"], "response_id": ["R1"], "cf_npsscore": [9.0]})
    warehouse.replace(table, before, equals={"day": "2025-03-01"})
    after = pl.DataFrame(
        {"day": ["2025-03-02"], "response_id": ["R2"], custom_field_column("NPSScore__gc"): [7.0]}
    )
    warehouse.replace(table, after, equals={"day": "2025-03-02"})
    stored = warehouse.read(table).sort("day")
    assert stored.columns == ["day", "response_id", "cf_npsscore", "cf_nps_score"]
    assert stored.rows() == [("2025-03-01", "R1", 9.0, None), ("2025-03-02", "R2", None, 7.0)]
