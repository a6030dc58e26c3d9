"""When the disk fills, end to end against the fake Bot API: the work folder full mid-download
(the bot's process) and mid-result (the worker's), and the database full mid-write. The user
hears "try again later" or the job is retried (then failed with those words), the database
stays sound, and once there is room again the bot goes on by itself.

How a full disk is made without root: the work folder's with a file-size limit on the running
process (`RLIMIT_FSIZE`, set from outside with `prlimit(2)`, as util-linux's `prlimit --pid`
does; Python ignores SIGXFSZ, so a write past it fails with EFBIG, which the bot takes for a
full disk) and lifted the same way when "space returns"; the database's with SQLite's own
`PRAGMA max_page_count` on the bot's connection, and, for the writes of a job in flight, at
the seam every write goes through (`Store.transaction`), which then raises `DatabaseFull`
exactly as a real `SQLITE_FULL` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import resource
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bot.app
from bot.store import DatabaseFull, Store
from bot.telegram import texts
from tests.conditions import all_finished, job_rows, until, until_blocking
from tests.fake_telegram import (
    ALICE,
    BOB,
    CAROL,
    FakeTelegram,
    User,
    bot_process,
    content_photo,
    is_result_upload,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    status_says,
)

pytestmark = pytest.mark.usefixtures("presets_dir")
in_module_loop = pytest.mark.asyncio(loop_scope="module")

LIMIT = resource.RLIMIT_FSIZE


def limit_files(pid: int, size: int | None) -> None:
    """The largest file process `pid` may write (None: no limit), as a full disk would."""
    _, hard = resource.prlimit(pid, LIMIT)
    resource.prlimit(pid, LIMIT, (resource.RLIM_INFINITY if size is None else size, hard))


def workers_of(pid: int) -> list[int]:
    """The engine worker processes the bot `pid` started (multiprocessing's spawned
    children; not its resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                command = Path(f"/proc/{child}/cmdline").read_bytes()
                if b"spawn_main" in command:
                    found.append(int(child))
    return found


def noise_png(width: int = 1000, height: int = 800) -> bytes:
    """An image that does not compress: 2.4 MB as a PNG."""
    rng = np.random.default_rng(3)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(
        buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def answered(fake: FakeTelegram, message: dict, text: str, timeout: float = 60) -> None:
    fake.wait_for_blocking("sendMessage", lambda c: c.reply_to == message["message_id"]
                           and c.text == text, timeout=timeout)


def test_the_work_folder_full_mid_download_and_mid_result(tmp_path):
    """The bot's own files limited to 1.5 MB: a 2.4 MB picture cannot be kept ("try again
    later"); room again, the same picture is painted. Then the worker's limited to 1 KB: the
    painting cannot be written, the job is retried and, the disk staying full, fails with "try
    again later"; room again, the next job is delivered. Nothing is left in the work folder."""
    chat = private_chat(ALICE)
    big = noise_png()
    assert len(big) > 2_000_000
    with FakeTelegram() as fake, bot_process(fake, tmp_path, STYLEBOT_WORKERS="1",
                                             STYLEBOT_MAX_ATTEMPTS="2") as bot:
        # The worker first: one started after the limit was set would inherit it.
        until_blocking(lambda: len(workers_of(bot.pid)) == 1, timeout=120,
                       what="the worker process")
        limit_files(bot.pid, 1_500_000)
        sent = fake.user_sends_document(chat, ALICE, big, "noise.png", "image/png",
                                        caption="mosaic")
        answered(fake, sent, texts.NO_SPACE)
        limit_files(bot.pid, None)
        again = fake.user_sends_document(chat, ALICE, big, "noise.png", "image/png",
                                         caption="mosaic")
        fake.wait_for_blocking("sendPhoto", result_for(again), timeout=180)

        until_blocking(lambda: len(workers_of(bot.pid)) == 1, timeout=60,
                       what="one worker process")
        (worker,) = workers_of(bot.pid)
        limit_files(worker, 1024)
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        fake.wait_for_blocking(None, status_says(texts.JOB_FAILED_NO_SPACE, chat.id),
                               timeout=120)
        (row,) = [r for r in job_rows(tmp_path / "stylebot.db")
                  if r.reply_to_message_id == photo["message_id"]]
        assert row.status == "failed" and row.attempts == 2 and "no room" in row.error
        limit_files(worker, None)
        last = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        fake.wait_for_blocking("sendPhoto", result_for(last), timeout=120)
        # The delivered job's files go just after its sendPhoto returns: wait for that before
        # stopping the bot, or the stop can come first (housekeeping would take them a day later).
        until_blocking(lambda: not any(p.is_file() for p in (tmp_path / "work").rglob("*")),
                       timeout=30, what="the work folder to empty")
    leftovers = [p for p in (tmp_path / "work").rglob("*") if p.is_file()]
    assert leftovers == []
    log = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in log


@contextlib.asynccontextmanager
async def bots_store(monkeypatch) -> AsyncIterator[list[Store]]:
    """The `Store` the bot opens, for the test to reach its connection."""
    opened: list[Store] = []
    real = bot.app._open_store

    async def keep(path: Path) -> Store:
        store = await real(path)
        opened.append(store)
        return store

    monkeypatch.setattr(bot.app, "_open_store", keep)
    yield opened


async def fill_up(store: Store) -> None:
    """No page left: the database may not grow (`max_page_count`) and its free pages are
    taken, so the next write that needs a page fails with SQLITE_FULL."""
    async with store.transaction() as db:
        await db.execute("CREATE TABLE filler (x BLOB)")
    async with store.read() as db:
        pages = (await (await db.execute("PRAGMA page_count")).fetchone())[0]
        await db.execute(f"PRAGMA max_page_count = {pages}")
    with contextlib.suppress(DatabaseFull):
        while True:
            async with store.transaction() as db:
                await db.execute("INSERT INTO filler VALUES (zeroblob(3000))")


@in_module_loop
async def test_the_database_full_at_enqueue_then_room_again(fake: FakeTelegram, tmp_path,
                                                             worker, monkeypatch):
    async with bots_store(monkeypatch) as stores, run_bot(fake, tmp_path, worker):
        (store,) = stores
        await fill_up(store)
        refused = None
        for index in range(40):  # each new request needs some room; soon one finds none
            user = User(1000 + index, f"U{index}")
            sent = fake.user_sends_photo(private_chat(user), user, content_photo(),
                                         caption="mosaic")
            answer = await fake.wait_for("sendMessage", replies_to(sent), timeout=60)
            if answer.text == texts.NO_SPACE:
                refused = (user, sent)
                break
        assert refused is not None, "the database never filled up"
        async with store.read() as db:
            assert (await (await db.execute("PRAGMA integrity_check")).fetchone())[0] == "ok"
            await db.execute("PRAGMA max_page_count = 1073741823")  # room again
        user, _ = refused
        again = fake.user_sends_photo(private_chat(user), user, content_photo(),
                                      caption="mosaic")
        await fake.wait_for("sendPhoto", result_for(again), timeout=120)
        await until(all_finished(tmp_path / "stylebot.db"), timeout=120)
    with sqlite3.connect(tmp_path / "stylebot.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@in_module_loop
async def test_the_database_full_while_jobs_are_finished(fake: FakeTelegram, tmp_path,
                                                          worker, monkeypatch, caplog):
    """Every write fails while Telegram takes a painting and while another is computed: both
    are recorded once there is room, each delivered once, and the queue goes on."""
    held = fake.hold_next("sendPhoto", is_result_upload)
    async with bots_store(monkeypatch) as stores, run_bot(fake, tmp_path, worker):
        (store,) = stores
        first = fake.user_sends_photo(private_chat(BOB), BOB, content_photo(),
                                      caption="mosaic")
        second = fake.user_sends_photo(private_chat(CAROL), CAROL, content_photo(),
                                       caption="mosaic")
        for photo in (first, second):
            await fake.wait_for("sendMessage", lambda c, p=photo: c.reply_to ==
                                p["message_id"] and c.text.startswith("Queued"))
        await _await_held(held)
        transaction = store.transaction
        full = True

        @contextlib.asynccontextmanager
        async def disk_full_writes():
            if full:
                raise DatabaseFull("database or disk is full")
            async with transaction() as db:
                yield db

        monkeypatch.setattr(store, "transaction", disk_full_writes)
        held.release()  # a 502: the upload is repeated, Telegram takes it, the record fails
        await fake.wait_for("sendPhoto", lambda c: result_for(first)(c) and c.error is None,
                            timeout=60)
        await until(lambda: any("recording job" in r.getMessage() and "delivery" in
                                r.getMessage() for r in caplog.records), timeout=60,
                    what="the delivery's record waiting for room")
        full = False  # room again
        await fake.wait_for("sendPhoto", lambda c: result_for(second)(c) and c.error is None,
                            timeout=120)
        await until(all_finished(tmp_path / "stylebot.db"), timeout=120)
    rows = {r.reply_to_message_id: r for r in job_rows(tmp_path / "stylebot.db")}
    assert rows[first["message_id"]].status == rows[second["message_id"]].status == "done"
    for photo in (first, second):
        assert len([c for c in fake.find("sendPhoto", result_for(photo))
                    if c.error is None]) == 1


async def _await_held(held) -> None:
    await asyncio.to_thread(held.wait_arrived, 120)
