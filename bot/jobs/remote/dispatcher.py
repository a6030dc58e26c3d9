"""The bot's side of a remote job: hand it to Celery and follow it to its end.

`RemoteWorker` has the local worker's interface (`run`, `cancel`), so the job runner, the
outcomes and delivery are the same for both backends. One `run`: store the images in Redis,
mark this dispatch as the job's current one, send the Celery task, then read the dispatch's
event stream, passing progress and previews on, until the result or the failure arrives. While
it waits it watches two things: the worker that started the job must keep its heartbeat, and
Redis must still know the dispatch (a Redis restarted without its data forgets it). Either
lost raises `WorkerCrashed`, whose outcome is a retry: the job is queued again and its next
dispatch replaces this one, so a late copy of the old one is dropped by the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from pathlib import Path

import redis.asyncio as aioredis
from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from bot.broker import RemoteSettings
from bot.jobs.cancellation import stop_if_cancelled
from bot.jobs.remote.fleet import Fleet
from bot.jobs.remote.wire import (
    QUEUE,
    TASK_NAME,
    Finished,
    Started,
    TaskPayload,
    blob_key,
    cancel_key,
    decode_event,
    dispatch_of_job_key,
    events_key,
)
from bot.jobs.work import (
    WorkerCrashed,
    WorkerError,
    WorkFailure,
    WorkProgress,
    WorkRequest,
    WorkResult,
)
from bot.jobs.worker import ProgressCallback, report_progress

log = logging.getLogger("stylebot.remote.dispatcher")

READ_BLOCK_MS = 1000
WATCH_EVERY_S = 1.0
BROKER_GRACE_S = 60.0
"""How long the bot waits for an unreachable Redis before it queues the job again."""
UNSTARTED_GRACE_S = 60.0
"""How long a handed-out job may stay unstarted while Celery's queue is empty and a worker is
idle: then its message was lost (a worker died between taking and starting it) and the job is
queued again rather than waiting for Redis' visibility timeout."""


class RemoteWorker:
    def __init__(self, client: aioredis.Redis, celery: Celery, fleet: Fleet,
                 settings: RemoteSettings) -> None:
        self.client = client
        self.celery = celery
        self.fleet = fleet
        self.settings = settings
        self._current: tuple[int, str] | None = None  # (job id, dispatch id)
        self._cancels: set[asyncio.Future[None]] = set()

    @property
    def busy(self) -> bool:
        return self._current is not None

    async def run(self, request: WorkRequest, on_progress: ProgressCallback | None) -> WorkResult:
        """Runs one job remotely. Raises what the local worker raises (`JobCancelled`,
        `BadInput`, `OutOfMemory`, `WorkerError`, `WorkerCrashed`)."""
        dispatch = uuid.uuid4().hex
        payload = await self._hand_over(request, dispatch)
        self._current = (request.job_id, dispatch)
        try:
            return await self._follow(request, payload, on_progress)
        except asyncio.CancelledError:
            await asyncio.shield(self._set_cancel(dispatch))
            raise
        finally:
            self._current = None
            with contextlib.suppress(RedisError, OSError):
                await self.client.delete(blob_key(dispatch, "result"), payload.content_key,
                                         *(key for key, _ in payload.styles),
                                         *([payload.mask_key] if payload.mask_key else []))

    def cancel(self, job_id: int) -> None:
        """Stops the running job `job_id` within about one optimiser step."""
        current = self._current
        if current is not None and current[0] == job_id:
            task = asyncio.ensure_future(self._set_cancel(current[1]))
            self._cancels.add(task)
            task.add_done_callback(self._cancels.discard)

    # ------------------------------------------------------------------ internals

    async def _hand_over(self, request: WorkRequest, dispatch: str) -> TaskPayload:
        images = {"content": request.content_path}
        images.update({f"style{index}": path for index, (path, _) in enumerate(request.styles)})
        if request.mask_path is not None:
            images["mask"] = request.mask_path
        blobs = {}
        for name, path in images.items():
            data = await asyncio.to_thread(Path(path).read_bytes)
            if len(data) > self.settings.max_image_bytes:
                raise WorkerError(f"{name} image of {len(data)} bytes is over the broker's "
                                  f"cap of {self.settings.max_image_bytes}")
            blobs[blob_key(dispatch, name)] = data
        payload = TaskPayload(
            job_id=request.job_id, dispatch=dispatch, content_key=blob_key(dispatch, "content"),
            styles=[(blob_key(dispatch, f"style{index}"), weight)
                    for index, (_, weight) in enumerate(request.styles)],
            params=request.params, preview_every=request.preview_every, clip=request.clip,
            mask_key=blob_key(dispatch, "mask") if request.mask_path is not None else None,
        )
        ttl = self.settings.ttl_s
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                for key, data in blobs.items():
                    pipe.set(key, data, ex=ttl)
                pipe.set(dispatch_of_job_key(request.job_id), dispatch, ex=ttl)
                await pipe.execute()
            await asyncio.to_thread(self.celery.send_task, TASK_NAME, args=[payload.to_json()],
                                    task_id=dispatch, queue=QUEUE)
        except (RedisError, OSError, OperationalError) as error:
            raise WorkerCrashed(f"could not hand job {request.job_id} to the broker: "
                                f"{error}") from None
        log.info("job %d handed to the workers (dispatch %s)", request.job_id, dispatch)
        return payload

    async def _follow(self, request: WorkRequest, payload: TaskPayload,
                      on_progress: ProgressCallback | None) -> WorkResult:
        job_id, dispatch = request.job_id, payload.dispatch
        last_id = "0-0"
        worker: str | None = None
        unreachable_since: float | None = None
        handed_at = time.monotonic()
        next_watch = handed_at + WATCH_EVERY_S
        while True:
            try:
                replies = await self.client.xread({events_key(dispatch): last_id}, count=100,
                                                  block=READ_BLOCK_MS)
                if time.monotonic() >= next_watch:
                    next_watch = time.monotonic() + WATCH_EVERY_S
                    await self._watch(job_id, dispatch, worker,
                                      unstarted_s=time.monotonic() - handed_at)
            except (RedisError, OSError) as error:
                stop_if_cancelled()
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since > BROKER_GRACE_S:
                    raise WorkerCrashed(f"lost the broker during job {job_id}: {error}") from None
                await asyncio.sleep(1.0)
                continue
            unreachable_since = None
            events = [(entry_id, decode_event(fields))
                      for _, entries in replies for entry_id, fields in entries]
            for index, (entry_id, event) in enumerate(events):
                last_id = entry_id
                match event:
                    case Started(worker=name, host=host):
                        worker = name
                        log.info("job %d started on %s (%s)", job_id, name, host)
                    case WorkProgress() if event.preview_jpeg is None and any(
                            isinstance(later, WorkProgress) for _, later in events[index + 1:]):
                        continue  # a bot slower than the steps gets the latest, every preview
                    case WorkProgress():
                        await report_progress(on_progress, event)
                    case Finished():
                        return await self._result(request, dispatch, event)
                    case WorkFailure():
                        await self._forget(job_id, dispatch)
                        raise event.exception()

    async def _watch(self, job_id: int, dispatch: str, worker: str | None, *,
                     unstarted_s: float) -> None:
        """Raises `WorkerCrashed` if the job can no longer end: Redis forgot the dispatch,
        the worker running it stopped beating, or its message is gone before it started."""
        current = await self.client.get(dispatch_of_job_key(job_id))
        if current is None or current.decode() != dispatch:
            raise WorkerCrashed(f"the broker lost job {job_id} (was Redis restarted?)")
        await self.client.expire(dispatch_of_job_key(job_id), self.settings.ttl_s)
        snapshot = self.fleet.snapshot
        if worker is not None and snapshot.broker_up and not self.fleet.alive(worker):
            raise WorkerCrashed(f"worker {worker} went away during job {job_id}")
        idle = any(info.state == "idle" for info in snapshot.live)
        if (worker is None and unstarted_s > UNSTARTED_GRACE_S and snapshot.broker_up
                and snapshot.broker_queue == 0 and idle):
            raise WorkerCrashed(f"job {job_id} was lost before a worker started it")

    async def _result(self, request: WorkRequest, dispatch: str,
                      finished: Finished) -> WorkResult:
        data = await self.client.get(blob_key(dispatch, "result"))
        if data is None:
            raise WorkerCrashed(f"the result of job {request.job_id} is gone from the broker")
        await asyncio.to_thread(Path(request.output_path).write_bytes, data)
        await self._forget(request.job_id, dispatch)
        return WorkResult(request.job_id, request.output_path, finished.size, finished.seconds,
                          finished.steps, finished.cut_at_s)

    async def _forget(self, job_id: int, dispatch: str) -> None:
        """The dispatch has ended: a copy of its message delivered again is dropped."""
        with contextlib.suppress(RedisError, OSError):
            await self.client.delete(dispatch_of_job_key(job_id))

    async def _set_cancel(self, dispatch: str) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.client.set(cancel_key(dispatch), 1, ex=self.settings.ttl_s)
