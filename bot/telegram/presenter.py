"""How a job looks in Telegram: the job system's `Presenter` (`bot.jobs.ports`).

A job's status is one message edited in place (`bot.telegram.status.StatusMessage`), worded
here in the job's language; its result is a photo (or a file, an animation, a video note) that
replies to the user's picture, with its caption and the re-run buttons. Telegram's errors come
out as the job system's: a blocked bot is `RecipientGone`, a refusal `Refused`, anything that
may pass `Unreachable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.jobs.model import Job
from bot.jobs.ports import Failure, RecipientGone, Refused, Unreachable
from bot.jobs.work import WorkProgress
from bot.settings import ContentKind
from bot.telegram import kind_texts, texts
from bot.telegram.decoding import on_decoding_thread, probe_clip_file
from bot.telegram.files import MAX_DOWNLOAD_BYTES
from bot.telegram.i18n import Translator, translator
from bot.telegram.keyboards import (
    keep_instant_keyboard,
    result_keyboard,
    share_button,
    studio_button,
)
from bot.telegram.photo_limits import fit_for_telegram_photo
from bot.telegram.retries import with_retries
from bot.telegram.shared_paintings import SharedPaintings
from bot.telegram.status import (
    StatusMessage,
    chat_action,
    clip_progress_text,
    progress_text,
    queued_text,
)
from stylecore import ImageError, StyleError, decode_image

log = logging.getLogger("stylebot.presenter")


class TelegramPresenter:
    """`previews`: the operator allows previews (each job's own setting applies too);
    `studio_url`: the studio's address ("Open in studio" under a picture; None: no studio)."""

    def __init__(self, bot: Bot, *, previews: bool, studio_url: str | None = None,
                 shared: SharedPaintings | None = None) -> None:
        self.bot = bot
        self.previews = previews
        self.studio_url = studio_url
        self.shared = shared
        """Where a sent picture's file id is kept for inline sharing (None: not kept)."""

    def _keyboard(self, job: Job) -> InlineKeyboardMarkup:
        """The result's buttons: re-runs and stickers; under a picture also "Open in studio"
        (when there is one) and "Share"."""
        t = translator(job.language)
        extra = []
        if job.media == "photo":
            if self.studio_url:
                studio = studio_button(self.studio_url, t, private=job.chat_type == "private",
                                       job_id=job.id, bot_username=self.bot.username)
                extra += [studio] if studio is not None else []
            extra.append(share_button(t, job.preset))
        return result_keyboard(job.id, t, extra=extra)

    def status(self, job: Job, remember: Callable[[int], Awaitable[None]]) -> JobStatusMessage:
        """The job's status message; its instant picture comes with "Keep this one"."""
        message = StatusMessage(
            self.bot,
            chat_id=job.chat_id,
            message_id=job.status_message_id,
            reply_to=job.reply_to_message_id,
            private=job.chat_type == "private",
            previews=self.previews and job.settings.previews,
            on_new_message=remember,
        )
        return JobStatusMessage(message, translator(job.language), job.id, job.content_kind)

    @contextlib.asynccontextmanager
    async def busy(self, job: Job) -> AsyncIterator[None]:
        async with chat_action(self.bot, job.chat_id, repeat=job.chat_type == "private"):
            yield

    async def send_result(self, job: Job, path: Path, seconds: float | None) -> int:
        try:
            message = await (self._send_picture(job, path, seconds) if job.media == "photo"
                             else self._send_clip(job, path, seconds))
        except Forbidden as exc:
            raise RecipientGone(str(exc)) from exc
        except (BadRequest, ImageError, ValueError) as exc:
            raise Refused(str(exc)) from exc
        except TelegramError as exc:
            raise Unreachable(str(exc)) from exc
        return message.message_id

    async def _send_picture(self, job: Job, path: Path, seconds: float | None) -> Message:
        # Our own picture: the limits for users' uploads don't apply (a long panorama, or a
        # small STYLEBOT_SIZE, gives a short side under their minimum).
        image = await on_decoding_thread(decode_image, path, min_side=1, max_aspect=math.inf)
        height, width = image.shape[:2]
        common = {
            "caption": result_caption(job, width, height, seconds),
            "reply_parameters": _reply_to(job),
            "reply_markup": self._keyboard(job),
        }
        if job.settings.as_file:
            data = path.read_bytes()
            filename = f"stylized-{job.id}{path.suffix}"
            return await with_retries(lambda: self.bot.send_document(
                job.chat_id, InputFile(data, filename=filename), **common))
        photo = await asyncio.to_thread(fit_for_telegram_photo, image)
        sent = await with_retries(lambda: self.bot.send_photo(job.chat_id, photo, **common))
        await self._keep_for_sharing(job, sent)
        return sent

    async def _keep_for_sharing(self, job: Job, sent: Message) -> None:
        if self.shared is None or not sent.photo:
            return
        try:
            await self.shared.remember(job.id, job.user_id, sent.photo[-1].file_id,
                                       job.preset or "")
        except Exception:  # the painting was delivered; only sharing it later is lost
            log.exception("job %d: the painting's file id was not kept for sharing", job.id)

    async def _send_clip(self, job: Job, path: Path, seconds: float | None) -> Message:
        """A painted clip the Telegram way: an animation (a silent MP4 that loops like a GIF)
        with its size and duration, a video note for a video note (round, no caption), or
        the MP4 as a file when the user asked for files."""
        info = await probe_clip_file(path)
        duration = max(1, round(info.duration_s or 1))
        data = path.read_bytes()
        filename = f"stylized-{job.id}.mp4"
        reply = _reply_to(job)
        keyboard = self._keyboard(job)
        if job.media == "round" and not job.settings.as_file:
            note = await with_retries(lambda: self.bot.send_video_note(
                job.chat_id, InputFile(data, filename=filename), duration=duration,
                length=info.width, reply_parameters=reply, reply_markup=keyboard))
            await self._tell_cut(job, note)
            return note
        caption = result_caption(job, info.width, info.height, seconds)
        if job.settings.as_file:
            return await with_retries(lambda: self.bot.send_document(
                job.chat_id, InputFile(data, filename=filename), caption=caption,
                reply_parameters=reply, reply_markup=keyboard))
        return await with_retries(lambda: self.bot.send_animation(
            job.chat_id, InputFile(data, filename=filename), duration=duration,
            width=info.width, height=info.height, caption=caption, reply_parameters=reply,
            reply_markup=keyboard))


    async def _tell_cut(self, job: Job, note: Message) -> None:
        """A video note has no caption: that it was cut is a line in reply to it (the note is
        delivered already, so a line that fails is only logged)."""
        if job.cut_at_s is None:
            return
        text = translator(job.language)(texts.CUT_NOTE, seconds=_number(job.cut_at_s))
        try:
            await with_retries(lambda: self.bot.send_message(
                job.chat_id, text, reply_parameters=ReplyParameters(
                    note.message_id, allow_sending_without_reply=True)))
        except TelegramError as exc:
            log.warning("job %d: the line that the clip was cut was not sent: %s", job.id, exc)


class JobStatusMessage:
    """A job's `StatusDisplay`: its status message, in its language, naming the job's
    content as what it is (`kind`)."""

    def __init__(self, message: StatusMessage, t: Translator, job_id: int,
                 kind: ContentKind = "photo") -> None:
        self.message = message
        self.t = t
        self.job_id = job_id
        self.kind = kind

    def start(self) -> None:
        self.message.start()

    async def stop(self) -> None:
        await self.message.stop()

    def show_starting(self) -> None:
        self.message.show(self.t(texts.STARTING))

    def show_progress(self, progress: WorkProgress, *, clip: bool) -> None:
        text = (clip_progress_text(progress.step, progress.total, progress.eta, self.t) if clip
                else progress_text(progress.percent, progress.eta, self.t))
        keep = keep_instant_keyboard(self.job_id, self.t) if progress.instant else None
        self.message.show(text, progress.preview_jpeg, keep)

    async def show_queued(self, ahead: int, eta: float | None, *, workers_online: bool) -> None:
        await self.message.set_text(queued_text(ahead, eta, self.t,
                                                workers_online=workers_online))

    async def show_retrying(self) -> None:
        await self.message.set_text(self.t(texts.RETRYING))

    async def show_cancelled(self) -> None:
        await self.message.set_text(self.t(texts.CANCELLED))

    async def show_failure(self, why: Failure | StyleError) -> None:
        await self.message.set_text(failure_text(why, self.t, self.kind))

    async def delete(self) -> None:
        await self.message.delete()


_FAILURES = {
    Failure.OUT_OF_MEMORY: texts.JOB_FAILED_MEMORY,
    Failure.INPUT_GONE: texts.PHOTO_GONE,
    Failure.TOO_MANY_ATTEMPTS: texts.JOB_FAILED_RETRIES,
    Failure.NO_SPACE: texts.JOB_FAILED_NO_SPACE,
    Failure.INTERNAL: texts.JOB_FAILED,
}


def failure_text(why: Failure | StyleError, t: Translator, kind: ContentKind = "photo") -> str:
    """What a user is told when their job (on content of this kind) ended without a result."""
    if isinstance(why, StyleError):
        return kind_texts.error_text(why, kind, t)
    if why is Failure.TOO_BIG:
        too_big = texts.CLIP_TOO_BIG if kind in kind_texts.MOVING_KINDS else texts.TOO_BIG
        return t(too_big, limit=MAX_DOWNLOAD_BYTES // 2**20)
    if why is Failure.INPUT_GONE and kind != "photo":
        return t(texts.FILE_GONE)
    return t(_FAILURES[why])


def result_caption(job: Job, width: int, height: int, seconds: float | None) -> str:
    """The caption, e.g. "mosaic · 640×480 · painted in 41 s", in the job's language; on lines
    of their own, that a clip longer than the limit was painted up to it, and that the
    picture was made smaller when the full size ran out of memory."""
    t = translator(job.language)
    parts = [job.preset or t(texts.STYLE_OWN),
             texts.RESULT_SIZE.format(width=width, height=height)]
    if seconds is not None:
        parts.append(t(texts.PAINTED_IN, time=texts.seconds_text(seconds, t)))
    lines = [" · ".join(parts)]
    if job.cut_at_s is not None:
        lines.append(t(texts.CUT_NOTE, seconds=_number(job.cut_at_s)))
    if job.settings.shrunk:
        lines.append(t(texts.NOTE_SMALLER))
    return "\n".join(lines)


def _number(seconds: float) -> int | float:
    """10 for 10.0, 2.5 for 2.5."""
    return int(seconds) if float(seconds).is_integer() else seconds


def _reply_to(job: Job) -> ReplyParameters | None:
    if not job.reply_to_message_id:
        return None
    return ReplyParameters(job.reply_to_message_id, allow_sending_without_reply=True)
