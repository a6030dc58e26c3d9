"""One clip job on the engine: the instant network paints each frame in the job's style(s)
(`stylecore.clips.stylize_clip` streams the frames), with the first painted frame as the
preview and the progress in frames. Called by `bot.jobs.execution.execute` wherever the job
runs (local worker process, remote Celery worker). Imports the engine, never
python-telegram-bot.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from bot.jobs.protocol import ClipSpec, Progress, WorkRequest, WorkResult

PREVIEW_JPEG_QUALITY = 80


def identity_weight(style_strength: float) -> float:
    """How far toward the style each frame goes (1: all the way), from the job's style
    strength (`StyleParams.style_strength`: 0.15 low, 1 normal, 3 high): the style vector is
    interpolated with the clip's own, so a weak style keeps more of the picture."""
    return style_strength / (style_strength + 0.18)


def frame_painter(styles: list[tuple[np.ndarray, float]], style_strength: float,
                  precision: str) -> Callable[[np.ndarray], np.ndarray]:
    """A `FramePainter` for the blend of `styles` (images with weights) by the instant
    network: the style vector is computed once per job, and interpolated with the clip's own
    (from its first frame) by the strength. Without the instant network (its weights missing
    here), the engine's fallback painter for the first style (`stylecore.clips.clip_painter`,
    slow, full strength)."""
    from stylecore.clips import clip_painter
    from stylecore.images import resize_to

    try:
        from stylecore.instant import InstantUnavailable, instant_painter
    except ImportError:
        return clip_painter(styles[0][0], precision)
    try:
        network = instant_painter(precision)
    except InstantUnavailable:
        return clip_painter(styles[0][0], precision)
    total = sum(weight for _, weight in styles) or 1.0
    style = sum(network.style_vector(image) * (weight / total) for image, weight in styles)
    weight = identity_weight(style_strength)
    vector: list[np.ndarray] = []

    def paint(frame: np.ndarray) -> np.ndarray:
        if not vector:
            own = network.style_vector(frame)
            vector.append(weight * style + (1.0 - weight) * own)
        painted = np.clip(np.asarray(network.paint(frame, vector[0]), np.float32), 0.0, 1.0)
        if painted.shape[:2] != frame.shape[:2]:
            painted = resize_to(painted, frame.shape[0], frame.shape[1])
        return painted

    return paint


def execute_clip(request: WorkRequest, clip: ClipSpec, *,
                 report: Callable[[Progress], None],
                 should_stop: Callable[[], bool]) -> WorkResult:
    """Paints the clip; raises what the engine raises (`Cancelled` once `should_stop` says
    so between frames, `MemoryError`), and an `ImageError` with the code of the engine's
    `ClipError` for a clip it cannot use (the refusal travels and is worded like an
    image's)."""
    from stylecore.clips import Cancelled, ClipError, ClipLimits, ClipProgress, stylize_clip
    from stylecore.device import resolve_precision
    from stylecore.errors import ImageError
    from stylecore.images import decode_image, encode_image

    started = time.perf_counter()
    limits = ClipLimits(max_seconds=clip.max_seconds, max_fps=clip.max_fps,
                        max_side=clip.max_side)
    styles = [(decode_image(path, needed_side=512), weight) for path, weight in request.styles]
    painter = frame_painter(styles, request.params.style_strength, resolve_precision("auto"))

    def on_progress(progress: ClipProgress) -> None:
        elapsed = time.perf_counter() - started
        fraction = min(progress.frame / max(progress.frames, 1), 1.0)
        eta = elapsed / fraction * (1 - fraction) if fraction else None
        jpeg = None
        if progress.frame == 1 and request.preview_every > 0 and fraction < 1.0:
            jpeg = encode_image(progress.preview(), "jpeg", quality=PREVIEW_JPEG_QUALITY)
        report(Progress(request.job_id, progress.frame, progress.frames, fraction, elapsed,
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
                      time.perf_counter() - started, result.frames)
