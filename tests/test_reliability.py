"""Faults the bot must survive, end to end against the fake Bot API: the bot process killed
mid-job and mid-delivery, the worker process killed mid-job, out of memory, and Telegram's own
errors. Each ends with every accepted job delivered exactly once (or failed with a message)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from itertools import pairwise
from pathlib import Path

import pytest
import pytest_asyncio

from bot.jobs.worker import StyleWorker
from bot.telegram import texts
from stylecore.optimiser.transfer import PIXEL_BUDGET_ENV
from tests.conditions import until, until_blocking
from tests.fake_telegram import (
    ALICE,
    BOB,
    Call,
    FakeTelegram,
    assert_stylised,
    bot_process,
    content_photo,
    is_result_upload,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    status_says,
)

in_module_loop = pytest.mark.asyncio(loop_scope="module")

pytestmark = pytest.mark.usefixtures("presets_dir")

PIXEL_BUDGET = 5000
"""Pixels per run the module's worker allows: the usual 64×48 test jobs fit, 96×72 does not."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def worker():
    """One worker for the module, with STYLECORE_MAX_PIXELS_PER_RUN set as an operator would
    (its replacements after a crash get the same environment)."""
    worker = StyleWorker(warm_up=False, env={PIXEL_BUDGET_ENV: str(PIXEL_BUDGET)})
    await worker.start()
    yield worker
    await worker.stop()


def delivered(fake: FakeTelegram, photo: dict) -> list[Call]:
    """Results for `photo` that Telegram accepted."""
    return [c for c in fake.find(None, result_for(photo)) if c.error is None]


stylising = status_says("Stylising")


# ---------------------------------------------------------------------- the bot process


def test_bot_killed_mid_job_and_mid_delivery_sends_exactly_one_result(tmp_path):
    """SIGKILL while computing: the restarted bot computes the job again. SIGKILL after the
    result was computed, while Telegram had not yet answered its upload: the restarted bot
    sends the picture from disk without computing it again. The user gets one picture."""
    chat = private_chat(ALICE)
    with FakeTelegram() as fake:
        with bot_process(fake, tmp_path, STYLEBOT_STEPS="3000") as bot:
            photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
            fake.wait_for_blocking(None, stylising, timeout=90)
            workers = _children(bot.pid)
            assert workers or not Path("/proc").is_dir()
            _kill(bot)
        _assert_exit_by_themselves(workers)  # the orphaned worker notices its parent is gone

        held = fake.hold_next("sendPhoto", is_result_upload)
        with bot_process(fake, tmp_path, STYLEBOT_STEPS="2") as bot:
            first_upload = held.wait_arrived(timeout=90)
            _kill(bot)
        held.release()
        assert not delivered(fake, photo)

        mark = fake.mark()
        with bot_process(fake, tmp_path, STYLEBOT_STEPS="3000"):  # recomputing would take ages
            result = fake.wait_for_blocking("sendPhoto", result_for(photo), after=mark,
                                            timeout=60)
        assert result.upload() == first_upload.upload()
        assert not fake.find(None, stylising, after=mark)
        assert len(delivered(fake, photo)) == 1
    log = (tmp_path / "bot.log").read_text(errors="replace")
    assert fake.token.split(":")[1] not in log


def test_bot_killed_while_downloading_a_photo_asks_for_it_again_after_the_restart(tmp_path):
    """SIGKILL while the photo downloads, its update already confirmed to Telegram (which will
    not send it again): the restarted bot asks the user, in reply to the photo, to send it
    again, once."""
    chat = private_chat(ALICE)
    with FakeTelegram() as fake:
        download = fake.hold_next("download")
        with bot_process(fake, tmp_path) as bot:
            photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
            download.wait_arrived(timeout=60)
            until_blocking(lambda: fake.pending_updates() == 0)
            _kill(bot)
        download.release()
        assert not fake.find("sendMessage", replies_to(photo))

        with bot_process(fake, tmp_path):
            apology = fake.wait_for_blocking("sendMessage", replies_to(photo), timeout=60)
            help_request = fake.user_sends_text(chat, ALICE, "/help")
            fake.wait_for_blocking("sendMessage", replies_to(help_request), timeout=60)
        assert apology.text == texts.RESTARTED_WHILE_RECEIVING
        assert len(fake.find("sendMessage", replies_to(photo))) == 1



def _kill(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(30)


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (Linux /proc; empty elsewhere)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            children.append(int(stat.parent.name))
    return children


def _assert_exit_by_themselves(pids: list[int], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while any(_running(pid) for pid in pids):
        assert time.monotonic() < deadline, f"processes {pids} outlived the bot"
        time.sleep(0.1)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# ---------------------------------------------------------------------- the worker process


@in_module_loop
async def test_worker_killed_mid_job_is_retried_and_the_queue_goes_on(fake: FakeTelegram,
                                                                      tmp_path, worker):
    content = content_photo()
    async with run_bot(fake, tmp_path, worker, STYLEBOT_STEPS="20"):
        first = fake.user_sends_photo(private_chat(ALICE), ALICE, content, caption="mosaic")
        await fake.wait_for("sendMessage", replies_to(first))
        second = fake.user_sends_photo(private_chat(BOB), BOB, content, caption="crosshatch")
        await fake.wait_for("sendMessage", replies_to(second))
        await fake.wait_for("editMessageText", lambda c: c.chat_id == ALICE.id
                            and c.text == texts.STARTING)
        await until(lambda: worker.busy)
        killed = worker.pid
        os.kill(killed, signal.SIGKILL)

        await fake.wait_for(None, lambda c: c.chat_id == ALICE.id and c.text == texts.RETRYING)
        first_result = await fake.wait_for("sendPhoto", result_for(first), timeout=180)
        second_result = await fake.wait_for("sendPhoto", result_for(second), timeout=180)
        assert worker.pid not in (None, killed)
        help_request = fake.user_sends_text(private_chat(BOB), BOB, "/help")
        await fake.wait_for("sendMessage", replies_to(help_request))
    assert_stylised(first_result.upload(), content, (64, 48))
    assert second_result.text.startswith("crosshatch")
    assert len(delivered(fake, first)) == len(delivered(fake, second)) == 1



# ---------------------------------------------------------------------- out of memory


@in_module_loop
async def test_out_of_memory_is_retried_once_smaller_and_the_caption_says_so(
        fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    large = content_photo(192, 144)
    # 96×72 = 6912 px is over the worker's budget; at 0.7 the size, 67×50 = 3350 px fits.
    async with run_bot(fake, tmp_path, worker, STYLEBOT_SIZE="96"):
        photo = fake.user_sends_photo(chat, ALICE, large, caption="mosaic")
        result = await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
    assert result.text.startswith("mosaic · 67×50")
    assert texts.NOTE_SMALLER in result.text
    assert_stylised(result.upload(), large, (67, 50))

    # 200×150 is over the budget even at 0.7 the size: one polite failure, no result.
    async with run_bot(fake, tmp_path, worker, STYLEBOT_SIZE="200"):
        photo = fake.user_sends_photo(chat, ALICE, large, caption="mosaic")
        await fake.wait_for(None, lambda c: c.text == texts.JOB_FAILED_MEMORY, timeout=120)
        await asyncio.sleep(0.5)
    assert not delivered(fake, photo)


# ---------------------------------------------------------------------- Telegram errors


@in_module_loop
async def test_network_errors_and_flood_control_are_retried_and_nothing_is_lost(
        fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        fake.fail_next("sendMessage", error_code=502, description="Bad Gateway")  # "Queued"
        fake.fail_next("sendPhoto", drop=True, predicate=is_result_upload)
        fake.fail_next("sendPhoto", error_code=502, description="Bad Gateway",
                       predicate=is_result_upload)
        fake.fail_next("sendPhoto", error_code=429, description="Too Many Requests: retry "
                       "after 1", retry_after=1, predicate=is_result_upload)
        photo = fake.user_sends_photo(chat, ALICE, content, caption="mosaic")
        result = await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
        assert_stylised(result.upload(), content, (64, 48))

        attempts = fake.find("sendPhoto", result_for(photo))
        assert [c.error for c in attempts] == [
            "dropped", "Bad Gateway", "Too Many Requests: retry after 1", None]
        gaps = [later.at - earlier.at for earlier, later in pairwise(attempts)]
        assert gaps[0] >= 0.9 and gaps[1] >= 1.9 and gaps[2] >= 0.9  # backoff, retry_after

        # An answer to a command is not lost to one bad gateway either.
        fake.fail_next("sendMessage", error_code=502, description="Bad Gateway")
        help_request = fake.user_sends_text(chat, ALICE, "/help")
        answer = await fake.wait_for("sendMessage", replies_to(help_request))
        assert "/styles" in answer.text
    assert len(delivered(fake, photo)) == 1


DOWNLOAD_FAULTS = {
    "502 on getFile and on the download": [
        ("getFile", {"error_code": 502, "description": "Bad Gateway"}),
        ("download", {"error_code": 502, "description": "Bad Gateway"}),
    ],
    "dropped connection on the download": [("download", {"drop": True})],
}


@in_module_loop
@pytest.mark.parametrize("fault", list(DOWNLOAD_FAULTS))
async def test_a_failed_download_of_the_users_photo_is_retried(fake: FakeTelegram, tmp_path,
                                                               worker, fault):
    """One bad gateway or one dropped connection while the bot fetches the user's photo is
    repeated: the user gets the picture and is never asked to send the photo again."""
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        for method, failure in DOWNLOAD_FAULTS[fault]:
            fake.fail_next(method, **failure)
        photo = fake.user_sends_photo(private_chat(ALICE), ALICE, content, caption="mosaic")
        result = await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
    assert_stylised(result.upload(), content, (64, 48))
    failed = [c.method for c in fake.find() if c.error is not None]
    assert failed == [method for method, _ in DOWNLOAD_FAULTS[fault]]  # the fault did happen
    assert not fake.find("sendMessage", lambda c: c.text == texts.DOWNLOAD_FAILED)


@in_module_loop
async def test_a_refused_download_is_not_repeated(fake: FakeTelegram, tmp_path, worker):
    """A 400 from getFile will not change on a second try: the user hears at once."""
    async with run_bot(fake, tmp_path, worker):
        fake.fail_next("getFile", error_code=400, description="Bad Request: invalid file_id")
        photo = fake.user_sends_photo(private_chat(ALICE), ALICE, content_photo(), caption="wave")
        answer = await fake.wait_for("sendMessage", replies_to(photo))
    assert answer.text == texts.DOWNLOAD_FAILED
    assert len(fake.find("getFile")) == 1


@in_module_loop
async def test_results_under_the_upload_minimum_are_still_delivered(fake: FakeTelegram,
                                                                    tmp_path, worker):
    """The bot's own pictures are not held to the 32 px minimum of users' uploads (a small
    STYLEBOT_SIZE, or a long panorama, gives a shorter side)."""
    content = content_photo()
    async with run_bot(fake, tmp_path, worker, STYLEBOT_SIZE="32"):
        photo = fake.user_sends_photo(private_chat(ALICE), ALICE, content, caption="mosaic")
        result = await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
    assert result.text.startswith("mosaic · 32×24")
    assert_stylised(result.upload(), content, (32, 24))
