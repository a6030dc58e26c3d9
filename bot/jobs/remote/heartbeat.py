"""A remote worker's heartbeat: its `WorkerInfo` in a Redis key that expires unless renewed.

A thread renews it every `every_s` seconds, also while a job keeps the worker's main thread
busy; a worker that dies (SIGKILL, power loss) disappears from the bot's view when the key
expires, and the bot then queues its job again (`bot.jobs.remote.dispatcher`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time

import redis

from bot.jobs.remote.wire import WorkerInfo, worker_key

log = logging.getLogger("stylebot.remote.heartbeat")

BROKEN_TTL_S = 600
"""How long a worker that could not load its model stays listed (as broken)."""


def heartbeat_ttl_s(every_s: float) -> int:
    """How long a heartbeat counts: four missed beats (at least 5 s) and the worker is gone."""
    return max(5, round(4 * every_s))


class Heartbeat:
    def __init__(self, client: redis.Redis, info: WorkerInfo, every_s: float) -> None:
        self.client = client
        self.every_s = every_s
        self._info = info
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="stylebot-heartbeat",
                                        daemon=True)
        self._failing = False

    @property
    def info(self) -> WorkerInfo:
        return self._info

    def start(self) -> None:
        self.publish()
        self._thread.start()

    def update(self, **changes: object) -> None:
        """Changes what the worker says about itself and says it now."""
        with self._lock:
            self._info = dataclasses.replace(self._info, **changes)
        self.publish()

    def publish(self) -> None:
        with self._lock:
            info = dataclasses.replace(self._info, seen_at=time.time())
        try:
            self.client.set(worker_key(info.name), info.to_json(),
                            ex=heartbeat_ttl_s(self.every_s))
        except redis.RedisError as error:
            if not self._failing:
                log.warning("heartbeat: cannot reach Redis (%s); still trying", error)
            self._failing = True
            return
        if self._failing:
            log.info("heartbeat: Redis reachable again")
        self._failing = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.every_s + 5)
        with contextlib.suppress(redis.RedisError):  # else the key expires by itself
            self.client.delete(worker_key(self._info.name))

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            self.publish()


def report_broken(client: redis.Redis, info: WorkerInfo) -> None:
    """Lists a worker that cannot work (its model did not load) for the operator to see."""
    broken = dataclasses.replace(info, state="broken", seen_at=time.time())
    try:
        client.set(worker_key(info.name), broken.to_json(), ex=BROKEN_TTL_S)
    except redis.RedisError as error:
        log.warning("cannot report the broken worker to Redis: %s", error)
