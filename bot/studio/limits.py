"""How much painting the studio may ask for, so one person cannot take the machine.

Per user (`PreviewLimits`): one preview in flight and at most `PER_SECOND` a second (a
bucket of `BURST`); beyond that the answer is 429 with how long to wait. For everyone
together (`SharedCpu`): while a careful job runs on this machine, previews take at most
`SHARE` of the time (after a preview of d seconds the next one waits d·(1-SHARE)/SHARE), so
a finger dragging a slider slows a job by about that share and no more; with no job
running, previews go as fast as the painter does. Previews run one at a time, first come
first served.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

PER_SECOND = 4.0
BURST = 4
SHARE = 0.15
"""The share of the time previews may take while a careful job runs (benchmarks/studio.py:
the job took at most 25% longer with a slider dragged meanwhile)."""
MAX_WAIT_S = 5.0
"""The longest a preview waits for its turn in `SharedCpu` (a very slow preview's pause)."""


class TooManyPreviews(Exception):
    """The user must wait `retry_after` seconds (429)."""

    def __init__(self, retry_after: float, why: str) -> None:
        super().__init__(why)
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    at: float
    in_flight: bool = False


class PreviewLimits:
    """One preview in flight per user, `per_second` a second (bursts of `burst`)."""

    def __init__(self, per_second: float = PER_SECOND, burst: int = BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = burst
        self.clock = clock
        self._users: dict[int, _Bucket] = {}

    @contextlib.contextmanager
    def one(self, user_id: int):
        """Holds the user's one preview; raises `TooManyPreviews` when they have one going
        or asked too often."""
        now = self.clock()
        bucket = self._users.get(user_id) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_second)
        bucket.at = now
        self._users[user_id] = bucket
        if bucket.in_flight:
            raise TooManyPreviews(1.0 / self.per_second, "a preview is being painted already")
        if bucket.tokens < 1.0:
            raise TooManyPreviews((1.0 - bucket.tokens) / self.per_second, "too many previews")
        bucket.tokens -= 1.0
        bucket.in_flight = True
        try:
            yield
        finally:
            bucket.in_flight = False
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        """Users whose bucket is full again need no entry."""
        full_after = self.burst / self.per_second
        for user_id in [u for u, b in self._users.items()
                        if not b.in_flight and now - b.at > full_after]:
            del self._users[user_id]


class SharedCpu:
    """Previews one at a time; while `contended()` (a careful job is running here) each one
    leaves the machine to the jobs for long enough that previews take `share` of the time."""

    def __init__(self, contended: Callable[[], bool], share: float = SHARE,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = asyncio.sleep) -> None:
        self.contended = contended
        self.share = share
        self.clock = clock
        self.sleep = sleep
        self._lock = asyncio.Lock()
        self._next_start = 0.0

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self._lock:
            wait = min(self._next_start - self.clock(), MAX_WAIT_S)
            if wait > 0 and self.contended():
                await self.sleep(wait)  # type: ignore[misc]
            started = self.clock()
            try:
                yield
            finally:
                ended = self.clock()
                pause = (ended - started) * (1.0 - self.share) / self.share
                self._next_start = ended + pause


def retry_after_header(seconds: float) -> str:
    """HTTP's Retry-After: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
