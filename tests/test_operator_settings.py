"""End to end, what an operator's settings and an admin's commands promise: the "very busy"
answer at STYLEBOT_MAX_QUEUE, the admin's /queue, STYLEBOT_PREVIEWS=off, and a job failed with
an apology after STYLEBOT_MAX_ATTEMPTS worker crashes."""

from __future__ import annotations

import os
import signal

import pytest

from bot.telegram import texts
from tests.conditions import job_rows, until
from tests.fake_telegram import (
    ADMIN_ID,
    ALICE,
    BOB,
    CAROL,
    FakeTelegram,
    User,
    content_photo,
    is_result_upload,
    preview_for,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    status_says,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]

FOREVER = {"STYLEBOT_STEPS": "3000"}
"""Jobs that run until cancelled (minutes at the test size)."""


async def test_a_full_queue_says_busy_and_the_admin_sees_it(fake: FakeTelegram, tmp_path,
                                                             worker):
    admin = User(ADMIN_ID, "Admin")
    async with run_bot(fake, tmp_path, worker, STYLEBOT_MAX_QUEUE="1", **FOREVER):
        running = fake.user_sends_photo(private_chat(ALICE), ALICE, content_photo(), "mosaic")
        await fake.wait_for(None, status_says("Stylising", ALICE.id), timeout=60)
        waiting = fake.user_sends_photo(private_chat(BOB), BOB, content_photo(), "mosaic")
        queued = await fake.wait_for("sendMessage", replies_to(waiting))
        assert queued.text.startswith("Queued")
        refused = fake.user_sends_photo(private_chat(CAROL), CAROL, content_photo(), "mosaic")
        answer = await fake.wait_for("sendMessage", replies_to(refused))
        assert answer.text == texts.QUEUE_FULL
        assert [job.user_id for job in job_rows(tmp_path / "stylebot.db")] == [ALICE.id, BOB.id]

        command = fake.user_sends_text(private_chat(admin), admin, "/queue")
        listing = await fake.wait_for("sendMessage", replies_to(command))
        lines = listing.text.splitlines()
        assert len(lines) == 2
        assert lines[0].startswith(f"#1 running · user {ALICE.id} · chat {ALICE.id} · ")
        assert lines[1].startswith(f"#2 queued · user {BOB.id} · chat {BOB.id} · ")
        for user in (ALICE, BOB):
            cancel = fake.user_sends_text(private_chat(user), user, "/cancel")
            await fake.wait_for("sendMessage", replies_to(cancel))
        await until(lambda: not worker.busy, 30, "the worker idle")
        command = fake.user_sends_text(private_chat(admin), admin, "/queue")
        listing = await fake.wait_for("sendMessage", replies_to(command))
        assert listing.text == texts.QUEUE_EMPTY
    assert not fake.find("sendPhoto", result_for(running))


async def test_previews_off_for_everyone(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker, STYLEBOT_STEPS="40", STYLEBOT_PREVIEWS="off"):
        # As in the test with previews on: the result's upload waits, long enough for the
        # status message's first preview to be due, had previews been on.
        result_upload = fake.hold_next("sendPhoto", is_result_upload)
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        status = await fake.wait_for("sendMessage", replies_to(photo))
        await until(result_upload.arrived.is_set, 180, "the result computed")
        await fake.wait_for("editMessageText", lambda c: c.message_id == status.message_id
                            and c.text.startswith("Stylising") and c.at > result_upload.call.at,
                            timeout=30)
        result_upload.release()
        await fake.wait_for("sendPhoto", result_for(photo), timeout=60)
        await fake.wait_for("deleteMessage", lambda c: c.message_id == status.message_id)
    assert not fake.find(None, preview_for(photo))
    assert not fake.find("editMessageMedia")


async def test_a_job_whose_worker_keeps_crashing_fails_with_an_apology(fake: FakeTelegram,
                                                                      tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker, STYLEBOT_MAX_ATTEMPTS="2", **FOREVER):
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        status = await fake.wait_for("sendMessage", replies_to(photo))
        for attempt in (1, 2):
            await until(lambda: worker.busy and worker.pid is not None, 120, "the job running")
            [job] = job_rows(tmp_path / "stylebot.db")
            assert (job.status, job.attempts) == ("running", attempt)
            os.kill(worker.pid, signal.SIGKILL)
            if attempt == 1:
                await fake.wait_for("editMessageText", lambda c: c.message_id ==
                                    status.message_id and c.text == texts.RETRYING, timeout=60)
        await fake.wait_for("editMessageText", lambda c: c.message_id == status.message_id
                            and c.text == texts.JOB_FAILED_RETRIES, timeout=60)
        [job] = job_rows(tmp_path / "stylebot.db")
        assert (job.status, job.attempts) == ("failed", 2)
    assert not fake.find("sendPhoto", result_for(photo))
