"""The fair order of `bot.jobs.fair_order`, asked of SQLite: the next job to claim and a job's
place in the queue, without reading every waiting job into Python.

`fair_order` is the reference: retried jobs first (oldest first), then round-robin across users
(the least recently served first, ties by their oldest job), FIFO within a user. Read as rounds,
that is: a waiting job that is its user's k-th (not counting retried ones) is served in round
k, and within a round the users come in the order of their key (when last served, their oldest
job), which taking a job does not change, since every user taken moves behind all the keys of
that round. So the jobs ahead of a user's k-th job are the retried ones, every job of rank
below k, and the k-th jobs of the users whose key is smaller. A user with a retried job is
served (and moved behind everyone) before the rounds begin; `_bumped` gives those users the
turns `fair_order` gives them.

With no retried job waiting (the usual case) both read `queue_users`, one row per waiting user
(their key, how many wait, how many of those are clips), which migration 9's triggers keep
whatever statement changes the jobs or the turns: claiming is a walk along its index, a place
one pass over the waiting users (a user with more jobs waiting than come before this one counts
the share of their clips the jobs ahead hold on average, for the estimate). With retried jobs
waiting, a place is computed from every waiting job (a window over the partial index
`jobs_waiting`). `tests/test_fair_sql.py` holds both to `fair_order` on random queues, and the
table to the jobs after every kind of change. With 10,000 waiting they stay within the
benchmark's targets (benchmarks/database.py), where the Python order took tens of
milliseconds per message. INDEXED BY names the partial indexes: without statistics SQLite's
planner would rather walk the status index and read every waiting row from the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite

from bot.jobs.fair_order import Waiting
from bot.store import fetch_all, fetch_one


@dataclass(frozen=True)
class Place:
    """A waiting job's place: the queued jobs `fair_order` hands out before it (`ahead`), and
    what they and the job itself are (for its estimate): pictures, clips and the clips'
    frames (at least 1 each)."""

    ahead: int
    pictures: int
    clips: int
    clip_frames: int


async def retried(db: aiosqlite.Connection) -> list[Waiting]:
    """The waiting jobs that ran before (a crash, a restart), oldest first."""
    rows = await fetch_all(
        db,
        "SELECT id, user_id, attempts, 0, media, frames FROM jobs INDEXED BY jobs_retried "
        "WHERE status = 'queued' AND attempts > 0 ORDER BY id",
    )
    return [Waiting(*row) for row in rows]


async def next_to_claim(db: aiosqlite.Connection, busy: set[int]) -> int | None:
    """The id of the job `claim` takes: the first in fair order whose user has no job
    computing (`busy`); None if there is none."""
    for job in await retried(db):
        if job.user_id not in busy:
            return job.id
    row = await fetch_one(
        db,
        "SELECT first FROM queue_users WHERE user_id NOT IN (SELECT value FROM json_each(?)) "
        "ORDER BY turn, first LIMIT 1",
        (json.dumps(sorted(busy)),),
    )
    return None if row is None else int(row[0])


async def place_of(db: aiosqlite.Connection, job_id: int) -> Place | None:
    """Where the waiting job `job_id` stands in fair order; None if it is not waiting."""
    again = await retried(db)
    for index, job in enumerate(again):
        if job.id == job_id:
            return _place(index, again[:index + 1])
    if not again:
        return await _place_in_rounds(db, job_id)
    bumps = await _bumped(db, again)
    row = await fetch_one(
        db,
        """
        WITH waiting AS (
            SELECT id, user_id, media, frames,
                ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id) AS rank
            FROM jobs INDEXED BY jobs_waiting WHERE status = 'queued' AND attempts = 0
        ), keys AS (
            SELECT w.user_id, w.id AS first, COALESCE(b.turn, t.served_at, 0) AS turn
            FROM waiting w LEFT JOIN turns t ON t.user_id = w.user_id
                LEFT JOIN (SELECT CAST(key AS INTEGER) AS user_id, value AS turn
                           FROM json_each(?)) b ON b.user_id = w.user_id
            WHERE w.rank = 1
        ), me AS (
            SELECT w.rank, k.turn, k.first FROM waiting w JOIN keys k ON k.user_id = w.user_id
            WHERE w.id = ?
        )
        SELECT COUNT(*), TOTAL(w.media = 'photo'), TOTAL(w.media != 'photo'),
            TOTAL(CASE WHEN w.media != 'photo' THEN MAX(w.frames, 1) END)
        FROM me, waiting w JOIN keys k ON k.user_id = w.user_id
        WHERE w.rank < me.rank OR (w.rank = me.rank AND (k.turn, k.first) <= (me.turn, me.first))
        """,
        (json.dumps(bumps), job_id),
    )
    if row is None or not row[0]:
        return None
    count, pictures, clips, frames = (int(value) for value in row)
    before = _place(len(again), again)
    return Place(before.ahead + count - 1, before.pictures + pictures, before.clips + clips,
                 before.clip_frames + frames)


async def _place_in_rounds(db: aiosqlite.Connection, job_id: int) -> Place | None:
    """`place_of` with no retried job waiting (the usual case), from `queue_users`: one row
    per waiting user. A user with more jobs waiting than come before this one counts the share
    of their clips that the jobs ahead would hold on average."""
    me = await fetch_one(
        db,
        """
        SELECT q.user_id, q.turn, q.first, (
            SELECT COUNT(*) FROM jobs INDEXED BY jobs_waiting WHERE status = 'queued'
                AND attempts = 0 AND user_id = q.user_id AND id <= :job)
        FROM queue_users q WHERE q.user_id = (
            SELECT user_id FROM jobs WHERE id = :job AND status = 'queued' AND attempts = 0)
        """,
        {"job": job_id},
    )
    if me is None:
        return None
    user, turn, first, rank = me
    row = await fetch_one(
        db,
        """
        SELECT TOTAL(n), TOTAL(n * clips / waiting), TOTAL(n * clip_frames / waiting) FROM (
            SELECT waiting, CAST(clips AS REAL) AS clips, clip_frames,
                MIN(waiting, CASE WHEN user_id = :user OR (turn, first) < (:turn, :first)
                             THEN :rank ELSE :rank - 1 END) AS n
            FROM queue_users)
        """,
        {"user": user, "turn": turn, "first": first, "rank": rank},
    )
    count, clips, frames = row
    clips = round(clips)
    return Place(int(count) - 1, int(count) - clips, clips, round(frames))


async def _bumped(db: aiosqlite.Connection, again: list[Waiting]) -> dict[int, int]:
    """The turns `fair_order` gives the users of retried jobs: after the latest turn of any
    waiting user, one more for each retried job, in the order they are served."""
    if not again:
        return {}
    row = await fetch_one(
        db,
        "SELECT COALESCE(MAX(t.served_at), 0) FROM turns t "
        "WHERE t.user_id IN (SELECT user_id FROM jobs WHERE status = 'queued')",
    )
    turn = int(row[0])
    bumps = {}
    for job in again:
        turn += 1
        bumps[job.user_id] = turn
    return bumps


def _place(ahead: int, jobs: list[Waiting]) -> Place:
    """`ahead` jobs before it, and `jobs` (those and itself) described."""
    clips = [job for job in jobs if job.media != "photo"]
    return Place(ahead, len(jobs) - len(clips), len(clips),
                 sum(max(job.frames, 1) for job in clips))
