"""Run the real Gainsight jobs (gate check included) in this process, the way a Dagster run
does, and report what each one cost: wall time, the asset step's time, peak memory, calls."""

from __future__ import annotations

import time
from copy import deepcopy
from typing import Any

import httpx
import yaml

from benchmarks.common import KEY, peak_rss_bytes, reset_peak_rss

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
UNLIMITED = 1_000_000  # a client budget that never waits: (1) and (2) count calls, not budget


def bench_settings(overrides: dict[str, Any] | None = None):
    """Tenant default's settings (every knob in use) with ``overrides`` merged in."""
    from gainsight_assets.settings import parse_settings
    from gainsight_assets.tenants import DEFAULT_TENANT_FILE

    raw = yaml.safe_load(DEFAULT_TENANT_FILE.read_text())["attributes"]
    raw.pop("connection", None)
    return parse_settings(_merge(raw, overrides or {}))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resources(url: str, warehouse_url: str, **gainsight: Any) -> dict[str, Any]:
    from gainsight_assets.resource_defs import build_resources

    options = {"backoff_base_seconds": 0.05, "calls_per_minute": UNLIMITED, **gainsight}
    return build_resources(base_url=url, access_key=KEY, warehouse_url=warehouse_url, **options)


def load_accounts(warehouse_url: str, accounts_path: str) -> None:
    import polars as pl

    from resources.warehouse import TableRef, WarehouseResource

    WarehouseResource(url=warehouse_url).replace(
        TableRef("salesforce", "account"), pl.read_parquet(accounts_path)
    )


def run_jobs(
    url: str,
    warehouse_url: str,
    accounts_path: str,
    runs: list[dict[str, Any]],
    gainsight: dict[str, Any] | None = None,
    tenant_stats: bool = True,
) -> list[dict[str, Any]]:
    """Each run: ``object``, ``partition`` or ``range`` (start, end), optional ``settings``.

    With ``tenant_stats`` the tenant's counters are reset before each run and read after it, so
    each result carries the calls the server saw for that run alone.
    """
    from dagster import DagsterEventType, DagsterInstance

    from gainsight_assets.definitions import build_definitions
    from gainsight_assets.partitions import partition_tags

    load_accounts(warehouse_url, accounts_path)
    res = resources(url, warehouse_url, **(gainsight or {}))
    control = httpx.Client(base_url=url, timeout=30)
    results = []
    for spec in runs:
        defs = build_definitions(bench_settings(spec.get("settings")), resources=res)
        job = defs.resolve_job_def(f"gainsight_{spec['object']}_sync")
        instance = DagsterInstance.ephemeral()
        kwargs: dict[str, Any] = {"instance": instance, "raise_on_error": False}
        if "range" in spec:
            kwargs["tags"] = partition_tags(*spec["range"])
        else:
            kwargs["partition_key"] = spec["partition"]
        if tenant_stats:
            control.post("/__demo__/stats/reset")
        reset_peak_rss()
        started = time.perf_counter()
        result = job.execute_in_process(run_config=QUIET, **kwargs)
        wall = time.perf_counter() - started
        peak = peak_rss_bytes()
        steps: dict[str, dict[str, float]] = {}
        for record in instance.all_logs(result.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS):
                steps.setdefault(event.step_key, {})[event.event_type.value] = record.timestamp
        step_seconds = {
            key: marks["STEP_SUCCESS"] - marks["STEP_START"]
            for key, marks in steps.items()
            if {"STEP_START", "STEP_SUCCESS"} <= set(marks)
        }
        asset_steps = [s for k, s in step_seconds.items() if k.startswith("gainsight__")]
        metadata = {}
        materializations = result.get_asset_materialization_events()
        if materializations:
            metadata = {
                k: v.value
                for k, v in materializations[0].materialization.metadata.items()
                if isinstance(v.value, int | float | str | dict | list)
            }
        results.append(
            {
                "object": spec["object"],
                "success": result.success,
                "wall_seconds": wall,
                "asset_step_seconds": asset_steps[0] if asset_steps else None,
                "step_seconds": step_seconds,
                "peak_rss_bytes": peak,
                "metadata": metadata,
                "tenant": control.get("/__demo__/stats").json() if tenant_stats else None,
            }
        )
    control.close()
    return results
