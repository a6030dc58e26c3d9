"""The remote backend as the bot opens it: the broker checked, the Celery app, the fleet view
and one `RemoteWorker` per job runner."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import redis.asyncio as aioredis
from celery import Celery

from bot.broker import RemoteSettings, connect
from bot.jobs.remote.celery_app import make_celery
from bot.jobs.remote.dispatcher import RemoteWorker
from bot.jobs.remote.fleet import Fleet


@dataclass
class RemoteBackend:
    settings: RemoteSettings
    client: aioredis.Redis
    celery: Celery
    fleet: Fleet

    @classmethod
    async def open(cls, settings: RemoteSettings) -> RemoteBackend:
        """Raises `BrokerUnusable` (one line) if the URL is bad or Redis does not answer."""
        checked = await asyncio.to_thread(connect, settings)
        checked.close()
        client = aioredis.Redis.from_url(settings.broker_url, socket_timeout=10,
                                         socket_connect_timeout=5, health_check_interval=30)
        backend = cls(settings, client, make_celery(
            settings.broker_url, visibility_timeout_s=settings.visibility_timeout_s),
            Fleet(client, refresh_s=min(1.0, settings.heartbeat_s)))
        await backend.fleet.start()
        return backend

    def workers(self) -> list[RemoteWorker]:
        """One per job runner: at most this many jobs are out at once."""
        return [RemoteWorker(self.client, self.celery, self.fleet, self.settings)
                for _ in range(self.settings.max_jobs)]

    async def close(self) -> None:
        await self.fleet.stop()
        with contextlib.suppress(Exception):
            await self.client.aclose()
        await asyncio.to_thread(self.celery.close)
