"""A sliding-window call budget that several processes on one machine share.

Gainsight counts synchronous calls per tenant in fixed one-minute windows (100/min by default).
Dagster runs every step in its own process, so a limiter held in memory would let two concurrent
runs spend twice the budget. This limiter keeps the timestamps of recent calls in a small state
file guarded by ``fcntl.flock``: a call may start only when fewer than ``calls`` calls started in the
trailing ``period`` seconds, across every process that points at the same file. A sliding window of
``period`` never admits more than ``calls`` in any fixed window of the same length either.

Without a state path the budget is per process (tests, one-off CLI calls).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path


class RateLimiter:
    def __init__(
        self,
        calls: int,
        period: float,
        *,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls < 1 or period <= 0:
            raise ValueError("a rate limit needs at least one call per positive period")
        self.calls = calls
        self.period = period
        self.state_path = state_path
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._recent: list[float] = []
        self.waited_seconds = 0.0

    def acquire(self) -> float:
        """Block until one more call fits in the budget, record it, and return its stamp."""
        while True:
            with self._lock, self._shared_state() as recent:
                now = self._clock()
                recent[:] = [t for t in recent if now - t < self.period]
                if len(recent) < self.calls:
                    recent.append(now)
                    return now
                wait = recent[0] + self.period - now
            wait = max(wait, 0.001)
            self.waited_seconds += wait
            self._sleep(wait)

    def defer(self, seconds: float) -> None:
        """Hold back every caller for ``seconds`` (after Gainsight answered 429)."""
        with self._lock, self._shared_state() as recent:
            until = self._clock() + seconds
            # Fill the window with future stamps so nobody starts before `until`.
            recent[:] = [until - self.period] * self.calls

    @contextlib.contextmanager
    def _shared_state(self) -> Iterator[list[float]]:
        if self.state_path is None:
            yield self._recent
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                text = handle.read()
                try:
                    recent = [float(t) for t in json.loads(text)] if text.strip() else []
                except (ValueError, TypeError):
                    recent = []  # a torn or foreign file: start a fresh window
                yield recent
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(recent))
                handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
