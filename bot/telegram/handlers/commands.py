"""Everyone's commands: /start, /help, /styles, /style, /settings, /cancel, /forget."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, ReplyParameters, Update
from telegram.error import BadRequest, TelegramError

from bot.jobs.model import JobStatus
from bot.telegram import texts
from bot.telegram.context import Context, Request, handler
from bot.telegram.gallery import render_gallery
from bot.telegram.handlers.common import get_session, preset_name, reply
from bot.telegram.handlers.photos import preset_names
from bot.telegram.keyboards import settings_keyboard, settings_text, styles_keyboard
from stylecore.presets import UnknownPreset

log = logging.getLogger("stylebot.handlers")

_UNSET_WORDS = {"off", "none", "clear", "reset", "-"}


async def start(update: Update, context: Context) -> None:
    if update.effective_message:
        await reply(update.effective_message, texts.START)


async def help_command(update: Update, context: Context) -> None:
    if update.effective_message:
        await reply(update.effective_message, texts.HELP)


@handler()
async def styles(req: Request) -> None:
    """The presets as one gallery picture with a button each. The picture is drawn once per set
    of presets; after the first upload Telegram's file id is re-sent instead."""
    message, svc = req.message, req.svc
    names = tuple(preset_names())
    keyboard = styles_keyboard(names)
    reply_to = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    picture = svc.gallery.get(names)
    try:
        if picture is None:
            picture = await asyncio.to_thread(render_gallery)
        try:
            sent = await message.reply_photo(picture, caption=texts.STYLES_CAPTION,
                                             reply_markup=keyboard, reply_parameters=reply_to)
        except BadRequest:
            if not isinstance(picture, str):
                raise
            # Telegram forgot the uploaded gallery: draw it again.
            svc.gallery.clear()
            picture = await asyncio.to_thread(render_gallery)
            sent = await message.reply_photo(picture, caption=texts.STYLES_CAPTION,
                                             reply_markup=keyboard, reply_parameters=reply_to)
    except (ValueError, OSError) as exc:  # drawing failed: the buttons alone still work
        log.warning("style gallery could not be drawn: %s", exc)
        await reply(message, texts.STYLES_UNAVAILABLE, reply_markup=keyboard)
        return
    except TelegramError as exc:
        log.warning("style gallery could not be sent: %s", exc)
        return
    if sent.photo:
        svc.gallery.clear()
        svc.gallery[names] = sent.photo[-1].file_id


@handler(locked=True)
async def style(req: Request) -> None:
    """/style NAME sets the default preset, /style off clears it, /style shows it."""
    message, svc = req.message, req.svc
    session = await get_session(svc, req.sender.chat_id, req.sender.user_id)
    if not req.args:
        text = (texts.DEFAULT_SHOW.format(name=session.default_preset)
                if session.default_preset else texts.STYLE_USAGE)
        await reply(message, text)
        return
    if req.args[0].lower() in _UNSET_WORDS:
        session.default_preset = None
        await svc.store.save_session(session)
        await reply(message, texts.DEFAULT_CLEARED)
        return
    try:
        name = preset_name(req.args[0])
    except UnknownPreset as exc:
        await reply(message, texts.error_text(exc))
        return
    session.default_preset = name
    await svc.store.save_session(session)
    await reply(message, texts.DEFAULT_SET.format(name=name))


@handler()
async def settings(req: Request) -> None:
    session = await get_session(req.svc, req.sender.chat_id, req.sender.user_id)
    await reply(req.message, settings_text(session.settings),
                reply_markup=settings_keyboard(session.settings))


@handler()
async def cancel(req: Request) -> None:
    """Cancels the user's queued and running jobs in this chat and the waiting photo."""
    svc, chat_id, user_id = req.svc, req.sender.chat_id, req.sender.user_id
    async with req.locked():
        jobs = await svc.queue.cancel(chat_id, user_id)
        for job in jobs:
            if job.status == JobStatus.RUNNING:
                svc.runner.cancel(job.id)  # the runner updates its status message
            elif job.status_message_id:
                await _edit_quietly(req.bot, chat_id, job.status_message_id, texts.CANCELLED)
        session = await get_session(svc, chat_id, user_id)
        had_photo = session.pending is not None
        await svc.store.clear_pending(chat_id, user_id)
    if jobs:
        await reply(req.message, texts.CANCELLED_JOBS.format(count=len(jobs)))
    elif had_photo:
        await reply(req.message, texts.CANCELLED)
    else:
        await reply(req.message, texts.NOTHING_TO_CANCEL)


@handler()
async def forget(req: Request) -> None:
    """Deletes everything stored about the user: sessions, jobs, downloaded files."""
    svc, user_id = req.svc, req.sender.user_id
    async with req.locked():
        svc.runner.cancel_user(user_id)
        removed = await svc.store.forget_user(user_id)
        svc.work.forget_user(user_id)
    log.info("user data deleted on request: %s", removed)
    await reply(req.message, texts.FORGOTTEN.format(jobs=removed.get("jobs", 0)))


async def _edit_quietly(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except TelegramError as exc:
        log.debug("status message %s not edited: %s", message_id, exc)
