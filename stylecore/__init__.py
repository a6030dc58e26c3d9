"""stylecore, the engine: images in, image out; no Telegram, no sentences for users (its errors
carry a reason code and data) and none of the bot's settings.

This module is the engine's face: everything a caller uses is named here (`__all__`), and
callers import it from here (``from stylecore import stylize, StyleParams``), whichever room
it lives in. Importing `stylecore` is cheap: only the errors and the settings (standard library
only) load at once. Every other name loads its module the first time it is used (PEP 562
`__getattr__`, with the table `_HOMES`), and with it TensorFlow, OpenCV or PyAV where that
module needs them: the bot process, `stylebot --help` and `stylize --help` never import
TensorFlow.

The rooms: `optimiser/` (`stylize`, the optimisation runs and their objective), `instant/`
(the feed-forward instant painter and the instant picture of a run), `weights/` (where the
networks' weights come from, VGG19's feature extractor), `presets/` (the preset styles by
name), `clips/` (GIFs, videos, video notes and stickers). At the top, what they share:
`errors.py`, `params.py`, `images.py`, `colors.py`, `faces.py`, `device.py`, `runs.py`
(`Progress`, `Result`, the working size) and `cli.py` (the `stylize` command).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stylecore.errors import (
    Cancelled,
    ClipError,
    ImageError,
    PresetNameError,
    PresetUnavailable,
    StyleError,
    UnknownPreset,
)
from stylecore.params import (
    CLASSIC,
    DEFAULT,
    PRECISION_CHOICES,
    QUALITY_PRESETS,
    STYLE_STRENGTHS,
    StyleParams,
    precision_setting,
)

if TYPE_CHECKING:  # what `__getattr__` loads on first use, for type checkers and readers
    from stylecore.clips.animate import ClipProgress, ClipResult, stylize_clip
    from stylecore.clips.decode import ClipInfo, ClipLimits, open_clip, probe_clip
    from stylecore.clips.frame_painters import clip_painter, instant_available, optimiser_painter
    from stylecore.clips.sticker_making import StickerResult, make_sticker, make_video_sticker
    from stylecore.clips.temporal import FramePainter
    from stylecore.device import configure_devices, resolve_precision
    from stylecore.faces import Face, detect_faces
    from stylecore.images import (
        decode_image,
        encode_image,
        resize_long_side,
        resize_to,
        save_image,
        to_uint8,
        write_atomic,
    )
    from stylecore.instant.network_weights import InstantWeightsError, fetch_instant_weights
    from stylecore.instant.painter import InstantPainter, InstantUnavailable, instant_painter
    from stylecore.instant.run import paint_instantly
    from stylecore.optimiser.transfer import (
        PIXEL_BUDGET_ENV,
        WorkingImageTooLarge,
        pixel_budget,
        stylize,
        warm_up,
    )
    from stylecore.presets.catalogue import Preset
    from stylecore.presets.downloads import recent_failure
    from stylecore.presets.folders import add_preset, set_presets_folder
    from stylecore.presets.lookup import get_preset, is_available_offline, list_presets, load_preset
    from stylecore.runs import Progress, Result
    from stylecore.weights.vgg19 import WeightsError, fetch_weights

_LAZY: dict[str, tuple[str, ...]] = {
    "stylecore.optimiser.transfer": (
        "PIXEL_BUDGET_ENV", "WorkingImageTooLarge", "pixel_budget", "stylize", "warm_up",
    ),
    "stylecore.runs": ("Progress", "Result"),
    "stylecore.images": (
        "decode_image", "encode_image", "resize_long_side", "resize_to", "save_image",
        "to_uint8", "write_atomic",
    ),
    "stylecore.device": ("configure_devices", "resolve_precision"),
    "stylecore.faces": ("Face", "detect_faces"),
    "stylecore.presets.catalogue": ("Preset",),
    "stylecore.presets.lookup": (
        "get_preset", "is_available_offline", "list_presets", "load_preset",
    ),
    "stylecore.presets.downloads": ("recent_failure",),
    "stylecore.presets.folders": ("add_preset", "set_presets_folder"),
    "stylecore.clips.decode": ("ClipInfo", "ClipLimits", "open_clip", "probe_clip"),
    "stylecore.clips.animate": ("ClipProgress", "ClipResult", "stylize_clip"),
    "stylecore.clips.frame_painters": ("clip_painter", "instant_available", "optimiser_painter"),
    "stylecore.clips.sticker_making": ("StickerResult", "make_sticker", "make_video_sticker"),
    "stylecore.clips.temporal": ("FramePainter",),
    "stylecore.instant.painter": ("InstantPainter", "InstantUnavailable", "instant_painter"),
    "stylecore.instant.run": ("paint_instantly",),
    "stylecore.instant.network_weights": ("InstantWeightsError", "fetch_instant_weights"),
    "stylecore.weights.vgg19": ("WeightsError", "fetch_weights"),
}
"""Each module whose names load on first use, and those names."""

_HOMES: dict[str, str] = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "CLASSIC",
    "DEFAULT",
    "PIXEL_BUDGET_ENV",
    "PRECISION_CHOICES",
    "QUALITY_PRESETS",
    "STYLE_STRENGTHS",
    "Cancelled",
    "ClipError",
    "ClipInfo",
    "ClipLimits",
    "ClipProgress",
    "ClipResult",
    "Face",
    "FramePainter",
    "ImageError",
    "InstantPainter",
    "InstantUnavailable",
    "InstantWeightsError",
    "Preset",
    "PresetNameError",
    "PresetUnavailable",
    "Progress",
    "Result",
    "StickerResult",
    "StyleError",
    "StyleParams",
    "UnknownPreset",
    "WeightsError",
    "WorkingImageTooLarge",
    "add_preset",
    "clip_painter",
    "configure_devices",
    "decode_image",
    "detect_faces",
    "encode_image",
    "fetch_instant_weights",
    "fetch_weights",
    "get_preset",
    "instant_available",
    "instant_painter",
    "is_available_offline",
    "list_presets",
    "load_preset",
    "make_sticker",
    "make_video_sticker",
    "open_clip",
    "optimiser_painter",
    "paint_instantly",
    "pixel_budget",
    "precision_setting",
    "probe_clip",
    "recent_failure",
    "resize_long_side",
    "resize_to",
    "resolve_precision",
    "save_image",
    "set_presets_folder",
    "stylize",
    "stylize_clip",
    "to_uint8",
    "warm_up",
    "write_atomic",
]


def __getattr__(name: str) -> Any:
    """A name of `_HOMES`, its module imported the first time it is asked for (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup finds it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
