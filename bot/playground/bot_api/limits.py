"""Telegram's limits as the local Bot API enforces them, and its refusals: `ApiError` is an
error answer ({"ok": false, "error_code", "description"}) a Bot API method raises."""

from __future__ import annotations

from bot.playground.bot_api.pictures import image_size

MAX_DOWNLOAD = 20 * 1024 * 1024
"""getFile refuses bigger files ("file is too big"), as Telegram's cloud Bot API does."""
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_RATIO = 20
MAX_SET_STICKERS = 120
MAX_VIDEO_STICKER_BYTES = 256 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first")


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def check_lengths(params: dict) -> None:
    """Telegram's limits on message texts and captions (in characters)."""
    if len(str(params.get("text") or "")) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")
    if len(str(params.get("caption") or "")) > MAX_CAPTION:
        raise ApiError(400, "Bad Request: message caption is too long")


def check_photo(data: bytes) -> None:
    """Telegram's limits on a photo the bot sends: an image, at most 10 MB, width + height at
    most 10000, sides at most 20:1."""
    if len(data) > MAX_PHOTO_BYTES:
        raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
    width, height = image_size(data)
    if not width or not height:
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
    if width + height > MAX_PHOTO_SIDES or max(width, height) > MAX_PHOTO_RATIO * min(width,
                                                                                       height):
        raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
