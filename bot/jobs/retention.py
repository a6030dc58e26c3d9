"""What the database keeps, and for how long (`STYLEBOT_KEEP_JOBS_DAYS`, 30 by default): the
housekeeping's pass (`bot.jobs.housekeeping`) deletes what is older, so a bot that runs for a
year holds about a month.

- Finished jobs (done, failed, cancelled) asked for more than the days ago go, after their
  counts went into their day's row of `job_days` (`bot.jobs.job_days`), so /stats' totals stay.
- Half-finished conversations untouched that long are closed (the waiting picture forgotten);
  a session row that then holds nothing but defaults goes too (a user's settings and default
  style are kept: they are a few bytes per user, and they are the user's choice).
- Closed battles (`over`) started that long ago go, with their jobs' places and their votes.
- The queue's turns of users with no job left: such a user counts as never served, as a new one.
- Sticker-pack records of those who are gone: a user is gone when nothing of theirs is left in
  the database after the above (no job, and no conversation touched within the days) and their
  pack record is older than that; a group is gone when no job of the group is left. (If they
  come back, `StickerPacks.add` adopts the pack that Telegram still has under its name.)

Everything goes in batches, each its own short transaction, so a message arriving meanwhile
waits for one batch at most, never for the whole pass: at most `BATCH` rows, fewer where a
batch took longer than `BATCH_TARGET_S` (in a big database each deleted job touches pages all
over its indexes, see benchmarks/database.py). Then the freed pages go back to the disk: a
database made by this version gives them back bit by bit (`PRAGMA incremental_vacuum`); an
older one is converted once, on the first pass that freed more than half of it (`VACUUM`,
which holds the database for as long as it takes to copy what is left: seconds for a month of
a popular bot, see benchmarks/database.py).
`/forget` deletes a user's rows at once, whatever their age (`bot.store.Store.forget_user`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.jobs.job_days import FINISHED, add_to_days
from bot.settings import Settings
from bot.store import Store, fetch_all, fetch_one

log = logging.getLogger("stylebot.retention")

BATCH = 500
"""Rows deleted per transaction, at most."""
BATCH_TARGET_S = 0.05
"""How long one batch should hold the database: the batch size follows what the last took."""
MIN_BATCH = 10
VACUUM_PAGES = 500
"""Free pages given back to the disk per step (2 MB of 4 KB pages)."""
CONVERT_WHEN_FREE = 0.5
"""An older database is converted (one VACUUM) once this share of its pages is free."""
DAY_S = 86_400.0

Step = Callable[[float, int], Awaitable[tuple[int, "int | None"]]]
"""A batch: (cutoff, where the last one ended) -> (rows deleted, where it ended; None: done)."""


@dataclass(frozen=True)
class Swept:
    """What one pass deleted (or closed, for conversations), and the pages it gave back."""

    jobs: int = 0
    conversations: int = 0
    battles: int = 0
    turns: int = 0
    sticker_packs: int = 0
    pages_freed: int = 0

    @property
    def anything(self) -> bool:
        return any((self.jobs, self.conversations, self.battles, self.turns,
                    self.sticker_packs, self.pages_freed))


class Retention:
    """Deletes what is older than `keep_days` from `store`, in short transactions."""

    def __init__(self, store: Store, keep_days: float, *, batch: int = BATCH,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.keep_days = keep_days
        self.batch = batch
        self.size = batch
        """The current batch size (`batch` at most)."""
        self._clock = clock

    async def sweep(self) -> Swept:
        """One pass over everything it keeps an eye on."""
        cutoff = self._clock() - self.keep_days * DAY_S
        jobs = await self._batches(self._delete_jobs, cutoff)
        conversations = await self._close_conversations(cutoff)
        battles = await self._batches(self._delete_battles, cutoff)
        turns = await self._batches(self._delete_turns, cutoff)
        packs = await self._delete_packs(cutoff)
        pages = await self.give_back_pages()
        return Swept(jobs, conversations, battles, turns, packs, pages)

    async def _batches(self, step: Step, cutoff: float) -> int:
        """Runs `step(cutoff, after)` until it says there is no more (`after` None); each
        step a transaction, with a pause between them for whoever waits for the database."""
        total, after = 0, 0
        while True:
            started = time.monotonic()
            deleted, next_after = await step(cutoff, after)
            self._size_batch(time.monotonic() - started)
            total += deleted
            if next_after is None:
                return total
            after = next_after
            await asyncio.sleep(0)

    def _size_batch(self, seconds: float) -> None:
        """The next batch's size: what fits in `BATCH_TARGET_S` at the last one's pace."""
        pace = self.size / max(seconds, 1e-3)
        self.size = max(min(MIN_BATCH, self.batch),
                        min(self.batch, int(pace * BATCH_TARGET_S), self.size * 2))

    async def _delete_jobs(self, cutoff: float, after: int) -> tuple[int, int | None]:
        marks = ", ".join("?" * len(FINISHED))
        async with self.store.transaction() as db:
            rows = await fetch_all(
                db,
                # INDEXED BY: along the status index SQLite would read every finished job.
                f"SELECT id FROM jobs INDEXED BY jobs_by_created WHERE created_at < ? "
                f"AND status IN ({marks}) ORDER BY created_at LIMIT ?",
                (cutoff, *FINISHED, self.size),
            )
            ids = [row[0] for row in rows]
            if not ids:
                return 0, None
            await add_to_days(db, ids)
            id_marks = ", ".join("?" * len(ids))
            await db.execute(f"DELETE FROM jobs WHERE id IN ({id_marks})", ids)
        return len(ids), 0 if len(ids) == self.size else None

    async def _delete_battles(self, cutoff: float, after: int) -> tuple[int, int | None]:
        async with self.store.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM battles WHERE id IN (SELECT id FROM battles "
                "WHERE state = 'over' AND created_at < ? ORDER BY id LIMIT ?)",
                (cutoff, self.size),
            )
        return cursor.rowcount, 0 if cursor.rowcount == self.size else None

    async def _delete_turns(self, cutoff: float, after: int) -> tuple[int, int | None]:
        """Walks the turns in `batch`-sized slices of user ids (`after`: the last one seen)."""
        async with self.store.transaction() as db:
            row = await fetch_one(
                db, "SELECT MAX(user_id) FROM (SELECT user_id FROM turns WHERE user_id > ? "
                    "ORDER BY user_id LIMIT ?)", (after, self.size))
            last = row[0] if row is not None else None
            if last is None:
                return 0, None
            cursor = await db.execute(
                "DELETE FROM turns WHERE user_id > ? AND user_id <= ? AND NOT EXISTS "
                "(SELECT 1 FROM jobs WHERE jobs.user_id = turns.user_id)", (after, last))
        return cursor.rowcount, last

    async def _close_conversations(self, cutoff: float) -> int:
        async with self.store.transaction() as db:
            closed = await db.execute(
                """
                UPDATE sessions SET pending = NULL, content_file_id = NULL,
                    content_message_id = NULL, file_ids_at = NULL, content_media = 'photo',
                    content_frames = 1
                WHERE updated_at < ? AND (pending IS NOT NULL OR content_file_id IS NOT NULL)
                """,
                (cutoff,),
            )
            await db.execute(
                "DELETE FROM sessions WHERE updated_at < ? AND pending IS NULL "
                "AND content_file_id IS NULL AND default_preset IS NULL "
                "AND settings IN ('{}', ?)",
                (cutoff, Settings().to_json()),
            )
        return closed.rowcount

    async def _delete_packs(self, cutoff: float) -> int:
        async with self.store.transaction() as db:
            cursor = await db.execute(
                """
                DELETE FROM sticker_packs WHERE created_at < :cutoff AND CASE
                    WHEN chat_id IS NULL THEN
                        NOT EXISTS (SELECT 1 FROM jobs WHERE user_id = owner_id)
                        AND NOT EXISTS (SELECT 1 FROM sessions
                                        WHERE user_id = owner_id AND updated_at >= :cutoff)
                    ELSE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.chat_id = sticker_packs.chat_id)
                    END
                """,
                {"cutoff": cutoff},
            )
        return cursor.rowcount

    async def give_back_pages(self) -> int:
        """Returns free pages to the disk: `VACUUM_PAGES` at a time where the database is in
        incremental auto-vacuum mode, else converts it once it is mostly free space."""
        freed = 0
        while True:
            async with self.store.read() as db:
                mode = (await fetch_one(db, "PRAGMA auto_vacuum"))[0]
                free = (await fetch_one(db, "PRAGMA freelist_count"))[0]
                pages = (await fetch_one(db, "PRAGMA page_count"))[0]
                if free == 0:
                    if freed:
                        await fetch_all(db, "PRAGMA wal_checkpoint(PASSIVE)")
                    return freed
                if mode != 2:  # NONE (0) or FULL (1): made before the retention existed
                    if free < CONVERT_WHEN_FREE * pages:
                        return freed
                    return freed + await _convert(db, free, pages)
                # executescript steps the pragma to its end; execute() would free one page.
                await db.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")
                freed += free - (await fetch_one(db, "PRAGMA freelist_count"))[0]
            await asyncio.sleep(0)


async def _convert(db, free: int, pages: int) -> int:
    """Once: incremental auto-vacuum, which takes a VACUUM (the caller holds the lock)."""
    started = time.monotonic()
    await db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    await db.execute("VACUUM")
    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    log.info("database compacted once for the retention: %d of %d pages were free; "
             "%.1f s", free, pages, time.monotonic() - started)
    return free
