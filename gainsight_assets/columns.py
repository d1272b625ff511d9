"""What each output column means: shown beside the column in every asset's schema in the UI.

One dictionary for every Gainsight table, since a name means the same thing wherever it appears.
A key ending in ``*`` describes every column starting with what precedes it (custom fields,
Gainsight's copies of CRM-owned fields). The warehouse IO manager attaches these descriptions to
the ``dagster/column_schema`` it records for each materialization.
"""

from __future__ import annotations

COLUMN_DESCRIPTIONS: dict[str, str] = {
    # resolution
    "account_id": "The primary-CRM account (Salesforce or HubSpot id) the record belongs to.",
    "match_method": "How the record reached its account: crm_id (the Gainsight company's CRM id)"
    " or gsid_field (the account's GSID column).",
    "match_methods": "How the week's raw rows reached the account (crm_id, gsid_field or both).",
    "gs_company_id": "The Gainsight company GSID the record points at (GsCompanyId).",
    # activities
    "activity_id": "Gainsight Gsid of the timeline entry.",
    "activity_type": "EMAIL, MEETING or TYPE_MANUAL (from activity.category_map); SURVEY for"
    " survey responses.",
    "reporting_category": "Gainsight's ReportingCategory, as sent.",
    "type_name": "Gainsight's activity type name (TypeName).",
    "subject": "Subject of the timeline entry.",
    "notes": "Notes of the timeline entry.",
    "activity_date": "When the activity happened (ActivityDate, UTC).",
    "modified_at": "When Gainsight last modified the record (UTC); the partition column. Each"
    " version is a row; the _latest view keeps the newest per record.",
    # survey responses
    "response_id": "Gainsight Gsid of the survey response.",
    "survey_type": "NPS, CSAT, CES or CUSTOM.",
    "score": "The response's score (NPS 0-10, CSAT rating...).",
    "question": "The question asked.",
    "answer": "The respondent's answer or comment.",
    "responded_at": "When the respondent answered (UTC).",
    "respondent_email": "The respondent's email address.",
    "source_object": "The Gainsight object the response was read from.",
    "cf_*": "A custom field of the survey object (see gainsight.custom_fields).",
    # companies
    "snapshot_date": "The day of the snapshot (the partition).",
    "gsid": "Gainsight company GSID.",
    "crm_id": "The CRM account id Gainsight holds for the company (company.crm_id_field).",
    "account_name": "The account's name in the primary CRM (the source of truth).",
    "account_domain": "The account's domain in the primary CRM (the source of truth).",
    "gainsight_*": "Gainsight's copy of a field the primary CRM owns; for reference only.",
    # product usage
    "week_start": "Monday 00:00 UTC of the week (the partition).",
    "product": "The product label the metrics roll up under (product_usage.product_name).",
    "metric": "The metric name.",
    "dimension": "The dimension value (aggregate.dimension_key_field), if any.",
    "value": "The metric's value over the week, combined with aggregate.function.",
    "source_rows": "How many raw usage rows were combined into the row.",
    "usage_key": "The row's grain as one text value: week|account|product|metric|dimension.",
    "seats": "Additional value field Seats, combined over the week.",
    "session_minutes": "Additional value field Session_Minutes, combined over the week.",
    # deleted records
    "object": "The Gainsight object the record belonged to (as the tenant's defs.yaml names it).",
    "record_id": "Gainsight Gsid of the record.",
    "deleted_at": "When the record was deleted in Gainsight (DeletedOn, UTC); the partition"
    " column.",
    "partition": "The partition key (the UTC day of deletion).",
    # customer usage weekly
    "previous_value": "The metric's value in the week before.",
    "wow_change": "value minus previous_value.",
    "wow_change_pct": "The week-over-week change as a fraction of previous_value.",
    "latest_survey_score": "The account's latest survey score answered up to the week.",
    "latest_survey_type": "The survey type of that score.",
    "activities": "Distinct activities of the account (latest versions).",
    "emails": "Of those, EMAIL activities.",
    "meetings": "Of those, MEETING activities.",
    "manual_notes": "Of those, TYPE_MANUAL activities.",
}
