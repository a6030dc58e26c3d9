"""The bot's SQLite database: the connection (migrated at open, with the schema in
`bot.schema`), per-(chat, user) conversation sessions and the users' and chats' languages.

One `aiosqlite` connection serves the whole bot (the sessions here and the job queue in
`bot.jobs.queue`); an asyncio lock around it keeps one coroutine's transaction from swallowing
another's statements, since a SQLite transaction belongs to the connection, not the coroutine.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from bot.schema import MIGRATIONS, statements
from bot.settings import ContentKind, Media, Settings

log = logging.getLogger("stylebot.store")

BUSY_TIMEOUT_MS = 10_000


WAL_SIZE_LIMIT = 16 * 2**20
"""Bytes the write-ahead log is cut back to after a checkpoint (a big delete or the one-off
VACUUM of `bot.jobs.retention` would otherwise leave it at its largest)."""


CACHE_KIB = 16 * 1024
"""SQLite's page cache for the bot's connection, at most."""


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of the bot than this one."""


class DatabaseFull(sqlite3.OperationalError):
    """A write found no room: the disk (or the database's size limit) is full. The transaction
    was rolled back; the same write can succeed once there is room again."""


def is_full(error: BaseException) -> bool:
    """Whether `error` is SQLite's "database or disk is full" (`SQLITE_FULL`)."""
    return isinstance(error, sqlite3.Error) and (
        getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or "database or disk is full" in str(error))


AWAIT_STYLE = "await_style"
"""The conversation's one half-finished state (`Session.pending`; None: nothing half-finished):
a content picture arrived and waits for a style photo or a preset."""


@dataclass(frozen=True)
class WaitingContent:
    """A content picture that was waiting for its style."""

    file_id: str
    kind: ContentKind


@dataclass
class Session:
    """Where one user stands in one chat: `pending` is None or `AWAIT_STYLE`."""

    chat_id: int
    user_id: int
    pending: str | None = None
    content_file_id: str | None = None
    content_message_id: int | None = None
    default_preset: str | None = None
    settings: Settings = field(default_factory=Settings)
    content_media: Media = "photo"
    content_frames: int = 1
    """What the waiting content is (a photo, a clip, a video note) and its frames at most."""
    content_kind: ContentKind = "photo"
    """What the user would call the waiting content (a GIF, a sticker...)."""

    @property
    def waiting_for_style(self) -> bool:
        """A content picture waits for its style."""
        return self.pending == AWAIT_STYLE and bool(self.content_file_id)

    @property
    def waiting(self) -> WaitingContent | None:
        """The content picture waiting for its style, if one is."""
        if not self.waiting_for_style or self.content_file_id is None:
            return None
        return WaitingContent(self.content_file_id, self.content_kind)

    def await_style(self, file_id: str, message_id: int, media: Media, frames: int,
                    kind: ContentKind) -> None:
        """A content picture (the message `message_id`) now waits for its style."""
        self.pending = AWAIT_STYLE
        self.content_file_id = file_id
        self.content_message_id = message_id
        self.content_media = media
        self.content_frames = frames
        self.content_kind = kind


class Store:
    """The database connection, migrated at open. `db` is shared with
    `bot.jobs.queue.SqliteJobQueue`; everything that touches it goes through `transaction()` or
    `read()`."""

    def __init__(self, db: aiosqlite.Connection, path: Path):
        self.db = db
        self.path = path
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Opens (creating folders and file as needed) and migrates the database."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A file that cannot be opened fails here, synchronously: inside aiosqlite's thread
        # the failure may be reported after the event loop has closed, as a stray traceback.
        sqlite3.connect(path).close()
        # isolation_level=None: no implicit transactions; we say BEGIN and COMMIT ourselves.
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Only a database without tables takes it: a new one gives the pages the retention
            # frees back to the disk bit by bit (older ones are converted once, by the
            # retention's first pass).
            await db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
            # The indexes the queue walks on every message stay in memory (SQLite's default
            # is 2 MB; this is a ceiling, filled only as pages are read).
            await db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            # FULL: a job the user was told is queued survives a power cut, not only a crash.
            await db.execute("PRAGMA synchronous = FULL")
            await db.execute("PRAGMA foreign_keys = ON")
            store = cls(db, path)
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        async with self.lock:
            await self.db.close()

    async def schema_version(self) -> int:
        async with self.read() as db:
            return await _user_version(db)

    async def _migrate(self) -> None:
        async with self.transaction() as db:
            # Read inside the (IMMEDIATE) transaction: two processes opening at once can't
            # both apply the same migration.
            version = await _user_version(db)
            if version > len(MIGRATIONS):
                raise SchemaTooNew(
                    f"its schema version {version} is newer than this code knows "
                    f"({len(MIGRATIONS)}); upgrade the bot instead of downgrading the database"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements(script):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")
                log.info("database %s migrated to schema version %d", self.path, number)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any exception), holding the connection lock.
        A write that finds the disk full raises `DatabaseFull`, with nothing of the transaction
        kept."""
        async with self.lock:
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                except BaseException:
                    await self._roll_back()
                    raise
                try:
                    await self.db.execute("COMMIT")
                except BaseException:
                    await self._roll_back()
                    raise
            except sqlite3.Error as exc:
                if is_full(exc) and not isinstance(exc, DatabaseFull):
                    raise DatabaseFull(str(exc)) from exc
                raise

    async def _roll_back(self) -> None:
        """ROLLBACK, unless SQLite ended the transaction itself (it may, on a full disk)."""
        if self.db.in_transaction:
            await self.db.execute("ROLLBACK")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for reads, never in the middle of someone else's transaction."""
        async with self.lock:
            yield self.db

    # ------------------------------------------------------------------ sessions

    async def get_session(self, chat_id: int, user_id: int) -> Session:
        """The stored session, or a fresh default one (not stored until saved)."""
        async with self.read() as db:
            cursor = await db.execute(
                "SELECT * FROM sessions WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
            )
            row = await cursor.fetchone()
        if row is None:
            return Session(chat_id=chat_id, user_id=user_id)
        return Session(
            chat_id=row["chat_id"],
            user_id=row["user_id"],
            pending=row["pending"],
            content_file_id=row["content_file_id"],
            content_message_id=row["content_message_id"],
            default_preset=row["default_preset"],
            settings=Settings.from_json(row["settings"]),
            content_media=row["content_media"],
            content_frames=row["content_frames"],
            content_kind=row["content_kind"],
        )

    async def save_session(self, session: Session) -> None:
        """Inserts or replaces the session. `file_ids_at` (for expiry) restarts only when the
        stored content file id changes."""
        now = time.time()
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT INTO sessions (chat_id, user_id, pending, content_file_id,
                    content_message_id, file_ids_at, default_preset, settings, updated_at,
                    content_media, content_frames, content_kind)
                VALUES (:chat_id, :user_id, :pending, :content_file_id, :content_message_id,
                    CASE WHEN :content_file_id IS NULL THEN NULL ELSE :now END,
                    :default_preset, :settings, :now, :content_media, :content_frames,
                    :content_kind)
                ON CONFLICT (chat_id, user_id) DO UPDATE SET
                    pending = excluded.pending,
                    file_ids_at = CASE
                        WHEN excluded.content_file_id IS NULL THEN NULL
                        WHEN excluded.content_file_id IS sessions.content_file_id
                            THEN sessions.file_ids_at
                        ELSE excluded.file_ids_at END,
                    content_file_id = excluded.content_file_id,
                    content_message_id = excluded.content_message_id,
                    default_preset = excluded.default_preset,
                    settings = excluded.settings,
                    updated_at = excluded.updated_at,
                    content_media = excluded.content_media,
                    content_frames = excluded.content_frames,
                    content_kind = excluded.content_kind
                """,
                {
                    "chat_id": session.chat_id,
                    "user_id": session.user_id,
                    "pending": session.pending,
                    "content_file_id": session.content_file_id,
                    "content_message_id": session.content_message_id,
                    "default_preset": session.default_preset,
                    "settings": session.settings.to_json(),
                    "now": now,
                    "content_media": session.content_media,
                    "content_frames": session.content_frames,
                    "content_kind": session.content_kind,
                },
            )

    async def clear_pending(self, chat_id: int, user_id: int) -> WaitingContent | None:
        """Forgets a half-finished conversation (the content picture) but keeps settings and
        the default preset. Returns the content that was waiting, if any (its download is the
        caller's to delete)."""
        async with self.transaction() as db:
            row = await fetch_one(
                db,
                "SELECT content_file_id, content_kind FROM sessions "
                "WHERE chat_id = ? AND user_id = ? AND pending IS NOT NULL",
                (chat_id, user_id),
            )
            await db.execute(
                """
                UPDATE sessions SET pending = NULL, content_file_id = NULL,
                    content_message_id = NULL, file_ids_at = NULL, updated_at = ?,
                    content_media = 'photo', content_frames = 1, content_kind = 'photo'
                WHERE chat_id = ? AND user_id = ?
                """,
                (time.time(), chat_id, user_id),
            )
        if row is None or not row["content_file_id"]:
            return None
        return WaitingContent(row["content_file_id"], row["content_kind"])

    async def forget_user(self, user_id: int) -> dict[str, int]:
        """Deletes everything stored about a user, in every chat: sessions, jobs (whatever
        their state), queue bookkeeping, pictures being received and their language choice.
        Returns how many sessions and jobs went. (Their votes and the battles they started go
        too.)

        Files on disk (downloads, results) are the caller's: read the user's jobs first if
        their `result_path`s need deleting."""
        async with self.transaction() as db:
            sessions = await db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            jobs = await db.execute("DELETE FROM jobs WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM turns WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM inbox WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM battle_votes WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM battles WHERE caller_id = ?", (user_id,))
            await db.execute("DELETE FROM user_languages WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM sticker_packs WHERE owner_id = ?", (user_id,))
            await db.execute("DELETE FROM shared_paintings WHERE user_id = ?", (user_id,))
            return {"sessions": sessions.rowcount, "jobs": jobs.rowcount}

    # ------------------------------------------------------------------ languages

    async def languages(self, chat_id: int, user_id: int) -> tuple[str | None, str | None]:
        """(the chat's language, the user's language), each None where none was chosen."""
        async with self.read() as db:
            cursor = await db.execute(
                "SELECT (SELECT language FROM chat_languages WHERE chat_id = ?), "
                "(SELECT language FROM user_languages WHERE user_id = ?)",
                (chat_id, user_id),
            )
            row = await cursor.fetchone()
        return row[0], row[1]

    async def set_user_language(self, user_id: int, language: str | None) -> None:
        """The user's choice everywhere (None: back to their Telegram app's language)."""
        await self._set_language("user_languages", "user_id", user_id, language)

    async def set_chat_language(self, chat_id: int, language: str | None) -> None:
        """A group's language for everyone in it (None: each member's own again)."""
        await self._set_language("chat_languages", "chat_id", chat_id, language)

    async def _set_language(self, table: str, key: str, value: int,
                            language: str | None) -> None:
        async with self.transaction() as db:
            if language is None:
                await db.execute(f"DELETE FROM {table} WHERE {key} = ?", (value,))
                return
            await db.execute(
                f"INSERT INTO {table} ({key}, language, updated_at) VALUES (?, ?, ?) "
                f"ON CONFLICT ({key}) DO UPDATE SET language = excluded.language, "
                "updated_at = excluded.updated_at",
                (value, language, time.time()),
            )

    async def expire_file_ids(self, older_than_days: float) -> int:
        """Clears Telegram file ids stored longer than `older_than_days`: in sessions (the
        half-finished conversation goes with its photo), in finished jobs and the paintings
        to share. Returns the number of rows changed."""
        cutoff = time.time() - older_than_days * 86_400
        async with self.transaction() as db:
            sessions = await db.execute(
                """
                UPDATE sessions SET content_file_id = NULL, content_message_id = NULL,
                    file_ids_at = NULL, pending = NULL
                WHERE content_file_id IS NOT NULL AND file_ids_at < ?
                """,
                (cutoff,),
            )
            # Queued and running jobs still need theirs; the column is NOT NULL, hence ''.
            # INDEXED BY: the jobs that still have file ids (a week's), not the whole history.
            jobs = await db.execute(
                """
                UPDATE jobs INDEXED BY jobs_with_file_ids
                SET content_file_id = '', style_file_id = NULL
                WHERE status IN ('done', 'failed', 'cancelled') AND created_at < ?
                    AND (content_file_id != '' OR style_file_id IS NOT NULL)
                """,
                (cutoff,),
            )
            shared = await db.execute("DELETE FROM shared_paintings WHERE created_at < ?",
                                      (cutoff,))
            return sessions.rowcount + jobs.rowcount + shared.rowcount


async def _user_version(db: aiosqlite.Connection) -> int:
    cursor = await db.execute("PRAGMA user_version")
    row = await cursor.fetchone()
    return int(row[0])


async def fetch_all(db: aiosqlite.Connection, sql: str,
                    params: Iterable[Any] | Mapping[str, Any] = ()) -> list:
    """All the rows `sql` gives (`params`: positional, or named in a mapping)."""
    cursor = await db.execute(sql, _parameters(params))
    return list(await cursor.fetchall())


async def fetch_one(db: aiosqlite.Connection, sql: str,
                    params: Iterable[Any] | Mapping[str, Any] = ()) -> aiosqlite.Row | None:
    """The first row `sql` gives, or None."""
    cursor = await db.execute(sql, _parameters(params))
    return await cursor.fetchone()


def _parameters(params: Iterable[Any] | Mapping[str, Any]) -> tuple[Any, ...] | Mapping[str, Any]:
    return params if isinstance(params, Mapping) else tuple(params)
