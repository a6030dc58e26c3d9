"""Soak test of the bot (a script, not part of the test suite): does the thousandth job go like
the first, and does nothing pile up?

The bot runs as `python -m bot` with two engine workers against the fake Bot API, for
`--minutes` or `--requests`, whichever comes first, while 50 users in private chats and the
members of two groups send the mix of `benchmarks/soak_traffic.py`: photos, albums, clips,
video notes, stickers as style, battles, /me, re-run buttons, cancels, /forget, corrupt files
and Telegram's flood control. Along the way one worker is SIGKILLed (at 15% of the run) and
the bot is restarted (SIGTERM, then started again, at 30%). Once the queue is empty it prints:

- lost results (accepted, yet neither delivered nor failed) and doubled ones (delivered
  without a record, or twice): both must be 0;
- the bot's and each worker's memory (RSS) and open descriptors at start, after the warm-up
  (45% of the run, after the restart, so the same processes as at the end) and at the end;
- the work folder's files and bytes, and the database's size (with its WAL);
- the 95th percentile of waiting time (request to result) per user, over the users;
- warnings and errors in the logs by kind (numbers masked).

    .venv/bin/python benchmarks/soak.py                           # 30 minutes or 2,000 requests
    .venv/bin/python benchmarks/soak.py --minutes 8 --requests 400 --json soak.json

Exits with status 1 if anything was lost or doubled.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.soak_traffic import Crowd, send_one  # noqa: E402
from tests.fake_telegram import (  # noqa: E402
    FakeTelegram,
    bot_env,
    content_photo,
    is_result_upload,
    start_bot_process,
)

RESULT_METHODS = ("sendPhoto", "sendAnimation", "sendVideoNote", "sendDocument", "sendVideo")
SETTINGS = {
    "STYLEBOT_WORKERS": "2", "STYLEBOT_SIZE": "32", "STYLEBOT_STEPS": "1",
    "STYLEBOT_CLIP_MAX_SECONDS": "1", "STYLEBOT_CLIP_MAX_FPS": "4",
    "STYLEBOT_CLIP_MAX_SIDE": "48", "STYLEBOT_BATTLE_SECONDS": "20",
    "STYLEBOT_LOG_FORMAT": "json", "STYLEBOT_LOG_LEVEL": "INFO", "STYLEBOT_MAX_QUEUE": "300",
    "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
}


# ---------------------------------------------------------------------- the processes


def workers_of(pid: int) -> list[int]:
    """The bot's engine worker processes (multiprocessing's spawned children)."""
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                        found.append(int(child))
    return sorted(found)


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def descriptors(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def folder_usage(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


class Bot:
    """`python -m bot` with its log, started and restarted as an operator would."""

    def __init__(self, fake: FakeTelegram, root: Path) -> None:
        self.fake, self.root = fake, root
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        mark = self.fake.mark()
        with open(self.root / "bot.log", "ab") as log:
            self.process = start_bot_process(bot_env(self.fake, self.root, **SETTINGS),
                                             self.root, stdout=log, stderr=subprocess.STDOUT)
        self.fake.wait_for_blocking("setMyCommands", after=mark, timeout=120)
        deadline = time.monotonic() + 300
        while len(workers_of(self.pid)) < 2 or not self._engine_ready():
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.5)

    def _engine_ready(self) -> bool:
        log = (self.root / "bot.log").read_text(errors="replace")
        return log.count('"engine ready"') >= self.starts

    @property
    def starts(self) -> int:
        return (self.root / "bot.log").read_text(errors="replace").count('"msg": "stylebot @')

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def sample(self, work: Path, db: Path) -> dict[str, Any]:
        workers = workers_of(self.pid)
        files, size = folder_usage(work)
        return {
            "bot_rss_mb": rss_mb(self.pid), "bot_fds": descriptors(self.pid),
            "workers_rss_mb": [rss_mb(pid) for pid in workers],
            "workers_fds": [descriptors(pid) for pid in workers],
            "work_files": files, "work_bytes": size,
            "db_bytes": sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal")
                            if Path(f"{db}{s}").exists()),
        }


# ---------------------------------------------------------------------- the accounting


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(sql).fetchall()


def busy(db: Path) -> int:
    (count,) = rows(db, "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")[0]
    (battles,) = rows(db, "SELECT COUNT(*) FROM battles WHERE state != 'over'")[0]
    return count + battles


def results_sent(fake: FakeTelegram) -> list[tuple[int, int]]:
    """(chat, message id) of every painting Telegram accepted: uploads and albums."""
    found = []
    for call in fake.find(None, lambda c: c.error is None and c.method in RESULT_METHODS
                          and is_result_upload(c.params)):
        found.append((call.chat_id, call.message_id))
    for call in fake.find("sendMediaGroup", lambda c: c.error is None):
        found += [(message["chat"]["id"], message["message_id"]) for message in call.result]
    return found


def account(fake: FakeTelegram, crowd: Crowd, db: Path) -> dict[str, Any]:
    jobs = rows(db, "SELECT chat_id, status, delivered_message_id FROM jobs")
    recorded = Counter((chat, message) for chat, status, message in jobs
                       if status == "done" and message is not None)
    sent = Counter(key for key in results_sent(fake) if not crowd.left_out(key[0]))
    unfinished = [job for job in jobs if job[1] in ("queued", "running")]
    doubled = sum(count for key, count in sent.items() if key not in recorded)
    doubled += sum(count - 1 for count in sent.values() if count > 1)
    missing = sum(1 for key in recorded if key not in sent and not crowd.left_out(key[0]))
    statuses = Counter(status for _, status, _ in jobs)
    return {"jobs": dict(statuses), "results_delivered": sum(sent.values()),
            "lost": len(unfinished) + missing, "doubled": doubled}


def waits(db: Path) -> dict[str, float]:
    """Request to result per user: each user's 95th percentile, then over the users."""
    per_user: dict[int, list[float]] = {}
    for user, seconds in rows(db, "SELECT user_id, finished_at - created_at FROM jobs "
                                  "WHERE status = 'done'"):
        per_user.setdefault(user, []).append(seconds)
    p95s = sorted(percentile(values, 0.95) for values in per_user.values())
    return {"users": len(p95s), "p95_wait_s_min": round(p95s[0], 1) if p95s else None,
            "p95_wait_s_median": round(percentile(p95s, 0.5), 1) if p95s else None,
            "p95_wait_s_max": round(p95s[-1], 1) if p95s else None}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def log_kinds(log: Path) -> dict[str, int]:
    """WARNING and ERROR lines by logger and message, numbers masked; lines that are not
    the bot's JSON (a library writing to stderr) count by their first words."""
    kinds: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if line.strip() and not line.startswith((" ", "\t")):
                kinds[f"(not JSON) {re.sub(r'[0-9]+', '#', line[:70])}"] += 1
            continue
        if entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            message = re.sub(r"[0-9]+", "#", str(entry.get("msg", "")))[:110]
            kinds[f"{entry['level']} {entry.get('logger')}: {message}"] += 1
    return dict(kinds.most_common())


# ---------------------------------------------------------------------- the run


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    crowd = Crowd.of(args.users, 2)
    db, work = root / "stylebot.db", root / "work"
    (root / "presets").mkdir()
    report: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"),
        "command": " ".join([Path(sys.executable).name, *sys.argv])}
    samples: dict[str, dict[str, Any]] = {}
    with FakeTelegram() as fake:
        for user in crowd.privates:
            fake.set_profile_photo(user, content_photo(56, 56))
        bot = Bot(fake, root)
        bot.start()
        samples["start"] = bot.sample(work, db)
        started = time.monotonic()
        every = args.minutes * 60 * 0.85 / args.requests
        events = {round(args.requests * 0.15): "kill a worker",
                  round(args.requests * 0.30): "restart the bot",
                  round(args.requests * 0.45): "after warm-up"}
        sent = 0
        try:
            while sent < args.requests and time.monotonic() - started < args.minutes * 60:
                if busy(db) > args.backlog:  # the users wait for the queue to move
                    time.sleep(0.5)
                    continue
                send_one(fake, crowd, rng)
                sent += 1
                event = events.get(sent)
                if event == "kill a worker":
                    os.kill(rng.choice(workers_of(bot.pid)), signal.SIGKILL)
                elif event == "restart the bot":
                    bot.stop()
                    bot.start()
                elif event == "after warm-up":
                    samples["after_warm_up"] = bot.sample(work, db)
                time.sleep(max(0.0, started + sent * every - time.monotonic()))
            report["requests"] = sent
            report["sent_by_kind"] = crowd.sent
            report["traffic_s"] = round(time.monotonic() - started, 1)
            deadline = time.monotonic() + args.drain_timeout
            while busy(db) and time.monotonic() < deadline:
                time.sleep(1.0)
            report["drained_s"] = round(time.monotonic() - started, 1)
            while folder_usage(work)[0] and time.monotonic() < deadline:
                time.sleep(1.0)  # the last results' files go once they are delivered
            samples["end"] = bot.sample(work, db)
            report.update(account(fake, crowd, db))
            report["waiting"] = waits(db)
        finally:
            bot.stop()
    report["samples"] = samples
    report["log_kinds"] = log_kinds(root / "bot.log")
    return report


def print_report(report: dict[str, Any]) -> None:
    samples = report.pop("samples")
    kinds = report.pop("log_kinds")
    for key, value in report.items():
        print(f"{key:<16} {value}")
    print("\n| | start | after warm-up | end |\n| --- | --- | --- | --- |")
    for key in samples["start"]:
        print(f"| {key} | " + " | ".join(str(samples.get(moment, {}).get(key, "-"))
                                         for moment in ("start", "after_warm_up", "end")) + " |")
    print("\nwarnings and errors in the log, by kind:")
    for kind, count in kinds.items():
        print(f"{count:6}  {kind}")
    report["samples"], report["log_kinds"] = samples, kinds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--users", type=int, default=50, help="users in private chats")
    parser.add_argument("--backlog", type=int, default=40,
                        help="jobs waiting (and battles open) above which no one sends more")
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (the log, "
                                                  "the database)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        report = run(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="stylebot-soak-") as folder:
            report = run(args, Path(folder))
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if report["lost"] or report["doubled"] else 0


if __name__ == "__main__":
    sys.exit(main())
