"""Hostile or broken input, end to end: each gets one short, friendly answer, nothing crashes
(no error is logged), and the user can carry on right after. Complements the non-image
document, the > 20 MB document, the preset typo in a caption and the forged re-run button
of tests/test_bot_e2e.py."""

from __future__ import annotations

import io
import logging
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from bot.jobs.work_area import WorkArea
from bot.telegram import kind_texts, texts
from tests.conditions import job_rows
from tests.fake_telegram import (
    ADMIN_ID,
    ALICE,
    TEST_SIZE,
    Call,
    FakeTelegram,
    User,
    assert_stylised,
    content_photo,
    group_chat,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    style_photo,
    tiny_clip,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]

SHORT = 200
"""Characters a bad-input answer may take: a sentence or two."""


@pytest.fixture(autouse=True)
def no_errors_logged(caplog):
    """Nothing crashed: no handler raised (the error handler logs it) and nothing else failed."""
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


# ---------------------------------------------------------------------- pictures


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid PNG of a few dozen bytes whose header promises width×height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def animated_gif(frames: int = 3, size: int = 64) -> bytes:
    pictures = [Image.new("RGB", (size, size), (80 * i, 120, 200 - 60 * i)) for i in range(frames)]
    buf = io.BytesIO()
    pictures[0].save(buf, "GIF", save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return buf.getvalue()


def webp(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buf, "WEBP", quality=90)
    return buf.getvalue()


def moving(fake: FakeTelegram, kind: str) -> dict:
    """The message fields Telegram sends for a video, an animation (a GIF becomes one, with a
    document alongside) or an animated sticker."""
    media = {**fake.add_file(b"\x00\x00\x00\x18ftypmp42", "videos"), "width": 64, "height": 64,
             "duration": 2}
    if kind == "video":
        return {"video": media}
    if kind == "animation":
        return {"animation": media, "document": {**media, "file_name": "funny.gif.mp4"}}
    sticker = {**fake.add_file(b"tgs", "stickers"), "type": "regular", "width": 512,
               "height": 512, "is_animated": True, "is_video": False}
    return {"sticker": sticker}


def only_answer(fake: FakeTelegram, message: dict) -> Call:
    answers = fake.find("sendMessage", replies_to(message))
    assert len(answers) == 1, [a.text for a in answers]
    return answers[0]


async def can_carry_on(fake: FakeTelegram, chat, user: User) -> None:
    """The user's next good photo is taken as usual."""
    photo = fake.user_sends_photo(chat, user, content_photo())
    ask = await fake.wait_for("sendMessage", replies_to(photo))
    assert ask.text == kind_texts.CHOOSE_STYLE["photo"]


# ---------------------------------------------------------------------- broken files

BROKEN_FILES = {
    "zero-byte file": (lambda: b"", "empty.jpg", "image/jpeg", "That file is empty."),
    "truncated JPEG": (lambda: content_photo(640, 480)[:4000], "cut.jpg", "image/jpeg",
                       "damaged or incomplete"),
    "corrupt JPEG": (lambda: b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8, "bad.jpg",
                     "image/jpeg", "damaged or incomplete"),
    "decompression bomb": (bomb_png, "bomb.png", "image/png", "too large"),
    "tiny image": (lambda: png(np.full((8, 8, 3), 128)), "tiny.png", "image/png", "too small"),
    "long and narrow": (lambda: png(np.full((32, 2000, 3), 90)), "strip.png", "image/png",
                        "too long and narrow"),
}


@pytest.mark.parametrize("case", list(BROKEN_FILES))
async def test_a_broken_file_gets_one_short_answer(fake: FakeTelegram, tmp_path, worker, case):
    make, name, mime, expected = BROKEN_FILES[case]
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        sent = fake.user_sends_document(chat, ALICE, make(), name, mime)
        answer = await fake.wait_for("sendMessage", replies_to(sent))
        assert expected in answer.text and len(answer.text) <= SHORT
        await can_carry_on(fake, chat, ALICE)
        assert only_answer(fake, sent)


async def test_files_over_the_download_limit_are_refused_before_downloading(
        fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    big = 25 * 1024 * 1024
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), file_size=big)
        answer = await fake.wait_for("sendMessage", replies_to(photo))
        assert answer.text == texts.TOO_BIG.format(limit=20)
        # A document whose size only getFile tells (Telegram omits it sometimes).
        unsized = {k: v for k, v in fake.add_file(b"\xff\xd8\xff" + b"0" * 64, file_size=big)
                   .items() if k != "file_size"}
        document = fake.user_sends(chat, ALICE, document={**unsized, "file_name": "big.jpg"})
        answer = await fake.wait_for("sendMessage", replies_to(document))
        assert answer.text == texts.TOO_BIG.format(limit=20)
        await can_carry_on(fake, chat, ALICE)
    assert not fake.find("getFile", lambda c: c.params["file_id"] == photo["photo"][-1]["file_id"])


# ---------------------------------------------------------------------- moving pictures


@pytest.mark.parametrize("kind", ["video", "animation", "animated sticker"])
async def test_a_corrupt_clip_or_an_animated_sticker_gets_one_line(fake: FakeTelegram, tmp_path,
                                                                   worker, kind):
    """A video or GIF whose file holds no picture (a broken MP4) is answered with one line
    and leaves nothing on disk; an animated (TGS) sticker is refused without downloading."""
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        media = moving(fake, kind)
        sent = fake.user_sends(chat, ALICE, **media)
        answer = await fake.wait_for("sendMessage", replies_to(sent))
        expected = (texts.ANIMATED_STICKER if kind == "animated sticker" else
                    kind_texts.UNREADABLE["video" if kind == "video" else "gif"])
        assert answer.text == expected
        await can_carry_on(fake, chat, ALICE)
    file_ids = {fields["file_id"] for fields in media.values()}
    downloaded = fake.find("getFile", lambda c: c.params["file_id"] in file_ids)
    assert bool(downloaded) == (kind != "animated sticker")
    work = WorkArea(tmp_path / "work")
    assert not any(work.input_path(ALICE.id, file_id).exists() for file_id in file_ids)


def index_without_frames() -> bytes:
    """An MP4 whose index ("moov") says 8 frames but whose data ("mdat") is gone: the headers
    read, the frames don't."""
    data = tiny_clip()
    mdat, moov = data.find(b"mdat") - 4, data.find(b"moov") - 4
    assert 0 < mdat < moov  # as written, the index comes last
    return data[:mdat] + data[moov:]


@pytest.mark.parametrize(("kind", "make", "expected"), [
    ("video", index_without_frames, kind_texts.DAMAGED["video"]),
    ("animation", lambda: tiny_clip(frames=1), kind_texts.ONE_FRAME["gif"]),
    ("video_note", lambda: tiny_clip(frames=1, width=48), kind_texts.ONE_FRAME["round"]),
])
async def test_a_damaged_or_one_frame_clip_gets_its_own_true_line(
        fake: FakeTelegram, tmp_path, worker, kind, make, expected):
    """Checked as it arrives (its first frames decoded), before anything is queued; nothing
    of it stays on disk."""
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        sent = fake.user_sends_clip(chat, ALICE, kind, make(), caption="mosaic")
        answer = await fake.wait_for("sendMessage", replies_to(sent))
        assert answer.text == expected
    assert not job_rows(tmp_path / "stylebot.db")
    assert [path for path in (tmp_path / "work" / "users").rglob("*") if path.is_file()] == []


async def test_a_clip_with_its_index_at_the_end_is_painted(fake: FakeTelegram, tmp_path,
                                                           worker):
    """An MP4 written without "faststart" (the index after the frames, as phones and PyAV
    write them) is a valid file: it is painted like any other."""
    chat = private_chat(ALICE)
    data = tiny_clip()
    assert data.find(b"mdat") < data.find(b"moov")
    async with run_bot(fake, tmp_path, worker):
        sent = fake.user_sends_clip(chat, ALICE, "video", data, caption="mosaic")
        result = await fake.wait_for("sendAnimation", result_for(sent), timeout=120)
    assert result.text.startswith("mosaic · 64×48 · painted in ")


async def test_a_gif_sent_as_a_file_is_a_clip_asking_for_its_style(fake: FakeTelegram,
                                                                   tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        sent = fake.user_sends_document(chat, ALICE, animated_gif(), "loop.gif", "image/gif")
        ask = await fake.wait_for("sendMessage", replies_to(sent))
        assert ask.text == kind_texts.CHOOSE_STYLE["gif"]


async def test_a_png_of_49_megapixels_sent_as_a_file_is_painted_like_any_photo(
        fake: FakeTelegram, tmp_path, worker):
    # 160 KB on the wire, 588 MB as a full-size float array: the bot and the worker decode it
    # reduced to what the job needs (its memory: benchmarks/decode_memory.py).
    chat = private_chat(ALICE)
    huge = io.BytesIO()
    Image.new("RGB", (7000, 7000), (40, 120, 200)).save(huge, "PNG")
    async with run_bot(fake, tmp_path, worker):
        sent = fake.user_sends_document(chat, ALICE, huge.getvalue(), "huge.png", "image/png",
                                        caption="mosaic")
        result = await fake.wait_for("sendPhoto", result_for(sent), timeout=180)
    painting = Image.open(io.BytesIO(result.upload()))
    assert painting.size == (TEST_SIZE, TEST_SIZE)
    assert np.asarray(painting).std() > 2.0  # painted, not the flat colour it was


async def test_a_static_sticker_works_as_the_style(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    content = content_photo()
    y, x = np.mgrid[0:96, 0:96]
    sticker_picture = np.stack([(x // 12 % 2) * 230, (y // 12 % 2) * 200, x * 0 + 40], axis=-1)
    sticker = {**fake.add_file(webp(sticker_picture), "stickers"), "type": "regular",
               "width": 96, "height": 96, "is_animated": False, "is_video": False}
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content)
        await fake.wait_for("sendMessage", replies_to(photo))
        fake.user_sends(chat, ALICE, sticker=sticker)
        result = await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
    assert result.text.startswith(texts.STYLE_OWN)
    assert_stylised(result.upload(), content, (64, 48))


# ---------------------------------------------------------------------- names and commands


async def test_unknown_preset_names_get_the_closest_suggestions(fake: FakeTelegram, tmp_path,
                                                                worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        command = fake.user_sends_text(chat, ALICE, "/style mosiac")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert "Did you mean mosaic?" in answer.text

        photo = fake.user_sends_photo(chat, ALICE, content_photo())
        await fake.wait_for("sendMessage", replies_to(photo))
        typed = fake.user_sends_text(chat, ALICE, "pointilism")
        answer = await fake.wait_for("sendMessage", replies_to(typed))
        assert "Did you mean pointillism?" in answer.text

        endless = fake.user_sends_text(chat, ALICE, "/style " + "x" * 5000)
        answer = await fake.wait_for("sendMessage", replies_to(endless))
        assert answer.text.startswith("I don't know a style called") and len(answer.text) < SHORT


JUNK_COMMANDS = {
    "/start ref_$$$%00": texts.START,
    "/help me please 🙏": texts.HELP,
    "/settings quality=ultra 999": "Settings\n",
    "/cancel all of them --force": texts.NOTHING_TO_CANCEL,
    "/style \u202e\u200b": "I don't know a style called",
    "/stylize ../../etc/passwd": "I don't know a style called",
    "/forget 42 43": "Done: I deleted",
    "/stats DROP TABLE jobs;": texts.ADMIN_ONLY,
    "/nosuchcommand arg": texts.HELP,
}


async def test_commands_with_junk_arguments_get_one_sensible_answer(fake: FakeTelegram,
                                                                    tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        sent = {text: fake.user_sends_text(chat, ALICE, text) for text in JUNK_COMMANDS}
        for text, expected in JUNK_COMMANDS.items():
            answer = await fake.wait_for("sendMessage", replies_to(sent[text]))
            assert answer.text.startswith(expected), (text, answer.text)
        await can_carry_on(fake, chat, ALICE)
        assert all(only_answer(fake, message) for message in sent.values())


async def test_addstyle_with_a_hostile_name_writes_nothing(fake: FakeTelegram, tmp_path, worker,
                                                          presets_dir):
    admin = User(ADMIN_ID, "Admin")
    chat = private_chat(admin)
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, admin, style_photo())
        await fake.wait_for("sendMessage", replies_to(photo))
        for name in ("../../evil", "a", "/etc/passwd", "x" * 300):
            command = fake.user_sends_text(chat, admin, f"/addstyle {name}", reply_to=photo)
            answer = await fake.wait_for("sendMessage", replies_to(command))
            assert not answer.text.startswith("Added") and len(answer.text) < SHORT
    assert not list(presets_dir.iterdir())
    assert not list(tmp_path.glob("evil*")) and not list(tmp_path.parent.glob("evil*"))


# ---------------------------------------------------------------------- buttons

FORGED_BUTTONS = [
    "", "x" * 64, "p:1:mosaic", "g:1:999", "s:q:ultra", "s:c:2", "s:q:fast", "r:424242:up",
    "r:-1:up", "d:nosuchstyle", "d:mosaic", "n",
]
"""Data a modified client may send with any of the bot's messages; none is a button of the
/help answer they are sent with."""


async def test_stale_and_forged_buttons_are_answered_once_and_change_nothing(
        fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        command = fake.user_sends_text(chat, ALICE, "/help")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        message = fake.message(chat.id, answer.message_id)
        queries = {data: fake.user_taps(data, message) for data in FORGED_BUTTONS}
        # A button under a message too old for Telegram to show ("inaccessible", date 0).
        gone = {"chat": chat.as_dict(), "message_id": 999_999, "date": 0}
        queries["(inaccessible) s:q:fast"] = fake.user_taps("s:q:fast", gone, user=ALICE)
        for data, query_id in queries.items():
            toast = await fake.wait_for("answerCallbackQuery",
                                        lambda c, q=query_id: c.params["callback_query_id"] == q)
            assert toast.text == texts.OUT_OF_DATE_BUTTON, (data, toast.text)
        await can_carry_on(fake, chat, ALICE)
        answered = [c.params["callback_query_id"] for c in fake.find("answerCallbackQuery")]
        assert sorted(answered) == sorted(queries.values())  # each exactly once
        settings = fake.user_sends_text(chat, ALICE, "/settings")
        panel = await fake.wait_for("sendMessage", replies_to(settings))
    assert "Quality: Balanced" in panel.text  # "s:q:fast" changed nothing
    assert not fake.find("sendPhoto") and not fake.find("sendDocument")
    assert not fake.find("editMessageText") and not fake.find("editMessageReplyMarkup")


async def test_a_forged_button_on_the_welcome_message_changes_nothing(fake: FakeTelegram,
                                                                      tmp_path, worker):
    """The settings panel's buttons, and the style keyboard's button for the waiting photo,
    "pressed" on the /start message: the welcome text stays, no setting changes, no job."""
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        start = fake.user_sends_text(chat, ALICE, "/start")
        welcome = await fake.wait_for("sendMessage", replies_to(start))
        photo = fake.user_sends_photo(chat, ALICE, content_photo())
        await fake.wait_for("sendMessage", replies_to(photo))
        message = fake.message(chat.id, welcome.message_id)
        for data in ("s:q:fast", "s:f:1", f"p:{photo['message_id']}:mosaic"):
            query_id = fake.user_taps(data, message)
            toast = await fake.wait_for(
                "answerCallbackQuery", lambda c, q=query_id: c.params["callback_query_id"] == q)
            assert toast.text == texts.OUT_OF_DATE_BUTTON
        settings = fake.user_sends_text(chat, ALICE, "/settings")
        panel = await fake.wait_for("sendMessage", replies_to(settings))
        # The real panel's buttons still work, on the panel.
        fake.user_taps("s:q:fast", fake.message(chat.id, panel.message_id))
        edited = await fake.wait_for("editMessageText", lambda c: c.message_id == panel.message_id)
    assert fake.message(chat.id, welcome.message_id)["text"] == texts.START
    assert "Quality: Balanced" in panel.text and "Result as: photo" in panel.text
    assert "Quality: Fast" in edited.text
    assert not fake.find("editMessageText", lambda c: c.message_id == welcome.message_id)
    assert not fake.find("sendMessage", lambda c: c.text.startswith("Queued"))


# ---------------------------------------------------------------------- other messages

OTHER_MESSAGES = {
    "audio": {"audio": {"file_id": "AUDIO1", "file_unique_id": "A1", "duration": 3,
                        "title": "Song"}},
    "voice": {"voice": {"file_id": "VOICE1", "file_unique_id": "V1", "duration": 2}},
    "contact": {"contact": {"phone_number": "+100200300", "first_name": "Carol"}},
    "location": {"location": {"latitude": 48.85, "longitude": 2.35}},
    "venue": {"venue": {"location": {"latitude": 48.85, "longitude": 2.35},
                        "title": "Louvre", "address": "Rue de Rivoli"}},
    "poll": {"poll": {"id": "P1", "question": "Which style?", "total_voter_count": 0,
                      "is_closed": False, "is_anonymous": True, "type": "regular",
                      "allows_multiple_answers": False, "allows_revoting": True,
                      "members_only": False,
                      "options": [{"text": "wave", "voter_count": 0, "persistent_id": "1"},
                                  {"text": "mosaic", "voter_count": 0,
                                   "persistent_id": "2"}]}},
    "dice": {"dice": {"emoji": "🎲", "value": 4}},
}


@pytest.mark.parametrize("kind", list(OTHER_MESSAGES))
async def test_every_other_kind_of_message_gets_a_short_answer_in_private(
        fake: FakeTelegram, tmp_path, worker, kind):
    """Nothing to paint, but not silence: one short pointer to sending a photo. In a group the
    same message, not addressed to the bot, gets nothing."""
    chat = private_chat(ALICE)
    group = group_chat()
    async with run_bot(fake, tmp_path, worker):
        message = fake.user_sends(chat, ALICE, **OTHER_MESSAGES[kind])
        await fake.wait_for("sendMessage", replies_to(message))
        in_group = fake.user_sends(group, ALICE, **OTHER_MESSAGES[kind])
        probe = fake.user_sends_text(group, ALICE, "/help")
        await fake.wait_for("sendMessage", replies_to(probe))
        await can_carry_on(fake, chat, ALICE)
    answer = only_answer(fake, message)
    assert answer.text == texts.ONLY_PICTURES and len(answer.text) < SHORT
    assert not fake.find(None, replies_to(in_group))
