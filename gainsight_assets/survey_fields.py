"""Auto-detection of survey response fields for the standard Gainsight survey schemas.

Each output field has a list of candidate Gainsight field names, tried in order, case-insensitively
and with or without the custom ``__gc``/``__c`` suffix. ``field_mappings`` in a tenant's ``defs.yaml``
overrides any of them. README's survey section prints the same table.
"""

from __future__ import annotations

from collections.abc import Mapping

from resources.gainsight.metadata import ObjectDescription

CANDIDATES: dict[str, tuple[str, ...]] = {
    "response_id": ("Gsid",),
    "gs_company_id": ("GsCompanyId", "CompanyId", "Company_ID", "Company"),
    "survey_type": ("SurveyType", "Survey_Type", "Type"),
    "score": (
        "Score",
        "NpsScore",
        "NPS_Score",
        "Nps",
        "CsatRating",
        "CsatScore",
        "CesScore",
        "Rating",
        "AnswerRank",
    ),
    "question": ("QuestionText", "Question", "Prompt", "Question_Text", "QuestionTitle"),
    "answer": ("AnswerText", "Answer", "Comment", "Comments", "Feedback", "Response"),
    "responded_at": (
        "RespondedDate",
        "ResponseDate",
        "SubmittedDate",
        "SubmittedOn",
        "RespondedOn",
        "Responded_Date",
        "CreatedDate",
    ),
    "respondent_email": (
        "ParticipantEmail",
        "RespondentEmail",
        "Email",
        "Participant_Email",
        "ParticipantEmailAddress",
    ),
}
MAPPABLE_FIELDS = tuple(CANDIDATES)
REQUIRED = ("response_id", "gs_company_id", "score")


def _stem(name: str) -> str:
    folded = name.casefold()
    for suffix in ("__gc", "__c"):
        folded = folded.removesuffix(suffix)
    return folded.replace("_", "")


def detect_fields(
    description: ObjectDescription, overrides: Mapping[str, str]
) -> dict[str, str | None]:
    """Output field → Gainsight field (``None`` when nothing fits and it is optional)."""
    by_stem: dict[str, str] = {}
    for name in description.field_names:
        by_stem.setdefault(_stem(name), name)
    mapping: dict[str, str | None] = {}
    for output, candidates in CANDIDATES.items():
        if output in overrides:
            mapping[output] = description.require(
                overrides[output], setting=f"field_mappings.{output}"
            ).field_name
            continue
        mapping[output] = next((by_stem[_stem(c)] for c in candidates if _stem(c) in by_stem), None)
    return mapping
