"""The studio's brush in the engine: where the mask keeps the photo, both painters give the
photo back; where it paints, they paint as without a mask; the optimiser's style term counts
only the brushed part. Small pictures only."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from stylecore import QUALITY_PRESETS, InstantUnavailable, instant_painter, stylize
from stylecore.brush import checked_mask, keep_weights, laid_over_photo, mask_at
from stylecore.optimiser.losses import gram_matrix, masked_gram
from stylecore.params import DEFAULT

INSTANT = QUALITY_PRESETS["instant"]


def photo(height: int = 48, width: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([x / width, y / height, np.full_like(x, 0.4)], axis=-1)


def stripes(size: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    bands = ((x + y) // 5) % 2
    return np.where(bands[..., None], [0.9, 0.2, 0.1], [0.05, 0.1, 0.7]).astype(np.float32)


def left_kept(height: int = 48, width: int = 64) -> np.ndarray:
    """The photo stays on the left half, the style goes on the right."""
    mask = np.ones((height, width), np.float32)
    mask[:, : width // 2] = 0.0
    return mask


def test_the_mask_is_checked_and_scaled():
    assert checked_mask(None) is None
    assert checked_mask(np.full((4, 6, 3), 2.0)).max() == 1.0
    for bad in (np.zeros((3,)), np.full((4, 4), np.nan), np.zeros((0, 4))):
        with pytest.raises(ValueError):
            checked_mask(bad)
    scaled = mask_at(left_kept(96, 128), (48, 64))
    assert scaled.shape == (48, 64) and scaled[:, :30].max() == 0 and scaled[:, 34:].min() == 1
    assert keep_weights(np.array([[1.0, 0], [0.25, 0]]))[1, 0] == 0.75
    laid = laid_over_photo(np.ones((2, 2, 3)), np.zeros((2, 2, 3)), np.array([[1.0, 0], [0, 0]]))
    assert laid[0, 0, 0] == 1 and laid[0, 1, 0] == 0


def test_a_mask_of_ones_weights_the_gram_matrix_as_no_mask_does():
    features = tf.random.stateless_normal((1, 6, 8, 4), seed=(1, 2))
    everywhere = masked_gram(features, tf.ones((1, 6, 8, 1)))
    np.testing.assert_allclose(everywhere.numpy(), gram_matrix(features).numpy(), rtol=1e-5)
    half = np.zeros((1, 6, 8, 1), np.float32)
    half[:, :, 4:] = 1
    right = masked_gram(features, tf.constant(half))
    np.testing.assert_allclose(right.numpy(), gram_matrix(features[:, :, 4:]).numpy(),
                               rtol=1e-5)


@pytest.fixture(scope="module")
def instant_weights() -> None:
    try:
        instant_painter("float32", download=False)
    except InstantUnavailable as exc:
        pytest.skip(f"the instant painter's weights are not cached here: {exc}")


def test_the_instant_painter_keeps_the_photo_where_the_brush_says(instant_weights):
    params = INSTANT.with_(size=64, instant_side=64, keep_faces=False, precision="float32")
    content = photo()
    free = stylize(content, stripes(), params).image
    brushed = stylize(content, stripes(), params, mask=left_kept()).image
    assert brushed.shape == free.shape == (48, 64, 3)
    np.testing.assert_allclose(brushed[:, :28], content[:, :28], atol=1e-5)
    painted_gap = np.abs(free[:, 40:] - content[:, 40:]).mean()
    assert painted_gap > 0.05  # the style changed the picture, and as much where brushed:
    assert np.abs(brushed[:, 40:] - content[:, 40:]).mean() > 0.6 * painted_gap


def test_the_optimiser_keeps_the_photo_and_paints_the_rest(instant_weights):
    params = DEFAULT.with_(size=64, steps=3, coarse_stages=(), keep_faces=False,
                           precision="float32", start="photo")
    content = photo()
    free = stylize(content, stripes(), params).image
    brushed = stylize(content, stripes(), params, mask=left_kept()).image
    np.testing.assert_allclose(brushed[:, :28], content[:, :28], atol=1e-5)
    assert np.abs(brushed[:, 40:] - content[:, 40:]).mean() > 0.05
    assert np.abs(free[:, :28] - content[:, :28]).mean() > 0.05  # without it, painted there
