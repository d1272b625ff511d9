"""(6) Rate limit under concurrency: the four objects' jobs at once, one process each, against
one demo tenant that enforces a fixed-window limit.

Every process runs its job in process (as a Dagster run worker does) with the same
``rate_limit_state_path``, so they share one client-side budget; each writes its own DuckDB file
(DuckDB allows one writing process per file; the warehouse is not what is measured here). The
limit is Gainsight's shape scaled down in time: ``limit`` calls per ``window`` seconds, with the
client's budget (``calls_per_minute``/``rate_window_seconds``) set to the same numbers, the
tightest setting that should still never draw a 429. The page size is chosen so that the run
needs about ``target_calls`` calls. The minimum time is ``ceil(calls / limit)`` windows.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import ANCHOR, SPAWN, Count, TenantProcess, quiet_dagster_warnings
from benchmarks.jobs import QUIET, load_accounts, range_tags, resources

WEEK = "2025-03-03"


def job_specs() -> list[dict[str, Any]]:
    survey_end = ANCHOR - timedelta(days=1)
    return [
        {"object": "companies", "partition": survey_end.date().isoformat()},
        {"object": "activities", "range": ("2025-03-05-00:00", "2025-03-11-20:00")},
        {
            "object": "surveys",
            "range": (
                (ANCHOR - timedelta(days=30)).date().isoformat(),
                survey_end.date().isoformat(),
            ),
            "settings": {"surveys": {"response_limit": 10_000_000}},
        },
        {"object": "product_usage", "partition": WEEK},
    ]


def _worker(
    url: str,
    accounts_path: str,
    warehouse_url: str,
    spec: dict[str, Any],
    gainsight: dict[str, Any],
    ready: Any,
    start: Any,
    done: Any,
) -> None:
    quiet_dagster_warnings()
    try:
        from dagster import DagsterInstance

        from benchmarks.jobs import bench_settings
        from gainsight_assets.definitions import build_definitions

        load_accounts(warehouse_url, accounts_path)
        defs = build_definitions(
            bench_settings(spec.get("settings")),
            resources=resources(url, warehouse_url, **gainsight),
        )
        job = defs.resolve_job_def(f"gainsight_{spec['object']}_sync")
        kwargs: dict[str, Any] = {"instance": DagsterInstance.ephemeral(), "raise_on_error": False}
        if "range" in spec:
            kwargs["tags"] = range_tags(*spec["range"])
        else:
            kwargs["partition_key"] = spec["partition"]
        ready.put(spec["object"])
        start.wait()
        result = job.execute_in_process(run_config=QUIET, **kwargs)
        metadata: dict[str, Any] = {}
        for event in result.get_asset_materialization_events()[:1]:
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
        done.put(
            {
                "object": spec["object"],
                "success": result.success,
                "ended": time.time(),
                "api_calls": metadata.get("api_calls"),
                "api_rate_limited": metadata.get("api_rate_limited"),
            }
        )
    except BaseException as exc:  # report, never hang the parent
        done.put(
            {"object": spec["object"], "success": False, "error": repr(exc), "ended": time.time()}
        )


def measure_concurrency(
    *,
    companies: int,
    per_company: dict[str, int],
    limit: int,
    window: float,
    target_calls: int,
    workdir: Path,
) -> dict[str, Any]:
    specs = job_specs()
    accounts = str(workdir / "accounts_c.parquet")
    counts = [
        Count(
            "activities",
            "activity_timeline",
            "LastModifiedDate",
            ANCHOR - timedelta(days=7),
            ANCHOR,
        ),
        Count("nps", "nps_survey_response", "ModifiedDate", ANCHOR - timedelta(days=30), ANCHOR),
        Count("csat", "csat_survey_response", "ModifiedDate", ANCHOR - timedelta(days=30), ANCHOR),
        Count(
            "usage",
            "product_usage__gc",
            "UsageDate",
            ANCHOR - timedelta(days=9),
            ANCHOR - timedelta(days=2),
        ),
        Count("companies", "Company"),
    ]
    tenant_options = {"rate_limit_per_minute": limit, "rate_limit_window_seconds": window}
    with TenantProcess(
        {"companies": companies, "days": 35, **per_company}, [tenant_options], counts, accounts
    ) as tenant:
        # the company directory is read by the three objects that resolve through it
        records = sum(tenant.count(n) for n in ("activities", "nps", "csat", "usage"))
        records += 4 * tenant.count("companies")
        page_size = max(1, min(5000, math.ceil(records / target_calls)))
        gainsight = {
            "page_size": page_size,
            "calls_per_minute": limit,
            "rate_window_seconds": window,
            "rate_limit_state_path": str(workdir / "shared-rate.json"),
            "max_rate_limit_waits": 1000,
        }
        ready, done, start = SPAWN.Queue(), SPAWN.Queue(), SPAWN.Event()
        processes = [
            SPAWN.Process(
                target=_worker,
                args=(
                    tenant.url(),
                    accounts,
                    f"duckdb:///{workdir / ('concurrent-' + spec['object'] + '.duckdb')}",
                    spec,
                    gainsight,
                    ready,
                    start,
                    done,
                ),
            )
            for spec in specs
        ]
        for process in processes:
            process.start()
        for _ in processes:
            ready.get(timeout=600)
        tenant.reset()
        started = time.time()
        start.set()
        results = [done.get(timeout=3600) for _ in processes]
        elapsed = max(r["ended"] for r in results) - started
        for process in processes:
            process.join(timeout=60)
        stats = tenant.stats()
    calls = stats["calls"]
    minimum = math.ceil(calls / limit) * window
    return {
        "limit": limit,
        "window_seconds": window,
        "page_size": page_size,
        "records": records,
        "calls": calls,
        "max_calls_per_window": stats["max_calls_per_window"],
        "window_counts": stats["window_counts"],
        "rate_limited": stats["rate_limited"],
        "runs": results,
        "runs_failed": sum(not r["success"] for r in results),
        "elapsed_seconds": elapsed,
        "minimum_seconds": minimum,
    }
