"""Copies of the live database (`bot.backup`, `stylebot backup` and `restore`): consistent
while another connection writes, refused with one line and a non-zero exit where they cannot
be made (the live database untouched), kept daily by housekeeping, and a restore after which
every job that was waiting in the copy runs once, end to end with the real bot."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.backup import BackupError, backup, daily, restore
from bot.config import Config
from bot.jobs.housekeeping import Housekeeping
from bot.jobs.queue import SqliteJobQueue
from bot.jobs.work_area import WorkArea
from tests.conditions import until, until_blocking
from tests.databases import opened
from tests.fake_telegram import (
    ALICE,
    BOB,
    CAROL,
    FakeTelegram,
    content_photo,
    is_result_upload,
    private_chat,
    result_for,
    run_bot,
)

REPO = Path(__file__).resolve().parents[1]


def live_database(path: Path, rows: int = 0) -> Path:
    """A database as the bot leaves it (WAL mode, schema applied) with `rows` finished jobs."""
    async def make() -> None:
        async with opened(path) as store, store.transaction() as db:
            await db.executemany(
                "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, status, "
                "created_at) VALUES (?, ?, 'private', ?, 'done', 0)",
                [(i, i, f"file-{i}" * 10) for i in range(rows)])
    asyncio.run(make())
    return path


def fingerprint(path: Path) -> str:
    """The bytes of a database and its WAL: what "untouched" means."""
    digest = hashlib.sha256()
    for part in (path, Path(f"{path}-wal")):
        if part.exists():
            digest.update(part.read_bytes())
    return digest.hexdigest()


def test_a_copy_is_one_consistent_moment_while_another_connection_writes(tmp_path):
    live = live_database(tmp_path / "live.db")
    stop = threading.Event()
    commits = [0]

    def writer() -> None:  # each transaction adds a pair of jobs: a copy holds whole pairs
        connection = sqlite3.connect(live, isolation_level=None, timeout=30)
        while not stop.is_set():
            connection.execute("BEGIN IMMEDIATE")
            for _ in range(2):
                connection.execute(
                    "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, status, "
                    "created_at) VALUES (1, 1, 'private', ?, 'queued', 0)", ("x" * 500,))
            connection.execute("COMMIT")
            commits[0] += 1
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    copies = []
    try:
        for n in range(5):  # each copy after the writer committed more, while it goes on
            seen = commits[0]
            until_blocking(lambda seen=seen: commits[0] > seen, timeout=30)
            copies.append(backup(live, tmp_path / f"copy-{n}.db"))
    finally:
        stop.set()
        thread.join()
    counts = [copy.jobs for copy in copies]
    assert all(count % 2 == 0 for count in counts) and counts[-1] > counts[0] > 0
    for copy in copies:
        assert not Path(f"{copy.path}-wal").exists()  # one self-contained file
        with sqlite3.connect(copy.path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def stylebot(*args: str, db: Path, cwd: Path, preexec=None, wrapper: tuple[str, ...] = ()
             ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "STYLEBOT"))}
    env |= {"PYTHONPATH": str(REPO), "STYLEBOT_DB": str(db)}
    return subprocess.run([*wrapper, sys.executable, "-m", "bot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=preexec)


def test_stylebot_backup_says_done_in_one_line(tmp_path):
    live = live_database(tmp_path / "live.db", rows=10)
    done = stylebot("backup", "copy.db", db=live, cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    (line,) = done.stdout.splitlines()
    assert re.fullmatch(rf"stylebot: copied {re.escape(str(live))} to copy\.db: [0-9.]+ MB, "
                        r"schema 9, 10 jobs, integrity ok, [0-9.]+ s", line), line


def _full_disk() -> None:
    """A disk with 64 KB left, for this process: every file it writes stops there (Python
    ignores SIGXFSZ, so the write fails with EFBIG instead of killing the process)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))


def _as_a_plain_user() -> tuple[str, ...]:
    from tests.test_bot_process import _as_a_plain_user as plain
    return plain()


@pytest.mark.parametrize("case", ["exists", "folder", "no folder", "unwritable", "full disk",
                                  "no database"])
def test_a_copy_that_cannot_be_made_is_one_line_and_exit_1(tmp_path, case):
    live = live_database(tmp_path / "live.db", rows=2_000)
    before = fingerprint(live)
    target, options = tmp_path / "copy.db", {}
    if case == "exists":
        target.write_text("yesterday's copy\n")
    elif case == "folder":
        target.mkdir()
    elif case == "no folder":
        target = tmp_path / "missing" / "copy.db"
    elif case == "unwritable":
        target = tmp_path / "locked" / "copy.db"
        target.parent.mkdir(mode=0o555)
        options["wrapper"] = _as_a_plain_user()
    elif case == "full disk":
        options["preexec"] = _full_disk
    elif case == "no database":
        live = tmp_path / "none.db"
    done = stylebot("backup", str(target), db=live, cwd=tmp_path, **options)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and done.stdout == "", done.stderr
    expected = {
        "exists": f"{target} exists already", "folder": f"{target} is a folder",
        "no folder": f"the folder {target.parent} does not exist",
        "unwritable": f"cannot write the copy in {target.parent}",
        "full disk": f"the copy in {target.parent}",
        "no database": f"there is no database at {live}",
    }[case]
    assert lines[0].startswith("stylebot: ") and expected in lines[0], lines[0]
    if case == "full disk":
        assert "full" in lines[0]
    if case == "exists":
        assert target.read_text() == "yesterday's copy\n"
    if case != "no database":
        assert fingerprint(live) == before
    leftovers = [p.name for p in target.parent.iterdir() if ".partial" in p.name] \
        if target.parent.is_dir() else []
    assert leftovers == []
    assert not (tmp_path / "none.db").exists()


def test_daily_copies_keep_the_newest_and_touch_nothing_else(tmp_path):
    live = live_database(tmp_path / "live.db", rows=3)
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    start = dt.date(2026, 12, 1)
    for day in range(5):
        made = daily(live, folder, 3, start + dt.timedelta(days=day))
        assert made is not None and made.jobs == 3
    assert daily(live, folder, 3, start + dt.timedelta(days=4)) is None  # made already
    assert sorted(p.name for p in folder.iterdir()) == [
        "notes.txt", "stylebot-2026-12-03.db", "stylebot-2026-12-04.db",
        "stylebot-2026-12-05.db"]


@pytest.mark.asyncio
async def test_housekeeping_makes_the_daily_copy_and_survives_a_failing_one(tmp_path, caplog):
    folder = tmp_path / "backups"
    config = Config(token="1:x", db_path=tmp_path / "bot.db", backup_dir=folder, backup_keep=2)
    async with opened(config.db_path) as store:
        queue = SqliteJobQueue(store)
        keeping = Housekeeping(store, queue, WorkArea(tmp_path / "work"), config,
                               today=lambda: dt.date(2026, 12, 5))
        await keeping.run()
        assert [p.name for p in folder.iterdir()] == ["stylebot-2026-12-05.db"]
        folder.joinpath("stylebot-2026-12-05.db").unlink()
        folder.rmdir()
        folder.write_text("a file where the folder should be\n")
        await keeping.run()  # logged, not raised: the rest of housekeeping went on
    assert any("STYLEBOT_BACKUP_DIR" in r.getMessage() and r.levelname == "ERROR"
               for r in caplog.records)


def test_restore_refuses_while_the_bot_has_the_database_open(tmp_path):
    live = live_database(tmp_path / "live.db", rows=1)
    copy = backup(live, tmp_path / "copy.db").path

    async def try_while_open() -> None:
        async with opened(live):
            with pytest.raises(BackupError, match="in use: stop the bot first"):
                restore(copy, live)
    asyncio.run(try_while_open())
    with pytest.raises(BackupError, match="no copy at"):
        restore(tmp_path / "nothing.db", live)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.usefixtures("presets_dir")
async def test_after_a_restore_every_job_waiting_in_the_copy_runs_once(fake: FakeTelegram,
                                                                       tmp_path, worker):
    """The copy is taken while the bot works: one job computed and being uploaded (held),
    two waiting. Everything is delivered, the bot stopped, the copy put back and the bot
    started: each of the three is painted and delivered once more, none twice."""
    db = tmp_path / "stylebot.db"
    senders = (ALICE, BOB, CAROL)
    held = fake.hold_next("sendPhoto", is_result_upload)
    async with run_bot(fake, tmp_path, worker):
        photos = [fake.user_sends_photo(private_chat(user), user, content_photo(),
                                        caption="mosaic") for user in senders]
        for photo in photos:
            await fake.wait_for("sendMessage", lambda c, p=photo: c.reply_to ==
                                p["message_id"] and c.text.startswith("Queued"))
        await asyncio.to_thread(held.wait_arrived, 60)
        copy = await asyncio.to_thread(backup, db, tmp_path / "copy.db")
        held.release()
        for photo in photos:
            await fake.wait_for("sendPhoto", lambda c, p=photo: result_for(p)(c)
                                and c.error is None, timeout=120)
    with sqlite3.connect(copy.path) as saved:
        states = sorted(saved.execute("SELECT status, result_path IS NOT NULL FROM jobs"))
    assert states == [("queued", 0), ("queued", 0), ("running", 1)]
    mark = fake.mark()
    aside = restore(copy.path, db)
    assert aside is not None and aside.exists()
    async with run_bot(fake, tmp_path, worker):
        for photo in photos:
            await fake.wait_for("sendPhoto", lambda c, p=photo: result_for(p)(c)
                                and c.error is None, timeout=120, after=mark)
        await until(lambda: _settled(db), timeout=60)  # nothing left that could send more
    again = [fake.find("sendPhoto", lambda c, p=photo: result_for(p)(c) and c.error is None,
                       after=mark) for photo in photos]
    assert [len(results) for results in again] == [1, 1, 1]
    shutil.rmtree(tmp_path / "work", ignore_errors=True)


def _settled(db: Path) -> bool:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0] == 0
