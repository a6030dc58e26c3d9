"""No reply calls a clip or a sticker a photo (issue #28), end to end against the fake Bot API:
each kind (a GIF as an animation and as a file, a video, a round video, a video sticker, a
static sticker), with and without a caption where Telegram allows one, in a private chat and in
a group (privacy mode: only commands, captions and replies to the bot), in each of the four
languages. Every text the bot sends is read; a GIF per language is painted end to end.

The single worker is paused (SIGSTOP) on a long clip while the words are tried, so every job
asked for waits in the queue and /cancel finds it there (no race with a tiny clip finishing);
nothing is painted meanwhile, which keeps the test fast."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.jobs.work_area import WorkArea
from bot.settings import ContentKind
from bot.telegram import kind_texts, texts
from bot.telegram.i18n import Translator, translator
from tests.conditions import until
from tests.fake_telegram import (
    Call,
    Chat,
    FakeTelegram,
    User,
    group_chat,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    status_text,
    tiny_clip,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]

KINDS: dict[str, ContentKind] = {"animation": "gif", "gif_document": "gif", "video": "video",
                                 "video_note": "round", "video_sticker": "video_sticker",
                                 "sticker": "sticker"}
"""How each kind is sent (`clip_fields`, or a static WEBP sticker) and what it is."""
CAPTIONED = {"animation", "gif_document", "video"}
"""The kinds Telegram lets carry a caption (video notes and stickers have none)."""
LANGUAGES = {"en": None, "ru": "ru-RU", "zh": "zh-hans", "es": "es-419"}
"""Each language and the Telegram app language its users have."""
PHOTO_WORDS = re.compile(r"\bphotos?\b|фото|照片|\bfotos?\b", re.IGNORECASE)
""""Photo" in English, Russian (фото, фотография...), Chinese and Spanish; the Spanish word for
a video's frame, "fotograma", is no photo."""
BLOCKER = User(4_999, "Blocker")


def static_sticker(fake: FakeTelegram) -> dict:
    y, x = np.mgrid[0:96, 0:96]
    picture = np.stack([(x // 12 % 2) * 230, (y // 12 % 2) * 200, x * 0 + 40], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(picture.astype(np.uint8)).save(buffer, "WEBP", quality=90)
    return {"sticker": {**fake.add_file(buffer.getvalue(), "stickers"), "type": "regular",
                        "width": 96, "height": 96, "is_animated": False, "is_video": False}}


def media(fake: FakeTelegram, kind: str) -> dict:
    """Fresh message fields (a new file each time) for a message of `kind`."""
    if kind == "sticker":
        return static_sticker(fake)
    data = {"video_sticker": lambda: tiny_clip("webm", "libvpx-vp9"),
            "gif_document": lambda: tiny_clip("gif", "gif"),
            "video_note": lambda: tiny_clip(width=48)}.get(kind, tiny_clip)()
    return fake.clip_fields(kind, data, width=48 if kind == "video_note" else 64)


def file_id(message: dict) -> str:
    fields = next(message[key] for key in ("animation", "video", "video_note", "sticker",
                                           "document") if key in message)
    return fields["file_id"]


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


class Conversation:
    """One user trying one kind, in their language, in a private chat and in a group."""

    def __init__(self, fake: FakeTelegram, work: WorkArea, user: User, kind: str,
                 t: Translator) -> None:
        self.fake, self.work, self.user, self.kind, self.t = fake, work, user, kind, t
        self.what = KINDS[kind]
        self.private = private_chat(user)
        # A group each: Telegram lets a bot send only 20 messages a minute into one.
        self.group = group_chat(-300_000 - user.id, f"Group of {user.first_name}")

    async def send(self, chat: Chat, *, caption: str | None = None,
                   reply_to: dict | None = None) -> dict:
        return self.fake.user_sends(chat, self.user, caption=caption, reply_to=reply_to,
                                    **media(self.fake, self.kind))

    async def answer(self, message: dict) -> Call:
        return await self.fake.wait_for("sendMessage", replies_to(message), timeout=30)

    async def says(self, chat: Chat, text: str, reply_to: dict | None = None) -> Call:
        return await self.answer(self.fake.user_sends_text(chat, self.user, text,
                                                           reply_to=reply_to))

    def queued(self, call: Call) -> bool:
        return call.text.startswith(self.t(texts.QUEUED_NEXT)[:4])

    async def cancelled(self, chat: Chat, expected: str, content: dict) -> None:
        """/cancel answers `expected`, and the content's download is gone by then."""
        answer = await self.says(chat, "/cancel")
        assert answer.text == self.t(expected), (self.kind, answer.text)
        assert self.work.cached_input(self.user.id, file_id(content)) is None

    async def in_private(self) -> None:
        chat = self.private
        sent = await self.send(chat)
        ask = await self.answer(sent)
        assert ask.text == self.t(kind_texts.CHOOSE_STYLE[self.what])
        await self.cancelled(chat, kind_texts.CLEARED[self.what], sent)

        if self.kind in CAPTIONED:
            sent = await self.send(chat, caption="mosaic")
            status = await self.answer(sent)
        else:  # no caption: the style by name for the waiting one
            sent = await self.send(chat)
            await self.answer(sent)
            self.fake.user_sends_text(chat, self.user, "/stylize mosaic")
            status = await self.fake.wait_for("sendMessage", replies_to(sent), count=2)
        assert self.queued(status), status.text
        await self.cancelled(chat, kind_texts.CANCELLED_ONE[self.what], sent)

    async def in_a_group(self) -> None:
        chat = self.group
        quiet = await self.send(chat)  # no caption, no command: not for the bot
        ask = await self.says(chat, "/stylize", reply_to=quiet)
        assert ask.text == self.t(kind_texts.CHOOSE_STYLE_GROUP[self.what])
        assert not self.fake.find("sendMessage", replies_to(quiet))
        if self.what in kind_texts.MOVING_KINDS:  # sent as the style: it can't be one
            as_style = await self.send(chat, reply_to=self.fake.message(chat.id, ask.message_id))
            refused = await self.answer(as_style)
            assert refused.text == self.t(kind_texts.NOT_A_STYLE[self.what])
        await self.cancelled(chat, kind_texts.CLEARED[self.what], quiet)

        if self.kind in CAPTIONED:
            asked = await self.send(chat, caption="/stylize")
            ask = await self.answer(asked)
            assert ask.text == self.t(kind_texts.CHOOSE_STYLE_GROUP[self.what])
            await self.cancelled(chat, kind_texts.CLEARED[self.what], asked)
            sent = await self.send(chat, caption="/stylize mosaic")
            status = await self.answer(sent)
        else:
            sent = await self.send(chat)
            self.fake.user_sends_text(chat, self.user, "/stylize mosaic", reply_to=sent)
            status = await self.answer(sent)
        assert self.queued(status), status.text
        await self.cancelled(chat, kind_texts.CANCELLED_ONE[self.what], sent)


def leftovers(work: WorkArea, users: list[User]) -> list[Path]:
    """What is left of these users' files in the work folder."""
    return [path for user in users for path in (work.root / "users" / str(user.id)).glob("*")]


def said(call: Call) -> str:
    """Whatever text a call shows a user: a message, a caption, a toast."""
    return status_text(call)


async def test_no_reply_calls_a_clip_or_a_sticker_a_photo(fake: FakeTelegram, tmp_path: Path,
                                                          worker):
    work = WorkArea(tmp_path / "work")
    users: list[User] = []
    async with run_bot(fake, tmp_path, worker, STYLEBOT_CLIP_MAX_SECONDS="100",
                       STYLEBOT_CLIP_MAX_FPS="15"):
        fake.user_sends_clip(private_chat(BLOCKER), BLOCKER, "video",
                             tiny_clip(frames=240, fps=15), caption="mosaic",
                             duration=16)
        await fake.wait_for(None, lambda c: c.chat_id == BLOCKER.id
                            and said(c).startswith("Painting frame "), timeout=120)
        mark = fake.mark()
        assert worker.pid is not None
        with paused(worker.pid):
            for number, (code, app_language) in enumerate(LANGUAGES.items()):
                for index, kind in enumerate(KINDS):
                    user = User(5_000 + 100 * number + index, f"{code}-{kind}",
                                language_code=app_language)
                    users.append(user)
                    talk = Conversation(fake, work, user, kind, translator(code))
                    await talk.in_private()
                    await talk.in_a_group()
        fake.user_sends_text(private_chat(BLOCKER), BLOCKER, "/cancel")

        # A GIF per language, painted end to end through the style buttons.
        for number, (code, app_language) in enumerate(LANGUAGES.items()):
            t = translator(code)
            user = User(6_000 + number, f"{code}-painted", language_code=app_language)
            users.append(user)
            sent = fake.user_sends_clip(private_chat(user), user, "animation", tiny_clip())
            ask = await fake.wait_for("sendMessage", replies_to(sent), timeout=30)
            fake.user_taps(f"p:{sent['message_id']}:mosaic",
                           fake.message(user.id, ask.message_id), user=user)
            result = await fake.wait_for("sendAnimation", result_for(sent), timeout=120)
            painted_in = t(texts.PAINTED_IN, time="").strip()
            assert result.text.startswith(f"mosaic · 64×48 · {painted_in}"), result.text
        # A delivered job's files go just after its sendAnimation returns: wait for that before
        # stopping the bot, or the stop can come first (housekeeping would take them a day later).
        await until(lambda: not leftovers(work, users), timeout=30, what="the work folder to empty")

    ours = {chat for user in users for chat in (user.id, -300_000 - user.id)}
    spoken = [call for call in fake.find(after=mark)
              if said(call) and (call.chat_id in ours or call.method == "answerCallbackQuery")]
    assert len(spoken) > 250
    photos = [(call.method, said(call)) for call in spoken if PHOTO_WORDS.search(said(call))]
    assert photos == []
    # Nothing of theirs is left in the work folder: cancelled inputs went at once, painted
    # ones once delivered.
    assert leftovers(work, users) == []
