"""The tests' databases: a store open for the length of a block, and databases as an older
bot left them (for the migration tests)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from bot.schema import MIGRATIONS, statements
from bot.store import Store


@contextlib.asynccontextmanager
async def opened(path: Path) -> AsyncIterator[Store]:
    """`Store.open(path)` for the block, closed on leaving it whatever happens."""
    store = await Store.open(path)
    try:
        yield store
    finally:
        await store.close()


async def database_at_schema(path: Path, version: int, *rows: str) -> Path:
    """A SQLite file with the first `version` migrations applied (and marked so), plus the
    INSERT statements `rows`: what a bot of that schema would have left on disk."""
    async with aiosqlite.connect(path) as db:
        for script in MIGRATIONS[:version]:
            for statement in statements(script):
                await db.execute(statement)
        await db.execute(f"PRAGMA user_version = {version}")
        for row in rows:
            await db.execute(row)
        await db.commit()
    return path
