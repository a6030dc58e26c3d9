"""The bot's view of the remote workers and the broker, refreshed from their heartbeat keys
every second or so, and the capacity the job runners claim against.

The runners claim a job only while `free()`: fewer jobs handed out than there are live,
unbroken workers. So Celery never holds a backlog and the bot's fair order decides who is next
on every machine. The handlers, `/healthz`, `/metrics` and `/stats` read the last snapshot and
never wait for Redis: a Redis that is away shows as the broker being down and no workers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.jobs.cancellation import stop_if_cancelled
from bot.jobs.remote.wire import QUEUE, WORKER_PATTERN, WorkerInfo

log = logging.getLogger("stylebot.remote.fleet")

STOP_WAIT_S = 5.0


@dataclass(frozen=True)
class FleetSnapshot:
    workers: list[WorkerInfo] = field(default_factory=list)
    broker_up: bool = False
    broker_error: str | None = None
    broker_queue: int = 0
    """Messages waiting in Celery's queue (at most the idle workers' share, by design)."""
    taken_at: float = 0.0

    @property
    def live(self) -> list[WorkerInfo]:
        return [worker for worker in self.workers if worker.state != "broken"]

    @property
    def broken(self) -> list[WorkerInfo]:
        return [worker for worker in self.workers if worker.state == "broken"]


class Fleet:
    def __init__(self, client: aioredis.Redis, *, refresh_s: float = 1.0,
                 on_more_capacity: Callable[[], None] | None = None) -> None:
        self.client = client
        self.refresh_s = refresh_s
        self.on_more_capacity = on_more_capacity
        self.snapshot = FleetSnapshot()
        self.in_use = 0
        """Jobs the runners hold from claim until their remote run ended."""
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ capacity

    def free(self) -> bool:
        return len(self.snapshot.live) > self.in_use

    def take(self) -> None:
        self.in_use += 1

    def give_back(self) -> None:
        self.in_use = max(0, self.in_use - 1)
        if self.free() and self.on_more_capacity is not None:
            self.on_more_capacity()

    def workers_online(self) -> bool:
        return bool(self.snapshot.live)

    def alive(self, name: str) -> bool:
        return any(worker.name == name for worker in self.snapshot.live)

    # ------------------------------------------------------------------ refreshing

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._loop(), name="fleet")

    async def stop(self) -> None:
        """Stops refreshing; never waits more than `STOP_WAIT_S` (shutting down must end)."""
        if self._task is None:
            return
        self._task.cancel()
        done, _ = await asyncio.wait({self._task}, timeout=STOP_WAIT_S)
        if not done:
            log.warning("the fleet refresh did not stop in %.0f s; leaving it", STOP_WAIT_S)

    async def refresh(self) -> FleetSnapshot:
        before = len(self.snapshot.live)
        try:
            keys = [key async for key in self.client.scan_iter(match=WORKER_PATTERN, count=500)]
            values = await self.client.mget(keys) if keys else []
            waiting = await self.client.llen(QUEUE)
        except (RedisError, OSError) as error:
            if self.snapshot.broker_up:
                log.warning("broker unreachable: %s", error)
            self.snapshot = FleetSnapshot(broker_error=str(error), taken_at=time.time())
            return self.snapshot
        workers = []
        for value in values:
            if value is None:  # expired between SCAN and MGET
                continue
            try:
                workers.append(WorkerInfo.from_json(value))
            except (ValueError, TypeError):
                log.warning("unreadable worker heartbeat: %r", value[:200])
        workers.sort(key=lambda worker: worker.name)
        if not self.snapshot.broker_up and self.snapshot.taken_at:
            log.info("broker reachable; %d worker(s)", len(workers))
        self.snapshot = FleetSnapshot(workers, True, None, waiting, time.time())
        if len(self.snapshot.live) > before and self.on_more_capacity is not None:
            self.on_more_capacity()
        return self.snapshot

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception:
                log.exception("fleet refresh failed")
            stop_if_cancelled()  # refresh() turns Redis errors into a snapshot; a cancel too
