"""Typed views of Gainsight's metadata answers (object list and describe)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

# Gainsight dataTypes that hold dates (returned as epoch milliseconds or ISO strings).
DATE_TYPES = frozenset({"DATE"})
DATETIME_TYPES = frozenset({"DATETIME"})
NUMBER_TYPES = frozenset({"NUMBER", "CURRENCY", "PERCENTAGE", "JSONNUMBER", "DOUBLE", "INTEGER"})
BOOLEAN_TYPES = frozenset({"BOOLEAN", "JSONBOOLEAN"})
PICKLIST_TYPES = frozenset({"PICKLIST", "MULTISELECTDROPDOWNLIST"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ObjectInfo(_Model):
    """One entry of ``GET /v1/meta/services/objects/list``."""

    object_name: str = Field(alias="objectName")
    label: str | None = None
    object_type: str | None = Field(default=None, alias="objectType")


class PicklistOption(_Model):
    label: str | None = None
    value: str | None = None
    active: bool | None = None


class FieldInfo(_Model):
    """One field of a describe answer."""

    field_name: str = Field(alias="fieldName")
    label: str | None = None
    data_type: str = Field(default="STRING", alias="dataType")
    options: list[PicklistOption] = Field(default_factory=list)

    @property
    def is_custom(self) -> bool:
        return self.field_name.endswith(("__gc", "__c"))


class ObjectDescription(_Model):
    """``GET /v1/meta/services/objects/{object}/describe`` → ``data[0]``."""

    object_name: str = Field(alias="objectName")
    label: str | None = None
    fields: list[FieldInfo] = Field(default_factory=list)

    def find(self, name: str) -> FieldInfo | None:
        """The field called ``name``, matched case-insensitively (as Gainsight does)."""
        wanted = name.casefold()
        return next((f for f in self.fields if f.field_name.casefold() == wanted), None)

    def require(self, name: str, *, setting: str) -> FieldInfo:
        """The field called ``name``, or an error that lists the close matches."""
        found = self.find(name)
        if found is None:
            raise MissingFieldError(self.object_name, name, setting, self.field_names)
        return found

    @property
    def field_names(self) -> list[str]:
        return [f.field_name for f in self.fields]

    def field_types(self) -> dict[str, str]:
        return {f.field_name: f.data_type.upper() for f in self.fields}

    def picklist_labels(self) -> dict[str, dict[str, str]]:
        """Per picklist field, the option GSID → label map used to resolve query values."""
        return {
            f.field_name: {o.value: o.label for o in f.options if o.value and o.label}
            for f in self.fields
            if f.data_type.upper() in PICKLIST_TYPES and f.options
        }


def close_matches(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    by_fold = {c.casefold(): c for c in candidates}
    return [
        by_fold[m] for m in difflib.get_close_matches(name.casefold(), by_fold, n=n, cutoff=0.5)
    ]


class MissingFieldError(LookupError):
    """A configured field does not exist on the object, with the close matches to pick from."""

    def __init__(self, object_name: str, field: str, setting: str, candidates: list[str]) -> None:
        matches = close_matches(field, candidates)
        hint = f" Close matches: {', '.join(matches)}." if matches else ""
        super().__init__(
            f"Gainsight object '{object_name}' has no field '{field}' (setting `{setting}`).{hint}"
            f" Pick a field from the object's describe (`gainsight-sync settings --json` lists them)."
        )
