""""Keep this one" under the instant picture: it ends the careful run there, the worker takes
the next job at once, and the instant picture comes as the result with the usual buttons; in a
group only the job's owner may press it; /stats counts the presses."""

from __future__ import annotations

import numpy as np
import pytest

from bot.telegram import texts
from stylecore.errors import StyleError
from stylecore.images import decode_image
from stylecore.instant.network_weights import cache_path, fetch_instant_weights
from tests.fake_telegram import (
    ADMIN_ID,
    ALICE,
    BOB,
    Call,
    FakeTelegram,
    User,
    content_photo,
    group_chat,
    private_chat,
    result_for,
    run_bot,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]

LONG_JOB = {"STYLEBOT_STEPS": "3000"}
"""A careful run that lasts minutes at the test size: only "Keep this one" ends it soon."""


@pytest.fixture(scope="module", autouse=True)
def instant_weights() -> None:
    """The instant painter's weights in the usual cache, as a deployment has them (the first
    preview is the instant picture only where they are)."""
    if cache_path().is_file():
        return
    try:
        fetch_instant_weights()
    except StyleError as error:
        pytest.skip(f"the instant painter's weights could not be fetched: {error}")


def keep_button(call: Call) -> str | None:
    data = [data for _, data in call.buttons() if data.startswith("i:")]
    return data[0] if data else None


def instant_preview(photo: dict):
    """The status message's instant picture: a photo replying to `photo` with the button."""
    return lambda c: c.reply_to == photo["message_id"] and keep_button(c) is not None


async def test_keeping_the_instant_picture_makes_it_the_result_at_once(
        fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    admin = User(ADMIN_ID, "Admin")
    async with run_bot(fake, tmp_path, worker, **LONG_JOB):
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        preview = await fake.wait_for("sendPhoto", instant_preview(photo), timeout=180)
        assert [label for label, _ in preview.buttons()] == [texts.BTN_KEEP_INSTANT]
        fake.user_taps(keep_button(preview), fake.message(chat.id, preview.message_id))
        answer = await fake.wait_for("answerCallbackQuery", timeout=30)
        assert answer.text == texts.KEEPING_INSTANT

        result = await fake.wait_for("sendPhoto", result_for(photo), timeout=60)
        kept, shown = decode_image(result.upload()), decode_image(preview.upload())
        assert kept.shape == shown.shape
        assert np.abs(kept - shown).mean() < 0.02  # the same picture, JPEG'd twice
        assert any(data.endswith(":up") for _, data in result.buttons())
        await fake.wait_for("deleteMessage", lambda c: c.message_id == preview.message_id)

        # The worker is free at once: the next job gets its own instant picture.
        again = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        second = await fake.wait_for("sendPhoto", instant_preview(again), timeout=120)
        fake.user_taps(keep_button(second), fake.message(chat.id, second.message_id))
        await fake.wait_for("sendPhoto", result_for(again), timeout=60)

        command = fake.user_sends_text(private_chat(admin), admin, "/stats")
        stats = await fake.wait_for("sendMessage", lambda c: c.text.startswith("Today:"))
        assert command["message_id"] == stats.reply_to
        assert "Instant picture kept instead of waiting: 2" in stats.text


async def test_in_a_group_only_the_owner_keeps_it(fake: FakeTelegram, tmp_path, worker):
    chat = group_chat()
    async with run_bot(fake, tmp_path, worker, **LONG_JOB):
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="/stylize mosaic")
        preview = await fake.wait_for("sendPhoto", instant_preview(photo), timeout=180)
        message = fake.message(chat.id, preview.message_id)
        mark = fake.mark()
        fake.user_taps(keep_button(preview), message, user=BOB)
        refused = await fake.wait_for("answerCallbackQuery", after=mark, timeout=30)
        assert refused.text == texts.NOT_YOUR_BUTTON
        assert not fake.find("sendPhoto", result_for(photo))

        mark = fake.mark()
        fake.user_taps(keep_button(preview), message, user=ALICE)
        kept = await fake.wait_for("answerCallbackQuery", after=mark, timeout=30)
        assert kept.text == texts.KEEPING_INSTANT
        await fake.wait_for("sendPhoto", result_for(photo), timeout=60)

        # Too late: the job is done; the button left on an old message says so.
        mark = fake.mark()
        fake.user_taps(keep_button(preview), message, user=ALICE)
        late = await fake.wait_for("answerCallbackQuery", after=mark, timeout=30)
        assert late.text in (texts.INSTANT_GONE, texts.OUT_OF_DATE_BUTTON, texts.STALE_BUTTON)
