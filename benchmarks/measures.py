"""How much a stylised picture looks like the painting and still shows the photo, at the scales
people see: the measures of the engine benchmark (docs/engine.md) and of the quality tests.

- style distance at a long side (256 and 512): the seed's style loss (its five layers, Gram
  matrices divided by locations, mean squared difference), unweighted and averaged over the
  layers, with the result and the painting both resized to that long side. At 256 px it sees
  colour fields and large strokes, which is what a phone screen shows;
- content distance at 512 px: the seed's content loss (`block5_conv2`), unweighted;
- colour distance: the sliced Wasserstein-1 distance between the RGB pixel distributions of
  the result and the painting (64 fixed random unit directions, 256 quantiles, both at 256 px);
- total variation: the seed's form (mean squared neighbour differences), at the result's size.

Lower is better for all of them. They are measured in float32 whatever the run's precision.

For clips, the warping error (Lai et al. 2018, "Learning blind video temporal consistency"):
the mean over consecutive frames t, t+1 of the squared RGB difference (summed over the
channels, averaged over the pixels the mask keeps) between output frame t and output frame t+1
warped back onto t by the *input's* optical flow, with occlusions and motion boundaries masked
(`stylecore.clips.temporal.reliable`). Measured on the input clip itself it is the floor (flow
errors, noise); strokes that boil make it many times that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf

from stylecore.clips.temporal import Flow, reliable, to_gray, warp
from stylecore.optimiser.losses import content_loss, total_variation_loss
from stylecore.optimiser.objective import objective_for
from stylecore.params import SEED_CONTENT_LAYERS, SEED_STYLE_LAYERS

COLOUR_DIRECTIONS = 64
COLOUR_QUANTILES = 256


@dataclass(frozen=True)
class Measures:
    style_256: float
    style_512: float
    content_512: float
    colour: float
    tv: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def measure(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> Measures:
    """All measures of `result` against the photo `content` and the painting `style`
    (float (H, W, 3) arrays in [0, 1], any sizes)."""
    return Measures(
        style_256=style_distance(result, style, 256),
        style_512=style_distance(result, style, 512),
        content_512=content_distance(result, content, 512),
        colour=colour_distance(result, style),
        tv=total_variation(result),
    )


def style_distance(image: np.ndarray, style: np.ndarray, long_side: int) -> float:
    """The seed's style loss between `image` and `style`, both at `long_side`, layer mean."""
    objective = _measuring_objective()
    grams, _ = objective.features(_at(image, long_side))
    targets, _ = objective.features(_at(style, long_side))
    per_layer = [tf.reduce_mean((g - t) ** 2) for g, t in zip(grams, targets, strict=True)]
    return float(tf.add_n(per_layer)) / len(per_layer)


def content_distance(image: np.ndarray, content: np.ndarray, long_side: int) -> float:
    """The seed's content loss between `image` and `content`, both at `long_side`.
    The photo is resized to the result's aspect first, so a size rounding never misaligns them."""
    objective = _measuring_objective()
    image_small = _at(image, long_side)
    content_small = tf.image.resize(
        np.asarray(content, np.float32), image_small.shape[1:3], antialias=True
    )[tf.newaxis]
    _, features = objective.features(image_small)
    _, targets = objective.features(tf.clip_by_value(content_small, 0.0, 1.0))
    return float(content_loss(features, targets))


def colour_distance(image: np.ndarray, style: np.ndarray, long_side: int = 256) -> float:
    """Sliced Wasserstein-1 distance between the two images' RGB pixel distributions."""
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(COLOUR_DIRECTIONS, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    levels = (np.arange(COLOUR_QUANTILES) + 0.5) / COLOUR_QUANTILES
    a = _at(image, long_side).numpy().reshape(-1, 3) @ directions.T
    b = _at(style, long_side).numpy().reshape(-1, 3) @ directions.T
    qa = np.quantile(a, levels, axis=0)
    qb = np.quantile(b, levels, axis=0)
    return float(np.mean(np.abs(qa - qb)))


def total_variation(image: np.ndarray) -> float:
    """The seed's total variation of `image` at its own size."""
    return float(total_variation_loss(tf.constant(np.asarray(image, np.float32))[tf.newaxis]))


class WarpingError:
    """The warping error of one or more output clips of the same input, fed frame by frame:
    `add(input_frame, output_a, output_b, ...)`, then `values` (one per output clip; pass the
    input frame itself as an output to measure the input). The flow is computed once per pair
    of frames and only the previous frames are kept."""

    def __init__(self) -> None:
        self._flow = Flow()
        self._previous: tuple[np.ndarray, Sequence[np.ndarray]] | None = None
        self._sums: list[float] = []
        self._pairs = 0

    def add(self, frame: np.ndarray, *outputs: np.ndarray) -> None:
        gray = to_gray(frame)
        if self._previous is not None:
            previous_gray, previous_outputs = self._previous
            ahead = self._flow.between(previous_gray, gray)  # t -> t+1, on t's grid
            behind = self._flow.between(gray, previous_gray)
            mask = reliable(ahead, behind)
            kept = max(float(mask.sum()), 1.0)
            if not self._sums:
                self._sums = [0.0] * len(outputs)
            for index, (before, now) in enumerate(zip(previous_outputs, outputs, strict=True)):
                difference = np.asarray(before, np.float32) - warp(
                    np.asarray(now, np.float32), ahead)
                self._sums[index] += float(np.sum(mask[..., None] * difference ** 2)) / kept
            self._pairs += 1
        self._previous = (gray, outputs)

    @property
    def values(self) -> list[float]:
        return [total / max(self._pairs, 1) for total in self._sums]


def warping_error(inputs: Iterable[np.ndarray], outputs: Iterable[np.ndarray]) -> float:
    """The warping error of the clip `outputs` painted from the clip `inputs` (float (H, W, 3)
    frames in [0, 1], the same sizes, in order)."""
    measure = WarpingError()
    for frame, output in zip(inputs, outputs, strict=True):
        measure.add(frame, output)
    return measure.values[0] if measure.values else 0.0


def _measuring_objective():
    return objective_for(SEED_STYLE_LAYERS, SEED_CONTENT_LAYERS, "float32")


def _at(image: np.ndarray, long_side: int) -> tf.Tensor:
    """(1, h, w, 3) float32, the long side `long_side`, antialiased."""
    array = np.asarray(image, dtype=np.float32)
    height, width = array.shape[:2]
    scale = long_side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    resized = tf.image.resize(array, size, method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0)[tf.newaxis]
