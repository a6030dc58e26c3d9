"""Sending a computed result to its chat, exactly once where Telegram allows.

A result stays on disk until Telegram accepted it; its message id is recorded right after, and
a job that has one is never sent again. The only window for a duplicate is a crash between
Telegram accepting the picture and that record (or a send that timed out after Telegram
received it). A send that fails for a network reason is left for the runner's redelivery; one
Telegram refuses fails the job with an apology; a user who blocked the bot fails it quietly.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.jobs.model import Job, JobQueue, JobStatus
from bot.telegram import texts
from bot.telegram.decoding import on_decoding_thread, probe_clip_file
from bot.telegram.files import WorkArea
from bot.telegram.i18n import translator
from bot.telegram.keyboards import result_keyboard
from bot.telegram.photos import fit_for_telegram_photo
from bot.telegram.retries import with_retries
from bot.telegram.status import StatusMessage
from stylecore import ImageError, decode_image

log = logging.getLogger("stylebot.runner")


class Delivery:
    """Sends results. `status_for(job)` gives a job's status message when the caller has
    none; `requeued()` is called after a job whose result file vanished went back to the
    queue; `holds(job)`, when given, says a result is sent by someone else (a style battle's
    album, `bot.jobs.battles`)."""

    def __init__(self, bot: Bot, queue: JobQueue, work: WorkArea, *,
                 status_for: Callable[[Job], StatusMessage],
                 requeued: Callable[[], None],
                 holds: Callable[[Job], Awaitable[bool]] | None = None) -> None:
        self.bot = bot
        self.queue = queue
        self.work = work
        self._status_for = status_for
        self._requeued = requeued
        self._holds = holds

    async def deliver(self, job_id: int, *, status: StatusMessage | None = None,
                      seconds: float | None = None) -> None:
        """Sends a computed result unless it was sent (or cancelled) already."""
        job = await self.queue.get(job_id)
        if job is None:  # forgotten (/forget) meanwhile
            self.work.remove_job(job_id)
            return
        if job.status != JobStatus.RUNNING or job.delivered_message_id is not None:
            discard_files(self.work, job)
            return
        path = Path(job.result_path) if job.result_path else None
        if path is None or not path.is_file():
            log.warning("job %d: result file missing; computing it again", job.id)
            await self.queue.retry_later(job.id)
            self._requeued()
            return
        if self._holds is not None and await self._holds(job):
            return
        status = status or self._status_for(job)
        try:
            message = await self._send_result(job, path, seconds)
        except Forbidden:
            await self.queue.fail(job.id, "the user blocked the bot")
            discard_files(self.work, job)
            return
        except (BadRequest, ImageError, ValueError) as exc:
            log.warning("job %d: result could not be sent: %s", job.id, exc)
            await self.queue.fail(job.id, f"delivery failed: {exc}")
            await status.stop()
            await status.set_text(translator(job.language)(texts.JOB_FAILED))
            discard_files(self.work, job)
            return
        except TelegramError as exc:  # network still down: redelivery tries again later
            log.warning("job %d: delivery failed for now: %s", job.id, exc)
            return
        await self.queue.mark_delivered(job.id, message.message_id)
        log.info("job %d delivered as message %d", job.id, message.message_id)
        discard_files(self.work, job)
        await status.stop()
        await status.delete()

    async def _send_result(self, job: Job, path: Path, seconds: float | None) -> Message:
        if job.media != "photo":
            return await self._send_clip(job, path, seconds)
        # Our own picture: the limits for users' uploads don't apply (a long panorama, or a
        # small STYLEBOT_SIZE, gives a short side under their minimum).
        image = await on_decoding_thread(decode_image, path, min_side=1, max_aspect=math.inf)
        height, width = image.shape[:2]
        common = {
            "caption": result_caption(job, width, height, seconds),
            "reply_parameters": (ReplyParameters(job.reply_to_message_id,
                                                 allow_sending_without_reply=True)
                                 if job.reply_to_message_id else None),
            "reply_markup": result_keyboard(job.id, translator(job.language)),
        }
        if job.settings.as_file:
            data = path.read_bytes()
            filename = f"stylized-{job.id}{path.suffix}"
            return await with_retries(lambda: self.bot.send_document(
                job.chat_id, InputFile(data, filename=filename), **common))
        photo = await asyncio.to_thread(fit_for_telegram_photo, image)
        return await with_retries(lambda: self.bot.send_photo(job.chat_id, photo, **common))

    async def _send_clip(self, job: Job, path: Path, seconds: float | None) -> Message:
        """A painted clip the Telegram way: an animation (a silent MP4 that loops like a GIF)
        with its size and duration, a video note for a video note (round, no caption), or
        the MP4 as a file when the user asked for files."""
        info = await probe_clip_file(path)
        duration = max(1, round(info.duration_s or 1))
        data = path.read_bytes()
        filename = f"stylized-{job.id}.mp4"
        reply = (ReplyParameters(job.reply_to_message_id, allow_sending_without_reply=True)
                 if job.reply_to_message_id else None)
        keyboard = result_keyboard(job.id, translator(job.language))
        if job.media == "round" and not job.settings.as_file:
            return await with_retries(lambda: self.bot.send_video_note(
                job.chat_id, InputFile(data, filename=filename), duration=duration,
                length=info.width, reply_parameters=reply, reply_markup=keyboard))
        caption = result_caption(job, info.width, info.height, seconds)
        if job.settings.as_file:
            return await with_retries(lambda: self.bot.send_document(
                job.chat_id, InputFile(data, filename=filename), caption=caption,
                reply_parameters=reply, reply_markup=keyboard))
        return await with_retries(lambda: self.bot.send_animation(
            job.chat_id, InputFile(data, filename=filename), duration=duration,
            width=info.width, height=info.height, caption=caption, reply_parameters=reply,
            reply_markup=keyboard))


def discard_files(work: WorkArea, job: Job) -> None:
    """Removes a finished job's files: its result and the inputs it downloaded."""
    work.remove_job(job.id)
    work.remove_inputs(job.user_id, job.content_file_id, job.style_file_id)


def result_caption(job: Job, width: int, height: int, seconds: float | None) -> str:
    """The caption, e.g. "mosaic · 640×480 · 41 s", in the job's language, and its note
    (stored in English, the note's message id) on a line of its own."""
    t = translator(job.language)
    style = job.preset or t(texts.STYLE_OWN_PHOTO)
    parts = [style, texts.RESULT_SIZE.format(width=width, height=height)]
    if seconds is not None:
        whole = round(seconds)
        parts.append(t.n(texts.SECONDS, whole, seconds=whole))
    caption = " · ".join(parts)
    return f"{caption}\n{t(job.note)}" if job.note else caption
