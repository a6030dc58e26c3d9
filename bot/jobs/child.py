"""The worker process: loads the engine once, then runs jobs sent over the pipe
(`bot.jobs.protocol`) until told to stop or until the parent goes away.

Started by `bot.jobs.worker.StyleWorker` with multiprocessing's "spawn"; it imports TensorFlow,
never python-telegram-bot.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from typing import Any

from bot.jobs.protocol import (
    Done,
    Failed,
    FromChild,
    Progress,
    Progressed,
    Ready,
    Run,
    StartFailed,
    WorkRequest,
    WorkResult,
)
from stylecore.errors import ImageError

PREVIEW_JPEG_QUALITY = 80


def child_main(conn: Any, cancel_token: Any, warm_up: bool, env: dict[str, str]) -> None:
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
        _send(conn, StartFailed(f"{type(error).__name__}: {error}", traceback.format_exc()))
        return
    if not _send(conn, Ready(os.getpid(), "telegram" in sys.modules, engine)):
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        match message:
            case Run(seq=seq, request=request):
                if not _send(conn, _run_job(conn, seq, request, cancel_token, max_pixels)):
                    return
            case _:  # Stop, or anything unexpected
                return


def _send(conn: Any, message: FromChild) -> bool:
    try:
        conn.send(message)
    except OSError:  # the parent is gone
        return False
    return True


def _run_job(conn: Any, seq: int, request: WorkRequest, cancel_token: Any,
             max_pixels: int | None) -> Done | Failed:
    """Runs one job; returns the message that ends it. A working image over `max_pixels`
    ends it as out of memory, like a device that ran out."""
    import tensorflow as tf

    from stylecore.images import decode_image, encode_image, save_image
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
        conn.send(Progressed(seq, update))

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
        return Failed(seq, "cancelled", f"job {request.job_id} was cancelled")
    except ImageError as error:
        return Failed(seq, "bad_input", str(error), image_error=error)
    except (MemoryError, tf.errors.ResourceExhaustedError) as error:
        return Failed(seq, "oom", f"{type(error).__name__}: {str(error)[:300]}")
    except Exception as error:
        return Failed(seq, "error", f"{type(error).__name__}: {error}", traceback.format_exc())
    seconds = time.perf_counter() - started
    return Done(seq, WorkResult(request.job_id, request.output_path, result.size, seconds,
                                result.steps))


class _PreviewSchedule:
    """When a job shows a preview: half way through a run's coarsest stage (the first look:
    the colours and big shapes are there already, at a tenth of the job's time or so), after
    each coarse stage, and each time the work crosses another `every` of the whole; never at
    the end (the result itself follows then)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.shown = 0  # previews so far at the `every` marks
        self.stage = 0
        self.first_look = False

    def due(self, progress: Any) -> bool:
        if self.every <= 0 or progress.fraction >= 1.0:
            return False
        first_look = (progress.stages > 1 and progress.stage == 0 and not self.first_look
                      and progress.stage_fraction >= 0.5)
        self.first_look = self.first_look or first_look
        stage_ended = progress.stage > self.stage
        self.stage = progress.stage
        mark = int(progress.fraction / self.every + 1e-9)
        crossed = mark > self.shown
        self.shown = max(self.shown, mark)
        return first_look or stage_ended or crossed
