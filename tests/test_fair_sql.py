"""The fair order asked of SQLite (`bot.jobs.fair_sql`) is the reference order of
`bot.jobs.fair_order`, on random queues: users served long ago, lately or never, retried jobs
(of busy users too), pictures and clips, several jobs per user."""

from __future__ import annotations

import random

import pytest

from bot.jobs.fair_order import Waiting, fair_order
from bot.jobs.fair_sql import next_to_claim, place_of
from tests.databases import opened

pytestmark = pytest.mark.asyncio


async def random_queue(store, rng: random.Random) -> tuple[list[Waiting], set[int]]:
    """Fills the database with a random queue; returns the waiting jobs as `fair_order` sees
    them and the users with a job computing."""
    users = rng.sample(range(1, 60), rng.randint(1, 12))
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
            media = rng.choice(["photo", "photo", "clip", "round"])
            frames = 1 if media == "photo" else rng.randint(1, 150)
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
    for case in range(60):
        async with opened(tmp_path / f"queue-{case}.db") as store:
            waiting, busy = await random_queue(store, rng)
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
                    assert (place.pictures, place.clips, place.clip_frames) == (
                        len(upto) - len(clips), len(clips), sum(w.frames for w in clips))
                assert await place_of(db, 10_000) is None
