"""Painting a whole clip: decode, paint with steady strokes, encode, one frame at a time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stylecore.clips.decode import ClipLimits, open_clip
from stylecore.clips.encode import ClipWriter, note_side, square_crop
from stylecore.clips.temporal import CARRY, FramePainter, StrokeCarrier
from stylecore.errors import Cancelled


@dataclass(frozen=True)
class ClipProgress:
    frame: int
    """Frames painted so far (1 after the first)."""
    frames: int
    """Frames expected in all (an estimate from the headers until the clip ends)."""
    preview: Callable[[], np.ndarray]
    """The latest painted frame, float32 (H, W, 3) in [0, 1]."""


@dataclass(frozen=True)
class ClipResult:
    output_path: str
    width: int
    height: int
    duration_s: float
    frames: int
    seconds: float
    """Wall time of decoding, painting and encoding."""
    scene_cuts: int = 0
    carried: float = 0.0
    """Mean share of each frame carried over from the previous one (0: painted afresh)."""
    cut_at_s: float | None = None
    """The clip went on past `ClipLimits.max_seconds`: painted up to there (None: whole)."""


def stylize_clip(input_path: str, output_path: str, painter: FramePainter, limits: ClipLimits,
                 *, round_note: bool = False,
                 on_progress: Callable[[ClipProgress], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 carry: float = CARRY) -> ClipResult:
    """Paints the clip at `input_path` into a silent H.264 MP4 at `output_path` (a square
    one when `round_note`: a round video note comes back round).

    Frames are decoded within `limits`, painted by `painter` with strokes carried along the
    input's motion (`stylecore.clips.temporal`) and encoded as they come. `should_stop()` is asked
    before every frame (True raises `Cancelled`); `on_progress` hears after every frame. Raises
    `ClipError` for a clip that cannot be used; on any error no output file is left."""
    started = time.perf_counter()
    clip = open_clip(input_path, limits)
    width, height = clip.size
    side = note_side(width, height) if round_note else None
    if side is not None:
        width = height = side
    carrier = StrokeCarrier(painter, carry)
    with clip, ClipWriter(output_path, width, height, clip.fps) as writer:
        for done, frame in enumerate(clip, start=1):
            if should_stop is not None and should_stop():
                raise Cancelled()
            image = square_crop(frame.image, side) if side is not None else frame.image
            painted = carrier(image)
            writer.write(painted, frame.slot)
            if on_progress is not None:
                on_progress(ClipProgress(done, max(clip.expected_frames, done),
                                         lambda painted=painted: painted))
        written = writer.finish()
    return ClipResult(os.fspath(written.path), written.width, written.height, written.duration_s,
                      written.frames, time.perf_counter() - started, carrier.stats.cuts,
                      carrier.stats.kept, limits.max_seconds if clip.cut else None)
