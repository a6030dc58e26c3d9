"""One clip job on the engine: the instant network paints each frame in the job's style(s)
(`stylecore.stylize_clip` streams the frames), with the first painted frame as the
preview and the progress in frames. Called by `bot.jobs.execution.execute` wherever the job
runs (local worker process, remote Celery worker). Imports the engine, never
python-telegram-bot.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from bot.jobs.work import PREVIEW_JPEG_QUALITY, ClipSpec, WorkProgress, WorkRequest, WorkResult
from stylecore import StyleParams


def frame_painter(styles: list[tuple[np.ndarray, float]], params: StyleParams,
                  precision: str) -> Callable[[np.ndarray], np.ndarray]:
    """A `FramePainter` for the job: each frame painted by the instant network exactly as an
    instant picture is (`stylecore.instant.run.paint_instantly`: the styles' vectors mixed by
    weight and computed once, the strength as identity interpolation, the photo's colours kept
    if asked). Without the instant network (its weights missing here), the engine's fallback
    painter for the first style (`stylecore.clip_painter`, slow, full strength)."""
    from stylecore import clip_painter, resize_to

    try:
        from stylecore import InstantUnavailable, instant_painter, paint_instantly
    except ImportError:
        return clip_painter(styles[0][0], precision)
    try:
        network = instant_painter(precision)
    except InstantUnavailable:
        return clip_painter(styles[0][0], precision)
    total = sum(weight for _, weight in styles) or 1.0
    styles = [(image, weight / total) for image, weight in styles]

    def paint(frame: np.ndarray) -> np.ndarray:
        painted = np.clip(paint_instantly(network, frame, styles, params), 0.0, 1.0)
        if painted.shape[:2] != frame.shape[:2]:
            painted = resize_to(painted, frame.shape[0], frame.shape[1])
        return painted.astype(np.float32)

    return paint


def execute_clip(request: WorkRequest, clip: ClipSpec, *,
                 report: Callable[[WorkProgress], None],
                 should_stop: Callable[[], bool]) -> WorkResult:
    """Paints the clip; raises what the engine raises (`Cancelled` once `should_stop` says
    so between frames, `MemoryError`), and an `ImageError` with the code of the engine's
    `ClipError` for a clip it cannot use (the refusal travels and is worded like an
    image's)."""
    from stylecore import (
        Cancelled,
        ClipError,
        ClipLimits,
        ClipProgress,
        ImageError,
        decode_image,
        encode_image,
        resolve_precision,
        stylize_clip,
    )

    started = time.perf_counter()
    limits = ClipLimits(max_seconds=clip.max_seconds, max_fps=clip.max_fps,
                        max_side=clip.max_side)
    styles = [(decode_image(path, needed_side=512), weight) for path, weight in request.styles]
    painter = frame_painter(styles, request.params, resolve_precision("auto"))

    def on_progress(progress: ClipProgress) -> None:
        elapsed = time.perf_counter() - started
        fraction = min(progress.frame / max(progress.frames, 1), 1.0)
        eta = elapsed / fraction * (1 - fraction) if fraction else None
        jpeg = None
        if progress.frame == 1 and request.preview_every > 0 and fraction < 1.0:
            jpeg = encode_image(progress.preview(), "jpeg", quality=PREVIEW_JPEG_QUALITY)
        report(WorkProgress(request.job_id, progress.frame, progress.frames, fraction, elapsed,
                        eta, jpeg))

    try:
        result = stylize_clip(request.content_path, request.output_path, painter, limits,
                              round_note=clip.round_note, on_progress=on_progress,
                              should_stop=should_stop)
    except Exception as error:
        if should_stop():  # however the engine words a stop, it is the user's cancel
            raise Cancelled() from None
        if isinstance(error, ClipError):  # worded for the user by its code, like an image's
            raise ImageError(error.code, **error.data) from error
        raise
    return WorkResult(request.job_id, request.output_path, (result.width, result.height),
                      time.perf_counter() - started, result.frames, result.cut_at_s)
