"""The /styles picture: every preset as a square thumbnail with its name under it.

Drawing never downloads: a painting not cached yet is a "tap to download" tile, one whose
download recently failed (or an unreadable file) an "unavailable" tile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stylecore import (
    Preset,
    PresetUnavailable,
    UnknownPreset,
    encode_image,
    is_available_offline,
    list_presets,
    load_preset,
    recent_failure,
    to_uint8,
)

_GALLERY_BG = (30, 30, 34)
_LABEL_COLOUR = (236, 236, 236)
_Font = ImageFont.ImageFont | ImageFont.FreeTypeFont


def _font(px: int) -> _Font:
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: small bitmap font
        return ImageFont.load_default()


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font: _Font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _placeholder(thumb: int, text: str, font: _Font, colour: tuple) -> Image.Image:
    tile = Image.new("RGB", (thumb, thumb), colour)
    draw = ImageDraw.Draw(tile)
    draw.text((thumb / 2, thumb / 2), _fit_text(draw, text, font, thumb - 8), font=font,
              fill=(225, 225, 225), anchor="mm")
    return tile


def _thumbnail(preset: Preset, thumb: int, font: _Font) -> Image.Image:
    """A square crop of the preset, or a grey tile; never downloads anything."""
    if preset.kind == "painting" and not is_available_offline(preset.name):
        if recent_failure(preset.name):
            return _placeholder(thumb, "unavailable", font, (88, 88, 92))
        return _placeholder(thumb, "tap to download", font, (70, 78, 96))
    try:
        img = load_preset(preset.name)
    except (PresetUnavailable, UnknownPreset):
        return _placeholder(thumb, "unavailable", font, (88, 88, 92))
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = Image.fromarray(to_uint8(img[top:top + side, left:left + side]))
    return square.resize((thumb, thumb), Image.Resampling.LANCZOS)


def gallery_size(count: int, thumb: int = 160, columns: int = 4) -> tuple[int, int]:
    """(width, height) in pixels of the gallery :func:`render_gallery` draws for ``count``."""
    cols = max(1, min(columns, count))
    rows = max(1, math.ceil(count / cols))
    pad, label = _gallery_metrics(thumb)
    return cols * (thumb + 2 * pad), rows * (thumb + 2 * pad + label)


def _gallery_metrics(thumb: int) -> tuple[int, int]:
    pad = max(4, thumb // 20)
    font_px = max(10, thumb // 10)
    return pad, font_px + pad


def render_gallery(presets: Sequence[Preset] | None = None, thumb: int = 160,
                   columns: int = 4) -> bytes:
    """One JPEG showing each preset as a square thumbnail with its name under it.

    Paintings not cached yet are drawn as "tap to download" tiles (nothing is downloaded here),
    paintings whose download recently failed and unreadable files as "unavailable" tiles.
    Procedural styles are drawn (and cached) if they aren't cached yet.
    """
    presets = list_presets() if presets is None else list(presets)
    if not presets:
        raise ValueError("no presets to draw")
    if thumb < 32 or columns < 1:
        raise ValueError("thumb must be at least 32 px and columns at least 1")
    cols = min(columns, len(presets))
    pad, label = _gallery_metrics(thumb)
    canvas = Image.new("RGB", gallery_size(len(presets), thumb, columns), _GALLERY_BG)
    draw = ImageDraw.Draw(canvas)
    font = _font(label - pad)
    small = _font(max(10, (label - pad) * 4 // 5))
    for i, preset in enumerate(presets):
        row, col = divmod(i, cols)
        x = col * (thumb + 2 * pad) + pad
        y = row * (thumb + 2 * pad + label) + pad
        canvas.paste(_thumbnail(preset, thumb, small), (x, y))
        text = _fit_text(draw, preset.name, font, thumb + pad)
        draw.text((x + thumb / 2, y + thumb + pad / 2 + label / 2), text, font=font,
                  fill=_LABEL_COLOUR, anchor="mm")
    return encode_image(np.asarray(canvas), "jpeg", quality=90)
