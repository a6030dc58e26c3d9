"""Admin-only commands (`STYLEBOT_ADMINS`): /stats, /queue, /addstyle NAME."""

from __future__ import annotations

import datetime as dt
import logging
import time

from telegram import Update
from telegram.ext import ContextTypes

from bot.telegram import texts
from bot.telegram.decoding import on_decoding_thread
from bot.telegram.files import (
    MAX_DOWNLOAD_BYTES,
    FileTooBig,
    FileUnavailable,
    NotAStillImage,
    download,
    image_in,
)
from bot.telegram.handlers.common import reply, services
from stylecore.images import ImageError
from stylecore.presets import PresetNameError, add_preset

log = logging.getLogger("stylebot.handlers")

MAX_QUEUE_LINES = 30


async def _is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    if services(context).config.is_admin(user.id if user else None):
        return True
    if update.effective_message and update.effective_chat.type == "private":
        await reply(update.effective_message, texts.ADMIN_ONLY)
    return False  # in groups: say nothing, the command was not for this user


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _is_admin(update, context) or update.effective_message is None:
        return
    midnight = dt.datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    data = await services(context).queue.stats(since=midnight.timestamp())
    by_status = data["by_status"]
    mean = data.get("mean_seconds")
    text = texts.STATS.format(
        jobs=data["total"],
        done=by_status.get("done", 0),
        failed=by_status.get("failed", 0),
        cancelled=by_status.get("cancelled", 0),
        mean=texts.seconds_text(mean) if mean is not None else "–",
        queued=data["queue_depth"],
        running=data["running"],
    )
    await reply(update.effective_message, text)


async def queue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _is_admin(update, context) or update.effective_message is None:
        return
    jobs = await services(context).queue.queue_snapshot()
    if not jobs:
        await reply(update.effective_message, texts.QUEUE_EMPTY)
        return
    now = time.time()
    lines = [
        texts.QUEUE_LINE.format(id=job.id, status=job.status.value, user_id=job.user_id,
                                chat_id=job.chat_id, age=texts.seconds_text(now - job.created_at))
        for job in jobs[:MAX_QUEUE_LINES]
    ]
    if len(jobs) > MAX_QUEUE_LINES:
        lines.append(f"… and {len(jobs) - MAX_QUEUE_LINES} more")
    await reply(update.effective_message, "\n".join(lines))


async def addstyle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/addstyle NAME in reply to a picture stores it as a new preset."""
    message = update.effective_message
    if not await _is_admin(update, context) or message is None:
        return
    try:
        ref = image_in(message.reply_to_message)
    except NotAStillImage:
        ref = None
    if ref is None or not context.args:
        await reply(message, texts.ADDSTYLE_USAGE)
        return
    try:
        data = await download(context.bot, ref.file_id, ref.file_size)
        preset = await on_decoding_thread(add_preset, context.args[0], data)
    except FileTooBig:
        await reply(message, texts.TOO_BIG.format(limit=MAX_DOWNLOAD_BYTES // 2**20))
        return
    except FileUnavailable:
        await reply(message, texts.DOWNLOAD_FAILED)
        return
    except (PresetNameError, ImageError) as exc:
        await reply(message, texts.error_text(exc))
        return
    services(context).gallery.clear()
    log.info("admin %s added preset %s", update.effective_user.id, preset.name)
    await reply(message, texts.ADDSTYLE_DONE.format(name=preset.name))
