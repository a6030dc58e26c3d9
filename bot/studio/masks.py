"""The brush's masks: a grey picture the page paints (white: the style goes here, black: the
photo stays), checked and kept in the user's work folder under a name the server makes up.

A mask must be a PNG of at most `MAX_MASK_BYTES` and `MAX_SIDE` pixels a side, shaped like the
photo it is for (the same aspect ratio within `ASPECT_SLACK`); it is stored re-encoded as
8-bit grey, so nothing but pixels from the page reaches the painters."""

from __future__ import annotations

import asyncio
import io
import uuid
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from bot.jobs.work_area import WorkArea
from stylecore import write_atomic

MAX_MASK_BYTES = 1024 * 1024
MAX_SIDE = 1024
"""The page draws masks at the preview's size (384 px); the engine scales them to any size."""
KEPT_PER_USER = 10
"""A user's newest masks kept (each brush stroke makes one): older ones go, so no one can
fill the disk with them. A job whose mask went paints without it."""
MIN_SIDE = 32
ASPECT_SLACK = 0.03
"""How far the mask's width/height may be from the photo's (rounding on the page)."""


class BadMask(ValueError):
    """`reason`: "not_an_image" or "wrong_size"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_mask(data: bytes, photo_size: tuple[int, int]) -> bytes:
    """The mask as an 8-bit grey PNG; `BadMask` when it is not a PNG or not the photo's
    shape. `photo_size` is (width, height)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != "PNG":
                    raise BadMask("not_an_image")
                width, height = image.size
                if not (min(width, height) >= MIN_SIDE and max(width, height) <= MAX_SIDE):
                    raise BadMask("wrong_size")
                grey = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, BadMask):
            raise
        raise BadMask("not_an_image") from None
    photo_width, photo_height = photo_size
    if abs(width / height - photo_width / photo_height) > ASPECT_SLACK * photo_width / photo_height:
        raise BadMask("wrong_size")
    out = io.BytesIO()
    grey.save(out, "PNG", optimize=False)
    return out.getvalue()


def picture_size(path: Path) -> tuple[int, int]:
    """(width, height) of a picture file, from its header (EXIF rotation applied: the engine
    decodes photos upright)."""
    with Image.open(path) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


async def keep_mask(work: WorkArea, user_id: int, data: bytes, photo: Path) -> str:
    """Checks the mask against the photo, keeps it and returns its name."""
    size = await asyncio.to_thread(picture_size, photo)
    cleaned = await asyncio.to_thread(clean_mask, data, size)
    name = f"mask-{uuid.uuid4().hex}.png"
    path = work.mask_path(user_id, name)
    assert path is not None
    await asyncio.to_thread(write_atomic, path, cleaned)
    await asyncio.to_thread(_keep_newest, path.parent, KEPT_PER_USER)
    return name


def _keep_newest(folder: Path, count: int) -> None:
    masks = sorted(folder.glob("mask-*.png"), key=lambda f: f.stat().st_mtime_ns, reverse=True)
    for old in masks[count:]:
        old.unlink(missing_ok=True)
