"""The sync settings of one Gainsight tenant, as a validated pydantic model.

They are the attributes of the tenant's ``gainsight_assets/defs/<tenant>/defs.yaml`` (the
:class:`~gainsight_assets.component.GainsightComponent`), next to its ``name`` and
``connection``. One section per concern (the primary CRM, then one per object). Bad settings stop
before any call to Gainsight, with a message that names the key and says how to fix it; a key left
out takes the default below.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ACTIVITY_TYPES = ("EMAIL", "MEETING", "TYPE_MANUAL")
SURVEY_ACTIVITY_TYPE = "SURVEY"
SURVEY_TYPES = ("NPS", "CSAT", "CES", "CUSTOM")
MAX_LOOKBACK_DAYS = 30
DEFAULT_CATEGORY_MAP = {
    "email": "EMAIL",
    "meeting": "MEETING",
    "call": "MEETING",
    "update": "TYPE_MANUAL",
    "risk": "TYPE_MANUAL",
}


class SettingsError(ValueError):
    """A tenant's settings are invalid; the message lists every problem with its key and fix."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrimaryCrm(_Section):
    system: Literal["salesforce", "hubspot"] = "salesforce"
    # the JSON schema's pattern lets `dg check yaml` catch what the validator below explains
    accounts_table: str = Field(
        default="salesforce.account", json_schema_extra={"pattern": r"^[^.]+\.[^.]+$"}
    )
    account_id_column: str = "id"
    name_column: str = "name"
    domain_column: str = "website"

    @field_validator("accounts_table")
    @classmethod
    def _qualified(cls, value: str) -> str:
        if value.count(".") != 1 or not all(value.split(".")):
            raise ValueError(
                f"'{value}' must be schema.table, e.g. salesforce.account or hubspot.companies"
            )
        return value


class Company(_Section):
    enabled: bool = True
    object: str = "Company"
    crm_id_field: str = "SfdcAccountId"
    gsid_field_override: str | None = None


class Activity(_Section):
    enabled: bool = True
    object: str = "activity_timeline"
    date_field: str = "LastModifiedDate"
    gsid_field_override: str | None = None
    category_map: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CATEGORY_MAP))

    @field_validator("category_map")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for category, activity_type in value.items():
            wanted = str(activity_type).upper()
            if wanted not in ACTIVITY_TYPES:
                raise ValueError(
                    f"category '{category}' maps to unknown activity type '{activity_type}';"
                    f" use one of {', '.join(ACTIVITY_TYPES)}"
                )
            mapping[str(category).strip().lower()] = wanted
        return mapping


class SurveyObject(_Section):
    object: str
    survey_type: Literal["NPS", "CSAT", "CES", "CUSTOM"] | None = None
    field_mappings: dict[str, str] = Field(default_factory=dict)

    @field_validator("field_mappings")
    @classmethod
    def _known_outputs(cls, value: dict[str, str]) -> dict[str, str]:
        from gainsight_assets.survey_fields import MAPPABLE_FIELDS

        unknown = sorted(set(value) - set(MAPPABLE_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown output field(s) {', '.join(unknown)};"
                f" mappable fields are {', '.join(MAPPABLE_FIELDS)}"
            )
        return value


class Surveys(_Section):
    enabled: bool = True
    mode: Literal["single", "multiple"] = "single"
    objects: list[SurveyObject] = Field(
        default_factory=lambda: [SurveyObject(object="survey_response")]
    )
    date_field: str = "ModifiedDate"
    response_limit: int = Field(default=500, ge=1)
    lookback_days: int = Field(default=30, ge=1, json_schema_extra={"maximum": MAX_LOOKBACK_DAYS})
    register_custom_fields: bool = False
    filter: dict[str, Any] | None = None
    gsid_field_override: str | None = None

    @field_validator("lookback_days")
    @classmethod
    def _capped(cls, value: int) -> int:
        if value > MAX_LOOKBACK_DAYS:
            raise ValueError(
                f"is {value}, but the survey lookback is capped at {MAX_LOOKBACK_DAYS} days;"
                f" set it to {MAX_LOOKBACK_DAYS} or less"
            )
        return value

    @field_validator("filter", mode="before")
    @classmethod
    def _filter(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"is not valid JSON ({exc.msg}); write a where-clause object"
                ) from exc
        if value is not None:
            conditions = value.get("conditions") if isinstance(value, dict) else None
            if (
                not isinstance(conditions, list)
                or not conditions
                or any(
                    not isinstance(c, dict) or not {"name", "alias", "operator"} <= set(c)
                    for c in conditions
                )
            ):
                raise ValueError(
                    'must be a Gainsight where-clause: {"conditions": [{"name", "alias",'
                    ' "value": [...], "operator"}], "expression": "A AND B"}'
                )
        return value

    @model_validator(mode="after")
    def _objects_fit_mode(self) -> Surveys:
        if not self.objects:
            raise ValueError("surveys.objects is empty; name at least one survey response object")
        if self.mode == "single" and len(self.objects) != 1:
            raise ValueError(
                f"surveys.mode is 'single' but {len(self.objects)} objects are listed;"
                " set mode: multiple or keep one object"
            )
        names = [o.object.casefold() for o in self.objects]
        duplicates = sorted(
            {o.object for o in self.objects if names.count(o.object.casefold()) > 1}
        )
        if duplicates:
            raise ValueError(
                f"surveys.objects names {', '.join(duplicates)} more than once; in multiple mode"
                " each row's object name must be unique"
            )
        return self


class Aggregate(_Section):
    enabled: bool = False
    key: str | None = None
    dimension_key_field: str | None = None
    metric_name_field: str | None = None
    metric_value_field: str | None = None
    additional_value_fields: list[str] = Field(default_factory=list)
    function: Literal["sum", "max", "mean", "last"] = "sum"

    @model_validator(mode="after")
    def _fields_when_enabled(self) -> Aggregate:
        if self.enabled:
            missing = [
                name
                for name in ("key", "metric_name_field", "metric_value_field")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(
                    "aggregation is enabled but "
                    + ", ".join(f"product_usage.aggregate.{m}" for m in missing)
                    + " is not set; pick the fields from the usage object's schema or set"
                    " enabled: false"
                )
        return self


class ProductUsage(_Section):
    enabled: bool = True
    object: str = "product_usage__gc"
    date_field: str = "UsageDate"
    product_name: str = "product usage"
    gsid_field_override: str | None = None
    aggregate: Aggregate = Field(default_factory=Aggregate)


class Deletions(_Section):
    enabled: bool = True
    object: str = "record_delete_log"


class Quality(_Section):
    min_match_rate: float = Field(default=0.8, ge=0, le=1)


class Settings(_Section):
    primary_crm: PrimaryCrm = Field(default_factory=PrimaryCrm)
    gsid_field: str = "gainsight_gsid_c"
    start_date: date = date(2025, 1, 1)
    company: Company = Field(default_factory=Company)
    activity: Activity = Field(default_factory=Activity)
    surveys: Surveys = Field(default_factory=Surveys)
    product_usage: ProductUsage = Field(default_factory=ProductUsage)
    deletions: Deletions = Field(default_factory=Deletions)
    quality: Quality = Field(default_factory=Quality)

    def tracked_objects(self) -> list[str]:
        """The Gainsight objects of the enabled syncs, whose deletions the warehouse follows."""
        names = []
        if self.company.enabled:
            names.append(self.company.object)
        if self.activity.enabled:
            names.append(self.activity.object)
        if self.surveys.enabled:
            names += [o.object for o in self.surveys.objects]
        if self.product_usage.enabled:
            names.append(self.product_usage.object)
        return list(dict.fromkeys(names))

    def gsid_column(self, override: str | None) -> str:
        """The accounts-table column holding Gainsight GSIDs for one object."""
        return override or self.gsid_field


def parse_settings(raw: Any, *, source: str = "settings") -> Settings:
    if not isinstance(raw, dict):
        raise SettingsError(f"{source} must be a mapping of sections, got {type(raw).__name__}.")
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(_explain(exc, source)) from None


def _explain(exc: ValidationError, source: str) -> str:
    lines = [f"{source} has {exc.error_count()} problem(s):"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling against README's settings table"
        elif err["type"] == "literal_error":
            message = f"{message} (got {err.get('input')!r})"
        lines.append(f"  - `{key}`: {message}")
    return "\n".join(lines)
