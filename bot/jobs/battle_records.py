"""Style battles as stored: the `battles`, `battle_jobs` and `battle_votes` tables.

`BattleRecords` is all the SQL of a battle (`bot.jobs.battles` runs the battle itself): create
one with its jobs, read it back as a `Battle`, move it along its states, and record votes (one
per user, which a later vote replaces).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.jobs.model import Job
from bot.store import Store, fetch_all, fetch_one


@dataclass(frozen=True)
class Battle:
    """One battle as stored. `state`: painting -> posted -> voting -> over; `styles` and
    `job_ids` in the album's order."""

    id: int
    chat_id: int
    caller_id: int
    reply_to_message_id: int | None
    status_message_id: int | None
    album_message_id: int | None
    vote_message_id: int | None
    deadline: float | None
    state: str
    language: str
    styles: list[str]
    job_ids: list[int]


class BattleRecords:
    """The battles in the bot's database."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    async def create(self, chat_id: int, caller_id: int, reply_to_message_id: int | None,
                     jobs: list[Job], styles: list[str], status_message_id: int | None,
                     language: str = "en") -> int:
        """A new battle, painting, with its jobs (one per style, in that order); its id."""
        async with self.store.transaction() as db:
            (battle_id,) = await fetch_one(
                db,
                "INSERT INTO battles (chat_id, caller_id, reply_to_message_id, "
                "status_message_id, state, language, created_at) "
                "VALUES (?, ?, ?, ?, 'painting', ?, ?) RETURNING id",
                (chat_id, caller_id, reply_to_message_id, status_message_id, language,
                 self._clock()),
            )
            for position, (job, style) in enumerate(zip(jobs, styles, strict=True)):
                await db.execute(
                    "INSERT INTO battle_jobs (job_id, battle_id, position, style) "
                    "VALUES (?, ?, ?, ?)", (job.id, battle_id, position, style))
        return battle_id

    async def has_job(self, job_id: int) -> bool:
        """Whether the job paints a style of some battle."""
        async with self.store.read() as db:
            row = await fetch_one(db, "SELECT 1 FROM battle_jobs WHERE job_id = ?", (job_id,))
        return row is not None

    async def get(self, battle_id: int) -> Battle | None:
        async with self.store.read() as db:
            row = await fetch_one(db, "SELECT * FROM battles WHERE id = ?", (battle_id,))
            if row is None:
                return None
            jobs = await fetch_all(
                db, "SELECT job_id, style FROM battle_jobs WHERE battle_id = ? ORDER BY position",
                (battle_id,))
        return Battle(
            id=row["id"], chat_id=row["chat_id"], caller_id=row["caller_id"],
            reply_to_message_id=row["reply_to_message_id"],
            status_message_id=row["status_message_id"],
            album_message_id=row["album_message_id"], vote_message_id=row["vote_message_id"],
            deadline=row["deadline"], state=row["state"], language=row["language"],
            styles=[r["style"] for r in jobs], job_ids=[r["job_id"] for r in jobs],
        )

    async def open_battles(self) -> list[tuple[int, str, float | None]]:
        """(id, state, deadline) of every battle not over yet."""
        async with self.store.read() as db:
            rows = await fetch_all(
                db, "SELECT id, state, deadline FROM battles WHERE state != 'over'")
        return [tuple(row) for row in rows]

    async def set(self, battle_id: int, **values: object) -> None:
        """Updates the named columns of the battle."""
        columns = ", ".join(f"{name} = ?" for name in values)
        async with self.store.transaction() as db:
            await db.execute(f"UPDATE battles SET {columns} WHERE id = ?",
                             (*values.values(), battle_id))

    async def counts(self, battle_id: int) -> dict[str, int]:
        """Votes by style (styles nobody voted for are left out)."""
        async with self.store.read() as db:
            rows = await fetch_all(
                db, "SELECT style, COUNT(*) FROM battle_votes WHERE battle_id = ? GROUP BY style",
                (battle_id,))
        return {style: count for style, count in rows}

    async def vote(self, battle_id: int, user_id: int, style: str) -> bool:
        """Records the user's vote for `style`, replacing an earlier one; False if they had
        voted for that style already."""
        async with self.store.transaction() as db:
            row = await fetch_one(
                db, "SELECT style FROM battle_votes WHERE battle_id = ? AND user_id = ?",
                (battle_id, user_id))
            if row is not None and row[0] == style:
                return False
            await db.execute(
                "INSERT INTO battle_votes (battle_id, user_id, style) VALUES (?, ?, ?) "
                "ON CONFLICT (battle_id, user_id) DO UPDATE SET style = excluded.style",
                (battle_id, user_id, style))
        return True
