"""Sticker packs of paintings: one per user, and one per group (owned by the admin who made
it: Telegram's packs belong to users). The records live in SQLite (`sticker_packs`, schema
5), so a pack outlives restarts; Telegram holds the stickers.

A pack is made on first use (`createNewStickerSet`), then added to (`addStickerToSet`); at
`MAX_STICKERS` the oldest sticker goes first (`deleteStickerFromSet`). A pack deleted on
Telegram's side behind our back is made again. Telegram's refusals become a `PackError`
whose `reason` the handlers word: "name_taken", "needs_start" (the owner never started the
bot), "full", "failed".
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.store import Store, fetch_all, fetch_one
from bot.telegram.result_stickers import StickerFile
from bot.telegram.retries import with_retries

log = logging.getLogger("stylebot.packs")

MAX_STICKERS = 120
"""Telegram's limit for a regular sticker set."""
TITLE_MAX = 64

PackFailure = Literal["name_taken", "needs_start", "full", "failed"]


class PackError(Exception):
    def __init__(self, reason: PackFailure, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Pack:
    name: str
    chat_id: int | None
    """The group whose pack it is; None: a user's own."""
    owner_id: int
    title: str

    @property
    def link(self) -> str:
        return pack_link(self.name)


def pack_link(name: str) -> str:
    return f"https://t.me/addstickers/{name}"


def personal_pack_name(user_id: int, bot_username: str) -> str:
    return f"u{user_id}_by_{bot_username}"


def group_pack_name(chat_id: int, bot_username: str) -> str:
    return f"g{abs(chat_id)}_by_{bot_username}"


class StickerPacks:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ records

    async def personal(self, user_id: int) -> Pack | None:
        return await self._one("SELECT * FROM sticker_packs WHERE owner_id = ? "
                               "AND chat_id IS NULL", (user_id,))

    async def of_group(self, chat_id: int) -> Pack | None:
        return await self._one("SELECT * FROM sticker_packs WHERE chat_id = ?", (chat_id,))

    async def owned_by(self, user_id: int) -> list[Pack]:
        """A user's own pack and the groups' packs they made."""
        async with self.store.read() as db:
            rows = await fetch_all(db, "SELECT * FROM sticker_packs WHERE owner_id = ?",
                                   (user_id,))
        return [_pack(row) for row in rows]

    async def _one(self, sql: str, params: tuple) -> Pack | None:
        async with self.store.read() as db:
            row = await fetch_one(db, sql, params)
        return _pack(row) if row is not None else None

    async def _record(self, pack: Pack) -> None:
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT INTO sticker_packs (name, chat_id, owner_id, title, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "owner_id = excluded.owner_id, title = excluded.title",
                (pack.name, pack.chat_id, pack.owner_id, pack.title, time.time()),
            )

    # ------------------------------------------------------------------ Telegram

    async def add(self, bot: Bot, pack: Pack, sticker: StickerFile) -> Pack:
        """Adds the sticker to `pack` (made on first use, the oldest sticker dropped when
        full); returns the pack as recorded. Raises `PackError`."""
        known = await self._one("SELECT * FROM sticker_packs WHERE name = ?", (pack.name,))
        if known is None:
            return await self._make_or_adopt(bot, pack, sticker)
        try:
            await self._add_to(bot, known, sticker)
            return known
        except BadRequest as exc:
            if "stickerset_invalid" not in str(exc).lower():
                raise _pack_error(exc) from exc
            log.info("pack %s is gone from Telegram; making it again", known.name)
        except TelegramError as exc:
            raise _pack_error(exc) from exc
        return await self._make(bot, known, sticker)

    async def _make_or_adopt(self, bot: Bot, pack: Pack, sticker: StickerFile) -> Pack:
        """Makes the pack; if Telegram has one of that name already, it is this bot's (only
        it makes names ending in `_by_<bot>`) and its record went (the retention forgot a
        user who had gone, or an older copy of the database was restored): adopted."""
        try:
            return await self._make(bot, pack, sticker)
        except PackError as error:
            if error.reason != "name_taken":
                raise
        try:
            await self._add_to(bot, pack, sticker)
        except TelegramError as exc:  # made by another owner (a group's other admin)
            raise PackError("name_taken", str(exc)) from exc
        await self._record(pack)
        log.info("sticker pack %s had no record here; adopted for user %s", pack.name,
                 pack.owner_id)
        return pack

    async def _make(self, bot: Bot, pack: Pack, sticker: StickerFile) -> Pack:
        try:
            await with_retries(lambda: bot.create_new_sticker_set(
                pack.owner_id, pack.name, pack.title[:TITLE_MAX], [sticker.input_sticker()]))
        except TelegramError as exc:
            raise _pack_error(exc) from exc
        await self._record(pack)
        log.info("sticker pack %s made for user %s", pack.name, pack.owner_id)
        return pack

    async def _add_to(self, bot: Bot, pack: Pack, sticker: StickerFile) -> None:
        await self._make_room(bot, pack.name)
        await with_retries(lambda: bot.add_sticker_to_set(
            pack.owner_id, pack.name, sticker.input_sticker()))

    async def _make_room(self, bot: Bot, name: str) -> None:
        found = await with_retries(lambda: bot.get_sticker_set(name))
        excess = len(found.stickers) - MAX_STICKERS + 1
        for old in found.stickers[:max(excess, 0)]:
            await with_retries(lambda old=old: bot.delete_sticker_from_set(old.file_id))

    async def set_for_group(self, bot: Bot, pack: Pack) -> bool:
        """Makes `pack` the group's sticker set, where Telegram lets the bot (supergroups,
        with the right to change the group's info)."""
        assert pack.chat_id is not None
        try:
            return await bot.set_chat_sticker_set(pack.chat_id, pack.name)
        except TelegramError as exc:
            log.info("pack %s not set as chat %s's sticker set: %s", pack.name, pack.chat_id,
                     exc)
            return False

    async def forget(self, bot: Bot, user_id: int) -> int:
        """Asks Telegram to delete the packs `user_id` owns (their records go with the
        user's, `Store.forget_user`); returns how many Telegram deleted."""
        deleted = 0
        for pack in await self.owned_by(user_id):
            try:
                await with_retries(lambda pack=pack: bot.delete_sticker_set(pack.name))
                deleted += 1
            except TelegramError as exc:
                log.warning("sticker pack %s not deleted: %s", pack.name, exc)
        return deleted


def _pack_error(exc: TelegramError) -> PackError:
    text = str(exc).lower()
    if "occupied" in text or "name is already" in text:
        return PackError("name_taken", str(exc))
    if isinstance(exc, Forbidden) or "peer_id_invalid" in text or "user not found" in text:
        return PackError("needs_start", str(exc))
    if "stickers_too_much" in text or "too many stickers" in text:
        return PackError("full", str(exc))
    return PackError("failed", str(exc))


def _pack(row) -> Pack:
    return Pack(row["name"], row["chat_id"], row["owner_id"], row["title"])
