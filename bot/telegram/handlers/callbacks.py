"""Inline button presses. Every query is answered exactly once; bad data gets a polite toast.

A press acts only if its data is one of the buttons of the message it was pressed on: a client
can send any data with any of the bot's messages (a settings button "pressed" on the welcome
text would otherwise turn it into the settings panel)."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.error import TelegramError

from bot.settings import STRENGTHS
from bot.telegram import texts
from bot.telegram.context import Asker, Context, Sender, Services, services
from bot.telegram.handlers.commands import language_panel, set_language
from bot.telegram.handlers.common import JobInputs, get_session, preset_name, start_job
from bot.telegram.handlers.packs import sticker_button
from bot.telegram.handlers.photos import preset_names
from bot.telegram.i18n import Translator
from bot.telegram.keyboards import (
    ChangeSetting,
    ChooseLanguage,
    ChoosePreset,
    EndBattle,
    KeepInstant,
    MakeSticker,
    Noop,
    PickStyle,
    Rerun,
    ShowPage,
    Vote,
    language_keyboard,
    parse_callback,
    preset_keyboard,
    settings_keyboard,
    settings_text,
)
from stylecore import UnknownPreset

log = logging.getLogger("stylebot.handlers")



async def button(update: Update, context: Context) -> None:
    query = update.callback_query
    sender = Sender.of(update)
    if query is None or sender is None:
        return
    user_id = sender.user_id
    svc = services(context)
    t = await svc.translator(sender)
    if not _is_a_button_of_its_message(query):
        log.info("callback data %r is not a button of its message (user %s)", query.data, user_id)
        await _answer(query, t(texts.OUT_OF_DATE_BUTTON))
        return
    action = parse_callback(query.data)
    if action is None or query.message is None:
        log.info("unusable callback data %r from user %s", query.data, user_id)
        await _answer(query, t(texts.STALE_BUTTON))
        return
    if isinstance(action, Noop):
        await _answer(query)
        return
    if isinstance(action, Vote | EndBattle):
        await _battle(svc, query, action, t)
        return
    if isinstance(action, MakeSticker):
        await sticker_button(svc, context.bot, query, action, t)
        return
    if isinstance(action, KeepInstant):
        await _keep_instant(svc, query, action, t)
        return
    personal = isinstance(action, ChoosePreset | ShowPage | ChangeSetting)
    if personal and _belongs_to_someone_else(query, user_id):
        await _answer(query, t(texts.NOT_YOUR_BUTTON))
        return
    async with svc.user_lock(sender.chat_id, user_id):
        if isinstance(action, ChoosePreset):
            await _choose_preset(svc, context, query, action, t)
        elif isinstance(action, ShowPage):
            await _show_page(svc, query, action, user_id, t)
        elif isinstance(action, PickStyle):
            await _pick_style(svc, context, query, action, t)
        elif isinstance(action, ChangeSetting):
            await _change_setting(svc, query, action, t)
        elif isinstance(action, Rerun):
            await _rerun(svc, context, query, action, t)
        elif isinstance(action, ChooseLanguage):
            await _choose_language(svc, context, query, action, sender)


def _is_a_button_of_its_message(query: CallbackQuery) -> bool:
    """The message as Telegram has it now (its current keyboard) carries this data. An
    inaccessible message (too old, or deleted) carries none."""
    markup = getattr(query.message, "reply_markup", None)
    if markup is None or not query.data:
        return False
    return any(button.callback_data == query.data
               for row in markup.inline_keyboard for button in row)


def _belongs_to_someone_else(query: CallbackQuery, user_id: int) -> bool:
    """Keyboards are sent as replies to the message of the user they are for."""
    message = query.message
    replied = getattr(message, "reply_to_message", None)
    owner = replied.from_user if replied is not None else None
    return owner is not None and not owner.is_bot and owner.id != user_id


async def _choose_preset(svc: Services, context: Context,
                         query: CallbackQuery, action: ChoosePreset, t: Translator) -> None:
    chat = query.message.chat
    session = await get_session(svc, chat.id, query.from_user.id)
    if (not session.waiting_for_style
            or session.content_message_id != action.content_message_id):
        await _answer(query, t(texts.STALE_BUTTON))
        return
    try:
        name = preset_name(action.preset)
    except UnknownPreset as exc:
        await _answer(query, texts.error_text(exc, t))
        return
    await _answer(query, t(texts.PRESET_CHOSEN, name=name))
    await _remove_keyboard(query)
    await start_job(Asker(svc, context.bot, _sender(query), t),
                    JobInputs.waiting(session, preset=name), session.settings)


async def _show_page(svc: Services, query: CallbackQuery, action: ShowPage,
                     user_id: int, t: Translator) -> None:
    session = await get_session(svc, query.message.chat.id, user_id)
    if session.content_message_id != action.content_message_id:
        await _answer(query, t(texts.STALE_BUTTON))
        return
    await _answer(query)
    try:
        await query.edit_message_reply_markup(
            preset_keyboard(preset_names(), action.content_message_id, action.page)
        )
    except TelegramError as exc:
        log.debug("page not shown: %s", exc)


async def _pick_style(svc: Services, context: Context, query: CallbackQuery,
                      action: PickStyle, t: Translator) -> None:
    """A /styles button: used on the waiting photo if there is one, else the new default."""
    chat = query.message.chat
    try:
        name = preset_name(action.preset)
    except UnknownPreset as exc:
        await _answer(query, texts.error_text(exc, t))
        return
    session = await get_session(svc, chat.id, query.from_user.id)
    if session.waiting_for_style:
        await _answer(query, t(texts.PRESET_CHOSEN, name=name))
        await start_job(Asker(svc, context.bot, _sender(query), t),
                        JobInputs.waiting(session, preset=name), session.settings)
        return
    session.default_preset = name
    await svc.store.save_session(session)
    await _answer(query, t(texts.DEFAULT_SET, name=name), alert=True)


async def _change_setting(svc: Services, query: CallbackQuery, action: ChangeSetting,
                          t: Translator) -> None:
    session = await get_session(svc, query.message.chat.id, query.from_user.id)
    session.settings = session.settings.with_(**{action.field: action.value})
    await svc.store.save_session(session)
    await _answer(query, t(texts.SETTINGS_SAVED))
    try:
        await query.edit_message_text(settings_text(session.settings, t),
                                      reply_markup=settings_keyboard(session.settings, t))
    except TelegramError as exc:  # "message is not modified" when tapping the current value
        log.debug("settings message not edited: %s", exc)


async def _rerun(svc: Services, context: Context, query: CallbackQuery,
                 action: Rerun, t: Translator) -> None:
    """A result button: the same job again with one thing changed."""
    job = await svc.queue.get(action.job_id)
    chat = query.message.chat
    if job is None or job.chat_id != chat.id:
        await _answer(query, t(texts.STALE_BUTTON))
        return
    if job.user_id != query.from_user.id:
        await _answer(query, t(texts.NOT_YOUR_BUTTON))
        return
    if not job.content_file_id:
        await _answer(query, t(texts.PHOTO_GONE if job.content_kind == "photo"
                               else texts.FILE_GONE))
        return
    settings = job.settings.user_settings()  # the job's own adjustments are not carried over
    level = STRENGTHS.index(settings.strength)
    if action.action == "up":
        if level + 1 >= len(STRENGTHS):
            await _answer(query, t(texts.ALREADY_STRONGEST))
            return
        settings = settings.with_(strength=STRENGTHS[level + 1])
    elif action.action == "down":
        if level == 0:
            await _answer(query, t(texts.ALREADY_WEAKEST))
            return
        settings = settings.with_(strength=STRENGTHS[level - 1])
    elif action.action == "col":
        settings = settings.with_(preserve_colors=True)
    elif action.action == "file":
        settings = settings.with_(as_file=True)
    await _answer(query, t(texts.RERUN_STARTED))
    inputs = JobInputs(job.content_file_id, job.reply_to_message_id, job.preset,
                       job.style_file_id, job.media, job.frames, job.content_kind)
    await start_job(Asker(svc, context.bot, Sender(chat.id, job.user_id, chat.type), t), inputs,
                    settings)


async def _keep_instant(svc: Services, query: CallbackQuery, action: KeepInstant,
                        t: Translator) -> None:
    """"Keep this one" under a job's instant picture: it becomes the result now, and the
    worker is free for the next job. Only the job's owner may press it (in a group too)."""
    job = await svc.queue.get(action.job_id)
    if job is None or job.chat_id != query.message.chat.id:
        await _answer(query, t(texts.STALE_BUTTON))
        return
    if job.user_id != query.from_user.id:
        await _answer(query, t(texts.NOT_YOUR_BUTTON))
        return
    if not svc.runner.keep_instant(job.id):
        await _answer(query, t(texts.INSTANT_GONE))
        return
    await _answer(query, t(texts.KEEPING_INSTANT))


async def _choose_language(svc: Services, context: Context, query: CallbackQuery,
                           action: ChooseLanguage, sender: Sender) -> None:
    """A /language button: the user's language, or (admins only) the group's. The panel is
    redrawn in the language that now applies."""
    text = await set_language(svc, context.bot, sender, action.language)
    t = await svc.translator(sender)
    await _answer(query, text, alert=not sender.private)
    panel, chosen = await language_panel(svc, sender, t)
    try:
        await query.edit_message_text(
            panel, reply_markup=language_keyboard(chosen, group=not sender.private, t=t))
    except TelegramError as exc:  # "message is not modified": the current language tapped
        log.debug("language message not edited: %s", exc)


async def _battle(svc: Services, query: CallbackQuery, action: Vote | EndBattle,
                  t: Translator) -> None:
    """A vote (anyone, once; a new choice moves the vote) or "End vote" (the caller only).
    The answer is the presser's alone, so it is in their language (`t`)."""
    battles = svc.battles
    battle = await battles.get(action.battle_id) if battles is not None else None
    if (battle is None or battle.chat_id != query.message.chat.id
            or battle.vote_message_id != query.message.message_id):
        await _answer(query, t(texts.STALE_BUTTON))
        return
    if isinstance(action, EndBattle):
        if query.from_user.id != battle.caller_id:
            await _answer(query, t(texts.NOT_YOUR_BATTLE))
            return
        ended = await battles.end(battle.id)
        await _answer(query, None if ended else t(texts.VOTE_OVER))
        return
    outcome, style = await battles.vote(battle.id, query.from_user.id, action.position)
    if outcome == "voted":
        await _answer(query, t(texts.VOTED, name=style))
    elif outcome == "unchanged":
        await _answer(query, t(texts.VOTE_UNCHANGED, name=style))
    else:
        await _answer(query, t(texts.VOTE_OVER))


def _sender(query: CallbackQuery) -> Sender:
    """Whoever pressed the button, in the chat of its message."""
    chat = query.message.chat
    return Sender(chat.id, query.from_user.id, chat.type, query.from_user.language_code)


async def _answer(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as exc:  # too late (queries expire) or network: nothing to do
        log.debug("callback query not answered: %s", exc)


async def _remove_keyboard(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError as exc:
        log.debug("keyboard not removed: %s", exc)
