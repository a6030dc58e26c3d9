"""The playground's chats: who is in them, what the page's user sends and taps, and what the
page shows (the messages as the local Bot API holds them, plus the toasts, "typing…" and
errors that Telegram's app would show).

Everything lives here, in the server, not in the page: a reload, a second tab or another
browser shows the same history. `Playground.watch()` turns the Bot API's call log into a
version number the pages long-poll on.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image, UnidentifiedImageError

from bot.playground.bot_api import Call, Chat, LocalBotApi, User
from bot.studio.init_data import init_data_for

PHOTO_MAX_BYTES = 10 * 1024 * 1024
"""Telegram's apps send bigger images (and non-images) as files, not photos."""
PHOTO_MAX_SIDE = 2560
"""Telegram's apps re-encode a photo with its long side at most this (a JPEG)."""
ALBUM_MAX = 10
ACTION_SECONDS = 5.0
"""How long Telegram shows a chat action ("sending a photo…") unless a message ends it."""
LANGUAGES = {"": "not shared", "en": "English", "ru": "Русский", "zh-hans": "简体中文",
             "es": "Español", "de": "Deutsch"}
"""The simulated user's Telegram app language (language_code), as the page offers it."""
_ACTIONS = {"typing": "typing", "upload_photo": "sending a photo",
            "upload_document": "sending a file", "upload_video": "sending a video",
            "choose_sticker": "choosing a sticker"}
STUDIO_THEME = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579",
                "button_color": "#3390ec", "button_text_color": "#ffffff",
                "secondary_bg_color": "#f4f4f5"}
"""Telegram's light theme, as its apps hand a Mini App its colours."""
INLINE_WAIT_S = 10.0
"""How long the page waits for the bot's answer to an inline query."""
_QUIET_ERRORS = ("message is not modified",)
"""Bot API errors the bot expects and handles; the page does not show them."""


class BadPageRequest(ValueError):
    """What the page sent cannot be sent to the bot; the message says why, for the page (web.py
    answers it with 400). Not `bot.jobs.protocol.BadInput`, which is a picture the engine
    refused."""


@dataclass(frozen=True)
class Member:
    key: str
    user: User
    colour: str


@dataclass(frozen=True)
class Upload:
    """A file the page's user picked, dropped or pasted."""

    name: str
    content_type: str
    data: bytes


@dataclass
class ChatView:
    """One of the playground's chats and what Telegram's app would show besides the messages."""

    key: str
    chat: Chat
    title: str
    members: tuple[str, ...]
    action: tuple[str, float] | None = None
    """(what the bot is doing, until when on the monotonic clock)."""
    events: list[dict] = field(default_factory=list)
    """Toasts and errors: {"version", "kind": "toast" | "alert" | "error", "text"}."""


class Playground:
    def __init__(self, api: LocalBotApi) -> None:
        self.api = api
        self.instance = uuid.uuid4().hex
        """Changes when the server restarts: a page then knows its history is gone."""
        self.version = 0
        self.language = "en"
        me = User(1001, "Alex", username="alex")
        self.members = {m.key: m for m in (
            Member("you", me, "#3390ec"),
            Member("bob", User(1002, "Bob", username="bob", language_code="en"), "#e17076"),
            Member("carol", User(1003, "Carol", username="carol", language_code="es"),
                   "#7bc862"),
            Member("dave", User(1004, "Dave", username="dave", language_code="ru"), "#e5ca77"),
        )}
        group = Chat(id=-1001234567890, type="supergroup", title="Playground group")
        self.chats = {
            "private": ChatView("private", Chat(id=me.id, type="private", first_name="Alex"),
                                api.bot_user["first_name"], ("you",)),
            "group": ChatView("group", group, "Playground group", tuple(self.members)),
        }
        api.chat_owners[group.id] = me.id  # Alex made the group: its creator
        self._taps: dict[str, str] = {}  # callback query id -> chat key
        self._seen_calls = 0
        self._changed = asyncio.Condition()

    # ------------------------------------------------------------------ the people

    def user(self, member: str) -> User:
        """The member as Telegram describes them now (the page's user in the chosen language)."""
        found = self.members.get(member)
        if found is None:
            raise BadPageRequest(f"nobody called {member!r} is in the playground")
        if found.key == "you":
            return replace(found.user, language_code=self.language or None)
        return found.user

    def chat(self, key: str) -> ChatView:
        view = self.chats.get(key)
        if view is None:
            raise BadPageRequest(f"no chat {key!r} here: there are {', '.join(self.chats)}")
        return view

    def _sender(self, view: ChatView, member: str) -> User:
        if member not in view.members:
            raise BadPageRequest(f"{member} is not in the chat {view.title!r}")
        return self.user(member)

    async def set_language(self, code: str) -> None:
        if code not in LANGUAGES:
            raise BadPageRequest(f"unknown language {code!r}")
        self.language = code
        await self._bump()

    # ------------------------------------------------------------------ what they do

    async def send(self, key: str, member: str, text: str, uploads: list[Upload],
                   reply_to: int | None) -> None:
        """A message, as Telegram's app would send it: images as photos (several at once: an
        album, the text as the first one's caption), anything else as files."""
        view = self.chat(key)
        user = self._sender(view, member)
        text = text.strip()
        if not text and not uploads:
            raise BadPageRequest("nothing to send: type a message or attach a file")
        if reply_to is not None and self.api.message(view.chat.id, reply_to) is None:
            raise BadPageRequest("the message you reply to is gone")
        # Decoding and re-encoding a big image takes a while: not on the bot's event loop.
        converted = await asyncio.gather(*(asyncio.to_thread(as_photo, u.data) for u in uploads))
        photos = [(u, p) for u, p in zip(uploads, converted, strict=True) if p is not None]
        files = [u for u in uploads if all(u is not photo for photo, _ in photos)]
        if len(photos) > ALBUM_MAX:
            raise BadPageRequest(f"an album holds at most {ALBUM_MAX} photos; send fewer at once")
        caption = text or None
        if not uploads:
            self.api.user_sends_text(view.chat, user, text, reply_to=reply_to)
        if len(photos) == 1:
            self.api.user_sends_photo(view.chat, user, photos[0][1], caption=caption,
                                      reply_to=reply_to)
            caption = None
        elif photos:
            self.api.user_sends_album(view.chat, user, [p for _, p in photos],
                                      captions={0: caption} if caption else None)
            caption = None
        for upload in files:
            self.api.user_sends_document(view.chat, user, upload.data, file_name=upload.name,
                                         mime_type=upload.content_type, caption=caption,
                                         reply_to=reply_to)
            caption = None
        await self._bump()

    async def tap(self, key: str, member: str, message_id: int, data: str) -> None:
        view = self.chat(key)
        user = self._sender(view, member)
        if self.api.message(view.chat.id, message_id) is None:
            raise BadPageRequest("that message is gone")
        query = self.api.user_taps(data, message_id, user=user, chat=view.chat)
        self._taps[query] = key
        await self._bump()

    async def inline(self, key: str, member: str, query: str) -> dict[str, Any]:
        """The member types the bot's name and `query` in this chat: the bot's answer (its
        paintings as results, the button under them), once it answered."""
        view = self.chat(key)
        user = self._sender(view, member)
        chat_type = "sender" if view.chat.type == "private" else view.chat.type
        query_id = self.api.user_inline_query(user, query[:256], chat_type)
        deadline = time.monotonic() + INLINE_WAIT_S
        while (answer := self.api.inline_answers.get(query_id)) is None:
            if time.monotonic() > deadline:
                raise BadPageRequest("the bot did not answer the inline query")
            await asyncio.sleep(0.05)
        results = [{"id": r["id"], "file_id": r.get("photo_file_id"), "title": r.get("title")}
                   for r in answer.get("results", []) if r.get("type") == "photo"]
        button = (answer.get("button") or {}).get("text")
        return {"query_id": query_id, "results": results, "button": button}

    async def send_inline(self, key: str, member: str, query_id: str, result_id: str) -> None:
        """The member taps one of the answer's results: it goes into this chat, via the bot."""
        view = self.chat(key)
        user = self._sender(view, member)
        answer = self.api.inline_answers.get(query_id) or {}
        chosen = next((r for r in answer.get("results", []) if str(r.get("id")) == result_id),
                      None)
        if chosen is None or chosen.get("type") != "photo":
            raise BadPageRequest("no such result in the bot's answer")
        self.api.user_sends_via_bot(view.chat, user, chosen["photo_file_id"])
        await self._bump()

    def studio_launch(self, key: str, member: str, url: str) -> str:
        """The address a Telegram app opens for the bot's web_app button `url` in this chat:
        the page, with the member's initData signed with the bot's token (as Telegram signs
        it) and the theme in its fragment. Only a button the bot sent here is opened."""
        view = self.chat(key)
        user = self._sender(view, member)
        sent = {button.get("web_app", {}).get("url")
                for message in self.api.chat_history(view.chat.id)
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row}
        if url not in sent:
            raise BadPageRequest("the bot sent no such studio button in this chat")
        init_data = init_data_for(user.as_dict(), self.api.token, query_id=uuid.uuid4().hex)
        fragment = urllib.parse.urlencode({
            "tgWebAppData": init_data, "tgWebAppVersion": "8.0", "tgWebAppPlatform": "web",
            "tgWebAppThemeParams": json.dumps(STUDIO_THEME)}, quote_via=urllib.parse.quote)
        return f"{url}#{fragment}"

    # ------------------------------------------------------------------ what the page shows

    def snapshot(self, key: str, since: int) -> dict[str, Any]:
        view = self.chat(key)
        now = time.monotonic()
        action = view.action[0] if view.action and view.action[1] > now else None
        language = (self.language or "en").split("-")[0]
        commands = (self.api.commands_by_language.get(language)
                    or self.api.commands_by_language.get(None) or [])
        return {
            "instance": self.instance,
            "version": self.version,
            "chat": {"key": view.key, "id": view.chat.id, "type": view.chat.type,
                     "title": view.title},
            "chats": [{"key": v.key, "title": v.title, "type": v.chat.type}
                      for v in self.chats.values()],
            "bot": {"name": self.api.bot_user["first_name"],
                    "username": self.api.bot_user.get("username"),
                    "id": self.api.bot_user["id"],
                    "online": bool(self.api.commands_by_language), "action": action},
            "members": [{"key": k, "name": self.members[k].user.first_name,
                         "id": self.members[k].user.id, "colour": self.members[k].colour}
                        for k in view.members],
            "language": self.language,
            "languages": LANGUAGES,
            "commands": commands,
            "messages": self.api.chat_history(view.chat.id),
            "events": [e for e in view.events if since and e["version"] > since],
        }

    async def wait_changed(self, since: int, timeout: float) -> None:
        """Returns once the version is past `since`, or after `timeout` seconds."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version > since), timeout)

    async def watch(self, interval: float = 0.05) -> None:
        """Follows the Bot API's call log forever: each new call moves the version on."""
        while True:
            if self.api.mark() != self._seen_calls:
                calls = self.api.find(after=self._seen_calls)
                self._seen_calls += len(calls)
                for call in calls:
                    self._note(call)
                    # The uploaded bytes are kept once, as the file the page shows; a long
                    # session would otherwise hold every picture twice.
                    call.files = {}
                await self._bump()
            else:
                for view in self.chats.values():  # a chat action ran out
                    if view.action and view.action[1] <= time.monotonic():
                        view.action = None
                        await self._bump()
            await asyncio.sleep(interval)

    def _note(self, call: Call) -> None:
        """What Telegram's app shows of this call besides the messages."""
        version = self.version + 1
        if call.method == "answerCallbackQuery":
            key = self._taps.pop(str(call.params.get("callback_query_id")), None)
            text = str(call.params.get("text") or "")
            if key and text:
                kind = "alert" if call.params.get("show_alert") else "toast"
                self.chats[key].events.append({"version": version, "kind": kind,
                                               "text": text})
            return
        view = next((v for v in self.chats.values() if v.chat.id == call.chat_id), None)
        if view is None:
            return
        if call.error is not None:
            if not any(quiet in call.error for quiet in _QUIET_ERRORS):
                view.events.append({"version": version, "kind": "error",
                                    "text": f"The bot's {call.method} failed: {call.error}"})
        elif call.method == "sendChatAction":
            what = _ACTIONS.get(str(call.params.get("action")), "busy")
            view.action = (what, time.monotonic() + ACTION_SECONDS)
        elif call.method.startswith("send"):
            view.action = None  # a message ends the chat action, as in Telegram
        del view.events[:-50]

    async def _bump(self) -> None:
        async with self._changed:
            self.version += 1
            self._changed.notify_all()


def as_photo(data: bytes) -> bytes | None:
    """The JPEG Telegram's app would send for these bytes as a photo; None when it would send
    them as a file (not an image, over 10 MB, or too long and thin for a photo)."""
    if len(data) > PHOTO_MAX_BYTES:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width + height > 10000 or max(width, height) > 20 * min(width, height):
                return None
            img.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    rgb.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=87)
    return out.getvalue()
