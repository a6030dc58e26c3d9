"""What a user may paint in the studio: their own photos and style photos (from their jobs and
the photo waiting for a style), and the presets; and the files for them.

The page names a picture by a token (`photo:<t>`, `style:<t>`, `preset:<name>`); a token is a
digest of the Telegram file id, so no file id reaches the page, and a token is looked up among
the asking user's own pictures only: another user's, a made-up one and one that is gone all
answer `NotYours`, which the server turns into the same 404.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.jobs.ports import InputGone, Inputs, InputTooBig, RecipientGone, Unreachable
from bot.jobs.work_area import WorkArea
from bot.store import Store, fetch_all
from stylecore import PresetUnavailable, UnknownPreset, get_preset, list_presets, load_preset
from stylecore import save_image as save_picture

RECENT = 12
"""Photos (and style photos) the studio offers: the newest this many."""
_TOKEN = re.compile(r"[0-9a-f]{20}")
_PRESET = re.compile(r"[a-z0-9_]{2,32}")

Kind = Literal["photo", "style"]


class NotYours(LookupError):
    """No such picture among the user's own (whoever else's it may be): 404."""


class PictureGone(LookupError):
    """Telegram no longer has the picture (an expired file: the user sends it again), or a
    preset's painting cannot be had; `style`: it was a style, not their photo."""

    def __init__(self, picture_id: str) -> None:
        super().__init__(picture_id)
        self.style = not picture_id.startswith("photo:")


class PictureUnreachable(RuntimeError):
    """Telegram could not be asked for the picture now; later may work."""


@dataclass(frozen=True)
class Picture:
    """One of the user's pictures."""

    kind: Kind
    token: str
    file_id: str
    message_id: int | None
    """Its message in the user's private chat (a careful job's result replies to it)."""

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.token}"


@dataclass(frozen=True)
class PresetStyle:
    name: str

    @property
    def id(self) -> str:
        return f"preset:{self.name}"


Style = Picture | PresetStyle


def token_of(file_id: str) -> str:
    return hashlib.sha256(file_id.encode()).hexdigest()[:20]


class Library:
    """The user's pictures (from the database), and their files (from the work area, else
    downloaded through `inputs`)."""

    def __init__(self, store: Store, inputs: Inputs, work: WorkArea) -> None:
        self.store = store
        self.inputs = inputs
        self.work = work
        self._preset_locks: dict[str, asyncio.Lock] = {}

    async def photos(self, user_id: int) -> list[Picture]:
        """Their photos, newest first: the one waiting for a style, then their jobs'."""
        async with self.store.read() as db:
            waiting = await fetch_all(db, """
                SELECT content_file_id, content_message_id, chat_id FROM sessions
                WHERE user_id = ? AND content_file_id IS NOT NULL AND content_media = 'photo'
                ORDER BY updated_at DESC LIMIT ?""", (user_id, RECENT))
            jobs = await fetch_all(db, """
                SELECT content_file_id, reply_to_message_id, chat_id FROM jobs
                WHERE user_id = ? AND content_file_id != '' AND media = 'photo'
                ORDER BY id DESC LIMIT ?""", (user_id, RECENT * 4))
        return _distinct("photo", [*waiting, *jobs], user_id)

    async def job(self, user_id: int, job_id: int) -> tuple[Picture, Style | None] | None:
        """The photo and style of one of their picture jobs (None: not theirs, not a
        picture, or its photo forgotten)."""
        async with self.store.read() as db:
            rows = await fetch_all(db, """
                SELECT content_file_id, reply_to_message_id, chat_id, preset, style_file_id
                FROM jobs WHERE id = ? AND user_id = ? AND media = 'photo'
                    AND content_file_id != ''""", (job_id, user_id))
        if not rows:
            return None
        file_id, message_id, chat_id, preset, style_file_id = rows[0]
        (photo,) = _distinct("photo", [(file_id, message_id, chat_id)], user_id)
        style: Style | None = None
        if style_file_id:
            (style,) = _distinct("style", [(style_file_id, None, chat_id)], user_id)
        elif preset:
            style = PresetStyle(preset)
        return photo, style

    async def style_photos(self, user_id: int) -> list[Picture]:
        """The photos they used as styles, newest first."""
        async with self.store.read() as db:
            rows = await fetch_all(db, """
                SELECT style_file_id, NULL, chat_id FROM jobs
                WHERE user_id = ? AND style_file_id IS NOT NULL AND style_file_id != ''
                ORDER BY id DESC LIMIT ?""", (user_id, RECENT * 4))
        return _distinct("style", rows, user_id)

    @staticmethod
    def presets() -> list[PresetStyle]:
        return [PresetStyle(preset.name) for preset in list_presets()]

    async def picture(self, user_id: int, picture_id: str) -> Style:
        """The user's picture or a preset by the page's id; `NotYours` for anything else."""
        kind, _, token = picture_id.partition(":")
        if kind == "preset" and _PRESET.fullmatch(token):
            try:
                return PresetStyle(get_preset(token).name)
            except UnknownPreset:  # deleted since the page listed it (presets are public)
                raise PictureGone(picture_id) from None
        if kind not in ("photo", "style") or not _TOKEN.fullmatch(token):
            raise NotYours(picture_id)
        found = await (self.photos(user_id) if kind == "photo" else self.style_photos(user_id))
        for picture in found:
            if picture.token == token:
                return picture
        raise NotYours(picture_id)

    async def photo(self, user_id: int, picture_id: str) -> Picture:
        picture = await self.picture(user_id, picture_id)
        if not isinstance(picture, Picture) or picture.kind != "photo":
            raise NotYours(picture_id)
        return picture

    async def path(self, user_id: int, style: Style) -> Path:
        """The picture's file: `PictureGone` when Telegram no longer has it (or a preset's
        painting cannot be downloaded), `PictureUnreachable` when Telegram cannot be asked."""
        if isinstance(style, PresetStyle):
            return await self._preset_path(style.name)
        try:
            return await self.inputs.fetch(user_id, style.file_id)
        except (InputGone, InputTooBig, RecipientGone) as exc:
            raise PictureGone(style.id) from exc
        except Unreachable as exc:
            raise PictureUnreachable(str(exc)) from exc

    async def _preset_path(self, name: str) -> Path:
        path = self.work.studio_path("presets", f"{name}.png")
        # One painting at a time per name: a slow download holds up no other style.
        async with self._preset_locks.setdefault(name, asyncio.Lock()):
            if not path.is_file():
                try:
                    image = await asyncio.to_thread(load_preset, name)
                except PresetUnavailable as exc:
                    raise PictureGone(f"preset:{name}") from exc
                await asyncio.to_thread(save_picture, image, path)
        return path


def _distinct(kind: Kind, rows: list, user_id: int) -> list[Picture]:
    seen: dict[str, Picture] = {}
    for file_id, message_id, chat_id in rows:
        token = token_of(file_id)
        if token in seen:
            continue
        private = chat_id == user_id  # a message id means something in their private chat only
        seen[token] = Picture(kind, token, file_id, message_id if private else None)
        if len(seen) == RECENT:
            break
    return list(seen.values())
