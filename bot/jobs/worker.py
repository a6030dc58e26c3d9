"""The TensorFlow work, in a dedicated child process that keeps the model loaded.

Why a process rather than a thread: a crash or an out-of-memory kill takes down only the child
(the bot answers the user and starts a fresh one), the bot's event loop never competes with
TensorFlow for the GIL, and the parent never imports TensorFlow at all.

Parent and child talk over a pipe in the typed messages of `bot.jobs.protocol`; the child's
side is `bot.jobs.child`. A thread in the parent reads the pipe and hands the messages to the
event loop, so waiting never blocks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import multiprocessing
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from bot.jobs.child import child_main
from bot.jobs.execution import WarmUp
from bot.jobs.pipe import Done, Exited, Failed, FromChild, Progressed, Ready, Run, StartFailed, Stop
from bot.jobs.work import (
    WorkerCrashed,
    WorkProgress,
    WorkRequest,
    WorkResult,
)

log = logging.getLogger("stylebot.worker")

STOP_TIMEOUT_S = 10.0
CANCEL_GRACE_S = 30.0
"""How long an abandoned run may take to stop (one network evaluation, at most a few seconds)
before the child is killed as stuck."""
START_ATTEMPTS = 3


ProgressCallback = Callable[[WorkProgress], Awaitable[None] | None]

_EXITED = Exited()


class StyleWorker:
    """Runs style-transfer jobs one at a time in a child process, streaming progress back.

    `run` calls made while a job runs wait their turn. Cancelling the task awaiting `run`
    (e.g. `asyncio.wait_for` as a job timeout) abandons the job; a child that does not drop it
    within `cancel_grace` seconds is killed and replaced before the next run. `env` is added
    to the child's environment before it imports TensorFlow (`CUDA_VISIBLE_DEVICES` pins it to
    a GPU).
    """

    def __init__(self, *, warm_up: WarmUp = True, cancel_grace: float = CANCEL_GRACE_S,
                 env: Mapping[str, str] | None = None):
        self._warm_up = warm_up
        self.cancel_grace = cancel_grace
        self._ctx = multiprocessing.get_context("spawn")
        # The seq of the run the child should abandon. A value naming a run, rather than an
        # Event to clear between jobs, makes a late cancel of a finished run harmless.
        self._cancel_token = self._ctx.Value("q", 0, lock=False)
        self._child: _Child | None = None
        self._starting: asyncio.Task[_Child] | None = None
        self._run_lock = asyncio.Lock()
        self._seq = 0
        self._current: tuple[int, int] | None = None  # (job_id, seq) of the run in progress
        self._stopping = False
        self._abandoned: asyncio.Task[None] | None = None  # reaps a run whose task was cancelled
        self._env = dict(env or {})
        self.starts = 0
        """Child processes that became ready; all but the first are restarts."""
        self.engine: dict[str, str] | None = None
        """The device and precision the last ready child reported."""

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and not child.exited else None

    @property
    def busy(self) -> bool:
        return self._run_lock.locked()

    async def start(self) -> None:
        """Starts the child (importing TensorFlow and building the model) unless it is up;
        returns once it is ready. Raises `WorkerCrashed` if it cannot start."""
        self._stopping = False
        await self._ensure_child()

    async def run(self, request: WorkRequest, on_progress: ProgressCallback | None) -> WorkResult:
        """Runs one job in the child. `on_progress` (plain or async) gets every step while the
        bot keeps up, and always the steps carrying previews; its exceptions are logged, not
        raised. Raises `JobCancelled`, `BadInput`, `OutOfMemory`, `WorkerCrashed` or
        `WorkerError`."""
        async with self._run_lock:
            self._stopping = False
            if self._abandoned is not None:
                await asyncio.shield(self._abandoned)
            child = await self._ensure_child()
            self._seq += 1
            seq = self._seq
            self._current = (request.job_id, seq)
            try:
                try:
                    child.conn.send(Run(seq, request))
                except OSError:
                    raise await _crashed(child, request.job_id) from None
                return await self._follow(child, seq, request.job_id, on_progress)
            except asyncio.CancelledError:
                self._cancel_token.value = seq  # the child drops the job within a step
                self._abandoned = asyncio.ensure_future(self._reap_abandoned(child, seq))
                raise
            finally:
                self._current = None

    def cancel(self, job_id: int) -> None:
        """Makes the running job `job_id` raise `JobCancelled` within about one step; does
        nothing if that job is not the one running."""
        current = self._current
        if current is not None and current[0] == job_id:
            self._cancel_token.value = current[1]

    async def stop(self) -> None:
        """Stops the child (abandoning a running job) and waits for it to exit."""
        self._stopping = True
        self._cancel_token.value = self._seq
        if self._abandoned is not None:
            self._abandoned.cancel()
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._starting
        child, self._child = self._child, None
        if child is not None:
            await child.shutdown(STOP_TIMEOUT_S)

    # ------------------------------------------------------------------ internals

    async def _ensure_child(self) -> _Child:
        for _ in range(START_ATTEMPTS):
            if self._child is not None and not self._child.exited:
                return self._child
            if self._starting is None:
                self._starting = asyncio.ensure_future(self._spawn())
                self._starting.add_done_callback(self._start_finished)
            self._child = await asyncio.shield(self._starting)
        raise WorkerCrashed("the worker process keeps exiting right after it starts")

    async def _reap_abandoned(self, child: _Child, seq: int) -> None:
        """Waits until the child has dropped run `seq`, killing it if it takes too long."""
        deadline = time.monotonic() + self.cancel_grace
        try:
            while child.finished_seq < seq and not child.exited:
                if time.monotonic() > deadline:
                    log.warning(
                        "worker process %d ignored a cancel for %.0f s; killing it",
                        child.pid,
                        self.cancel_grace,
                    )
                    child.process.kill()
                    while not child.exited:  # until the loop has seen the exit (and restarts)
                        await asyncio.sleep(0.05)
                    break
                await asyncio.sleep(0.05)
        finally:
            if self._abandoned is asyncio.current_task():
                self._abandoned = None

    def _start_finished(self, task: asyncio.Task[_Child]) -> None:
        if self._starting is task:
            self._starting = None
        if not task.cancelled() and task.exception() is not None:
            log.error("%s", task.exception())

    async def _spawn(self) -> _Child:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        child = _Child(self._ctx, self._cancel_token, self._warm_up, loop, self._child_exited,
                       self._env)
        try:
            match await child.messages.get():
                case Ready(telegram_loaded=telegram_loaded, engine=engine):
                    child.ready = True
                    child.telegram_loaded = telegram_loaded
                    self.starts += 1
                    self.engine = engine
                    log.info("worker process %d ready in %.1f s", child.pid,
                             time.perf_counter() - started)
                    return child
                case StartFailed(error=error, traceback=details):
                    log.error("worker start-up failed:\n%s", details)
                    raise WorkerCrashed(f"the worker process could not start: {error}")
            crash = await _crashed(child, None)
            raise WorkerCrashed(f"the worker process could not start: {crash}", crash.exitcode)
        except BaseException:
            await child.shutdown(STOP_TIMEOUT_S)
            raise

    def _child_exited(self, child: _Child) -> None:
        """Called on the event loop when a child's pipe closes."""
        if child is not self._child:
            return
        self._child = None
        if child.ready and not self._stopping and self._starting is None:
            log.warning("worker process %d exited; starting a fresh one", child.pid)
            self._starting = asyncio.ensure_future(self._spawn())
            self._starting.add_done_callback(self._start_finished)

    async def _follow(
        self, child: _Child, seq: int, job_id: int, on_progress: ProgressCallback | None
    ) -> WorkResult:
        """Relays the child's messages about run `seq` until its outcome."""
        while True:
            batch = [await child.messages.get()]
            while not child.messages.empty():
                batch.append(child.messages.get_nowait())
            for index, message in enumerate(batch):
                match message:
                    case Exited():
                        raise await _crashed(child, job_id)
                    case Done(seq=done_seq, result=result) if done_seq == seq:
                        return result
                    case Failed() if message.seq == seq:
                        raise message.failure.exception()
                    case Progressed(seq=progress_seq, progress=progress) if progress_seq == seq:
                        # A bot slower than the steps gets the latest step, but every preview.
                        superseded = any(isinstance(later, Progressed) and later.seq == seq
                                         for later in batch[index + 1:])
                        if progress.preview_jpeg is None and superseded:
                            continue
                        await report_progress(on_progress, progress)
                    # anything else is from a run abandoned earlier


class _Child:
    """One worker process, the parent's end of its pipe, and the thread reading that pipe."""

    def __init__(
        self,
        ctx: Any,
        cancel_token: Any,
        warm_up: WarmUp,
        loop: asyncio.AbstractEventLoop,
        on_exit: Callable[[_Child], None],
        env: dict[str, str],
    ):
        here, there = ctx.Pipe()
        self.process = ctx.Process(
            target=child_main,
            args=(there, cancel_token, warm_up, env),
            name="stylebot-worker",
            daemon=True,
        )
        with _main_module_hidden():
            self.process.start()
        there.close()  # only the child holds its end: its death shows up here as end-of-file
        self.pid: int = self.process.pid
        self.conn = here
        self.messages: asyncio.Queue[FromChild] = asyncio.Queue()
        self.ready = False
        self.exited = False
        self.telegram_loaded = False
        self.finished_seq = 0
        """The last run the child answered with "done" or "failed"."""
        self._loop = loop
        self._on_exit = on_exit
        self._reader = threading.Thread(
            target=self._read, name=f"stylebot-worker-pipe-{self.pid}", daemon=True
        )
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                message = _EXITED
            except Exception:
                # An unreadable message: this child can't be trusted any more. Killing it
                # turns into end-of-file below, and the usual crash handling.
                log.exception("unreadable message from worker process %d", self.pid)
                self.process.kill()
                continue
            try:
                self._loop.call_soon_threadsafe(self._deliver, message)
            except RuntimeError:  # the event loop is closed: nobody is listening
                return
            if message is _EXITED:
                return

    def _deliver(self, message: FromChild) -> None:
        match message:
            case Exited():
                self.exited = True
                self._on_exit(self)
            case Done(seq=seq) | Failed(seq=seq):
                self.finished_seq = seq
        self.messages.put_nowait(message)

    async def wait_exit(self, timeout: float) -> int | None:
        """Waits (off the event loop) for the process to end; returns its exit code."""
        await asyncio.get_running_loop().run_in_executor(None, self.process.join, timeout)
        return self.process.exitcode

    async def shutdown(self, timeout: float) -> None:
        """Asks the child to exit, kills it if it doesn't, and releases the pipe."""
        if not self.exited:
            with contextlib.suppress(OSError):
                self.conn.send(Stop())
        if await self.wait_exit(timeout) is None:
            log.warning("worker process %d did not stop in %.0f s; killing it", self.pid, timeout)
            self.process.kill()
            await self.wait_exit(timeout)
        await asyncio.get_running_loop().run_in_executor(None, self._reader.join, timeout)
        self.conn.close()


async def _crashed(child: _Child, job_id: int | None) -> WorkerCrashed:
    exitcode = await child.wait_exit(STOP_TIMEOUT_S)
    if exitcode is None:
        how = "it stopped answering"
    elif exitcode < 0:
        how = f"killed by {signal.Signals(-exitcode).name}"
    else:
        how = f"exit code {exitcode}"
    during = f" during job {job_id}" if job_id is not None else ""
    return WorkerCrashed(f"the worker process died{during} ({how})", exitcode)


async def report_progress(on_progress: ProgressCallback | None, progress: WorkProgress) -> None:
    if on_progress is None:
        return
    try:
        outcome = on_progress(progress)
        if inspect.isawaitable(outcome):
            await outcome
    except Exception:
        log.exception("progress callback failed for job %d", progress.job_id)


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Keeps a spawned child from re-running the parent's main script.

    "spawn" re-imports the parent's `__main__` in the child, for functions defined there. The
    child needs nothing from it (its entry point lives here), and the bot's main script
    imports python-telegram-bot, which the worker must not load."""
    main = sys.modules["__main__"]
    saved = {name: main.__dict__[name] for name in ("__spec__", "__file__") if name in vars(main)}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.update(saved)
