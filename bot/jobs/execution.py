"""One job on the engine, wherever it runs: decode the inputs, stylise with progress and
previews, save the result (a clip: `bot.jobs.clip_execution`). The local worker process
(`bot.jobs.child`) and the remote Celery worker (`bot.jobs.remote.task`) both call `execute`;
they differ only in how progress travels back and how a cancel arrives. Imports TensorFlow,
never python-telegram-bot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from bot.jobs.work import (
    PREVIEW_JPEG_QUALITY,
    WorkFailure,
    WorkProgress,
    WorkRequest,
    WorkResult,
    out_of_room,
)
from stylecore import ImageError

WarmUp = bool | Literal["instant"]
"""Whether a worker traces the engine as it starts: all of it (True), nothing (False), or only
the instant painter and the face detector ("instant": the studio's preview worker)."""


def load_engine(*, warm_up: WarmUp) -> tuple[int | None, dict[str, str]]:
    """Imports TensorFlow and builds the network (traced once if `warm_up`); returns the
    operator's pixel budget per run and the device and precision the engine uses. Raises
    whatever stops the engine from loading (no weights, a bad setting)."""
    from stylecore import QUALITY_PRESETS, configure_devices, pixel_budget, resolve_precision
    from stylecore import warm_up as warm_up_engine

    max_pixels = pixel_budget()  # STYLECORE_MAX_PIXELS_PER_RUN, checked up front
    if warm_up == "instant":
        from stylecore import detect_faces

        warm_up_engine(QUALITY_PRESETS["instant"])
        detect_faces(np.full((32, 32, 3), 0.5, np.float32))
    elif warm_up:
        warm_up_engine()
    return max_pixels, {"device": configure_devices(), "precision": resolve_precision("auto")}


def execute(
    request: WorkRequest,
    *,
    report: Callable[[WorkProgress], None],
    should_stop: Callable[[], bool],
    max_pixels: int | None,
) -> WorkResult | WorkFailure:
    """Runs one job. `report` gets every optimiser step (an exception from it ends the job as
    an error); `should_stop` is asked between evaluations and ends it as cancelled. A working
    image over `max_pixels` ends it as out of memory, like a device that ran out."""
    import tensorflow as tf

    from stylecore import Cancelled, Progress, decode_image, encode_image, save_image, stylize

    started = time.perf_counter()
    previews = PreviewSchedule(request.preview_every)

    def on_progress(progress: Progress) -> None:
        elapsed = time.perf_counter() - started
        fraction = progress.fraction
        eta = max(elapsed / fraction * (1 - fraction), 0.0) if fraction else None
        jpeg = None
        if previews.due(progress):
            jpeg = encode_image(progress.preview(), "jpeg", quality=PREVIEW_JPEG_QUALITY)
        report(WorkProgress(request.job_id, progress.step, progress.total, fraction, elapsed, eta,
                            jpeg, instant=progress.instant and jpeg is not None))

    try:
        if request.clip is not None:
            from bot.jobs.clip_execution import execute_clip

            return execute_clip(request, request.clip, report=report, should_stop=should_stop)
        # Decoded no bigger than the job needs: the engine scales both to `params.size`.
        size = request.params.size
        content = decode_image(request.content_path, needed_side=size)
        styles = [(decode_image(path, needed_side=size), weight)
                  for path, weight in request.styles]
        mask = (None if request.mask_path is None
                else decode_image(request.mask_path, needed_side=size)[..., 0])
        result = stylize(content, styles, request.params, on_progress=on_progress,
                         should_stop=should_stop, max_pixels=max_pixels, mask=mask)
        save_image(result.image, request.output_path)
    except Cancelled:
        return WorkFailure("cancelled", f"job {request.job_id} was cancelled")
    except ImageError as error:
        return WorkFailure("bad_input", str(error), image_error=error)
    except (MemoryError, tf.errors.ResourceExhaustedError) as error:
        return WorkFailure("oom", f"{type(error).__name__}: {str(error)[:300]}")
    except Exception as error:
        if out_of_room(error):
            return WorkFailure("no_space", f"{type(error).__name__}: {error}")
        import traceback

        return WorkFailure("error", f"{type(error).__name__}: {error}", traceback.format_exc())
    return WorkResult(request.job_id, request.output_path, result.size,
                      time.perf_counter() - started, result.steps)


class PreviewSchedule:
    """When a job shows a preview: first the instant network's picture, before the optimiser's
    first step (the engine marks it `instant`); half way through a run's coarsest stage (the
    first look: the colours and big shapes are there already, at a tenth of the job's time or
    so), after each coarse stage, and each time the work crosses another `every` of the whole;
    never at the end (the result itself follows then)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.shown = 0  # previews so far at the `every` marks
        self.stage = 0
        self.first_look = False

    def due(self, progress: Any) -> bool:
        if self.every <= 0 or progress.fraction >= 1.0:
            return False
        if getattr(progress, "instant", False):
            return True
        first_look = (progress.stages > 1 and progress.stage == 0 and not self.first_look
                      and progress.stage_fraction >= 0.5)
        self.first_look = self.first_look or first_look
        stage_ended = progress.stage > self.stage
        self.stage = progress.stage
        mark = int(progress.fraction / self.every + 1e-9)
        crossed = mark > self.shown
        self.shown = max(self.shown, mark)
        return first_look or stage_ended or crossed
