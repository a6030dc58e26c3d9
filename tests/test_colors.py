"""Tests for stylecore.colors: luminance-only transfer and colour-statistics matching."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from benchmarks.measures import colour_distance
from stylecore.colors import (
    match_color_distribution,
    match_color_histogram,
    pull_towards_palette,
    rgb_to_yiq,
    transfer_luminance,
    yiq_to_rgb,
)

RNG = np.random.default_rng(7)


def uniform(low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
    return RNG.uniform(low, high, shape).astype(np.float32)


def stats(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pixels = image.reshape(-1, 3).astype(np.float64)
    return pixels.mean(axis=0), np.cov(pixels, rowvar=False)


def test_yiq_round_trip() -> None:
    image = uniform(0, 1, (8, 9, 3))
    np.testing.assert_allclose(yiq_to_rgb(rgb_to_yiq(image)), image, atol=1e-6)
    np.testing.assert_allclose(rgb_to_yiq(np.ones(3))[1:], 0, atol=1e-5)  # white has no chroma


def test_transfer_luminance_keeps_stylised_y_and_content_chroma() -> None:
    stylised = uniform(0.3, 0.7, (32, 40, 3))
    content = uniform(0.4, 0.6, (32, 40, 3))
    out = transfer_luminance(stylised, content)
    assert out.shape == stylised.shape and out.dtype == np.float32
    assert out.min() > 0 and out.max() < 1  # nothing clipped with these ranges
    out_yiq, sty_yiq, con_yiq = rgb_to_yiq(out), rgb_to_yiq(stylised), rgb_to_yiq(content)
    np.testing.assert_allclose(out_yiq[..., 0], sty_yiq[..., 0], atol=1e-5)
    np.testing.assert_allclose(out_yiq[..., 1:], con_yiq[..., 1:], atol=1e-5)


def test_transfer_luminance_keeps_content_hue() -> None:
    content = np.empty((20, 20, 3), np.float32)
    content[:] = (0.6, 0.4, 0.3)  # warm orange-brown
    ramp = np.linspace(0.35, 0.65, 20, dtype=np.float32)
    stylised = np.repeat(np.repeat(ramp[:, None, None], 20, axis=1), 3, axis=2)  # grey ramp
    out = transfer_luminance(stylised, content)
    content_hue = colorsys.rgb_to_hsv(*content[0, 0])[0]
    for row in (0, 10, 19):
        hue = colorsys.rgb_to_hsv(*out[row, 5])[0]
        assert hue == pytest.approx(content_hue, abs=1e-3)
    assert out[19, 5].mean() > out[0, 5].mean()  # brightness follows the stylised ramp


def test_transfer_luminance_resizes_content() -> None:
    stylised = uniform(0.3, 0.7, (30, 40, 3))
    content = np.empty((15, 20, 3), np.float32)
    content[:] = (0.2, 0.5, 0.4)
    out = transfer_luminance(stylised, content)
    assert out.shape == (30, 40, 3)
    np.testing.assert_allclose(
        rgb_to_yiq(out)[..., 1:],
        np.broadcast_to(rgb_to_yiq(content[0, 0])[1:], (30, 40, 2)),
        atol=1e-4,
    )


def test_transfer_luminance_clips() -> None:
    out = transfer_luminance(np.ones((8, 8, 3), np.float32), np.tile([1.0, 0, 0], (8, 8, 1)))
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("bad", [np.zeros((8, 8)), np.zeros((8, 8, 4))])
def test_rgb_shape_required(bad: np.ndarray) -> None:
    good = np.zeros((8, 8, 3))
    with pytest.raises(ValueError):
        transfer_luminance(bad, good)
    with pytest.raises(ValueError):
        match_color_histogram(good, bad)


def test_match_color_histogram_matches_mean_and_covariance() -> None:
    source = uniform(0.1, 0.9, (64, 64, 3))  # independent channels, mean 0.5
    mix = np.array([[0.08, 0.0, 0.0], [0.04, 0.05, 0.0], [0.02, 0.01, 0.03]])
    reference = (np.array([0.6, 0.4, 0.35]) + RNG.standard_normal((48, 80, 3)) @ mix.T).astype(
        np.float32
    )
    out = match_color_histogram(source, reference)
    assert out.shape == source.shape and out.dtype == np.float32
    assert out.min() > 0 and out.max() < 1  # no clipping, so the statistics can match exactly
    (mean_out, cov_out), (mean_ref, cov_ref) = stats(out), stats(reference)
    np.testing.assert_allclose(mean_out, mean_ref, atol=1e-4)
    np.testing.assert_allclose(cov_out, cov_ref, atol=1e-4)
    # and the source's colours really were different to begin with
    assert np.abs(stats(source)[1] - cov_ref).max() > 0.01


def test_match_color_histogram_keeps_structure() -> None:
    source = uniform(0.2, 0.8, (32, 32, 3))
    reference = uniform(0.3, 0.5, (32, 32, 3))
    out = match_color_histogram(source, reference)
    # a per-channel monotone map here (independent channels): the ordering of pixels survives
    correlation = np.corrcoef(source[..., 0].ravel(), out[..., 0].ravel())[0, 1]
    assert correlation > 0.95


def test_match_color_histogram_flat_source() -> None:
    source = np.full((16, 16, 3), 0.2, np.float32)
    reference = uniform(0.4, 0.8, (16, 16, 3))
    out = match_color_histogram(source, reference)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0, 0], reference.reshape(-1, 3).mean(axis=0), atol=1e-5)


def test_distribution_transfer_reaches_a_palette_of_few_colours() -> None:
    """A painting of four flat colours: one linear map (mean and covariance) gives a tinted
    photo; matching the whole distribution gives the painting's own colours."""
    y, x = np.mgrid[0:60, 0:80] / 80.0
    photo = np.stack([x, y, 0.5 + 0.3 * x * y], axis=-1).astype(np.float32)
    palette = np.array([[0.85, 0.15, 0.1], [0.95, 0.8, 0.1], [0.1, 0.2, 0.7], [0.1, 0.55, 0.25]])
    painting = palette[(np.arange(64 * 64) // 1024) % 4].reshape(64, 64, 3).astype(np.float32)

    linear = match_color_histogram(photo, painting)
    matched = match_color_distribution(photo, painting)
    assert matched.shape == photo.shape and matched.dtype == np.float32
    assert colour_distance(matched, painting) < 0.5 * colour_distance(linear, painting)
    # Most pixels end up near one of the painting's colours (the linear map: 3%).
    nearest = np.min(np.linalg.norm(matched[..., None, :] - palette, axis=-1), axis=-1)
    assert np.mean(nearest < 0.1) > 0.5
    # Brightness order survives: the photo's brightest corner is still brighter than its darkest.
    luma = matched @ np.array([0.299, 0.587, 0.114])
    assert luma[-1, -1] >= luma[0, 0]


def test_distribution_transfer_does_not_amplify_rounding() -> None:
    """CPUs round the colour rotations differently (AVX-512 and AVX2 kernels differ in the last
    bits); a flat-colour painting's quantile map is a staircase, and such differences must not
    send pixels across its steps: inputs nudged by 1e-9 give the same picture."""
    y, x = np.mgrid[0:60, 0:80] / 80.0
    photo = np.stack([x, y, 0.5 + 0.3 * x * y], axis=-1)
    palette = np.array([[0.85, 0.15, 0.1], [0.95, 0.8, 0.1], [0.1, 0.2, 0.7], [0.1, 0.55, 0.25]])
    painting = palette[(np.arange(64 * 64) // 1024) % 4].reshape(64, 64, 3)
    matched = match_color_distribution(photo, painting)
    pulled = pull_towards_palette(photo.astype(np.float32), [(painting, 1.0)], 0.5)
    rng = np.random.default_rng(7)
    for _ in range(3):
        nudged_photo = photo + 1e-9 * rng.standard_normal(photo.shape)
        nudged_painting = painting + 1e-9 * rng.standard_normal(painting.shape)
        again = match_color_distribution(nudged_photo, nudged_painting)
        assert np.abs(again - matched).max() < 1 / 255
        pulled_again = pull_towards_palette(nudged_photo.astype(np.float32),
                                            [(nudged_painting, 1.0)], 0.5)
        assert np.abs(pulled_again - pulled).max() < 1 / 255


def test_a_pull_towards_the_palette_goes_that_share_of_the_way() -> None:
    """The cheap pull (fitted on a sample, read from a colour table) lands where the exact
    transfer does, a given share of the way, with every pixel moved by its own colour."""
    y, x = np.mgrid[0:90, 0:120] / 120.0
    photo = np.stack([x, y, 0.5 + 0.3 * x * y], axis=-1).astype(np.float32)
    painting = (np.random.default_rng(3).uniform(0, 1, (40, 40, 3)) ** 3
                * np.array([1.0, 0.6, 0.3])).astype(np.float32)
    exact = match_color_distribution(photo, painting)

    whole = pull_towards_palette(photo, [(painting, 1.0)], 1.0)
    assert whole.shape == photo.shape and whole.dtype == np.float32
    assert np.abs(whole - exact).mean() < 0.1 * np.abs(photo - exact).mean()
    assert np.array_equal(pull_towards_palette(photo, [(painting, 1.0)], 0.0), photo)
    quarter = pull_towards_palette(photo, [(painting, 1.0)], 0.25)
    assert np.abs(quarter - (0.75 * photo + 0.25 * exact)).mean() < 0.025 * np.abs(
        photo - exact).mean()
    assert (colour_distance(whole, painting) < colour_distance(quarter, painting)
            < colour_distance(photo, painting))
    # Two paintings by weight: between the two pulls.
    other = 1 - painting
    both = pull_towards_palette(photo, [(painting, 0.5), (other, 0.5)], 1.0)
    towards_other = pull_towards_palette(photo, [(other, 1.0)], 1.0)
    assert np.abs(both - (whole + towards_other) / 2).mean() < 0.01
