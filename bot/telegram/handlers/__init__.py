"""The bot's update handlers, wired into an Application by `register`."""

from __future__ import annotations

import contextlib
import time
from collections import deque

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram import texts
from bot.telegram.context import Context, Request, Sender, Services, handler, services
from bot.telegram.handlers import (
    admin,
    battle,
    callbacks,
    commands,
    fun,
    inline,
    packs,
    photos,
)
from bot.telegram.handlers.common import reply
from bot.telegram.i18n import ENGLISH
from stylecore import set_presets_folder

__all__ = ["Services", "register"]

PICTURES = filters.PHOTO | filters.Document.ALL | filters.Sticker.ALL
MOVING = filters.VIDEO | filters.ANIMATION | filters.VIDEO_NOTE
STYLIZE_CAPTION = filters.CaptionRegex(r"^/stylize(@\w+)?(\s|$)")

FLOOD_LIMIT = 30
"""Updates one user may send per FLOOD_WINDOW_S; beyond that they are dropped (warned once)."""
FLOOD_WINDOW_S = 60.0


class FloodGuard:
    """Per-user rate limit on incoming updates, run before every other handler."""

    def __init__(self, limit: int = FLOOD_LIMIT, window_s: float = FLOOD_WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._seen: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    async def __call__(self, update: object, context: Context) -> None:
        if not isinstance(update, Update) or update.effective_user is None:
            return
        user_id = update.effective_user.id
        now = time.monotonic()
        seen = self._seen.setdefault(user_id, deque())
        while seen and now - seen[0] > self.window_s:
            seen.popleft()
        if len(seen) < self.limit:
            seen.append(now)
            return
        if now - self._warned.get(user_id, -self.window_s) >= self.window_s:
            self._warned[user_id] = now
            sender = Sender.of(update)
            t = await services(context).translator(sender) if sender else ENGLISH
            if update.callback_query is not None:
                with contextlib.suppress(TelegramError):
                    await update.callback_query.answer(t(texts.SLOW_DOWN))
            elif update.effective_message and update.effective_chat.type == "private":
                await reply(update.effective_message, t(texts.SLOW_DOWN))
        raise ApplicationHandlerStop


@handler()
async def unknown_command(req: Request) -> None:
    await reply(req.message, req.t(texts.HELP))


@handler()
async def anything_else(req: Request) -> None:
    """Audio, voice, a contact, a location, a poll, dice...: nothing to paint, but a private
    chat deserves an answer rather than silence."""
    await reply(req.message, req.t(texts.ONLY_PICTURES))


def register(application: Application) -> None:
    """Wires the handlers into `application` (whose `bot_data.config` is set), and gives the
    engine the configured presets folder: the handlers and the job runner list, load and add
    presets there."""
    config = application.bot_data.config
    set_presets_folder(config.presets_dir if config is not None else None)
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    application.add_handler(TypeHandler(Update, FloodGuard()), group=-1)
    for name, callback in (
        ("start", commands.start),
        ("help", commands.help_command),
        ("styles", commands.styles),
        ("style", commands.style),
        ("settings", commands.settings),
        ("language", commands.language),
        ("cancel", commands.cancel),
        ("forget", commands.forget),
        ("stylize", photos.stylize_command),
        ("surprise", fun.surprise),
        ("me", fun.me),
        ("battle", battle.battle),
        ("pack", packs.pack_command),
        ("stats", admin.stats),
        ("queue", admin.queue),
        ("addstyle", admin.addstyle),
    ):
        application.add_handler(CommandHandler(name, callback, filters=~filters.UpdateType.EDITED))
    application.add_handler(
        MessageHandler(filters.PHOTO & fun.IN_ALBUM & ~filters.UpdateType.EDITED, fun.album_part)
    )
    application.add_handler(
        MessageHandler((PICTURES | MOVING) & fun.SURPRISE_CAPTION & ~filters.UpdateType.EDITED,
                       fun.surprise)
    )
    application.add_handler(
        MessageHandler(groups & (PICTURES | MOVING) & STYLIZE_CAPTION,
                       photos.group_captioned_image)
    )
    application.add_handler(
        MessageHandler(groups & (PICTURES | MOVING) & filters.REPLY, photos.group_style_reply)
    )
    application.add_handler(
        MessageHandler(private & (PICTURES | MOVING) & ~filters.UpdateType.EDITED,
                       photos.private_image)
    )
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND & ~filters.UpdateType.EDITED,
                       photos.private_text)
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    application.add_handler(
        MessageHandler(private & ~filters.StatusUpdate.ALL & ~filters.UpdateType.EDITED,
                       anything_else)
    )
    application.add_handler(CallbackQueryHandler(callbacks.button))
    application.add_handler(InlineQueryHandler(inline.inline_query))
