"""(1) API efficiency, (2) overhead over the floor and (5) the activities run's peak memory.

(2) compares the activities job over one window with the *floor*: a bare httpx loop that asks the
same tenant for the same pages (the same request bodies) and ``json.loads`` each answer, nothing
else. The tenant runs in its own process and serves pre-generated pages (a first, untimed pass of
the floor fills its page cache), and reports the time it spent answering, so the benchmark can
print the server's share of the floor.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import ANCHOR, KEY, PAGE, Count, TenantProcess, in_child
from benchmarks.jobs import run_jobs

ACTIVITY_SELECT = [
    "Gsid",
    "GsCompanyId",
    "ReportingCategory",
    "LastModifiedDate",
    "Subject",
    "Notes",
    "ActivityDate",
    "TypeName",
]
FOUR_HOURS = timedelta(hours=4)
SYNCED_WINDOW = (ANCHOR - timedelta(days=7), ANCHOR - timedelta(days=6))
SYNCED_DAY = ("2025-03-05-00:00", "2025-03-05-20:00")  # the six partitions of SYNCED_WINDOW


def activity_body(start: datetime, end: datetime) -> dict[str, Any]:
    """The body the activities asset sends (offset and limit aside)."""
    from resources.gainsight import window_where

    return {
        "select": ACTIVITY_SELECT,
        "where": window_where("LastModifiedDate", start, end),
        "orderBy": {"LastModifiedDate": "asc", "Gsid": "asc"},
    }


def floor_loop(url: str, object_name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Fetch every page of one query and parse its JSON; nothing else."""
    parse = 0.0
    records = pages = 0
    started = time.perf_counter()
    with httpx.Client(
        base_url=url,
        headers={"accesskey": KEY, "Accept": "application/json"},
        timeout=120,
    ) as http:
        offset = 0
        while True:
            response = http.post(
                f"/v1/data/objects/query/{object_name}",
                json={**body, "limit": PAGE, "offset": offset},
            )
            response.raise_for_status()
            mark = time.perf_counter()
            payload = json.loads(response.content)
            parse += time.perf_counter() - mark
            page = payload["data"]["records"]
            pages += 1
            records += len(page)
            offset += len(page)
            if len(page) < PAGE:
                break
    return {
        "seconds": time.perf_counter() - started,
        "parse_seconds": parse,
        "calls": pages,
        "records": records,
    }


def run_fresh(url: str, workdir: str, accounts: str, spec: dict[str, Any], index: int) -> dict:
    """One run of ``spec`` into a new warehouse file (called in a fresh process each time, so that
    each run's peak memory is its own)."""
    warehouse = f"duckdb:///{Path(workdir) / f'activities-{index}.duckdb'}"
    return run_jobs(url, warehouse, accounts, [spec])[0]


def four_hour_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d-%H:%M")


def measure_activities(
    activities: int, companies: int, workdir: Path, runs: int = 2
) -> dict[str, Any]:
    """(1) calls of the activities window, (2) its time against the floor, (5) its peak RSS.

    Every activity of the dataset is modified within the day before the anchor, so the window
    of the six 4-hour partitions of that day (one run, as a backfill is) holds all of them.
    """
    start, end = ANCHOR - timedelta(days=1), ANCHOR
    accounts = str(workdir / "accounts_a.parquet")
    dataset = {
        "companies": companies,
        "activities_per_company": activities // companies,
        "surveys_per_company": 0,
        "usage_rows_per_company": 0,
        "days": 1,
    }
    counts = [Count("window", "activity_timeline", "LastModifiedDate", start, end)]
    with TenantProcess(
        dataset, [{"page_cache_bytes": 4 * 1024**3}], counts, accounts_path=accounts
    ) as tenant:
        url = tenant.url()
        n = tenant.count("window")
        body = activity_body(start, end)
        floor_loop(url, "activity_timeline", body)  # pre-generates the pages (untimed)
        floors = []
        for _ in range(2):
            tenant.reset()
            floor = floor_loop(url, "activity_timeline", body)
            floor["server_seconds"] = tenant.stats()["server_seconds"]
            floors.append(floor)
        spec = {
            "object": "activities",
            "range": (four_hour_key(start), four_hour_key(end - FOUR_HOURS)),
        }
        done = [in_child(run_fresh, url, str(workdir), accounts, spec, i) for i in range(runs)]
        run = min(done, key=lambda r: r["asset_step_seconds"] or float("inf"))
        run = {**run, "peak_rss_bytes": max(r["peak_rss_bytes"] for r in done)}
        tenant.reset()
        after = floor_loop(url, "activity_timeline", body)
        after["server_seconds"] = tenant.stats()["server_seconds"]
        floors.append(after)
    floor = min(floors, key=lambda f: f["seconds"])
    stats = run["tenant"]
    by_object = stats["query_calls_by_object"]
    query_min = max(1, math.ceil(n / PAGE))
    directory_min = math.ceil(companies / PAGE) if n else 0
    metadata_min = 2 if n else 1  # describe activity_timeline (+ Company to resolve)
    return {
        "records": n,
        "run": run,
        "runs": done,
        "floors": floors,
        "floor": floor,
        "calls": {
            "total": stats["calls"],
            "query": stats["query_calls"],
            "by_object": by_object,
            "metadata": stats["describe_calls"] + stats["list_calls"],
            "minimum": query_min + directory_min + metadata_min,
            "minimum_query": query_min + directory_min,
            "minimum_parts": (query_min, directory_min, metadata_min),
        },
    }


def measure_calls(companies: int, per_company: dict[str, int], workdir: Path) -> dict[str, Any]:
    """(1) calls per window of the other objects, the 30-day survey backfill, and no-change runs.

    The data spans the 35 days before the anchor (a Wednesday): the survey backfill is the 30
    days before the anchor, the usage week the one of 2025-03-03, the companies snapshot all
    companies. A window after the anchor has no record modified in it: a sync of it is the
    re-run of a window where nothing changed.
    """
    survey_start, survey_end = ANCHOR - timedelta(days=30), ANCHOR
    week = datetime(2025, 3, 3, tzinfo=ANCHOR.tzinfo)
    accounts = str(workdir / "accounts_b.parquet")
    counts = [
        Count("synced_day", "activity_timeline", "LastModifiedDate", *SYNCED_WINDOW),
        Count("nps", "nps_survey_response", "ModifiedDate", survey_start, survey_end),
        Count("csat", "csat_survey_response", "ModifiedDate", survey_start, survey_end),
        Count("usage", "product_usage__gc", "UsageDate", week, week + timedelta(days=7)),
        Count("companies", "Company"),
    ]
    dataset = {"companies": companies, "days": 35, **per_company}
    survey_settings = {"surveys": {"response_limit": 10_000_000}}
    runs = [
        {
            "object": "surveys",
            "range": (
                survey_start.date().isoformat(),
                (survey_end - timedelta(days=1)).date().isoformat(),
            ),
            "settings": survey_settings,
        },
        {"object": "product_usage", "partition": week.date().isoformat()},
        {"object": "companies", "partition": (ANCHOR - timedelta(days=1)).date().isoformat()},
        # no-change re-runs: windows in which no record was modified
        {"object": "activities", "partition": four_hour_key(ANCHOR), "no_change": True},
        {
            "object": "surveys",
            "partition": ANCHOR.date().isoformat(),
            "settings": survey_settings,
            "no_change": True,
        },
        {
            "object": "product_usage",
            "partition": (week + timedelta(days=14)).date().isoformat(),
            "no_change": True,
        },
        {"object": "companies", "partition": ANCHOR.date().isoformat(), "no_change": True},
        # an already-synced day of activities, synced again with nothing changed (for the notes)
        {"object": "activities", "range": SYNCED_DAY},
        {"object": "activities", "range": SYNCED_DAY, "resync": True},
    ]
    with TenantProcess(dataset, [{}], counts, accounts_path=accounts) as tenant:
        results = in_child(
            run_jobs, tenant.url(), f"duckdb:///{workdir / 'calls.duckdb'}", accounts, runs
        )
        n = {
            name: tenant.count(name) for name in ("nps", "csat", "usage", "companies", "synced_day")
        }
    directory = math.ceil(n["companies"] / PAGE)

    def pages(count: int) -> int:
        return max(1, math.ceil(count / PAGE))

    minimum_query = {
        "surveys": pages(n["nps"]) + pages(n["csat"]) + directory,
        "product_usage": pages(n["usage"]) + directory,
        "companies": pages(n["companies"]),
    }
    minimum_metadata = {"surveys": 3, "product_usage": 2, "companies": 1}
    windows, no_change, resync = {}, {}, {}
    for spec, result in zip(runs, results, strict=True):
        stats = result["tenant"]
        entry = {
            "success": result["success"],
            "calls": stats["calls"],
            "query_calls": stats["query_calls"],
            "by_object": stats["query_calls_by_object"],
            "metadata_calls": stats["describe_calls"] + stats["list_calls"],
        }
        if spec.get("resync"):
            resync = entry
        elif spec.get("no_change"):
            no_change[spec["object"]] = entry
        elif spec["object"] == "activities":
            continue  # the first sync of the day that is synced again
        else:
            name = spec["object"]
            entry["minimum_query"] = minimum_query[name]
            entry["minimum"] = minimum_query[name] + minimum_metadata[name]
            windows[name] = entry
    return {"records": n, "windows": windows, "no_change": no_change, "resync": resync}


def workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="gainsight-bench-")
