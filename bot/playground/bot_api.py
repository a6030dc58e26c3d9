"""A local Telegram Bot API server: the end-to-end tests' fake Telegram and the playground's.

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
import copy
import io
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

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
        self.chat_owners: dict[int, int] = {}
        """Group chat id -> the id of whoever made it (getChatMember says "creator")."""
        self.webhook: dict[str, Any] | None = None
        """setWebhook's parameters while a webhook is set (getUpdates then answers 409)."""
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

    def chat_history(self, chat_id: int) -> list[dict]:
        """Copies of the chat's messages as they are now, oldest first (the playground's page)."""
        with self._lock:
            found = [m for (chat, _), m in self.messages.items() if chat == chat_id]
            return copy.deepcopy(sorted(found, key=lambda m: m["message_id"]))

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
        try:
            params, files, filenames = await _read_params(request)
        except ConnectionResetError:
            # The client hung up while sending (a bot stopping mid-upload): no one to answer,
            # and nothing wrong on this side, as on Telegram's.
            return web.Response(status=400, text="Connection lost")
        call = Call(method=method, params=params, files=files, filenames=filenames)
        injected = await self._injected(request, call)
        if injected is not None:
            return injected
        if method == "getUpdates":
            if self.webhook is not None:
                call.error = _WEBHOOK_CONFLICT
                self._record(call)
                return _error(409, _WEBHOOK_CONFLICT)
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
        """Kept (url, secret_token...) until deleteWebhook; the test posts the updates itself."""
        if not str(params.get("url", "")).startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided")
        self.webhook = dict(params)
        return True

    def _api_deleteWebhook(self, params: dict, files: dict) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getWebhookInfo(self, params: dict, files: dict) -> dict:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

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
        if self.chat_owners.get(chat_id) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
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
        _check_photo(data)
        width, height = _image_size(data)
        sizes = [{**self.add_file(data, "photos"), "width": width, "height": height}]
        return self._bot_message(params, photo=sizes, **self._caption(params))

    def _api_sendMediaGroup(self, params: dict, files: dict) -> list[dict]:
        """An album: 2-10 photos or videos, each its own message sharing a media_group_id."""
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _ApiError(400, "Bad Request: media group must include 2-10 items")
        group_id = str(next(self._media_groups))
        messages = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "video"):
                raise _ApiError(400, "Bad Request: can't parse InputMedia")
            _check_lengths({"caption": item.get("caption")})
            data = self._upload({"photo": item.get("media")}, files, "photo")
            content: dict[str, Any] = {"media_group_id": group_id}
            if item["type"] == "video":
                content["video"] = {**self.add_file(data, "videos"), **{
                    k: item[k] for k in ("width", "height", "duration") if k in item}}
            else:
                _check_photo(data)
                width, height = _image_size(data)
                content["photo"] = [{**self.add_file(data, "photos"), "width": width,
                                     "height": height}]
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
        _check_lengths(params)
        data = self._upload(params, files, "document")
        document = {**self.add_file(data, "documents"), "file_name": "document"}
        return self._bot_message(params, document=document, **self._caption(params))

    # -------------------------------------------------- moving pictures and sticker packs
    # The users' side (`user_sends_clip`) and the Bot API methods for GIFs, videos, video
    # notes, stickers and sticker sets, with Telegram's checks: a static sticker is a WEBP or
    # PNG with a side of 512 px, a video sticker a WEBM of at most 256 KB; a set's name ends
    # in `_by_<bot username>`, holds at most `MAX_SET_STICKERS`, and is made only for a user
    # the bot has a private chat with (else PEER_ID_INVALID, as for a user who never started
    # the bot).

    MAX_SET_STICKERS = 120

    @property
    def sticker_sets(self) -> dict[str, dict]:
        """Sticker sets by name: {"title", "user_id", "stickers": [sticker dicts, oldest
        first]}; `chat_sticker_sets` maps a group to the set it was given."""
        return self.__dict__.setdefault("_sticker_sets", {})

    @property
    def chat_sticker_sets(self) -> dict[int, str]:
        return self.__dict__.setdefault("_chat_sticker_sets", {})

    def clip_fields(self, kind: str, data: bytes, *, duration: int | None = 1,
                    width: int = 64, height: int = 48, file_size: int | None = None) -> dict:
        """The message fields Telegram sends for a moving picture of `kind`: "animation" (a
        GIF, as silent MP4, with its document), "video", "video_note", "gif_document" (a
        GIF file sent as a file) or "video_sticker" (WEBM)."""
        folder = {"video_note": "video_notes", "video_sticker": "stickers"}.get(kind, "videos")
        ref = self.add_file(data, folder, file_size=file_size)
        timing = {} if duration is None else {"duration": duration}
        if kind == "animation":
            animation = {**ref, "width": width, "height": height, **timing,
                         "mime_type": "video/mp4", "file_name": "funny.gif.mp4"}
            return {"animation": animation, "document": {
                **ref, "mime_type": "video/mp4", "file_name": "funny.gif.mp4"}}
        if kind == "video":
            return {"video": {**ref, "width": width, "height": height, **timing,
                              "mime_type": "video/mp4"}}
        if kind == "video_note":
            return {"video_note": {**ref, "length": width, **timing}}
        if kind == "gif_document":
            return {"document": {**ref, "mime_type": "image/gif", "file_name": "loop.gif"}}
        if kind == "video_sticker":
            return {"sticker": {**ref, "type": "regular", "width": 512, "height": 512,
                                "is_animated": False, "is_video": True}}
        raise ValueError(f"unknown clip kind {kind!r}")

    def user_sends_clip(self, chat: Chat, user: User, kind: str, data: bytes, *,
                        caption: str | None = None, reply_to: int | dict | None = None,
                        **fields: Any) -> dict:
        """A moving picture (see `clip_fields`)."""
        return self.user_sends(chat, user, caption=caption, reply_to=reply_to,
                               **self.clip_fields(kind, data, **fields))

    def _api_sendAnimation(self, params: dict, files: dict) -> dict:
        _check_lengths(params)
        data = self._upload(params, files, "animation")
        animation = {**self.add_file(data, "animations"), "mime_type": "video/mp4",
                     **{k: int(params[k]) for k in ("width", "height", "duration")
                        if params.get(k) is not None}}
        return self._bot_message(params, animation=animation, document=dict(animation),
                                 **self._caption(params))

    def _api_sendVideoNote(self, params: dict, files: dict) -> dict:
        data = self._upload(params, files, "video_note")
        note = {**self.add_file(data, "video_notes"),
                **{k: int(params[k]) for k in ("length", "duration")
                   if params.get(k) is not None}}
        return self._bot_message(params, video_note=note)

    def _api_sendSticker(self, params: dict, files: dict) -> dict:
        sticker = self._sticker(self._upload(params, files, "sticker"))
        return self._bot_message(params, sticker=sticker)

    def _sticker(self, data: bytes, sticker_format: str | None = None) -> dict:
        """A sticker of the uploaded bytes, checked as Telegram does."""
        is_video = data[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WEBM
        if sticker_format is not None and (sticker_format == "video") != is_video:
            raise _ApiError(400, "Bad Request: STICKER_FILE_INVALID")
        if is_video:
            if len(data) > 256 * 1024:
                raise _ApiError(400, "Bad Request: STICKER_VIDEO_BIG")
            width = height = 512
        else:
            width, height = _image_size(data)
            if max(width, height) != 512 or (data[8:12] != b"WEBP" and data[1:4] != b"PNG"):
                raise _ApiError(400, "Bad Request: STICKER_PNG_DIMENSIONS")
        return {**self.add_file(data, "stickers"), "width": width, "height": height,
                "is_animated": False, "is_video": is_video, "type": "regular"}

    def _input_sticker(self, item: Any, files: dict) -> dict:
        if not isinstance(item, dict) or not item.get("emoji_list"):
            raise _ApiError(400, "Bad Request: can't parse InputSticker")
        data = self._upload({"sticker": item.get("sticker")}, files, "sticker")
        return self._sticker(data, item.get("format"))

    def _sticker_set(self, name: str) -> dict:
        found = self.sticker_sets.get(name)
        if found is None:
            raise _ApiError(400, "Bad Request: STICKERSET_INVALID")
        return found

    def _api_createNewStickerSet(self, params: dict, files: dict) -> bool:
        name, user_id = str(params.get("name", "")), int(params.get("user_id") or 0)
        suffix = f"_by_{self.bot_user['username']}"
        if (not name.endswith(suffix) or len(name) > 64 or not name[:1].isalpha()
                or not name.replace("_", "").isalnum()):
            raise _ApiError(400, "Bad Request: invalid sticker set name is specified")
        if name in self.sticker_sets:
            raise _ApiError(400, "Bad Request: sticker set name is already occupied")
        if user_id not in self._chats:
            raise _ApiError(400, "Bad Request: PEER_ID_INVALID")
        stickers = params.get("stickers")
        if not isinstance(stickers, list) or not 1 <= len(stickers) <= 50:
            raise _ApiError(400, "Bad Request: can't parse stickers JSON object")
        made = [{**self._input_sticker(item, files), "set_name": name} for item in stickers]
        self.sticker_sets[name] = {"title": str(params.get("title", "")), "user_id": user_id,
                                   "stickers": made}
        return True

    def _api_addStickerToSet(self, params: dict, files: dict) -> bool:
        found = self._sticker_set(str(params.get("name", "")))
        if int(params.get("user_id") or 0) != found["user_id"]:
            raise _ApiError(400, "Bad Request: STICKERSET_INVALID")
        if len(found["stickers"]) >= self.MAX_SET_STICKERS:
            raise _ApiError(400, "Bad Request: STICKERS_TOO_MUCH")
        sticker = self._input_sticker(params.get("sticker"), files)
        found["stickers"].append({**sticker, "set_name": params["name"]})
        return True

    def _api_getStickerSet(self, params: dict, files: dict) -> dict:
        name = str(params.get("name", ""))
        found = self._sticker_set(name)
        return {"name": name, "title": found["title"], "sticker_type": "regular",
                "stickers": found["stickers"]}

    def _api_deleteStickerFromSet(self, params: dict, files: dict) -> bool:
        file_id = str(params.get("sticker", ""))
        for found in self.sticker_sets.values():
            kept = [s for s in found["stickers"] if s["file_id"] != file_id]
            if len(kept) < len(found["stickers"]):
                found["stickers"] = kept
                return True
        raise _ApiError(400, "Bad Request: STICKER_INVALID")

    def _api_deleteStickerSet(self, params: dict, files: dict) -> bool:
        self._sticker_set(str(params.get("name", "")))
        del self.sticker_sets[str(params["name"])]
        return True

    def _api_setChatStickerSet(self, params: dict, files: dict) -> bool:
        chat = self._chat(params)
        name = str(params.get("sticker_set_name", ""))
        self._sticker_set(name)
        if chat.get("type") != "supergroup":
            raise _ApiError(400, "Bad Request: method is available only for supergroups")
        self.chat_sticker_sets[chat["id"]] = name
        return True

    # -------------------------------------------------- (end of moving pictures and packs)

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
        _check_lengths(params)
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
        _check_lengths({"caption": media.get("caption")})
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
        if media["type"] == "photo":
            _check_photo(data)
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


MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_RATIO = 20
_WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; use "
                     "deleteWebhook to delete the webhook first")


def _check_photo(data: bytes) -> None:
    """Telegram's limits on a photo the bot sends: an image, at most 10 MB, width + height at
    most 10000, sides at most 20:1."""
    if len(data) > MAX_PHOTO_BYTES:
        raise _ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
    width, height = _image_size(data)
    if not width or not height:
        raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
    if width + height > MAX_PHOTO_SIDES or max(width, height) > MAX_PHOTO_RATIO * min(width,
                                                                                        height):
        raise _ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")


_ACCEPTED = frozenset({"logOut", "close", "setMyDescription",
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
