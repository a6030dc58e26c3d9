"""What a handler is given: typed `bot_data`, the services, the sender, and the `handler`
decorator that hands them over.

python-telegram-bot builds every callback's context from `CONTEXT_TYPES`, so
`context.bot_data` is a `BotData` (attributes, not string keys). A handler decorated with
`@handler()` takes one `Request`: the update's message, its `Sender`, the `Services` and the
`Translator` of the language to answer in (`Services.translator`);
updates without a message or a sender (channel posts, anonymous admins) never reach it, and
with `locked=True` it runs holding the sender's lock (one update per user and chat at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from telegram import Bot, Message, Update
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.telegram.i18n import Translator, choose, translator

if TYPE_CHECKING:
    from bot.config import Config
    from bot.jobs.battles import Battles
    from bot.jobs.model import JobQueue
    from bot.jobs.pool import RunnerPool
    from bot.jobs.remote.backend import RemoteBackend
    from bot.jobs.remote.fleet import Fleet
    from bot.jobs.work_area import WorkArea
    from bot.jobs.worker import StyleWorker
    from bot.store import Store
    from bot.telegram.inbox import Inbox
    from bot.telegram.sticker_packs import StickerPacks


class Stoppable(Protocol):
    async def stop(self) -> None: ...


class BotData:
    """The application's `bot_data`, filled in by `bot.app`."""

    def __init__(self) -> None:
        self.config: Config | None = None
        self.services: Services | None = None
        """Set once the database is open and the runners exist (`post_init`)."""
        self.store: Store | None = None
        """Set as soon as the database is open, so shutdown closes it whatever fails after."""
        self.shared_worker: StyleWorker | None = None
        """A worker the caller started and stops (tests); None: the bot starts its own."""
        self.owned_workers: list[StyleWorker] = []
        self.worker_start: asyncio.Task[None] | None = None
        self.remote: RemoteBackend | None = None
        """The broker, when jobs run on remote workers (`STYLEBOT_BROKER_URL`)."""
        self.inbox_answers: asyncio.Task[None] | None = None
        self.studio: Stoppable | None = None
        """The studio's web server (`bot.studio`), when `STYLEBOT_STUDIO_URL` is set."""
        self.studio_worker: StyleWorker | None = None
        """The studio's preview worker: the instant painter in a process of its own."""
        self.studio_start: asyncio.Task[None] | None = None


Context = CallbackContext[ExtBot[None], dict, dict, BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData)


@dataclass
class Services:
    """Everything the handlers need, kept in `bot_data.services`."""

    config: Config
    store: Store
    queue: JobQueue
    work: WorkArea
    runner: RunnerPool
    inbox: Inbox
    enqueue_lock: asyncio.Lock
    """Held while a job is enqueued and its status message sent, and by the runner's claim,
    so the runner never starts a job before the handler recorded its status message."""
    battles: Battles | None = None
    fleet: Fleet | None = None
    """The remote workers (None: local worker processes)."""
    packs: StickerPacks | None = None
    """Sticker packs of paintings (`bot.telegram.sticker_packs`)."""
    albums: Any = None
    """Albums being collected (`bot.telegram.handlers.fun.Albums`), made on first use."""
    gallery: dict[tuple[str, ...], bytes | str] = field(default_factory=dict)
    """The /styles picture for a set of preset names: JPEG bytes, or Telegram's file id."""
    _user_locks: dict[tuple[int, int], asyncio.Lock] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def user_lock(self, chat_id: int, user_id: int) -> AsyncIterator[None]:
        """Serialises one user's updates in one chat (updates are handled concurrently), so a
        content photo is always processed before the style photo sent right after it."""
        key = (chat_id, user_id)
        lock = self._user_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._user_locks.pop(key, None)

    async def language(self, sender: Sender) -> str:
        """The language to answer `sender` in (see `bot.telegram.i18n.choose`)."""
        group_choice, user_choice = await self.store.languages(sender.chat_id, sender.user_id)
        return choose(group_choice=None if sender.private else group_choice,
                      user_choice=user_choice, telegram_code=sender.language_code)

    async def translator(self, sender: Sender) -> Translator:
        return translator(await self.language(sender))


def services(context: Context) -> Services:
    svc = context.bot_data.services
    if svc is None:
        raise RuntimeError("an update arrived before the bot finished starting")
    return svc


@dataclass(frozen=True)
class Sender:
    """Who sent an update, and where."""

    chat_id: int
    user_id: int
    chat_type: str
    language_code: str | None = None
    """The user's Telegram app language (an IETF tag such as "ru-RU"), if Telegram says."""

    @property
    def private(self) -> bool:
        return self.chat_type == "private"

    @classmethod
    def of(cls, update: Update) -> Sender | None:
        """None for updates without a chat or a user (anonymous or channel posts)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return None
        return cls(chat.id, user.id, chat.type, user.language_code)


@dataclass(frozen=True)
class Asker:
    """Who asks for a job (or sends a picture), where, and the language to answer in: what
    starting a job needs of a handler's `Request` (`Request.asker`) or of a button press."""

    svc: Services
    bot: Bot
    sender: Sender
    t: Translator


@dataclass(frozen=True)
class Request:
    """One update as a handler sees it."""

    message: Message
    sender: Sender
    svc: Services
    context: Context
    t: Translator
    """Texts in the sender's language: `req.t(texts.START)`."""

    @property
    def bot(self) -> Bot:
        return self.context.bot

    @property
    def asker(self) -> Asker:
        return Asker(self.svc, self.bot, self.sender, self.t)

    @property
    def args(self) -> list[str]:
        """The command's arguments (none for other messages)."""
        return list(self.context.args or [])

    def locked(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The sender's lock in this chat."""
        return self.svc.user_lock(self.sender.chat_id, self.sender.user_id)

    @contextlib.asynccontextmanager
    async def receiving(self) -> AsyncIterator[None]:
        """The sender's lock, with this message on record in the inbox until the block ends
        (a picture that may be downloaded: see `bot.telegram.inbox`)."""
        async with (self.svc.inbox.receiving(self.message, self.sender.user_id, self.t.code),
                    self.locked()):
            yield


Handler = Callable[[Update, Context], Awaitable[None]]


def _via_this_bot(message: Message, bot: Bot) -> bool:
    """A painting someone shared with inline mode: their message, sent via us; not a new
    picture for the bot."""
    return message.via_bot is not None and message.via_bot.id == bot.id


def handler(*, locked: bool = False) -> Callable[[Callable[[Request], Awaitable[None]]], Handler]:
    """Makes `func(request)` a python-telegram-bot callback (see the module)."""

    def wrap(func: Callable[[Request], Awaitable[None]]) -> Handler:
        @functools.wraps(func)
        async def callback(update: Update, context: Context) -> None:
            message, sender = update.effective_message, Sender.of(update)
            if message is None or sender is None or _via_this_bot(message, context.bot):
                return
            svc = services(context)
            request = Request(message, sender, svc, context, await svc.translator(sender))
            if not locked:
                await func(request)
                return
            async with request.locked():
                await func(request)

        return callback

    return wrap
