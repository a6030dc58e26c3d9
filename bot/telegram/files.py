"""Getting images out of Telegram, and the work area where downloads and results live.

Layout of the work area (`STYLEBOT_WORK_DIR`):

    users/<user id>/<hash of file id>   downloaded inputs, per user so /forget can remove them
    jobs/<job id>/                      a job's scratch files (preset style image, ...)
    results/job-<job id>.png|.mp4       a finished picture or clip, kept until it is delivered
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import shutil
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, File, Message
from telegram.error import BadRequest

from bot.jobs.model import Media
from bot.telegram.retries import with_retries
from stylecore import write_atomic

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""The Bot API's getFile limit; bigger files are refused before anything is downloaded."""
DOWNLOAD_ATTEMPTS = 4
"""Tries of getFile and of the download each, 1, 2 and 4 s apart, while the network fails."""


RESULT_SUFFIXES = (".png", ".mp4")
"""A picture's result and a clip's."""


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

    @property
    def moving(self) -> bool:
        return self.media != "photo"

    def frames(self, max_seconds: float, max_fps: int) -> int:
        """The frames a job on it paints at most (its queue estimate counts them)."""
        if not self.moving:
            return 1
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
                        "clip", clip.duration)
    if message.video:
        clip = message.video
        return ImageRef(clip.file_id, clip.file_unique_id, clip.file_size, "video", "clip",
                        clip.duration)
    if message.video_note:
        clip = message.video_note
        return ImageRef(clip.file_id, clip.file_unique_id, clip.file_size, "video_note",
                        "round", clip.duration)
    if message.document:
        doc = message.document
        if (doc.mime_type or "").lower() in CLIP_DOCUMENT_TYPES:
            return ImageRef(doc.file_id, doc.file_unique_id, doc.file_size, "document", "clip")
        return ImageRef(doc.file_id, doc.file_unique_id, doc.file_size, "document")
    if message.sticker:
        sticker = message.sticker
        if sticker.is_animated:
            raise NotAStillImage
        if sticker.is_video:
            return ImageRef(sticker.file_id, sticker.file_unique_id, sticker.file_size,
                            "video_sticker", "clip")
        return ImageRef(sticker.file_id, sticker.file_unique_id, sticker.file_size, "sticker")
    return None


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


class WorkArea:
    """Paths and housekeeping of the work folder."""

    def __init__(self, root: Path) -> None:
        """Creates the folders and checks that a file can be written there (`OSError` if
        not), so an unusable work folder stops the bot at start-up, not at the first photo."""
        self.root = Path(root)
        for sub in ("users", "jobs", "results"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.root / "results"):
            pass

    def input_path(self, user_id: int, file_id: str) -> Path:
        digest = hashlib.sha256(file_id.encode()).hexdigest()[:24]
        return self.root / "users" / str(user_id) / digest

    def job_dir(self, job_id: int) -> Path:
        path = self.root / "jobs" / str(job_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def result_path(self, job_id: int, suffix: str = ".png") -> Path:
        return self.root / "results" / f"job-{job_id}{suffix}"

    def cached_input(self, user_id: int, file_id: str) -> Path | None:
        path = self.input_path(user_id, file_id)
        return path if path.is_file() else None

    def save_input(self, user_id: int, file_id: str, data: bytes) -> Path:
        path = self.input_path(user_id, file_id)
        write_atomic(path, data)
        return path

    async def fetch_input(self, bot: Bot, user_id: int, file_id: str) -> Path:
        """The downloaded file, from the cache or from Telegram."""
        cached = self.cached_input(user_id, file_id)
        if cached is not None:
            return cached
        return self.save_input(user_id, file_id, await download(bot, file_id))

    def remove_inputs(self, user_id: int, *file_ids: str | None) -> None:
        for file_id in file_ids:
            if file_id:
                self.input_path(user_id, file_id).unlink(missing_ok=True)

    def remove_job(self, job_id: int) -> None:
        shutil.rmtree(self.root / "jobs" / str(job_id), ignore_errors=True)
        for suffix in RESULT_SUFFIXES:
            self.result_path(job_id, suffix).unlink(missing_ok=True)

    def forget_user(self, user_id: int) -> None:
        shutil.rmtree(self.root / "users" / str(user_id), ignore_errors=True)

    def sweep(self, max_age_s: float, keep_results: Collection[Path] = ()) -> int:
        """Deletes files older than `max_age_s` (abandoned conversations, crashed jobs), except
        `keep_results` (pictures still waiting for delivery). Returns the number deleted."""
        cutoff = time.time() - max_age_s
        removed = 0
        for path in self.root.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file() and path not in keep_results and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        for folder in sorted(self.root.glob("*/*"), reverse=True):
            with contextlib.suppress(OSError):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        return removed
