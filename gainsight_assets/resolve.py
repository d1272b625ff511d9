"""Customer resolution: every Gainsight record's ``GsCompanyId`` → a primary-CRM ``account_id``.

1. ``crm_id``: the Gainsight company with that Gsid carries ``company.crm_id_field`` (e.g.
   ``SfdcAccountId``) equal to an account id in the primary CRM;
2. ``gsid_field``: the account whose GSID column (``gsid_field``, or the object's override) equals
   the ``GsCompanyId``;
3. otherwise the record is unmatched and kept aside with a reason, never dropped.

Every object builds its own directory from the accounts table and one Company query, so activities,
surveys and usage resolve correctly even when the companies asset never ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

CRM_ID = "crm_id"
GSID_FIELD = "gsid_field"
REASON_MISSING_ID = "missing_company_id"
REASON_NO_ACCOUNT = "no_primary_crm_account"
REASON_UNKNOWN_COMPANY = "unknown_company"


@dataclass(frozen=True)
class AccountDirectory:
    """``gs_company_id → (account_id, match_method)``, plus what is needed to explain misses."""

    by_company: pl.DataFrame  # gs_company_id, account_id, match_method (unique gs_company_id)
    account_ids: pl.Series  # every primary-CRM account id
    known_companies: pl.Series  # every Gainsight company Gsid

    @classmethod
    def build(cls, accounts: pl.DataFrame, companies: pl.DataFrame) -> AccountDirectory:
        """``accounts``: ``account_id``, ``gsid``; ``companies``: ``gsid``, ``crm_id``."""
        accounts = accounts.with_columns(
            pl.col("account_id").cast(pl.String).str.strip_chars(),
            pl.col("gsid").cast(pl.String).str.strip_chars(),
        )
        companies = companies.with_columns(
            pl.col("gsid").cast(pl.String), pl.col("crm_id").cast(pl.String).str.strip_chars()
        )
        ids = accounts.select("account_id").drop_nulls().unique()
        direct = (
            companies.drop_nulls(["gsid", "crm_id"])
            .join(ids, left_on="crm_id", right_on="account_id", how="inner")
            .select(
                pl.col("gsid").alias("gs_company_id"),
                pl.col("crm_id").alias("account_id"),
                pl.lit(CRM_ID).alias("match_method"),
            )
        )
        fallback = accounts.drop_nulls(["gsid", "account_id"]).select(
            pl.col("gsid").alias("gs_company_id"),
            "account_id",
            pl.lit(GSID_FIELD).alias("match_method"),
        )
        by_company = pl.concat(
            [
                direct.sort("gs_company_id", "account_id"),
                fallback.sort("gs_company_id", "account_id"),
            ]
        ).unique("gs_company_id", keep="first", maintain_order=True)
        return cls(
            by_company=by_company,
            account_ids=ids["account_id"],
            known_companies=companies["gsid"].drop_nulls().unique(),
        )

    def resolve(self, frame: pl.DataFrame, company_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Split ``frame`` into matched rows (+``account_id``, ``match_method``) and unmatched
        rows (+``reason``), each in the frame's order.

        Only the key is looked up (a mapping over the directory, not a join of the whole frame),
        so the frame's columns are copied once, into one side or the other.
        """
        key = pl.col(company_col).cast(pl.String).str.strip_chars()
        companies = self.by_company["gs_company_id"]

        def lookup(column: str) -> pl.Expr:
            return key.replace_strict(
                companies, self.by_company[column], default=None, return_dtype=pl.String
            ).alias(column)

        found = frame.select(key.alias("_gs_key"), lookup("account_id"), lookup("match_method"))
        hit = found["account_id"].is_not_null()
        matched = frame.with_columns(found["account_id"], found["match_method"]).filter(hit)
        gs_key = found["_gs_key"].filter(~hit)
        reason = (
            pl.when(gs_key.is_null() | (gs_key == ""))
            .then(pl.lit(REASON_MISSING_ID))
            .when(gs_key.is_in(self.known_companies.implode()))
            .then(pl.lit(REASON_NO_ACCOUNT))
            .otherwise(pl.lit(REASON_UNKNOWN_COMPANY))
            .alias("reason")
        )
        unmatched = frame.filter(~hit).with_columns(reason)
        return matched, unmatched

    def resolve_key(self, frame: pl.DataFrame, key_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Like ``resolve``, for a key that may be an account id itself or a company GSID."""
        key = pl.col(key_col).cast(pl.String).str.strip_chars()
        is_account = key.is_in(self.account_ids.implode())
        direct = frame.filter(is_account).with_columns(account_id=key, match_method=pl.lit(CRM_ID))
        matched, unmatched = self.resolve(frame.filter(~is_account | key.is_null()), key_col)
        return pl.concat([direct, matched], how="diagonal_relaxed"), unmatched
