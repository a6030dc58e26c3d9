"""Frame painters for clips: a function from one frame to its painting, built once per job.

- `clip_painter(style)`: what the bot uses. The instant feed-forward network
  (`stylecore.instant`) where it is installed and has its weights: the style vector is computed
  once, each frame is one forward pass. Without it, the optimiser paints every frame at a
  small size with few iterations (`optimiser_painter`): slow (seconds a frame on a CPU) but
  working, and steadied the same way.

The tests' and benchmarks' stand-in, `ToyPainter`, is `benchmarks/toy_painter.py`.
"""

from __future__ import annotations

import numpy as np

from stylecore.clips.temporal import FramePainter
from stylecore.images import resize_to

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
        from stylecore.instant.painter import InstantUnavailable, instant_painter
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
    from stylecore.optimiser.transfer import stylize
    from stylecore.params import DEFAULT

    def paint(frame: np.ndarray) -> np.ndarray:
        long_side = min(side, max(frame.shape[:2]))
        params = DEFAULT.with_(size=long_side, coarse_stages=((0.5, 10),), steps=4,
                               precision=precision)
        return _as_frame(stylize(frame, style, params).image, frame)

    return paint


def _as_frame(painted: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """A painter's output as float32 [0, 1] at the frame's size."""
    image = np.clip(np.asarray(painted, dtype=np.float32), 0.0, 1.0)
    if image.shape[:2] != frame.shape[:2]:
        image = resize_to(image, frame.shape[0], frame.shape[1])
    return image
