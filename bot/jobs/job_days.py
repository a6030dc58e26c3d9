"""Daily counts of the finished jobs the retention deleted (the `job_days` table, schema 9), so
/stats reads the same totals after the rows are gone.

One row per day and status: the day the jobs were asked for (the server's local date, as /stats
counts from local midnight), how many there were, how many were clips, how many ran more than
once, how many were computed and their computing seconds in all. Nothing in it names a user or
a chat. `add_to_days` is called in the transaction that deletes the rows; `finished_days` is
what /stats adds to what it reads from the `jobs` table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import aiosqlite

from bot.store import fetch_all

FINISHED = ("done", "failed", "cancelled")
"""The statuses of jobs that will not change any more."""


@dataclass
class DayCounts:
    """The counts of `job_days` over some days, summed."""

    by_status: dict[str, int] = field(default_factory=dict)
    clips: int = 0
    retried: int = 0
    computed: int = 0
    compute_seconds: float = 0.0


async def add_to_days(db: aiosqlite.Connection, job_ids: list[int]) -> None:
    """Adds the jobs `job_ids` (finished ones, about to be deleted) to their days' counts."""
    marks = ", ".join("?" * len(job_ids))
    await db.execute(
        f"""
        INSERT INTO job_days (day, status, jobs, clips, retried, computed, compute_seconds)
        SELECT date(created_at, 'unixepoch', 'localtime'), status, COUNT(*),
            TOTAL(media != 'photo'), TOTAL(attempts > 1),
            TOTAL(computed_at IS NOT NULL AND started_at IS NOT NULL),
            TOTAL(CASE WHEN computed_at IS NOT NULL AND started_at IS NOT NULL
                  THEN computed_at - started_at END)
        FROM jobs WHERE id IN ({marks}) GROUP BY 1, 2
        ON CONFLICT (day, status) DO UPDATE SET
            jobs = jobs + excluded.jobs, clips = clips + excluded.clips,
            retried = retried + excluded.retried, computed = computed + excluded.computed,
            compute_seconds = compute_seconds + excluded.compute_seconds
        """,
        job_ids,
    )


async def finished_days(db: aiosqlite.Connection, since: float) -> DayCounts:
    """The deleted jobs of the whole days from `since` on (a day `since` falls inside of
    counts only from its next midnight: its rows, if any, were not asked for after `since`)."""
    rows = await fetch_all(
        db,
        "SELECT status, SUM(jobs), SUM(clips), SUM(retried), SUM(computed), "
        "TOTAL(compute_seconds) FROM job_days WHERE day >= ? GROUP BY status",
        (first_whole_day(since),),
    )
    counts = DayCounts()
    for status, jobs, clips, retried, computed, seconds in rows:
        counts.by_status[status] = int(jobs)
        counts.clips += int(clips)
        counts.retried += int(retried)
        counts.computed += int(computed)
        counts.compute_seconds += float(seconds)
    return counts


def first_whole_day(since: float) -> str:
    """The local date of the first midnight at or after `since`, as `job_days` writes it."""
    moment = dt.datetime.fromtimestamp(since)
    day = moment.date()
    if moment != dt.datetime.combine(day, dt.time()):
        day += dt.timedelta(days=1)
    return day.isoformat()
