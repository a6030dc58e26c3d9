"""What the database keeps and for how long (`bot.jobs.retention`), on real SQLite files: old
finished jobs go and /stats' totals stay, the queue is untouched, the deletes come in batches
that let others in, stale conversations, closed battles, gone users' turns and pack records
go, and the freed space goes back to the disk (a database of schema 5 converted once)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest

from bot.jobs.queue import SqliteJobQueue
from bot.jobs.retention import DAY_S, Retention
from bot.schema import MIGRATIONS
from bot.settings import Settings
from tests.databases import database_at_schema, opened

pytestmark = pytest.mark.asyncio

NOW = dt.datetime(2026, 12, 5, 15, 0).timestamp()
KEEP = 30


def midnight(days_ago: int) -> float:
    """The local midnight that many days before NOW's day."""
    day = dt.date.fromtimestamp(NOW) - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time()).timestamp()


async def add_job(db, user: int, status: str, age_days: float, *, media: str = "photo",
                  attempts: int = 1, chat: int | None = None, seconds: float = 4.0) -> int:
    created = NOW - age_days * DAY_S
    computed = created + 1 + seconds if status == "done" else None
    cursor = await db.execute(
        "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, status, attempts, "
        "created_at, started_at, computed_at, finished_at, media, error) "
        "VALUES (?, ?, 'private', 'F', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (chat or user, user, status, attempts, created, created + 1, computed,
         None if status in ("queued", "running") else created + 2 + seconds, media,
         "boom" if status == "failed" else None))
    return (await cursor.fetchone())[0]


async def fill(store, rng_seed: int = 0) -> dict[str, list[int]]:
    """Jobs of every status at ages on both sides of the limit."""
    ids: dict[str, list[int]] = {"old_finished": [], "kept": []}
    async with store.transaction() as db:
        for index in range(60):
            status = ("done", "failed", "cancelled")[index % 3]
            media = "clip" if index % 4 == 0 else "photo"
            ids["old_finished"].append(await add_job(
                db, 10 + index % 7, status, 31 + index, media=media,
                attempts=2 if index % 5 == 0 else 1))
        for age in (0.1, 3, 29.9):
            ids["kept"].append(await add_job(db, 50, "done", age))
        for status in ("queued", "running"):  # waiting or running for long: never deleted
            ids["kept"].append(await add_job(db, 60, status, 45, attempts=0))
    return ids


async def test_old_finished_jobs_go_and_the_stats_totals_stay(tmp_path):
    async with opened(tmp_path / "bot.db") as store:
        ids = await fill(store)
        queue = SqliteJobQueue(store, clock=lambda: NOW)
        before = {days: await queue.stats(midnight(days)) for days in (0, 5, 40, 100)}
        swept = await Retention(store, KEEP, batch=7, clock=lambda: NOW).sweep()
        assert swept.jobs == 60
        async with store.read() as db:
            left = {row[0] for row in await db.execute_fetchall("SELECT id FROM jobs")}
        assert left == set(ids["kept"])
        for days, stats in before.items():
            after = await queue.stats(midnight(days))
            del after["recent_errors"], stats["recent_errors"]  # their texts go with the rows
            assert after.pop("mean_seconds") == pytest.approx(stats.pop("mean_seconds"))
            assert after == stats, days
        assert before[100]["by_status"]["failed"] == 20 and before[100]["clips"] == 15
        # A second pass finds nothing more.
        assert (await Retention(store, KEEP, clock=lambda: NOW).sweep()).jobs == 0


async def test_the_deletes_come_in_batches_that_let_a_new_job_in(tmp_path):
    async with opened(tmp_path / "bot.db") as store:
        await fill(store)
        held: list[str] = []  # who had the database, transaction by transaction
        transaction = store.transaction

        @contextlib.asynccontextmanager
        async def recorded():
            async with transaction() as db:
                held.append(asyncio.current_task().get_name())
                yield db

        store.transaction = recorded  # type: ignore[method-assign]
        retention = Retention(store, KEEP, batch=5, clock=lambda: NOW)
        sweeping = asyncio.create_task(retention.sweep(), name="retention")
        await asyncio.sleep(0)  # the sweep takes the database for its first batch

        async def enqueue() -> None:
            async with store.transaction() as db:
                await add_job(db, 99, "queued", 0, attempts=0)

        await asyncio.create_task(enqueue(), name="enqueue")
        swept = await sweeping
        assert swept.jobs == 60
        # The new job went in right after the first batch, not after the twelve of them.
        assert held[:3] == ["retention", "enqueue", "retention"]
        assert held.count("retention") > 12
        queue = SqliteJobQueue(store, clock=lambda: NOW)
        assert (await queue.stats(midnight(0)))["queue_depth"] == 2


async def test_conversations_battles_turns_and_packs_of_the_gone(tmp_path):
    old, recent = NOW - 40 * DAY_S, NOW - 2 * DAY_S
    chosen = Settings().with_(strength="strong").to_json()
    async with opened(tmp_path / "bot.db") as store:
        async with store.transaction() as db:
            sessions = [  # (chat, user, pending, content, preset, settings, updated)
                (1, 1, "await_style", "F1", None, chosen, old),      # closed, settings kept
                (2, 2, "await_style", "F2", None, "{}", old),         # nothing left: goes
                (3, 3, None, None, None, Settings().to_json(), old),  # defaults only: goes
                (4, 4, "await_style", "F4", None, "{}", recent),      # recent: untouched
                (5, 5, None, None, "mosaic", "{}", old),              # a default style: kept
            ]
            await db.executemany(
                "INSERT INTO sessions (chat_id, user_id, pending, content_file_id, "
                "default_preset, settings, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", sessions)
            for battle_id, state, created in ((1, "over", old), (2, "voting", old),
                                              (3, "over", recent)):
                await db.execute(
                    "INSERT INTO battles (id, chat_id, caller_id, state, created_at) "
                    "VALUES (?, -100, 7, ?, ?)", (battle_id, state, created))
                await db.execute("INSERT INTO battle_jobs (job_id, battle_id, position, style) "
                                 "VALUES (?, ?, 0, 'mosaic')", (100 + battle_id, battle_id))
                await db.execute("INSERT INTO battle_votes (battle_id, user_id, style) "
                                 "VALUES (?, 8, 'mosaic')", (battle_id,))
            await add_job(db, 20, "done", 40)           # gone after this pass
            await add_job(db, 21, "done", 2)            # here
            await add_job(db, 22, "done", 2, chat=-200)  # a group that is still here
            await db.executemany("INSERT INTO turns (user_id, served_at) VALUES (?, ?)",
                                 [(20, 1), (21, 2), (22, 3), (23, 4)])
            packs = [("u20_by_b", None, 20, old), ("u21_by_b", None, 21, old),
                     ("u24_by_b", None, 24, recent), ("g300_by_b", -300, 21, old),
                     ("g200_by_b", -200, 20, old), ("u1_by_b", None, 1, old)]
            await db.executemany(
                "INSERT INTO sticker_packs (name, chat_id, owner_id, title, created_at) "
                "VALUES (?, ?, ?, 't', ?)", packs)
        swept = await Retention(store, KEEP, batch=2, clock=lambda: NOW).sweep()
        async with store.read() as db:
            kept_sessions = {tuple(row) for row in await db.execute_fetchall(
                "SELECT user_id, pending, content_file_id, default_preset, settings "
                "FROM sessions")}
            battles = [row[0] for row in await db.execute_fetchall("SELECT id FROM battles")]
            votes = [row[0] for row in await db.execute_fetchall(
                "SELECT battle_id FROM battle_votes")]
            places = [row[0] for row in await db.execute_fetchall(
                "SELECT battle_id FROM battle_jobs")]
            turns = [row[0] for row in await db.execute_fetchall("SELECT user_id FROM turns")]
            names = {row[0] for row in await db.execute_fetchall(
                "SELECT name FROM sticker_packs")}
        assert kept_sessions == {(1, None, None, None, chosen),
                                 (4, "await_style", "F4", None, "{}"),
                                 (5, None, None, "mosaic", "{}")}
        assert swept.conversations == 2
        assert sorted(battles) == sorted(votes) == sorted(places) == [2, 3]
        assert sorted(turns) == [21, 22]
        # u20: no job or conversation left; g300: no job of the group; u1's conversation was
        # touched 40 days ago (closed now): gone too. u21 and g200 have jobs, u24's is new.
        assert names == {"u21_by_b", "u24_by_b", "g200_by_b"}
        assert (swept.battles, swept.turns, swept.sticker_packs) == (1, 2, 3)


async def page_count(store) -> int:
    async with store.read() as db:
        return (await (await db.execute("PRAGMA page_count")).fetchone())[0]


async def big_history(store, jobs: int) -> None:
    async with store.transaction() as db:
        await db.executemany(
            "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, status, "
            "created_at, finished_at, error) VALUES (?, ?, 'private', ?, 'done', ?, ?, ?)",
            [(i % 50, i % 50, f"file-{i}", NOW - 60 * DAY_S, NOW - 60 * DAY_S, "x" * 200)
             for i in range(jobs)])


async def test_a_new_database_gives_the_freed_pages_back_bit_by_bit(tmp_path):
    async with opened(tmp_path / "bot.db") as store:
        async with store.read() as db:
            assert (await (await db.execute("PRAGMA auto_vacuum")).fetchone())[0] == 2
        await big_history(store, 5_000)
        full = await page_count(store)
        swept = await Retention(store, KEEP, clock=lambda: NOW).sweep()
        assert swept.jobs == 5_000 and 0 < swept.pages_freed < full
        assert await page_count(store) < full / 4


async def test_a_database_of_schema_5_migrates_and_is_converted_once(tmp_path):
    """Migration 9 on a database written by the bot with sticker packs (schema 5), without
    auto-vacuum: its jobs stay and count in /stats, the new indexes are there, and the first
    pass that frees most of it converts it (one VACUUM): the file shrinks."""
    path = await database_at_schema(
        tmp_path / "packs.db", 5,
        "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, status, created_at) "
        f"VALUES (1, 7, 'private', 'F1', 'queued', {NOW})",
    )
    async with opened(path) as store:
        assert await store.schema_version() == len(MIGRATIONS) == 9
        async with store.read() as db:
            indexes = {row[0] for row in await db.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'index'")}
            assert (await (await db.execute("PRAGMA auto_vacuum")).fetchone())[0] == 0
        assert {"jobs_waiting", "jobs_retried", "jobs_by_created", "turns_by_served"} <= indexes
        queue = SqliteJobQueue(store, clock=lambda: NOW)
        assert (await queue.stats(midnight(0)))["by_status"]["queued"] == 1
        async with store.read() as db:  # the migration filled it from the waiting jobs
            users = await db.execute_fetchall("SELECT user_id, first, waiting FROM queue_users")
        assert [tuple(row) for row in users] == [(7, 1, 1)]
        assert (await queue.claim()).content_file_id == "F1"
        await big_history(store, 5_000)
        full = await page_count(store)
        await Retention(store, KEEP, clock=lambda: NOW).sweep()
        async with store.read() as db:
            assert (await (await db.execute("PRAGMA auto_vacuum")).fetchone())[0] == 2
            check = await (await db.execute("PRAGMA integrity_check")).fetchone()
        assert check[0] == "ok"
        assert await page_count(store) < full / 4
        assert (await queue.stats(midnight(100)))["by_status"]["done"] == 5_000
    assert path.stat().st_size < full * 4096 / 4
