"""What one run of either engine (the optimiser or the instant painter) reports and returns,
and what both work at: `Progress`, `Result`, the callbacks' types, the working size, the
images scaled to it, and the faces a run paints carefully."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from stylecore.faces import Face, detect_faces
from stylecore.params import StyleParams


@dataclass(frozen=True)
class Progress:
    """Where a run stands, after each optimiser iteration."""

    step: int
    """Iterations done so far, all stages together."""
    total: int
    """Iterations planned, all stages together (fewer once a stage settles early)."""
    fraction: float
    """Share of the run's work done, 0 to 1: coarse iterations are cheap and count for less."""
    stage: int
    """Index of the stage running: 0 is the coarsest, `stages - 1` the full size."""
    stages: int
    stage_fraction: float
    """Share of this stage's iterations done, 0 to 1."""
    preview: Callable[[], np.ndarray]
    """The current image (float32 (H, W, 3) in [0, 1]) at the result's size (a coarse stage's
    scaled up), computed on call."""
    instant: bool = False
    """True for the one Progress an optimiser run sends before its first step (step 0,
    fraction 0) when the instant painter is available: its preview is the instant painter's
    picture, the first thing to show."""


ProgressCallback = Callable[[Progress], None]
StopCheck = Callable[[], bool]
StyleInput = np.ndarray | tuple[np.ndarray, float]


@dataclass(frozen=True)
class Result:
    image: np.ndarray
    """float32 (H, W, 3) in [0, 1]."""
    steps: int
    """Optimiser iterations actually run (L-BFGS may stop early once the loss settles)."""
    seconds: float
    """Wall time of the run: targets and optimisation, excluding the one-off model start-up."""
    losses: dict[str, float]
    """Final weighted loss terms at full size: style, content, tv, total (none for the
    instant engine)."""
    evaluations: int
    """Forward + backward passes through VGG19 (the unit of cost)."""
    faces: int = 0
    """Faces painted carefully (`StyleParams.keep_faces`)."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the result."""
        return self.image.shape[1], self.image.shape[0]


def scale_image(image: np.ndarray, long_side: int, antialias: bool = True) -> np.ndarray:
    """Resizes so the long side is `long_side`, the way the seed does (sizes truncated)."""
    height, width = image.shape[:2]
    new_size = working_size((height, width), long_side)
    if new_size == (height, width):
        return np.asarray(image, dtype=np.float32)
    resized = tf.image.resize(image, new_size, method="bilinear", antialias=antialias)
    return np.clip(resized.numpy(), 0.0, 1.0).astype(np.float32)


def working_size(shape: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(height, width) of an image of `shape` (height, width) scaled to `long_side`."""
    height, width = shape
    scale = long_side / max(height, width)
    return max(1, int(height * scale)), max(1, int(width * scale))


def faces_to_keep(
    content: np.ndarray, params: StyleParams, faces: Sequence[Face] | None
) -> list[Face]:
    """The faces to paint carefully: none unless `params.keep_faces`; else those given or found."""
    if not params.keep_faces or not params.face_layers or params.face_content_weight <= 0:
        return []
    return list(detect_faces(content) if faces is None else faces)
