"""Waits on the condition that proves a test's claim (never a fixed sleep), and reads of the
bot's SQLite database that say what the bot decided: which jobs it stored, with what settings
and inputs, and how each one ended."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_S = 60.0


async def until(condition: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT_S,
                what: str = "condition") -> None:
    """Returns once `condition()` is true; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met in {timeout:.0f} s"
        await asyncio.sleep(0.02)


def until_blocking(condition: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT_S,
                   what: str = "condition") -> None:
    """`until` for code without an event loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met in {timeout:.0f} s"
        time.sleep(0.02)


@dataclass(frozen=True)
class JobRow:
    """One row of the bot's `jobs` table, as a test reads it."""

    id: int
    chat_id: int
    user_id: int
    status: str
    attempts: int
    error: str | None
    content_file_id: str
    style_file_id: str | None
    preset: str | None
    settings: dict[str, Any]
    reply_to_message_id: int | None
    delivered_message_id: int | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")


def job_rows(db: Path) -> list[JobRow]:
    """Every job the bot stored, oldest first."""
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(
            "SELECT id, chat_id, user_id, status, attempts, error, content_file_id, "
            "style_file_id, preset, settings, reply_to_message_id, delivered_message_id "
            "FROM jobs ORDER BY id").fetchall()
    return [JobRow(**{**dict(row), "settings": json.loads(row["settings"])}) for row in rows]


def all_finished(db: Path) -> Callable[[], bool]:
    """For `until`: every stored job is done, failed or cancelled."""
    return lambda: all(job.finished for job in job_rows(db))


def biggest_file_id(message: dict) -> str:
    """The file id of a photo message's biggest size: what the bot takes from it."""
    return message["photo"][-1]["file_id"]
