"""The Bot API methods for the bot's pictures and files: sending photos (checked against
Telegram's photo limits), albums, documents, GIFs and video notes; getFile (the bot's way to
download what users sent, refused over `MAX_DOWNLOAD`) and getUserProfilePhotos."""

from __future__ import annotations

from typing import Any

from bot.playground.bot_api.limits import MAX_DOWNLOAD, ApiError, check_lengths, check_photo
from bot.playground.bot_api.pictures import image_size
from bot.playground.bot_api.state import Method, TelegramState, caption_of


def send_photo(state: TelegramState, params: dict, files: dict) -> dict:
    check_lengths(params)
    data = state.uploaded(params, files, "photo")
    check_photo(data)
    width, height = image_size(data)
    sizes = [{**state.add_file(data, "photos"), "width": width, "height": height}]
    return state.bot_message(params, photo=sizes, **caption_of(params))


def send_media_group(state: TelegramState, params: dict, files: dict) -> list[dict]:
    """An album: 2-10 photos or videos, each its own message sharing a media_group_id."""
    media = params.get("media")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise ApiError(400, "Bad Request: media group must include 2-10 items")
    group_id = state.new_media_group_id()
    without_buttons = {k: v for k, v in params.items() if k != "reply_markup"}
    return [state.bot_message(without_buttons, **_album_part(state, item, files, group_id))
            for item in media]


def _album_part(state: TelegramState, item: Any, files: dict, group_id: str) -> dict:
    """The message fields of one item of sendMediaGroup's `media`."""
    if not isinstance(item, dict) or item.get("type") not in ("photo", "video"):
        raise ApiError(400, "Bad Request: can't parse InputMedia")
    check_lengths({"caption": item.get("caption")})
    data = state.uploaded({"photo": item.get("media")}, files, "photo")
    content: dict[str, Any] = {"media_group_id": group_id}
    if item["type"] == "video":
        content["video"] = {**state.add_file(data, "videos"), **{
            k: item[k] for k in ("width", "height", "duration") if k in item}}
    else:
        check_photo(data)
        width, height = image_size(data)
        content["photo"] = [{**state.add_file(data, "photos"), "width": width,
                             "height": height}]
    if item.get("caption"):
        content["caption"] = item["caption"]
    return content


def send_document(state: TelegramState, params: dict, files: dict) -> dict:
    check_lengths(params)
    data = state.uploaded(params, files, "document")
    document = {**state.add_file(data, "documents"), "file_name": "document"}
    return state.bot_message(params, document=document, **caption_of(params))


def send_animation(state: TelegramState, params: dict, files: dict) -> dict:
    check_lengths(params)
    data = state.uploaded(params, files, "animation")
    animation = {**state.add_file(data, "animations"), "mime_type": "video/mp4",
                 **{k: int(params[k]) for k in ("width", "height", "duration")
                    if params.get(k) is not None}}
    return state.bot_message(params, animation=animation, document=dict(animation),
                             **caption_of(params))


def send_video_note(state: TelegramState, params: dict, files: dict) -> dict:
    data = state.uploaded(params, files, "video_note")
    note = {**state.add_file(data, "video_notes"),
            **{k: int(params[k]) for k in ("length", "duration") if params.get(k) is not None}}
    return state.bot_message(params, video_note=note)


def get_file(state: TelegramState, params: dict, files: dict) -> dict:
    entry = state.stored_files.get(str(params.get("file_id")))
    if entry is None:
        raise ApiError(400, "Bad Request: invalid file_id")
    if entry["size"] > MAX_DOWNLOAD:
        raise ApiError(400, "Bad Request: file is too big")
    return {"file_id": params["file_id"], "file_unique_id": entry["unique_id"],
            "file_size": entry["size"], "file_path": entry["path"]}


def get_user_profile_photos(state: TelegramState, params: dict, files: dict) -> dict:
    user_id = int(params.get("user_id") or 0)
    sizes = state.profile_photos.get(user_id)
    return {"total_count": 1 if sizes else 0, "photos": [sizes] if sizes else []}


METHODS: dict[str, Method] = {
    "sendPhoto": send_photo,
    "sendMediaGroup": send_media_group,
    "sendDocument": send_document,
    "sendAnimation": send_animation,
    "sendVideoNote": send_video_note,
    "getFile": get_file,
    "getUserProfilePhotos": get_user_profile_photos,
}
