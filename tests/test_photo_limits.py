"""Tests for bot.telegram.photo_limits: results fitted to what Telegram's sendPhoto accepts."""

from __future__ import annotations

import numpy as np
import pytest

from bot.telegram import photo_limits
from bot.telegram.photo_limits import fit_for_telegram_photo
from stylecore.images import decode_image, to_uint8
from tests.test_images import gradient, noise


def check_telegram_photo(data: bytes,
                         max_bytes: int = photo_limits.TELEGRAM_MAX_BYTES) -> np.ndarray:
    assert data[:3] == b"\xff\xd8\xff" and len(data) <= max_bytes
    out = decode_image(data, max_aspect=20.0, min_side=1)
    height, width = out.shape[:2]
    assert width + height <= 10_000
    assert max(width, height) / min(width, height) <= 20.0
    return out


def test_telegram_small_image_unchanged() -> None:
    image = gradient(300, 400)
    out = check_telegram_photo(fit_for_telegram_photo(image))
    assert out.shape == (300, 400, 3)
    assert np.abs(out - image).mean() < 0.01


@pytest.mark.parametrize("shape", [(40, 2000), (2000, 40), (3, 61)])
def test_telegram_extreme_aspect_is_padded(shape: tuple[int, int]) -> None:
    image = np.zeros((*shape, 3), np.float32)  # black strip
    out = check_telegram_photo(fit_for_telegram_photo(image))
    assert max(out.shape[:2]) == max(shape)  # nothing lost along the long side
    assert out[-1, -1].min() > 0.95  # padding (bottom or right, at least) is white
    centre = out[out.shape[0] // 2, out.shape[1] // 2]
    assert centre.max() < 0.05  # the picture sits in the middle


@pytest.mark.parametrize("shape", [(1000, 9500), (300, 9900)])
def test_telegram_huge_image_is_downscaled(shape: tuple[int, int]) -> None:
    image = to_uint8(gradient(*shape))
    check_telegram_photo(fit_for_telegram_photo(image))


def test_telegram_lowers_quality_then_size_to_fit_bytes() -> None:
    image = np.asarray(noise(256, 256))
    plain = fit_for_telegram_photo(image)
    lower = fit_for_telegram_photo(image, max_bytes=len(plain) - 1)
    assert len(lower) < len(plain)
    assert check_telegram_photo(lower).shape == (256, 256, 3)  # quality only
    tiny = fit_for_telegram_photo(image, max_bytes=15_000)
    out = check_telegram_photo(tiny, max_bytes=15_000)
    assert out.shape[0] < 256 and out.shape[0] == out.shape[1]  # smaller, same aspect
    with pytest.raises(ValueError):
        fit_for_telegram_photo(image, max_bytes=10)
