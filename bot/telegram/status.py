"""The one status message per job, edited in place: "Queued…" → "Stylising… 40%" → gone.
It shows whatever text it is given; the runner words it in the job's language.

Edits are throttled (Telegram allows about one edit per second per chat, and 20 messages a
minute in groups); only the latest state is shown. With previews on, the first preview replaces
the text message by a photo message whose picture and caption are then edited in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardMarkup, InputMediaPhoto, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.telegram import texts
from bot.telegram.i18n import ENGLISH, Translator

log = logging.getLogger("stylebot.status")

PRIVATE_INTERVAL_S = 2.5
GROUP_INTERVAL_S = 6.0
FIRST_PREVIEW_INTERVAL_S = 1.0
"""In a private chat the first preview (the instant picture, ready a fraction of a second after
"Starting…") waits only for Telegram's one edit a second, not for `PRIVATE_INTERVAL_S`."""
CHAT_ACTION_EVERY_S = 4.5  # Telegram shows an action for 5 s


def is_not_modified(exc: BaseException) -> bool:
    return isinstance(exc, BadRequest) and "not modified" in str(exc).lower()


class StatusMessage:
    def __init__(
        self,
        bot: Bot,
        *,
        chat_id: int,
        message_id: int | None,
        reply_to: int | None,
        private: bool,
        previews: bool,
        on_new_message: Callable[[int], Awaitable[None]],
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.message_id = message_id
        self.reply_to = reply_to
        self.private = private
        self.previews = previews
        self.on_new_message = on_new_message
        self.min_interval = PRIVATE_INTERVAL_S if private else GROUP_INTERVAL_S
        self.is_photo = False
        self.previews_shown = 0
        self._shown_text: str | None = None
        self._text: str | None = None
        self._preview: bytes | None = None
        self._preview_keyboard: InlineKeyboardMarkup | None = None
        self._keyboard: InlineKeyboardMarkup | None = None
        """The buttons under the preview shown now (kept when its caption changes)."""
        self._last_edit = 0.0
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._dead = False  # the chat is gone or the bot blocked: stop talking

    # ------------------------------------------------------------------ live updates

    def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name=f"status-{self.chat_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def show(self, text: str, preview: bytes | None = None,
             keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Sets what the message should say (and show, with `keyboard` under the preview);
        the pump applies it when allowed."""
        self._text = text
        if preview is not None and self.previews:
            self._preview, self._preview_keyboard = preview, keyboard
        self._changed.set()

    async def _pump(self) -> None:
        while not self._dead:
            await self._changed.wait()
            interval = self.min_interval
            if self.private and self.previews_shown == 0 and self._preview is not None:
                interval = FIRST_PREVIEW_INTERVAL_S
            wait = self._last_edit + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._changed.clear()
            await self.flush()

    async def flush(self) -> None:
        """Applies the latest state now."""
        text, preview = self._text, self._preview
        self._preview = None
        if text is None or self._dead:
            return
        if preview is not None:
            await self._show_preview(text, preview, self._preview_keyboard)
        elif text != self._shown_text:
            await self._edit_text(text)
        self._last_edit = time.monotonic()

    # ------------------------------------------------------------------ one-off changes

    async def set_text(self, text: str) -> None:
        """Shows `text` at once (not throttled): for "starting", "cancelled" and such."""
        self._text = text
        self._preview = None
        if self.is_photo:
            # A text can't replace a photo; a short note under the photo would look odd,
            # so the photo makes way for a new text message.
            await self.delete()
        await self._edit_text(text)
        self._last_edit = time.monotonic()

    async def delete(self) -> None:
        if self.message_id is None:
            return
        try:
            await self.bot.delete_message(self.chat_id, self.message_id)
        except TelegramError as exc:
            log.debug("status message %s not deleted: %s", self.message_id, exc)
        self.message_id = None
        self.is_photo = False
        self._keyboard = None
        self._shown_text = None

    # ------------------------------------------------------------------ Telegram calls

    async def _edit_text(self, text: str) -> None:
        try:
            if self.message_id is None:
                await self._send_text(text)
            elif self.is_photo:
                await self.bot.edit_message_caption(chat_id=self.chat_id,
                                                    message_id=self.message_id, caption=text,
                                                    reply_markup=self._keyboard)
            else:
                await self.bot.edit_message_text(text, chat_id=self.chat_id,
                                                 message_id=self.message_id)
            self._shown_text = text
        except Forbidden:
            self._dead = True
        except BadRequest as exc:
            if is_not_modified(exc):
                self._shown_text = text
            elif "not found" in str(exc).lower():  # deleted by the user: send a fresh one
                self.message_id = None
                self.is_photo = False
                await self._send_text(text)
            elif "no text in the message" in str(exc).lower():
                # A preview from before a restart (the record keeps the id, not the kind):
                # as in `set_text`, the photo makes way for a new text message.
                await self.delete()
                await self._send_text(text)
            else:
                log.warning("status edit failed: %s", exc)
        except TelegramError as exc:  # network trouble: the next update will try again
            log.info("status edit failed: %s", exc)

    async def _send_text(self, text: str) -> None:
        try:
            message = await self.bot.send_message(self.chat_id, text,
                                                  reply_parameters=self._reply_parameters())
        except Forbidden:
            self._dead = True
            return
        except TelegramError as exc:
            log.info("status message not sent: %s", exc)
            return
        self.message_id = message.message_id
        self._shown_text = text
        await self.on_new_message(message.message_id)

    async def _show_preview(self, text: str, jpeg: bytes,
                            keyboard: InlineKeyboardMarkup | None) -> None:
        try:
            if self.is_photo and self.message_id is not None:
                await self.bot.edit_message_media(
                    InputMediaPhoto(jpeg, caption=text),
                    chat_id=self.chat_id, message_id=self.message_id, reply_markup=keyboard,
                )
            else:
                message = await self.bot.send_photo(
                    self.chat_id, jpeg, caption=text, reply_parameters=self._reply_parameters(),
                    reply_markup=keyboard,
                )
                old = self.message_id
                self.message_id = message.message_id
                self.is_photo = True
                await self.on_new_message(message.message_id)
                if old is not None:
                    with contextlib.suppress(TelegramError):
                        await self.bot.delete_message(self.chat_id, old)
            self._shown_text = text
            self._keyboard = keyboard
            self.previews_shown += 1
        except Forbidden:
            self._dead = True
        except TelegramError as exc:
            if not is_not_modified(exc):
                log.info("preview not shown: %s", exc)

    def _reply_parameters(self) -> ReplyParameters | None:
        if self.reply_to is None:
            return None
        return ReplyParameters(self.reply_to, allow_sending_without_reply=True)


@contextlib.asynccontextmanager
async def chat_action(bot: Bot, chat_id: int, *, repeat: bool):
    """Shows "sending a photo…" in the chat while the block runs; repeated only when `repeat`
    (in groups every action counts against the 20-per-minute limit)."""

    async def keep_alive() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
            if not repeat:
                return
            await asyncio.sleep(CHAT_ACTION_EVERY_S)

    task = asyncio.create_task(keep_alive(), name=f"chat-action-{chat_id}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def progress_text(percent: int, eta: float | None, t: Translator = ENGLISH) -> str:
    percent = max(0, min(99, percent))
    if eta is None or eta <= 0:
        return t(texts.RUNNING, percent=percent)
    return t(texts.RUNNING_ETA, percent=percent, eta=texts.seconds_text(eta, t))


def clip_progress_text(frame: int, frames: int, eta: float | None,
                       t: Translator = ENGLISH) -> str:
    """A clip's progress in frames: "Painting frame 12 of 36, about 8 s left"."""
    frames = max(frames, frame, 1)
    if eta is None or eta <= 0 or frame >= frames:
        return t(texts.PAINTING_FRAME, frame=frame, frames=frames)
    return t(texts.PAINTING_FRAME_ETA, frame=frame, frames=frames,
             eta=texts.seconds_text(eta, t))


def queued_text(ahead: int, eta: float | None, t: Translator = ENGLISH, *,
                workers_online: bool = True) -> str:
    """What a waiting job's status message says: its place, the wait if known, and that no
    painter is online when none is (remote workers)."""
    if ahead <= 0:
        text = t(texts.QUEUED_NEXT)
    elif eta is None:
        text = t.n(texts.QUEUED_NO_ETA, ahead, ahead=ahead)
    else:
        text = t.n(texts.QUEUED, ahead, ahead=ahead, eta=texts.seconds_text(eta, t))
    return text if workers_online else f"{text}\n{t(texts.NO_WORKER_ONLINE)}"
