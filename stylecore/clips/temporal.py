"""Steady strokes across frames: optical flow, warping, occlusions and scene cuts.

Painting each frame of a clip on its own makes the strokes boil: a painter answers a slightly
different frame with a different set of strokes. `StrokeCarrier` carries each painted frame to
the next along the optical flow of the *input* (OpenCV's DIS flow, Kroeger et al. 2016), as
Ruder et al. 2016 ("Artistic style transfer for videos") and Lai et al. 2018 ("Learning blind
video temporal consistency") do: where the flow is reliable the new frame keeps the carried
strokes, where the flow is not (newly revealed or occluded parts, motion boundaries, a changed
brightness) it takes the fresh painting, with a soft seam between the two. A scene cut (a
large change of the whole picture) starts afresh.

Flow convention: `flow = Flow().between(a, b)` is the displacement with `a(x) ~ b(x + flow(x))`,
so `warp(b_image, flow)` is `b_image` moved onto `a`'s pixel grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

FramePainter = Callable[[np.ndarray], np.ndarray]
"""Paints one frame: float32 (H, W, 3) in [0, 1] -> the same shape, values and dtype. Built
once per job (the style is computed once), then called for every frame."""

CARRY = 1.0
"""Share of the carried painting kept where the flow is reliable and the input's brightness
agrees (the rest is the fresh painting); 0 is painting frame by frame. Blending in a share of
the fresh painting averages strokes that do not line up and blurs them: on the benchmark clip
0.8 halved the detail (mean |Laplacian|) for a warping error no lower than 1.0's
(docs/animations.md). Lighting changes and what the flow loses still come fresh, through the
mask."""

TONE = 0.25
"""Share of the difference in broad colour (blurred over 1/40 of the long side) between the
fresh and the carried painting that a carried frame takes on each frame (see `_toned`)."""

SCENE_CUT = 0.2
"""Mean absolute change of the grey input (0..1) above which a frame is a new scene."""

MIN_RELIABLE = 0.2
"""Below this share of reliably carried pixels the flow has lost track: start afresh too."""


class Flow:
    """Dense optical flow between grey frames with OpenCV's DIS (one instance per clip)."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) -> None:
        self._dis = cv2.DISOpticalFlow_create(preset)

    def between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """float32 (H, W, 2): `a(x) ~ b(x + flow(x))` for uint8 grey frames `a` and `b`."""
        return self._dis.calc(a, b, None)


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) luma of a float [0, 1] (or uint8) RGB frame, the flow's input."""
    pixels = image if image.dtype == np.uint8 else np.rint(
        np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)


def warp(image: np.ndarray, flow: np.ndarray,
         interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """`image` sampled at x + flow(x) (bilinear by default; edges repeat)."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                 np.arange(height, dtype=np.float32))
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1],
                     interpolation=interpolation, borderMode=cv2.BORDER_REPLICATE)


def reliable(back: np.ndarray, forth: np.ndarray) -> np.ndarray:
    """float32 (H, W) of 0 and 1 on frame t's grid: 1 where `back` (t -> t-1) can be trusted.

    Ruder et al.'s tests: following `back` and then `forth` (t-1 -> t) must come home (else the
    pixel was hidden in t-1: disocclusion); not at a motion boundary (a large flow gradient);
    not pulled from outside the frame."""
    forth_there = warp(forth, back)
    round_trip = np.sum((forth_there + back) ** 2, axis=-1)
    consistent = round_trip <= 0.01 * (np.sum(forth_there ** 2, axis=-1)
                                       + np.sum(back ** 2, axis=-1)) + 0.5
    du_dy, du_dx = np.gradient(back[..., 0])
    dv_dy, dv_dx = np.gradient(back[..., 1])
    gradient = du_dx ** 2 + du_dy ** 2 + dv_dx ** 2 + dv_dy ** 2
    boundary = gradient > 0.01 * np.sum(back ** 2, axis=-1) + 0.002
    height, width = back.shape[:2]
    xs = np.arange(width, dtype=np.float32)[None, :] + back[..., 0]
    ys = np.arange(height, dtype=np.float32)[:, None] + back[..., 1]
    inside = (xs >= 0) & (xs <= width - 1) & (ys >= 0) & (ys <= height - 1)
    return (consistent & ~boundary & inside).astype(np.float32)


def is_scene_cut(previous: np.ndarray, current: np.ndarray) -> bool:
    """Whether the grey frames differ by more than `SCENE_CUT` on average."""
    change = cv2.absdiff(previous, current)
    return float(np.mean(change)) / 255.0 > SCENE_CUT


@dataclass
class CarryStats:
    frames: int = 0
    cuts: int = 0
    """Frames painted afresh as a new scene (the first frame not counted)."""
    kept: float = 0.0
    """Mean share of each carried frame taken from the previous painting."""


class StrokeCarrier:
    """Paints frames one after the other with `painter`, each carried from the last.

    `carrier(frame)` returns the painted frame (float32, as `painter`). The state is the
    previous grey input and painted frame only."""

    def __init__(self, painter: FramePainter, carry: float = CARRY, tone: float = TONE) -> None:
        self.painter = painter
        self.carry = carry
        self.tone = tone
        self.stats = CarryStats()
        self._flow = Flow()
        self._gray: np.ndarray | None = None
        self._painted: np.ndarray | None = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        gray = to_gray(frame)
        fresh = np.asarray(self.painter(frame), dtype=np.float32)
        previous, painted = self._gray, self._painted
        if previous is None or painted is None or previous.shape != gray.shape or not self.carry:
            result = fresh  # the first frame, or painting frame by frame (carry 0)
        elif is_scene_cut(previous, gray):
            result = fresh
            self.stats.cuts += 1
        else:
            back = self._flow.between(gray, previous)
            forth = self._flow.between(previous, gray)
            mask = reliable(back, forth)
            if float(mask.mean()) < MIN_RELIABLE:
                result = fresh
                self.stats.cuts += 1
            else:
                weight = self._soft(mask, gray, warp(previous, back)) * self.carry
                # Bicubic: a stroke carried for many frames is resampled as often; bilinear
                # sampling would soften it a little every time.
                carried = np.clip(warp(painted, back, cv2.INTER_CUBIC), 0.0, 1.0)
                carried = self._toned(carried, fresh)
                result = fresh + weight[..., None] * (carried - fresh)
                self.stats.kept += (float(weight.mean()) - self.stats.kept) / (
                    self.stats.frames - self.stats.cuts)
        self.stats.frames += 1
        self._gray, self._painted = gray, result
        return result

    def _toned(self, carried: np.ndarray, fresh: np.ndarray) -> np.ndarray:
        """`carried` with its broad colour moved `tone` of the way to the fresh painting's:
        the strokes (fine detail) stay, but the colour a network gives the whole scene as the
        camera moves follows, so carried and freshly painted parts do not drift apart."""
        if not self.tone:
            return carried
        sigma = max(carried.shape[:2]) / 40
        broad = cv2.GaussianBlur(fresh - carried, (0, 0), sigmaX=sigma)
        return np.clip(carried + self.tone * broad, 0.0, 1.0)

    @staticmethod
    def _soft(mask: np.ndarray, gray: np.ndarray, carried_gray: np.ndarray) -> np.ndarray:
        """The 0/1 mask feathered inwards over a few pixels (softer seams between carried
        and fresh strokes), and lowered where the carried input's brightness does not match the new
        input (the flow landed on something else)."""
        mismatch = cv2.absdiff(gray, carried_gray).astype(np.float32) / 255.0
        agreement = np.exp(-((mismatch / 0.1) ** 2))
        feathered = cv2.GaussianBlur(mask, (0, 0), sigmaX=2.0)
        return feathered * mask * agreement  # nothing carried into an unreliable pixel
