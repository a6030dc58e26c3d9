"""End to end: the real bot (built by `bot.app.build_application`, as in production) polling a
fake Bot API server over HTTP, running real (tiny, 2-step) style-transfer jobs, each test twice:
on one shared local worker process, and through a real Redis on a real Celery worker. Each test
plays users sending photos, commands and button taps, and checks what the bot sends back,
including the pictures."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from bot.jobs.work_area import WorkArea
from bot.telegram import kind_texts, texts
from tests.conditions import all_finished, biggest_file_id, job_rows, until
from tests.fake_telegram import (
    ADMIN_ID,
    ALICE,
    BOB,
    FakeTelegram,
    User,
    assert_stylised,
    content_photo,
    decode,
    group_chat,
    is_result_upload,
    jpeg,
    preview_for,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    status_says,
    style_photo,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]


@pytest.fixture(scope="module")
def worker(any_backend):
    """Every test here runs twice: on a local worker process, and through Redis on a remote
    Celery worker process."""
    return any_backend


async def test_private_flow_with_own_style_photo(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        assert fake.find("setMyCommands")
        assert {"start", "help", "styles", "settings", "cancel"} <= {
            c["command"] for c in fake.commands
        }
        photo = fake.user_sends_photo(chat, ALICE, content)
        ask = await fake.wait_for("sendMessage", replies_to(photo))
        assert "second photo" in ask.text
        assert any(data.startswith(f"p:{photo['message_id']}:mosaic") for _, data in ask.buttons())

        fake.user_sends_photo(chat, ALICE, style_photo())
        result = await fake.wait_for("sendPhoto", result_for(photo))
        assert_stylised(result.upload(), content, (64, 48))
        assert result.text.startswith("your own style · 64×48 · painted in ")
        actions = {data.split(":")[-1] for _, data in result.buttons() if data}
        assert actions == {"up", "down", "col", "file", "s", "p"}  # re-runs, sticker, pack
        shares = [b for row in result.params["reply_markup"]["inline_keyboard"] for b in row
                  if "switch_inline_query" in b]
        assert [b["switch_inline_query"] for b in shares] == [""]  # "Share": no preset name
        # The status message said "queued" and went away once the picture was there.
        status = await fake.wait_for("sendMessage", lambda c: c.text.startswith("Queued"))
        assert status.reply_to == photo["message_id"]
        await fake.wait_for("deleteMessage", lambda c: c.message_id == status.message_id)
        assert fake.find("sendChatAction", lambda c: c.params["action"] == "upload_photo")


async def test_preset_by_button(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content)
        ask = await fake.wait_for("sendMessage", replies_to(photo))
        keyboard = fake.message(chat.id, ask.message_id)
        query_id = fake.user_taps(f"p:{photo['message_id']}:mosaic", keyboard)
        await fake.wait_for("answerCallbackQuery",
                            lambda c: c.params["callback_query_id"] == query_id)
        result = await fake.wait_for("sendPhoto", result_for(photo))
        assert result.text.startswith("mosaic · 64×48")
        assert_stylised(result.upload(), content, (64, 48))
        # The keyboard is gone, so a second tap can't start the same job twice.
        await fake.wait_for("editMessageReplyMarkup", lambda c: c.message_id == ask.message_id)
        mark = fake.mark()
        stale = fake.user_taps(f"p:{photo['message_id']}:mosaic", keyboard)
        answer = await fake.wait_for("answerCallbackQuery", after=mark,
                                     predicate=lambda c: c.params["callback_query_id"] == stale)
        assert answer.text == texts.OUT_OF_DATE_BUTTON


async def test_caption_names_a_preset(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        first = fake.user_sends_photo(chat, ALICE, content, caption="/stylize mosaic")
        result = await fake.wait_for("sendPhoto", result_for(first))
        assert result.text.startswith("mosaic ·")
        assert_stylised(result.upload(), content, (64, 48))

        second = fake.user_sends_photo(chat, ALICE, content, caption="crosshatch")
        result = await fake.wait_for("sendPhoto", result_for(second))
        assert result.text.startswith("crosshatch ·")

        typo = fake.user_sends_photo(chat, ALICE, content, caption="/stylize mosaik")
        answer = await fake.wait_for("sendMessage", replies_to(typo))
        assert "mosaic" in answer.text and "Did you mean" in answer.text


async def test_settings_change_is_used_by_the_next_job(fake: FakeTelegram, tmp_path,
                                                       worker):
    chat = private_chat(ALICE)
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        command = fake.user_sends_text(chat, ALICE, "/settings")
        menu = await fake.wait_for("sendMessage", replies_to(command))
        assert "Result as: photo" in menu.text
        assert ("Result as: photo", "s:f:1") in menu.buttons()
        fake.user_taps("s:f:1", fake.message(chat.id, menu.message_id))
        edited = await fake.wait_for("editMessageText", lambda c: c.message_id == menu.message_id)
        assert "Result as: file" in edited.text
        fake.user_taps("s:s:high", fake.message(chat.id, menu.message_id))
        await fake.wait_for("editMessageText", lambda c: "Strength: High" in c.text)

        photo = fake.user_sends_photo(chat, ALICE, content, caption="mosaic")
        result = await fake.wait_for("sendDocument", result_for(photo))
        assert result.filenames["document"].endswith(".png")
        assert_stylised(result.upload(), content, (64, 48))
        assert not fake.find("sendPhoto", result_for(photo))

        [job] = job_rows(tmp_path / "stylebot.db")
        assert (job.settings["strength"], job.settings["as_file"]) == ("high", True)


async def test_rerun_buttons_each_change_one_thing(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    content = content_photo()
    db = tmp_path / "stylebot.db"
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content, caption="mosaic")
        result = await fake.wait_for("sendPhoto", result_for(photo))
        buttons = {data.split(":")[-1]: data for _, data in result.buttons()}

        async def rerun(action: str, method: str = "sendPhoto"):
            mark = fake.mark()
            fake.user_taps(buttons[action], fake.message(chat.id, result.message_id))
            sent = await fake.wait_for(method, result_for(photo), after=mark)
            await until(all_finished(db))
            return sent, job_rows(db)[-1]

        _, stronger = await rerun("up")
        _, weaker = await rerun("down")
        kept, keep_colours = await rerun("col")
        full_size, as_file = await rerun("file", "sendDocument")
    original = job_rows(db)[0]
    assert original.settings["strength"] == "normal"
    assert (stronger.settings["strength"], weaker.settings["strength"]) == ("high", "low")
    assert keep_colours.settings["preserve_colors"] and not original.settings["preserve_colors"]
    assert as_file.settings["as_file"] and full_size.filenames["document"].endswith(".png")
    # Each re-run is the same photo in the same style, with only its one change.
    for job in (stronger, weaker, keep_colours, as_file):
        assert (job.content_file_id, job.preset) == (original.content_file_id, "mosaic")
        changed = {k for k, v in job.settings.items() if original.settings[k] != v}
        assert len(changed) == 1
    # Keeping the photo's colours shows: the picture's colours are nearer the photo's.
    photo_colours = decode(content).mean(axis=(0, 1))
    assert (np.abs(decode(kept.upload()).mean(axis=(0, 1)) - photo_colours).sum()
            < np.abs(decode(result.upload()).mean(axis=(0, 1)) - photo_colours).sum())


async def test_cancel_running_job_and_waiting_photo(fake: FakeTelegram, tmp_path,
                                                    worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker, STYLEBOT_STEPS="3000"):
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        await fake.wait_for("sendMessage", replies_to(photo))
        await fake.wait_for(None, status_says("Stylising", chat.id))
        command = fake.user_sends_text(chat, ALICE, "/cancel")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text == kind_texts.CANCELLED_ONE["photo"]
        await fake.wait_for(None, status_says("Cancelled.", chat.id, exactly=True), timeout=10)

        # A half-finished conversation is cleared too: the next photo is a new content photo.
        waiting = fake.user_sends_photo(chat, ALICE, content_photo())
        await fake.wait_for("sendMessage", replies_to(waiting))
        command = fake.user_sends_text(chat, ALICE, "/cancel")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text == kind_texts.CLEARED["photo"]
        # Its download went before the answer.
        assert WorkArea(tmp_path / "work").cached_input(ALICE.id, biggest_file_id(waiting)) is None
        again = fake.user_sends_photo(chat, ALICE, content_photo())
        ask = await fake.wait_for("sendMessage", replies_to(again))
        assert "second photo" in ask.text
        await asyncio.sleep(0.5)
        # No result: the only pictures sent were the cancelled job's previews.
        assert not fake.find(None, result_for(photo)) and not fake.find("sendDocument")


async def test_two_users_in_a_group_at_once(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    reddish = content_photo(tint=(90, -40, -40))
    bluish = jpeg(decode(content_photo(tint=(-60, -20, 100)))[:, ::-1])  # its disc on the left
    async with run_bot(fake, tmp_path, worker):
        from_alice = fake.user_sends_photo(group, ALICE, reddish, caption="/stylize mosaic")
        from_bob = fake.user_sends_photo(group, BOB, bluish,
                                         caption="/stylize@stylebot_test_bot swirl")
        alice_result = await fake.wait_for("sendPhoto", result_for(from_alice))
        bob_result = await fake.wait_for("sendPhoto", result_for(from_bob))
    assert alice_result.chat_id == bob_result.chat_id == group.id
    assert alice_result.text.startswith("mosaic") and bob_result.text.startswith("swirl")
    alice_image = assert_stylised(alice_result.upload(), reddish, (64, 48))
    bob_image = assert_stylised(bob_result.upload(), bluish, (64, 48))
    # Each result is made from its own user's photo: its shapes, whatever colours the style gave.
    # (At these tests' 64 px and 2 steps a result is nearly its instant picture, the careful
    # run's start; the network's crosshatch covers a 64 px disc entirely, its swirl keeps it.)
    assert _likeness(alice_image, reddish) > _likeness(alice_image, bluish)
    assert _likeness(bob_image, bluish) > _likeness(bob_image, reddish)


def _likeness(image: np.ndarray, photo: bytes) -> float:
    """Correlation of the two pictures' brightness, pixel by pixel."""
    return float(np.corrcoef(image.mean(axis=2).ravel(), decode(photo).mean(axis=2).ravel())[0, 1])


async def test_group_replies_to_a_photo(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    carol = User(303, "Carol")
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        shared = fake.user_sends_photo(group, carol, content)  # no command: the bot stays quiet
        command = fake.user_sends_text(group, ALICE, "/stylize pointillism", reply_to=shared)
        by_text = await fake.wait_for("sendPhoto", result_for(shared))
        assert by_text.text.startswith("pointillism")
        assert fake.find("sendMessage", replies_to(shared))  # the status went there too
        assert not fake.find("sendMessage", replies_to(command))

        mark = fake.mark()
        fake.user_sends_photo(group, BOB, style_photo(seed=7), caption="/stylize", reply_to=shared)
        by_photo = await fake.wait_for("sendPhoto", result_for(shared), after=mark)
        assert by_photo.text.startswith("your own style")
        assert_stylised(by_photo.upload(), content, (64, 48))

        # Alice's result buttons are hers: Bob tapping them gets a polite no.
        mark = fake.mark()
        fake.user_taps(by_text.buttons()[0][1], fake.message(group.id, by_text.message_id),
                       user=BOB)
        answer = await fake.wait_for("answerCallbackQuery", after=mark)
        assert "belong" in answer.text


async def test_restart_keeps_a_half_finished_conversation(fake: FakeTelegram, tmp_path,
                                                          worker):
    chat = private_chat(ALICE)
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content)
        await fake.wait_for("sendMessage", replies_to(photo))
    async with run_bot(fake, tmp_path, worker):
        fake.user_sends_photo(chat, ALICE, style_photo())
        result = await fake.wait_for("sendPhoto", result_for(photo))
        assert result.text.startswith("your own style")
        assert_stylised(result.upload(), content, (64, 48))


async def test_styles_gallery_and_default_style(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        command = fake.user_sends_text(chat, ALICE, "/styles")
        gallery = await fake.wait_for("sendPhoto", replies_to(command), timeout=180)
        image = decode(gallery.upload())
        assert image.shape[0] > 100 and image.shape[1] > 100
        buttons = dict((data, text) for text, data in gallery.buttons())
        assert {"d:mosaic", "d:pointillism", "d:crosshatch"} <= set(buttons)

        fake.user_taps("d:crosshatch", fake.message(chat.id, gallery.message_id))
        answer = await fake.wait_for("answerCallbackQuery")
        assert "crosshatch" in answer.text
        photo = fake.user_sends_photo(chat, ALICE, content_photo())
        result = await fake.wait_for("sendPhoto", result_for(photo))
        assert result.text.startswith("crosshatch")

        command = fake.user_sends_text(chat, ALICE, "/style mosaic")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert "mosaic" in answer.text
        # The second /styles re-sends the uploaded gallery by file id.
        mark = fake.mark()
        fake.user_sends_text(chat, ALICE, "/styles")
        again = await fake.wait_for("sendPhoto", after=mark)
        assert isinstance(again.params.get("photo"), str) and not again.files

        # /style off: the next photo is asked for a style again, nothing starts.
        command = fake.user_sends_text(chat, ALICE, "/style off")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text == texts.DEFAULT_CLEARED
        unstyled = fake.user_sends_photo(chat, ALICE, content_photo())
        ask = await fake.wait_for("sendMessage", replies_to(unstyled))
        assert ask.text == kind_texts.CHOOSE_STYLE["photo"]
        assert len(job_rows(tmp_path / "stylebot.db")) == 1


async def test_bad_input_is_answered_politely(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        text_file = fake.user_sends_document(chat, ALICE, b"just some notes\n", "notes.txt",
                                             "text/plain")
        answer = await fake.wait_for("sendMessage", replies_to(text_file))
        assert answer.text == "That file is not an image I can read."

        huge = fake.user_sends_document(chat, ALICE, b"\xff\xd8\xff" + b"0" * 100, "huge.jpg",
                                        "image/jpeg", file_size=25 * 1024 * 1024)
        answer = await fake.wait_for("sendMessage", replies_to(huge))
        assert "too big" in answer.text
        huge_id = huge["document"]["file_id"]
        assert not fake.find("getFile", lambda c: c.params["file_id"] == huge_id)

        mark = fake.mark()
        fake.user_taps("r:99999999:up'; DROP TABLE jobs", fake.user_sends_text(chat, ALICE, "hi"))
        answer = await fake.wait_for("answerCallbackQuery", after=mark)
        assert answer.text == texts.OUT_OF_DATE_BUTTON
        mark = fake.mark()
        fake.user_taps("r:424242:up", fake.user_sends_text(chat, ALICE, "hi"))
        answer = await fake.wait_for("answerCallbackQuery", after=mark)
        assert answer.text == texts.OUT_OF_DATE_BUTTON
        assert not fake.find("sendPhoto")


async def test_admin_commands(fake: FakeTelegram, tmp_path, worker, presets_dir):
    admin = User(ADMIN_ID, "Admin")
    chat = private_chat(admin)
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, admin, style_photo(seed=3))
        await fake.wait_for("sendMessage", replies_to(photo))
        command = fake.user_sends_text(chat, admin, "/addstyle stripes", reply_to=photo)
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text == "Added the style stripes."
        assert list(presets_dir.iterdir())

        command = fake.user_sends_text(chat, admin, "/stats")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text.startswith("Today:")

        refused = fake.user_sends_text(private_chat(ALICE), ALICE, "/queue")
        answer = await fake.wait_for("sendMessage", replies_to(refused))
        assert "admins" in answer.text


async def test_live_previews_and_turning_them_off(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker, STYLEBOT_STEPS="40"):
        # However fast this machine computes, the result waits for the status message's
        # first preview (a status edit is due 2.5 s after "Starting"): its upload is held.
        result_upload = fake.hold_next("sendPhoto", is_result_upload)
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        preview = await fake.wait_for("sendPhoto", preview_for(photo), timeout=180)
        assert preview.text.startswith("Stylising…")
        assert decode(preview.upload()).shape == (48, 64, 3)
        result_upload.release()  # a 502: the bot sends the result again
        await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
        # The preview message made way for the result.
        await fake.wait_for("deleteMessage", lambda c: c.message_id == preview.message_id)

        fake.user_sends_text(chat, ALICE, "/settings")
        menu = await fake.wait_for("sendMessage", lambda c: c.text.startswith("Settings"))
        fake.user_taps("s:v:0", fake.message(chat.id, menu.message_id))
        await fake.wait_for("editMessageText", lambda c: "Previews: off" in c.text)
        mark = fake.mark()
        quiet = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        await fake.wait_for("sendPhoto", result_for(quiet), timeout=180)
        assert not fake.find(None, preview_for(quiet))
        assert not fake.find("editMessageMedia", after=mark)


async def test_forget_deletes_the_users_data(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content_photo())
        await fake.wait_for("sendMessage", replies_to(photo))
        downloads = tmp_path / "work" / "users" / str(ALICE.id)
        assert any(downloads.iterdir())
        command = fake.user_sends_text(chat, ALICE, "/forget")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text.startswith("Done: I deleted")
        assert not downloads.exists()
        # The waiting photo is forgotten: the next photo is a new content photo.
        again = fake.user_sends_photo(chat, ALICE, style_photo())
        ask = await fake.wait_for("sendMessage", replies_to(again))
        assert "second photo" in ask.text


async def test_flood_control_is_waited_out_and_blocked_users_end_quietly(fake: FakeTelegram,
                                                                         tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        fake.fail_next("sendPhoto", error_code=429, description="Too Many Requests: retry after 1",
                       retry_after=1, predicate=is_result_upload)
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        await fake.wait_for("sendPhoto", result_for(photo), timeout=120)
        refused = fake.find("sendPhoto", lambda c: c.error is not None)
        assert len(refused) == 1 and "Too Many Requests" in refused[0].error
        sent = [c for c in fake.find("sendPhoto", result_for(photo)) if c.error is None]
        assert len(sent) == 1

        fake.fail_next("sendPhoto", error_code=403, description="Forbidden: bot was blocked by "
                       "the user", predicate=is_result_upload)
        blocked = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        forbidden = await fake.wait_for("sendPhoto", lambda c: "Forbidden" in (c.error or ""),
                                        timeout=120, failed=True)
        # The job ends as failed, for good: nothing is retried, nothing more is said.
        await until(all_finished(tmp_path / "stylebot.db"))
        job = job_rows(tmp_path / "stylebot.db")[-1]
        assert job.reply_to_message_id == blocked["message_id"]
        assert (job.status, job.error) == ("failed", "the user blocked the bot")
        # A status update the bot had sent before the refusal came back may still arrive
        # (at most one: the status stops the moment the refusal is known); nothing else does.
        after = fake.calls.index(forbidden) + 1
        later = fake.find(None, lambda c: c.chat_id == chat.id, after=after)
        assert len(later) <= 1 and all(c.text.startswith("Stylising") and preview_for(blocked)(c)
                                       for c in later), later
        # The bot is still fine for everyone else.
        help_request = fake.user_sends_text(private_chat(BOB), BOB, "/help")
        await fake.wait_for("sendMessage", replies_to(help_request))


async def test_group_stylize_without_a_name_asks_that_user(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        shared = fake.user_sends_photo(group, BOB, content)
        command = fake.user_sends_text(group, ALICE, "/stylize", reply_to=shared)
        ask = await fake.wait_for("sendMessage", replies_to(command))
        assert "reply to this message with a photo" in ask.text
        keyboard = fake.message(group.id, ask.message_id)
        mark = fake.mark()
        fake.user_taps(ask.buttons()[0][1], keyboard, user=BOB)
        answer = await fake.wait_for("answerCallbackQuery", after=mark)
        assert "belong" in answer.text
        # Bob's photo replying to the question is not taken as Alice's style...
        bobs = fake.user_sends_photo(group, BOB, style_photo(), reply_to=ask.message_id)
        # ...Alice's is.
        alices = fake.user_sends_photo(group, ALICE, style_photo(seed=5), reply_to=ask.message_id)
        result = await fake.wait_for("sendPhoto", result_for(shared))
        assert result.text.startswith("your own style")
        await until(all_finished(tmp_path / "stylebot.db"))
        [job] = job_rows(tmp_path / "stylebot.db")
        assert (job.user_id, job.style_file_id) == (ALICE.id, biggest_file_id(alices))
        assert job.content_file_id == biggest_file_id(shared)
        assert not fake.find("getFile", lambda c: c.params["file_id"] == biggest_file_id(bobs))
        assert len(fake.find("sendPhoto", result_for(shared))) == 1
