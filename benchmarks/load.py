"""Load test of the bot against the fake Bot API (a script, not part of the test suite).

Users in private chats and in groups send stylise requests (photos captioned with a preset)
within a few seconds while the jobs run on tiny images; meanwhile other users ask /help, and
the time until the bot's answer is measured. The bot runs as `python -m bot`, exactly as in
production, pointed at the fake server. At the end it reports:

- accepted (answered "Queued"), refused as over a limit (per user or the global queue cap),
- completed (the picture was delivered), failed (the user was told), delivered twice (must be 0),
  lost (accepted, yet neither delivered nor failed: must be 0),
- the /help reply latency under that load (median, p95, max),
- how long users waited for their picture, and how much of that was delivery (computed to
  accepted by Telegram: in groups the bot may send only 20 messages a minute), by chat type,
- how the waits users were told ("about 12 s") compare with the waits that followed
  (`benchmarks/estimates.py`): estimate / actual at the 10th, 50th and 90th percentile.

    .venv/bin/python benchmarks/load.py                       # 50 users, 3 groups, 200 requests
    .venv/bin/python benchmarks/load.py --size 48 --steps 2 --json out.json
    .venv/bin/python benchmarks/load.py --broker --workers 1 2  # through Redis to Celery workers
    .venv/bin/python benchmarks/load.py --clips 0.4 --once --users 60 --groups 0 --requests 60

With `--clips` that share of the requests are small GIFs (8 to 60 frames) instead of photos: a
mixed queue, whose estimates must count a clip's frames. With `--once` every user sends one
request: the fair order then serves them first come, first served, so the waits measure the
estimates and not the round-robin (a user's second request waits behind the first requests
of users who come later, which no estimate made at the time can know).

With `--broker` it starts a real redis-server and `--workers` real `stylebot-worker` processes
(Celery) and points the bot at them, once per worker count, and reports each run's throughput
(jobs delivered per minute, from the first job's start to the last delivery) and their ratio.

Exits with status 1 if anything was delivered twice or lost.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.estimates import a_clip, estimate_errors, percentile  # noqa: E402
from bot.telegram import texts  # noqa: E402  (after the path set-up above)
from tests.fake_telegram import (  # noqa: E402
    Call,
    Chat,
    FakeTelegram,
    User,
    bot_process,
    content_photo,
    group_chat,
    private_chat,
    replies_to,
    result_for,
)
from tests.remote_servers import RedisServer  # noqa: E402
from tests.remote_servers import workers as remote_workers  # noqa: E402

PRESETS = ("mosaic", "pointillism", "crosshatch", "swirl")
GROUP_MEMBERS = 10
HEAVY_USERS = 5
"""Private users who send far more than their share, to run into the per-user limit."""
HEAVY_WEIGHT = 6.0
PROBE_USERS = 10
"""/help is asked in turn by this many users, so none of them hits the flood limit."""
PROBE_EVERY_S = 0.5
PROBE_FIRST_ID = 30_000
USER_LIMIT_START = texts.USER_LIMIT.split("{")[0]


@dataclass
class Request:
    chat: Chat
    user: User
    caption: str
    at: float
    """Seconds after the start of the burst."""
    clip: bool = False


@dataclass
class Report:
    date: str
    machine: str
    command: str
    requests: int
    private_users: int
    groups: int
    accepted: int
    refused_over_limit: int
    refused_user_limit: int
    refused_queue_full: int
    other_answer: int
    completed: int
    failed: int
    delivered_twice: int
    lost: int
    burst_s: float
    drained_s: float
    help_probes: int
    help_median_s: float
    help_p95_s: float
    help_max_s: float
    result_private_median_s: float
    result_private_p95_s: float
    result_group_median_s: float
    result_group_p95_s: float
    delivery_private_p95_s: float
    delivery_group_p95_s: float
    backend: str
    workers: int
    throughput_jobs_per_min: float
    bot_cpu_ms_per_job: float
    """CPU time of the bot's own process (not its workers) per delivered job."""
    api_calls_per_job: float
    """Bot API requests per delivered job (all methods but getUpdates and file downloads, not
    counting the answers to the /help probes)."""
    estimates: dict | None = None
    """`benchmarks.estimates.EstimateErrors`: the waits told against the waits that followed."""
    clips: int = 0
    redis_kb_per_job: float = float("nan")
    """Network bytes in and out of Redis per delivered job (--broker)."""
    redis_cpu_ms_per_job: float = float("nan")


def plan(args: argparse.Namespace, rng: random.Random) -> list[Request]:
    """Who sends what when: private users (a few heavy ones) and group members, at random
    moments within the burst."""
    privates = [User(10_000 + i, f"P{i}") for i in range(args.users)]
    groups = [group_chat(-100_000 - g, f"Group {g}") for g in range(args.groups)]
    members = {g.id: [User(20_000 + g_index * 100 + m, f"G{g_index}M{m}")
                      for m in range(GROUP_MEMBERS)] for g_index, g in enumerate(groups)}
    senders: list[tuple[Chat, User]] = [(private_chat(u), u) for u in privates]
    senders += [(g, m) for g in groups for m in members[g.id]]
    weights = [HEAVY_WEIGHT if i < HEAVY_USERS else 1.0 for i in range(len(senders))]
    chosen = (rng.sample(senders, min(args.requests, len(senders))) if args.once
              else [rng.choices(senders, weights)[0] for _ in range(args.requests)])
    requests = []
    for chat, user in chosen:
        preset = rng.choice(PRESETS)
        caption = preset if chat.type == "private" else f"/stylize {preset}"
        requests.append(Request(chat, user, caption, rng.uniform(0, args.spread),
                                clip=args.clips > 0 and rng.random() < args.clips))
    return sorted(requests, key=lambda r: r.at)


class HelpProbe(threading.Thread):
    """Asks /help every PROBE_EVERY_S seconds until stopped; remembers when each was sent."""

    def __init__(self, fake: FakeTelegram) -> None:
        super().__init__(daemon=True, name="help-probe")
        self.fake = fake
        self.sent: list[tuple[dict, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        users = [User(PROBE_FIRST_ID + i, f"Probe{i}") for i in range(PROBE_USERS)]
        turn = 0
        while not self.stopping.wait(PROBE_EVERY_S):
            user = users[turn % len(users)]
            turn += 1
            sent_at = time.monotonic()
            self.sent.append((self.fake.user_sends_text(private_chat(user), user, "/help"),
                              sent_at))

    def latencies(self) -> list[float]:
        found = []
        for message, sent_at in self.sent:
            answers = self.fake.find("sendMessage", replies_to(message))
            if answers:
                found.append(answers[0].at - sent_at)
        return found


def is_job_call(call: Call) -> bool:
    probe = PROBE_FIRST_ID <= (call.chat_id or 0) < PROBE_FIRST_ID + PROBE_USERS
    return call.method not in ("getUpdates", "download") and not probe


WARM_JOBS = 3
"""Jobs of each kind before the load: the worker is ready, and the queue's estimates have a
history (the median of the recent jobs: `bot.jobs.fair_order`), as a bot that has been running
has in its database."""


def warm_up(fake: FakeTelegram, photo: bytes, clips: list[tuple[bytes, int]] = ()) -> None:
    """Jobs through the whole pipeline one after the other (`WARM_JOBS` photos, and the
    `clips` with their durations), so the load meets a ready worker."""
    user = User(9_999, "Warm")
    for _ in range(WARM_JOBS):
        message = fake.user_sends_photo(private_chat(user), user, photo, caption="mosaic")
        fake.wait_for_blocking("sendPhoto", result_for(message), timeout=180)
    for clip, seconds in clips:
        message = fake.user_sends_clip(private_chat(user), user, "animation", clip,
                                       caption="mosaic", duration=seconds)
        fake.wait_for_blocking("sendAnimation", result_for(message), timeout=180)


def jobs_left(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]


def job_rows(db: Path) -> dict[tuple[int, int], str]:
    """(chat id, content message id) -> status of every job."""
    with sqlite3.connect(db, timeout=30) as connection:
        rows = connection.execute("SELECT chat_id, reply_to_message_id, status FROM jobs")
        return {(chat_id, message_id): status for chat_id, message_id, status in rows}


def waits(db: Path) -> dict[str, float]:
    """Median and p95 of request-to-picture times, and p95 of delivery times, per chat type."""
    with sqlite3.connect(db, timeout=30) as connection:
        rows = connection.execute(
            "SELECT chat_type, finished_at - created_at, finished_at - computed_at FROM jobs "
            "WHERE status = 'done'").fetchall()
    report = {}
    for kind, types in (("private", ("private",)), ("group", ("group", "supergroup"))):
        total = [row[1] for row in rows if row[0] in types]
        delivery = [row[2] for row in rows if row[0] in types]
        report[f"result_{kind}_median_s"] = round(percentile(total, 0.5), 1)
        report[f"result_{kind}_p95_s"] = round(percentile(total, 0.95), 1)
        report[f"delivery_{kind}_p95_s"] = round(percentile(delivery, 0.95), 1)
    return report


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux; nan elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_usage(server: RedisServer) -> dict[str, float]:
    """Redis' network traffic (kB) and CPU time (ms) since it started."""
    stats = server.client().info()
    return {"redis_kb_per_job": (stats["total_net_input_bytes"]
                                 + stats["total_net_output_bytes"]) / 1000,
            "redis_cpu_ms_per_job": 1000 * (stats["used_cpu_sys"] + stats["used_cpu_user"])}


def throughput(db: Path) -> float:
    """Jobs delivered per minute, from the first job's start to the last delivery."""
    with sqlite3.connect(db, timeout=30) as connection:
        count, first, last = connection.execute(
            "SELECT COUNT(*), MIN(started_at), MAX(finished_at) FROM jobs "
            "WHERE status = 'done'").fetchone()
    if not count or last <= first:
        return float("nan")
    return round(count / ((last - first) / 60), 1)


def tally(fake: FakeTelegram, sent: list[dict], db: Path) -> dict[str, int]:
    statuses = job_rows(db)
    counts = dict.fromkeys(("accepted", "refused_over_limit", "refused_user_limit",
                            "refused_queue_full", "other_answer", "completed", "failed",
                            "delivered_twice", "lost"), 0)
    for message in sent:
        answers = fake.find("sendMessage", replies_to(message))
        first = answers[0].text if answers else ""
        delivered = [c for method in ("sendPhoto", "sendAnimation")
                     for c in fake.find(method, result_for(message)) if c.error is None]
        status = statuses.get((message["chat"]["id"], message["message_id"]))
        if first.startswith("Queued"):
            counts["accepted"] += 1
            if delivered:
                counts["completed"] += 1
            elif status == "failed":
                counts["failed"] += 1
            else:
                counts["lost"] += 1
        elif first == texts.QUEUE_FULL or first.startswith(USER_LIMIT_START):
            counts["refused_over_limit"] += 1
            busy = first == texts.QUEUE_FULL
            counts["refused_queue_full" if busy else "refused_user_limit"] += 1
        else:
            counts["other_answer"] += 1
        counts["delivered_twice"] += len(delivered) > 1
    return counts


def run(args: argparse.Namespace, workers: int) -> Report:
    rng = random.Random(args.seed)
    requests = plan(args, rng)
    photo = content_photo(64, 48)
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stylebot-load-")))
        fake = stack.enter_context(FakeTelegram())
        (root / "presets").mkdir()
        env = {"STYLEBOT_SIZE": str(args.size), "STYLEBOT_STEPS": str(args.steps),
               "STYLEBOT_PRESETS_DIR": str(root / "presets"), "STYLEBOT_LOG_LEVEL": "WARNING",
               "STYLEBOT_WORKERS": str(workers)}
        if args.clips:  # the worker warms up as in production: no cold first job to learn from
            env["STYLEBOT_WARM_UP"] = "on"
        if args.max_per_user:
            env["STYLEBOT_MAX_QUEUED_PER_USER"] = str(args.max_per_user)
            env["STYLEBOT_MAX_QUEUE"] = str(max(100, args.requests))
        if args.broker:
            redis_server = RedisServer(root / "redis").start()
            stack.callback(redis_server.stop)
            stack.enter_context(remote_workers(
                redis_server, root, *(f"load{i}" for i in range(workers)),
                STYLEBOT_LOG_LEVEL="WARNING", TF_NUM_INTRAOP_THREADS=str(args.tf_threads),
                TF_NUM_INTEROP_THREADS=str(args.tf_threads)))
            env["STYLEBOT_BROKER_URL"] = redis_server.url
        clips = {id(r): a_clip(rng) for r in requests if r.clip}  # made before the burst
        with bot_process(fake, root, **env) as bot:
            warm_up(fake, photo, [a_clip(rng) for _ in range(WARM_JOBS if clips else 0)])
            cpu_before = cpu_seconds(bot.pid)
            calls_before = fake.mark()
            probe = HelpProbe(fake)
            probe.start()
            started = time.monotonic()
            sent = []
            for request in requests:
                time.sleep(max(0.0, started + request.at - time.monotonic()))
                if request.clip:
                    data, seconds = clips[id(request)]
                    sent.append(fake.user_sends_clip(request.chat, request.user, "animation",
                                                     data, caption=request.caption,
                                                     duration=seconds))
                    continue
                sent.append(fake.user_sends_photo(request.chat, request.user, photo,
                                                  caption=request.caption))
            burst = time.monotonic() - started
            time.sleep(2.0)  # the last requests get their answers
            deadline = time.monotonic() + args.timeout
            while jobs_left(root / "stylebot.db") and time.monotonic() < deadline:
                time.sleep(1.0)
            drained = time.monotonic() - started
            time.sleep(1.0)
            probe.stopping.set()
            probe.join()
            counts = tally(fake, sent, root / "stylebot.db")
            estimates = asdict(estimate_errors(fake, sent, root / "stylebot.db"))
            times = waits(root / "stylebot.db")
            jobs_per_min = throughput(root / "stylebot.db")
            bot_cpu = cpu_seconds(bot.pid) - cpu_before
            api_calls = len(fake.find(None, is_job_call, after=calls_before))
            redis_use = redis_usage(redis_server) if args.broker else {}
    latencies = probe.latencies()
    return Report(
        date=dt.date.today().isoformat(),
        machine=f"{platform.machine()}, {os.cpu_count()} CPU cores, Python "
                f"{platform.python_version()}",
        command=" ".join([Path(sys.executable).name, *sys.argv]),
        requests=len(requests),
        private_users=args.users,
        groups=args.groups,
        **counts,
        burst_s=round(burst, 1),
        drained_s=round(drained, 1),
        help_probes=len(probe.sent),
        help_median_s=round(statistics.median(latencies), 3) if latencies else float("nan"),
        help_p95_s=round(percentile(latencies, 0.95), 3),
        help_max_s=round(max(latencies, default=float("nan")), 3),
        **times,
        backend="celery" if args.broker else "local",
        workers=workers,
        throughput_jobs_per_min=jobs_per_min,
        bot_cpu_ms_per_job=round(1000 * bot_cpu / max(counts["completed"], 1), 1),
        api_calls_per_job=round(api_calls / max(counts["completed"], 1), 1),
        **{key: round(value / max(counts["completed"], 1), 1)
           for key, value in redis_use.items()},
        estimates=estimates,
        clips=sum(r.clip for r in requests),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--users", type=int, default=50, help="users in private chats")
    parser.add_argument("--groups", type=int, default=3,
                        help=f"groups of {GROUP_MEMBERS} members each")
    parser.add_argument("--spread", type=float, default=4.0, help="seconds the requests span")
    parser.add_argument("--size", type=int, default=32, help="STYLEBOT_SIZE")
    parser.add_argument("--steps", type=int, default=1, help="STYLEBOT_STEPS")
    parser.add_argument("--timeout", type=float, default=1200.0,
                        help="seconds to wait for the queue to drain")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the report(s) here")
    parser.add_argument("--broker", action="store_true",
                        help="through a real Redis to real stylebot-worker (Celery) processes")
    parser.add_argument("--workers", type=int, nargs="+", default=[1],
                        help="worker processes; several counts run one after the other")
    parser.add_argument("--max-per-user", type=int,
                        help="STYLEBOT_MAX_QUEUED_PER_USER (and a queue cap that takes all)")
    parser.add_argument("--tf-threads", type=int, default=1,
                        help="TensorFlow threads per remote worker (--broker)")
    parser.add_argument("--clips", type=float, default=0.0,
                        help="share of the requests that are small GIFs (a mixed queue)")
    parser.add_argument("--once", action="store_true",
                        help="every user sends one request (first come, first served)")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl+C, so the bot process is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    reports = []
    for workers in args.workers:
        report = run(args, workers)
        reports.append(report)
        width = max(map(len, asdict(report)))
        for key, value in asdict(report).items():
            print(f"{key:<{width}}  {value}")
        print(flush=True)
    if len(reports) > 1:
        base = reports[0]
        for report in reports[1:]:
            print(f"throughput {report.workers} vs {base.workers} worker(s): "
                  f"{report.throughput_jobs_per_min / base.throughput_jobs_per_min:.2f}x")
    if args.json:
        data = [asdict(report) for report in reports]
        args.json.write_text(json.dumps(data[0] if len(data) == 1 else data, indent=2) + "\n")
    return 1 if any(r.delivered_twice or r.lost for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
