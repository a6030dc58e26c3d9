"""Frame painters for clips: a function from one frame to its painting, built once per job.

- `clip_painter(style)`: what the bot uses. The instant feed-forward network
  (`stylecore.instant`) where it is installed and has its weights: the style vector is computed
  once, each frame is one forward pass. Without it, the optimiser paints every frame at a
  small size with few iterations (`optimiser_painter`): slow (seconds a frame on a CPU) but
  working, and steadied the same way.
- `ToyPainter`: a cheap deterministic stand-in (a palette transfer, flattened colours and a
  fresh random shimmer on every frame) for tests and benchmarks. Its shimmer flickers the way an
  independent network's strokes boil, so it shows whether carrying strokes steadies them.
"""

from __future__ import annotations

import cv2
import numpy as np

from stylecore.images import resize_to
from stylecore.temporal import FramePainter

OPTIMISER_SIDE = 128
"""Long side at which the optimiser fallback paints a frame (then scaled to the frame's size)."""


def clip_painter(style: np.ndarray, precision: str = "auto") -> FramePainter:
    """The painter for a clip in the style of `style` (float (H, W, 3) in [0, 1]): the instant
    network when `instant_available()`, else `optimiser_painter` (slow beats nothing)."""
    network = _instant_network(precision)
    if network is None:
        return optimiser_painter(style, precision=precision)
    vector = network.style_vector(style)

    def paint(frame: np.ndarray) -> np.ndarray:
        return _as_frame(network.paint(frame, vector), frame)

    return paint


def instant_available(precision: str = "auto") -> bool:
    """Whether clips get the instant network (installed, its weights at hand). Without it a
    frame costs seconds (`optimiser_painter`): a caller may want tighter `ClipLimits`."""
    return _instant_network(precision) is not None


def _instant_network(precision: str):
    try:
        from stylecore.instant import InstantUnavailable, instant_painter
    except ImportError:
        return None
    try:
        return instant_painter(precision)
    except InstantUnavailable:
        return None


def optimiser_painter(style: np.ndarray, side: int = OPTIMISER_SIDE,
                      precision: str = "auto") -> FramePainter:
    """Each frame painted by the Gatys optimiser (the default's look) at `side` px with a
    short plan (10 iterations at half size, 4 at `side`), then scaled to the frame's size."""
    from stylecore.params import DEFAULT
    from stylecore.transfer import stylize

    def paint(frame: np.ndarray) -> np.ndarray:
        long_side = min(side, max(frame.shape[:2]))
        params = DEFAULT.with_(size=long_side, coarse_stages=((0.5, 10),), steps=4,
                               precision=precision)
        return _as_frame(stylize(frame, style, params).image, frame)

    return paint


class ToyPainter:
    """A cheap, deterministic, flickering painter: `style`'s colour mean and covariance
    (computed once), colours flattened to a few levels, and a new smooth random shimmer of
    amplitude `shimmer` on every call (seeded, so runs repeat)."""

    def __init__(self, style: np.ndarray | None = None, shimmer: float = 0.08,
                 seed: int = 0) -> None:
        self.shimmer = shimmer
        self._rng = np.random.default_rng(seed)
        if style is None:
            self._mean = np.array([0.55, 0.45, 0.35], np.float32)
            self._root = np.diag([0.2, 0.18, 0.16]).astype(np.float32)
        else:
            pixels = np.asarray(style, np.float64).reshape(-1, 3)
            self._mean = pixels.mean(axis=0).astype(np.float32)
            self._root = _sqrtm(np.cov(pixels, rowvar=False) + 1e-5 * np.eye(3))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        smooth = cv2.medianBlur(np.rint(np.clip(frame, 0, 1) * 255).astype(np.uint8), 5)
        pixels = smooth.reshape(-1, 3).astype(np.float64) / 255.0
        centred = pixels - pixels.mean(axis=0)
        whiten = _sqrtm(np.cov(centred, rowvar=False) + 1e-4 * np.eye(3), inverse=True)
        recoloured = centred @ (self._root @ whiten).T + self._mean
        flat = np.round(recoloured * 6.0) / 6.0  # a few flat levels per channel: "paint"
        image = flat.reshape(height, width, 3).astype(np.float32)
        coarse = self._rng.normal(size=(max(2, height // 12), max(2, width // 12), 3))
        shimmer = cv2.resize(coarse.astype(np.float32), (width, height),
                             interpolation=cv2.INTER_CUBIC)
        return np.clip(image + self.shimmer * shimmer, 0.0, 1.0)


def _sqrtm(cov: np.ndarray, *, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 1e-12)
    roots = values ** -0.5 if inverse else values ** 0.5
    return ((vectors * roots) @ vectors.T).astype(np.float32)


def _as_frame(painted: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """A painter's output as float32 [0, 1] at the frame's size."""
    image = np.clip(np.asarray(painted, dtype=np.float32), 0.0, 1.0)
    if image.shape[:2] != frame.shape[:2]:
        image = resize_to(image, frame.shape[0], frame.shape[1])
    return image
