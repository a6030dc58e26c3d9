"""Stickers of the bot's results: the painting a result message carries, turned into what
Telegram takes as a sticker (a static WEBP of 512 px, or for an animation a video sticker:
WEBM VP9, at most 3 s and 256 KB), by the engine's `stylecore.make_sticker` and
`make_video_sticker`.

Results are deleted from disk once delivered, so the sticker is made from the result message
itself: its photo (the biggest size), animation, video note or file, downloaded again.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from telegram import Bot, InputFile, InputSticker, Message

from bot.telegram.files import download

StickerFormat = Literal["static", "video"]
STICKER_EMOJI = "🎨"


class NoPainting(Exception):
    """The message carries no painting to make a sticker of."""


@dataclass(frozen=True)
class StickerFile:
    data: bytes
    format: StickerFormat

    @property
    def filename(self) -> str:
        return "sticker.webm" if self.format == "video" else "sticker.webp"

    def input_file(self, *, attach: bool = False) -> InputFile:
        return InputFile(self.data, filename=self.filename, attach=attach)

    def input_sticker(self) -> InputSticker:
        """For a sticker set (`createNewStickerSet`, `addStickerToSet`): the file travels as
        an attachment the sticker names."""
        return InputSticker(self.input_file(attach=True), [STICKER_EMOJI], format=self.format)


def painting_in(message: Message) -> tuple[str, StickerFormat]:
    """(file id, sticker format) of the painting a result message carries; `NoPainting`."""
    if message.photo:
        return message.photo[-1].file_id, "static"
    if message.animation:
        return message.animation.file_id, "video"
    if message.video_note:
        return message.video_note.file_id, "video"
    if message.video:
        return message.video.file_id, "video"
    if message.document:
        mime = (message.document.mime_type or "").lower()
        return message.document.file_id, "video" if mime.startswith("video/") else "static"
    raise NoPainting


async def sticker_of(bot: Bot, message: Message) -> StickerFile:
    """The sticker of the painting in `message` (downloaded again from Telegram). Raises
    `NoPainting`, the download's errors, or the engine's for a file it cannot read."""
    file_id, sticker_format = painting_in(message)
    data = await download(bot, file_id)
    return await asyncio.to_thread(_convert, data, sticker_format)


def _convert(data: bytes, sticker_format: StickerFormat) -> StickerFile:
    from stylecore import make_sticker, make_video_sticker

    with tempfile.TemporaryDirectory(prefix="stylebot-sticker-") as folder:
        source = Path(folder) / "painting"
        source.write_bytes(data)
        if sticker_format == "video":
            result = make_video_sticker(source, Path(folder) / "sticker.webm")
        else:
            result = make_sticker(source, Path(folder) / "sticker.webp")
        return StickerFile(Path(result.output_path).read_bytes(), sticker_format)
