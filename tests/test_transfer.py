"""The optimisation: the classic mode is the seed, the default mode paints, runs can be cancelled.

These use the real VGG19 weights (resolved once per machine into ~/.cache/stylecore) on tiny
generated images, so they stay fast on two CPU cores.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from benchmarks.measures import colour_distance, style_distance
from stylecore.errors import Cancelled
from stylecore.optimiser.objective import loss_weights, objective_for
from stylecore.optimiser.transfer import WorkingImageTooLarge, pixel_budget, stylize
from stylecore.params import (
    CLASSIC,
    DEFAULT,
    SEED_CONTENT_LAYERS,
    SEED_STYLE_LAYERS,
    STYLE_STRENGTHS,
)
from stylecore.runs import Progress, scale_image
from stylecore.weights.vgg19 import load_vgg19_weights


def gradient_photo(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth 'photo': colour ramps with a bright disc."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    disc = ((y - height / 2) ** 2 + (x - width / 3) ** 2 < (height / 4) ** 2).astype(np.float32)
    image = np.stack([x / width, y / height, 0.3 + 0.5 * disc], axis=-1)
    return image.astype(np.float32)


def stripes_style(size: int = 64) -> np.ndarray:
    """A 'painting': bold diagonal stripes in two saturated colours plus noise."""
    y, x = np.mgrid[0:size, 0:size]
    band = ((x + y) // 6) % 2
    rng = np.random.default_rng(1)
    colours = np.where(band[..., None] == 1, [0.9, 0.2, 0.1], [0.1, 0.3, 0.9])
    return np.clip(colours + rng.normal(0, 0.05, (size, size, 3)), 0, 1).astype(np.float32)


def colour_fields_style(size: int = 128) -> np.ndarray:
    """Broad fields of colour, softly shaded: a painting that a quarter-size picture can hold."""
    y, x = np.mgrid[0:size, 0:size] / size
    field = ((x > 0.5) ^ (y > 0.4))[..., None]
    colours = np.where(field, [0.9, 0.5, 0.1], [0.1, 0.3, 0.7])
    return (colours * (0.7 + 0.3 * x[..., None])).astype(np.float32)


def hatching_style(size: int = 128) -> np.ndarray:
    """Ink hatching on paper: one-pixel lines a few pixels apart, finer than a picture shrunk to
    a quarter can draw."""
    y, x = np.mgrid[0:size, 0:size]
    ink = ((x + y) % 3 == 0) | ((x - y) % 5 == 0)
    return np.where(ink[..., None], [0.1, 0.1, 0.15], [0.95, 0.92, 0.85]).astype(np.float32)


def seed_features_numpy(image: np.ndarray):
    """Activations of the seed's layers, from Keras' own VGG19 and preprocess_input."""
    vgg = keras.applications.VGG19(include_top=False, weights=None)
    for name, (kernel, bias) in load_vgg19_weights().items():
        vgg.get_layer(name).set_weights([kernel, bias])
    layers = SEED_STYLE_LAYERS + SEED_CONTENT_LAYERS
    model = keras.Model(vgg.input, [vgg.get_layer(n).output for n in layers])
    batch = keras.applications.vgg19.preprocess_input(image[None] * 255.0)
    outputs = [np.asarray(o, dtype=np.float64) for o in model(batch)]
    return outputs[: len(SEED_STYLE_LAYERS)], outputs[len(SEED_STYLE_LAYERS) :]


def numpy_gram(features: np.ndarray) -> np.ndarray:
    _, h, w, c = features.shape
    flat = features.reshape(h * w, c)
    return flat.T @ flat / (h * w)


def test_classic_loss_matches_an_independent_numpy_computation_of_the_seed():
    content, style = gradient_photo(), scale_image(stripes_style(), 64, antialias=False)
    image = np.clip(content + 0.1 * np.sin(np.arange(content.size)).reshape(content.shape), 0, 1)
    image = image.astype(np.float32)

    style_feats, _ = seed_features_numpy(style)
    _, content_feats = seed_features_numpy(content)
    image_style, image_content = seed_features_numpy(image)
    style_term = sum(
        np.mean((numpy_gram(a) - numpy_gram(b)) ** 2)
        for a, b in zip(image_style, style_feats, strict=True)
    )
    style_term *= 1e-2 / 5
    content_term = np.mean((image_content[0] - content_feats[0]) ** 2) * 1e4
    dx = image[:, 1:] - image[:, :-1]
    dy = image[1:] - image[:-1]
    tv_term = 1e8 * (np.mean(dx.astype(np.float64) ** 2) + np.mean(dy.astype(np.float64) ** 2))

    objective = objective_for(CLASSIC.style_layers, CLASSIC.content_layers, "float32")
    targets = objective.targets(content, [(style, 1.0)])
    ours = objective.terms(image, targets, loss_weights(CLASSIC))

    assert ours["style"] == pytest.approx(style_term, rel=1e-3)
    assert ours["content"] == pytest.approx(content_term, rel=1e-3)
    assert ours["tv"] == pytest.approx(tv_term, rel=1e-4)
    assert ours["total"] == pytest.approx(style_term + content_term + tv_term, rel=1e-3)


def test_classic_mode_follows_the_seed_loop_step_for_step():
    """Three steps of the seed's own code (Keras VGG19, tf Adam, clip) give the same pixels."""
    content, style = gradient_photo(), stripes_style()
    params = CLASSIC.with_(size=64, steps=3)
    ours = stylize(content, style, params).image

    # The seed, transcribed: targets from the resized images, Adam on a Variable, clip to [0,1].
    c, s = scale_image(content, 64, False), scale_image(style, 64, False)
    (s_feats, _), (_, c_feats) = seed_features_numpy(s), seed_features_numpy(c)
    style_targets = [tf.constant(numpy_gram(f), tf.float32) for f in s_feats]
    content_target = tf.constant(c_feats[0], tf.float32)
    vgg = keras.applications.VGG19(include_top=False, weights=None)
    for name, (kernel, bias) in load_vgg19_weights().items():
        vgg.get_layer(name).set_weights([kernel, bias])
    layers = SEED_STYLE_LAYERS + SEED_CONTENT_LAYERS
    model = keras.Model(vgg.input, [vgg.get_layer(n).output for n in layers])
    image = tf.Variable(c[None])
    opt = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)
    for _ in range(3):
        with tf.GradientTape() as tape:
            outs = model(keras.applications.vgg19.preprocess_input(image * 255.0))
            grams = [
                tf.einsum("bijc,bijd->bcd", o, o) / tf.cast(o.shape[1] * o.shape[2], tf.float32)
                for o in outs[:5]
            ]
            loss = tf.add_n(
                [tf.reduce_mean((g - t) ** 2) for g, t in zip(grams, style_targets, strict=True)]
            ) * (1e-2 / 5)
            loss += tf.reduce_mean((outs[5] - content_target) ** 2) * 1e4
            dx = image[:, :, 1:, :] - image[:, :, :-1, :]
            dy = image[:, 1:, :, :] - image[:, :-1, :, :]
            loss += 1e8 * (tf.reduce_mean(dx**2) + tf.reduce_mean(dy**2))
        opt.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))

    # Same arithmetic, but oneDNN picks its convolution kernels per CPU kind and per graph, so
    # the two networks may sum in another order. Adam (epsilon 0.1) turns a near-zero gradient
    # of the other sign into a step the other way: a few pixels may differ by up to 3 steps of
    # 0.02; everything else agrees closely.
    difference = np.abs(ours - image.numpy()[0])
    assert np.quantile(difference, 0.99) < 2e-3
    assert difference.mean() < 5e-4
    assert difference.max() < 0.06
    assert np.abs(ours - c).max() > 0.02, "three Adam steps must move the pixels"


PRECISIONS = pytest.mark.parametrize("precision", ["float32", "bfloat16"])
"""The default engine's behaviour must hold in both precisions, whatever this CPU would pick.
Where a CPU lacks native bfloat16 it is emulated, and slow: so the loss and colour tests run in
both, the blend, palette and strength tests (the same arithmetic on other inputs) in float32."""


@pytest.mark.parametrize(
    "params",
    [DEFAULT.with_(precision="float32"), DEFAULT.with_(precision="bfloat16"), CLASSIC],
    ids=["default-float32", "default-bfloat16", "classic"],
)
def test_style_loss_falls_and_the_image_changes(params):
    # One short coarse stage: the default's 80 coarse iterations would run whole in both runs,
    # a minute in emulated bfloat16 (the stages have tests of their own below).
    content, style = gradient_photo(), stripes_style()
    params = params.with_(size=96, coarse_stages=((0.5, 6),) if params.coarse_stages else ())
    short = stylize(content, style, params.with_(steps=1))
    longer = stylize(content, style, params.with_(steps=12))

    assert longer.losses["style"] < 0.5 * short.losses["style"]
    assert longer.size == (96, 72)
    assert longer.image.dtype == np.float32
    assert longer.image.min() >= 0.0 and longer.image.max() <= 1.0
    start = scale_image(content, 96, params.antialias)
    assert np.abs(longer.image - start).mean() > 0.02


def test_progress_is_reported_every_step_with_a_lazy_preview():
    seen: list[Progress] = []
    previews: list[np.ndarray] = []

    def on_progress(progress: Progress):
        if progress.instant:  # the instant picture, first where its weights are cached
            return
        seen.append(progress)
        if progress.step == 2:
            previews.append(progress.preview())

    params = DEFAULT.with_(size=64, steps=4, coarse_stages=(), tolerance=0.0)
    result = stylize(gradient_photo(), stripes_style(), params, on_progress)
    assert [p.step for p in seen] == list(range(1, result.steps + 1))
    assert all(p.total == 4 and p.stages == 1 for p in seen)
    assert [p.fraction for p in seen] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert previews[0].shape == (48, 64, 3)


def test_coarse_stages_report_their_cheap_iterations_as_a_small_share_of_the_work():
    seen: list[Progress] = []
    params = DEFAULT.with_(size=128, steps=4, coarse_stages=((0.5, 8),), tolerance=0.0)

    def optimiser_steps(progress: Progress) -> None:
        if not progress.instant:  # the instant picture comes first where its weights are cached
            seen.append(progress)

    result = stylize(gradient_photo(96, 128), stripes_style(), params, optimiser_steps)

    assert [p.stage for p in seen] == [0] * 8 + [1] * 4
    assert [p.step for p in seen] == list(range(1, 13)) and seen[-1].total == 12
    coarse_share = seen[7].fraction  # 8 iterations on a quarter of the pixels
    assert coarse_share == pytest.approx(2 / 6)
    assert seen[-1].fraction == pytest.approx(1.0)
    assert seen[0].preview().shape == (96, 128, 3)  # a coarse look, at the result's size
    assert result.size == (128, 96)


def test_a_style_finer_than_the_first_stage_can_draw_skips_that_stage():
    # Shrunk to a quarter, hatching blurs to grey, and matching that grey kept the careful
    # picture further from crosshatch than the instant one (issue #31).
    params = DEFAULT.with_(size=256, steps=2, coarse_stages=((0.25, 3), (0.5, 3)))

    def stages_run(style: np.ndarray) -> int:
        seen: list[Progress] = []
        stylize(gradient_photo(192, 256), style, params, seen.append)
        stages = {p.stage for p in seen if not p.instant}
        assert stages == set(range(seen[-1].stages))
        return len(stages)

    assert stages_run(colour_fields_style()) == 3
    assert stages_run(hatching_style()) == 2  # half size and full size


def test_cancel_stops_within_one_step():
    calls = {"progress": 0}

    def on_progress(progress):
        calls["progress"] = progress.step

    with pytest.raises(Cancelled):
        stylize(
            gradient_photo(),
            stripes_style(),
            CLASSIC.with_(size=64, steps=500),
            on_progress,
            should_stop=lambda: calls["progress"] >= 3,
        )
    assert calls["progress"] == 3


def test_a_run_over_the_pixel_budget_fails_like_out_of_memory_before_any_work():
    progress = []
    with pytest.raises(MemoryError) as refused:
        stylize(gradient_photo(), stripes_style(), DEFAULT.with_(size=96, steps=5),
                progress.append, max_pixels=96 * 72 - 1)
    assert isinstance(refused.value, WorkingImageTooLarge)
    assert refused.value.size == (96, 72) and "STYLECORE_MAX_PIXELS_PER_RUN" in str(refused.value)
    assert progress == []
    result = stylize(gradient_photo(), stripes_style(), DEFAULT.with_(size=96, steps=1),
                     max_pixels=96 * 72)
    assert result.size == (96, 72)


def test_pixel_budget_comes_from_the_environment():
    assert pixel_budget({}) is None
    assert pixel_budget({"STYLECORE_MAX_PIXELS_PER_RUN": " 4000000 "}) == 4_000_000
    for bad in ("lots", "-5", "0", "1e6"):
        with pytest.raises(ValueError, match="STYLECORE_MAX_PIXELS_PER_RUN"):
            pixel_budget({"STYLECORE_MAX_PIXELS_PER_RUN": bad})


def test_several_styles_blend_between_their_results():
    content = gradient_photo()
    red = (stripes_style() * [1.0, 0.6, 0.2]).astype(np.float32)  # reds and browns
    blue = red[..., ::-1].copy()  # blues and teals
    params = DEFAULT.with_(size=64, steps=10, precision="float32")
    only_red = stylize(content, [(red, 1.0)], params).image
    only_blue = stylize(content, [(blue, 1.0)], params).image
    mixed = stylize(content, [(red, 1.0), (blue, 1.0)], params).image

    def redness(image):
        return float(image[..., 0].mean() - image[..., 2].mean())

    assert redness(only_blue) < redness(mixed) < redness(only_red)


def test_preserve_colors_keeps_the_photo_palette():
    content, style = gradient_photo(), stripes_style()
    params = DEFAULT.with_(size=64, steps=8, precision="float32")
    painted = stylize(content, style, params).image
    kept = stylize(content, style, params.with_(preserve_colors="luminance")).image
    start = scale_image(content, 64)

    def mean_colour_error(image):
        return float(np.abs(image.mean(axis=(0, 1)) - start.mean(axis=(0, 1))).sum())

    assert mean_colour_error(kept) < mean_colour_error(painted)


def test_style_strength_pulls_harder_towards_the_style():
    content, style = gradient_photo(), stripes_style()
    params = DEFAULT.with_(size=64, steps=10)
    weak = stylize(content, style, params.with_(style_strength=0.1))
    strong = stylize(content, style, params.with_(style_strength=10.0))
    start = scale_image(content, 64)
    assert np.abs(strong.image - start).mean() > np.abs(weak.image - start).mean()


def test_runs_of_different_sizes_in_one_process_each_get_their_own_shape():
    """The network and its traced functions are shared between runs; a 45x60 run followed by a
    44x60 one (both optimisers) must not reuse the other's shapes."""
    rng = np.random.default_rng(0)
    style = rng.random((50, 50, 3)).astype(np.float32)
    for params in (CLASSIC, DEFAULT):
        for height in (45, 44):
            content = rng.random((height, 60, 3)).astype(np.float32)
            result = stylize(content, style, params.with_(size=60, steps=2))
            assert result.size == (60, height)


def colour_blocks(size: int = 96) -> np.ndarray:
    """A 'painting' of four flat colour fields: what fine texture alone cannot imitate."""
    half = size // 2
    image = np.empty((size, size, 3), np.float32)
    image[:half, :half] = [0.85, 0.15, 0.1]
    image[:half, half:] = [0.95, 0.8, 0.1]
    image[half:, :half] = [0.1, 0.2, 0.7]
    image[half:, half:] = [0.1, 0.55, 0.25]
    return image


@PRECISIONS
def test_flat_colour_fields_move_the_pictures_colours_towards_the_painting(precision):
    # The coarse stage matches the colour fields; three full-size steps (not eight) add the
    # texture, which this test does not measure (emulated bfloat16: 17 s instead of 30).
    photo, painting = gradient_photo(96, 128), colour_blocks()
    params = DEFAULT.with_(size=128, steps=3, precision=precision)
    result = stylize(photo, painting, params).image

    assert colour_distance(result, painting) < 0.75 * colour_distance(photo, painting)
    coarse = 64  # the painting's fields, not its texture
    assert style_distance(result, painting, coarse) < 0.6 * style_distance(photo, painting, coarse)


def test_a_stronger_style_setting_gives_a_picture_closer_to_the_painting():
    # float32 only: three whole default runs in emulated bfloat16 take minutes on AVX2 CPUs;
    # bfloat16's numerics are covered by the other PRECISIONS tests.
    photo, painting = gradient_photo(72, 96), stripes_style(96)
    params = DEFAULT.with_(size=96, precision="float32")
    pictures = [
        stylize(photo, painting, params.with_(style_strength=STYLE_STRENGTHS[name])).image
        for name in ("low", "normal", "high")
    ]
    low, normal, high = (style_distance(p, painting, 96) for p in pictures)
    assert low > normal > high
    assert high < 0.6 * low
