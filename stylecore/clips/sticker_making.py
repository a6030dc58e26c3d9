"""Telegram stickers from painted results.

- a static sticker: WEBP, the long side exactly 512 px, at most 512 KB;
- a video sticker: WEBM with VP9, no audio, the long side exactly 512 px, at most 3 s and 30
  frames a second, at most 256 KB. A busy painting needs many bits, so encoding retries with a
  lower bit rate and then fewer frames a second until the file fits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from stylecore.clips.decode import ClipLimits, open_clip
from stylecore.clips.encode import ClipWriter
from stylecore.errors import ClipError
from stylecore.images import decode_image, encode_image, resize_long_side, write_atomic

STICKER_SIDE = 512
STATIC_MAX_BYTES = 512 * 1024
VIDEO_MAX_BYTES = 256 * 1024
VIDEO_MAX_SECONDS = 3.0

_VIDEO_TRIES = ((1.0, 30.0), (0.7, 30.0), (0.6, 15.0), (0.45, 12.0), (0.3, 10.0))
"""(share of the bit budget, frames a second at most) of each try, in order."""


@dataclass(frozen=True)
class StickerResult:
    output_path: str
    width: int
    height: int
    bytes: int
    duration_s: float = 0.0
    """0 for a static sticker."""
    frames: int = 1


def make_sticker(image_path: str | os.PathLike, output_path: str | os.PathLike) -> StickerResult:
    """A static sticker (.webp) of the picture at `image_path`. Raises `ImageError` for a file
    that is not a usable picture."""
    image = resize_long_side(decode_image(image_path, needed_side=STICKER_SIDE), STICKER_SIDE)
    for quality in (90, 80, 65, 50, 35):
        data = encode_image(image, "webp", quality=quality)
        if len(data) <= STATIC_MAX_BYTES:
            break
    else:
        raise ClipError("sticker_too_large", bytes=len(data), max_bytes=STATIC_MAX_BYTES)
    write_atomic(output_path, data)
    return StickerResult(str(output_path), image.shape[1], image.shape[0], len(data))


def make_video_sticker(clip_path: str | os.PathLike,
                       output_path: str | os.PathLike) -> StickerResult:
    """A video sticker (.webm) of the first 3 s of the clip at `clip_path`. Raises `ClipError`
    for a clip that cannot be read, or `sticker_too_large` when even the last try is too big."""
    size = 0
    for share, fps in _VIDEO_TRIES:
        limits = ClipLimits(max_fps=fps, max_seconds=VIDEO_MAX_SECONDS, max_side=STICKER_SIDE)
        clip = open_clip(clip_path, limits, long_side=STICKER_SIDE)
        seconds = min(VIDEO_MAX_SECONDS, clip.info.duration_s or VIDEO_MAX_SECONDS)
        bit_rate = int(VIDEO_MAX_BYTES * 8 * 0.9 / max(seconds, 0.5) * share)
        width, height = clip.size
        with clip, ClipWriter(output_path, width, height, clip.fps, "webm",
                              bit_rate=bit_rate) as writer:
            for frame in clip:
                writer.write(frame.image, frame.slot)
            written = writer.finish()
        size = written.bytes
        if size <= VIDEO_MAX_BYTES:
            return StickerResult(written.path, width, height, size, written.duration_s,
                                 written.frames)
    Path(output_path).unlink(missing_ok=True)
    raise ClipError("sticker_too_large", bytes=size, max_bytes=VIDEO_MAX_BYTES)
