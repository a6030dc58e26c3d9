"""The order queued jobs are served in, and how long each will wait.

`fair_order` is the order `SqliteJobQueue` (`bot.jobs.queue`) hands out jobs in (asked of SQLite
with `bot.jobs.fair_sql`, which follows it, at scale): retried jobs first, then
round-robin across users (the user served least recently first), FIFO within a user. A job's
estimated wait (`eta`) is what each job ahead is expected to take (`Durations`: a picture the
median of the last `ETA_HISTORY` pictures' computing times; a clip its frames times the median
time per frame of the last `ETA_HISTORY` clips, each clip's time over the frames it painted, or
`FRAME_PRIOR_S` before any clip has finished), minus what the jobs computing now have done
already; it assumes one worker. The median, not the mean: a worker's first job after a start
(tracing the network, waiting for the worker) can take forty times a usual one, and one such
job among twenty would lift every estimate threefold.
"""

from __future__ import annotations

import heapq
import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from bot.store import fetch_all

ETA_HISTORY = 20
"""How many recent job durations the ETA looks at."""
FRAME_PRIOR_S = 0.25
"""A clip's time per frame before any clip has finished: about what the instant network and
the steady strokes take for a 480 px frame on two CPU cores (docs/animations.md). Counting a
clip as one picture instead told a photo behind a 10 s clip "about 6 s" for a 10 s wait."""

COMPUTING = "status = 'running' AND result_path IS NULL"
"""SQL condition for the jobs that hold a user's "running" slot: claimed and still computing."""


@dataclass(frozen=True)
class Waiting:
    """A queued job as the fair-order computation sees it."""

    id: int
    user_id: int
    attempts: int
    served_at: int
    """The user's turn number when last served (0: never)."""
    media: str = "photo"
    frames: int = 1


@dataclass(frozen=True)
class Durations:
    """What jobs take, from the recent ones: a picture (`per_picture`) and a clip's frame
    (`per_frame`); None where none has finished yet."""

    per_picture: float | None
    per_frame: float | None = None

    def of(self, media: str, frames: int) -> float | None:
        """A job's expected computing time: a picture's median, a clip's frames at the median
        time per frame (`FRAME_PRIOR_S` until a clip has finished)."""
        if media == "photo":
            return self.per_picture
        return self._per_frame * max(frames, 1)

    def total(self, pictures: int, clip_frames: int) -> float | None:
        """What `pictures` pictures and clips of `clip_frames` frames in all take together
        (the sum of their `of`); None while a picture's time is unknown."""
        total = self._per_frame * clip_frames
        if pictures:
            if self.per_picture is None:
                return None
            total += self.per_picture * pictures
        return total

    @property
    def _per_frame(self) -> float:
        return self.per_frame if self.per_frame is not None else FRAME_PRIOR_S


def fair_order(waiting: Iterable[Waiting]) -> list[Waiting]:
    """The order `claim` hands out queued jobs: retried jobs first (oldest first), then
    round-robin: always the user served least recently (never served counts as longest ago;
    ties by their oldest job), FIFO within a user. Taking a job makes its user the most
    recently served."""
    waiting = sorted(waiting, key=lambda w: w.id)
    turns = {w.user_id: w.served_at for w in waiting}
    turn = max(turns.values(), default=0)
    order: list[Waiting] = []
    per_user: dict[int, deque[Waiting]] = {}
    for w in waiting:
        if w.attempts > 0:
            order.append(w)
            turn += 1
            turns[w.user_id] = turn
        else:
            per_user.setdefault(w.user_id, deque()).append(w)
    heap = [(turns[user], jobs[0].id, user) for user, jobs in per_user.items()]
    heapq.heapify(heap)
    while heap:
        _, _, user = heapq.heappop(heap)
        jobs = per_user[user]
        order.append(jobs.popleft())
        turn += 1
        if jobs:
            heapq.heappush(heap, (turn, jobs[0].id, user))
    return order


async def queued_in_order(db: aiosqlite.Connection) -> list[Waiting]:
    """The queued jobs, in the order `claim` will hand them out."""
    rows = await fetch_all(
        db,
        """
        SELECT j.id, j.user_id, j.attempts, COALESCE(t.served_at, 0), j.media, j.frames
        FROM jobs j LEFT JOIN turns t ON t.user_id = j.user_id
        WHERE j.status = 'queued'
        """,
    )
    return fair_order(Waiting(*row) for row in rows)


async def recent_durations(db: aiosqlite.Connection) -> Durations:
    """The median computing time of the last `ETA_HISTORY` pictures, and per frame of the last
    `ETA_HISTORY` clips."""
    medians = {}
    for media, per in (("picture", "1"), ("clip", "frames")):
        rows = await fetch_all(
            db,
            f"""
            SELECT (computed_at - started_at) / MAX({per}, 1) FROM jobs
            WHERE computed_at IS NOT NULL AND started_at IS NOT NULL
                AND (media = 'photo') = {int(media == "picture")}
            ORDER BY computed_at DESC LIMIT {ETA_HISTORY}
            """,
        )
        seconds = [max(float(row[0]), 0.0) for row in rows]
        medians[media] = statistics.median(seconds) if seconds else None
    return Durations(medians["picture"], medians["clip"])


def remaining(expected: float | None, started_at: float | None, now: float) -> float | None:
    """Seconds left for a job computing since `started_at`, if it takes `expected`."""
    if expected is None:
        return None
    return max(expected - (now - (started_at or now)), 0.0)


def eta(expected: float | None, computing: list[tuple[float | None, float | None]],
        now: float) -> float | None:
    """Seconds until the result of a queued job when it and the jobs queued ahead of it take
    `expected` together, behind the jobs computing as (started_at, expected time); None while
    that time is unknown (no job has finished)."""
    if expected is None:
        return None
    ahead = sum(remaining(e, started, now) or 0.0 for started, e in computing)
    return ahead + expected
