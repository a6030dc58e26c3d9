"""The durable job queue: every accepted request is a row before the user hears "queued".

A job's life: QUEUED -> RUNNING (claimed; `attempts` counts claims) -> result on disk
(`complete`, still RUNNING) -> DONE once Telegram accepted the photo (`mark_delivered`), or
FAILED / CANCELLED. A result that exists but is not delivered is re-sent after a restart
(`pending_delivery`), never recomputed; a job with a `delivered_message_id` is never sent again.

Order is fair: round-robin across users, FIFO within a user, so one user's ten jobs do not push
everyone else back; the order and the waiting-time estimate are `bot.jobs.fair_order`. The
handlers and the runner see only the `JobQueue` protocol (`bot.jobs.model`, with the job
itself), so a distributed backend can replace `SqliteJobQueue` without touching them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import aiosqlite

from bot.jobs.fair_order import (
    COMPUTING,
    eta,
    queued_in_order,
    recent_durations,
    remaining,
)
from bot.jobs.fair_sql import next_to_claim, place_of
from bot.jobs.job_days import finished_days
from bot.jobs.model import (
    Job,
    JobQueue,
    JobRequest,
    JobStatus,
    QueueFull,
    UserLimitReached,
)
from bot.settings import JobSettings
from bot.store import Store, fetch_all, fetch_one

log = logging.getLogger("stylebot.jobs")

class SqliteJobQueue(JobQueue):
    """`JobQueue` on the bot's SQLite database (the `jobs` and `turns` tables of `bot.store`).

    Limits: per user at most one job computing and `max_queued_per_user` queued; at most
    `max_queue` queued in all. Retries (`retry_later`, `recover`) bypass both caps: those jobs
    were accepted already.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_queued_per_user: int = 3,
        max_queue: int = 100,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.max_queued_per_user = max_queued_per_user
        self.max_queue = max_queue
        self._clock = clock

    # ------------------------------------------------------------------ writes

    async def enqueue(self, request: JobRequest) -> Job:
        """Stores the request as a QUEUED job, or raises `UserLimitReached` / `QueueFull`."""
        (job,) = await self.enqueue_many([request])
        return job

    async def enqueue_many(self, requests: list[JobRequest]) -> list[Job]:
        """Stores all the requests (one user's) as QUEUED jobs in one transaction, or none of
        them: `UserLimitReached` / `QueueFull` if the caps leave no room for all."""
        if not requests:
            return []
        user_id = requests[0].user_id
        async with self.store.transaction() as db:
            (total,) = await fetch_one(db, "SELECT COUNT(*) FROM jobs WHERE status = 'queued'")
            (mine,) = await fetch_one(
                db, "SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND user_id = ?",
                (user_id,))
            if mine + len(requests) > self.max_queued_per_user:
                raise UserLimitReached(mine, self.max_queued_per_user)
            if total + len(requests) > self.max_queue:
                raise QueueFull(self.max_queue)
            jobs = []
            for request in requests:
                cursor = await db.execute(
                    """
                    INSERT INTO jobs (chat_id, user_id, chat_type, reply_to_message_id,
                        content_file_id, style_file_id, preset, settings, language, status,
                        attempts, created_at, media, frames, content_kind)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)
                    RETURNING *
                    """,
                    (
                        request.chat_id,
                        request.user_id,
                        request.chat_type,
                        request.reply_to_message_id,
                        request.content_file_id,
                        request.style_file_id,
                        request.preset,
                        request.settings.to_json(),
                        request.language,
                        self._clock(),
                        request.media,
                        request.frames,
                        request.content_kind,
                    ),
                )
                jobs.append(_job(await cursor.fetchone()))
            return jobs

    async def claim(self) -> Job | None:
        """The next job in fair order, now RUNNING (attempts + 1), or None if nothing can run:
        users whose previous job is still computing are skipped."""
        async with self.store.transaction() as db:
            computing = await fetch_all(db, f"SELECT user_id FROM jobs WHERE {COMPUTING}")
            chosen = await next_to_claim(db, {row[0] for row in computing})
            if chosen is None:
                return None
            cursor = await db.execute(
                """
                UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?,
                    computed_at = NULL, result_path = NULL
                WHERE id = ? RETURNING *
                """,
                (self._clock(), chosen),
            )
            job = _job(await cursor.fetchone())
            (turn,) = await fetch_one(db, "SELECT COALESCE(MAX(served_at), 0) + 1 FROM turns")
            await db.execute(
                "INSERT INTO turns (user_id, served_at) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET served_at = excluded.served_at",
                (job.user_id, turn),
            )
            return job

    async def set_status_message(self, job_id: int, message_id: int) -> None:
        async with self.store.transaction() as db:
            await db.execute(
                "UPDATE jobs SET status_message_id = ? WHERE id = ?", (message_id, job_id)
            )

    async def complete(self, job_id: int, result_path: str, *, seconds: float,
                       frames: int | None = None, cut_at_s: float | None = None,
                       kept_instant: bool = False) -> None:
        """Records that the result is on disk (`seconds`: the worker time, for the metrics);
        a clip's painted `frames` replace the estimate (later estimates learn from them) and
        `cut_at_s` says where a clip longer than the limit was cut; `kept_instant`: the
        instant picture, kept by its requester, for /stats. The job stays RUNNING until
        delivered; a job cancelled meanwhile stays cancelled."""
        async with self.store.transaction() as db:
            cursor = await db.execute(
                "UPDATE jobs SET result_path = ?, computed_at = ?, "
                "frames = COALESCE(?, frames), cut_at_s = ?, kept_instant = ? "
                "WHERE id = ? AND status = 'running'",
                (result_path, self._clock(), frames, cut_at_s, int(kept_instant), job_id),
            )
            if cursor.rowcount == 0:
                log.info("job %d was no longer running when its result arrived", job_id)

    async def mark_delivered(self, job_id: int, message_id: int) -> None:
        """DONE, with the id of the message Telegram accepted. The first id recorded wins:
        a job is delivered at most once."""
        async with self.store.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE jobs SET delivered_message_id = ?, status = 'done', finished_at = ?
                WHERE id = ? AND delivered_message_id IS NULL
                """,
                (message_id, self._clock(), job_id),
            )
            if cursor.rowcount == 0:
                log.warning(
                    "job %d: delivery of message %d not recorded (already delivered or job gone)",
                    job_id,
                    message_id,
                )

    async def fail(self, job_id: int, error: str) -> None:
        """FAILED with `error`, unless the job already ended (done, failed, cancelled)."""
        async with self.store.transaction() as db:
            await db.execute(
                """
                UPDATE jobs SET status = 'failed', error = ?, finished_at = ?
                WHERE id = ? AND status IN ('queued', 'running')
                """,
                (error, self._clock(), job_id),
            )

    async def retry_later(self, job_id: int, settings: JobSettings | None = None) -> None:
        """Back to QUEUED (after a worker crash or out-of-memory), ahead of first attempts:
        its user already waited for their turn. `settings`, when given, replaces the job's
        (e.g. with a smaller `size_scale`)."""
        async with self.store.transaction() as db:
            await db.execute(
                """
                UPDATE jobs SET status = 'queued', started_at = NULL, computed_at = NULL,
                    result_path = NULL, settings = COALESCE(?, settings)
                WHERE id = ? AND status IN ('queued', 'running')
                """,
                (settings.to_json() if settings is not None else None, job_id),
            )

    async def cancel(self, chat_id: int, user_id: int) -> list[Job]:
        """Cancels the user's queued and running jobs in this chat. Returns them as they were
        just before, so the caller can tell which one to stop in the worker (`status` RUNNING)."""
        async with self.store.transaction() as db:
            where = "chat_id = ? AND user_id = ? AND status IN ('queued', 'running')"
            rows = await fetch_all(
                db, f"SELECT * FROM jobs WHERE {where} ORDER BY id", (chat_id, user_id)
            )
            await db.execute(
                f"UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE {where}",
                (self._clock(), chat_id, user_id),
            )
            return [_job(row) for row in rows]

    async def recover(self, max_attempts: int) -> tuple[list[Job], list[Job]]:
        """At start-up: jobs left computing by a dead process go back to QUEUED while they have
        had fewer than `max_attempts` claims, else FAILED. Computed but undelivered jobs are
        left for `pending_delivery`. Returns (requeued, failed), as they are now."""
        async with self.store.transaction() as db:
            now = self._clock()
            requeued = await fetch_all(
                db,
                f"""
                UPDATE jobs SET status = 'queued', started_at = NULL
                WHERE {COMPUTING} AND attempts < ? RETURNING *
                """,
                (max_attempts,),
            )
            failed = await fetch_all(
                db,
                f"""
                UPDATE jobs SET status = 'failed', finished_at = ?,
                    error = 'interrupted ' || attempts || ' times; giving up'
                WHERE {COMPUTING} RETURNING *
                """,
                (now,),
            )
        return sorted(map(_job, requeued), key=_by_id), sorted(map(_job, failed), key=_by_id)

    # ------------------------------------------------------------------ reads

    async def get(self, job_id: int) -> Job | None:
        async with self.store.read() as db:
            row = await fetch_one(db, "SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row is not None else None

    async def position(self, job_id: int) -> tuple[int, float | None]:
        """(jobs ahead, estimated seconds until its result) for a queued job; "ahead" counts
        the jobs computing now and the queued ones that `claim` will hand out first. A running
        job gives (0, its remaining time); an ended or unknown job (0, None). ETAs are None
        until some job has finished, and assume one worker."""
        async with self.store.read() as db:
            job = await fetch_one(
                db, "SELECT id, status, started_at, media, frames FROM jobs WHERE id = ?",
                (job_id,)
            )
            if job is None or job["status"] not in ("queued", "running"):
                return 0, None
            durations = await recent_durations(db)
            now = self._clock()
            if job["status"] == "running":
                expected = durations.of(job["media"], job["frames"])
                return 0, remaining(expected, job["started_at"], now)
            computing = [
                (r[0], durations.of(r[1], r[2])) for r in await fetch_all(
                    db, f"SELECT started_at, media, frames FROM jobs WHERE {COMPUTING}")
            ]
            place = await place_of(db, job_id)
        if place is None:
            return 0, None
        expected = durations.total(place.pictures, place.clip_frames)
        return len(computing) + place.ahead, eta(expected, computing, now)

    async def pending_delivery(self) -> list[Job]:
        """Computed results not yet delivered, oldest first: after a restart, send these
        (if the file is gone, `retry_later` recomputes)."""
        async with self.store.read() as db:
            rows = await fetch_all(
                db,
                """
                SELECT * FROM jobs WHERE status = 'running' AND result_path IS NOT NULL
                    AND delivered_message_id IS NULL
                ORDER BY computed_at, id
                """,
            )
        return [_job(row) for row in rows]

    async def stats(self, since: float) -> dict[str, Any]:
        """For /stats: jobs created since `since` by status (and how many were clips), the
        queue now, the mean computing time and the failures since then (with the latest
        errors). Jobs the retention deleted count through their days' counts
        (`bot.jobs.job_days`)."""
        async with self.store.read() as db:
            days = await finished_days(db, since)
            by_status = {status.value: days.by_status.get(status.value, 0)
                         for status in JobStatus}
            computed_count, seconds = days.computed, days.compute_seconds
            retried, clips, kept = days.retried, days.clips, 0
            # One pass over the day's jobs. INDEXED BY: grouping along the status index would
            # read the whole history instead. (Kept instant pictures are counted from the jobs
            # alone: the retention deletes none of today's.)
            for (status, count, day_retried, day_clips, day_kept, day_computed,
                 day_seconds) in await fetch_all(
                db,
                """
                SELECT status, COUNT(*), TOTAL(attempts > 1), TOTAL(media != 'photo'),
                    TOTAL(kept_instant), TOTAL(computed_at IS NOT NULL AND started_at IS NOT NULL),
                    TOTAL(CASE WHEN computed_at IS NOT NULL AND started_at IS NOT NULL
                          THEN computed_at - started_at END)
                FROM jobs INDEXED BY jobs_by_created WHERE created_at >= ? GROUP BY status
                """,
                (since,),
            ):
                by_status[status] += count
                retried, clips = retried + int(day_retried), clips + int(day_clips)
                kept += int(day_kept)
                computed_count += int(day_computed)
                seconds += day_seconds
            current = dict(await fetch_all(
                db,
                "SELECT status, COUNT(*) FROM jobs "
                "WHERE status IN ('queued', 'running') GROUP BY status",
            ))
            failures = await fetch_all(
                db,
                "SELECT id, error FROM jobs WHERE status = 'failed' AND finished_at >= ? "
                "ORDER BY finished_at DESC",
                (since,),
            )
        return {
            "since": since,
            "by_status": by_status,
            "total": sum(by_status.values()),
            "queue_depth": current.get("queued", 0),
            "running": current.get("running", 0),
            "computed": computed_count,
            "mean_seconds": seconds / computed_count if computed_count else None,
            "failures": len(failures) + days.by_status.get("failed", 0),
            "retried": retried,
            "clips": clips,
            "kept_instant": kept,
            "recent_errors": [(row["id"], row["error"]) for row in failures[:5]],
        }

    async def queue_snapshot(self) -> list[Job]:
        """Running jobs (oldest claim first), then queued ones in the order `claim` takes them."""
        async with self.store.read() as db:
            running = await fetch_all(
                db, "SELECT * FROM jobs WHERE status = 'running' ORDER BY started_at, id"
            )
            queued = {
                row["id"]: row
                for row in await fetch_all(db, "SELECT * FROM jobs WHERE status = 'queued'")
            }
            order = await queued_in_order(db)
        return [_job(row) for row in running] + [_job(queued[w.id]) for w in order]


def _by_id(job: Job) -> int:
    return job.id


def _job(row: aiosqlite.Row) -> Job:
    values = {f.name: row[f.name] for f in fields(Job)}
    return Job(**values | {"settings": JobSettings.from_json(row["settings"]),
                           "status": JobStatus(row["status"])})
