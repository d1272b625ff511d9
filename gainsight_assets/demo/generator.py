"""Deterministic, columnar generator of a demo Gainsight CS tenant's data.

Every large column is derived from a row index with Polars' hash (``pl.col("i").hash(salt)``), so
ten million rows generate in seconds and the same variant and anchor always give the same data
(for one Polars version: Polars only promises stable hashes within a version). ``random.Random``
is used only for the few picklist option ids.

All dates fall in ``[anchor - days, anchor)`` and are stored as Int64 epoch milliseconds (UTC);
DATE fields sit on midnight UTC. Objects and their describe payloads come from one table of
``ObjectSpec``\\s, so a frame's columns and its describe ``fields`` never disagree.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import product
from typing import Any

import polars as pl

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
GSID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SFDC_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SFDC_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
DATE_TYPES = frozenset({"DATE", "DATETIME"})
NUMBER_TYPES = frozenset({"NUMBER", "CURRENCY", "PERCENTAGE"})
SYSTEM_FIELDS = frozenset({"Gsid", "CreatedDate", "ModifiedDate", "LastModifiedDate"})

# Share of companies per CRM match kind, in tenths: 8 matched by id, 1 GSID-only, 1 unmatched.
MATCHED_TENTHS = 8
ORPHAN_ACTIVITY_RATE = 0.03
# Share of usage rows keyed by their company's GSID instead of its Salesforce id (mixed keys,
# as tenants that backfilled usage from Gainsight have): both resolve to the same account. The
# usage of companies that only the CRM's GSID column links is always keyed by GSID.
GSID_KEYED_USAGE_RATE = 0.10


# -- object and field specs --------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One field of a demo object, as describe reports it."""

    name: str
    data_type: str
    label: str | None = None
    lookup: str | None = None  # lowercase objectName a GSID/LOOKUP field points at
    options: tuple[str, ...] = ()  # picklist labels, in display order

    @property
    def group(self) -> str:
        if self.name in SYSTEM_FIELDS:
            return "SYSTEM"
        return "CUSTOM" if self.name.endswith(("__gc", "__c")) else "STANDARD"


@dataclass(frozen=True)
class ObjectSpec:
    """One demo object: its canonical name, describe header and fields."""

    name: str
    label: str
    object_type: str
    key_prefix: str
    fields: tuple[FieldSpec, ...]

    @property
    def object_name(self) -> str:
        return self.name.lower()

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def _f(name: str, data_type: str, **kwargs: Any) -> FieldSpec:
    return FieldSpec(name, data_type, **kwargs)


GSID = _f("Gsid", "GSID", label="GSID")
CREATED = _f("CreatedDate", "DATETIME", label="Created Date")
MODIFIED = _f("ModifiedDate", "DATETIME", label="Modified Date")
COMPANY_REF = _f("GsCompanyId", "GSID", label="Company ID", lookup="company")

STAGES = ("New Customer", "Kicked Off", "Launched", "Adopting", "Mature")
STATUSES = ("Active", "Inactive", "Churn")
COMPANY_TYPES = ("Customer", "Partner", "Prospect", "Vendor")

COMPANY = ObjectSpec(
    "Company",
    "Company",
    "STANDARD",
    "1P02",
    (
        GSID,
        _f("Name", "STRING"),
        _f("SfdcAccountId", "SFDCID", label="SFDC Account ID"),
        _f("Arr", "CURRENCY", label="ARR"),
        _f("Mrr", "CURRENCY", label="MRR"),
        _f("Employees", "NUMBER"),
        _f("Industry", "STRING"),
        _f("Stage", "PICKLIST", options=STAGES),
        _f("Status", "PICKLIST", options=STATUSES),
        _f("CompanyType", "PICKLIST", label="Company Type", options=COMPANY_TYPES),
        _f("RenewalDate", "DATE", label="Renewal Date"),
        _f("Csm", "LOOKUP", label="CSM", lookup="gsuser"),
        _f("Tier__gc", "STRING", label="Tier"),
        _f("Health_Score__gc", "NUMBER", label="Health Score"),
        _f("Onboarding_Complete__gc", "BOOLEAN", label="Onboarding Complete"),
        CREATED,
        MODIFIED,
    ),
)
ACTIVITY = ObjectSpec(
    "activity_timeline",
    "Activity Timeline",
    "STANDARD",
    "1T01",
    (
        GSID,
        _f("Subject", "STRING"),
        _f("Notes", "RICHTEXTAREA"),
        _f("NotesPlainText", "STRING", label="Notes Plain Text"),
        _f("ActivityDate", "DATETIME", label="Activity Date"),
        _f("TypeName", "STRING", label="Type Name"),
        _f("ReportingCategory", "STRING", label="Reporting Category"),
        _f("ContextName", "STRING", label="Context Name"),
        COMPANY_REF,
        _f("AuthorId", "GSID", label="Author", lookup="gsuser"),
        _f("DurationInMins", "NUMBER", label="Duration In Mins"),
        _f("Ant__Sentiment__c", "STRING", label="Sentiment"),
        CREATED,
        _f("LastModifiedDate", "DATETIME", label="Last Modified Date"),
    ),
)
SURVEY = ObjectSpec(
    "survey_response",
    "Survey Response",
    "CUSTOM",
    "1P0S",
    (
        GSID,
        COMPANY_REF,
        _f("SurveyType", "STRING", label="Survey Type"),
        _f("Score", "NUMBER"),
        _f("QuestionText", "STRING", label="Question Text"),
        _f("AnswerText", "STRING", label="Answer Text"),
        _f("RespondedDate", "DATETIME", label="Responded Date"),
        _f("ParticipantEmail", "EMAIL", label="Participant Email"),
        _f("Channel__gc", "STRING", label="Channel"),
        _f("Language__gc", "STRING", label="Language"),
        CREATED,
        MODIFIED,
    ),
)
NPS = ObjectSpec(
    "nps_survey_response",
    "NPS Survey Response",
    "CUSTOM",
    "1P0N",
    (
        GSID,
        COMPANY_REF,
        _f("NpsScore", "NUMBER", label="NPS Score"),
        _f("Comment", "STRING"),
        _f("Question", "STRING"),
        _f("SubmittedDate", "DATETIME", label="Submitted Date"),
        _f("RespondentEmail", "EMAIL", label="Respondent Email"),
        CREATED,
        MODIFIED,
    ),
)
CSAT = ObjectSpec(
    "csat_survey_response",
    "CSAT Survey Response",
    "CUSTOM",
    "1P0C",
    (
        GSID,
        COMPANY_REF,
        _f("CsatRating", "NUMBER", label="CSAT Rating"),
        _f("Feedback__gc", "STRING", label="Feedback"),
        _f("Prompt__gc", "STRING", label="Prompt"),
        _f("ResponseDate", "DATETIME", label="Response Date"),
        _f("Email", "EMAIL"),
        CREATED,
        MODIFIED,
    ),
)
USAGE = ObjectSpec(
    "product_usage__gc",
    "Product Usage",
    "CUSTOM",
    "1P0U",
    (
        GSID,
        COMPANY_REF,
        _f("AccountId", "SFDCID", label="Account ID"),
        _f("UsageDate", "DATE", label="Usage Date"),
        _f("MetricName", "STRING", label="Metric Name"),
        _f("MetricValue", "NUMBER", label="Metric Value"),
        _f("Feature", "STRING"),
        _f("Seats__gc", "NUMBER", label="Seats"),
        _f("Session_Minutes__gc", "NUMBER", label="Session Minutes"),
        CREATED,
        MODIFIED,
    ),
)
GSUSER = ObjectSpec(
    "gsuser",
    "User",
    "STANDARD",
    "1P01",
    (
        GSID,
        _f("Name", "STRING"),
        _f("FirstName", "STRING", label="First Name"),
        _f("LastName", "STRING", label="Last Name"),
        _f("Email", "EMAIL"),
        _f("IsActiveUser", "BOOLEAN", label="Is Active User"),
        CREATED,
        MODIFIED,
    ),
)
RELATIONSHIP = ObjectSpec(
    "relationship",
    "Relationship",
    "STANDARD",
    "1P05",
    (
        GSID,
        _f("Name", "STRING"),
        _f("CompanyId", "GSID", label="Company", lookup="company"),
        _f("TypeId", "GSID", label="Relationship Type"),
        CREATED,
        MODIFIED,
    ),
)
CTA = ObjectSpec(
    "call_to_action",
    "Call To Action",
    "STANDARD",
    "1S01",
    (
        GSID,
        _f("Name", "STRING"),
        _f("CompanyId", "GSID", label="Company", lookup="company"),
        _f("Priority", "STRING"),
        _f("DueDate", "DATE", label="Due Date"),
        CREATED,
        MODIFIED,
    ),
)
PERSON = ObjectSpec(
    "person",
    "Person",
    "STANDARD",
    "1C01",
    (
        GSID,
        _f("FirstName", "STRING", label="First Name"),
        _f("LastName", "STRING", label="Last Name"),
        _f("Email", "EMAIL"),
        CREATED,
        MODIFIED,
    ),
)
DELETE_LOG = ObjectSpec(
    "record_delete_log",
    "Record Delete Log",
    "STANDARD",
    "1D01",
    (
        GSID,
        _f("ObjectName", "STRING", label="Object Name"),
        _f("RecordId", "STRING", label="Record ID"),
        _f("DeletedOn", "DATETIME", label="Deleted On"),
    ),
)
OBJECT_SPECS: tuple[ObjectSpec, ...] = (
    COMPANY,
    ACTIVITY,
    SURVEY,
    NPS,
    CSAT,
    USAGE,
    GSUSER,
    RELATIONSHIP,
    CTA,
    PERSON,
    DELETE_LOG,
)
PICKLIST_ITEM_PREFIX = "1I00"
COMPANY_OPTIONS = {f.name: f.options for f in COMPANY.fields if f.options}

# -- vocabulary ---------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


BRANDS = _words(
    "Acme Apex Beacon Bluebird Brightline Cascade Cobalt Crescent Driftwood Ember "
    "Evergreen Falcon Granite Harbor Helix Ironwood Juniper Keystone Lumen Meridian "
    "Northwind Orchid Pinnacle Quartz Redwood Sapphire Summit Tidewater Vertex Willow"
)
SECTORS = _words(
    "Analytics Logistics Health Robotics Foods Energy Labs Systems Bank Media Retail "
    "Software Insurance Motors Networks Pharma"
)
INDUSTRIES = (
    "Software",
    "Healthcare",
    "Financial Services",
    "Manufacturing",
    "Retail",
    "Education",
    "Media",
    "Logistics",
)
FIRST_NAMES = _words(
    "Ava Ben Chloe Diego Emma Farah Gabe Hana Ivan Jade Kofi Lena Mateo Nina Omar Priya "
    "Quinn Rosa Sam Tara Umar Vera"
)
LAST_NAMES = _words(
    "Adams Baker Chen Diaz Evans Fischer Garcia Haddad Ito Jones Khan Lopez Moreau "
    "Nakamura Okafor Patel Rossi Silva Tanaka"
)
# (TypeName, weight, case variants of ReportingCategory). Escalation, Milestone and Webinar are
# outside the default category map on purpose.
ACTIVITY_KINDS = (
    ("Email", 30, ("Email", "email", "EMAIL")),
    ("Meeting", 25, ("Meeting", "meeting")),
    ("Call", 15, ("Call", "call")),
    ("Update", 15, ("Update", "update")),
    ("Risk", 5, ("Risk", "RISK")),
    ("Escalation", 4, ("Escalation",)),
    ("Milestone", 3, ("Milestone", "milestone")),
    ("Webinar", 3, ("Webinar",)),
)
TIMED_KINDS = ("Meeting", "Call", "Webinar", "Escalation")
SUBJECTS = (
    "Quarterly business review",
    "Renewal check-in",
    "Onboarding kickoff",
    "Support follow-up",
    "Executive sponsor sync",
    "Feature request discussion",
    "Adoption review",
    "Pricing conversation",
    "Health check",
    "Training session",
)
NOTES = (
    "Customer is happy with the rollout.",
    "Discussed expansion to two more teams.",
    "Raised concerns about report performance.",
    "Agreed on next steps for the renewal.",
    "Champion is leaving; need a new sponsor.",
    "Walked through the new dashboards.",
    "Usage dropped after the holidays.",
    "Asked for SSO and audit logs.",
)
SENTIMENTS = ("Positive", "Neutral", "Negative", None)
SURVEY_TYPES = (  # (type, weight, lowest score, score count, question)
    ("NPS", 5, 0, 11, "How likely are you to recommend us to a friend or colleague?"),
    ("CSAT", 3, 1, 5, "How satisfied are you with our support?"),
    ("CES", 2, 1, 7, "How easy was it to get your issue resolved?"),
)
ANSWERS = (
    "Great product, the team is very responsive.",
    "Reporting could be faster.",
    "Onboarding took longer than expected.",
    "Love the new dashboards!",
    "Support solved my issue in one day.",
    "Pricing is hard to understand.",
    None,
    None,
)
CHANNELS = ("Email", "In-App", "Web Link", "SMS")
LANGUAGES = ("en", "en", "en", "en", "de", "fr", "es", "ja")
METRICS = (  # (MetricName, largest value)
    ("logins", 200),
    ("api_calls", 50_000),
    ("reports_created", 30),
    ("active_users", 500),
)
FEATURES = ("dashboards", "exports", "integrations", "admin")
TIERS = ("Enterprise", "Mid-Market", "SMB")
PRIORITIES = ("High", "Medium", "Low")


# -- the dataset --------------------------------------------------------------------------------


@dataclass
class DemoDataset:
    """Everything the demo tenant serves, plus the primary CRM's accounts for the gate."""

    objects: dict[str, pl.DataFrame]
    describe: dict[str, dict[str, Any]]
    crm_accounts: pl.DataFrame
    anchor: datetime
    _by_folded_name: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in self.objects:
            self._by_folded_name[name.casefold()] = name

    def resolve(self, object_name: str) -> str | None:
        """The canonical name of an object, matched case-insensitively (as Gainsight does)."""
        return self._by_folded_name.get(object_name.casefold())

    def field_types(self, object_name: str) -> dict[str, str]:
        """Field name -> Gainsight dataType of one object."""
        return {f["fieldName"]: f["dataType"] for f in self.describe[object_name]["fields"]}

    def without(self, *object_names: str) -> DemoDataset:
        """The same data without some objects (a tenant that lacks them)."""
        dropped = {self.resolve(name) for name in object_names}
        return DemoDataset(
            objects={n: f for n, f in self.objects.items() if n not in dropped},
            describe={n: d for n, d in self.describe.items() if n not in dropped},
            crm_accounts=self.crm_accounts,
            anchor=self.anchor,
        )

    def counts(self) -> dict[str, int]:
        return {name: frame.height for name, frame in self.objects.items()}


def generate_dataset(
    *,
    companies: int = 40,
    activities_per_company: int = 12,
    surveys_per_company: int = 6,
    usage_rows_per_company: int = 40,
    days: int = 35,
    anchor: datetime | None = None,
    variant: int = 7,
) -> DemoDataset:
    """A deterministic demo tenant: ``companies`` companies and per-company child records.

    ``variant`` picks one of the generator's datasets: each gives other ids, names and values.
    """
    sizes = {
        "companies": companies,
        "activities_per_company": activities_per_company,
        "surveys_per_company": surveys_per_company,
        "usage_rows_per_company": usage_rows_per_company,
    }
    for name, value in sizes.items():
        if value < 0:
            raise ValueError(f"{name} must be 0 or more, got {value}")
    if days < 1:
        raise ValueError(f"days must be 1 or more, got {days}")
    ctx = _Context.create(variant=variant, anchor=_utc_anchor(anchor), days=days)
    picklists = _picklist_ids(ctx.variant)
    users = _users(ctx, max(3, min(50, companies // 8 + 3)))
    company_base = _company_base(ctx, companies, users["Gsid"], picklists)
    objects = {
        "Company": company_base.select(COMPANY.field_names),
        "activity_timeline": _activities(ctx, company_base, users["Gsid"], activities_per_company),
        "survey_response": _surveys(ctx, company_base, surveys_per_company),
        "nps_survey_response": _nps(ctx, company_base, (surveys_per_company + 1) // 2),
        "csat_survey_response": _csat(ctx, company_base, (surveys_per_company + 2) // 3),
        "product_usage__gc": _usage(ctx, company_base, usage_rows_per_company),
        "gsuser": users,
        "relationship": _empty(RELATIONSHIP),
        "call_to_action": _ctas(ctx, company_base, companies // 4),
        "person": _empty(PERSON),
        # Deletions the tenant applies (DemoTenant.delete) are logged here, as Gainsight does.
        "record_delete_log": _empty(DELETE_LOG),
    }
    describe = {spec.name: describe_payload(spec, picklists) for spec in OBJECT_SPECS}
    return DemoDataset(
        objects=objects,
        describe=describe,
        crm_accounts=_crm_accounts(ctx, company_base),
        anchor=ctx.anchor,
    )


def _utc_anchor(anchor: datetime | None) -> datetime:
    if anchor is None:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return anchor.replace(tzinfo=UTC) if anchor.tzinfo is None else anchor.astimezone(UTC)


# -- hash-based randomness ----------------------------------------------------------------------


def _salt(variant: int, name: str) -> int:
    return (variant * 0x9E3779B1 + zlib.crc32(name.encode())) % (1 << 62)


@dataclass(frozen=True)
class _Rand:
    """Pseudo-random columns over the row index ``i``; each salt gives an independent column."""

    variant: int  # every random stream of the dataset derives from it

    def bits(self, salt: str, index: pl.Expr | None = None) -> pl.Expr:
        return (pl.col("i") if index is None else index).hash(_salt(self.variant, salt))

    def below(self, salt: str, bound: int | pl.Expr) -> pl.Expr:
        """Int64 in ``[0, bound)``; ``bound`` may be a column (every value must be >= 1)."""
        return (self.bits(salt) // 2).cast(pl.Int64) % bound

    def chance(self, salt: str, probability: float) -> pl.Expr:
        return self.bits(salt) % 1_000_000 < round(probability * 1_000_000)

    def uniform(self, salt: str) -> pl.Expr:
        return (self.bits(salt) // 2048).cast(pl.Float64) / float(1 << 53)

    def pick(
        self, salt: str, values: Sequence[Any], weights: Sequence[int] | None = None
    ) -> pl.Expr:
        """One of ``values`` per row, with optional integer weights."""
        weights = weights or [1] * len(values)
        table = [v for v, w in zip(values, weights, strict=True) for _ in range(w)]
        return pl.lit(_series(table)).gather(self.bits(salt) % len(table))

    def between(self, salt: str, start: int | pl.Expr, end: int | pl.Expr) -> pl.Expr:
        """An Int64 in ``[start, end)``; needs ``end > start`` on every row."""
        return start + self.below(salt, end - start)


def _series(values: Sequence[Any]) -> pl.Series:
    if any(isinstance(v, str) for v in values):
        return pl.Series(values, dtype=pl.String)
    return pl.Series(values)


@cache
def _chunk_table(alphabet: str, width: int) -> pl.Series:
    return pl.Series(["".join(p) for p in product(alphabet, repeat=width)], dtype=pl.String)


def _encode(value: pl.Expr, width: int, alphabet: str) -> pl.Expr:
    """``value`` (0 <= value < len(alphabet) ** width) as ``width`` digits, most significant first.

    Digits are looked up a few at a time in a table of every 2- or 3-digit string.
    """
    chunk = 3 if len(alphabet) ** 3 <= 50_000 else 2
    table = _chunk_table(alphabet, chunk)
    base = len(alphabet) ** chunk
    chunks = math.ceil(width / chunk)
    parts = [pl.lit(table).gather((value // base**k) % base) for k in reversed(range(chunks))]
    return pl.concat_str(parts).str.slice(chunks * chunk - width)


def _permute(index: pl.Expr, modulus: int, salt: int) -> pl.Expr:
    """A bijection of ``[0, modulus)``: distinct rows keep distinct values, but look scattered."""
    multiplier = 2_654_435_761  # odd and not a multiple of 3 or 31: coprime to 36**k and 62**k
    return (index.cast(pl.UInt64) * multiplier + salt % modulus) % modulus


def gsid_expr(rand: _Rand, key_prefix: str, index: pl.Expr, salt: str) -> pl.Expr:
    """36-character GSIDs: the key prefix, 24 hashed characters and 8 that make each row unique."""
    base = len(GSID_ALPHABET)
    middle = 36 - len(key_prefix) - 12 - 8
    return pl.concat_str(
        pl.lit(key_prefix),
        _encode(rand.bits(f"{salt}:a", index) % base**12, 12, GSID_ALPHABET),
        _encode(rand.bits(f"{salt}:b", index) % base**middle, middle, GSID_ALPHABET),
        _encode(_permute(index, base**8, _salt(rand.variant, salt)), 8, GSID_ALPHABET),
    )


def sfdc_id_expr(rand: _Rand, index: pl.Expr, pod: str) -> pl.Expr:
    """18-character Salesforce account ids (``001`` + pod + 13 characters), unique per index."""
    return pl.concat_str(
        pl.lit(f"001{pod}0000"),
        _encode(
            _permute(index, len(SFDC_ALPHABET) ** 6, _salt(rand.variant, "sfdc")),
            6,
            SFDC_ALPHABET,
        ),
        _encode(rand.bits(f"sfdc:{pod}", index) % 32**3, 3, SFDC_SUFFIX_ALPHABET),
    )


# -- time window --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    variant: int  # every random stream of the dataset derives from it
    anchor: datetime
    start_ms: int
    end_ms: int
    first_day_ms: int
    day_count: int
    rand: _Rand

    @classmethod
    def create(cls, *, variant: int, anchor: datetime, days: int) -> _Context:
        end_ms = int(anchor.timestamp() * 1000)
        start_ms = end_ms - days * DAY_MS
        first_day_ms = -(-start_ms // DAY_MS) * DAY_MS
        day_count = -(-(end_ms - first_day_ms) // DAY_MS)
        return cls(
            variant=variant,
            anchor=anchor,
            start_ms=start_ms,
            end_ms=end_ms,
            first_day_ms=first_day_ms,
            day_count=day_count,
            rand=_Rand(variant=variant),
        )

    def moment(self, salt: str) -> pl.Expr:
        """A datetime (epoch ms) anywhere in the window."""
        return self.rand.between(salt, self.start_ms, self.end_ms)

    def day(self, salt: str) -> pl.Expr:
        """A date (midnight UTC, epoch ms) in the window."""
        return self.first_day_ms + self.rand.below(salt, self.day_count) * DAY_MS

    def after(self, salt: str, earlier: pl.Expr, at_most_ms: int | None = None) -> pl.Expr:
        """A datetime in ``[earlier, anchor)``, at most ``at_most_ms`` after ``earlier``."""
        room = pl.lit(self.end_ms) - earlier
        if at_most_ms is not None:
            room = pl.min_horizontal(room, pl.lit(at_most_ms))
        return earlier + self.rand.below(salt, room)

    def modified(self, salt: str, created: pl.Expr, unchanged_rate: float = 0.6) -> pl.Expr:
        """Equal to ``created`` for most rows, some hours or days later for the rest."""
        later = self.after(f"{salt}:later", created)
        return (
            pl.when(self.rand.chance(f"{salt}:same", unchanged_rate)).then(created).otherwise(later)
        )


def _rows(n: int) -> pl.DataFrame:
    return pl.DataFrame({"i": pl.int_range(n, eager=True, dtype=pl.Int64)})


def _children(n: int, companies: int) -> pl.DataFrame:
    """Row index plus the owning company's index, spread evenly over the companies."""
    frame = _rows(n)
    return frame.with_columns((pl.col("i") % max(companies, 1)).alias("company"))


def _of_company(company_base: pl.DataFrame, column: str) -> pl.Expr:
    return pl.lit(company_base[column]).gather(pl.col("company"))


def _empty(spec: ObjectSpec) -> pl.DataFrame:
    dtypes = {"NUMBER": pl.Float64, "BOOLEAN": pl.Boolean, "DATE": pl.Int64, "DATETIME": pl.Int64}
    return pl.DataFrame(schema={f.name: dtypes.get(f.data_type, pl.String) for f in spec.fields})


# -- picklists ----------------------------------------------------------------------------------


def _picklist_ids(variant: int) -> dict[str, dict[str, str]]:
    """Picklist field -> {"__category__": category GSID, label: option GSID}."""
    rng = random.Random(variant)

    def gsid() -> str:
        return PICKLIST_ITEM_PREFIX + "".join(rng.choices(GSID_ALPHABET, k=32))

    ids: dict[str, dict[str, str]] = {}
    for spec in OBJECT_SPECS:
        for fld in spec.fields:
            if fld.options:
                ids[fld.name] = {"__category__": gsid(), **{label: gsid() for label in fld.options}}
    return ids


def _option_values(picklists: dict[str, dict[str, str]], name: str) -> list[str]:
    return [picklists[name][label] for label in COMPANY_OPTIONS[name]]


# -- objects ------------------------------------------------------------------------------------


def _users(ctx: _Context, n: int) -> pl.DataFrame:
    rand = ctx.rand
    first = rand.pick("user:first", FIRST_NAMES)
    last = rand.pick("user:last", LAST_NAMES)
    created = ctx.moment("user:created")
    return _rows(n).select(
        gsid_expr(rand, GSUSER.key_prefix, pl.col("i"), "gsuser").alias("Gsid"),
        pl.concat_str(first, pl.lit(" "), last).alias("Name"),
        first.alias("FirstName"),
        last.alias("LastName"),
        pl.concat_str(
            first.str.to_lowercase(),
            pl.lit("."),
            last.str.to_lowercase(),
            pl.col("i").cast(pl.String),
            pl.lit("@demo-vendor.example.com"),
        ).alias("Email"),
        rand.chance("user:active", 0.9).alias("IsActiveUser"),
        created.alias("CreatedDate"),
        ctx.modified("user:modified", created).alias("ModifiedDate"),
    )


def _company_base(
    ctx: _Context, n: int, user_ids: pl.Series, picklists: dict[str, dict[str, str]]
) -> pl.DataFrame:
    """Company columns plus helpers: match kind, slug, seats (dropped from the served object)."""
    rand = ctx.rand
    offset = ctx.variant % len(BRANDS)
    brand_index = (pl.col("i") + offset) % len(BRANDS)
    sector_index = (pl.col("i") // len(BRANDS)) % len(SECTORS)
    brand = pl.lit(_series(BRANDS)).gather(brand_index)
    sector = pl.lit(_series(SECTORS)).gather(sector_index)
    repeat = pl.col("i") // (len(BRANDS) * len(SECTORS))
    name = pl.concat_str(brand, pl.lit(" "), sector)
    name = (
        pl.when(repeat > 0)
        .then(pl.concat_str(name, pl.lit(" "), (repeat + 1).cast(pl.String)))
        .otherwise(name)
    )
    slug = pl.concat_str(brand.str.to_lowercase(), pl.lit("-"), pl.col("i").cast(pl.String))
    arr = (rand.below("co:arr", 4_950) * 100 + 5_000).cast(pl.Float64)
    created = ctx.moment("co:created")
    frame = _rows(n).with_columns(
        gsid_expr(rand, COMPANY.key_prefix, pl.col("i"), "company").alias("Gsid"),
        name.alias("Name"),
        slug.alias("slug"),
        # Rank of a hash: exactly 80% / 10% / 10% of companies per match kind.
        ((rand.bits("co:kind").rank("ordinal").cast(pl.Int64) - 1) * 10 // max(n, 1)).alias(
            "tenth"
        ),
        rand.chance("co:half", 0.5).alias("half"),
        arr.alias("Arr"),
        (arr / 12).round(2).alias("Mrr"),
        (rand.below("co:employees", 5_000) + 10).alias("Employees"),
        rand.pick("co:industry", INDUSTRIES).alias("Industry"),
        rand.pick("co:stage", _option_values(picklists, "Stage"), [2, 2, 3, 4, 4]).alias("Stage"),
        rand.pick("co:status", _option_values(picklists, "Status"), [16, 2, 2]).alias("Status"),
        rand.pick("co:type", _option_values(picklists, "CompanyType"), [14, 3, 2, 1]).alias(
            "CompanyType"
        ),
        ctx.day("co:renewal").alias("RenewalDate"),
        pl.when(rand.chance("co:no_csm", 0.05))
        .then(None)
        .otherwise(pl.lit(user_ids).gather(rand.bits("co:csm") % len(user_ids)))
        .alias("Csm"),
        rand.pick("co:tier", TIERS, [2, 3, 5]).alias("Tier__gc"),
        (rand.below("co:health", 101)).cast(pl.Float64).alias("Health_Score__gc"),
        rand.chance("co:onboarded", 0.7).alias("Onboarding_Complete__gc"),
        (rand.below("co:seats", 496) + 5).alias("seats"),
        created.alias("CreatedDate"),
    )
    return frame.with_columns(
        _sfdc_account_id(rand, n).alias("SfdcAccountId"),
        ctx.modified("co:modified", pl.col("CreatedDate")).alias("ModifiedDate"),
    )


def _sfdc_account_id(rand: _Rand, n: int) -> pl.Expr:
    """Matched companies carry their account's id; the others a null or a stale id."""
    real = sfdc_id_expr(rand, pl.col("i"), "5g")
    stale = sfdc_id_expr(rand, pl.col("i") + n, "8X")
    return (
        pl.when(pl.col("tenth") < MATCHED_TENTHS)
        .then(real)
        .when(pl.col("half"))
        .then(stale)
        .otherwise(None)
    )


def _crm_accounts(ctx: _Context, company_base: pl.DataFrame) -> pl.DataFrame:
    """The primary CRM's accounts: matched by id, GSID-only, and accounts without a company."""
    n = company_base.height
    rand = ctx.rand
    website = pl.concat_str(pl.lit("https://"), pl.col("slug"), pl.lit(".example.com"))
    matched = company_base.filter(pl.col("tenth") < MATCHED_TENTHS).select(
        pl.col("SfdcAccountId").alias("id"),
        pl.col("Name").alias("name"),
        website.alias("website"),
        pl.when(rand.chance("crm:carries_gsid", 0.5))
        .then(pl.col("Gsid"))
        .otherwise(None)
        .alias("gainsight_gsid_c"),
    )
    gsid_only = company_base.filter(pl.col("tenth") == MATCHED_TENTHS).select(
        sfdc_id_expr(rand, pl.col("i") + n, "5g").alias("id"),
        pl.concat_str(pl.col("Name"), pl.lit(", Inc.")).alias("name"),
        website.alias("website"),
        pl.col("Gsid").alias("gainsight_gsid_c"),
    )
    extra = _rows(max(2, n // 20)).select(
        sfdc_id_expr(rand, pl.col("i") + 2 * n, "5g").alias("id"),
        pl.concat_str(rand.pick("crm:brand", BRANDS), pl.lit(" Prospects "), pl.col("i")).alias(
            "name"
        ),
        pl.concat_str(pl.lit("https://prospect-"), pl.col("i"), pl.lit(".example.com")).alias(
            "website"
        ),
        pl.lit(None, dtype=pl.String).alias("gainsight_gsid_c"),
    )
    return pl.concat([matched, gsid_only, extra]).sort("id")


def _email(first: pl.Expr, last: pl.Expr, company_base: pl.DataFrame) -> pl.Expr:
    return pl.concat_str(
        first.str.to_lowercase(),
        pl.lit("."),
        last.str.to_lowercase(),
        pl.lit("@"),
        _of_company(company_base, "slug"),
        pl.lit(".example.com"),
    )


def _activities(
    ctx: _Context, company_base: pl.DataFrame, user_ids: pl.Series, per_company: int
) -> pl.DataFrame:
    rand = ctx.rand
    n = company_base.height * per_company
    kinds = [k[0] for k in ACTIVITY_KINDS]
    kind_index = rand.pick("act:kind", range(len(kinds)), [k[1] for k in ACTIVITY_KINDS])
    variants = [(i, v) for i, k in enumerate(ACTIVITY_KINDS) for v in k[2]]
    # One row per (kind, variant); pick a variant of the row's kind by a hashed offset.
    variant_start = [
        next(j for j, (i, _) in enumerate(variants) if i == k) for k in range(len(ACTIVITY_KINDS))
    ]
    variant_count = [len(k[2]) for k in ACTIVITY_KINDS]
    variant = pl.lit(pl.Series(variant_start)).gather(kind_index) + rand.below(
        "act:variant", pl.lit(pl.Series(variant_count)).gather(kind_index)
    )
    type_name = pl.lit(_series(kinds)).gather(kind_index)
    plain = pl.concat_str(rand.pick("act:note1", NOTES), pl.lit(" "), rand.pick("act:note2", NOTES))
    orphan = gsid_expr(rand, COMPANY.key_prefix, pl.col("i") + company_base.height, "company")
    activity = ctx.moment("act:date")
    frame = _children(n, company_base.height).with_columns(
        gsid_expr(rand, ACTIVITY.key_prefix, pl.col("i"), "activity").alias("Gsid"),
        pl.concat_str(rand.pick("act:subject", SUBJECTS), pl.lit(" #"), pl.col("i") + 1).alias(
            "Subject"
        ),
        pl.concat_str(pl.lit("<p>"), plain, pl.lit("</p>")).alias("Notes"),
        plain.alias("NotesPlainText"),
        activity.alias("ActivityDate"),
        type_name.alias("TypeName"),
        pl.lit(_series([v for _, v in variants])).gather(variant).alias("ReportingCategory"),
        pl.lit("Company").alias("ContextName"),
        pl.when(rand.chance("act:orphan", ORPHAN_ACTIVITY_RATE))
        .then(orphan)
        .otherwise(_of_company(company_base, "Gsid"))
        .alias("GsCompanyId"),
        pl.lit(user_ids).gather(rand.bits("act:author") % len(user_ids)).alias("AuthorId"),
        pl.when(type_name.is_in(TIMED_KINDS))
        .then(rand.pick("act:duration", (15, 30, 45, 60, 90)))
        .otherwise(None)
        .cast(pl.Float64)
        .alias("DurationInMins"),
        rand.pick("act:sentiment", SENTIMENTS).alias("Ant__Sentiment__c"),
    )
    frame = frame.with_columns(
        ctx.after("act:created", pl.col("ActivityDate"), 2 * DAY_MS).alias("CreatedDate")
    )
    return frame.with_columns(
        ctx.modified("act:modified", pl.col("CreatedDate")).alias("LastModifiedDate")
    ).select(ACTIVITY.field_names)


def _survey_kind(rand: _Rand, salt: str) -> pl.Expr:
    return rand.pick(salt, range(len(SURVEY_TYPES)), [t[1] for t in SURVEY_TYPES])


def _answered(ctx: _Context, salt: str, answered: str) -> list[pl.Expr]:
    """The answered-at column and a CreatedDate up to an hour later."""
    answered_at = ctx.moment(f"{salt}:answered")
    return [
        answered_at.alias(answered),
        ctx.after(f"{salt}:created", answered_at, HOUR_MS).alias("CreatedDate"),
    ]


def _finish(frame: pl.DataFrame, ctx: _Context, salt: str, spec: ObjectSpec) -> pl.DataFrame:
    """Add ModifiedDate (>= CreatedDate) and keep the object's fields, in describe order."""
    modified = ctx.modified(f"{salt}:modified", pl.col("CreatedDate"), unchanged_rate=0.8)
    return frame.with_columns(modified.alias("ModifiedDate")).select(spec.field_names)


def _respondent(rand: _Rand, salt: str, company_base: pl.DataFrame) -> pl.Expr:
    return _email(
        rand.pick(f"{salt}:first", FIRST_NAMES),
        rand.pick(f"{salt}:last", LAST_NAMES),
        company_base,
    )


def _surveys(ctx: _Context, company_base: pl.DataFrame, per_company: int) -> pl.DataFrame:
    rand = ctx.rand
    kind = rand.pick("srv:type", range(len(SURVEY_TYPES)), [t[1] for t in SURVEY_TYPES])
    low = pl.lit(pl.Series([t[2] for t in SURVEY_TYPES])).gather(kind)
    span = pl.lit(pl.Series([t[3] for t in SURVEY_TYPES])).gather(kind)
    frame = _children(company_base.height * per_company, company_base.height).with_columns(
        gsid_expr(rand, SURVEY.key_prefix, pl.col("i"), "survey").alias("Gsid"),
        _of_company(company_base, "Gsid").alias("GsCompanyId"),
        pl.lit(_series([t[0] for t in SURVEY_TYPES])).gather(kind).alias("SurveyType"),
        (low + rand.below("srv:score", span)).cast(pl.Float64).alias("Score"),
        pl.lit(_series([t[4] for t in SURVEY_TYPES])).gather(kind).alias("QuestionText"),
        rand.pick("srv:answer", ANSWERS).alias("AnswerText"),
        *_answered(ctx, "srv", "RespondedDate"),
        _respondent(rand, "srv", company_base).alias("ParticipantEmail"),
        rand.pick("srv:channel", CHANNELS).alias("Channel__gc"),
        rand.pick("srv:language", LANGUAGES).alias("Language__gc"),
    )
    return _finish(frame, ctx, "srv", SURVEY)


def _nps(ctx: _Context, company_base: pl.DataFrame, per_company: int) -> pl.DataFrame:
    rand = ctx.rand
    frame = _children(company_base.height * per_company, company_base.height).with_columns(
        gsid_expr(rand, NPS.key_prefix, pl.col("i"), "nps").alias("Gsid"),
        _of_company(company_base, "Gsid").alias("GsCompanyId"),
        rand.below("nps:score", 11).cast(pl.Float64).alias("NpsScore"),
        rand.pick("nps:comment", ANSWERS).alias("Comment"),
        pl.lit(SURVEY_TYPES[0][4]).alias("Question"),
        *_answered(ctx, "nps", "SubmittedDate"),
        _respondent(rand, "nps", company_base).alias("RespondentEmail"),
    )
    return _finish(frame, ctx, "nps", NPS)


def _csat(ctx: _Context, company_base: pl.DataFrame, per_company: int) -> pl.DataFrame:
    rand = ctx.rand
    frame = _children(company_base.height * per_company, company_base.height).with_columns(
        gsid_expr(rand, CSAT.key_prefix, pl.col("i"), "csat").alias("Gsid"),
        _of_company(company_base, "Gsid").alias("GsCompanyId"),
        (rand.below("csat:rating", 5) + 1).cast(pl.Float64).alias("CsatRating"),
        rand.pick("csat:feedback", ANSWERS).alias("Feedback__gc"),
        pl.lit(SURVEY_TYPES[1][4]).alias("Prompt__gc"),
        *_answered(ctx, "csat", "ResponseDate"),
        _respondent(rand, "csat", company_base).alias("Email"),
    )
    return _finish(frame, ctx, "csat", CSAT)


def _usage(ctx: _Context, company_base: pl.DataFrame, per_company: int) -> pl.DataFrame:
    rand = ctx.rand
    metric = rand.below("use:metric", len(METRICS))
    largest = pl.lit(pl.Series([m[1] for m in METRICS])).gather(metric)
    usage_day = ctx.day("use:day")
    frame = _children(company_base.height * per_company, company_base.height).with_columns(
        gsid_expr(rand, USAGE.key_prefix, pl.col("i"), "usage").alias("Gsid"),
        _of_company(company_base, "Gsid").alias("GsCompanyId"),
        pl.when(
            rand.chance("use:gsid_key", GSID_KEYED_USAGE_RATE)
            | (_of_company(company_base, "tenth") == MATCHED_TENTHS)
        )
        .then(_of_company(company_base, "Gsid"))
        .otherwise(_of_company(company_base, "SfdcAccountId"))
        .alias("AccountId"),
        usage_day.alias("UsageDate"),
        pl.lit(_series([m[0] for m in METRICS])).gather(metric).alias("MetricName"),
        rand.below("use:value", largest + 1).cast(pl.Float64).alias("MetricValue"),
        rand.pick("use:feature", FEATURES).alias("Feature"),
        _of_company(company_base, "seats").cast(pl.Float64).alias("Seats__gc"),
        (rand.uniform("use:minutes") * 600).round(1).alias("Session_Minutes__gc"),
    )
    frame = frame.with_columns(
        ctx.after("use:created", pl.col("UsageDate"), DAY_MS).alias("CreatedDate")
    )
    return frame.with_columns(
        ctx.modified("use:modified", pl.col("CreatedDate"), unchanged_rate=0.9).alias(
            "ModifiedDate"
        )
    ).select(USAGE.field_names)


def _ctas(ctx: _Context, company_base: pl.DataFrame, n: int) -> pl.DataFrame:
    rand = ctx.rand
    created = ctx.moment("cta:created")
    return _children(n, company_base.height).select(
        gsid_expr(rand, CTA.key_prefix, pl.col("i"), "cta").alias("Gsid"),
        pl.concat_str(rand.pick("cta:name", SUBJECTS), pl.lit(" (CTA)")).alias("Name"),
        _of_company(company_base, "Gsid").alias("CompanyId"),
        rand.pick("cta:priority", PRIORITIES).alias("Priority"),
        ctx.day("cta:due").alias("DueDate"),
        created.alias("CreatedDate"),
        ctx.modified("cta:modified", created).alias("ModifiedDate"),
    )


# -- describe -----------------------------------------------------------------------------------


def describe_payload(spec: ObjectSpec, picklists: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The ``data[0]`` of ``GET /v1/meta/services/objects/{object}/describe``."""
    return {
        "objectName": spec.object_name,
        "label": spec.label,
        "labelPlural": _plural(spec.label),
        "objectType": spec.object_type,
        "keyPrefix": spec.key_prefix,
        "description": f"Demo {spec.label} object",
        "dataStore": "HAPOSTGRES",
        "fields": [_field_payload(spec, fld, picklists.get(fld.name)) for fld in spec.fields],
    }


def _plural(label: str) -> str:
    if label.endswith("s"):
        return label
    return f"{label[:-1]}ies" if label.endswith("y") else f"{label}s"


def _label(name: str) -> str:
    stem = name.removesuffix("__gc").removesuffix("__c").removeprefix("Ant__")
    words: list[str] = []
    for part in stem.split("_"):
        current = ""
        for char in part:
            if char.isupper() and current and not current[-1].isupper():
                words.append(current)
                current = ""
            current += char
        if current:
            words.append(current)
    return " ".join(words)


def _field_payload(
    spec: ObjectSpec, fld: FieldSpec, picklist: dict[str, str] | None
) -> dict[str, Any]:
    kind = fld.data_type
    meta: dict[str, Any] = {
        "properties": {"sourceType": kind},
        "filterable": True,
        "sortable": kind != "RICHTEXTAREA",
        "groupable": kind not in DATE_TYPES | {"RICHTEXTAREA"},
        "createable": fld.group != "SYSTEM",
        "updateable": fld.group != "SYSTEM",
        "formulaField": False,
        "hasLookup": fld.lookup is not None,
        "required": fld.name == "Name",
        "nillable": fld.name not in {"Gsid", "Name"},
        "readOnly": fld.group == "SYSTEM",
        "fieldGroupType": fld.group,
        "indexed": fld.name in {"Gsid", "GsCompanyId", "ModifiedDate", "LastModifiedDate"},
        "decimalPlaces": 2 if kind == "CURRENCY" else 0,
        "length": 220 if kind not in {"RICHTEXTAREA"} else 131_072,
        "hidden": False,
        "nameField": fld.name == "Name",
        "description": fld.label or _label(fld.name),
        "aggregatable": kind in NUMBER_TYPES,
    }
    payload: dict[str, Any] = {
        "fieldName": fld.name,
        "label": fld.label or _label(fld.name),
        "dataType": kind,
        "objectName": spec.object_name,
        "meta": meta,
    }
    if fld.lookup:
        meta["lookupDetail"] = {
            "lookupName": f"{fld.name}__gr",
            "fieldName": "Gsid",
            "lookupObjects": [{"objectName": fld.lookup, "label": _label(fld.lookup)}],
        }
    if picklist:
        meta["properties"]["PICKLIST_CATEGORY_ID"] = picklist["__category__"]
        payload["options"] = [
            {"label": label, "value": picklist[label], "active": True, "displayOrder": order}
            for order, label in enumerate(fld.options, start=1)
        ]
    return payload
