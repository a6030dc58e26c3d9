"""The updates waiting for the bot, and getUpdates' long poll on them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time


class UpdateQueue:
    """Updates oldest first, kept until the bot confirms them (getUpdates' `offset`).

    `push` may be called from any thread; it wakes the long polls waiting on the server's event
    loop once `bind` has told it which loop that is."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self.pending: list[dict] = []
        self.acked_id = 0
        """The highest update id the bot has confirmed via `offset`."""
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The server's loop (called on it), or None once it stopped."""
        self._loop = loop
        self._arrived = asyncio.Event() if loop is not None else None

    def push(self, payload: dict) -> dict:
        """A new update with the next id; call with the lock held."""
        update = {"update_id": next(self._ids), **payload}
        self.pending.append(update)
        if self._loop is not None and self._arrived is not None:
            self._loop.call_soon_threadsafe(self._arrived.set)
        return update

    def unconfirmed(self) -> int:
        with self._lock:
            return sum(1 for u in self.pending if u["update_id"] > self.acked_id)

    async def poll(self, offset: int, limit: int, timeout: float) -> list[dict]:
        """getUpdates: forgets the updates before `offset`, then answers the next `limit`
        ones, waiting up to `timeout` seconds for one to arrive (on the bound loop)."""
        deadline = time.monotonic() + timeout
        arrived = self._arrived
        assert arrived is not None
        while True:
            with self._lock:
                if offset:
                    self.acked_id = max(self.acked_id, offset - 1)
                    self.pending = [u for u in self.pending if u["update_id"] >= offset]
                ready = self.pending[:limit]
                if ready or time.monotonic() >= deadline:
                    return ready
                arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), deadline - time.monotonic())
