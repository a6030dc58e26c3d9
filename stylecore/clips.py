"""GIFs, videos, round video notes and stickers: the engine's public entry points for clips.

    info = probe_clip(path)                       # refuse early: info.duration_s, info.has_video
    painter = clip_painter(style_image)           # once per job: the style is computed once
    result = stylize_clip(path, "out.mp4", painter, ClipLimits(max_side=512),
                          round_note=is_video_note, on_progress=..., should_stop=...)
    make_sticker("painting.jpg", "sticker.webp")
    make_video_sticker("out.mp4", "sticker.webm")

Errors are `ClipError` (and `ImageError` for a static sticker's picture) with a code for the
caller to word (stylecore/errors.py); a cancel raises `Cancelled`. See docs/animations.md.
"""

from stylecore.animate import ClipProgress, ClipResult, stylize_clip
from stylecore.clip_decode import ClipInfo, ClipLimits, open_clip, probe_clip
from stylecore.errors import Cancelled, ClipError
from stylecore.painters import clip_painter, instant_available, optimiser_painter
from stylecore.stickers import StickerResult, make_sticker, make_video_sticker
from stylecore.temporal import FramePainter

__all__ = [
    "Cancelled", "ClipError", "ClipInfo", "ClipLimits", "ClipProgress", "ClipResult",
    "FramePainter", "StickerResult", "clip_painter", "instant_available",
    "make_sticker", "make_video_sticker", "open_clip", "optimiser_painter", "probe_clip",
    "stylize_clip",
]
