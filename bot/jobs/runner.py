"""The job loop: claim a job, fetch its inputs, run it on the worker with live status, deliver.

One job at a time per runner, each runner with its own worker (`bot.jobs.pool.RunnerPool` runs
one per worker; only the primary recovers, redelivers and keeps house). A run that produces no
result ends in one of the outcomes of `bot.jobs.outcomes` (retry, shrink and retry, fail with a
reason, cancelled), carried out here; a result goes to `bot.jobs.delivery`. What the user
sees (the status, the result) goes through the `Presenter` and the pictures come through
`Inputs` (`bot.jobs.ports`); undelivered results are sent again every `REDELIVER_EVERY_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from bot.config import Config
from bot.jobs.cancellation import stop_if_cancelled
from bot.jobs.delivery import Delivery, discard_files
from bot.jobs.disk_full import write_when_room
from bot.jobs.housekeeping import Housekeeping
from bot.jobs.model import Job, JobQueue, JobStatus
from bot.jobs.outcomes import Fail, Outcome, Retry, ShrinkAndRetry, UserCancelled, outcome_of
from bot.jobs.ports import Failure, InputGone, Inputs, Presenter, StatusDisplay
from bot.jobs.work import ClipSpec, JobCancelled, WorkProgress, WorkRequest, WorkResult
from bot.jobs.work_area import WorkArea
from bot.logs import log_context
from bot.settings import JobSettings
from bot.store import DatabaseFull, Store
from stylecore import (
    QUALITY_PRESETS,
    STYLE_STRENGTHS,
    StyleError,
    StyleParams,
    load_preset,
    save_image,
    write_atomic,
)

log = logging.getLogger("stylebot.runner")

PREVIEW_EVERY = 0.25
IDLE_POLL_S = 5.0
"""How often an idle runner looks at the queue without being woken (jobs of other processes)."""
REDELIVER_EVERY_S = 30.0
HOUSEKEEPING_EVERY_S = 3600.0
OUTAGE_NOTICE_AFTER_S = 30.0
"""With remote workers: how long none may be online before the waiting users are told (a worker
restarting is no news)."""
OUTAGE_CHECK_EVERY_S = 1.0
STOP_WAIT_S = 30.0
DATABASE_FULL_WAIT_S = 5.0
"""How often the queue looks again while the database is full."""


def build_params(settings: JobSettings, config: Config) -> StyleParams:
    """The engine parameters for a job's settings (with the operator's size/steps overrides)."""
    params = QUALITY_PRESETS[settings.quality]
    size = config.size_override or params.size
    return params.with_(
        size=max(32, round(size * settings.size_scale)),
        steps=config.steps_override or params.steps,
        style_strength=settings.style_strength or STYLE_STRENGTHS[settings.strength],
        preserve_colors="luminance" if settings.preserve_colors else None,
        keep_faces=settings.keep_faces,
    )


def clip_spec(job: Job, config: Config) -> ClipSpec | None:
    """How a clip job is painted (the operator's limits; a smaller long side after it ran out
    of memory); None for a picture."""
    if job.media == "photo":
        return None
    return ClipSpec(max_seconds=config.clip_max_seconds, max_fps=config.clip_max_fps,
                    max_side=max(32, round(config.clip_max_side * job.settings.size_scale)),
                    round_note=job.media == "round")


class Capacity(Protocol):
    """How many jobs the runners may hold at once, when that is not one per runner (the remote
    workers' count: `bot.jobs.remote.fleet.Fleet`)."""

    def free(self) -> bool: ...
    def take(self) -> None: ...
    def give_back(self) -> None: ...
    def workers_online(self) -> bool: ...


class Worker(Protocol):
    """What runs a job: the local process (`StyleWorker`) or the remote workers
    (`bot.jobs.remote.dispatcher.RemoteWorker`)."""

    @property
    def busy(self) -> bool: ...
    async def run(self, request: WorkRequest,
                  on_progress: Callable[[WorkProgress], Awaitable[None] | None] | None
                  ) -> WorkResult: ...
    def cancel(self, job_id: int) -> None: ...


class JobRunner:
    def __init__(
        self,
        store: Store,
        queue: JobQueue,
        worker: Worker,
        work: WorkArea,
        config: Config,
        claim_lock: asyncio.Lock,
        *,
        inputs: Inputs,
        presenter: Presenter,
        primary: bool = True,
        in_flight: set[int] | None = None,
        holds: Callable[[Job], Awaitable[bool]] | None = None,
        capacity: Capacity | None = None,
    ) -> None:
        """`inputs` fetches a job's pictures and `presenter` shows the job to its requester.
        `primary`: this runner recovers the queue, redelivers and keeps house (one per
        process). `in_flight`: ids of the jobs being processed, shared by all runners.
        `holds`: results not to deliver one by one (see `Delivery`). `capacity`: claim only
        while it is free (remote workers); None: whenever this runner is idle."""
        self.store = store
        self.queue = queue
        self.worker = worker
        self.work = work
        self.config = config
        self.claim_lock = claim_lock
        self.primary = primary
        self.in_flight = set() if in_flight is None else in_flight
        self.capacity = capacity
        self.inputs = inputs
        self.presenter = presenter
        self.current: Job | None = None
        self._cancelled: set[int] = set()
        self._instant: dict[int, bytes] = {}
        """The instant picture (JPEG) of the job being computed, once its first preview came."""
        self._kept: set[int] = set()
        """Jobs whose requester kept the instant picture: it is their result."""
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._last_redelivery = 0.0
        self.delivery = Delivery(queue, work, presenter, status_for=self._status,
                                 requeued=self.wake, holds=holds)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Recovers what a dead process left behind (if primary), then starts the loop."""
        if self.primary:
            requeued, failed = await self.queue.recover(self.config.max_attempts)
            if requeued or failed:
                log.info("recovered jobs: %d queued again, %d failed", len(requeued), len(failed))
            for job in failed:
                await self._tell_failure(job, Failure.TOO_MANY_ATTEMPTS)
        self._tasks = [asyncio.create_task(self._loop(), name="job-runner")]
        if self.primary:
            self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))
        if self.primary and self.capacity is not None:
            self._tasks.append(asyncio.create_task(self._tell_waiting_while_no_workers(),
                                                   name="outage-notice"))

    async def stop(self) -> None:
        """Cancels the loops; waits for them at most `STOP_WAIT_S` (shutting down must end)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_WAIT_S)
            for task in stuck:
                log.warning("%s did not stop in %.0f s; leaving it", task.get_name(), STOP_WAIT_S)
        self._tasks = []

    def wake(self) -> None:
        """A job was enqueued: look at the queue now."""
        self._wake.set()

    def cancel(self, job_id: int) -> None:
        """Stops a running job (its row is already cancelled by the caller)."""
        self._cancelled.add(job_id)
        if self.current is not None and self.current.id == job_id:
            self.worker.cancel(job_id)

    def keep_instant(self, job_id: int) -> bool:
        """Ends the job's careful run now and makes its instant picture the result; False if
        this runner is not computing it or has no instant picture of it (yet, or any more)."""
        if self.current is None or self.current.id != job_id or job_id not in self._instant:
            return False
        self._kept.add(job_id)
        self.worker.cancel(job_id)
        return True

    def cancel_user(self, user_id: int) -> None:
        if self.current is not None and self.current.user_id == user_id:
            self.cancel(self.current.id)

    # ------------------------------------------------------------------ the loop

    async def _loop(self) -> None:
        if self.primary:
            await self._redeliver()
        while True:
            try:
                if self.primary and time.monotonic() - self._last_redelivery > REDELIVER_EVERY_S:
                    await self._redeliver()
                async with self.claim_lock:  # the capacity check and the claim are one step
                    job = await self.queue.claim() if self._may_claim() else None
                    if job is not None:
                        self.in_flight.add(job.id)
                        if self.capacity is not None:
                            self.capacity.take()
                if job is None:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
                    continue
                try:
                    with log_context(job_id=job.id, chat_id=job.chat_id, user_id=job.user_id):
                        await self._process(job)
                finally:
                    self.in_flight.discard(job.id)
            except asyncio.CancelledError:
                raise
            except DatabaseFull as exc:  # nothing can be claimed until there is room
                log.warning("the database is full; the queue waits for room (%s)", exc)
                await asyncio.sleep(DATABASE_FULL_WAIT_S)
            except Exception:
                stop_if_cancelled()
                log.exception("job loop error; carrying on")
                await asyncio.sleep(1.0)

    def _may_claim(self) -> bool:
        return self.capacity is None or self.capacity.free()

    async def _redeliver(self) -> None:
        """Sends results computed before a restart (or whose delivery failed) again."""
        self._last_redelivery = time.monotonic()
        for job in await self.queue.pending_delivery():
            if job.id not in self.in_flight:  # another runner is sending it right now
                await self.delivery.deliver(job.id)

    async def _housekeeping(self) -> None:
        housekeeping = Housekeeping(self.store, self.queue, self.work, self.config)
        while True:
            await housekeeping.run()
            await asyncio.sleep(HOUSEKEEPING_EVERY_S)

    async def _tell_waiting_while_no_workers(self) -> None:
        """Once no remote worker has been online for `OUTAGE_NOTICE_AFTER_S`, each waiting job's
        status message says so, once per outage (jobs asked for meanwhile say it already)."""
        assert self.capacity is not None
        offline_since: float | None = None
        told: set[int] = set()
        while True:
            await asyncio.sleep(OUTAGE_CHECK_EVERY_S)
            if self.capacity.workers_online():
                offline_since = None
                told.clear()
                continue
            offline_since = offline_since or time.monotonic()
            if time.monotonic() - offline_since < OUTAGE_NOTICE_AFTER_S:
                continue
            try:
                for job in await self.queue.queue_snapshot():
                    if job.status != JobStatus.QUEUED or job.id in told:
                        continue
                    told.add(job.id)
                    ahead, eta = await self.queue.position(job.id)
                    await self._status(job).show_queued(ahead, eta, workers_online=False)
            except Exception:
                stop_if_cancelled()
                log.exception("telling the waiting users that no worker is online failed")

    # ------------------------------------------------------------------ one job

    async def _process(self, job: Job) -> None:
        self.current = job
        status = self._status(job)
        # Status updates go through the display's own task: in a busy group the rate limiter
        # may hold them back, and that must not hold back the jobs of other chats.
        status.show_starting()
        status.start()
        try:
            result_seconds = await self._compute(job, status)
        except BaseException:
            await status.stop()
            raise
        finally:
            self.current = None
            if self.capacity is not None:
                self.capacity.give_back()
        if result_seconds is not None:
            # The status stays live while the result uploads, so a preview that came due late
            # in the run still shows; delivery stops it before the message goes.
            await self.delivery.deliver(job.id, status=status, seconds=result_seconds)
        await status.stop()

    async def _compute(self, job: Job, status: StatusDisplay) -> float | None:
        """Runs the job on the worker; returns the seconds it took, or None if it did not
        produce a result (then its outcome has been carried out here)."""
        started = time.monotonic()
        result: WorkResult | None = None
        error: Exception | None = None
        try:
            result = await self._run_on_worker(job, status)
        except Exception as exc:
            stop_if_cancelled()  # a cancel disguised as an error is no outcome: the bot stops
            error = exc
        try:
            if job.id in self._kept and job.id not in self._cancelled:
                return await self._complete_with_instant(job, time.monotonic() - started)
            if result is None:
                await self._carry_out(outcome_of(error, job), job, status)
                return None
            clip = job.media != "photo"
            await write_when_room(lambda: self.queue.complete(
                job.id, str(result.output_path), seconds=result.seconds,
                frames=result.steps if clip else None, cut_at_s=result.cut_at_s),
                f"job {job.id}'s result")
            return result.seconds
        finally:
            self._kept.discard(job.id)
            self._instant.pop(job.id, None)

    async def _run_on_worker(self, job: Job, status: StatusDisplay) -> WorkResult:
        request = await self._prepare(job)
        if job.id in self._cancelled:
            raise JobCancelled(job.id)

        def on_progress(progress: WorkProgress) -> None:
            if progress.instant and progress.preview_jpeg:
                self._instant[job.id] = progress.preview_jpeg
            status.show_progress(progress, clip=request.clip is not None)

        async with self.presenter.busy(job):
            return await self.worker.run(request, on_progress)

    async def _complete_with_instant(self, job: Job, seconds: float) -> float:
        """The instant picture, kept by its requester, becomes the job's result."""
        path = self.work.result_path(job.id, ".jpg")
        await asyncio.to_thread(write_atomic, path, self._instant[job.id])
        await write_when_room(lambda: self.queue.complete(
            job.id, str(path), seconds=seconds, kept_instant=True), f"job {job.id}'s result")
        log.info("job %d: the instant picture was kept after %.1f s", job.id, seconds)
        return seconds

    async def _carry_out(self, outcome: Outcome, job: Job, status: StatusDisplay) -> None:
        match outcome:
            case UserCancelled():
                self._cancelled.discard(job.id)
                discard_files(self.work, job)  # gone before the user reads "Cancelled."
                await status.stop()
                await status.show_cancelled()
            case Retry(error=error, backoff=backoff, why=why):
                await asyncio.sleep(backoff)
                await self._retry(job, status, error=error, why=why)
            case ShrinkAndRetry(error=error, scale=scale):
                await self._retry(job, status, error=error,
                                  settings=job.settings.with_(size_scale=scale))
            case Fail(why=None, error=error):  # nobody to tell
                await write_when_room(lambda: self.queue.fail(job.id, error), f"job {job.id}")
                discard_files(self.work, job)
            case Fail(why=why, error=error):
                await self._give_up(job, status, why, error)

    async def _prepare(self, job: Job) -> WorkRequest:
        """Downloads the inputs (or takes them from the work area) and builds the request."""
        if not job.content_file_id:
            raise InputGone("file id expired")
        content = await self.inputs.fetch(job.user_id, job.content_file_id)
        style = await self._style(job, job.preset, job.style_file_id, "style.png")
        styles = [(str(style), 1.0)]
        settings = job.settings
        if settings.second_style and settings.blend > 0:
            kind, _, name = settings.second_style.partition(":")
            second = await self._style(job, name if kind == "preset" else None,
                                       name if kind == "file" else None, "second-style.png")
            styles = [(str(style), 1.0 - settings.blend), (str(second), settings.blend)]
        clip = clip_spec(job, self.config)
        return WorkRequest(
            job_id=job.id,
            content_path=str(content),
            styles=styles,
            params=build_params(job.settings, self.config),
            output_path=str(self.work.result_path(job.id, ".png" if clip is None else ".mp4")),
            preview_every=PREVIEW_EVERY if self._previews(job) else 0,
            clip=clip,
            mask_path=self._mask(job),
        )

    async def _style(self, job: Job, preset: str | None, file_id: str | None,
                     name: str) -> Path:
        """A style's file: the user's picture, or the preset's painting saved as `name`."""
        if file_id:
            return await self.inputs.fetch(job.user_id, file_id)
        if not preset:
            raise InputGone("job has no style")
        image = await asyncio.to_thread(load_preset, preset)
        path = self.work.job_dir(job.id) / name
        await asyncio.to_thread(save_image, image, path)
        return path

    def _mask(self, job: Job) -> str | None:
        """The studio's brush mask of a job, when it has one and it is still there (a mask
        that is gone is painted without: the style everywhere, rather than nothing)."""
        if not job.settings.mask:
            return None
        path = self.work.mask_path(job.user_id, job.settings.mask)
        if path is None or not path.is_file():
            log.warning("job %d: its brush mask is gone; painting without it", job.id)
            return None
        return str(path)

    def _status(self, job: Job) -> StatusDisplay:
        async def remember(message_id: int) -> None:
            await self.queue.set_status_message(job.id, message_id)

        return self.presenter.status(job, remember)

    def _previews(self, job: Job) -> bool:
        return self.config.previews and job.settings.previews

    async def _retry(self, job: Job, status: StatusDisplay, *, error: str,
                     settings: JobSettings | None = None,
                     why: Failure = Failure.TOO_MANY_ATTEMPTS) -> None:
        if job.attempts >= self.config.max_attempts:
            await self._give_up(job, status, why, error)
            return
        await write_when_room(lambda: self.queue.retry_later(job.id, settings=settings),
                              f"job {job.id}")
        await status.show_retrying()

    async def _give_up(self, job: Job, status: StatusDisplay, why: Failure | StyleError,
                       error: str) -> None:
        log.info("job %d failed: %s", job.id, error)
        await write_when_room(lambda: self.queue.fail(job.id, error), f"job {job.id}")
        await status.stop()
        await status.show_failure(why)
        discard_files(self.work, job)

    async def _tell_failure(self, job: Job, why: Failure) -> None:
        await self._status(job).show_failure(why)
        discard_files(self.work, job)
