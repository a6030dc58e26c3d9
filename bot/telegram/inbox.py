"""Pictures being received: a durable note from the moment a handler takes a picture's update
until its sender has been answered.

Telegram sends an update once: as soon as the bot asks for the next ones, it is confirmed, and
a process killed while it waited for the user's earlier updates or downloaded and checked the
picture would otherwise leave the user with no answer ever. So the handler writes a row before
that slow part and deletes it when it is done (the job row exists, or the user was asked for a
style, or told what was wrong). Rows found at start-up belong to a dead process (one bot process
per database, as for the job queue): their senders are asked, in reply to the picture, to send
it again. The row keeps no file id: nothing about the picture outlives the conversation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from telegram import Bot, Message, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.store import Store
from bot.telegram import texts
from bot.telegram.i18n import translator
from bot.telegram.retries import with_retries

log = logging.getLogger("stylebot.inbox")


@dataclass(frozen=True)
class Received:
    """A picture whose sender had not been answered when the process stopped."""

    id: int
    chat_id: int
    user_id: int
    message_id: int
    language: str


class Inbox:
    """The `inbox` table of the bot's database (see `bot.store`)."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    @asynccontextmanager
    async def receiving(self, message: Message, user_id: int,
                        language: str = "en") -> AsyncIterator[None]:
        """Inside the block the message is on record. The record goes when the block ends,
        except when it is cancelled (the bot stopping): then the next start answers, in
        `language`."""
        row_id = await self._add(message.chat_id, user_id, message.message_id, language)
        try:
            yield
        except asyncio.CancelledError:
            raise
        except BaseException:
            await self._remove(row_id)
            raise
        await self._remove(row_id)

    async def left_over(self) -> list[Received]:
        """Pictures a previous process took and never answered, oldest first."""
        async with self.store.read() as db:
            cursor = await db.execute(
                "SELECT id, chat_id, user_id, message_id, language FROM inbox ORDER BY id")
            rows = await cursor.fetchall()
        return [Received(row["id"], row["chat_id"], row["user_id"], row["message_id"],
                         row["language"]) for row in rows]

    async def ask_to_send_again(self, bot: Bot, pictures: list[Received]) -> None:
        """Asks each sender to send the picture again, then forgets it. A network that stays
        down keeps the record for the next start."""
        for picture in pictures:
            reply_to = ReplyParameters(picture.message_id, allow_sending_without_reply=True)
            try:
                text = translator(picture.language)(texts.RESTARTED_WHILE_RECEIVING)
                await with_retries(lambda p=picture, r=reply_to, x=text: bot.send_message(
                    p.chat_id, x, reply_parameters=r))
            except (Forbidden, BadRequest) as exc:  # blocked, or the chat is gone
                log.info("no apology for message %d in chat %d: %s",
                         picture.message_id, picture.chat_id, exc)
            except TelegramError as exc:
                log.warning("apology for message %d in chat %d not sent yet: %s",
                            picture.message_id, picture.chat_id, exc)
                continue
            await self._remove(picture.id)

    async def _add(self, chat_id: int, user_id: int, message_id: int, language: str) -> int:
        async with self.store.transaction() as db:
            cursor = await db.execute(
                "INSERT INTO inbox (chat_id, user_id, message_id, received_at, language) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (chat_id, user_id, message_id, self._clock(), language),
            )
            row = await cursor.fetchone()
            return int(row[0])

    async def _remove(self, row_id: int) -> None:
        async with self.store.transaction() as db:
            await db.execute("DELETE FROM inbox WHERE id = ?", (row_id,))
