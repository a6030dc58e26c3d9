"""The scale-out settings both sides share (read from the environment by
`bot.config.remote_settings`), and the one check of the broker URL both make before anything
else (a bad or unreachable URL is one line for the operator)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

BROKER_ENV = "STYLEBOT_BROKER_URL"
CONNECT_TIMEOUT_S = 5.0
DEFAULT_VISIBILITY_TIMEOUT_S = 2 * 3600


class BrokerUnusable(Exception):
    """The broker URL is malformed or Redis does not answer; the message is one line."""


@dataclass(frozen=True)
class RemoteSettings:
    broker_url: str
    heartbeat_s: float = 2.0
    """How often a worker renews its heartbeat; four missed beats and it counts as gone."""
    visibility_timeout_s: int = DEFAULT_VISIBILITY_TIMEOUT_S
    """How long Redis waits for a message's acknowledgement before handing it to another
    worker: longer than the longest job."""
    ttl_s: int = 3600
    """How long images, streams and markers of a dispatch live in Redis."""
    max_image_bytes: int = 25 * 2**20
    """The largest input image the bot sends through Redis."""
    max_jobs: int = 64
    """The most jobs out on the workers at once (one job runner each); the live workers'
    count limits it further."""

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages and logs."""
        parts = urllib.parse.urlsplit(self.broker_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def connect(settings: RemoteSettings) -> redis.Redis:
    """A client for the broker, checked with a PING. Raises `BrokerUnusable`."""
    import redis

    scheme = urllib.parse.urlsplit(settings.broker_url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise BrokerUnusable(f"{BROKER_ENV} must be a redis:// URL, got {settings.safe_url!r}")
    try:
        client = redis.Redis.from_url(settings.broker_url, socket_timeout=10,
                                      socket_connect_timeout=CONNECT_TIMEOUT_S,
                                      health_check_interval=30)
        client.ping()
    except (ValueError, redis.RedisError) as error:
        raise BrokerUnusable(f"cannot reach Redis at {settings.safe_url} ({BROKER_ENV}): "
                             f"{error}") from None
    return client
