"""Customer resolution: every Gainsight record's company key → one primary-CRM ``account_id``.

1. ``crm_id``: the Gainsight company with that Gsid carries ``company.crm_id_field`` (e.g.
   ``SfdcAccountId``) equal to an account id in the primary CRM;
2. ``gsid_field``: the account whose GSID column (``gsid_field``, or the object's override) equals
   the key, when that key is a company Gainsight has: a GSID the CRM still holds for a company
   deleted in Gainsight matches nothing (``unknown_company``);
3. otherwise the record is unmatched and kept aside with a reason, never dropped.

Rules that make the result deterministic, whatever order the inputs come in:

- **Blank is missing.** Every key is compared trimmed; an empty or whitespace-only value (a
  record's company id, an account id, an account's GSID, a company's CRM id, a usage key) is
  missing and matches nothing (reason ``missing_company_id`` for a record).
- **Exact after trimming.** Keys compare case-sensitively: Salesforce's 15-character ids differ
  by case alone, so folding case could attribute a record to another account.
- **One answer or none.** An account listed twice is one account. Two Gainsight companies that
  claim the same account both resolve to it. A key that leads to two different accounts on the
  same path (two accounts sharing one GSID value, or one Gsid carrying two CRM ids) is never
  guessed: it is unmatched with reason ``ambiguous_account``. The ``crm_id`` path wins over the
  ``gsid_field`` path when both give an answer.
- For a usage key that may hold either kind of id, an account id wins over a company GSID.

Every object builds its own directory from the accounts table and one Company query, so activities,
surveys and usage resolve correctly even when the companies asset never ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

CRM_ID = "crm_id"
GSID_FIELD = "gsid_field"
REASON_MISSING_ID = "missing_company_id"
REASON_NO_ACCOUNT = "no_primary_crm_account"
REASON_UNKNOWN_COMPANY = "unknown_company"
REASON_AMBIGUOUS = "ambiguous_account"
REASONS = (REASON_MISSING_ID, REASON_NO_ACCOUNT, REASON_UNKNOWN_COMPANY, REASON_AMBIGUOUS)
# Not a resolution outcome: the record has no id of its own, so no table can key it.
REASON_MISSING_RECORD_ID = "missing_record_id"


def key_text(expr: pl.Expr) -> pl.Expr:
    """A key as trimmed text; empty or whitespace-only becomes null (blank means missing)."""
    import polars as pl

    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text != "").then(text)


def _candidates(pairs: pl.DataFrame, method: str) -> pl.DataFrame:
    """``gs_company_id, account_id`` pairs → one row per company: its account, or ambiguous."""
    import polars as pl

    return (
        pairs.drop_nulls()
        .unique()
        .group_by("gs_company_id")
        .agg(
            pl.col("account_id").min(),
            (pl.col("account_id").n_unique() > 1).alias("ambiguous"),
        )
        .with_columns(pl.lit(method).alias("match_method"))
    )


@dataclass(frozen=True)
class AccountDirectory:
    """``gs_company_id → (account_id, match_method)``, plus what is needed to explain misses."""

    # gs_company_id (unique), account_id and match_method (null when ambiguous), ambiguous
    by_company: pl.DataFrame
    account_ids: pl.Series  # every primary-CRM account id (non-blank, unique)
    known_companies: pl.Series  # every Gainsight company Gsid (non-blank, unique)

    @classmethod
    def build(cls, accounts: pl.DataFrame, companies: pl.DataFrame) -> AccountDirectory:
        """``accounts``: ``account_id``, ``gsid``; ``companies``: ``gsid``, ``crm_id``."""
        import polars as pl

        accounts = accounts.select(
            key_text(pl.col("account_id")).alias("account_id"),
            key_text(pl.col("gsid")).alias("gsid"),
        )
        companies = companies.select(
            key_text(pl.col("gsid")).alias("gsid"), key_text(pl.col("crm_id")).alias("crm_id")
        )
        ids = accounts.select("account_id").drop_nulls().unique().sort("account_id")
        direct = _candidates(
            companies.join(ids, left_on="crm_id", right_on="account_id", how="inner").select(
                pl.col("gsid").alias("gs_company_id"), pl.col("crm_id").alias("account_id")
            ),
            CRM_ID,
        )
        known = companies.select(pl.col("gsid").drop_nulls().unique())
        fallback = _candidates(
            accounts.join(known, on="gsid", how="semi").select(
                pl.col("gsid").alias("gs_company_id"), "account_id"
            ),
            GSID_FIELD,
        )
        by_company = (
            pl.concat([direct, fallback.join(direct, on="gs_company_id", how="anti")])
            .with_columns(
                pl.when(~pl.col("ambiguous")).then(pl.col("account_id")).alias("account_id"),
                pl.when(~pl.col("ambiguous")).then(pl.col("match_method")).alias("match_method"),
            )
            .sort("gs_company_id")
        )
        return cls(
            by_company=by_company,
            account_ids=ids["account_id"],
            known_companies=companies["gsid"].drop_nulls().unique().sort(),
        )

    def resolve(self, frame: pl.DataFrame, company_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Split ``frame`` into matched rows (+``account_id``, ``match_method``) and unmatched
        rows (+``reason``), each in the frame's order; every row lands in exactly one of them.

        Only the key is looked up (a mapping over the directory, not a join of the whole frame),
        so the frame's columns are copied once, into one side or the other.
        """
        import polars as pl

        key = key_text(pl.col(company_col))
        companies = self.by_company["gs_company_id"]

        def lookup(column: str, dtype: pl.DataType) -> pl.Expr:
            return key.replace_strict(
                companies, self.by_company[column], default=None, return_dtype=dtype
            ).alias(column)

        found = frame.select(
            key.alias("_key"),
            lookup("account_id", pl.String()),
            lookup("match_method", pl.String()),
            lookup("ambiguous", pl.Boolean()),
        )
        hit = found["account_id"].is_not_null()
        matched = frame.with_columns(found["account_id"], found["match_method"]).filter(hit)
        missed = found.filter(~hit)
        reason = (
            pl.when(pl.col("_key").is_null())
            .then(pl.lit(REASON_MISSING_ID))
            .when(pl.col("ambiguous").fill_null(False))
            .then(pl.lit(REASON_AMBIGUOUS))
            .when(pl.col("_key").is_in(self.known_companies.implode()))
            .then(pl.lit(REASON_NO_ACCOUNT))
            .otherwise(pl.lit(REASON_UNKNOWN_COMPANY))
        )
        unmatched = frame.filter(~hit).with_columns(missed.select(reason.alias("reason"))["reason"])
        return matched, unmatched

    def resolve_key(self, frame: pl.DataFrame, key_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Like ``resolve``, for a key that may be an account id itself or a company GSID."""
        import polars as pl

        key = key_text(pl.col(key_col))
        is_account = key.is_in(self.account_ids.implode()).fill_null(False)
        direct = frame.filter(is_account).with_columns(
            key.alias("account_id"), pl.lit(CRM_ID).alias("match_method")
        )
        matched, unmatched = self.resolve(frame.filter(~is_account), key_col)
        return pl.concat([direct, matched], how="diagonal_relaxed"), unmatched
