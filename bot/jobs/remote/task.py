"""The remote worker's side of a dispatch: fetch the images from Redis, run the job on the
engine (`bot.jobs.execution`), stream progress and previews, store the result, say how it ended.

A dispatch runs only while it is its job's current one (`dispatch_of_job_key`): a copy Celery
delivers again after it finished, or one the bot has replaced (it restarted, or Redis lost the
job), is dropped before it starts or within one optimiser step. Cancelling sets the dispatch's
cancel key, checked between evaluations. WorkProgress is best effort (a Redis hiccup drops a step,
not the job); the result and the end are written with retries.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import redis

from bot.jobs.execution import execute
from bot.jobs.remote import wire
from bot.jobs.remote.heartbeat import Heartbeat
from bot.jobs.remote.wire import Finished, Started, TaskPayload
from bot.jobs.work import WorkFailure, WorkProgress, WorkRequest

log = logging.getLogger("stylebot.remote.task")
T = TypeVar("T")

STREAM_MAX_LEN = 200
END_WRITE_ATTEMPTS = 30
"""Tries (a second apart) to store the result and the end while Redis is away."""


class RemoteTask:
    """Runs dispatches on this worker's engine. `ttl_s`: how long what it writes lives."""

    def __init__(self, client: redis.Redis, heartbeat: Heartbeat, *, max_pixels: int | None,
                 ttl_s: int) -> None:
        self.client = client
        self.heartbeat = heartbeat
        self.max_pixels = max_pixels
        self.ttl_s = ttl_s

    def __call__(self, payload_json: str) -> str:
        """The Celery task body; returns how the dispatch ended (Celery's result)."""
        payload = TaskPayload.from_json(payload_json)
        if not self._current(payload):
            log.info("job %d: dropping dispatch %s (finished already or replaced)",
                     payload.job_id, payload.dispatch)
            return "dropped"
        info = self.heartbeat.info
        self.heartbeat.update(state="busy", job_id=payload.job_id)
        try:
            self._emit(payload, Started(info.name, info.host))
            with tempfile.TemporaryDirectory(prefix="stylebot-job-") as folder:
                outcome = self._run(payload, Path(folder))
        finally:
            self.heartbeat.update(state="idle", job_id=None,
                                  jobs_done=self.heartbeat.info.jobs_done + 1)
        return outcome

    def _run(self, payload: TaskPayload, folder: Path) -> str:
        try:
            request = self._request(payload, folder)
        except LookupError as missing:
            return self._end(payload, WorkFailure("error", f"the job's images are gone: {missing}"))

        def report(progress: WorkProgress) -> None:
            self._emit(payload, progress, best_effort=True)

        def should_stop() -> bool:
            try:
                return (self.client.exists(wire.cancel_key(payload.dispatch)) > 0
                        or not self._current(payload))
            except redis.RedisError:
                return False  # carry on; the end is written once Redis is back

        outcome = execute(request, report=report, should_stop=should_stop,
                          max_pixels=self.max_pixels)
        if isinstance(outcome, WorkFailure):
            if outcome.kind == "error":
                log.error("job %d failed: %s\n%s", payload.job_id, outcome.message,
                          outcome.details)
            return self._end(payload, outcome)
        result = Path(outcome.output_path).read_bytes()
        self._retrying(lambda: self.client.set(wire.blob_key(payload.dispatch, "result"), result,
                                               ex=self.ttl_s))
        log.info("job %d done in %.1f s", payload.job_id, outcome.seconds)
        return self._end(payload, Finished(outcome.size, outcome.seconds, outcome.steps,
                                             outcome.cut_at_s))

    def _request(self, payload: TaskPayload, folder: Path) -> WorkRequest:
        def fetch(key: str, name: str) -> str:
            data = self._retrying(lambda: self.client.get(key))
            if data is None:
                raise LookupError(key)
            path = folder / name
            path.write_bytes(data)
            return str(path)

        return WorkRequest(
            job_id=payload.job_id,
            content_path=fetch(payload.content_key, "content"),
            styles=[(fetch(key, f"style{index}"), weight)
                    for index, (key, weight) in enumerate(payload.styles)],
            params=payload.params,
            output_path=str(folder / ("result.png" if payload.clip is None else "result.mp4")),
            preview_every=payload.preview_every,
            clip=payload.clip,
            mask_path=fetch(payload.mask_key, "mask.png") if payload.mask_key else None,
        )

    def _current(self, payload: TaskPayload) -> bool:
        current = self._retrying(lambda: self.client.get(wire.dispatch_of_job_key(payload.job_id)))
        finished = self._retrying(lambda: self.client.exists(wire.finished_key(payload.dispatch)))
        return current is not None and current.decode() == payload.dispatch and not finished

    def _end(self, payload: TaskPayload, event: Finished | WorkFailure) -> str:
        self._retrying(lambda: self.client.set(wire.finished_key(payload.dispatch), 1,
                                               ex=self.ttl_s))
        self._emit(payload, event)
        return "finished" if isinstance(event, Finished) else event.kind

    def _emit(self, payload: TaskPayload, event: wire.Event, *, best_effort: bool = False) -> None:
        key = wire.events_key(payload.dispatch)

        def add() -> None:
            with self.client.pipeline() as pipe:
                pipe.xadd(key, wire.encode_event(event), maxlen=STREAM_MAX_LEN, approximate=True)
                pipe.expire(key, self.ttl_s)
                pipe.execute()

        if best_effort:
            try:
                add()
            except redis.RedisError as error:
                log.warning("job %d: progress not sent (%s)", payload.job_id, error)
            return
        self._retrying(add)

    def _retrying(self, call: Callable[[], T]) -> T:
        for attempt in range(END_WRITE_ATTEMPTS):
            try:
                return call()
            except redis.RedisError as error:
                if attempt == END_WRITE_ATTEMPTS - 1:
                    raise
                log.warning("Redis unavailable (%s); retrying", error)
                time.sleep(1.0)
        raise AssertionError("unreachable")
