"""The Bot API methods that send, edit and delete the bot's text messages and change its
messages' captions, buttons and pictures, with Telegram's refusals (empty or too long texts,
an edit that changes nothing, a message that is gone); also sendChatAction and
answerCallbackQuery."""

from __future__ import annotations

import time

from bot.playground.bot_api.limits import NOT_MODIFIED, ApiError, check_lengths, check_photo
from bot.playground.bot_api.pictures import image_size
from bot.playground.bot_api.state import Method, TelegramState, accepted, set_markup


def send_message(state: TelegramState, params: dict, files: dict) -> dict:
    if not str(params.get("text") or "").strip():
        raise ApiError(400, "Bad Request: message text is empty")
    check_lengths(params)
    return state.bot_message(params, text=str(params["text"]))


def edit_message_text(state: TelegramState, params: dict, files: dict) -> dict:
    message = state.message_to_edit(params)
    text = str(params.get("text") or "")
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    check_lengths(params)
    if "text" not in message:
        raise ApiError(400, "Bad Request: there is no text in the message to edit")
    return _edited(message, params, text=text)


def edit_message_caption(state: TelegramState, params: dict, files: dict) -> dict:
    message = state.message_to_edit(params)
    check_lengths(params)
    return _edited(message, params, caption=params.get("caption"))


def edit_message_reply_markup(state: TelegramState, params: dict, files: dict) -> dict:
    return _edited(state.message_to_edit(params), params)


def _edited(message: dict, params: dict, **content: str | None) -> dict:
    """`message` with `content` (its text or caption; None removes it) and the call's
    keyboard; Telegram refuses an edit that changes nothing."""
    markup = params.get("reply_markup")
    if (all(message.get(key) == value for key, value in content.items())
            and message.get("reply_markup") == markup):
        raise ApiError(400, NOT_MODIFIED)
    for key, value in content.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    set_markup(message, markup)
    if content:
        message["edit_date"] = int(time.time())
    return message


def edit_message_media(state: TelegramState, params: dict, files: dict) -> dict:
    """The message becomes a photo or a file (uploaded or a file_id), with the new caption."""
    message = state.message_to_edit(params)
    media = params.get("media")
    if not isinstance(media, dict) or media.get("type") not in ("photo", "document"):
        raise ApiError(400, "Bad Request: can't parse InputMedia")
    check_lengths({"caption": media.get("caption")})
    data = _media_bytes(state, str(media.get("media", "")), files)
    if media["type"] == "photo":
        check_photo(data)
    for key in ("text", "entities", "photo", "document", "caption"):
        message.pop(key, None)
    if media["type"] == "photo":
        width, height = image_size(data)
        message["photo"] = [{**state.add_file(data, "photos"), "width": width,
                             "height": height}]
    else:
        message["document"] = {**state.add_file(data, "documents"), "file_name": "file"}
    if media.get("caption"):
        message["caption"] = media["caption"]
    set_markup(message, params.get("reply_markup"))
    message["edit_date"] = int(time.time())
    return message


def _media_bytes(state: TelegramState, ref: str, files: dict) -> bytes:
    if ref.startswith("attach://"):
        name = ref.removeprefix("attach://")
        if name not in files:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return files[name]
    if ref in state.stored_files:
        return state.stored_files[ref]["data"]
    raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")


def delete_message(state: TelegramState, params: dict, files: dict) -> bool:
    chat_id = state.chat_of(params)["id"]
    key = (chat_id, int(params.get("message_id") or 0))
    if key not in state.messages:
        raise ApiError(400, "Bad Request: message to delete not found")
    del state.messages[key]
    return True


def send_chat_action(state: TelegramState, params: dict, files: dict) -> bool:
    state.chat_of(params)
    return True


METHODS: dict[str, Method] = {
    "sendMessage": send_message,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "editMessageMedia": edit_message_media,
    "deleteMessage": delete_message,
    "sendChatAction": send_chat_action,
    "answerCallbackQuery": accepted,  # the playground's page shows its text from the call log
}
