"""What the user hears when handling their update failed: the application's error handler.

A full disk (the work folder, or the database: `bot.jobs.disk_full`) is no bug and will pass:
the sender is told "try again later" (a reply, or the answer to a button press), and a warning
is logged. Anything else is logged with its traceback, as before, and the user hears nothing
from here (the handlers answer what they expect themselves).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.jobs.disk_full import disk_full
from bot.telegram import texts
from bot.telegram.context import Context, Sender
from bot.telegram.handlers.common import reply
from bot.telegram.i18n import translator

log = logging.getLogger("stylebot.handlers")


async def on_error(update: object, context: Context) -> None:
    error = context.error
    if not disk_full(error):
        log.error("error while handling an update", exc_info=error)
        return
    log.warning("no room on the disk while handling an update: %s", error)
    if not isinstance(update, Update) or (sender := Sender.of(update)) is None:
        return
    svc = context.bot_data.services
    try:
        t = await svc.translator(sender) if svc is not None else translator(None)
    except Exception:  # the languages could not be read: English, then
        t = translator(None)
    text = t(texts.NO_SPACE)
    query = update.callback_query
    try:
        if query is not None:
            await query.answer(text, show_alert=True)
        elif update.effective_message is not None:
            await reply(update.effective_message, text)
    except TelegramError as exc:
        log.warning("could not tell chat %s that the disk is full: %s", sender.chat_id, exc)
