"""The fair order asked of SQLite (`bot.jobs.fair_sql`) is the reference order of
`bot.jobs.fair_order`, on random queues: users served long ago, lately or never, retried jobs
(of busy users too), pictures and clips, several jobs per user; and `queue_users`, which its
triggers keep, is what the jobs say after every kind of change."""

from __future__ import annotations

import contextlib
import random

import pytest

from bot.jobs.fair_order import Waiting, fair_order
from bot.jobs.fair_sql import next_to_claim, place_of
from bot.jobs.model import JobRequest, UserLimitReached
from bot.jobs.queue import SqliteJobQueue
from bot.settings import JobSettings
from tests.databases import opened

pytestmark = pytest.mark.asyncio


async def random_queue(store, rng: random.Random, *, uniform: bool
                       ) -> tuple[list[Waiting], set[int]]:
    """Fills the database with a random queue; returns the waiting jobs as `fair_order` sees
    them and the users with a job computing. `uniform`: each user's jobs are all alike
    (pictures, or clips of one length)."""
    users = rng.sample(range(1, 60), rng.randint(1, 12))
    kinds = {user: (rng.choice(["photo", "clip", "round"]), rng.randint(1, 150))
             for user in users}
    served = {user: rng.choice([0, rng.randint(1, 40)]) for user in users}
    busy = {user for user in users if rng.random() < 0.3}
    waiting = []
    async with store.transaction() as db:
        for user, turn in served.items():
            if turn:
                await db.execute("INSERT INTO turns (user_id, served_at) VALUES (?, ?)",
                                 (user, turn))
            if user in busy:
                await db.execute(
                    "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, status, "
                    "attempts, created_at) VALUES (?, ?, 'private', 'F', 'running', 1, 0)",
                    (user, user))
        for _ in range(rng.randint(0, 30)):
            user = rng.choice(users)
            attempts = 1 if rng.random() < 0.15 else 0
            media, frames = kinds[user] if uniform else (
                rng.choice(["photo", "photo", "clip", "round"]), rng.randint(1, 150))
            frames = 1 if media == "photo" else frames
            status = "queued" if rng.random() < 0.9 else rng.choice(["done", "cancelled"])
            cursor = await db.execute(
                "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, status, "
                "attempts, created_at, media, frames) "
                "VALUES (?, ?, 'private', 'F', ?, ?, 0, ?, ?) RETURNING id",
                (user, user, status, attempts, media, frames))
            (job_id,) = await cursor.fetchone()
            if status == "queued":
                waiting.append(Waiting(job_id, user, attempts, served[user], media, frames))
    return waiting, busy


async def test_the_sql_order_is_the_reference_order_on_random_queues(tmp_path):
    rng = random.Random(29)
    for case in range(80):
        uniform = case % 2 == 0
        async with opened(tmp_path / f"queue-{case}.db") as store:
            waiting, busy = await random_queue(store, rng, uniform=uniform)
            retried = any(w.attempts for w in waiting)
            order = fair_order(waiting)
            async with store.read() as db:
                expected = next((w.id for w in order if w.user_id not in busy), None)
                assert await next_to_claim(db, busy) == expected, case
                for index, job in enumerate(order):
                    place = await place_of(db, job.id)
                    assert place is not None
                    assert place.ahead == index, (case, job)
                    upto = order[:index + 1]
                    clips = [w for w in upto if w.media != "photo"]
                    assert place.pictures + place.clips == index + 1
                    if uniform or retried:  # else a user's clips count pro rata
                        assert (place.pictures, place.clips, place.clip_frames) == (
                            len(upto) - len(clips), len(clips), sum(w.frames for w in clips))
                assert await place_of(db, 10_000) is None


RECOMPUTED = """
    SELECT j.user_id, COALESCE(t.served_at, 0), MIN(j.id), COUNT(*),
        TOTAL(j.media != 'photo'), TOTAL(CASE WHEN j.media != 'photo' THEN j.frames END)
    FROM jobs j LEFT JOIN turns t ON t.user_id = j.user_id
    WHERE j.status = 'queued' AND j.attempts = 0 GROUP BY j.user_id ORDER BY j.user_id
"""


async def test_queue_users_follows_every_change_of_the_queue(tmp_path):
    """Enqueue, claim, finish, fail, cancel, retry, recover after a crash, /forget: after
    each, the triggers' table is what the jobs say."""
    rng = random.Random(7)
    async with opened(tmp_path / "queue.db") as store:
        queue = SqliteJobQueue(store, max_queued_per_user=4, max_queue=1000)
        running: list = []
        for _ in range(300):
            user = rng.randint(1, 8)
            action = rng.choice(["enqueue"] * 4 + ["claim"] * 3 + ["finish", "fail", "cancel",
                                                                  "retry", "recover", "forget"])
            if action == "enqueue":
                media = rng.choice(["photo", "clip"])
                with contextlib.suppress(UserLimitReached):
                    await queue.enqueue(JobRequest(
                        chat_id=user, user_id=user, chat_type="private", reply_to_message_id=1,
                        content_file_id="F", style_file_id=None, preset="wave",
                        settings=JobSettings(), media=media,
                        frames=1 if media == "photo" else rng.randint(2, 90)))
            elif action == "claim" and (job := await queue.claim()) is not None:
                running.append(job)
            elif action in ("finish", "fail", "retry") and running:
                job = running.pop(rng.randrange(len(running)))
                if action == "finish":
                    await queue.complete(job.id, "/tmp/x.png", seconds=1.0)
                    await queue.mark_delivered(job.id, 1)
                elif action == "fail":
                    await queue.fail(job.id, "boom")
                else:
                    await queue.retry_later(job.id)
            elif action == "cancel":
                cancelled = {job.id for job in await queue.cancel(user, user)}
                running = [job for job in running if job.id not in cancelled]
            elif action == "recover":
                await queue.recover(max_attempts=3)
                running.clear()
            elif action == "forget":
                await store.forget_user(user)
                running = [job for job in running if job.user_id != user]
            async with store.read() as db:
                kept = [tuple(row) for row in await db.execute_fetchall(
                    "SELECT * FROM queue_users ORDER BY user_id")]
                recomputed = [tuple(row) for row in await db.execute_fetchall(RECOMPUTED)]
            assert kept == recomputed, action
