"""Everyone's commands: /start, /help, /styles, /style, /settings, /language, /cancel,
/forget."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, TelegramError

from bot.jobs.delivery import discard_files
from bot.jobs.model import JobStatus
from bot.telegram import texts
from bot.telegram.context import Request, Sender, Services, handler
from bot.telegram.gallery import render_gallery
from bot.telegram.handlers.common import get_session, preset_name, reply
from bot.telegram.handlers.photos import preset_names
from bot.telegram.i18n import NAMES, Translator, supported, translator
from bot.telegram.keyboards import (
    language_keyboard,
    parse_studio_start,
    settings_keyboard,
    settings_text,
    studio_button,
    styles_keyboard,
)
from bot.telegram.kind_texts import cancel_text
from bot.telegram.retries import with_retries
from stylecore import UnknownPreset

log = logging.getLogger("stylebot.handlers")

_UNSET_WORDS = {"off", "none", "clear", "reset", "-"}
AUTO = "auto"
"""/language auto: back to the Telegram app's language (in a group: each member's own)."""


@handler()
async def start(req: Request) -> None:
    """The welcome, with "Open in studio" when there is a studio; `/start studio[-<job>]`
    (the studio's link from a group) answers with the studio's button alone."""
    studio_url = req.svc.config.studio_url
    wanted, job_id = parse_studio_start(req.args[0] if req.args else None)
    if not studio_url:
        await reply(req.message, req.t(texts.START))
        return
    button = studio_button(studio_url, req.t, private=req.sender.private, job_id=job_id,
                           bot_username=req.bot.username)
    keyboard = InlineKeyboardMarkup([[button]]) if button is not None else None
    await reply(req.message, req.t(texts.STUDIO_INVITE if wanted else texts.START),
                reply_markup=keyboard)


@handler()
async def help_command(req: Request) -> None:
    await reply(req.message, req.t(texts.HELP))


@handler()
async def styles(req: Request) -> None:
    """The presets as one gallery picture with a button each. The picture is drawn once per set
    of presets; after the first upload Telegram's file id is re-sent instead."""
    message, svc = req.message, req.svc
    names = tuple(preset_names())
    keyboard = styles_keyboard(names)
    caption = req.t(texts.STYLES_CAPTION)
    reply_to = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    picture = svc.gallery.get(names)
    try:
        if picture is None:
            picture = await asyncio.to_thread(render_gallery)
        try:
            sent = await message.reply_photo(picture, caption=caption,
                                             reply_markup=keyboard, reply_parameters=reply_to)
        except BadRequest:
            if not isinstance(picture, str):
                raise
            # Telegram forgot the uploaded gallery: draw it again.
            svc.gallery.clear()
            picture = await asyncio.to_thread(render_gallery)
            sent = await message.reply_photo(picture, caption=caption,
                                             reply_markup=keyboard, reply_parameters=reply_to)
    except (ValueError, OSError) as exc:  # drawing failed: the buttons alone still work
        log.warning("style gallery could not be drawn: %s", exc)
        await reply(message, req.t(texts.STYLES_UNAVAILABLE), reply_markup=keyboard)
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
        text = (req.t(texts.DEFAULT_SHOW, name=session.default_preset)
                if session.default_preset else req.t(texts.STYLE_USAGE))
        await reply(message, text)
        return
    if req.args[0].lower() in _UNSET_WORDS:
        session.default_preset = None
        await svc.store.save_session(session)
        await reply(message, req.t(texts.DEFAULT_CLEARED))
        return
    try:
        name = preset_name(req.args[0])
    except UnknownPreset as exc:
        await reply(message, texts.error_text(exc, req.t))
        return
    session.default_preset = name
    await svc.store.save_session(session)
    await reply(message, req.t(texts.DEFAULT_SET, name=name))


@handler()
async def settings(req: Request) -> None:
    session = await get_session(req.svc, req.sender.chat_id, req.sender.user_id)
    await reply(req.message, settings_text(session.settings, req.t),
                reply_markup=settings_keyboard(session.settings, req.t))


@handler()
async def cancel(req: Request) -> None:
    """Cancels the user's queued and running jobs in this chat and the content waiting for a
    style; the downloads of all but the running job go at once (the runner drops that one's
    when it stops). The answer names what was cancelled."""
    svc, chat_id, user_id = req.svc, req.sender.chat_id, req.sender.user_id
    async with req.locked():
        jobs = await svc.queue.cancel(chat_id, user_id)
        for job in jobs:
            if job.status == JobStatus.RUNNING:
                svc.runner.cancel(job.id)  # the runner updates its status and its files
                continue
            discard_files(svc.work, job)
            if job.status_message_id:
                await _edit_quietly(req.bot, chat_id, job.status_message_id,
                                    translator(job.language)(texts.CANCELLED))
        waiting = await svc.store.clear_pending(chat_id, user_id)
        if waiting is not None:
            svc.work.remove_inputs(user_id, waiting.file_id)
    await reply(req.message, cancel_text([job.content_kind for job in jobs],
                                         waiting.kind if waiting is not None else None, req.t))


@handler()
async def forget(req: Request) -> None:
    """Deletes everything stored about the user: sessions, jobs, downloaded files, their
    language, their sticker packs (Telegram is asked to delete them too); the confirmation
    is still in the language they had."""
    svc, user_id = req.svc, req.sender.user_id
    async with req.locked():
        svc.runner.cancel_user(user_id)
        if svc.packs is not None:  # Telegram deletes their packs before we forget the names
            await svc.packs.forget(req.bot, user_id)
        removed = await svc.store.forget_user(user_id)
        svc.work.forget_user(user_id)
    log.info("user data deleted on request: %s", removed)
    jobs = removed.get("jobs", 0)
    await reply(req.message, req.t.n(texts.FORGOTTEN, jobs, jobs=jobs))


@handler()
async def language(req: Request) -> None:
    """/language shows the languages as buttons (`bot.telegram.handlers.callbacks` sets
    them); /language CODE (en, ru, zh, es, or auto) sets one at once. In a group only its
    admins may set the group's."""
    if req.args:
        word = req.args[0].lower()
        code = supported(word)
        if code is None and word != AUTO:
            await reply(req.message, req.t(texts.LANGUAGE_UNKNOWN, name=req.args[0][:40]),
                        reply_markup=language_keyboard(None, group=not req.sender.private,
                                                       t=req.t))
            return
        text = await set_language(req.svc, req.bot, req.sender, code,
                                  anonymous_admin=_anonymous_admin(req))
        await reply(req.message, text)
        return
    text, chosen = await language_panel(req.svc, req.sender, req.t)
    await reply(req.message, text,
                reply_markup=language_keyboard(chosen, group=not req.sender.private, t=req.t))


def _anonymous_admin(req: Request) -> bool:
    """A group admin posting anonymously speaks as the group itself."""
    sender_chat = req.message.sender_chat
    return sender_chat is not None and sender_chat.id == req.sender.chat_id


async def language_panel(svc: Services, sender: Sender, t: Translator) -> tuple[str, str | None]:
    """The /language message's text, and the language chosen for this chat (None: none)."""
    group_choice, user_choice = await svc.store.languages(sender.chat_id, sender.user_id)
    name = NAMES[t.code]
    if sender.private:
        if user_choice:
            return t(texts.LANGUAGE_CURRENT, language=name), user_choice
        return t(texts.LANGUAGE_CURRENT_AUTO, language=name), None
    if group_choice:
        return t(texts.LANGUAGE_GROUP_CURRENT, language=name), group_choice
    return t(texts.LANGUAGE_GROUP_AUTO), None


async def set_language(svc: Services, bot: Bot, sender: Sender, code: str | None, *,
                       anonymous_admin: bool = False) -> str:
    """Sets the user's language (private chat) or the group's (admins only; `code` None: back
    to automatic). Returns what to answer, in the language that now applies."""
    if sender.private:
        await svc.store.set_user_language(sender.user_id, code)
        t = await svc.translator(sender)
        return t(texts.LANGUAGE_SET if code else texts.LANGUAGE_AUTO_SET)
    if not anonymous_admin and not await is_chat_admin(bot, sender.chat_id, sender.user_id):
        return (await svc.translator(sender))(texts.LANGUAGE_ADMINS_ONLY)
    await svc.store.set_chat_language(sender.chat_id, code)
    log.info("group %s language set to %s by user %s", sender.chat_id, code, sender.user_id)
    t = await svc.translator(sender)
    return t(texts.LANGUAGE_SET_GROUP if code else texts.LANGUAGE_EVERYONE_SET)


async def is_chat_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """The user is the chat's creator or one of its administrators (Telegram asked now)."""
    try:
        member = await with_retries(lambda: bot.get_chat_member(chat_id, user_id))
    except TelegramError as exc:
        log.warning("getChatMember(%s, %s) failed: %s", chat_id, user_id, exc)
        return False
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


async def _edit_quietly(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except TelegramError as exc:
        log.debug("status message %s not edited: %s", message_id, exc)
