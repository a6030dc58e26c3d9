"""Prometheus metrics, and the hooks that count them (served by `bot.ops.health` at `/metrics`).

- `stylebot_jobs_total{status}`: jobs entering a state, counted by `MeteredJobQueue`: `queued`,
  `running` (claimed), `retried`, `done` (delivered), `failed`, `cancelled`.
- `stylebot_job_duration_seconds`: histogram of the worker time of each computed job
  (`MeteredJobQueue.complete`).
- `stylebot_queue_depth`, `stylebot_jobs_running`: jobs waiting for a worker, and claimed but not
  finished (computing or being sent); read from the database at each scrape (`refresh`).
- `stylebot_telegram_errors_total{type,method}`: failed Bot API requests by exception type
  (`RetryAfter`, `TimedOut`, `Forbidden`, ...), every attempt, also those retried; counted by
  `MeteredRateLimiter`, which sees every request but `getUpdates`, and `count_polling_error`
  for the failed `getUpdates` of long polling.
- `stylebot_worker_up{worker}`, `stylebot_worker_busy{worker}`,
  `stylebot_worker_restarts_total{worker}` (processes started after the first):
  `WorkerCollector`, at each scrape (local worker processes).
- With a broker (`FleetCollector`): `stylebot_broker_up`, `stylebot_broker_queue_length` (jobs
  handed to Celery and not started), `stylebot_remote_workers{state}` (idle, busy, broken) and
  `stylebot_remote_worker_busy{worker,host,gpu}` for each live or broken worker.

The process' own metrics (`process_*`, `python_*`) come with prometheus-client's default registry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter

from bot.jobs.model import Job, JobQueue, JobRequest, JobStatus
from bot.jobs.queue import SqliteJobQueue
from bot.settings import JobSettings

if TYPE_CHECKING:
    from bot.jobs.remote.fleet import FleetSnapshot
    from bot.jobs.worker import StyleWorker

RETRIED = "retried"

log = logging.getLogger("stylebot.metrics")

JOBS = Counter("stylebot_jobs", "Jobs entering each state", ["status"])
JOB_SECONDS = Histogram(
    "stylebot_job_duration_seconds",
    "Worker time of each computed job",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800),
)
QUEUE_DEPTH = Gauge("stylebot_queue_depth", "Jobs waiting for a worker")
JOBS_RUNNING = Gauge("stylebot_jobs_running", "Jobs claimed and not finished")
TELEGRAM_ERRORS = Counter(
    "stylebot_telegram_errors", "Failed Bot API requests, by error type and method",
    ["type", "method"],
)
for _status in [*JobStatus, RETRIED]:  # every series from 0, so rates work from the start
    JOBS.labels(_status)


class MeteredJobQueue(SqliteJobQueue):
    """The SQLite queue, counting the state transitions its callers ask for. (A transition the
    queue ignores, such as failing a job that was cancelled meanwhile, is counted too.)"""

    async def enqueue_many(self, requests: list[JobRequest]) -> list[Job]:
        jobs = await super().enqueue_many(requests)  # enqueue() comes here too
        JOBS.labels(JobStatus.QUEUED).inc(len(jobs))
        return jobs

    async def claim(self) -> Job | None:
        job = await super().claim()
        if job is not None:
            JOBS.labels(JobStatus.RUNNING).inc()
        return job

    async def complete(self, job_id: int, result_path: str, *, seconds: float,
                       frames: int | None = None, cut_at_s: float | None = None,
                       kept_instant: bool = False) -> None:
        await super().complete(job_id, result_path, seconds=seconds, frames=frames,
                               cut_at_s=cut_at_s, kept_instant=kept_instant)
        JOB_SECONDS.observe(seconds)

    async def retry_later(self, job_id: int, settings: JobSettings | None = None) -> None:
        await super().retry_later(job_id, settings=settings)
        JOBS.labels(RETRIED).inc()

    async def mark_delivered(self, job_id: int, message_id: int) -> None:
        await super().mark_delivered(job_id, message_id)
        JOBS.labels(JobStatus.DONE).inc()

    async def fail(self, job_id: int, error: str) -> None:
        await super().fail(job_id, error)
        JOBS.labels(JobStatus.FAILED).inc()

    async def cancel(self, chat_id: int, user_id: int) -> list[Job]:
        jobs = await super().cancel(chat_id, user_id)
        JOBS.labels(JobStatus.CANCELLED).inc(len(jobs))
        return jobs

    async def recover(self, max_attempts: int) -> tuple[list[Job], list[Job]]:
        requeued, failed = await super().recover(max_attempts)
        JOBS.labels(RETRIED).inc(len(requeued))
        JOBS.labels(JobStatus.FAILED).inc(len(failed))
        return requeued, failed


async def refresh(queue: JobQueue) -> None:
    """Sets the gauges that come from the database (before a scrape)."""
    stats = await queue.stats(since=time.time())
    QUEUE_DEPTH.set(stats["queue_depth"])
    JOBS_RUNNING.set(stats["running"])


def count_polling_error(error: TelegramError) -> None:
    """`Updater.start_polling`'s error callback: counts a failed `getUpdates` (PTB retries it)
    and logs it, as PTB's default callback would."""
    TELEGRAM_ERRORS.labels(type(error).__name__, "getUpdates").inc()
    log.warning("getUpdates failed, retrying: %s: %s", type(error).__name__, error)


class MeteredRateLimiter(AIORateLimiter):
    """PTB's rate limiter, which sees every Bot API request but `getUpdates`, counting the
    requests that fail."""

    async def process_request(self, callback: Callable[..., Any], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        async def counted(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                return await callback(*call_args, **call_kwargs)
            except TelegramError as exc:
                TELEGRAM_ERRORS.labels(type(exc).__name__, endpoint).inc()
                raise

        return await super().process_request(counted, args, kwargs, endpoint, data,
                                             rate_limit_args)


class WorkerCollector(Collector):
    """Reads the workers' state at each scrape (register it while the workers exist)."""

    def __init__(self, workers: Callable[[], Sequence[StyleWorker]]) -> None:
        self.workers = workers

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("stylebot_worker_up", "1 while the worker process is ready",
                               labels=["worker"])
        busy = GaugeMetricFamily("stylebot_worker_busy", "1 while the worker runs a job",
                                 labels=["worker"])
        restarts = CounterMetricFamily("stylebot_worker_restarts",
                                       "Worker processes started after the first",
                                       labels=["worker"])
        for index, worker in enumerate(self.workers()):
            label = [str(index)]
            up.add_metric(label, 1 if worker.pid is not None else 0)
            busy.add_metric(label, 1 if worker.busy else 0)
            restarts.add_metric(label, max(worker.starts - 1, 0))
        yield from (up, busy, restarts)


class FleetCollector(Collector):
    """The remote workers and the broker as the bot last saw them (nothing without a broker)."""

    def __init__(self, fleet: Callable[[], FleetSnapshot | None]) -> None:
        self.fleet = fleet

    def collect(self) -> Iterator[Metric]:
        snapshot = self.fleet()
        if snapshot is None:
            return
        yield GaugeMetricFamily("stylebot_broker_up", "1 while Redis answers the bot",
                                value=1 if snapshot.broker_up else 0)
        yield GaugeMetricFamily("stylebot_broker_queue_length",
                                "Jobs handed to the workers and not started yet",
                                value=snapshot.broker_queue)
        states = GaugeMetricFamily("stylebot_remote_workers", "Remote workers by state",
                                   labels=["state"])
        for state in ("idle", "busy", "broken"):
            states.add_metric([state], sum(w.state == state for w in snapshot.workers))
        yield states
        busy = GaugeMetricFamily("stylebot_remote_worker_busy",
                                 "1 while the remote worker runs a job",
                                 labels=["worker", "host", "gpu"])
        for worker in snapshot.workers:
            busy.add_metric([worker.name, worker.host, worker.gpu or ""],
                            1 if worker.state == "busy" else 0)
        yield busy
