"""What the studio's routes are given and may raise: the server's dependencies (`StudioDeps`,
built by `bot.studio.wiring`, or by the tests), the keys a request carries them under, and the
signed-in user (`signed_in_user`). `bot.studio.server` and `bot.studio.routes` both read it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiohttp import web

from bot.studio.choices import Choice
from bot.studio.init_data import SignedIn, StudioUser
from bot.studio.library import Library, Picture, Style
from bot.studio.limits import PreviewLimits


class PainterUnavailable(RuntimeError):
    """The preview painter is starting or restarting (503, try again soon)."""


class PictureUnusable(ValueError):
    """The engine refused the photo or a style (422)."""


@dataclass(frozen=True)
class PreviewPlan:
    """What one preview paints: the files, and the choice."""

    content: Path
    styles: list[tuple[Path, float]]
    mask: Path | None
    choice: Choice


class Previews(Protocol):
    async def paint(self, plan: PreviewPlan) -> bytes: ...


class CarefulJobs(Protocol):
    async def start(self, user: StudioUser, choice: Choice, photo: Picture,
                    styles: list[tuple[Style, float]]) -> None: ...


@dataclass
class StudioDeps:
    """What the server needs; `bot.app` builds it (the tests build their own)."""

    token: str
    max_age_s: float
    webapp_js: str
    """The script that gives the page `Telegram.WebApp` (Telegram's, or the playground's)."""
    library: Library
    previews: Previews
    careful: CarefulJobs
    language: Callable[[StudioUser], Awaitable[str]]
    """The language to speak to the user in (their /language choice, else their app's)."""
    words: Callable[[str | None], tuple[str, dict[str, str]]]
    """The page's words in a language (any IETF tag; one the bot does not speak: English),
    and the language they are in."""
    limits: PreviewLimits


DEPS = web.AppKey("studio", StudioDeps)
USER = web.RequestKey("studio_user", SignedIn)


def signed_in_user(request: web.Request) -> SignedIn:
    """The user the request's `initData` was signed for (checked by the server first)."""
    return request[USER]
