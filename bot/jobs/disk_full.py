"""When the disk fills: telling a full disk from other failures, and writing the job queue's
records once there is room again.

A full disk shows as an `OSError` with `ENOSPC` (no space), `EDQUOT` (over quota) or `EFBIG`
(over the process' file-size limit, `RLIMIT_FSIZE`, which is how the tests fill a disk without
root), from the work folder, or as SQLite's `SQLITE_FULL` (`bot.store.DatabaseFull`) from the
database. What the bot does about it:

- a picture arriving: the sender hears "try again later" (`bot.telegram.handlers.update_errors`);
- a job whose download, preset or result found no room: retried after a pause, then failed
  with the same words (`bot.jobs.outcomes`);
- a job's record (its result computed, its delivery) that found the database full: written
  again every few seconds until it goes in (`write_when_room`). The runner holds on to the job
  meanwhile, so a picture Telegram accepted is not sent again for want of its record; the
  queue has nothing else to do while nothing can be written anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.jobs.work import out_of_room
from bot.store import DatabaseFull, is_full

log = logging.getLogger("stylebot.runner")

FIRST_WAIT_S = 1.0
LONGEST_WAIT_S = 30.0

T = TypeVar("T")


def disk_full(error: BaseException | None) -> bool:
    """Whether `error` (or what it was raised from) says the disk is full."""
    if out_of_room(error):
        return True
    while error is not None:
        if isinstance(error, DatabaseFull) or is_full(error):
            return True
        error = error.__cause__ or error.__context__
    return False


async def write_when_room(write: Callable[[], Awaitable[T]], what: str) -> T:
    """`write()`, repeated 1, 2, 4 ... 30 s apart for as long as the database is full."""
    wait = FIRST_WAIT_S
    while True:
        try:
            return await write()
        except DatabaseFull as exc:
            if wait == FIRST_WAIT_S:
                log.warning("the database is full; recording %s again until there is room "
                            "(%s)", what, exc)
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT_S)
