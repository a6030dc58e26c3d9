"""The Celery application both sides share: the bot sends with it, `stylebot-worker` consumes.

At-least-once: a message is acknowledged only after its task ended (`task_acks_late`), a worker
lost mid-task gives its message back (`task_reject_on_worker_lost`), and Redis hands an
unacknowledged message to another worker after the visibility timeout, which must be longer
than the longest job (set for the broker and the result store alike). Duplicates this creates
are dropped by the worker (`bot.jobs.remote.task`). One job at a time per worker, none
reserved ahead (`worker_prefetch_multiplier=1`), so the bot's fair order decides who is next.
"""

from __future__ import annotations

from celery import Celery

from bot.broker import DEFAULT_VISIBILITY_TIMEOUT_S
from bot.jobs.remote.wire import QUEUE, TASK_NAME

RESULT_TTL_S = 24 * 3600


def make_celery(broker_url: str, *,
                visibility_timeout_s: int = DEFAULT_VISIBILITY_TIMEOUT_S) -> Celery:
    app = Celery("stylebot", broker=broker_url, backend=broker_url)
    transport = {"visibility_timeout": visibility_timeout_s}
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=1,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        result_expires=RESULT_TTL_S,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        task_routes={TASK_NAME: {"queue": QUEUE}},
        task_track_started=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a restarted Redis is waited for, not fatal
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app
