"""The database at scale (a script, not a test): a year of a popular bot, and what the bot asks
of it on every message and every job.

It fills a fresh database with a year of history (by default one million finished jobs of
50,000 users, 10,000 waiting; rows made with executemany inside one transaction), then times,
through the bot's own `SqliteJobQueue` on its own `Store` (aiosqlite, as in production):

- enqueue (a new request), claim (the next job in the fair order), a user's place in the
  queue (`position`, what the "Queued" answer says), and /stats (since midnight), each
  `--samples` times, at the median, 95th percentile and worst (ms);
- the retention pass (`STYLEBOT_KEEP_JOBS_DAYS=30`) over that year: how long in all, how many
  batches and how long each held the database (median, p95, longest), and how long the one
  VACUUM takes that converts a database made before the retention, once it is emptied;
- the same operations again after it, and the database file before and after, beside the
  file of a bot that ran for 30 days only (the same traffic);
- what answering a user's photo costs (enqueue, then the place in the queue) before and while
  `stylebot backup` copies that year (the command, in another process).

    .venv/bin/python benchmarks/database.py                    # the full year: a few minutes
    .venv/bin/python benchmarks/database.py --jobs 100000 --users 5000 --waiting 1000
    .venv/bin/python benchmarks/database.py --json benchmarks/results/database.json

Run from an older checkout (`PYTHONPATH=/path/to/old/tree`), it measures that code's queue on
the same data (its schema; the retention part is skipped where the code has none).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path and not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(REPO))

from bot.jobs.model import JobRequest  # noqa: E402
from bot.jobs.queue import SqliteJobQueue  # noqa: E402
from bot.settings import JobSettings, Settings  # noqa: E402
from bot.store import Store  # noqa: E402

try:
    from bot.backup import backup
    from bot.jobs.retention import Retention
except ImportError:  # code from before the retention and the backups
    backup = Retention = None  # type: ignore[assignment,misc]

DAY_S = 86_400.0
SETTINGS = JobSettings.of(Settings()).to_json()
TARGETS_MS = {"enqueue": 5.0, "claim": 5.0, "position": 10.0, "stats": 100.0}


async def fill(store: Store, args: argparse.Namespace, days: float, now: float,
               rng: random.Random) -> None:
    """`days` of history at the year's rate (`args.jobs` a year), the users, their sessions,
    turns and some sticker packs and battles, and `args.waiting` jobs waiting now."""
    finished = int(args.jobs * days / 365)
    users = args.users
    async with store.transaction() as db:
        rows = []
        for index in range(finished):
            created = now - days * DAY_S + (index + rng.random()) * days * DAY_S / finished
            user = rng.randrange(users)
            roll = rng.random()
            status = "done" if roll < 0.9 else "failed" if roll < 0.96 else "cancelled"
            media = "clip" if rng.random() < 0.05 else "photo"
            seconds = rng.uniform(5, 40) * (8 if media == "clip" else 1)
            old = created < now - 7 * DAY_S  # file ids expired after 7 days
            rows.append((
                user, user, "private", None if old else f"AgAD{index:020d}", None,
                rng.choice(("mosaic", "starry_night", "wave", None)), SETTINGS, status,
                1 if rng.random() > 0.03 else 2, created, created + 1,
                created + 1 + seconds if status == "done" else None,
                created + 2 + seconds, "worker crashed: exit 137" if status == "failed" else None,
                1000 + index if status == "done" else None, "en", media,
                90 if media == "clip" else 1))
            if len(rows) == 50_000:
                await _insert_jobs(db, rows)
                rows.clear()
        await _insert_jobs(db, rows)
        waiting_users = max(args.waiting // 3, 1)
        rows = []
        for index in range(args.waiting):
            user = users + index % waiting_users  # three each, as the per-user limit allows
            created = now - 3600 + index * 3600 / max(args.waiting, 1)
            rows.append((user, user, "private", f"AgADw{index:020d}", None, "mosaic",
                         SETTINGS, "queued", 0, created, None, None, None, None, None, "en",
                         "photo", 1))
        await _insert_jobs(db, rows)
        await db.executemany(
            "INSERT INTO turns (user_id, served_at) VALUES (?, ?)",
            [(user, turn + 1) for turn, user in enumerate(rng.sample(range(users), users))])
        await db.executemany(
            "INSERT INTO sessions (chat_id, user_id, settings, updated_at) VALUES (?, ?, ?, ?)",
            [(user, user, Settings().with_(strength="strong").to_json(),
              now - rng.uniform(0, 365) * DAY_S) for user in range(users)])
        await db.executemany(
            "INSERT INTO sticker_packs (name, chat_id, owner_id, title, created_at) "
            "VALUES (?, NULL, ?, 'Paintings', ?)",
            [(f"u{user}_by_bench_bot", user, now - rng.uniform(0, 365) * DAY_S)
             for user in range(0, users, 10)])


async def _insert_jobs(db: Any, rows: list[tuple]) -> None:
    await db.executemany(
        "INSERT INTO jobs (chat_id, user_id, chat_type, content_file_id, style_file_id, preset, "
        "settings, status, attempts, created_at, started_at, computed_at, finished_at, error, "
        "delivered_message_id, language, media, frames) "
        "VALUES (?, ?, ?, COALESCE(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


Timing = tuple[float, float]
"""(wall-clock ms, CPU ms of the whole process: the event loop's and SQLite's thread)."""


async def timed(samples: int, operation: Callable[[int], Awaitable[Any]]) -> list[Timing]:
    """The wall-clock and CPU milliseconds of each of `samples` calls of `operation(n)`. On
    a shared machine the wall clock includes waiting for a core; the CPU time does not (nor
    the disk's fsync at each commit, which the wall clock has)."""
    times = []
    for n in range(samples):
        started, cpu = time.perf_counter(), time.process_time()
        await operation(n)
        times.append(((time.perf_counter() - started) * 1000,
                      (time.process_time() - cpu) * 1000))
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(times: list[Timing]) -> dict[str, float]:
    wall = [t[0] for t in times]
    cpu = [t[1] for t in times]
    return {"median_ms": round(statistics.median(wall), 2),
            "p95_ms": round(percentile(wall, 0.95), 2), "max_ms": round(max(wall), 2),
            "cpu_p95_ms": round(percentile(cpu, 0.95), 2)}


async def operations(store: Store, args: argparse.Namespace, now: float,
                     rng: random.Random) -> dict[str, dict[str, float]]:
    """The per-message and per-job operations, each `args.samples` times."""
    queue = SqliteJobQueue(store, max_queued_per_user=3, max_queue=10**9, clock=lambda: now)
    newcomer = 10**7 + rng.randrange(10**6)

    async def enqueue(n: int) -> None:
        await queue.enqueue(JobRequest(
            chat_id=newcomer + n, user_id=newcomer + n, chat_type="private",
            reply_to_message_id=n, content_file_id=f"AgADnew{n}", style_file_id=None,
            preset="mosaic", settings=JobSettings.of(Settings())))

    claimed = []

    async def claim(n: int) -> None:
        job = await queue.claim()
        assert job is not None
        claimed.append(job)

    async with store.read() as db:
        cursor = await db.execute("SELECT id FROM jobs WHERE status = 'queued'")
        waiting = [row[0] for row in await cursor.fetchall()]
    midnight = dt.datetime.combine(dt.date.fromtimestamp(now), dt.time()).timestamp()
    results = {"enqueue": summary(await timed(args.samples, enqueue))}
    claims = []
    for _ in range(args.samples):  # a job is claimed, then finished (not timed), as it runs
        claims += await timed(1, claim)
        job = claimed.pop()
        await queue.complete(job.id, f"/work/results/job-{job.id}.png", seconds=12.0)
        await queue.mark_delivered(job.id, 10**6 + job.id)
    results["claim"] = summary(claims)
    picks = [rng.choice(waiting) for _ in range(args.samples)]
    results["position"] = summary(await timed(args.samples,
                                              lambda n: queue.position(picks[n])))
    results["stats"] = summary(await timed(args.samples, lambda n: queue.stats(midnight)))
    return results


async def answers(store: Store, now: float, until: Callable[[], bool], least: int
                  ) -> list[Timing]:
    """What a user's photo costs the database before they hear "Queued": the job stored and
    its place read (enqueue + position), again and again until `until()` and `least` times."""
    queue = SqliteJobQueue(store, max_queued_per_user=3, max_queue=10**9, clock=lambda: now)
    timings: list[Timing] = []
    while len(timings) < least or not until():
        user = 2 * 10**7 + len(timings) + int(now) % 10**6

        async def answer(n: int, user: int = user) -> None:
            job = await queue.enqueue(JobRequest(
                chat_id=user, user_id=user, chat_type="private", reply_to_message_id=n,
                content_file_id=f"AgADb{n}", style_file_id=None, preset="mosaic",
                settings=JobSettings.of(Settings())))
            await queue.position(job.id)

        timings += await timed(1, answer)
    return timings


async def during_backup(store: Store, live: Path, now: float) -> dict[str, Any]:
    """The answers' times without, then during `stylebot backup` of the live database, run as
    an operator runs it (another process)."""
    before = await answers(store, now, lambda: True, 100)
    env = {**os.environ, "STYLEBOT_DB": str(live), "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "backup", str(live.with_name("copy.db")), env=env,
        stdout=asyncio.subprocess.PIPE)
    waiting = asyncio.create_task(command.communicate())
    during = await answers(store, now, waiting.done, 20)
    line = (await waiting)[0].decode().strip()
    return {"line": line, "seconds": round(time.perf_counter() - started, 1),
            "answers_during": len(during), "answer_p95_ms_before": summary(before)["p95_ms"],
            "answer_p95_ms_during": summary(during)["p95_ms"],
            "answer_median_ms_before": summary(before)["median_ms"],
            "answer_median_ms_during": summary(during)["median_ms"]}


@contextlib.asynccontextmanager
async def holds_timed(store: Store, holds: list[Timing]) -> AsyncIterator[None]:
    """Records how long each transaction (and each read, where the freed pages go back)
    holds the database: what a message arriving meanwhile would wait for at most."""
    originals = {"transaction": store.transaction, "read": store.read}

    def measured(name: str) -> Callable[[], Any]:
        @contextlib.asynccontextmanager
        async def hold() -> AsyncIterator[Any]:
            async with originals[name]() as db:
                started, cpu = time.perf_counter(), time.process_time()
                yield db
            holds.append(((time.perf_counter() - started) * 1000,
                          (time.process_time() - cpu) * 1000))
        return hold

    for name in originals:
        setattr(store, name, measured(name))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(store, name, original)


async def convert_once(store: Store) -> float:
    """Seconds of the one VACUUM that converts a database made before the retention (no
    auto-vacuum) once the retention has emptied it: as if this one were such a database."""
    async with store.read() as db:
        await db.execute("PRAGMA auto_vacuum = NONE")
        await db.execute("VACUUM")
        started = time.perf_counter()
        await db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        await db.execute("VACUUM")
        return round(time.perf_counter() - started, 1)


def file_size(path: Path) -> int:
    return sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal")
               if Path(f"{path}{suffix}").exists())


async def checkpoint(store: Store) -> None:
    async with store.read() as db:
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    now = time.time()
    report: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python "
                   f"{platform.python_version()}",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "history": {"finished_jobs": args.jobs, "users": args.users, "waiting": args.waiting},
        "load_average_at_start": [round(value, 1) for value in os.getloadavg()],
    }
    year = root / "year.db"
    store = await Store.open(year)
    try:
        started = time.perf_counter()
        await fill(store, args, 365, now, rng)
        await checkpoint(store)
        report["fill_s"] = round(time.perf_counter() - started, 1)
        report["year_file_mb"] = round(file_size(year) / 1e6, 1)
        print(f"filled in {report['fill_s']} s: {report['year_file_mb']} MB", flush=True)
        report["year"] = await operations(store, args, now, rng)
        print_table("a year of history", report["year"])
        if backup is not None:
            report["backup"] = await during_backup(store, year, now)
            print(f"backup while users are answered: {report['backup']}", flush=True)
            year.with_name("copy.db").unlink()
        if Retention is not None:
            holds: list[Timing] = []
            started = time.perf_counter()
            async with holds_timed(store, holds):
                swept = await Retention(store, args.keep_days).sweep()
            await checkpoint(store)
            report["retention"] = {
                "seconds": round(time.perf_counter() - started, 1), "jobs_deleted": swept.jobs,
                "transactions": len(holds), **{f"hold_{k}": v for k, v in summary(holds).items()},
                "pages_freed": swept.pages_freed,
            }
            report["after_retention_file_mb"] = round(file_size(year) / 1e6, 1)
            report["retention"]["convert_once_s"] = await convert_once(store)
            await checkpoint(store)
            print(f"retention: {report['retention']}", flush=True)
            report["after_retention"] = await operations(store, args, now, rng)
            print_table("after the retention", report["after_retention"])
    finally:
        await store.close()
    if Retention is not None:
        month = root / "month.db"
        store = await Store.open(month)
        try:
            await fill(store, args, args.keep_days, now, random.Random(args.seed))
            await checkpoint(store)
        finally:
            await store.close()
        report["month_file_mb"] = round(file_size(month) / 1e6, 1)
        report["after_retention_vs_month"] = round(
            report["after_retention_file_mb"] / report["month_file_mb"], 2)
    return report


def print_table(title: str, results: dict[str, dict[str, float]]) -> None:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\n{title} (load average {load}):\n"
          "| operation | median ms | p95 ms | max ms | CPU p95 ms | target p95 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, figures in results.items():
        print(f"| {name} | {figures['median_ms']} | {figures['p95_ms']} | {figures['max_ms']} "
              f"| {figures['cpu_p95_ms']} | <= {TARGETS_MS[name]:g} |")
    print(flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000, help="finished jobs in a year")
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200, help="timings per operation")
    parser.add_argument("--keep-days", type=int, default=30, help="STYLEBOT_KEEP_JOBS_DAYS")
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--dir", type=Path, help="where the databases go (default: a temporary "
                                                  "folder, removed after)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stylebot-db-", dir=args.dir) as folder:
        report = asyncio.run(run(args, Path(folder)))
    for key in ("year_file_mb", "after_retention_file_mb", "month_file_mb",
                "after_retention_vs_month"):
        if key in report:
            print(f"{key}: {report[key]}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
