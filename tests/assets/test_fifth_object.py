"""A new Gainsight object is one spec: calls to action, synced with nothing else changed.

The spec below is all a contributor writes. The builder, jobs, schedules, sensors and checks come
from the same code as the four shipped objects, and the asset materializes against the demo
tenant with its records resolved, unmatched ones kept, and the grain checked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import polars as pl
from dagster import AssetKey

from gainsight_assets.definitions import build_definitions
from gainsight_assets.objects import OBJECT_SPECS
from gainsight_assets.partitions import partition_tags
from gainsight_assets.pipeline import Finished, ObjectSpec, Query
from gainsight_assets.settings import Settings
from gainsight_assets.sync import SyncRun, require_fields
from resources.gainsight import window_where
from resources.warehouse import KeyedRows
from tests.assets.helpers import load_accounts, read, resources
from tests.conftest import DEMO_KEY

OBJECT = "call_to_action"
COLUMNS = ("cta_id", "account_id", "match_method", "name", "priority", "modified_at")


def shape(page: pl.DataFrame, *, fields: dict[str, str]) -> pl.DataFrame:
    return page.select(
        pl.col(fields["Gsid"]).alias("cta_id"),
        pl.col(fields["CompanyId"]).alias("gs_company_id"),
        pl.col(fields["Name"]).alias("name"),
        pl.col(fields["Priority"]).alias("priority"),
        pl.col(fields["ModifiedDate"]).alias("modified_at"),
    )


def plan(run: SyncRun) -> list[Query]:
    description = run.gainsight.describe(OBJECT)
    fields = require_fields(
        description, {name: name for name in ("Gsid", "CompanyId", "Name", "Priority")}
    )
    fields |= require_fields(description, {"ModifiedDate": "ModifiedDate"})
    start, end = run.window
    return [
        Query(
            object_name=OBJECT,
            fields=list(fields.values()),
            shape=partial(shape, fields=fields),
            id_col="cta_id",
            record_key=("cta_id",),
            where=window_where(fields["ModifiedDate"], start, end),
            order_by={fields["ModifiedDate"]: "asc", fields["Gsid"]: "asc"},
            date_col="modified_at",
            key_field=fields["CompanyId"],
        )
    ]


def finish(run: SyncRun, matched: pl.DataFrame, read_ids: pl.DataFrame) -> Finished:
    return Finished(KeyedRows(matched.select(COLUMNS), read_ids))


CTAS = ObjectSpec(
    name="ctas",
    table="ctas",
    cadence="daily",
    cron="50 0 * * *",
    grain=("cta_id", "modified_at"),
    window_column="modified_at",
    describe=lambda tenant: "Gainsight calls to action, per UTC day of change.",
    enabled=lambda settings: True,
    plan=plan,
    finish=finish,
    first_sync_span=lambda settings: timedelta(days=7),
    demo_span=timedelta(days=7),
)


def test_a_fifth_object_is_one_spec(
    demo_tenant, demo_dataset, duckdb_url: str, tmp_path: Path
) -> None:
    load_accounts(duckdb_url, demo_dataset.crm_accounts)
    res = resources(demo_tenant.base_url, DEMO_KEY, duckdb_url, tmp_path)
    defs = build_definitions(Settings(), resources=res, specs=(*OBJECT_SPECS, CTAS))
    repo = defs.get_repository_def()

    # what every object gets: a job with the gate, a schedule, first syncs, freshness
    job = defs.resolve_job_def("gainsight_ctas_sync")
    assert repo.get_schedule_def("gainsight_ctas_sync_schedule").cron_schedule == "50 0 * * *"
    assert "gainsight_ctas_sync" in {
        target.job_name for target in repo.get_sensor_def("gainsight_gate_sensor").targets
    }
    key = AssetKey(["gainsight", "ctas"])
    checks = {check.name for check in repo.asset_graph.asset_check_keys if check.asset_key == key}
    assert {"unique_grain", "match_rate", "read_in_full"} <= checks
    assert any(
        c.name.startswith("freshness")
        for c in repo.asset_graph.asset_check_keys
        if c.asset_key == key
    )

    # its run, over the month the demo tenant's calls to action were changed in
    result = job.execute_in_process(
        tags=partition_tags("2025-02-10", "2025-03-12"), raise_on_error=False
    )
    assert result.success
    ctas = read(duckdb_url, "gainsight.ctas")
    unmatched = read(duckdb_url, "gainsight.unmatched_records").filter(pl.col("object") == OBJECT)
    changed = pl.from_epoch(pl.col("ModifiedDate"), time_unit="ms")
    source = demo_dataset.objects[OBJECT].filter(
        changed.is_between(datetime(2025, 2, 10), datetime(2025, 3, 13), closed="left")
    )
    assert ctas.height + unmatched.height == source.height > 0
    assert ctas.columns == list(COLUMNS)
    assert ctas["account_id"].null_count() == 0
    assert set(ctas["cta_id"]) | set(unmatched["record_id"]) == set(source["Gsid"])
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations["unique_grain"] and evaluations["read_in_full"]
