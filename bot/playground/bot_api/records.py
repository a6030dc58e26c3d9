"""What the local Bot API and its callers pass around: Telegram's users and chats as the users'
side describes them, and `Call`, one request the bot made, as the call log keeps it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class User:
    id: int
    first_name: str = "Alice"
    username: str | None = None
    language_code: str | None = None
    """The user's Telegram app language as Telegram sends it (e.g. "ru", "es-419"); None: the
    field is left out, as for a user whose app language Telegram does not share."""

    def as_dict(self) -> dict:
        data = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class Chat:
    id: int
    type: str = "private"
    title: str | None = None
    first_name: str | None = None

    def as_dict(self) -> dict:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            data["title"] = self.title
        if self.first_name:
            data["first_name"] = self.first_name
        return data


def private_chat(user: User) -> Chat:
    return Chat(id=user.id, type="private", first_name=user.first_name)


def group_chat(chat_id: int = -100123, title: str = "Painters") -> Chat:
    return Chat(id=chat_id, type="supergroup", title=title)


@dataclass
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    filenames: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    result: Any = None
    error: str | None = None

    @property
    def chat_id(self) -> int | None:
        value = str(self.params.get("chat_id", ""))
        return int(value) if value.lstrip("-").isdigit() else None

    @property
    def reply_to(self) -> int | None:
        reply = self.params.get("reply_parameters")
        if isinstance(reply, dict):
            return reply.get("message_id")
        return self.params.get("reply_to_message_id")

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def message_id(self) -> int | None:
        """The id of the message this call created (send*) or targeted (edit*, delete*)."""
        if isinstance(self.result, dict) and "message_id" in self.result:
            return self.result["message_id"]
        return self.params.get("message_id")

    def buttons(self) -> list[tuple[str, str]]:
        return buttons_of(self.params.get("reply_markup"))

    def upload(self, name: str | None = None) -> bytes:
        """Bytes of the uploaded file: the named part, the `attach://` target of `media`, or the
        only file of the call."""
        if name:
            return self.files[name]
        media = self.params.get("media")
        if isinstance(media, dict) and str(media.get("media", "")).startswith("attach://"):
            return self.files[media["media"].removeprefix("attach://")]
        if len(self.files) == 1:
            return next(iter(self.files.values()))
        raise KeyError(f"{self.method} uploaded {sorted(self.files)}")


def buttons_of(markup: Any) -> list[tuple[str, str]]:
    """(text, callback_data) of every inline button of a reply_markup dict."""
    if not isinstance(markup, dict):
        return []
    return [
        (button.get("text", ""), button.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]
