"""What the primary runner does every `HOUSEKEEPING_EVERY_S` (at start-up first): forgets old
Telegram file ids (`STYLEBOT_FILE_TTL_DAYS`), removes abandoned files from the work folder,
deletes what is older than `STYLEBOT_KEEP_JOBS_DAYS` (`bot.jobs.retention`) and, with
`STYLEBOT_BACKUP_DIR`, makes the day's copy of the database and keeps the newest
`STYLEBOT_BACKUP_KEEP` (`bot.backup`). Each part fails on its own: a full backup disk does not
stop the retention, and the next round tries again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.backup import BackupError, daily
from bot.config import Config
from bot.jobs.model import JobQueue
from bot.jobs.retention import Retention
from bot.jobs.work_area import WorkArea
from bot.store import Store

log = logging.getLogger("stylebot.housekeeping")

WORK_FILE_MAX_AGE_S = 86_400.0
"""Files in the work folder older than this (and not waiting for delivery) are abandoned."""


class Housekeeping:
    def __init__(self, store: Store, queue: JobQueue, work: WorkArea, config: Config,
                 today: Callable[[], dt.date] = dt.date.today) -> None:
        self.store = store
        self.queue = queue
        self.work = work
        self.config = config
        self.retention = Retention(store, config.keep_jobs_days)
        self._today = today

    async def run(self) -> None:
        """One round: each part logs its own failure and the others go on."""
        for name, part in (("file ids", self._expire), ("work folder", self._sweep),
                           ("retention", self._retain), ("backup", self._backup)):
            await _logged(name, part)

    async def _expire(self) -> None:
        expired = await self.store.expire_file_ids(self.config.file_ttl_days)
        if expired:
            log.info("housekeeping: %d file ids expired", expired)

    async def _sweep(self) -> None:
        keep = {Path(job.result_path) for job in await self.queue.pending_delivery()
                if job.result_path}
        removed = await asyncio.to_thread(self.work.sweep, WORK_FILE_MAX_AGE_S, keep)
        if removed:
            log.info("housekeeping: %d abandoned files removed", removed)

    async def _retain(self) -> None:
        swept = await self.retention.sweep()
        if swept.anything:
            log.info("housekeeping: older than %d days deleted: %d jobs, %d battles, %d turns, "
                     "%d sticker-pack records; %d conversations closed; %d pages freed",
                     self.config.keep_jobs_days, swept.jobs, swept.battles, swept.turns,
                     swept.sticker_packs, swept.conversations, swept.pages_freed)

    async def _backup(self) -> None:
        folder = self.config.backup_dir
        if folder is None:
            return
        try:
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            copy = await asyncio.to_thread(daily, self.config.db_path, folder,
                                           self.config.backup_keep, self._today())
        except (BackupError, OSError) as exc:
            log.error("daily backup in %s (STYLEBOT_BACKUP_DIR) failed: %s", folder, exc)
            return
        if copy is not None:
            log.info("daily backup: %s", copy.line(self.config.db_path))


async def _logged(name: str, part: Callable[[], Awaitable[None]]) -> None:
    try:
        await part()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("housekeeping (%s) failed", name)
