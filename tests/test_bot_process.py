"""`python -m bot` as an operator runs it, as a subprocess against the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bot.app import build_application, running
from bot.config import Config
from bot.jobs.pool import RunnerPool
from bot.jobs.worker import StyleWorker
from tests.fake_telegram import (
    FakeTelegram,
    User,
    bot_env,
    piped_bot_process,
    private_chat,
    start_bot_process,
    stop_with_sigterm,
)


def test_runs_answers_and_stops_on_sigterm_without_logging_the_token(tmp_path):
    with FakeTelegram() as fake:
        # The operator's default, with the engine warmed up at start.
        env = bot_env(fake, tmp_path, STYLEBOT_PRESETS_DIR=str(tmp_path), STYLEBOT_WARM_UP="on")
        with piped_bot_process(env, tmp_path) as process:
            fake.wait_for_blocking("setMyCommands", timeout=60)
            alice = User(7, "Alice")
            message = fake.user_sends_text(private_chat(alice), alice, "/help")
            answer = fake.wait_for_blocking(
                "sendMessage", lambda c: c.reply_to == message["message_id"], timeout=30
            )
            assert "/styles" in answer.text
            stderr = stop_with_sigterm(process)
    assert process.returncode == 0, stderr
    assert "started" in stderr
    assert fake.token not in stderr
    assert fake.token.split(":")[1] not in stderr


def test_a_refused_token_exits_2(tmp_path):
    with FakeTelegram() as fake:
        env = {**bot_env(fake, tmp_path), "TELEGRAM_BOT_TOKEN": "1:not-the-token"}
        process = start_bot_process(env, tmp_path)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip().splitlines()[-1].startswith("stylebot: Telegram refused")


# ---------------------------------------------------------------------- unusable surroundings
# Tests run as root, for whom a read-only folder is writable: the paths below are unusable
# for root too (a path through a regular file, a file that is not SQLite), or the bot runs
# without root's file powers (`as_a_plain_user`) to meet a folder it may not write.


def _exit_of_bot_with(tmp_path, *, as_a_plain_user: bool = False, **overrides: str
                      ) -> tuple[int, str]:
    """Exit status and stderr of `python -m bot` with `overrides`; a hang fails the test.
    `as_a_plain_user`: without root's power to write where file permissions forbid it."""
    with FakeTelegram() as fake:
        env = bot_env(fake, tmp_path, STYLEBOT_PRESETS_DIR=str(tmp_path), **overrides)
        process = start_bot_process(env, tmp_path,
                                    wrapper=_as_a_plain_user() if as_a_plain_user else ())
        try:
            _, stderr = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail("the bot did not exit after failing to start")
    return process.returncode, stderr


_FILE_POWERS = "-dac_override,-dac_read_search,-fowner"


def _as_a_plain_user() -> tuple[str, ...]:
    """A command that runs another without root's file-permission overrides: root (as the
    tests run) drops those capabilities with util-linux's setpriv, effective at the exec; any
    other user has none to drop."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot give up root's file powers")
    return (setpriv, f"--bounding-set={_FILE_POWERS}", f"--inh-caps={_FILE_POWERS}")


def _a_regular_file(tmp_path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


def test_a_database_in_a_folder_that_cannot_exist_exits_2_with_one_line(tmp_path):
    db = _a_regular_file(tmp_path) / "data" / "stylebot.db"
    status, stderr = _exit_of_bot_with(tmp_path, STYLEBOT_DB=str(db))
    assert status == 2
    assert stderr.splitlines() == [
        f"stylebot: cannot open the database {db} (STYLEBOT_DB): "
        f"{tmp_path / 'a-file'} is a file, not a folder"
    ]


def test_a_database_file_that_is_not_sqlite_exits_2_with_one_line(tmp_path):
    db = tmp_path / "stylebot.db"
    db.write_bytes(b"these are not the tables you are looking for\n" * 100)
    status, stderr = _exit_of_bot_with(tmp_path, STYLEBOT_DB=str(db))
    assert status == 2
    assert stderr.splitlines() == [
        f"stylebot: cannot open the database {db} (STYLEBOT_DB): file is not a database"
    ]
    assert db.read_bytes().startswith(b"these are not the tables")  # left as it was


def test_a_database_folder_without_write_permission_exits_2_with_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o555)
    db = data / "stylebot.db"
    try:
        status, stderr = _exit_of_bot_with(tmp_path, as_a_plain_user=True, STYLEBOT_DB=str(db))
    finally:
        data.chmod(0o755)
    assert status == 2
    assert stderr.splitlines() == [
        f"stylebot: cannot open the database {db} (STYLEBOT_DB): unable to open database file"
    ]
    assert not db.exists()


def test_a_database_from_a_newer_bot_exits_2_with_one_line(tmp_path):
    db = tmp_path / "stylebot.db"
    with contextlib.closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA user_version = 99")
    status, stderr = _exit_of_bot_with(tmp_path, STYLEBOT_DB=str(db))
    assert status == 2
    [line] = stderr.splitlines()
    assert line.startswith(f"stylebot: cannot open the database {db} (STYLEBOT_DB): "
                           "its schema version 99 is newer than this code knows")


def test_an_unusable_work_folder_exits_2_with_one_line_instead_of_hanging(tmp_path):
    work = _a_regular_file(tmp_path) / "work"
    status, stderr = _exit_of_bot_with(tmp_path, STYLEBOT_WORK_DIR=str(work))
    assert status == 2
    assert stderr.splitlines() == [
        f"stylebot: cannot use the work folder {work} (STYLEBOT_WORK_DIR): "
        f"{tmp_path / 'a-file'} is a file, not a folder"
    ]


def test_a_read_only_work_folder_exits_2_with_one_line(tmp_path):
    work = tmp_path / "work"
    for sub in ("", "users", "jobs", "results"):
        (work / sub).mkdir(exist_ok=True)
    for sub in ("users", "jobs", "results", ""):
        (work / sub).chmod(0o555)
    try:
        status, stderr = _exit_of_bot_with(tmp_path, as_a_plain_user=True,
                                           STYLEBOT_WORK_DIR=str(work))
    finally:
        for sub in ("", "users", "jobs", "results"):
            (work / sub).chmod(0o755)
    assert status == 2
    [line] = stderr.splitlines()
    assert line.startswith(f"stylebot: cannot use the work folder {work} (STYLEBOT_WORK_DIR): "
                           f"Permission denied: {work}")


def test_a_taken_webhook_port_exits_2_after_closing_the_database_and_the_workers(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        host, port = taken.getsockname()
        status, stderr = _exit_of_bot_with(
            tmp_path,
            STYLEBOT_WEBHOOK_URL="https://bot.example.com/telegram",
            STYLEBOT_WEBHOOK_LISTEN=f"{host}:{port}",
        )
    assert status == 2
    assert stderr.splitlines()[-1] == (
        f"stylebot: cannot listen on {host}:{port} (STYLEBOT_WEBHOOK_LISTEN): "
        "Address already in use"
    )
    assert "Traceback" not in stderr


@pytest.mark.asyncio
async def test_a_failure_after_the_database_opened_leaves_nothing_that_keeps_the_process_alive(
    tmp_path, monkeypatch
):
    def threads_that_keep_a_process_alive() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if not t.daemon and t.is_alive()}

    async def fail_to_start(pool: RunnerPool) -> None:
        raise RuntimeError("the runners could not start")

    monkeypatch.setattr(RunnerPool, "start", fail_to_start)
    with FakeTelegram() as fake:
        before = threads_that_keep_a_process_alive()
        app = build_application(Config.from_env(bot_env(fake, tmp_path)), worker=StyleWorker())
        with pytest.raises(RuntimeError, match="could not start"):
            async with running(app):
                pass
        # aiosqlite's worker thread ends just after close() returns: give it a moment.
        deadline = time.monotonic() + 10
        while not threads_that_keep_a_process_alive() <= before and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert threads_that_keep_a_process_alive() <= before
