"""Getting pictures out of Telegram: what a message carries (`image_in`), downloading it within
the Bot API's limits (`download`), and `TelegramInputs`, the job system's `Inputs` (a job's
pictures, from the work area or downloaded into it)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, Document, File, Message
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.jobs.ports import InputGone, InputTooBig, RecipientGone, Unreachable
from bot.jobs.work_area import WorkArea
from bot.settings import ContentKind, Media
from bot.telegram.retries import with_retries

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""The Bot API's getFile limit; bigger files are refused before anything is downloaded."""
DOWNLOAD_ATTEMPTS = 4
"""Tries of getFile and of the download each, 1, 2 and 4 s apart, while the network fails."""


class FileTooBig(Exception):
    def __init__(self, size: int | None) -> None:
        super().__init__(f"file of {size} bytes is over the download limit")
        self.size = size


class NotAStillImage(Exception):
    """An animated (TGS) sticker: vector animation, nothing to stylise."""


class FileUnavailable(Exception):
    """Telegram no longer has the file (expired or invalid file id)."""


@dataclass(frozen=True)
class ImageRef:
    """A picture inside a message, before it is downloaded: a still image, or a moving
    picture (`media` "clip", or "round" for a video note, which comes back round)."""

    file_id: str
    file_unique_id: str
    file_size: int | None
    kind: str  # photo | document | sticker | animation | video | video_note | video_sticker
    media: Media = "photo"
    duration: float | None = None
    """Seconds, as Telegram states them for moving pictures (None: not said)."""
    content_kind: ContentKind = "photo"
    """What the user would call it (the words the bot uses for it)."""
    probed_frames: int | None = None
    """A clip's frames within the limits, as its download's headers tell (None: not probed)."""

    @property
    def moving(self) -> bool:
        return self.media != "photo"

    def frames(self, max_seconds: float, max_fps: int) -> int:
        """The frames a job on it paints at most (its queue estimate counts them): what the
        download's headers say, else what Telegram states (the limits where it says nothing)."""
        if not self.moving:
            return 1
        if self.probed_frames is not None:
            return max(1, self.probed_frames)
        seconds = min(self.duration or max_seconds, max_seconds)
        return max(1, math.ceil(seconds * max_fps))


CLIP_DOCUMENT_TYPES = frozenset({"image/gif", "video/mp4", "video/webm"})
"""Documents taken as moving pictures (a GIF sent as a file; Telegram turns most GIFs into
silent MP4 animations itself)."""


def image_in(message: Message | None) -> ImageRef | None:
    """The picture a message carries, or None if it carries none.

    Photos give their largest size; documents are taken whatever their type (they are decoded
    before use, so a text file is refused then), GIF and MP4 files as moving pictures; static
    stickers count as images, video stickers (WEBM) as moving pictures. Animations (GIFs),
    videos and video notes are moving pictures. Raises `NotAStillImage` for animated (TGS)
    stickers."""
    if message is None:
        return None
    if message.photo:
        best = message.photo[-1]
        return ImageRef(best.file_id, best.file_unique_id, best.file_size, "photo")
    if message.animation:  # before document: an animation message carries both
        clip = message.animation
        return ImageRef(clip.file_id, clip.file_unique_id, clip.file_size, "animation",
                        "clip", clip.duration, "gif")
    if message.video:
        clip = message.video
        return ImageRef(clip.file_id, clip.file_unique_id, clip.file_size, "video", "clip",
                        clip.duration, "video")
    if message.video_note:
        clip = message.video_note
        return ImageRef(clip.file_id, clip.file_unique_id, clip.file_size, "video_note",
                        "round", clip.duration, "round")
    if message.document:
        return _document(message.document)
    if message.sticker:
        sticker = message.sticker
        if sticker.is_animated:
            raise NotAStillImage
        if sticker.is_video:
            return ImageRef(sticker.file_id, sticker.file_unique_id, sticker.file_size,
                            "video_sticker", "clip", content_kind="video_sticker")
        return ImageRef(sticker.file_id, sticker.file_unique_id, sticker.file_size, "sticker",
                        content_kind="sticker")
    return None


def _document(doc: Document) -> ImageRef:
    """A file: a GIF or a video (a moving picture), else an image (decoded to tell)."""
    mime_type = (doc.mime_type or "").lower()
    if mime_type in CLIP_DOCUMENT_TYPES:
        kind: ContentKind = "gif" if mime_type == "image/gif" else "video"
        return ImageRef(doc.file_id, doc.file_unique_id, doc.file_size, "document", "clip",
                        content_kind=kind)
    return ImageRef(doc.file_id, doc.file_unique_id, doc.file_size, "document",
                    content_kind="picture")


async def download(bot: Bot, file_id: str, known_size: int | None = None,
                   limit: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """The file's bytes via getFile; `FileTooBig` before downloading anything over `limit`.
    A dropped connection, a timeout or a 5xx is repeated (`DOWNLOAD_ATTEMPTS`); a refusal
    (400: too big, unknown file id) is not."""
    if known_size is not None and known_size > limit:
        raise FileTooBig(known_size)
    try:
        tg_file = await with_retries(lambda: bot.get_file(file_id), attempts=DOWNLOAD_ATTEMPTS)
    except BadRequest as exc:
        text = str(exc).lower()
        if "too big" in text:
            raise FileTooBig(known_size) from exc
        if "file_id" in text or "file id" in text or "not found" in text:
            raise FileUnavailable(str(exc)) from exc
        raise
    if tg_file.file_size is not None and tg_file.file_size > limit:
        raise FileTooBig(tg_file.file_size)
    data = await with_retries(lambda: _download_bytes(tg_file), attempts=DOWNLOAD_ATTEMPTS)
    if len(data) > limit:
        raise FileTooBig(len(data))
    return data


async def _download_bytes(tg_file: File) -> bytes:
    buffer = io.BytesIO()  # a fresh one per try: a dropped connection leaves a partial file
    await tg_file.download_to_memory(buffer)
    return buffer.getvalue()


class TelegramInputs:
    """A job's pictures (`bot.jobs.ports.Inputs`): from the work area if the handler that
    received them kept them there, else downloaded now. Telegram's errors come out as the job
    system's (`InputTooBig`, `InputGone`, `RecipientGone`, `Unreachable`)."""

    def __init__(self, bot: Bot, work: WorkArea) -> None:
        self.bot = bot
        self.work = work

    async def fetch(self, user_id: int, file_id: str) -> Path:
        cached = self.work.cached_input(user_id, file_id)
        if cached is not None:
            return cached
        try:
            data = await download(self.bot, file_id)
        except FileTooBig as exc:
            raise InputTooBig(exc.size, MAX_DOWNLOAD_BYTES) from exc
        except FileUnavailable as exc:
            raise InputGone(str(exc)) from exc
        except Forbidden as exc:
            raise RecipientGone(str(exc)) from exc
        except TelegramError as exc:
            raise Unreachable(str(exc)) from exc
        return self.work.save_input(user_id, file_id, data)
