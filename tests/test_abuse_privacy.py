"""Abuse and privacy, end to end: the per-user flood limit, a bot that stays quiet in groups,
/forget, pictures deleted after delivery, and stored file ids expiring."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot import store as store_module
from bot.telegram import texts
from bot.telegram.handlers import FLOOD_LIMIT
from tests.conditions import until
from tests.fake_telegram import (
    ALICE,
    BOB,
    BOT_USER,
    CAROL,
    FakeTelegram,
    content_photo,
    group_chat,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    status_says,
    style_photo,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]



def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def rows_about(db: Path, user_id: int) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        return {table: connection.execute(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?",
                                          (user_id,)).fetchone()[0]
                for table in ("sessions", "jobs", "turns")}



# ---------------------------------------------------------------------- floods


async def test_a_flood_of_commands_is_cut_off_with_one_warning(fake: FakeTelegram, tmp_path,
                                                               worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        for _ in range(FLOOD_LIMIT + 10):
            fake.user_sends_text(chat, ALICE, "/help")
        await fake.wait_for("sendMessage", lambda c: c.text == texts.SLOW_DOWN)
        others = fake.user_sends_text(private_chat(BOB), BOB, "/help")
        await fake.wait_for("sendMessage", replies_to(others))
        await asyncio.sleep(0.5)
        to_alice = [c.text for c in fake.find("sendMessage", lambda c: c.chat_id == ALICE.id)]
    assert to_alice.count(texts.HELP) == FLOOD_LIMIT
    assert to_alice.count(texts.SLOW_DOWN) == 1
    assert len(to_alice) == FLOOD_LIMIT + 1


async def test_in_a_group_the_bot_speaks_only_when_spoken_to(fake: FakeTelegram, tmp_path,
                                                             worker):
    group = group_chat()
    async with run_bot(fake, tmp_path, worker):
        # Talk that is not for the bot, commands for other bots, admin-only and unknown ones.
        shared = fake.user_sends_photo(group, CAROL, content_photo())
        fake.user_sends_text(group, CAROL, "nice one")
        fake.user_sends_document(group, CAROL, b"minutes", "notes.txt", "text/plain")
        fake.user_sends_photo(group, CAROL, content_photo(), caption="/stylize@other_bot mosaic")
        fake.user_sends_text(group, BOB, "/stats")
        fake.user_sends_text(group, BOB, "/nosuchcommand")
        # Someone over the flood limit is not warned in front of everyone.
        for _ in range(FLOOD_LIMIT):
            fake.user_sends_text(group, ALICE, "spam")
        fake.user_sends_text(group, ALICE, "/help")
        await asyncio.sleep(1.5)
        assert not fake.find(None, lambda c: c.chat_id == group.id)

        command = fake.user_sends_text(group, BOB, "/stylize mosaic", reply_to=shared)
        result = await fake.wait_for("sendPhoto", result_for(shared), timeout=180)
        # What stays in the group is the picture; the status message made way for it.
        await until(lambda: bot_messages(fake, group.id) == [result.message_id], timeout=10)
    assert not fake.find("sendMessage", replies_to(command))
    assert len(fake.find("sendChatAction", lambda c: c.chat_id == group.id)) <= 1


def bot_messages(fake: FakeTelegram, chat_id: int) -> list[int]:
    """Ids of the bot's messages still in the chat."""
    return sorted(message_id for (chat, message_id), message in list(fake.messages.items())
                  if chat == chat_id and message["from"]["id"] == BOT_USER["id"])


# ---------------------------------------------------------------------- the work area


async def test_pictures_are_deleted_from_the_work_area_after_delivery(fake: FakeTelegram,
                                                                      tmp_path, worker):
    chat = private_chat(ALICE)
    work = tmp_path / "work"
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content_photo())
        await fake.wait_for("sendMessage", replies_to(photo))
        assert len(files_in(work)) == 1  # the download, kept for the job
        fake.user_sends_photo(chat, ALICE, style_photo())
        preset = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
        await fake.wait_for("sendPhoto", result_for(preset), timeout=180)
        await until(lambda: not files_in(work), timeout=5)


async def test_forget_deletes_sessions_jobs_and_pictures_and_confirms(fake: FakeTelegram,
                                                                      tmp_path, worker):
    chat = private_chat(ALICE)
    db, work = tmp_path / "stylebot.db", tmp_path / "work"
    async with run_bot(fake, tmp_path, worker, STYLEBOT_STEPS="3000"):
        waiting = fake.user_sends_photo(group_chat(), ALICE, content_photo(), caption="/stylize")
        await fake.wait_for("sendMessage", replies_to(waiting))
        default = fake.user_sends_text(chat, ALICE, "/style crosshatch")
        await fake.wait_for("sendMessage", replies_to(default))
        running = fake.user_sends_photo(chat, ALICE, content_photo())
        await fake.wait_for(None, status_says("Stylising", ALICE.id), timeout=60)
        assert worker.busy
        queued = fake.user_sends_photo(chat, ALICE, content_photo(tint=(40, 0, 0)))
        await fake.wait_for("sendMessage", replies_to(queued))
        bob = fake.user_sends_photo(private_chat(BOB), BOB, content_photo())
        await fake.wait_for("sendMessage", replies_to(bob))
        assert rows_about(db, ALICE.id) == {"sessions": 2, "jobs": 2, "turns": 1}
        assert files_in(work / "users" / str(ALICE.id))

        command = fake.user_sends_text(chat, ALICE, "/forget")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text == texts.FORGOTTEN.format(jobs=2)
        assert rows_about(db, ALICE.id) == {"sessions": 0, "jobs": 0, "turns": 0}
        # The running job (3000 steps) stops: its status says so and the worker is free.
        await fake.wait_for(None, status_says(texts.CANCELLED, ALICE.id, exactly=True),
                            timeout=30)
        await until(lambda: not worker.busy, 30, "the worker idle")
        # Its files go; only Bob's waiting photo is left.
        await until(lambda: files_in(work) == files_in(work / "users" / str(BOB.id)))
        assert len(files_in(work)) == 1
        assert rows_about(db, BOB.id)["sessions"] == 1
    assert not fake.find("sendPhoto", result_for(running))
    assert not fake.find("sendPhoto", result_for(queued))


async def test_expired_file_ids_are_forgotten_at_start_up(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    db = tmp_path / "stylebot.db"
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content_photo())
        await fake.wait_for("sendMessage", replies_to(photo))
    with sqlite3.connect(db) as connection:  # eight days pass
        connection.execute("UPDATE sessions SET file_ids_at = file_ids_at - 8 * 86400")

    def stored_file_ids() -> int:
        with sqlite3.connect(db) as connection:
            return connection.execute(
                "SELECT COUNT(*) FROM sessions WHERE content_file_id IS NOT NULL").fetchone()[0]

    assert stored_file_ids() == 1
    async with run_bot(fake, tmp_path, worker, STYLEBOT_FILE_TTL_DAYS="7"):
        await until(lambda: stored_file_ids() == 0, timeout=10)
        # The half-finished conversation went with its photo.
        name = fake.user_sends_text(chat, ALICE, "mosaic")
        answer = await fake.wait_for("sendMessage", replies_to(name))
        assert answer.text == texts.NO_CONTENT


async def test_file_ids_expire_while_the_bot_runs(fake: FakeTelegram, tmp_path, worker,
                                                  monkeypatch):
    """The hourly check, its hour shortened: ids that grow too old while the bot runs go."""
    from bot.jobs import runner

    monkeypatch.setattr(runner, "HOUSEKEEPING_EVERY_S", 0.2)
    chat = private_chat(ALICE)
    db = tmp_path / "stylebot.db"

    def stored_file_ids() -> int:
        with sqlite3.connect(db) as connection:
            return connection.execute(
                "SELECT COUNT(*) FROM sessions WHERE content_file_id IS NOT NULL").fetchone()[0]

    async with run_bot(fake, tmp_path, worker, STYLEBOT_FILE_TTL_DAYS="7"):
        photo = fake.user_sends_photo(chat, ALICE, content_photo())
        await fake.wait_for("sendMessage", replies_to(photo))
        await until(lambda: stored_file_ids() == 1, 30, "the photo's file id stored")
        # Eight days pass on the store's clock. (Not by rewriting the row from here: with the
        # bot writing every 0.2 s, a second writer can wait on SQLite's lock past any bound
        # on a loaded machine.)
        monkeypatch.setattr(store_module, "time", SimpleNamespace(
            time=lambda: time.time() + 8 * 86_400))
        await until(lambda: stored_file_ids() == 0, 30, "the file id forgotten")
        name = fake.user_sends_text(chat, ALICE, "mosaic")
        answer = await fake.wait_for("sendMessage", replies_to(name))
        assert answer.text == texts.NO_CONTENT
