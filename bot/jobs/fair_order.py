"""The order queued jobs are served in, and how long each will wait.

`fair_order` is the order `SqliteJobQueue` (`bot.jobs.queue`) hands out jobs in (asked of SQLite
with `bot.jobs.fair_sql`, which follows it, at scale): retried jobs first, then
round-robin across users (the user served least recently first), FIFO within a user. A job's
estimated wait (`eta`) is what each job ahead is expected to take (`Durations`: the mean of the
last `ETA_HISTORY` pictures' computing times; a clip's frames times the mean time per frame of
the last clips), minus what the jobs computing now have done already; it assumes one worker.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from bot.store import fetch_all, fetch_one

ETA_HISTORY = 20
"""How many recent job durations the ETA averages."""

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
        """A job's expected computing time. A clip before any clip finished counts as a
        picture (a guess; the first clip's time corrects it)."""
        if media != "photo" and self.per_frame is not None:
            return self.per_frame * max(frames, 1)
        return self.per_picture

    def total(self, pictures: int, clips: int, clip_frames: int) -> float | None:
        """What `pictures` pictures and `clips` clips of `clip_frames` frames in all take
        together (the sum of their `of`); None if one of them is unknown."""
        total = 0.0
        if clips:
            if self.per_frame is not None:
                total += self.per_frame * clip_frames
            else:
                pictures += clips
        if pictures:
            if self.per_picture is None:
                return None
            total += self.per_picture * pictures
        return total


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


async def mean_durations(db: aiosqlite.Connection) -> Durations:
    """The mean computing time of the last `ETA_HISTORY` pictures, and per frame of the last
    `ETA_HISTORY` clips."""
    rows = {}
    for media, per in (("picture", "1"), ("clip", "frames")):
        row = await fetch_one(
            db,
            f"""
            SELECT AVG(seconds) FROM (
                SELECT (computed_at - started_at) / MAX({per}, 1) AS seconds FROM jobs
                WHERE computed_at IS NOT NULL AND started_at IS NOT NULL
                    AND (media = 'photo') = {int(media == "picture")}
                ORDER BY computed_at DESC LIMIT {ETA_HISTORY}
            )
            """,
        )
        rows[media] = None if row[0] is None else max(float(row[0]), 0.0)
    return Durations(rows["picture"], rows["clip"])


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
