"""Loops that log an error and carry on must still stop when their task is cancelled.

A client library may turn a cancel into an error of its own (redis-py's socket timeouts can:
the `CancelledError` becomes a `TimeoutError`), and a loop that catches errors then swallows the
cancel and runs forever, so shutting down waits forever. After catching an error, such a loop
calls `stop_if_cancelled()`.
"""

from __future__ import annotations

import asyncio


def stop_if_cancelled() -> None:
    """Raises `CancelledError` if the current task has been asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
