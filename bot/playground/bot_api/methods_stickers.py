"""The Bot API methods for stickers and sticker sets, with Telegram's checks: a static sticker
is a WEBP or PNG with a side of 512 px, a video sticker a WEBM of at most 256 KB; a set's name
ends in `_by_<bot username>`, holds at most `MAX_SET_STICKERS`, and is made only for a user the
bot has a private chat with (else PEER_ID_INVALID, as for a user who never started the bot).
Only a supergroup can be given a set."""

from __future__ import annotations

from typing import Any

from bot.playground.bot_api.limits import MAX_SET_STICKERS, MAX_VIDEO_STICKER_BYTES, ApiError
from bot.playground.bot_api.pictures import image_size
from bot.playground.bot_api.state import Method, TelegramState

_WEBM = b"\x1a\x45\xdf\xa3"  # EBML, the header of every WEBM


def send_sticker(state: TelegramState, params: dict, files: dict) -> dict:
    sticker = _sticker(state, state.uploaded(params, files, "sticker"))
    return state.bot_message(params, sticker=sticker)


def _sticker(state: TelegramState, data: bytes, sticker_format: str | None = None) -> dict:
    """A sticker of the uploaded bytes, checked as Telegram does."""
    is_video = data[:4] == _WEBM
    if sticker_format is not None and (sticker_format == "video") != is_video:
        raise ApiError(400, "Bad Request: STICKER_FILE_INVALID")
    if is_video:
        if len(data) > MAX_VIDEO_STICKER_BYTES:
            raise ApiError(400, "Bad Request: STICKER_VIDEO_BIG")
        width = height = 512
    else:
        width, height = image_size(data)
        if max(width, height) != 512 or (data[8:12] != b"WEBP" and data[1:4] != b"PNG"):
            raise ApiError(400, "Bad Request: STICKER_PNG_DIMENSIONS")
    return {**state.add_file(data, "stickers"), "width": width, "height": height,
            "is_animated": False, "is_video": is_video, "type": "regular"}


def _input_sticker(state: TelegramState, item: Any, files: dict) -> dict:
    if not isinstance(item, dict) or not item.get("emoji_list"):
        raise ApiError(400, "Bad Request: can't parse InputSticker")
    data = state.uploaded({"sticker": item.get("sticker")}, files, "sticker")
    return _sticker(state, data, item.get("format"))


def _sticker_set(state: TelegramState, name: str) -> dict:
    found = state.sticker_sets.get(name)
    if found is None:
        raise ApiError(400, "Bad Request: STICKERSET_INVALID")
    return found


def _check_set_name(state: TelegramState, name: str) -> None:
    suffix = f"_by_{state.bot_user['username']}"
    if (not name.endswith(suffix) or len(name) > 64 or not name[:1].isalpha()
            or not name.replace("_", "").isalnum()):
        raise ApiError(400, "Bad Request: invalid sticker set name is specified")
    if name in state.sticker_sets:
        raise ApiError(400, "Bad Request: sticker set name is already occupied")


def create_new_sticker_set(state: TelegramState, params: dict, files: dict) -> bool:
    name, user_id = str(params.get("name", "")), int(params.get("user_id") or 0)
    _check_set_name(state, name)
    if user_id not in state.chats:
        raise ApiError(400, "Bad Request: PEER_ID_INVALID")
    stickers = params.get("stickers")
    if not isinstance(stickers, list) or not 1 <= len(stickers) <= 50:
        raise ApiError(400, "Bad Request: can't parse stickers JSON object")
    made = [{**_input_sticker(state, item, files), "set_name": name} for item in stickers]
    state.sticker_sets[name] = {"title": str(params.get("title", "")), "user_id": user_id,
                                "stickers": made}
    return True


def add_sticker_to_set(state: TelegramState, params: dict, files: dict) -> bool:
    found = _sticker_set(state, str(params.get("name", "")))
    if int(params.get("user_id") or 0) != found["user_id"]:
        raise ApiError(400, "Bad Request: STICKERSET_INVALID")
    if len(found["stickers"]) >= MAX_SET_STICKERS:
        raise ApiError(400, "Bad Request: STICKERS_TOO_MUCH")
    sticker = _input_sticker(state, params.get("sticker"), files)
    found["stickers"].append({**sticker, "set_name": params["name"]})
    return True


def get_sticker_set(state: TelegramState, params: dict, files: dict) -> dict:
    name = str(params.get("name", ""))
    found = _sticker_set(state, name)
    return {"name": name, "title": found["title"], "sticker_type": "regular",
            "stickers": found["stickers"]}


def delete_sticker_from_set(state: TelegramState, params: dict, files: dict) -> bool:
    file_id = str(params.get("sticker", ""))
    for found in state.sticker_sets.values():
        kept = [s for s in found["stickers"] if s["file_id"] != file_id]
        if len(kept) < len(found["stickers"]):
            found["stickers"] = kept
            return True
    raise ApiError(400, "Bad Request: STICKER_INVALID")


def delete_sticker_set(state: TelegramState, params: dict, files: dict) -> bool:
    _sticker_set(state, str(params.get("name", "")))
    del state.sticker_sets[str(params["name"])]
    return True


def set_chat_sticker_set(state: TelegramState, params: dict, files: dict) -> bool:
    chat = state.chat_of(params)
    name = str(params.get("sticker_set_name", ""))
    _sticker_set(state, name)
    if chat.get("type") != "supergroup":
        raise ApiError(400, "Bad Request: method is available only for supergroups")
    state.chat_sticker_sets[chat["id"]] = name
    return True


METHODS: dict[str, Method] = {
    "sendSticker": send_sticker,
    "createNewStickerSet": create_new_sticker_set,
    "addStickerToSet": add_sticker_to_set,
    "getStickerSet": get_sticker_set,
    "deleteStickerFromSet": delete_sticker_from_set,
    "deleteStickerSet": delete_sticker_set,
    "setChatStickerSet": set_chat_sticker_set,
}
