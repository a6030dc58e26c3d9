"""What a user chose in /settings, what one job runs with and what it paints: the bot's typed
job model.

The names of the qualities and style strengths are defined here once (`Quality`, `Strength`);
the configuration, the keyboards, the texts and the engine parameters all take them from here.
Both dataclasses are frozen: a change is a new value (`dataclasses.replace`). They are stored as
JSON (sessions and jobs), so adding a setting needs no migration; reading is tolerant: unknown
keys are ignored, and missing, mistyped or out-of-range values fall back to the defaults, so an
old or hand-edited row never breaks a user or a job.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, Self, get_args

from stylecore import QUALITY_PRESETS, STYLE_STRENGTHS

Quality = Literal["instant", "fast", "balanced", "high"]
Strength = Literal["low", "normal", "high"]
QUALITIES: tuple[Quality, ...] = get_args(Quality)
STRENGTHS: tuple[Strength, ...] = get_args(Strength)
"""Weakest first: "stronger" and "weaker" re-runs step along this order."""

Media = Literal["photo", "clip", "round"]
"""What a job paints: a still picture, a moving one (GIF, video, video sticker: it comes back
as an animation), or a round video note (it comes back as one)."""

ContentKind = Literal["photo", "picture", "gif", "video", "round", "sticker", "video_sticker"]
"""What a user sent, as they would name it: a photo, an image sent as a file ("picture"), a
GIF (an animation, or a GIF file), a video (or an MP4 or WEBM file), a round video message, a
sticker or a video sticker. What the bot says about it names it so (`bot.telegram.kind_texts`);
`Media` is how it is painted."""

# The bot offers engine presets by name; the engine may have more than it offers yet.
if not set(QUALITIES) <= set(QUALITY_PRESETS) or set(STRENGTHS) != set(STYLE_STRENGTHS):
    raise ImportError(  # caught by any test run: the engine's presets and these names differ
        f"bot.settings names {QUALITIES} / {STRENGTHS}, stylecore.params has "
        f"{tuple(QUALITY_PRESETS)} / {tuple(STYLE_STRENGTHS)}"
    )


@dataclass(frozen=True)
class Settings:
    """A user's choices from /settings, kept per (chat, user) in their session."""

    quality: Quality = "balanced"
    strength: Strength = "normal"
    preserve_colors: bool = False
    as_file: bool = False
    previews: bool = True
    keep_faces: bool = True
    """Paint faces carefully so people stay recognisable (stylecore's `keep_faces`)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, data: str | bytes | dict | None) -> Self:
        """Reads what `to_json` wrote (or its dict), tolerating anything (see the module)."""
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError:
                data = None
        if not isinstance(data, dict):
            return cls()
        default = cls()
        values = {f.name: data[f.name] for f in fields(cls)
                  if f.name in data and _valid(f.name, data[f.name], getattr(default, f.name))}
        return cls(**values)

    from_dict = from_json

    def with_(self, **changes: Any) -> Self:
        """A copy with `changes` (field names as keywords)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class JobSettings(Settings):
    """The settings one job runs with: the user's at the time, plus the job's own adjustments,
    which are not carried over into a re-run."""

    size_scale: float = 1.0
    """The job's size is the quality's times this; below 1 after it ran out of memory."""
    style_strength: float = 0.0
    """The studio's strength slider: the engine's `style_strength` (0: the named
    `strength`'s)."""
    second_style: str = ""
    """The studio's blend: a second style, "preset:<name>" or "file:<file id>" ("": none)."""
    blend: float = 0.0
    """How much of `second_style`, 0 to 1."""
    mask: str = ""
    """The studio's brush: the mask's file name in the user's work folder ("": none)."""

    @classmethod
    def of(cls, settings: Settings) -> JobSettings:
        """A new job with the user's settings."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(Settings)})

    def user_settings(self) -> Settings:
        """The user's part: what a re-run of this job starts from."""
        return Settings(**{f.name: getattr(self, f.name) for f in fields(Settings)})

    @property
    def shrunk(self) -> bool:
        return self.size_scale < 1.0


MAX_STYLE_STRENGTH = max(STYLE_STRENGTHS.values())
_SECOND_STYLE = re.compile(r"preset:[a-z0-9_]{2,32}|file:[A-Za-z0-9_-]{1,200}")
_MASK = re.compile(r"mask-[0-9a-f]{32}\.png")
_NUMBERS = {"size_scale": (0.0, 1.0), "style_strength": (0.0, MAX_STYLE_STRENGTH),
            "blend": (0.0, 1.0)}
"""Each number's range (the low end open for `size_scale`, closed for the others)."""


def _valid(name: str, value: Any, default: Any) -> bool:
    if name == "quality":
        return value in QUALITIES
    if name == "strength":
        return value in STRENGTHS
    if name in _NUMBERS:
        low, high = _NUMBERS[name]
        return (type(value) in (int, float) and math.isfinite(value) and low <= value <= high
                and (value > low or name != "size_scale"))
    if name == "second_style":
        return isinstance(value, str) and (not value or bool(_SECOND_STYLE.fullmatch(value)))
    if name == "mask":
        return isinstance(value, str) and (not value or bool(_MASK.fullmatch(value)))
    return type(value) is type(default)
