"""Copies of the live database, made while the bot runs (`stylebot backup PATH`, and the daily
copies housekeeping keeps in `STYLEBOT_BACKUP_DIR`), and putting one back (`stylebot restore`).

A copy is SQLite's online backup (`sqlite3.Connection.backup`) in one step: one read
transaction, so the copy is the database as it was at one moment, while the bot goes on
writing (in WAL mode a reader holds no writer up). It is written beside its final name,
checked with `PRAGMA integrity_check`, made a single self-contained file (rollback journal,
no `-wal` beside it), synced to disk and only then given its name, which must be new: nothing
that exists is ever overwritten. Whatever goes wrong (no room, no permission, a path that is a
folder) raises `BackupError`, whose message is one line, and leaves no partial file; the live
database is only ever read.

A restore goes back to the copy's moment. It refuses while a bot has the database open,
checks the copy, moves the database that was there aside (with its `-wal` and `-shm`: an old
write-ahead log must never meet the copy) and puts the copy in its place. At the next start the
queue's recovery runs what was waiting or running in the copy, each job once
(`SqliteJobQueue.recover`, `pending_delivery`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

DAILY_NAME = re.compile(r"^stylebot-(\d{4}-\d{2}-\d{2})\.db$")
"""The daily copies' names in `STYLEBOT_BACKUP_DIR`; other files there are never touched."""
BUSY_TIMEOUT_MS = 10_000


class BackupError(Exception):
    """A copy could not be made or put back; the message is one line for the operator."""


@dataclass(frozen=True)
class Copy:
    """A checked copy: where, how big, its schema version and jobs, how long it took."""

    path: Path
    size: int
    schema: int
    jobs: int
    seconds: float

    def line(self, source: Path) -> str:
        return (f"copied {source} to {self.path}: {self.size / 1e6:.1f} MB, schema "
                f"{self.schema}, {self.jobs} jobs, integrity ok, {self.seconds:.1f} s")


def backup(source: Path, target: Path) -> Copy:
    """Writes a checked copy of the live database `source` to the new file `target`."""
    started = time.monotonic()
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (STYLEBOT_DB)")
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the copy a file name")
    if target.exists() or target.is_symlink():
        raise BackupError(f"{target} exists already; give the copy a new name")
    folder = target.absolute().parent
    if not folder.is_dir():
        raise BackupError(f"the folder {folder} does not exist")
    needed, free = _size_of(source), shutil.disk_usage(folder).free
    if needed > free:
        raise BackupError(f"no room for the copy in {folder}: it needs about "
                          f"{needed / 1e6:.0f} MB, {free / 1e6:.0f} MB are free")
    partial = folder / f".{target.name}.partial-{os.getpid()}"
    try:
        _copy(source, partial)
        schema, jobs = _check(partial)
        _sync(partial)
        os.link(partial, target)  # never replaces a file that appeared meanwhile
        _sync(folder)
    except sqlite3.Error as exc:
        raise BackupError(_reason(exc, folder)) from exc
    except FileExistsError as exc:
        raise BackupError(f"{target} exists already; give the copy a new name") from exc
    except OSError as exc:
        raise BackupError(f"cannot write the copy in {folder}: {exc.strerror}") from exc
    finally:
        for leftover in (partial, Path(f"{partial}-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return Copy(target, target.stat().st_size, schema, jobs, time.monotonic() - started)


def _copy(source: Path, partial: Path) -> None:
    # mode=rw: a missing database is an error here, never created.
    live = sqlite3.connect(f"{source.absolute().as_uri()}?mode=rw", uri=True)
    try:
        live.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        copy = sqlite3.connect(partial)
        try:
            live.backup(copy)  # all pages in one step: one consistent snapshot
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
    finally:
        live.close()


def _size_of(database: Path) -> int:
    """Bytes of the database with its write-ahead log: at most what the copy takes."""
    wal = Path(f"{database}-wal")
    return database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _check(path: Path) -> tuple[int, int]:
    """(schema version, jobs) of a copy whose `PRAGMA integrity_check` says ok."""
    copy = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"the copy failed its integrity check: {problems[0]}")
        schema = copy.execute("PRAGMA user_version").fetchone()[0]
        has_jobs = copy.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone()
        jobs = copy.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] if has_jobs else 0
    finally:
        copy.close()
    return int(schema), int(jobs)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(exc: sqlite3.Error, folder: Path) -> str:
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or "full" in str(exc):
        return f"no room for the copy in {folder}: {exc}"
    if code is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
        return f"writing the copy in {folder} failed: {exc} (is the disk full?)"
    if code == sqlite3.SQLITE_CANTOPEN:
        return f"cannot write the copy in {folder}: {exc}"
    return f"the copy failed: {exc}"


# ---------------------------------------------------------------------- daily copies


def daily(source: Path, folder: Path, keep: int, today: dt.date) -> Copy | None:
    """Today's copy in `folder` (None if it was made already), then only the newest `keep`
    daily copies stay there."""
    made = None
    target = Path(folder) / f"stylebot-{today.isoformat()}.db"
    if not target.exists():
        made = backup(source, target)
    dailies = sorted(path for path in Path(folder).iterdir() if DAILY_NAME.match(path.name))
    for old in dailies[:max(len(dailies) - keep, 0)]:
        old.unlink(missing_ok=True)
    return made


# ---------------------------------------------------------------------- restore


def restore(copy: Path, live: Path) -> Path | None:
    """Puts the checked `copy` in place of the database `live` (stopped); returns where the
    database that was there went (None if there was none)."""
    copy, live = Path(copy), Path(live)
    if not copy.is_file():
        raise BackupError(f"there is no copy at {copy}")
    try:
        _check(copy)
    except sqlite3.Error as exc:
        raise BackupError(f"{copy} is not a usable copy: {exc}") from exc
    aside = None
    if live.exists():
        _refuse_if_open(live)
        aside = live.with_name(f"{live.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
    partial = live.with_name(f".{live.name}.restoring-{os.getpid()}")
    try:
        shutil.copyfile(copy, partial)
        _sync(partial)
        if aside is not None:
            for suffix in ("", "-wal", "-shm"):
                old = Path(f"{live}{suffix}")
                if old.exists():
                    old.rename(Path(f"{aside}{suffix}"))
        partial.rename(live)
        _sync(live.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise BackupError(f"cannot put the copy in place of {live}: {exc.strerror}") from exc
    return aside


def _refuse_if_open(live: Path) -> None:
    """Leaving WAL mode takes the database to itself: it fails while a bot has it open."""
    try:
        connection = sqlite3.connect(live, timeout=0)
        try:
            connection.execute("PRAGMA journal_mode = DELETE").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(f"{live} is in use: stop the bot first") from exc
        # Not a database any more (the reason to restore, perhaps): it is moved aside.
