"""What the page asks to paint, read strictly from its JSON: a `Choice`, or `BadChoice` (400)
saying which field is wrong. Nothing from the page is used without passing through here."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_JSON = 4096
"""A choice is a few short fields: anything longer is refused before it is parsed (413)."""
MAX_STRENGTH = 3.0
"""The engine's strongest style (the bot's "high")."""
_PICTURE_ID = re.compile(r"(photo|style):[0-9a-f]{20}|preset:[a-z0-9_]{2,32}")
_MASK = re.compile(r"mask-[0-9a-f]{32}\.png")


class BadChoice(ValueError):
    """The page sent something that is not a choice; the message names the field."""


@dataclass(frozen=True)
class Choice:
    photo: str
    """The page's id of the user's photo (`photo:<token>`)."""
    style: str
    """The first style: `preset:<name>` or `style:<token>` (one of their style photos)."""
    second_style: str | None
    """The second style of a blend, or None."""
    blend: float
    """How much of the second style, 0 to 1."""
    strength: float
    """The engine's `style_strength`, 0 to `MAX_STRENGTH`."""
    keep_colors: bool
    keep_faces: bool
    mask: str | None
    """The brush's mask (a name the server gave the page), or None: the style everywhere."""

    @property
    def styles(self) -> list[tuple[str, float]]:
        """The styles with their blend weights (one style when there is no blend)."""
        if self.second_style is None or self.blend <= 0.0:
            return [(self.style, 1.0)]
        if self.blend >= 1.0:
            return [(self.second_style, 1.0)]
        return [(self.style, 1.0 - self.blend), (self.second_style, self.blend)]


def parse_choice(raw: bytes) -> Choice:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadChoice("the request is not JSON") from None
    if not isinstance(body, dict):
        raise BadChoice("the request is not a JSON object")
    second = body.get("second_style")
    mask = body.get("mask")
    return Choice(
        photo=_picture(body.get("photo"), "photo", kinds=("photo",)),
        style=_picture(body.get("style"), "style", kinds=("preset", "style")),
        second_style=None if second is None else _picture(second, "second_style",
                                                          kinds=("preset", "style")),
        blend=_number(body.get("blend", 0.0), "blend", 0.0, 1.0),
        strength=_number(body.get("strength", 1.0), "strength", 0.0, MAX_STRENGTH),
        keep_colors=_flag(body.get("keep_colors", False), "keep_colors"),
        keep_faces=_flag(body.get("keep_faces", True), "keep_faces"),
        mask=None if mask is None else _mask(mask),
    )


def _picture(value: Any, name: str, *, kinds: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not _PICTURE_ID.fullmatch(value):
        raise BadChoice(f"{name} is not a picture's id")
    if value.split(":", 1)[0] not in kinds:
        raise BadChoice(f"{name} cannot be a {value.split(':', 1)[0]}")
    return value


def _number(value: Any, name: str, low: float, high: float) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or not low <= value <= high:
        raise BadChoice(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


def _flag(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise BadChoice(f"{name} must be true or false")
    return value


def _mask(value: Any) -> str:
    if not isinstance(value, str) or not _MASK.fullmatch(value):
        raise BadChoice("mask is not a mask's name")
    return value
