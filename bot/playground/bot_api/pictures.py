"""Looking into pictures as Telegram does: an image's size, and the small thumbnail it sends
with every photo."""

from __future__ import annotations

import io

from PIL import Image


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height); (0, 0) for bytes that are no image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return (0, 0)


def thumbnail(data: bytes) -> bytes:
    """A JPEG of at most 48x48; the bytes themselves when they are no image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img = img.convert("RGB")
            img.thumbnail((48, 48))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=70)
            return buf.getvalue()
    except Exception:
        return data
