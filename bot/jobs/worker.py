"""The TensorFlow work, in a dedicated child process that keeps the model loaded.

Why a process rather than a thread: a crash or an out-of-memory kill takes down only the child
(the bot answers the user and starts a fresh one), the bot's event loop never competes with
TensorFlow for the GIL, and the parent never imports TensorFlow at all.

Parent and child talk over a pipe: the parent sends ("run", seq, WorkRequest) or ("stop",);
the child answers ("progress", seq, Progress)* then ("done", seq, WorkResult) or
("failed", seq, kind, message, details). A thread in the parent reads the pipe and hands the
messages to the event loop, so waiting never blocks it. `seq` numbers the runs: a cancel names
the run it stops, and late messages from an abandoned run are recognised and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stylecore.errors import ImageError
from stylecore.params import StyleParams

log = logging.getLogger("stylebot.worker")

STOP_TIMEOUT_S = 10.0
CANCEL_GRACE_S = 30.0
"""How long an abandoned run may take to stop (one network evaluation, at most a few seconds)
before the child is killed as stuck."""
START_ATTEMPTS = 3
PREVIEW_JPEG_QUALITY = 80


@dataclass
class WorkRequest:
    job_id: int
    content_path: str
    styles: list[tuple[str, float]]
    """Style image paths with their blend weights."""
    params: StyleParams
    output_path: str
    """Where the child writes the result; the format follows the suffix (use .png)."""
    preview_every: float = 0.25
    """Share of the work between preview images (and one after each coarse stage, the first
    look); 0 = no previews."""


@dataclass
class Progress:
    job_id: int
    step: int
    """Optimiser iterations done, all stages together."""
    total: int
    fraction: float
    """Share of the job's work done, 0 to 1 (coarse iterations are cheap and count for less)."""
    elapsed: float
    eta: float | None
    preview_jpeg: bytes | None

    @property
    def percent(self) -> int:
        return int(100 * self.fraction)


@dataclass
class WorkResult:
    job_id: int
    output_path: str
    size: tuple[int, int]
    """(width, height) of the result."""
    seconds: float
    steps: int


class WorkerCrashed(Exception):
    """The worker process died mid-job (killed, OOM-killed, segfault) or could not start.
    A fresh process is started for the next run."""

    def __init__(self, message: str, exitcode: int | None = None):
        super().__init__(message)
        self.exitcode = exitcode


class JobCancelled(Exception):
    """The job was cancelled with `StyleWorker.cancel` (or its `run` task was cancelled)."""


class OutOfMemory(Exception):
    """TensorFlow or NumPy ran out of memory inside the job; a smaller size may work."""


class BadInput(Exception):
    """An input image the engine refuses: `error` is the engine's `ImageError` (its code and
    data), for the bot to word."""

    def __init__(self, error: ImageError):
        super().__init__(str(error))
        self.error = error


class WorkerError(Exception):
    """Any other failure of a job inside the worker (a bug): the child's traceback is in
    `details`. The worker itself is fine and takes the next job."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


ProgressCallback = Callable[[Progress], Awaitable[None] | None]

_EXITED = ("exited",)
"""Posted by the pipe reader when the child's end closes: the process is gone."""


class StyleWorker:
    """Runs style-transfer jobs one at a time in a child process, streaming progress back.

    `run` calls made while a job runs wait their turn. Cancelling the task awaiting `run`
    (e.g. `asyncio.wait_for` as a job timeout) abandons the job; a child that does not drop it
    within `cancel_grace` seconds is killed and replaced before the next run. `env` is added
    to the child's environment before it imports TensorFlow (`CUDA_VISIBLE_DEVICES` pins it to
    a GPU).
    """

    def __init__(self, *, warm_up: bool = True, cancel_grace: float = CANCEL_GRACE_S,
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
                    child.conn.send(("run", seq, request))
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
            message = await child.messages.get()
            if message[0] == "ready":
                child.ready = True
                child.telegram_loaded = message[2]
                self.starts += 1
                self.engine = message[3]
                log.info(
                    "worker process %d ready in %.1f s", child.pid, time.perf_counter() - started
                )
                return child
            if message[0] == "start_failed":
                log.error("worker start-up failed:\n%s", message[2])
                raise WorkerCrashed(f"the worker process could not start: {message[1]}")
            error = await _crashed(child, None)
            raise WorkerCrashed(f"the worker process could not start: {error}", error.exitcode)
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
                if message is _EXITED:
                    raise await _crashed(child, job_id)
                kind, message_seq = message[0], message[1]
                if message_seq != seq:
                    continue  # from a run abandoned earlier
                if kind == "done":
                    return message[2]
                if kind == "failed":
                    raise _job_error(*message[2:])
                progress: Progress = message[2]
                # A bot slower than the steps gets the latest step, but every preview.
                superseded = any(m[0] == "progress" and m[1] == seq for m in batch[index + 1 :])
                if progress.preview_jpeg is None and superseded:
                    continue
                await _report(on_progress, progress)


class _Child:
    """One worker process, the parent's end of its pipe, and the thread reading that pipe."""

    def __init__(
        self,
        ctx: Any,
        cancel_token: Any,
        warm_up: bool,
        loop: asyncio.AbstractEventLoop,
        on_exit: Callable[[_Child], None],
        env: dict[str, str],
    ):
        here, there = ctx.Pipe()
        self.process = ctx.Process(
            target=_child_main,
            args=(there, cancel_token, warm_up, env),
            name="stylebot-worker",
            daemon=True,
        )
        with _main_module_hidden():
            self.process.start()
        there.close()  # only the child holds its end: its death shows up here as end-of-file
        self.pid: int = self.process.pid
        self.conn = here
        self.messages: asyncio.Queue[tuple] = asyncio.Queue()
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

    def _deliver(self, message: tuple) -> None:
        if message is _EXITED:
            self.exited = True
            self._on_exit(self)
        elif message[0] in ("done", "failed"):
            self.finished_seq = message[1]
        self.messages.put_nowait(message)

    async def wait_exit(self, timeout: float) -> int | None:
        """Waits (off the event loop) for the process to end; returns its exit code."""
        await asyncio.get_running_loop().run_in_executor(None, self.process.join, timeout)
        return self.process.exitcode

    async def shutdown(self, timeout: float) -> None:
        """Asks the child to exit, kills it if it doesn't, and releases the pipe."""
        if not self.exited:
            with contextlib.suppress(OSError):
                self.conn.send(("stop",))
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


async def _report(on_progress: ProgressCallback | None, progress: Progress) -> None:
    if on_progress is None:
        return
    try:
        outcome = on_progress(progress)
        if inspect.isawaitable(outcome):
            await outcome
    except Exception:
        log.exception("progress callback failed for job %d", progress.job_id)


def _job_error(kind: str, message: Any, details: str = "") -> Exception:
    if kind == "cancelled":
        return JobCancelled(message)
    if kind == "bad_input":
        return BadInput(message)
    if kind == "oom":
        return OutOfMemory(message)
    return WorkerError(message, details)


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


# ---------------------------------------------------------------------- the child process


def _child_main(conn: Any, cancel_token: Any, warm_up: bool, env: dict[str, str]) -> None:
    """The worker process: loads the engine once, then runs jobs until told to stop or until
    the parent goes away (its end of the pipe closes)."""
    os.environ.update(env)  # before TensorFlow reads CUDA_VISIBLE_DEVICES
    # Ctrl+C in a terminal reaches the whole process group; the parent stops us in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from stylecore import transfer

        max_pixels = transfer.pixel_budget()  # STYLECORE_MAX_PIXELS_PER_RUN, checked up front
        if warm_up:
            transfer.warm_up()
        from stylecore.device import configure_devices, resolve_precision

        engine = {"device": configure_devices(), "precision": resolve_precision("auto")}
    except BaseException as error:
        _send(conn, ("start_failed", f"{type(error).__name__}: {error}", traceback.format_exc()))
        return
    if not _send(conn, ("ready", os.getpid(), "telegram" in sys.modules, engine)):
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] != "run":
            return
        _, seq, request = message
        if not _send(conn, _run_job(conn, seq, request, cancel_token, max_pixels)):
            return


def _send(conn: Any, message: tuple) -> bool:
    try:
        conn.send(message)
    except OSError:  # the parent is gone
        return False
    return True


def _run_job(conn: Any, seq: int, request: WorkRequest, cancel_token: Any,
             max_pixels: int | None) -> tuple:
    """Runs one job; returns the message that ends it. A working image over `max_pixels`
    ends it as out of memory, like a device that ran out."""
    import tensorflow as tf

    from stylecore.images import ImageError, decode_image, encode_image, save_image
    from stylecore.transfer import Cancelled, stylize
    from stylecore.transfer import Progress as EngineProgress

    started = time.perf_counter()
    previews = _PreviewSchedule(request.preview_every)

    def on_progress(progress: EngineProgress) -> None:
        elapsed = time.perf_counter() - started
        fraction = progress.fraction
        eta = max(elapsed / fraction * (1 - fraction), 0.0) if fraction else None
        jpeg = None
        if previews.due(progress):
            jpeg = encode_image(progress.preview(), "jpeg", quality=PREVIEW_JPEG_QUALITY)
        # Raises if the parent is gone, which ends the job.
        update = Progress(
            request.job_id, progress.step, progress.total, fraction, elapsed, eta, jpeg
        )
        conn.send(("progress", seq, update))

    try:
        # Decoded no bigger than the job needs: the engine scales both to `params.size`.
        size = request.params.size
        content = decode_image(request.content_path, needed_side=size)
        styles = [(decode_image(path, needed_side=size), weight)
                  for path, weight in request.styles]
        result = stylize(
            content,
            styles,
            request.params,
            on_progress=on_progress,
            should_stop=lambda: cancel_token.value == seq,
            max_pixels=max_pixels,
        )
        save_image(result.image, request.output_path)
    except Cancelled:
        return ("failed", seq, "cancelled", f"job {request.job_id} was cancelled")
    except ImageError as error:
        return ("failed", seq, "bad_input", error)
    except (MemoryError, tf.errors.ResourceExhaustedError) as error:
        return ("failed", seq, "oom", f"{type(error).__name__}: {str(error)[:300]}")
    except Exception as error:
        return ("failed", seq, "error", f"{type(error).__name__}: {error}", traceback.format_exc())
    seconds = time.perf_counter() - started
    done = WorkResult(request.job_id, request.output_path, result.size, seconds, result.steps)
    return ("done", seq, done)


class _PreviewSchedule:
    """When a job shows a preview: after each coarse stage (a first look, early and cheap) and
    each time the work crosses another `every` of the whole, never at the end (the result
    itself follows then)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.shown = 0  # previews so far at the `every` marks
        self.stage = 0

    def due(self, progress: Any) -> bool:
        if self.every <= 0 or progress.fraction >= 1.0:
            return False
        stage_ended = progress.stage > self.stage
        self.stage = progress.stage
        mark = int(progress.fraction / self.every + 1e-9)
        crossed = mark > self.shown
        self.shown = max(self.shown, mark)
        return stage_ended or crossed
