"""A fake Telegram Bot API server for end-to-end tests, and helpers to run the bot against it.

It speaks HTTP on 127.0.0.1 like api.telegram.org does, so the bot under test runs unchanged with
`STYLEBOT_API_BASE_URL=<server.base_url>` and `STYLEBOT_API_FILE_URL=<server.file_url>`, either in
the test's process or as a subprocess. The server runs in a background thread with its own event
loop; the helpers below are plain thread-safe methods (and `wait_for` has an async and a blocking
form) that play the users' side:

    fake.user_sends_photo(chat, user, jpeg_bytes, caption="wave")
    call = await fake.wait_for("sendPhoto", lambda c: c.chat_id == chat.id)
    call.files["photo"]  # the uploaded bytes

Every API call is recorded as a `Call` with its parsed parameters (JSON-decoded where Telegram
expects JSON) and uploaded files. For reliability tests, `fail_next` injects Telegram errors (429
with `retry_after`, 400 "message is not modified", 403 "bot was blocked", 502, ...) or drops the
connection without an answer, and `hold_next` keeps a request unanswered until released.

File downloads (`GET /file/bot<token>/<path>`) are recorded too, as calls of the pseudo-method
`download` with params {"file_path": ...}; `fail_next("download", ...)` and
`hold_next("download")` work on them like on API methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from aiohttp import web
from PIL import Image

if TYPE_CHECKING:
    from bot.config import Config
    from bot.jobs.worker import StyleWorker

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
MAX_DOWNLOAD = 20 * 1024 * 1024

# Parameters that Telegram takes as plain strings; everything else arrives JSON-encoded.
_STRING_PARAMS = {
    "text", "caption", "callback_query_id", "file_id", "action", "parse_mode", "url",
    "business_connection_id", "emoji", "inline_message_id", "question", "title", "description",
    "short_description", "language_code", "name",
}


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


def replies_to(message: dict) -> Callable[[Call], bool]:
    """Matches the bot's messages that reply to `message`."""
    return lambda call: call.reply_to == message["message_id"]


def result_for(message: dict) -> Callable[[Call], bool]:
    """Matches result pictures (not live previews) for `message`: replies with re-run buttons."""
    return lambda call: (call.reply_to == message["message_id"]
                         and any(data.startswith("r:") for _, data in call.buttons()))


def is_result_upload(params: dict) -> bool:
    """For `fail_next`/`hold_next` predicates: the params of a result upload."""
    return any(data.startswith("r:") for _, data in buttons_of(params.get("reply_markup")))


@dataclass
class _Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    times: int
    predicate: Callable[[dict], bool] | None
    drop: bool = False


@dataclass
class Held:
    """A request the server keeps unanswered (see `FakeTelegram.hold_next`)."""

    method: str
    predicate: Callable[[dict], bool] | None
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    call: Call | None = None

    def wait_arrived(self, timeout: float = 30.0) -> Call:
        if not self.arrived.wait(timeout):
            raise AssertionError(f"no {self.method} request arrived to hold in {timeout} s")
        assert self.call is not None
        return self.call

    def release(self) -> None:
        """Answers the request with 502 Bad Gateway (Telegram never accepted it)."""
        self.released.set()


class FakeTelegram:
    """The server; `start()` it, point the bot at `base_url` / `file_url`, `stop()` it."""

    def __init__(self, token: str = TOKEN, bot_user: dict | None = None) -> None:
        self.token = token
        self.bot_user = dict(bot_user or BOT_USER)
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict] = {}
        self.commands: list[dict] = []
        """The default command menu (setMyCommands without a language_code)."""
        self.commands_by_language: dict[str | None, list[dict]] = {}
        """Every command menu set, by language_code (None: the default)."""
        self.chat_admins: dict[int, set[int]] = {}
        """Group chat id -> ids of its administrators (getChatMember says "administrator")."""
        self.acked_update_id = 0  # highest update id the bot has confirmed via `offset`
        self._lock = threading.RLock()
        self._updates: list[dict] = []
        self._files: dict[str, dict] = {}  # file_id -> {"data", "path", "size", "unique_id"}
        self._chats: dict[int, dict] = {}
        self._failures: list[_Failure] = []
        self._holds: list[Held] = []
        self._closing = threading.Event()  # releases held requests when the server stops
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._media_groups = itertools.count(1000)
        self._profile_photos: dict[int, list[dict]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_update: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeTelegram:
        self.port = free_port()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True,
                                        name="fake-telegram")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Telegram server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._closing.set()
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def env(self) -> dict[str, str]:
        """Environment variables that point a bot at this server."""
        return {
            "TELEGRAM_BOT_TOKEN": self.token,
            "STYLEBOT_API_BASE_URL": self.base_url,
            "STYLEBOT_API_FILE_URL": self.file_url,
        }

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._new_update = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle_api)
        app.router.add_get("/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        loop.run_until_complete(site.start())
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ the users' side

    def user_sends_photo(
        self,
        chat: Chat,
        user: User,
        image_bytes: bytes,
        caption: str | None = None,
        reply_to: int | dict | None = None,
        *,
        file_size: int | None = None,
    ) -> dict:
        """A photo message (a thumbnail plus the full size, as Telegram sends them)."""
        photo = self.photo_sizes(image_bytes, file_size=file_size)
        return self.user_sends(chat, user, reply_to=reply_to, caption=caption, photo=photo)

    def photo_sizes(self, image_bytes: bytes, *, file_size: int | None = None) -> list[dict]:
        """A message's `photo` field: a thumbnail, then the full size."""
        width, height = _image_size(image_bytes)
        full = self.add_file(image_bytes, "photos", file_size=file_size)
        thumb_bytes = _thumbnail(image_bytes)
        tw, th = _image_size(thumb_bytes)
        thumb = self.add_file(thumb_bytes, "thumbnails")
        return [{**thumb, "width": tw, "height": th}, {**full, "width": width, "height": height}]

    def user_sends_album(self, chat: Chat, user: User, images: list[bytes], *,
                         captions: dict[int, str] | None = None,
                         order: list[int] | None = None) -> list[dict]:
        """An album (a media group): one message per image sharing a `media_group_id`, in
        message-id order; their updates arrive in `order` (indexes; default: as sent; one
        left out is a part the bot does not see, as with privacy mode in a group).
        `captions` maps an index to its caption."""
        captions = captions or {}
        with self._lock:
            group_id = str(next(self._media_groups))
            messages = []
            for index, data in enumerate(images):
                message = self._new_message(chat.as_dict(), user.as_dict())
                message["media_group_id"] = group_id
                message["photo"] = self.photo_sizes(data)
                if index in captions:
                    message["caption"] = captions[index]
                    if entities := _command_entities(captions[index]):
                        message["caption_entities"] = entities
                self._store(message)
                messages.append(message)
            for index in order or range(len(images)):
                self._push_update({"message": messages[index]})
            return messages

    def deliver_late(self, message: dict) -> None:
        """The update of a message sent earlier but left out of its delivery (an album part
        held back by `user_sends_album(order=...)`) arrives now."""
        with self._lock:
            self._push_update({"message": message})

    def set_profile_photo(self, user: User, image_bytes: bytes | None) -> list[dict]:
        """What getUserProfilePhotos answers for `user` (None: no photo, or hidden); returns
        the photo's sizes (thumbnail first), empty for None."""
        with self._lock:
            if image_bytes is None:
                self._profile_photos.pop(user.id, None)
                return []
            self._profile_photos[user.id] = self.photo_sizes(image_bytes)
            return self._profile_photos[user.id]

    def user_sends_document(
        self,
        chat: Chat,
        user: User,
        data: bytes,
        file_name: str = "file.bin",
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        reply_to: int | dict | None = None,
        *,
        file_size: int | None = None,
    ) -> dict:
        document = {**self.add_file(data, "documents", file_size=file_size),
                    "file_name": file_name, "mime_type": mime_type}
        return self.user_sends(chat, user, reply_to=reply_to, caption=caption, document=document)

    def user_sends_text(
        self, chat: Chat, user: User, text: str, reply_to: int | dict | None = None
    ) -> dict:
        return self.user_sends(chat, user, reply_to=reply_to, text=text)

    def user_sends(
        self,
        chat: Chat,
        user: User,
        *,
        reply_to: int | dict | None = None,
        caption: str | None = None,
        text: str | None = None,
        **content: Any,
    ) -> dict:
        """Any message: `content` holds the message fields (photo=..., sticker=..., video=...)."""
        with self._lock:
            message = self._new_message(chat.as_dict(), user.as_dict())
            if text is not None:
                message["text"] = text
                if entities := _command_entities(text):
                    message["entities"] = entities
            if caption is not None:
                message["caption"] = caption
                if entities := _command_entities(caption):
                    message["caption_entities"] = entities
            message.update(content)
            if reply_to is not None:
                message["reply_to_message"] = self._reply_target(chat.id, reply_to)
            self._store(message)
            self._push_update({"message": message})
            return message

    def user_taps(self, callback_data: str, message: dict | int, user: User | None = None,
                  chat: Chat | None = None) -> str:
        """The user presses an inline button of `message` (the bot's message or its id).
        Returns the callback query id (`answerCallbackQuery` is called with it)."""
        with self._lock:
            if isinstance(message, int):
                if chat is None:
                    raise ValueError("pass chat= with a message id")
                message = self.messages[(chat.id, message)]
            else:
                message = self.messages.get(
                    (message["chat"]["id"], message["message_id"]), message
                )
            if user is None:
                if message["chat"]["type"] != "private":
                    raise ValueError("pass user= for a group chat")
                user = User(id=message["chat"]["id"], first_name=message["chat"].get(
                    "first_name", "Alice"))
            query_id = str(next(self._callback_ids))
            self._push_update({"callback_query": {
                "id": query_id,
                "from": user.as_dict(),
                "message": message,
                "chat_instance": str(message["chat"]["id"]),
                "data": callback_data,
            }})
            return query_id

    def add_file(self, data: bytes, folder: str = "documents", *, file_size: int | None = None
                 ) -> dict:
        """Registers bytes for getFile and download; returns file_id/file_unique_id/file_size.
        `file_size` may lie (bigger than the data) to test size limits cheaply."""
        with self._lock:
            n = next(self._file_ids)
            file_id = f"FILE{n:05d}{'x' * 20}"
            unique_id = f"U{n:05d}"
            size = len(data) if file_size is None else file_size
            self._files[file_id] = {"data": data, "path": f"{folder}/file_{n}.bin",
                                    "size": size, "unique_id": unique_id}
            return {"file_id": file_id, "file_unique_id": unique_id, "file_size": size}

    def file_bytes(self, file_id: str) -> bytes:
        with self._lock:
            return self._files[file_id]["data"]

    # ------------------------------------------------------------------ inspection

    def mark(self) -> int:
        """Position in the call log; pass it as `after=` to only look at newer calls."""
        with self._lock:
            return len(self.calls)

    def find(
        self,
        method: str | None = None,
        predicate: Callable[[Call], bool] | None = None,
        *,
        after: int = 0,
    ) -> list[Call]:
        with self._lock:
            calls = self.calls[after:]
        return [
            c for c in calls
            if (method is None or c.method == method) and (predicate is None or predicate(c))
        ]

    async def wait_for(
        self,
        method: str | None = None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 20.0,
        *,
        after: int = 0,
        count: int = 1,
        failed: bool = False,
    ) -> Call:
        """Waits until `count` successful calls match (with `failed`: calls answered with an
        error); returns the last of them."""
        deadline = time.monotonic() + timeout
        while (call := self._waited(method, predicate, after, count, failed, deadline)) is None:
            await asyncio.sleep(0.02)
        return call

    def wait_for_blocking(
        self,
        method: str | None = None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 20.0,
        *,
        after: int = 0,
        count: int = 1,
        failed: bool = False,
    ) -> Call:
        """`wait_for` for code without an event loop (a bot running as a subprocess)."""
        deadline = time.monotonic() + timeout
        while (call := self._waited(method, predicate, after, count, failed, deadline)) is None:
            time.sleep(0.02)
        return call

    def _waited(self, method: str | None, predicate: Callable[[Call], bool] | None, after: int,
                count: int, failed: bool, deadline: float) -> Call | None:
        """The call a wait is for once `count` match, None until then; past the deadline an
        AssertionError that lists the recent calls."""
        found = [c for c in self.find(method, predicate, after=after)
                 if (c.error is not None) == failed]
        if len(found) >= count:
            return found[count - 1]
        if time.monotonic() > deadline:
            recent = [(c.method, c.params.get("chat_id"), c.text[:60], c.error)
                      for c in self.find()[-25:]]
            raise AssertionError(f"timed out waiting for {count} x {method} "
                                 f"(found {len(found)}); recent: {recent}")
        return None

    def message(self, chat_id: int, message_id: int) -> dict | None:
        with self._lock:
            return self.messages.get((chat_id, message_id))

    def pending_updates(self) -> int:
        with self._lock:
            return sum(1 for u in self._updates if u["update_id"] > self.acked_update_id)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 400,
        description: str = "Bad Request: injected error",
        retry_after: int | None = None,
        times: int = 1,
        predicate: Callable[[dict], bool] | None = None,
        drop: bool = False,
    ) -> None:
        """The next `times` calls of `method` (matching `predicate` on the params) fail; with
        `drop` the server closes the connection without answering (a lost response).

        Examples: `fail_next("sendPhoto", error_code=429, description="Too Many Requests: retry
        after 1", retry_after=1)`, `fail_next("sendPhoto", error_code=403,
        description="Forbidden: bot was blocked by the user")`, `fail_next("sendPhoto",
        error_code=502, description="Bad Gateway")`, `fail_next("sendPhoto", drop=True)`.
        The call is recorded with its `error` set (to the description, or "dropped").
        """
        with self._lock:
            self._failures.append(
                _Failure(method, error_code, description, retry_after, times, predicate, drop)
            )

    def hold_next(self, method: str, predicate: Callable[[dict], bool] | None = None) -> Held:
        """The next call of `method` (matching `predicate`) gets no answer until
        `Held.release()` (then 502) or the server stops: the bot stays blocked in the middle
        of that request, e.g. to be killed there. Recorded with `error` "held"."""
        held = Held(method, predicate)
        with self._lock:
            self._holds.append(held)
        return held

    def _take_hold(self, method: str, params: dict) -> Held | None:
        with self._lock:
            for held in self._holds:
                if held.method == method and (held.predicate is None or held.predicate(params)):
                    self._holds.remove(held)
                    return held
        return None

    async def _answer_held(self, held: Held, call: Call) -> web.Response:
        call.error = "held"
        held.call = call
        self._record(call)
        held.arrived.set()
        while not held.released.is_set() and not self._closing.is_set():
            await asyncio.sleep(0.05)
        return _error(502, "Bad Gateway")

    def _take_failure(self, method: str, params: dict) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.method == method and (failure.predicate is None
                                                 or failure.predicate(params)):
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        call = Call(method="download", params={"file_path": path})
        injected = await self._injected(request, call)
        if injected is not None:
            return injected
        with self._lock:
            entry = next((f for f in self._files.values() if f["path"] == path), None)
        if entry is None:
            call.error = "Not Found"
            self._record(call)
            return web.Response(status=404, text="Not Found")
        self._record(call)
        return web.Response(body=entry["data"], content_type="application/octet-stream")

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files, filenames = await _read_params(request)
        call = Call(method=method, params=params, files=files, filenames=filenames)
        injected = await self._injected(request, call)
        if injected is not None:
            return injected
        if method == "getUpdates":
            result = await self._get_updates(params)
            # Polls are not recorded: there are too many and they say nothing about behaviour.
            return web.json_response({"ok": True, "result": result})
        handler = getattr(self, f"_api_{method}", None)
        if handler is None and method in _ACCEPTED:
            handler = _accept
        if handler is None:
            call.error = "Not Found"
            self._record(call)
            return _error(404, "Not Found")
        try:
            with self._lock:
                result = handler(params, files)
        except _ApiError as exc:
            call.error = exc.description
            self._record(call)
            return _error(exc.code, exc.description)
        call.result = result
        self._record(call)
        return web.json_response({"ok": True, "result": result})

    async def _injected(self, request: web.Request, call: Call) -> web.Response | None:
        """The answer `hold_next` or `fail_next` arranged for this call, if any."""
        held = self._take_hold(call.method, call.params)
        if held is not None:
            return await self._answer_held(held, call)
        failure = self._take_failure(call.method, call.params)
        if failure is None:
            return None
        call.error = "dropped" if failure.drop else failure.description
        self._record(call)
        if failure.drop:
            request.transport.close()
            return web.Response(status=502)  # never reaches the bot
        return _error(failure.error_code, failure.description, failure.retry_after)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    async def _get_updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 10.0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        assert self._new_update is not None
        while True:
            with self._lock:
                if offset:
                    self.acked_update_id = max(self.acked_update_id, offset - 1)
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
                if ready or time.monotonic() >= deadline:
                    return ready
                self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())

    # Bot API methods: each takes (params, files) under the lock and returns the result
    # (those in _ACCEPTED just answer true).

    def _api_getMe(self, params: dict, files: dict) -> dict:
        return self.bot_user

    def _api_setWebhook(self, params: dict, files: dict) -> bool:
        """Accepted and recorded (url, secret_token); the test posts the updates itself."""
        if not str(params.get("url", "")).startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided")
        return True

    def _api_setMyCommands(self, params: dict, files: dict) -> bool:
        commands = list(params.get("commands") or [])
        language = params.get("language_code") or None
        self.commands_by_language[language] = commands
        if language is None:
            self.commands = commands
        return True

    def _api_getChatMember(self, params: dict, files: dict) -> dict:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        if user_id in self.chat_admins.get(chat_id, set()):
            rights = dict.fromkeys((
                "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_promote_members", "can_change_info",
                "can_invite_users", "can_post_stories", "can_edit_stories",
                "can_delete_stories"), True)
            return {"status": "administrator", "user": user, "can_be_edited": False,
                    "is_anonymous": False, **rights}
        return {"status": "member", "user": user}

    def _api_getMyCommands(self, params: dict, files: dict) -> list:
        return self.commands

    def _api_sendChatAction(self, params: dict, files: dict) -> bool:
        self._chat(params)
        return True

    def _api_getFile(self, params: dict, files: dict) -> dict:
        entry = self._files.get(str(params.get("file_id")))
        if entry is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        if entry["size"] > MAX_DOWNLOAD:
            raise _ApiError(400, "Bad Request: file is too big")
        return {"file_id": params["file_id"], "file_unique_id": entry["unique_id"],
                "file_size": entry["size"], "file_path": entry["path"]}

    def _api_sendMessage(self, params: dict, files: dict) -> dict:
        if not str(params.get("text") or "").strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        _check_lengths(params)
        return self._bot_message(params, text=str(params["text"]))

    def _api_sendPhoto(self, params: dict, files: dict) -> dict:
        _check_lengths(params)
        data = self._upload(params, files, "photo")
        width, height = _image_size(data)
        sizes = [{**self.add_file(data, "photos"), "width": width, "height": height}]
        return self._bot_message(params, photo=sizes, **self._caption(params))

    def _api_sendMediaGroup(self, params: dict, files: dict) -> list[dict]:
        """An album: 2-10 photos, each its own message sharing a media_group_id."""
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _ApiError(400, "Bad Request: media group must include 2-10 items")
        group_id = str(next(self._media_groups))
        messages = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") != "photo":
                raise _ApiError(400, "Bad Request: can't parse InputMedia")
            _check_lengths({"caption": item.get("caption")})
            data = self._upload({"photo": item.get("media")}, files, "photo")
            width, height = _image_size(data)
            sizes = [{**self.add_file(data, "photos"), "width": width, "height": height}]
            content: dict[str, Any] = {"photo": sizes, "media_group_id": group_id}
            if item.get("caption"):
                content["caption"] = item["caption"]
            messages.append(self._bot_message(
                {k: v for k, v in params.items() if k != "reply_markup"}, **content))
        return messages

    def _api_getUserProfilePhotos(self, params: dict, files: dict) -> dict:
        user_id = int(params.get("user_id") or 0)
        sizes = self._profile_photos.get(user_id)
        return {"total_count": 1 if sizes else 0, "photos": [sizes] if sizes else []}

    def _api_sendDocument(self, params: dict, files: dict) -> dict:
        data = self._upload(params, files, "document")
        document = {**self.add_file(data, "documents"), "file_name": "document"}
        return self._bot_message(params, document=document, **self._caption(params))

    def _api_sendSticker(self, params: dict, files: dict) -> dict:
        return self._bot_message(params, sticker={**self.add_file(b"sticker", "stickers"),
                                                  "width": 512, "height": 512,
                                                  "is_animated": False, "is_video": False,
                                                  "type": "regular"})

    def _api_editMessageText(self, params: dict, files: dict) -> dict:
        message = self._target(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        _check_lengths(params)
        if "text" not in message:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        markup = params.get("reply_markup")
        if message["text"] == text and message.get("reply_markup") == markup:
            raise _ApiError(400, _NOT_MODIFIED)
        message["text"] = text
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    def _api_editMessageCaption(self, params: dict, files: dict) -> dict:
        message = self._target(params)
        caption = params.get("caption")
        markup = params.get("reply_markup")
        if message.get("caption") == caption and message.get("reply_markup") == markup:
            raise _ApiError(400, _NOT_MODIFIED)
        if caption is None:
            message.pop("caption", None)
        else:
            message["caption"] = caption
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    def _api_editMessageReplyMarkup(self, params: dict, files: dict) -> dict:
        message = self._target(params)
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise _ApiError(400, _NOT_MODIFIED)
        _set_markup(message, markup)
        return message

    def _api_editMessageMedia(self, params: dict, files: dict) -> dict:
        message = self._target(params)
        media = params.get("media")
        if not isinstance(media, dict) or media.get("type") not in ("photo", "document"):
            raise _ApiError(400, "Bad Request: can't parse InputMedia")
        ref = str(media.get("media", ""))
        if ref.startswith("attach://"):
            name = ref.removeprefix("attach://")
            if name not in files:
                raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            data = files[name]
        elif ref in self._files:
            data = self._files[ref]["data"]
        else:
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        for key in ("text", "entities", "photo", "document", "caption"):
            message.pop(key, None)
        if media["type"] == "photo":
            width, height = _image_size(data)
            message["photo"] = [{**self.add_file(data, "photos"), "width": width,
                                 "height": height}]
        else:
            message["document"] = {**self.add_file(data, "documents"), "file_name": "file"}
        if media.get("caption"):
            message["caption"] = media["caption"]
        _set_markup(message, params.get("reply_markup"))
        message["edit_date"] = int(time.time())
        return message

    def _api_deleteMessage(self, params: dict, files: dict) -> bool:
        chat_id = self._chat(params)["id"]
        key = (chat_id, int(params.get("message_id") or 0))
        if key not in self.messages:
            raise _ApiError(400, "Bad Request: message to delete not found")
        del self.messages[key]
        return True

    # ------------------------------------------------------------------ internals

    def _new_message(self, chat: dict, sender: dict) -> dict:
        self._chats[chat["id"]] = chat
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
        }

    def _store(self, message: dict) -> None:
        self.messages[(message["chat"]["id"], message["message_id"])] = message

    def _push_update(self, payload: dict) -> None:
        update = {"update_id": next(self._update_ids), **payload}
        self._updates.append(update)
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)

    def _reply_target(self, chat_id: int, reply_to: int | dict) -> dict:
        message_id = reply_to if isinstance(reply_to, int) else reply_to["message_id"]
        stored = self.messages.get((chat_id, message_id))
        if stored is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        return {k: v for k, v in stored.items() if k != "reply_to_message"}

    def _chat(self, params: dict) -> dict:
        raw = params.get("chat_id")
        try:
            chat_id = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: chat not found") from None
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        return chat

    def _target(self, params: dict) -> dict:
        chat_id = self._chat(params)["id"]
        message = self.messages.get((chat_id, int(params.get("message_id") or 0)))
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return message

    def _bot_message(self, params: dict, **content: Any) -> dict:
        chat = self._chat(params)
        message = self._new_message(chat, self.bot_user)
        message.update(content)
        _set_markup(message, params.get("reply_markup"))
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and reply.get("message_id"):
            target = self.messages.get((chat["id"], int(reply["message_id"])))
            if target is not None:
                message["reply_to_message"] = {k: v for k, v in target.items()
                                               if k != "reply_to_message"}
            elif not reply.get("allow_sending_without_reply"):
                raise _ApiError(400, "Bad Request: message to be replied not found")
        self._store(message)
        return message

    def _upload(self, params: dict, files: dict, name: str) -> bytes:
        if name in files:
            return files[name]
        ref = str(params.get(name, ""))
        if ref.startswith("attach://") and ref.removeprefix("attach://") in files:
            return files[ref.removeprefix("attach://")]
        if ref in self._files:
            return self._files[ref]["data"]
        raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    @staticmethod
    def _caption(params: dict) -> dict:
        return {"caption": params["caption"]} if params.get("caption") else {}


# ---------------------------------------------------------------------- helpers

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


MAX_TEXT = 4096
MAX_CAPTION = 1024


def _check_lengths(params: dict) -> None:
    """Telegram's limits on message texts and captions (in characters)."""
    if len(str(params.get("text") or "")) > MAX_TEXT:
        raise _ApiError(400, "Bad Request: message is too long")
    if len(str(params.get("caption") or "")) > MAX_CAPTION:
        raise _ApiError(400, "Bad Request: message caption is too long")


_ACCEPTED = frozenset({"logOut", "close", "deleteWebhook", "setMyDescription",
                       "setMyShortDescription", "answerCallbackQuery"})
"""Methods the fake accepts and records without doing anything: it answers true."""


def _accept(params: dict, files: dict) -> bool:
    return True


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


async def _read_params(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, bytes], dict[str, str]]:
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    filenames: dict[str, str] = {}
    if request.content_type == "application/json":
        params = await request.json()
        return params, files, filenames
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = value.file.read()
            filenames[key] = value.filename or key
        elif key in _STRING_PARAMS:
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except (TypeError, ValueError):
                params[key] = value
    return params, files, filenames


def _set_markup(message: dict, markup: Any) -> None:
    if markup:
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


def _command_entities(text: str) -> list[dict]:
    if not text.startswith("/"):
        return []
    length = len(text.split(maxsplit=1)[0])
    return [{"type": "bot_command", "offset": 0, "length": length}]


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return (0, 0)


def _thumbnail(data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img = img.convert("RGB")
            img.thumbnail((48, 48))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=70)
            return buf.getvalue()
    except Exception:
        return data


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------- running the bot

ADMIN_ID = 999

ALICE = User(101, "Alice")
BOB = User(202, "Bob")
CAROL = User(303, "Carol")
"""The tests' usual chat members (no Telegram app language)."""
TEST_SIZE = 64


def bot_env(fake: FakeTelegram, root: Path, **overrides: str) -> dict[str, str]:
    """Environment of a bot with tiny fast jobs, its database, work area and presets folder
    under `root`."""
    return {
        **fake.env(),
        "STYLEBOT_DB": str(root / "stylebot.db"),
        "STYLEBOT_WORK_DIR": str(root / "work"),
        "STYLEBOT_PRESETS_DIR": str(root / "presets"),
        "STYLEBOT_SIZE": str(TEST_SIZE),
        "STYLEBOT_STEPS": "2",
        "STYLEBOT_POLL_TIMEOUT": "1",
        "STYLEBOT_ADMINS": str(ADMIN_ID),
        **overrides,
    }


@dataclass(frozen=True)
class RemoteEngine:
    """Tells `run_bot` to send jobs through this broker to the workers listening there
    (`tests.remote_servers` starts both)."""

    broker_url: str


@contextlib.asynccontextmanager
async def run_bot(fake: FakeTelegram, root: Path, worker: StyleWorker | RemoteEngine,
                  **overrides: str) -> AsyncIterator[Config]:
    """The bot polling the fake server inside the block, sharing the already started worker,
    or sending its jobs to remote workers through the broker of a `RemoteEngine`."""
    from bot.app import build_application, running
    from bot.config import Config

    if isinstance(worker, RemoteEngine):
        overrides = {"STYLEBOT_BROKER_URL": worker.broker_url, "STYLEBOT_HEARTBEAT_S": "0.5",
                     **overrides}
    config = Config.from_env(bot_env(fake, root, **overrides))
    app = build_application(config, worker=None if isinstance(worker, RemoteEngine) else worker)
    watchdog: asyncio.Task | None = None
    try:
        async with running(app):
            try:
                yield config
            finally:  # the shutdown is watched: a stuck one prints what every task waits for
                watchdog = asyncio.create_task(_report_stuck_tasks(SHUTDOWN_WATCH_S))
    finally:
        if watchdog is not None:
            watchdog.cancel()


SHUTDOWN_WATCH_S = 60.0


async def _report_stuck_tasks(after_s: float) -> None:
    await asyncio.sleep(after_s)
    print(f"the bot has not stopped after {after_s:.0f} s; its tasks:", file=sys.stderr)
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.print_stack(file=sys.stderr)


REPO = Path(__file__).resolve().parents[1]


def start_bot_process(env: dict[str, str], cwd: Path, *, wrapper: tuple[str, ...] = (),
                      **popen: Any) -> subprocess.Popen:
    """`python -m bot` with `env` on top of this environment minus its TELEGRAM*/STYLEBOT*
    variables; stdout and stderr piped as text unless `popen` redirects them. `wrapper`: a
    command that runs it (e.g. setpriv with its options)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "STYLEBOT"))}
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    return subprocess.Popen([*wrapper, sys.executable, "-m", "bot"], cwd=cwd,
                            env={**clean, "PYTHONPATH": str(REPO), **env}, **popen)


@contextlib.contextmanager
def piped_bot_process(env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen]:
    """`start_bot_process` inside the block; killed on leaving if it is still running (a
    failed assertion must not leave a bot behind)."""
    process = start_bot_process(env, cwd)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stop_with_sigterm(process: subprocess.Popen) -> str:
    """Sends SIGTERM, as `docker stop` does, and returns the bot's stderr once it exited."""
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    return stderr


@contextlib.contextmanager
def bot_process(fake: FakeTelegram, root: Path, **overrides: str
                ) -> Iterator[subprocess.Popen]:
    """`python -m bot` as an operator runs it, with `bot_env`, its output appended to
    root/bot.log; inside the block once it has registered its commands. Stopped with SIGTERM
    on leaving unless it has already died (or been killed inside the block)."""
    mark = fake.mark()
    with open(root / "bot.log", "ab") as log:
        process = start_bot_process(bot_env(fake, root, **overrides), root,
                                    stdout=log, stderr=subprocess.STDOUT)
    try:
        fake.wait_for_blocking("setMyCommands", after=mark, timeout=60)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---------------------------------------------------------------------- test pictures


def jpeg(array: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def content_photo(width: int = 64, height: int = 48, tint: tuple[int, int, int] = (0, 0, 0)
                  ) -> bytes:
    """A smooth gradient with a disc: something the style visibly changes."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 140)], axis=-1)
    disc = (x - width * 0.6) ** 2 + (y - height * 0.5) ** 2 < (height * 0.3) ** 2
    img[disc] = (250, 240, 60)
    img = np.clip(img + np.array(tint), 0, 255)
    return jpeg(img)


def style_photo(size: int = 64, seed: int = 1) -> bytes:
    """Bold random stripes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    stripes = ((x + y) // 6) % 2
    colours = rng.integers(0, 256, (2, 3))
    return jpeg(colours[stripes])


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32)


def assert_stylised(result: bytes, content: bytes, size: tuple[int, int]) -> np.ndarray:
    """The result decodes, has the expected (width, height) and differs from the content
    (scaled to the result's size when it has another)."""
    image = decode(result)
    assert (image.shape[1], image.shape[0]) == size
    with Image.open(io.BytesIO(content)) as photo:
        original = np.asarray(photo.convert("RGB").resize(size, Image.Resampling.LANCZOS),
                              dtype=np.float32)
    # Scaling and JPEG noise stay under 3 levels; even two steps of painting move ~50.
    assert np.abs(image - original).mean() > 8.0, "the result looks like the content"
    return image
