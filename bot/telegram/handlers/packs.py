"""Stickers and sticker packs: the "Sticker" and "Add to my pack" buttons under every result,
and /pack (a private chat: the link to your pack; a group: an admin's reply to a painting
adds it to the group's pack, which becomes the group's sticker set where Telegram allows)."""

from __future__ import annotations

import logging

from telegram import Bot, CallbackQuery, Message, ReplyParameters
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.telegram import texts
from bot.telegram.context import Request, Services, handler
from bot.telegram.files import FileTooBig, FileUnavailable
from bot.telegram.handlers.commands import is_chat_admin
from bot.telegram.handlers.common import reply
from bot.telegram.i18n import Translator
from bot.telegram.keyboards import MakeSticker
from bot.telegram.result_stickers import NoPainting, StickerFile, sticker_of
from bot.telegram.retries import with_retries
from bot.telegram.sticker_packs import (
    Pack,
    PackError,
    StickerPacks,
    group_pack_name,
    personal_pack_name,
)
from stylecore import StyleError

log = logging.getLogger("stylebot.handlers")

PACK_ERRORS = {"name_taken": texts.PACK_NAME_TAKEN, "needs_start": texts.PACK_NEEDS_START,
               "full": texts.PACK_FULL, "failed": texts.PACK_FAILED}


async def sticker_button(svc: Services, bot: Bot, query: CallbackQuery, action: MakeSticker,
                         t: Translator) -> None:
    """"Sticker": the painting above the button as a sticker in the chat; "Add to my pack":
    into the presser's own pack. The query is answered first (making a video sticker takes
    a moment); the outcome is a message."""
    result = query.message
    assert isinstance(result, Message)
    await _answer(query)
    sticker = await _sticker_or_say(bot, result, t)
    if sticker is None:
        return
    if not action.into_pack:
        reply_to = ReplyParameters(result.message_id, allow_sending_without_reply=True)
        try:
            await with_retries(lambda: bot.send_sticker(result.chat_id, sticker.input_file(),
                                                        reply_parameters=reply_to))
        except Forbidden:
            log.info("chat %s blocked the bot", result.chat_id)
        except TelegramError as exc:
            log.warning("sticker not sent to chat %s: %s", result.chat_id, exc)
            await reply(result, t(texts.STICKER_FAILED))
        return
    user = query.from_user
    pack = Pack(personal_pack_name(user.id, bot.username), None, user.id,
                t(texts.PACK_TITLE, name=user.first_name))
    text = await _add_or_say(svc, bot, pack, sticker, t)
    await reply(result, text if text else t(texts.PACK_ADDED, link=pack.link))


@handler()
async def pack_command(req: Request) -> None:
    """/pack: see the module."""
    message, svc, t = req.message, req.svc, req.t
    packs = _packs(svc)
    if req.sender.private:
        pack = await packs.personal(req.sender.user_id)
        await reply(message, t(texts.PACK_LINK, link=pack.link) if pack else t(texts.PACK_NONE))
        return
    target = message.reply_to_message
    painting = (target is not None and target.from_user is not None
                and target.from_user.id == req.bot.id)
    if not painting:
        pack = await packs.of_group(req.sender.chat_id)
        await reply(message, t(texts.GROUP_PACK_LINK, link=pack.link) if pack
                    else t(texts.GROUP_PACK_USAGE))
        return
    if not await is_chat_admin(req.bot, req.sender.chat_id, req.sender.user_id):
        await reply(message, t(texts.GROUP_PACK_ADMINS))
        return
    async with req.locked():
        sticker = await _sticker_or_say(req.bot, target, t, answer_to=message)
        if sticker is None:
            return
        title = message.chat.title or message.chat.username or str(message.chat_id)
        pack = Pack(group_pack_name(req.sender.chat_id, req.bot.username), req.sender.chat_id,
                    req.sender.user_id, t(texts.GROUP_PACK_TITLE, title=title))
        failure = await _add_or_say(svc, req.bot, pack, sticker, t)
        if failure:
            await reply(message, failure)
            return
        await packs.set_for_group(req.bot, pack)
    await reply(message, t(texts.GROUP_PACK_ADDED, link=pack.link))


async def _add_or_say(svc: Services, bot: Bot, pack: Pack, sticker: StickerFile,
                      t: Translator) -> str | None:
    """Adds the sticker; None, or the line that says why not."""
    try:
        await _packs(svc).add(bot, pack, sticker)
    except PackError as exc:
        log.info("sticker pack %s: %s", pack.name, exc)
        return t(PACK_ERRORS[exc.reason], bot=bot.username)
    return None


async def _sticker_or_say(bot: Bot, result: Message, t: Translator, *,
                          answer_to: Message | None = None) -> StickerFile | None:
    try:
        return await sticker_of(bot, result)
    except NoPainting:
        text = t(texts.STICKER_GONE)
    except (FileUnavailable, FileTooBig, NetworkError, StyleError, OSError) as exc:
        log.warning("sticker of message %s not made: %s", result.message_id, exc)
        text = t(texts.STICKER_FAILED)
    await reply(answer_to or result, text)
    return None


def _packs(svc: Services) -> StickerPacks:
    if svc.packs is None:
        svc.packs = StickerPacks(svc.store)
    return svc.packs


async def _answer(query: CallbackQuery) -> None:
    try:
        await query.answer()
    except TelegramError as exc:
        log.debug("callback query not answered: %s", exc)
