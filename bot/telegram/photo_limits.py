"""Pictures sized for Telegram: what `sendPhoto` accepts.

Telegram refuses a photo over 10 MB, with width + height over 10000 or an aspect ratio over 20;
the result of a job is fitted to those limits here (a full-size file goes as a document, as it
is).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from stylecore import to_uint8

TELEGRAM_MAX_BYTES = 10_000_000
TELEGRAM_MAX_DIM_SUM = 10_000
TELEGRAM_MAX_ASPECT = 20.0

def fit_for_telegram_photo(image: np.ndarray, *, max_bytes: int = TELEGRAM_MAX_BYTES) -> bytes:
    """JPEG bytes that Telegram's sendPhoto accepts.

    Limits: at most `max_bytes`, width + height <= 10000, aspect ratio <= 20. Extreme
    aspects are padded with white, oversized images are downscaled, and the quality (then,
    if need be, the size) is stepped down until the file is small enough.
    """
    img = Image.fromarray(np.ascontiguousarray(to_uint8(image))).convert("RGB")
    img = _pad_to_aspect(img, TELEGRAM_MAX_ASPECT)
    width, height = img.size
    if width + height > TELEGRAM_MAX_DIM_SUM:
        long_side, short_side = max(width, height), min(width, height)
        # floor for the long side, ceil for the short side: neither limit can be overshot
        new_long = (TELEGRAM_MAX_DIM_SUM - 1) * long_side // (long_side + short_side)
        img = _shrink(img, new_long / long_side)
    while True:
        for quality in (92, 85, 75, 60, 45):
            data = _jpeg(img, quality)
            if len(data) <= max_bytes:
                return data
        smaller = _shrink(img, 0.7)
        if smaller.size == img.size:
            raise ValueError(f"cannot fit the image into {max_bytes} bytes")
        img = smaller


def _pad_to_aspect(img: Image.Image, max_aspect: float) -> Image.Image:
    width, height = img.size
    long_side = max(width, height)
    short_needed = math.ceil(long_side / max_aspect)
    if min(width, height) >= short_needed:
        return img
    size = (width, short_needed) if width >= height else (short_needed, height)
    canvas = Image.new("RGB", size, (255, 255, 255))
    canvas.paste(img, ((size[0] - width) // 2, (size[1] - height) // 2))
    return canvas


def _shrink(img: Image.Image, factor: float) -> Image.Image:
    """Scale down by `factor`; the short side rounds up so the aspect ratio never grows."""
    width, height = img.size
    if width >= height:
        new_w = max(1, math.floor(width * factor))
        new_h = max(1, min(height, math.ceil(height * new_w / width)))
    else:
        new_h = max(1, math.floor(height * factor))
        new_w = max(1, min(width, math.ceil(width * new_h / height)))
    if (new_w, new_h) == (width, height):
        return img
    return img.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()
