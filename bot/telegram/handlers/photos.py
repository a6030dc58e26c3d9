"""Pictures arriving: content and style photos in private chats, /stylize in groups.

Each handler that may download a picture keeps it on record in the inbox
(`bot.telegram.inbox`) until the sender has been answered, so a crash in between still gets
them an answer after the restart."""

from __future__ import annotations

from telegram import Bot, Message, Update
from telegram.ext import ContextTypes

from bot.store import Session
from bot.telegram import texts
from bot.telegram.files import ImageRef, NotAStillImage, image_in
from bot.telegram.handlers.common import (
    Services,
    caption_preset,
    get_session,
    parse_stylize,
    preset_name,
    receive_image,
    reply,
    sender_ids,
    services,
    start_job,
)
from bot.telegram.keyboards import preset_keyboard
from stylecore.presets import UnknownPreset, list_presets

AWAIT_STYLE = "await_style"


async def private_image(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A picture in a private chat: content, style, or content plus a preset in the caption."""
    message = update.effective_message
    ids = sender_ids(update)
    if message is None or ids is None:
        return
    chat_id, user_id, chat_type = ids
    svc = services(context)
    async with svc.inbox.receiving(message, user_id), svc.user_lock(chat_id, user_id):
        ref = await _image_or_refuse(message)
        if ref is None:
            return
        is_command, argument = parse_stylize(message.caption, context.bot.username)
        preset = caption_preset(message.caption) if not is_command else None
        if argument:
            preset = await _preset_or_refuse(message, argument)
            if preset is None:
                return
        if not await receive_image(svc, context.bot, message, user_id, ref):
            return
        session = await get_session(svc, chat_id, user_id)
        if preset is None and session.pending == AWAIT_STYLE and session.content_file_id:
            await start_job(
                svc, context.bot, chat_id=chat_id, chat_type=chat_type, user_id=user_id,
                content_file_id=session.content_file_id,
                content_message_id=session.content_message_id,
                style_file_id=ref.file_id, settings=session.settings,
            )
            return
        await _paint_or_ask(svc, context.bot, message, session, ref.file_id,
                            preset or session.default_preset, chat_type)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text in a private chat: a preset name for the waiting photo, or a hint."""
    message = update.effective_message
    ids = sender_ids(update)
    if message is None or ids is None or not message.text:
        return
    chat_id, user_id, chat_type = ids
    svc = services(context)
    async with svc.user_lock(chat_id, user_id):
        session = await get_session(svc, chat_id, user_id)
        if session.pending != AWAIT_STYLE or not session.content_file_id:
            await reply(message, texts.NO_CONTENT)
            return
        preset = await _preset_or_refuse(message, message.text.strip())
        if preset is None:
            return
        await start_job(
            svc, context.bot, chat_id=chat_id, chat_type=chat_type, user_id=user_id,
            content_file_id=session.content_file_id,
            content_message_id=session.content_message_id,
            preset=preset, settings=session.settings,
        )


async def stylize_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stylize [NAME] as text: on the photo it replies to, or (private) on the waiting photo."""
    message = update.effective_message
    ids = sender_ids(update)
    if message is None or ids is None:
        return
    chat_id, user_id, chat_type = ids
    svc = services(context)
    async with svc.inbox.receiving(message, user_id), svc.user_lock(chat_id, user_id):
        preset = None
        if context.args:
            preset = await _preset_or_refuse(message, context.args[0])
            if preset is None:
                return
        session = await get_session(svc, chat_id, user_id)
        target = message.reply_to_message
        ref = await _image_or_refuse(message, target) if target is not None else None
        if target is not None and ref is None:
            return
        if ref is None:
            await _stylize_waiting_photo(svc, context.bot, message, session, chat_type, preset)
            return
        if not await receive_image(svc, context.bot, message, user_id, ref):
            return
        preset = preset or session.default_preset
        if preset:
            await start_job(
                svc, context.bot, chat_id=chat_id, chat_type=chat_type, user_id=user_id,
                content_file_id=ref.file_id, content_message_id=target.message_id,
                preset=preset, settings=session.settings,
            )
            return
        await ask_for_style(svc, message, session, ref.file_id, target.message_id)


async def _stylize_waiting_photo(svc: Services, bot: Bot, message: Message, session: Session,
                                 chat_type: str, preset: str | None) -> None:
    if session.pending != AWAIT_STYLE or not session.content_file_id:
        await reply(message, texts.STYLIZE_NEEDS_PHOTO)
        return
    preset = preset or session.default_preset
    if preset is None:
        await ask_for_style(svc, message, session, session.content_file_id,
                            session.content_message_id or message.message_id)
        return
    await start_job(
        svc, bot, chat_id=session.chat_id, chat_type=chat_type, user_id=session.user_id,
        content_file_id=session.content_file_id, content_message_id=session.content_message_id,
        preset=preset, settings=session.settings,
    )


async def group_captioned_image(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A picture captioned /stylize in a group: "/stylize NAME" stylises it; plain "/stylize"
    in reply to a photo uses the replied photo as content and this one as the style."""
    message = update.effective_message
    ids = sender_ids(update)
    if message is None or ids is None:
        return
    is_command, argument = parse_stylize(message.caption, context.bot.username)
    if not is_command:
        return
    chat_id, user_id, chat_type = ids
    svc = services(context)
    async with svc.inbox.receiving(message, user_id), svc.user_lock(chat_id, user_id):
        ref = await _image_or_refuse(message)
        if ref is None:
            return
        preset = None
        if argument:
            preset = await _preset_or_refuse(message, argument)
            if preset is None:
                return
        session = await get_session(svc, chat_id, user_id)
        replied = message.reply_to_message
        content_ref = None
        if preset is None and replied is not None:
            try:
                content_ref = image_in(replied)
            except NotAStillImage:
                await reply(message, texts.NO_STILLS)
                return
        if not await receive_image(svc, context.bot, message, user_id, ref):
            return
        if content_ref is not None:
            if not await receive_image(svc, context.bot, message, user_id, content_ref):
                return
            await start_job(
                svc, context.bot, chat_id=chat_id, chat_type=chat_type, user_id=user_id,
                content_file_id=content_ref.file_id, content_message_id=replied.message_id,
                style_file_id=ref.file_id, settings=session.settings,
            )
            return
        await _paint_or_ask(svc, context.bot, message, session, ref.file_id,
                            preset or session.default_preset, chat_type)


async def group_style_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group, a picture replying to the bot's "pick a style" message is the style."""
    message = update.effective_message
    ids = sender_ids(update)
    if message is None or ids is None:
        return
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return
    chat_id, user_id, chat_type = ids
    svc = services(context)
    async with svc.inbox.receiving(message, user_id), svc.user_lock(chat_id, user_id):
        session = await get_session(svc, chat_id, user_id)
        if session.pending != AWAIT_STYLE or not session.content_file_id:
            return  # someone else's conversation, or nothing waiting: stay quiet in groups
        ref = await _image_or_refuse(message)
        if ref is None or not await receive_image(svc, context.bot, message, user_id, ref):
            return
        await start_job(
            svc, context.bot, chat_id=chat_id, chat_type=chat_type, user_id=user_id,
            content_file_id=session.content_file_id,
            content_message_id=session.content_message_id,
            style_file_id=ref.file_id, settings=session.settings,
        )


async def _paint_or_ask(svc: Services, bot: Bot, message: Message, session: Session,
                        content_file_id: str, preset: str | None, chat_type: str) -> None:
    """A new content photo: start at once with the named (or default) preset, else offer the
    style keyboard."""
    if not preset:
        await ask_for_style(svc, message, session, content_file_id, message.message_id)
        return
    await start_job(
        svc, bot, chat_id=session.chat_id, chat_type=chat_type, user_id=session.user_id,
        content_file_id=content_file_id, content_message_id=message.message_id,
        preset=preset, settings=session.settings,
    )


async def ask_for_style(svc: Services, message: Message, session: Session, content_file_id: str,
                        content_message_id: int) -> None:
    """Remembers the content photo and offers the presets (or a style photo)."""
    session.pending = AWAIT_STYLE
    session.content_file_id = content_file_id
    session.content_message_id = content_message_id
    await svc.store.save_session(session)
    private = message.chat.type == "private"
    await reply(
        message,
        texts.CHOOSE_STYLE if private else texts.CHOOSE_STYLE_GROUP,
        reply_markup=preset_keyboard(preset_names(), content_message_id),
    )


def preset_names() -> list[str]:
    return [preset.name for preset in list_presets()]


async def _image_or_refuse(message: Message, source: Message | None = None) -> ImageRef | None:
    """The picture in `source` (default: `message`), telling the user if it can't be one."""
    try:
        ref = image_in(source or message)
    except NotAStillImage:
        await reply(message, texts.NO_STILLS)
        return None
    if ref is None and source is not None:
        await reply(message, texts.STYLIZE_NEEDS_PHOTO)
    return ref


async def _preset_or_refuse(message: Message, name: str) -> str | None:
    try:
        return preset_name(name)
    except UnknownPreset as exc:
        await reply(message, texts.error_text(exc))
        return None
