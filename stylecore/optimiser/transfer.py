"""Neural style transfer (Gatys et al.): optimise an image so its VGG19 features match a content
photo and the Gram matrices of one or more style images.

Two optimisers minimise the same objective: the seed's Adam loop ("classic") and a projected
L-BFGS that keeps the pixels in [0, 1] (`stylecore.optimiser.lbfgs`), which reaches a lower
loss in far fewer network evaluations. `stylize` is the engine's one way to paint a photo: a
run with ``engine="instant"`` goes to `stylecore.instant.run` instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from stylecore.brush import checked_mask, laid_over_photo, mask_at
from stylecore.colors import match_color_distribution, match_color_histogram, transfer_luminance
from stylecore.device import resolve_precision
from stylecore.errors import Cancelled
from stylecore.faces import Face, detect_faces, face_mask
from stylecore.images import resize_to
from stylecore.optimiser.lbfgs import minimize_in_box
from stylecore.optimiser.losses import total_variation_loss
from stylecore.optimiser.objective import (
    Objective,
    Targets,
    loss_weights,
    objective_for,
    terms_dict,
)
from stylecore.params import DEFAULT, StyleParams
from stylecore.runs import (
    Progress,
    ProgressCallback,
    Result,
    StopCheck,
    StyleInput,
    faces_to_keep,
    scale_image,
    working_size,
)

if TYPE_CHECKING:
    from stylecore.instant.run import InstantPictures


PIXEL_BUDGET_ENV = "STYLECORE_MAX_PIXELS_PER_RUN"


class WorkingImageTooLarge(MemoryError):
    """The image to optimise has more pixels than the run may use (`max_pixels`). A
    `MemoryError`, so callers treat it as running out of memory (e.g. retry smaller), but raised
    before anything is allocated rather than by a device that is already full."""

    def __init__(self, width: int, height: int, max_pixels: int) -> None:
        super().__init__(
            f"the working image ({width}x{height} = {width * height} px) is over the limit of "
            f"{max_pixels} px per run ({PIXEL_BUDGET_ENV}); use a smaller size"
        )
        self.size = (width, height)
        self.max_pixels = max_pixels


def pixel_budget(environ: Mapping[str, str] | None = None) -> int | None:
    """The operator's limit on pixels per run from `STYLECORE_MAX_PIXELS_PER_RUN` (None: no
    limit). It protects a small GPU: a bigger run fails like an out-of-memory one, cheaply.
    Raises `ValueError` for a value that is not a positive whole number."""
    raw = (os.environ if environ is None else environ).get(PIXEL_BUDGET_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{PIXEL_BUDGET_ENV} must be a positive whole number, got {raw!r}")
    return int(raw)


def stylize(
    content: np.ndarray,
    styles: StyleInput | Sequence[StyleInput],
    params: StyleParams = DEFAULT,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    max_pixels: int | None = None,
    faces: Sequence[Face] | None = None,
    mask: np.ndarray | None = None,
) -> Result:
    """Paints `content` in the style of `styles` (images, or (image, blend weight) pairs).

    `on_progress(progress)` gets a `Progress` after every iteration; its `preview()` returns
    the current image and costs something only when called. An L-BFGS run first sends one at
    step 0 whose preview is the instant painter's picture (`Progress.instant`), when its
    weights are cached. `should_stop()` is polled before every network evaluation; when it
    returns True the run raises `Cancelled`. A working image (the content at `params.size`)
    over `max_pixels` raises `WorkingImageTooLarge` up front.

    With ``params.engine == "instant"`` the feed-forward network paints instead (one
    `Progress` at the end, no losses; `stylecore.instant.painter.InstantUnavailable` without
    weights).

    With `params.keep_faces` the faces are found in `content` unless `faces` (found in it
    earlier, e.g. once for all frames) are given.

    `mask` is the user's brush (`stylecore.brush`): (H, W) in [0, 1], any size, 1 where the
    style goes and 0 where the photo stays; None: everywhere. The optimiser weights its style
    term by it and starts from the photo where it is 0; the instant painter blends its style
    vector by it; the picture is laid over the photo by it.
    """
    height, width = working_size(content.shape[:2], params.size)
    if max_pixels is not None and width * height > max_pixels:
        raise WorkingImageTooLarge(width, height, max_pixels)
    style_pairs = _normalised_styles(styles)
    mask = checked_mask(mask)
    if params.engine == "instant":
        from stylecore.instant.run import stylize_instantly

        return stylize_instantly(content, style_pairs, params, on_progress, should_stop, faces,
                                 mask)
    started = time.perf_counter()
    faces = faces_to_keep(content, params, faces)
    face_layers = tuple(params.face_layers) if faces else ()
    objective = objective_for(params.style_layers, params.content_layers, _precision(params),
                              face_layers)
    instant = _instant_pictures(content, style_pairs, params, on_progress, mask)

    plan = stage_plan(params, (height, width))
    if len(plan) > 2 and style_roughness(style_pairs, params.size) > params.fine_style_tv:
        plan = plan[1:]
    run = _Run(objective, params, plan, on_progress, should_stop)
    if instant is not None and on_progress is not None:
        on_progress(Progress(step=0, total=run.total_steps, fraction=0.0, stage=0,
                             stages=len(plan), stage_fraction=0.0,
                             preview=lambda: instant.at(params.size), instant=True))
    image = None
    for index, stage in enumerate(plan):
        antialias = params.antialias if stage.long_side == params.size else True
        content_image = scale_image(content, stage.long_side, antialias)
        stage_styles = style_pairs
        if params.preserve_colors == "histogram":
            stage_styles = [(match_color_histogram(s, content_image), w) for s, w in style_pairs]
        stage_styles = [(scale_image(s, stage.long_side, antialias), w) for s, w in stage_styles]
        brush = None if mask is None else mask_at(mask, content_image.shape[:2])
        targets = objective.targets(content_image, stage_styles, params.style_normalisation,
                                    _stage_face_mask(faces, content_image.shape[:2], params,
                                                     index, len(plan)),
                                    brush)
        if image is None:
            start = _first_start(content_image, stage_styles, params, instant, stage.long_side,
                                 run._check_stop)
            if brush is not None:
                start = laid_over_photo(start, content_image, brush)
        else:
            start = resize_to(image, *content_image.shape[:2])
        run.stage, run.stage_step = index, 0
        image, losses = run.optimise(start, targets, stage.iterations)

    if params.preserve_colors == "luminance":
        image = transfer_luminance(image, content_image)
    if mask is not None:
        image = laid_over_photo(image, content_image, mask)
    return Result(
        image=np.asarray(image, dtype=np.float32),
        steps=run.step,
        seconds=time.perf_counter() - started,
        losses=losses,
        evaluations=run.evaluations,
        faces=len(faces),
    )


@dataclass(frozen=True)
class Stage:
    long_side: int
    shape: tuple[int, int]
    """(height, width) of the image this stage optimises."""
    iterations: int
    cost: float
    """Pixels relative to the full-size image: what one of its evaluations costs."""


def stage_plan(params: StyleParams, full_shape: tuple[int, int]) -> list[Stage]:
    """The coarse stages (those with at least 32 px on the short side) and the full-size one."""
    full_pixels = full_shape[0] * full_shape[1]
    stages = []
    for fraction, iterations in params.coarse_stages:
        long_side = round(params.size * fraction)
        height, width = working_size(full_shape, long_side)
        if min(height, width) >= 32 and iterations > 0 and long_side < params.size:
            cost = height * width / full_pixels
            stages.append(Stage(long_side, (height, width), iterations, cost))
    return [*stages, Stage(params.size, full_shape, params.steps, 1.0)]


def style_roughness(styles: Sequence[tuple[np.ndarray, float]], long_side: int) -> float:
    """The styles' total variation at `long_side`, or their own size where smaller (scaling up
    would blur their texture, not change it): the seed's measure, mean squared neighbour
    differences, weighted as the styles are blended."""
    total = sum(weight for _, weight in styles) or 1.0
    return sum(weight * float(total_variation_loss(
        scale_image(style, min(long_side, max(style.shape[:2])), True)[None]))
        for style, weight in styles) / total


def warm_up(params: StyleParams = DEFAULT) -> None:
    """Builds the network and traces its functions once, so the first real job starts at once;
    the instant painter too when its weights are cached (its picture is every job's first)."""
    tiny = np.full((32, 32, 3), 0.5, dtype=np.float32)
    if params.engine == "optimise":
        stylize(tiny, tiny, params.with_(size=32, steps=1))
        if params.keep_faces:  # the detector, and the objective with its face term
            detect_faces(tiny)
            middle = Face((8.0, 8.0, 24.0, 24.0), 1.0, (32, 32))
            stylize(tiny, tiny, params.with_(size=32, steps=1), faces=[middle])
    from stylecore.instant.run import warm_up_if_cached

    warm_up_if_cached(params)


class _Run:
    """The optimisation loops of one `stylize` call, with progress, cancellation and counting."""

    def __init__(
        self,
        objective: Objective,
        params: StyleParams,
        plan: list[Stage],
        on_progress: ProgressCallback | None,
        should_stop: StopCheck | None,
    ):
        self.objective = objective
        self.params = params
        self.plan = plan
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.stage = 0
        self.stage_step = 0
        self.step = 0
        self.evaluations = 0
        self.work_done = 0.0
        self.total_work = sum(s.iterations * s.cost for s in plan)
        self.total_steps = sum(s.iterations for s in plan)

    def optimise(self, start: np.ndarray, targets: Targets, iterations: int):
        weights = loss_weights(self.params, faces=bool(targets.faces))
        if self.params.optimizer == "adam":
            image = self.adam(start, targets, weights, iterations)
            return image, self.objective.terms(image, targets, weights)
        return self.lbfgs(start, targets, weights, iterations)

    def _check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled()

    def _report(self, preview: Callable[[], np.ndarray]) -> None:
        full_shape = self.plan[-1].shape
        if self.plan[self.stage].shape != full_shape:
            preview = _scaled_up(preview, full_shape)
        self.step += 1
        self.stage_step += 1
        self.work_done += self.plan[self.stage].cost
        if self.on_progress is not None:
            self.on_progress(
                Progress(
                    step=self.step,
                    total=self.total_steps,
                    fraction=min(self.work_done / self.total_work, 1.0),
                    stage=self.stage,
                    stages=len(self.plan),
                    stage_fraction=min(self.stage_step / self.plan[self.stage].iterations, 1.0),
                    preview=preview,
                )
            )

    def _terms_and_grad(self, image: tf.Tensor, targets: Targets, weights: tf.Tensor):
        self._check_stop()
        self.evaluations += 1
        return self.objective.terms_and_grad(image, targets, weights)

    def adam(self, start: np.ndarray, targets: Targets, weights: tf.Tensor, steps: int):
        """The seed's loop: Adam on the pixels, clipped to [0, 1] after every step."""
        p = self.params
        variable = tf.Variable(start[np.newaxis])
        optimizer = keras.optimizers.Adam(
            learning_rate=p.learning_rate, beta_1=p.beta_1, epsilon=p.epsilon
        )
        for _ in range(steps):
            # A tensor, not the Variable: tf.function keys variables by shape and would reuse a
            # trace made for another image size.
            _, grad = self._terms_and_grad(tf.convert_to_tensor(variable), targets, weights)
            optimizer.apply_gradients([(grad, variable)])
            variable.assign(tf.clip_by_value(variable, 0.0, 1.0))
            self._report(lambda: variable.numpy()[0])
        return variable.numpy()[0]

    def lbfgs(
        self, start: np.ndarray, targets: Targets, weights: tf.Tensor, iterations: int
    ) -> tuple[np.ndarray, dict[str, float]]:
        """Projected L-BFGS on the pixels within [0, 1]; stops early once the loss settles.
        Returns the image and its loss terms (known from its evaluation: no extra pass)."""
        latest: dict[str, dict] = {}
        accepted: dict[str, dict] = {}  # the newest accepted point (first: the start)
        planned_steps = self.step + iterations

        def loss_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            terms, grad = self._terms_and_grad(tf.constant(x[np.newaxis]), targets, weights)
            latest["terms"] = terms_dict(terms.numpy())
            accepted.setdefault("terms", latest["terms"])
            return latest["terms"]["total"], grad.numpy()[0]

        def after_iteration(x: np.ndarray) -> None:
            accepted["terms"] = latest["terms"]  # an accepted point is the one evaluated last
            self._report(lambda: x)

        minimum = minimize_in_box(
            loss_and_grad,
            start,
            iterations,
            memory=self.params.lbfgs_memory,
            first_step=self.params.first_step,
            tolerance=self.params.tolerance,
            callback=after_iteration,
        )
        # A stage that settled early hands its unused iterations' share of the work on.
        skipped = planned_steps - self.step
        self.work_done += skipped * self.plan[self.stage].cost
        self.total_steps -= skipped
        return minimum.x, accepted["terms"]


def _instant_pictures(content: np.ndarray, styles: list[tuple[np.ndarray, float]],
                      params: StyleParams, on_progress: ProgressCallback | None,
                      mask: np.ndarray | None) -> InstantPictures | None:
    """The instant painter's pictures for this run's first preview and head start; None when
    the run wants neither (Adam; a photo start that nobody watches) or the painter cannot be
    had."""
    if params.optimizer != "lbfgs" or (on_progress is None and params.start == "photo"):
        return None
    from stylecore.instant.run import InstantPictures

    return InstantPictures.for_run(content, styles, params, mask)


def _stage_face_mask(faces: Sequence[Face], shape: tuple[int, int], params: StyleParams,
                     stage: int, stages: int) -> np.ndarray | None:
    """The soft face mask drawn at one stage's size (None without faces there: no face term).
    The full-size stage holds every face, the first of several none, and the others those at
    least `params.face_coarse_min_px` across there (`StyleParams.face_coarse_min_px`)."""
    if stage < stages - 1:
        least = params.face_coarse_min_px
        if stage == 0 or least is None:
            return None
        faces = [face for face in faces if _side(face.scaled(shape)) >= least]
    return face_mask(faces, shape, skin=params.face_skin) if faces else None


def _side(face: Face) -> float:
    return max(face.width, face.height)


def _scaled_up(preview: Callable[[], np.ndarray], shape: tuple[int, int]):
    return lambda: resize_to(preview(), *shape)


def _first_start(content, styles, params: StyleParams, instant: InstantPictures | None,
                 long_side: int, check_stop: Callable[[], None]) -> np.ndarray:
    """Where the first stage starts (`StyleParams.start`); the photo start without the
    instant painter."""
    if instant is None or params.start == "photo":
        return _starting_image(content, styles, params)
    check_stop()
    side = long_side if params.start == "instant_coarse" else params.size
    painted = resize_to(instant.at(side), *content.shape[:2])
    if params.start == "instant_blend":
        return (_starting_image(content, styles, params) + painted) / 2
    if params.start == "instant_recoloured":
        return _starting_image(painted, styles, params)
    return painted


def _starting_image(
    content: np.ndarray, styles: list[tuple[np.ndarray, float]], params: StyleParams
) -> np.ndarray:
    """The photo, moved `init_style_colors` of the way to the styles' colour statistics (each
    style's recolouring blended by its weight; not when the user keeps the photo's colours).
    A style strength under 1 moves it that much less: a weaker style keeps more of the photo's
    palette, which is most of what a weaker style looks like at a glance."""
    blend = params.init_style_colors * min(1.0, params.style_strength)
    if not blend or params.preserve_colors:
        return content
    recolour = (match_color_distribution if params.start_palette == "distribution"
                else match_color_histogram)
    recoloured = sum(weight * recolour(content, style) for style, weight in styles)
    return ((1 - blend) * content + blend * recoloured).astype(np.float32)


def _normalised_styles(styles: StyleInput | Sequence[StyleInput]) -> list[tuple[np.ndarray, float]]:
    if isinstance(styles, np.ndarray) or (
        isinstance(styles, tuple) and len(styles) == 2 and np.isscalar(styles[1])
    ):
        styles = [styles]
    pairs = [(s, 1.0) if isinstance(s, np.ndarray) else (s[0], float(s[1])) for s in styles]
    if not pairs:
        raise ValueError("at least one style image is required")
    total = sum(w for _, w in pairs)
    if total <= 0 or any(w < 0 for _, w in pairs):
        raise ValueError("style weights must be non-negative and not all zero")
    return [(np.asarray(s, dtype=np.float32), w / total) for s, w in pairs]


def _precision(params: StyleParams) -> str:
    return resolve_precision(params.precision)
