"""Pictures arriving: content and style photos in private chats, /stylize in groups.

Each handler that may download a picture keeps it on record in the inbox
(`bot.telegram.inbox`) until the sender has been answered, so a crash in between still gets
them an answer after the restart."""

from __future__ import annotations

from dataclasses import replace

from telegram import Message

from bot.store import Session
from bot.telegram import kind_texts, texts
from bot.telegram.context import Request, Services, handler
from bot.telegram.files import ImageRef, NotAStillImage, image_in
from bot.telegram.handlers.common import (
    JobInputs,
    caption_preset,
    get_session,
    parse_stylize,
    preset_name,
    receive_image,
    reply,
    start_job,
)
from bot.telegram.i18n import Translator
from bot.telegram.keyboards import preset_keyboard
from stylecore import UnknownPreset, list_presets


@handler()
async def private_image(req: Request) -> None:
    """A picture in a private chat: content, style, or content plus a preset in the caption."""
    message = req.message
    async with req.receiving():
        ref = await _image_or_refuse(message, req.t)
        if ref is None:
            return
        is_command, argument = parse_stylize(message.caption, req.bot.username)
        preset = caption_preset(message.caption) if not is_command else None
        if argument:
            preset = await _preset_or_refuse(message, argument, req.t)
            if preset is None:
                return
        ref = await receive_image(req.asker, message, ref)
        if ref is None:
            return
        session = await _session(req)
        if preset is None and session.waiting_for_style and not ref.moving:
            inputs = JobInputs.waiting(session, style_file_id=ref.file_id)
            await start_job(req.asker, inputs, session.settings)
            return
        # A clip is never a style: a new one is new content, even with a photo waiting.
        await _paint_or_ask(req, session, ref, preset or session.default_preset)


@handler(locked=True)
async def private_text(req: Request) -> None:
    """Plain text in a private chat: a preset name for the waiting photo, or a hint."""
    if not req.message.text:
        return
    session = await _session(req)
    if not session.waiting_for_style:
        await reply(req.message, req.t(texts.NO_CONTENT))
        return
    preset = await _preset_or_refuse(req.message, req.message.text.strip(), req.t)
    if preset is None:
        return
    await start_job(req.asker, JobInputs.waiting(session, preset=preset), session.settings)


@handler()
async def stylize_command(req: Request) -> None:
    """/stylize [NAME] as text: on the photo it replies to, or (private) on the waiting photo."""
    message = req.message
    async with req.receiving():
        preset = None
        if req.args:
            preset = await _preset_or_refuse(message, req.args[0], req.t)
            if preset is None:
                return
        session = await _session(req)
        target = message.reply_to_message
        ref = await _image_or_refuse(message, req.t, target) if target is not None else None
        if target is not None and ref is None:
            return
        if ref is None:
            await _stylize_waiting_photo(req, session, preset)
            return
        ref = await receive_image(req.asker, message, ref)
        if ref is None:
            return
        preset = preset or session.default_preset
        inputs = JobInputs.of(ref, target.message_id, req.svc.config, preset=preset)
        if preset:
            await start_job(req.asker, inputs, session.settings)
            return
        await ask_for_style(req.svc, message, session, inputs, req.t)


async def _stylize_waiting_photo(req: Request, session: Session, preset: str | None) -> None:
    if not session.waiting_for_style:
        await reply(req.message, req.t(texts.STYLIZE_NEEDS_PHOTO))
        return
    preset = preset or session.default_preset
    if preset is None:
        waiting = JobInputs.waiting(session)
        if waiting.content_message_id is None:
            waiting = replace(waiting, content_message_id=req.message.message_id)
        await ask_for_style(req.svc, req.message, session, waiting, req.t)
        return
    await start_job(req.asker, JobInputs.waiting(session, preset=preset), session.settings)


@handler()
async def group_captioned_image(req: Request) -> None:
    """A picture captioned /stylize in a group: "/stylize NAME" stylises it; plain "/stylize"
    in reply to a photo uses the replied photo as content and this one as the style."""
    message = req.message
    is_command, argument = parse_stylize(message.caption, req.bot.username)
    if not is_command:
        return
    async with req.receiving():
        ref = await _image_or_refuse(message, req.t)
        if ref is None:
            return
        preset = None
        if argument:
            preset = await _preset_or_refuse(message, argument, req.t)
            if preset is None:
                return
        session = await _session(req)
        replied = message.reply_to_message
        content_ref = None
        if preset is None and replied is not None:
            try:
                content_ref = image_in(replied)
            except NotAStillImage:
                await reply(message, req.t(texts.ANIMATED_STICKER))
                return
            if content_ref is not None and ref.moving:
                await reply(message, kind_texts.not_a_style_text(ref.content_kind, req.t))
                return
        ref = await receive_image(req.asker, message, ref)
        if ref is None:
            return
        if content_ref is not None:
            content_ref = await receive_image(req.asker, message, content_ref)
            if content_ref is None:
                return
            inputs = JobInputs.of(content_ref, replied.message_id, req.svc.config,
                                  style_file_id=ref.file_id)
            await start_job(req.asker, inputs, session.settings)
            return
        await _paint_or_ask(req, session, ref, preset or session.default_preset)


@handler()
async def group_style_reply(req: Request) -> None:
    """In a group, a picture replying to the bot's "pick a style" message is the style (a
    moving one is told it can't be)."""
    replied = req.message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != req.bot.id:
        return
    async with req.receiving():
        session = await _session(req)
        if not session.waiting_for_style:
            return  # someone else's conversation, or nothing waiting: stay quiet in groups
        ref = await _image_or_refuse(req.message, req.t)
        if ref is not None and ref.moving:
            await reply(req.message, kind_texts.not_a_style_text(ref.content_kind, req.t))
            return
        if ref is None or await receive_image(req.asker, req.message, ref) is None:
            return
        inputs = JobInputs.waiting(session, style_file_id=ref.file_id)
        await start_job(req.asker, inputs, session.settings)


async def _session(req: Request) -> Session:
    return await get_session(req.svc, req.sender.chat_id, req.sender.user_id)


async def _paint_or_ask(req: Request, session: Session, ref: ImageRef,
                        preset: str | None) -> None:
    """A new content photo or clip: start at once with the named (or default) preset, else
    offer the style keyboard."""
    inputs = JobInputs.of(ref, req.message.message_id, req.svc.config, preset=preset)
    if not preset:
        await ask_for_style(req.svc, req.message, session, inputs, req.t)
        return
    await start_job(req.asker, inputs, session.settings)


async def ask_for_style(svc: Services, message: Message, session: Session, content: JobInputs,
                        t: Translator) -> None:
    """Remembers the content picture (or clip) and offers the presets (or a style picture).
    Content that waited before is dropped, its download with it, and the user told so."""
    assert content.content_message_id is not None
    replaced = session.waiting
    session.await_style(content.content_file_id, content.content_message_id, content.media,
                        content.frames, content.content_kind)
    await svc.store.save_session(session)
    text = kind_texts.choose_style_text(content.content_kind, message.chat.type == "private", t)
    if replaced is not None and replaced.file_id != content.content_file_id:
        svc.work.remove_inputs(session.user_id, replaced.file_id)
        text = kind_texts.both(text, kind_texts.cleared_text(replaced.kind, t), t)
    await reply(message, text,
                reply_markup=preset_keyboard(preset_names(), content.content_message_id))


def preset_names() -> list[str]:
    return [preset.name for preset in list_presets()]


async def _image_or_refuse(message: Message, t: Translator,
                           source: Message | None = None) -> ImageRef | None:
    """The picture in `source` (default: `message`), telling the user if it can't be one."""
    try:
        ref = image_in(source or message)
    except NotAStillImage:
        await reply(message, t(texts.ANIMATED_STICKER))
        return None
    if ref is None and source is not None:
        await reply(message, t(texts.STYLIZE_NEEDS_PHOTO))
    return ref


async def _preset_or_refuse(message: Message, name: str, t: Translator) -> str | None:
    try:
        return preset_name(name)
    except UnknownPreset as exc:
        await reply(message, texts.error_text(exc, t))
        return None
