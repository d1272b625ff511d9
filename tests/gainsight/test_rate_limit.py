"""The shared call budget holds across processes, as concurrent Dagster runs are."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from resources.gainsight.rate_limit import RateLimiter

CALLS, PERIOD = 5, 0.5


def _spend(state: str, n: int, out: multiprocessing.Queue) -> None:
    limiter = RateLimiter(CALLS, PERIOD, state_path=Path(state))
    stamps = []
    for _ in range(n):
        stamps.append(limiter.acquire())  # the stamp the shared window recorded
    out.put(stamps)


def test_processes_sharing_a_state_file_never_exceed_the_budget(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()
    workers = [
        ctx.Process(target=_spend, args=(str(tmp_path / "rate.json"), 6, out)) for _ in range(3)
    ]
    for w in workers:
        w.start()
    stamps = sorted(s for _ in workers for s in out.get(timeout=30))
    for w in workers:
        w.join(timeout=30)

    assert len(stamps) == 18
    # in every window of PERIOD seconds at most CALLS calls started
    for i, start in enumerate(stamps):
        in_window = [s for s in stamps[i:] if s - start < PERIOD]
        assert len(in_window) <= CALLS
    # and the budget was used, not starved: 18 calls need at least 3 full periods
    assert stamps[-1] - stamps[0] >= 3 * PERIOD * 0.9


def test_defer_holds_every_caller_back() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, 60.0, clock=lambda: now[0], sleep=sleep)
    limiter.defer(10.0)
    limiter.acquire()
    assert sum(slept) >= 10.0
