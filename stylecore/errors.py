"""The engine's refusals: a stable reason code and its data, never a sentence for users.

Whoever shows an error words it: the bot in `bot/telegram/texts.py` (`error_text`), the
`stylize` command line in `stylecore/cli.py`. `str(error)` is for logs ("too_small
width=20 height=18 min_side=32"). Errors pickle with their code and data, so they cross
process boundaries (the bot's worker) intact.

| error | codes | data |
| --- | --- | --- |
| `ImageError` | `empty`, `not_image`, `corrupt`, `missing`, `unreadable` | |
| | `too_large` | `max_pixels`, and `width`, `height` when the header said |
| | `too_small` | `width`, `height`, `min_side` |
| | `aspect` | `width`, `height`, `max_aspect` |
| `UnknownPreset` | `unknown_preset` | `name` (as given), `suggestions` |
| `PresetUnavailable` | `download_failed`, `preset_unreadable`, | `name`, `title`, `detail` |
| | `preset_unusable`, `preset_gone` | |
| `PresetNameError` | `bad_name`, `builtin_name` | `name` |
| `ClipError` | `missing`, `empty`, `not_video` (no container PyAV can open), `corrupt` | |
| | `no_video` (audio only) | |
| | `too_few_frames` (a still: 0 or 1 frame) | `frames` |
| | `sticker_too_large` (no setting fits Telegram's limit) | `bytes`, `max_bytes` |

`Cancelled` is not a refusal: the caller's `should_stop()` said so (a photo run or a clip).
"""

from __future__ import annotations

from typing import Any


class StyleError(Exception):
    """An error with a reason `code` and its `data` (keyword arguments)."""

    def __init__(self, code: str, **data: Any) -> None:
        super().__init__(code)
        self.code = code
        self.data = data

    def __str__(self) -> str:
        details = " ".join(f"{key}={value}" for key, value in self.data.items()
                           if key != "detail")
        detail = self.data.get("detail")
        text = f"{self.code} {details}".strip()
        return f"{text}: {detail}" if detail else text

    def __reduce__(self) -> tuple:  # keep code and data across process boundaries
        return _rebuild, (type(self), self.code, self.data)


def _rebuild(cls: type[StyleError], code: str, data: dict[str, Any]) -> StyleError:
    return cls(code, **data)


class ImageError(StyleError, ValueError):
    """An image the engine cannot use (see the module's table for the codes)."""

    @property
    def reason(self) -> str:
        """The code, under the name logs and older callers use."""
        return self.code


class UnknownPreset(StyleError, KeyError):
    """No preset has that name; `suggestions` are names close to it."""

    def __init__(self, code: str = "unknown_preset", **data: Any) -> None:
        data.setdefault("suggestions", [])
        super().__init__(code, **data)

    @property
    def suggestions(self) -> list[str]:
        return list(self.data["suggestions"])


class PresetUnavailable(StyleError):
    """A known preset that cannot be loaded right now (download failed, file unreadable or
    gone). `detail` says why, for logs and `python -m stylecore.presets.lookup --fetch`."""

    @property
    def detail(self) -> str:
        return str(self.data.get("detail", ""))


class PresetNameError(StyleError, ValueError):
    """A name an admin cannot give a new preset."""


class ClipError(StyleError, ValueError):
    """A GIF, video or sticker the engine cannot use (see the module's table for the codes)."""


class Cancelled(Exception):
    """The caller's `should_stop()` returned True; the run stopped within one step (a frame)."""
