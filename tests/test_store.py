"""The SQLite store: migrations, sessions across re-opens, tolerant settings, privacy."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pytest
from telegram import Chat, Message

from bot.schema import MIGRATIONS
from bot.settings import Settings
from bot.store import Session, Store, WaitingContent
from bot.telegram.inbox import Inbox
from tests.databases import database_at_schema, opened


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "nested" / "dir" / "bot.db"


@pytest.mark.asyncio
async def test_open_creates_folders_and_migrates_from_empty(db_path):
    async with opened(db_path) as store:
        assert db_path.exists()
        assert await store.schema_version() == len(MIGRATIONS)
        async with store.read() as db:
            mode = await (await db.execute("PRAGMA journal_mode")).fetchone()
            fks = await (await db.execute("PRAGMA foreign_keys")).fetchone()
            tables = await (
                await db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ).fetchall()
        assert mode[0] == "wal"
        assert fks[0] == 1
        assert {"sessions", "jobs", "turns"} <= {row[0] for row in tables}


@pytest.mark.asyncio
async def test_reopen_is_idempotent_and_refuses_a_newer_schema(db_path):
    for _ in range(2):
        store = await Store.open(db_path)
        await store.close()
    store = await Store.open(db_path)  # a third open applies nothing and fails nothing
    assert await store.schema_version() == len(MIGRATIONS)
    async with store.transaction() as db:
        await db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    await store.close()
    with pytest.raises(RuntimeError, match="newer"):
        await Store.open(db_path)


@pytest.mark.asyncio
async def test_a_failing_migration_leaves_the_database_untouched(db_path, monkeypatch):
    store = await Store.open(db_path)
    await store.close()
    monkeypatch.setattr(
        "bot.store.MIGRATIONS",
        [*MIGRATIONS, "CREATE TABLE extra (x INTEGER); INSERT INTO missing VALUES (1);"],
    )
    with pytest.raises(Exception, match="no such table"):
        await Store.open(db_path)
    monkeypatch.undo()
    async with opened(db_path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        async with store.read() as db:
            row = await (
                await db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'extra'")
            ).fetchone()
        assert row[0] == 0


@pytest.mark.asyncio
async def test_sessions_survive_a_reopen(db_path):
    store = await Store.open(db_path)
    assert await store.get_session(10, 1) == Session(chat_id=10, user_id=1)
    session = Session(
        chat_id=10,
        user_id=1,
        pending="await_style",
        content_file_id="AgAD-content",
        content_message_id=77,
        default_preset="wave",
        settings=Settings(quality="high", strength="low", preserve_colors=True, previews=False),
    )
    await store.save_session(session)
    await store.save_session(Session(chat_id=10, user_id=2, default_preset="ink"))
    await store.close()

    async with opened(db_path) as store:
        assert await store.get_session(10, 1) == session
        assert (await store.get_session(10, 2)).default_preset == "ink"
        assert (await store.get_session(11, 1)).pending is None  # other chat: separate state


@pytest.mark.asyncio
async def test_clear_pending_keeps_settings_and_preset(db_path):
    async with opened(db_path) as store:
        session = Session(
            chat_id=5,
            user_id=6,
            pending="await_style",
            content_file_id="file",
            content_message_id=3,
            default_preset="mosaic",
            settings=Settings(as_file=True),
        )
        await store.save_session(session)
        await store.clear_pending(5, 6)
        cleared = await store.get_session(5, 6)
        assert cleared.pending is None
        assert cleared.content_file_id is None
        assert cleared.content_message_id is None
        assert cleared.default_preset == "mosaic"
        assert cleared.settings.as_file is True
        await store.clear_pending(99, 99)  # no session: nothing to do, no error


def test_settings_json_is_tolerant():
    settings = Settings(quality="fast", strength="high", preserve_colors=True, as_file=True)
    assert Settings.from_json(settings.to_json()) == settings
    assert Settings.from_json(json.loads(settings.to_json())) == settings
    # Unknown keys ignored, missing ones defaulted, wrong types and unknown levels replaced.
    assert Settings.from_json('{"quality": "high", "future_option": 3}') == Settings(quality="high")
    assert Settings.from_json('{"quality": "ultra", "previews": "yes", "strength": 2}') == (
        Settings()
    )
    for junk in (None, "", "not json", "[1, 2]", "null", b"{}"):
        assert Settings.from_json(junk) == Settings()


@pytest.mark.asyncio
async def test_broken_settings_in_the_database_do_not_break_the_session(db_path):
    async with opened(db_path) as store:
        await store.save_session(Session(chat_id=1, user_id=1, default_preset="wave"))
        async with store.transaction() as db:
            await db.execute("UPDATE sessions SET settings = '{oops'")
        session = await store.get_session(1, 1)
        assert session.settings == Settings()
        assert session.default_preset == "wave"


async def _add_job(store: Store, user_id: int, chat_id: int, status: str, created_at: float):
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, style_file_id, "
            "status, created_at) VALUES (?, ?, 'private', 'content', 'style', ?, ?)",
            (chat_id, user_id, status, created_at),
        )


@pytest.mark.asyncio
async def test_forget_user_deletes_sessions_and_jobs_everywhere(db_path):
    async with opened(db_path) as store:
        for chat in (1, 2, 3):
            await store.save_session(Session(chat_id=chat, user_id=42, default_preset="x"))
        await store.save_session(Session(chat_id=1, user_id=7, default_preset="y"))
        for chat, status in ((1, "done"), (2, "queued"), (3, "failed")):
            await _add_job(store, 42, chat, status, time.time())
        await _add_job(store, 7, 1, "queued", time.time())

        assert await store.forget_user(42) == {"sessions": 3, "jobs": 3}
        assert (await store.get_session(1, 42)).default_preset is None
        assert (await store.get_session(1, 7)).default_preset == "y"
        async with store.read() as db:
            rows = await (await db.execute("SELECT user_id FROM jobs")).fetchall()
        assert [row[0] for row in rows] == [7]
        assert await store.forget_user(42) == {"sessions": 0, "jobs": 0}


@pytest.mark.asyncio
async def test_forget_user_deletes_their_votes_and_battles(db_path):
    async with opened(db_path) as store:
        async with store.transaction() as db:
            for battle_id, caller in ((1, 42), (2, 7)):
                await db.execute(
                    "INSERT INTO battles (id, chat_id, caller_id, state, created_at) "
                    "VALUES (?, -100, ?, 'voting', 0)", (battle_id, caller))
                await db.execute("INSERT INTO battle_jobs (job_id, battle_id, position, style) "
                                 "VALUES (?, ?, 0, 'mosaic')", (battle_id * 10, battle_id))
            for battle_id, voter in ((1, 7), (2, 42), (2, 8)):
                await db.execute("INSERT INTO battle_votes (battle_id, user_id, style) "
                                 "VALUES (?, ?, 'mosaic')", (battle_id, voter))
        await store.forget_user(42)
        async with store.read() as db:
            battles = await (await db.execute("SELECT id FROM battles")).fetchall()
            jobs = await (await db.execute("SELECT battle_id FROM battle_jobs")).fetchall()
            votes = await (await db.execute(
                "SELECT battle_id, user_id FROM battle_votes")).fetchall()
        assert [tuple(r) for r in battles] == [(2,)]  # the battle 42 started is gone
        assert [tuple(r) for r in jobs] == [(2,)]
        assert [tuple(r) for r in votes] == [(2, 8)]  # 42's vote too; 7's went with battle 1


@pytest.mark.asyncio
async def test_expire_file_ids_clears_only_old_ones(db_path):
    async with opened(db_path) as store:
        old, new = time.time() - 10 * 86_400, time.time()
        for user in (1, 2):
            await store.save_session(
                Session(
                    chat_id=1,
                    user_id=user,
                    pending="await_style",
                    content_file_id=f"f{user}",
                    default_preset="wave",
                )
            )
        await _add_job(store, 1, 1, "done", old)
        await _add_job(store, 1, 1, "queued", old)  # still needed: kept
        await _add_job(store, 2, 1, "done", new)
        async with store.transaction() as db:
            await db.execute("UPDATE sessions SET file_ids_at = ? WHERE user_id = 1", (old,))

        # Saving again with the same file id must not restart its clock.
        await store.save_session(await store.get_session(1, 1))

        assert await store.expire_file_ids(older_than_days=7) == 2
        expired = await store.get_session(1, 1)
        assert expired.content_file_id is None and expired.pending is None
        assert expired.default_preset == "wave"
        assert (await store.get_session(1, 2)).content_file_id == "f2"
        async with store.read() as db:
            rows = await (
                await db.execute("SELECT status, content_file_id, style_file_id FROM jobs")
            ).fetchall()
        assert sorted(tuple(row) for row in rows) == [
            ("done", "", None),
            ("done", "content", "style"),
            ("queued", "content", "style"),
        ]
        assert await store.expire_file_ids(older_than_days=7) == 0


@pytest.mark.asyncio
async def test_inbox_keeps_a_picture_until_its_sender_is_answered(db_path):
    """Records survive a reopen unless the handler finished (or failed); a cancelled handler
    (the bot stopping mid-download) leaves its record for the next start; /forget removes it."""
    store = await Store.open(db_path)
    inbox = Inbox(store)
    try:
        async with inbox.receiving(_message(chat_id=1, message_id=10), user_id=42):
            assert [p.message_id for p in await inbox.left_over()] == [10]
        with pytest.raises(RuntimeError):
            async with inbox.receiving(_message(chat_id=1, message_id=11), user_id=42):
                raise RuntimeError("a bug in a handler")
        assert await inbox.left_over() == []

        entered = asyncio.Event()

        async def interrupted(message_id: int, user_id: int) -> None:
            async with inbox.receiving(_message(chat_id=1, message_id=message_id), user_id):
                entered.set()
                await asyncio.sleep(3600)

        for message_id, user_id in ((12, 42), (13, 7)):
            entered.clear()
            task = asyncio.create_task(interrupted(message_id, user_id))
            await entered.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        await store.close()
    async with opened(db_path) as store:
        inbox = Inbox(store)
        assert [(p.message_id, p.user_id) for p in await inbox.left_over()] == [(12, 42), (13, 7)]
        await store.forget_user(42)
        assert [p.message_id for p in await inbox.left_over()] == [13]


def _message(chat_id: int, message_id: int) -> Message:
    chat = Chat(chat_id, "private")
    return Message(message_id, dt.datetime.now(dt.UTC), chat)


@pytest.mark.asyncio
async def test_a_database_of_schema_3_gets_the_battles(tmp_path):
    """Migration 4 (style battles) on a database written by the bot with languages (schema
    3): its jobs and language choices stay, the battle tables appear, in the job's language."""
    path = await database_at_schema(
        tmp_path / "languages.db", 3,
        "INSERT INTO user_languages (user_id, language, updated_at) VALUES (7, 'ru', 0)",
    )
    async with opened(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        assert await store.languages(1, 7) == (None, "ru")
        async with store.transaction() as db:
            await db.execute("INSERT INTO battles (chat_id, caller_id, state, created_at) "
                             "VALUES (-100, 7, 'painting', 0)")
        async with store.read() as db:
            row = await (await db.execute("SELECT language FROM battles")).fetchone()
        assert row[0] == "en"


@pytest.mark.asyncio
async def test_a_database_of_schema_4_gets_clips_and_sticker_packs(tmp_path):
    """Migration 5 (moving pictures, sticker packs) on a database of schema 4: its jobs and
    waiting photos stay pictures, and a waiting clip survives a restart as a clip."""
    path = await database_at_schema(
        tmp_path / "battles.db", 4,
        "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, status, created_at) "
        "VALUES (1, 7, 'private', 'F1', 'queued', 0)",
        "INSERT INTO sessions (chat_id, user_id, pending, content_file_id, updated_at) "
        "VALUES (1, 7, 'await_style', 'F1', 0)",
    )
    async with opened(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        async with store.read() as db:
            row = await (await db.execute("SELECT media, frames FROM jobs")).fetchone()
        assert tuple(row) == ("photo", 1)
        session = await store.get_session(1, 7)
        assert (session.content_file_id, session.content_media) == ("F1", "photo")
        session.content_file_id, session.content_media, session.content_frames = "C", "round", 45
        await store.save_session(session)
    async with opened(path) as store:
        session = await store.get_session(1, 7)
        assert (session.content_file_id, session.content_media, session.content_frames) == (
            "C", "round", 45)


@pytest.mark.asyncio
async def test_a_database_of_schema_5_gets_content_kinds(tmp_path):
    """Migration 6 (what the user sent, as they would name it; where a clip was cut) on a
    database of schema 5: waiting photos and photo jobs stay photos, clips become videos (a
    GIF is a silent video to Telegram too), round ones round videos; nothing was cut."""
    path = await database_at_schema(
        tmp_path / "clips.db", 5,
        "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, status, created_at, "
        "media, frames) VALUES (1, 7, 'private', 'P', 'done', 0, 'photo', 1), "
        "(1, 7, 'private', 'C', 'queued', 0, 'clip', 40), "
        "(1, 7, 'private', 'R', 'queued', 0, 'round', 30)",
        "INSERT INTO sessions (chat_id, user_id, pending, content_file_id, updated_at, "
        "content_media, content_frames) VALUES (1, 7, 'await_style', 'C', 0, 'clip', 40), "
        "(2, 7, 'await_style', 'R', 0, 'round', 30), (3, 7, 'await_style', 'P', 0, 'photo', 1)",
    )
    async with opened(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        async with store.read() as db:
            rows = await (await db.execute(
                "SELECT content_file_id, content_kind, cut_at_s FROM jobs ORDER BY id")
            ).fetchall()
        assert [tuple(row) for row in rows] == [("P", "photo", None), ("C", "video", None),
                                               ("R", "round", None)]
        kinds = [(await store.get_session(chat, 7)).content_kind for chat in (1, 2, 3)]
        assert kinds == ["video", "round", "photo"]
        session = await store.get_session(1, 7)
        session.await_style("G", 9, "clip", 12, "gif")
        await store.save_session(session)
    async with opened(path) as store:
        assert (await store.get_session(1, 7)).waiting == WaitingContent("G", "gif")
        assert await store.clear_pending(1, 7) == WaitingContent("G", "gif")
        assert await store.clear_pending(1, 7) is None  # nothing waits any more
        assert (await store.get_session(1, 7)).content_kind == "photo"
