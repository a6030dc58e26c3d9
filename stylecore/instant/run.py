"""The instant picture of a run, all of it: `stylize` with ``engine="instant"`` (the photo
painted by the feed-forward network at the run's size, with the run's strength, colour mode,
blend of styles), the instant pictures an optimiser run shows first and may
start from (`InstantPictures`), and the instant painter's warm-up. The optimiser
(`stylecore.optimiser.transfer`) calls in here and nowhere else in `stylecore.instant`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import numpy as np

from stylecore.brush import keep_weights, laid_over_photo, mask_at
from stylecore.colors import match_color_histogram, pull_towards_palette, transfer_luminance
from stylecore.errors import Cancelled
from stylecore.faces import Face
from stylecore.images import resize_to
from stylecore.instant.network_weights import cache_path
from stylecore.instant.painter import InstantPainter, InstantUnavailable, instant_painter
from stylecore.params import StyleParams
from stylecore.runs import (
    Progress,
    ProgressCallback,
    Result,
    StopCheck,
    faces_to_keep,
    scale_image,
    working_size,
)

log = logging.getLogger("stylecore.instant")

MAX_EXTRAPOLATION = 1.5
"""Strengths over 1 move the vector past the painting's, away from the photo's, but no further
than this: beyond it the strokes only get noisier."""


PALETTE_PULL = 0.25
"""How far the instant picture's colours then move towards the paintings' whole colour
distribution. The network's palette is its own: on Chicago + Wave its colours were 1.3x
further from the painting's than the released int8 network's; a quarter of the way brings
every benchmark pair within 1.02x of that network's measures while the strokes and the photo's
shapes stay (half the way moves the picture away from the painting at phone scale:
docs/engine.md)."""


def stylize_instantly(
    content: np.ndarray,
    styles: list[tuple[np.ndarray, float]],
    params: StyleParams,
    on_progress: ProgressCallback | None,
    should_stop: StopCheck | None,
    faces: Sequence[Face] | None,
    mask: np.ndarray | None = None,
) -> Result:
    """`stylize` with ``params.engine == "instant"`` (`styles` normalised): one `Progress` at
    the end, no losses; `InstantUnavailable` without the weights. Faces are painted as the
    network paints everything (keeping them gently, by half the photo's own style vector in
    the face, washed them out and kept people no better: docs/engine.md); `Result.faces` says
    how many `keep_faces` found, for the caller's record. `mask`: the brush
    (`stylecore.brush`), checked."""
    painter = instant_painter(params.precision)
    started = time.perf_counter()
    if should_stop is not None and should_stop():
        raise Cancelled()
    faces = faces_to_keep(content, params, faces)
    image = painted_at(painter, content, styles, params, params.size, mask)
    seconds = time.perf_counter() - started
    if on_progress is not None:
        on_progress(Progress(step=0, total=0, fraction=1.0, stage=0, stages=1,
                             stage_fraction=1.0, preview=lambda: image))
    return Result(image=image, steps=0, seconds=seconds, losses={}, evaluations=0,
                  faces=len(faces))


class InstantPictures:
    """The instant painter's pictures of one optimiser run, painted when first asked for, at
    a given long side (the first preview at full size, a head start at the first stage's)."""

    def __init__(self, painter: InstantPainter, content: np.ndarray,
                 styles: list[tuple[np.ndarray, float]], params: StyleParams,
                 mask: np.ndarray | None = None):
        self.painter, self.content, self.styles, self.params = painter, content, styles, params
        self.mask = mask
        self.pictures: dict[int, np.ndarray] = {}

    @classmethod
    def for_run(cls, content: np.ndarray, styles: list[tuple[np.ndarray, float]],
                params: StyleParams,
                mask: np.ndarray | None = None) -> InstantPictures | None:
        """The pictures of a run, or None when the painter cannot be had (`optional_painter`)."""
        painter = optional_painter(params)
        return None if painter is None else cls(painter, content, styles, params, mask)

    def at(self, long_side: int) -> np.ndarray:
        if long_side not in self.pictures:
            self.pictures[long_side] = painted_at(self.painter, self.content, self.styles,
                                                  self.params, long_side, self.mask)
        return self.pictures[long_side]


def painted_at(painter: InstantPainter, content: np.ndarray,
               styles: list[tuple[np.ndarray, float]], params: StyleParams,
               long_side: int, mask: np.ndarray | None = None) -> np.ndarray:
    """The instant picture with `long_side`, painted at most at `params.instant_side`; with a
    brush `mask`, laid over the photo by it."""
    photo = scale_image(content, min(long_side, params.instant_side), antialias=True)
    painted = paint_instantly(painter, photo, styles, params, mask)
    painted = with_paintings_palette(painted, styles, params)
    if mask is not None:
        painted = laid_over_photo(painted, photo, mask)
    shape = working_size(content.shape[:2], long_side)
    if painted.shape[:2] == shape:
        return painted
    return np.clip(resize_to(painted, *shape), 0.0, 1.0).astype(np.float32)


def style_mix(strength: float) -> float:
    """How far from the photo's own style vector towards the paintings' a style strength
    goes (Magenta's identity interpolation, extrapolated a little above 1). The optimiser's
    strength multiplies a loss weight, whose effect grows about as its square root does
    here: the bot's "low" (0.15) is 0.39 of the way, "high" (3) the cap."""
    return float(min(np.sqrt(max(strength, 0.0)), MAX_EXTRAPOLATION))


def blended_vector(
    painter: InstantPainter,
    content: np.ndarray,
    styles: list[tuple[np.ndarray, float]],
    params: StyleParams,
) -> np.ndarray:
    """The style vector of a run: the styles' vectors mixed by their (normalised) weights,
    then moved from the photo's own by the strength. With ``preserve_colors="histogram"``
    each style is first recoloured to the photo's palette."""
    vector = np.zeros(100, np.float32)
    recolour = params.preserve_colors == "histogram"
    for style, weight in styles:
        if recolour:  # a picture of this photo's: not worth remembering
            style = match_color_histogram(style, content)
        vector += weight * painter.style_vector(style, remember=not recolour)
    mix = style_mix(params.style_strength)
    if mix != 1.0:
        own = painter.style_vector(content, remember=False)
        vector = own + mix * (vector - own)
    return vector.astype(np.float32)


def paint_instantly(
    painter: InstantPainter,
    content: np.ndarray,
    styles: list[tuple[np.ndarray, float]],
    params: StyleParams,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """`content` (already at the working size) painted for `params`; with a brush `mask`, the
    style vector goes back to the photo's own where it is 0."""
    vector = blended_vector(painter, content, styles, params)
    if mask is None:
        image = painter.paint(content, vector)
    else:
        image = painter.paint(content, vector,
                              keep_mask=keep_weights(mask_at(mask, content.shape[:2])),
                              keep_vector=painter.style_vector(content, remember=False))
    if params.preserve_colors == "luminance":
        image = transfer_luminance(image, content)
    return image


def with_paintings_palette(
    image: np.ndarray, styles: list[tuple[np.ndarray, float]], params: StyleParams
) -> np.ndarray:
    """An instant picture moved `PALETTE_PULL` of the way to the paintings' colours (less
    for a weaker style, as its style vector is; not when the photo's colours are kept)."""
    if params.preserve_colors:
        return image
    amount = PALETTE_PULL * min(1.0, style_mix(params.style_strength))
    return pull_towards_palette(image, styles, amount)


_unavailable_logged = False
_log_lock = threading.Lock()


def optional_painter(params: StyleParams) -> InstantPainter | None:
    """The instant painter for the optimiser's first preview and head start, from the cache
    only (an optimiser run never downloads); None when it cannot be had, said once per
    process in the log."""
    global _unavailable_logged
    if _unavailable_logged and not cache_path().is_file():
        return None  # still missing; once fetched (while this process runs) they are used
    try:
        return instant_painter(params.precision, download=False)
    except InstantUnavailable as e:
        with _log_lock:
            if not _unavailable_logged:
                _unavailable_logged = True
                log.warning("the optimiser runs without instant previews: %s "
                            "(python -m stylecore.instant.network_weights fetches them)", e)
        return None


def warm_up_if_cached(params: StyleParams) -> None:
    """Builds and traces the instant painter once when its weights are cached (its picture is
    every optimiser job's first); nothing otherwise."""
    painter = optional_painter(params)
    if painter is not None:
        painter.warm_up()
