"""Repeating Telegram calls that failed for a reason that may pass: flood control, a dropped
connection, a timeout, a 5xx. Used for uploads, answers and downloads alike."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter

log = logging.getLogger("stylebot.retries")

T = TypeVar("T")

SEND_ATTEMPTS = 5


async def with_retries(call: Callable[[], Awaitable[T]], *, attempts: int = SEND_ATTEMPTS) -> T:
    """Runs a Telegram call, waiting out flood control and retrying network errors with backoff
    (1, 2, 4, ... s). `BadRequest` and `Forbidden` are raised at once: repeating them cannot
    help."""
    delay = 1.0
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == attempts:
                raise
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if hasattr(wait, "total_seconds") else wait)
        except BadRequest:
            raise
        except NetworkError as exc:  # includes TimedOut, 5xx and dropped connections
            if attempt == attempts:
                raise
            log.info("Telegram call failed (%s); retrying in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
    raise AssertionError("unreachable")
