"""What the local Bot API holds, in memory: the bot's identity, the chats, their messages and
files, the updates waiting for the bot, command menus, group admins, the webhook, sticker sets
and the log of the bot's calls; with the bookkeeping the Bot API methods and the users' side
share. Everything is guarded by one re-entrant lock (`lock`): the server answers on its own
thread while the users' side is played from others."""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.playground.bot_api.limits import ApiError
from bot.playground.bot_api.records import Call
from bot.playground.bot_api.updates import UpdateQueue

TOKEN = "123456:TEST-fake-token"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Stylebot",
    "username": "stylebot_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

Method = Callable[["TelegramState", dict, dict], Any]
"""A Bot API method: (the state, the parsed params, the uploaded files) -> its result; raises
`ApiError` to answer an error. Called with the lock held."""


class TelegramState:
    def __init__(self, token: str = TOKEN, bot_user: dict | None = None) -> None:
        self.token = token
        self.bot_user = dict(bot_user or BOT_USER)
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict] = {}
        """(chat id, message id) -> the message as it is now."""
        self.commands: list[dict] = []
        """The default command menu (setMyCommands without a language_code)."""
        self.commands_by_language: dict[str | None, list[dict]] = {}
        """Every command menu set, by language_code (None: the default)."""
        self.chat_admins: dict[int, set[int]] = {}
        """Group chat id -> ids of its administrators (getChatMember says "administrator")."""
        self.chat_owners: dict[int, int] = {}
        """Group chat id -> the id of whoever made it (getChatMember says "creator")."""
        self.webhook: dict[str, Any] | None = None
        """setWebhook's parameters while a webhook is set (getUpdates then answers 409)."""
        self.sticker_sets: dict[str, dict] = {}
        """Sticker sets by name: {"title", "user_id", "stickers": [sticker dicts, oldest
        first]}."""
        self.chat_sticker_sets: dict[int, str] = {}
        """Group chat id -> the name of the sticker set it was given."""
        self.lock = threading.RLock()
        self.updates = UpdateQueue(self.lock)
        self.stored_files: dict[str, dict] = {}
        """file_id -> {"data", "path", "size", "unique_id"}."""
        self.chats: dict[int, dict] = {}
        """Chat id -> the chat as Telegram describes it, for every chat a message was in."""
        self.profile_photos: dict[int, list[dict]] = {}
        """User id -> the sizes of their profile photo (getUserProfilePhotos)."""
        self.inline_answers: dict[str, dict | None] = {}
        """Inline query id -> the bot's answerInlineQuery parameters (None until it answers)."""
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._media_groups = itertools.count(1000)
        self._callback_ids = itertools.count(1)
        self._inline_ids = itertools.count(1)

    # ------------------------------------------------------------------ messages and files

    def new_message(self, chat: dict, sender: dict) -> dict:
        """A message with the next id (not stored yet); its chat becomes known."""
        self.chats[chat["id"]] = chat
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
        }

    def store(self, message: dict) -> None:
        self.messages[(message["chat"]["id"], message["message_id"])] = message

    def new_media_group_id(self) -> str:
        return str(next(self._media_groups))

    def new_callback_query_id(self) -> str:
        return str(next(self._callback_ids))

    def new_inline_query_id(self) -> str:
        return f"inline{next(self._inline_ids)}"

    def add_file(self, data: bytes, folder: str = "documents", *, file_size: int | None = None
                 ) -> dict:
        """Registers bytes for getFile and download; returns file_id/file_unique_id/file_size.
        `file_size` may lie (bigger than the data) to test size limits cheaply."""
        with self.lock:
            n = next(self._file_ids)
            file_id = f"FILE{n:05d}{'x' * 20}"
            unique_id = f"U{n:05d}"
            size = len(data) if file_size is None else file_size
            self.stored_files[file_id] = {"data": data, "path": f"{folder}/file_{n}.bin",
                                          "size": size, "unique_id": unique_id}
            return {"file_id": file_id, "file_unique_id": unique_id, "file_size": size}

    def file_bytes(self, file_id: str) -> bytes:
        with self.lock:
            return self.stored_files[file_id]["data"]

    def file_at(self, path: str) -> dict | None:
        """The stored file a download path names."""
        with self.lock:
            return next((f for f in self.stored_files.values() if f["path"] == path), None)

    # ------------------------------------------------------------------ for the Bot API methods

    def chat_of(self, params: dict) -> dict:
        """The chat `chat_id` names; "chat not found" unless a message was in it."""
        raw = params.get("chat_id")
        try:
            chat_id = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def message_to_edit(self, params: dict) -> dict:
        chat_id = self.chat_of(params)["id"]
        message = self.messages.get((chat_id, int(params.get("message_id") or 0)))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def bot_message(self, params: dict, **content: Any) -> dict:
        """A message the bot sends to the chat of `params`, with its reply_markup and the
        message it replies to; stored."""
        chat = self.chat_of(params)
        message = self.new_message(chat, self.bot_user)
        message.update(content)
        set_markup(message, params.get("reply_markup"))
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and reply.get("message_id"):
            target = self.messages.get((chat["id"], int(reply["message_id"])))
            if target is not None:
                message["reply_to_message"] = {k: v for k, v in target.items()
                                               if k != "reply_to_message"}
            elif not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        self.store(message)
        return message

    def uploaded(self, params: dict, files: dict, name: str) -> bytes:
        """The bytes of parameter `name`: an uploaded part, an `attach://` one or a file_id."""
        if name in files:
            return files[name]
        ref = str(params.get(name, ""))
        if ref.startswith("attach://") and ref.removeprefix("attach://") in files:
            return files[ref.removeprefix("attach://")]
        if ref in self.stored_files:
            return self.stored_files[ref]["data"]
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    # ------------------------------------------------------------------ the call log

    def _record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def mark(self) -> int:
        """Position in the call log; pass it as `after=` to only look at newer calls."""
        with self.lock:
            return len(self.calls)

    def find(
        self,
        method: str | None = None,
        predicate: Callable[[Call], bool] | None = None,
        *,
        after: int = 0,
    ) -> list[Call]:
        with self.lock:
            calls = self.calls[after:]
        return [
            c for c in calls
            if (method is None or c.method == method) and (predicate is None or predicate(c))
        ]

    # ------------------------------------------------------------------ what the chats hold

    def message(self, chat_id: int, message_id: int) -> dict | None:
        with self.lock:
            return self.messages.get((chat_id, message_id))

    def chat_history(self, chat_id: int) -> list[dict]:
        """Copies of the chat's messages as they are now, oldest first (the playground's page)."""
        with self.lock:
            found = [m for (chat, _), m in self.messages.items() if chat == chat_id]
            return copy.deepcopy(sorted(found, key=lambda m: m["message_id"]))

    def pending_updates(self) -> int:
        """Updates the bot has not confirmed yet."""
        return self.updates.unconfirmed()


def accepted(state: TelegramState, params: dict, files: dict) -> bool:
    """A method the local Bot API records and answers true without doing anything."""
    return True


def set_markup(message: dict, markup: Any) -> None:
    if markup:
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


def caption_of(params: dict) -> dict:
    """The caption field of a message sent with `params` ({} without one)."""
    return {"caption": params["caption"]} if params.get("caption") else {}
