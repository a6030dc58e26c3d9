"""The paintings a user can share anywhere with inline mode: Telegram's file id of every
painted picture the bot sent them (kept as long as other file ids, `STYLEBOT_FILE_TTL_DAYS`,
and forgotten with /forget), newest first, optionally only one style's."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.store import Store, fetch_all

RECENT = 20
"""Inline answers list at most this many paintings (Telegram shows a few rows of them)."""


@dataclass(frozen=True)
class SharedPainting:
    job_id: int
    file_id: str
    style: str


class SharedPaintings:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def remember(self, job_id: int, user_id: int, file_id: str, style: str) -> None:
        """A picture the bot sent `user_id` (the job's result, as a photo)."""
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT INTO shared_paintings (job_id, user_id, file_id, style, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET "
                "file_id = excluded.file_id", (job_id, user_id, file_id, style, time.time()))

    async def recent(self, user_id: int, style: str | None = None,
                     limit: int = RECENT) -> list[SharedPainting]:
        """The user's paintings, newest first; with `style`, those whose style starts with it
        (so typing a style's name narrows the list letter by letter)."""
        prefix = (style or "").strip().lower()
        pattern = "".join(f"!{c}" if c in "!%_" else c for c in prefix) + "%"
        async with self.store.read() as db:
            rows = await fetch_all(db, """
                SELECT job_id, file_id, style FROM shared_paintings
                WHERE user_id = ? AND style LIKE ? ESCAPE '!'
                ORDER BY created_at DESC, job_id DESC LIMIT ?""", (user_id, pattern, limit))
        return [SharedPainting(*row) for row in rows]
