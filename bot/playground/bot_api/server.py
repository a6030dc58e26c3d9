"""`LocalBotApi`, the local Bot API's HTTP server: it runs in a background thread with its own
event loop, routes `/bot<token>/<method>` to the Bot API methods and `/file/bot<token>/<path>`
to the stored files, parses parameters as Telegram does, records every call and answers
Telegram's JSON, errors included.

`_before_answer` is the one place a subclass can answer a call instead of the server (the
tests' fault injection does); the server itself never does."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any

from aiohttp import web

from bot.playground.bot_api import methods_bot, methods_media, methods_messages, methods_stickers
from bot.playground.bot_api.limits import WEBHOOK_CONFLICT, ApiError
from bot.playground.bot_api.records import Call
from bot.playground.bot_api.state import TOKEN, Method
from bot.playground.bot_api.users import UsersSide

METHODS: dict[str, Method] = {**methods_bot.METHODS, **methods_messages.METHODS,
                              **methods_media.METHODS, **methods_stickers.METHODS}
"""Every Bot API method the server knows, by name; others answer 404."""

# Parameters that Telegram takes as plain strings; everything else arrives JSON-encoded.
_STRING_PARAMS = {
    "text", "caption", "callback_query_id", "file_id", "action", "parse_mode", "url",
    "business_connection_id", "emoji", "inline_message_id", "question", "title", "description",
    "short_description", "language_code", "name", "inline_query_id", "next_offset",
}
MAX_REQUEST = 64 * 1024 * 1024


class LocalBotApi(UsersSide):
    """The server; `start()` it, point the bot at `base_url` / `file_url`, `stop()` it."""

    def __init__(self, token: str = TOKEN, bot_user: dict | None = None) -> None:
        super().__init__(token, bot_user)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalBotApi:
        self.port = free_port()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True,
                                        name="local-bot-api")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the local Bot API server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None
        self.updates.bind(None)

    def __enter__(self) -> LocalBotApi:
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
        self.updates.bind(loop)
        app = web.Application(client_max_size=MAX_REQUEST)
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

    # ------------------------------------------------------------------ HTTP handlers

    async def _before_answer(self, request: web.Request, call: Call) -> web.StreamResponse | None:
        """An answer to send instead of the server's own, or None (always, here). Called for
        every call with a good token, downloads (method `download`) and getUpdates included,
        before the server looks at it; a subclass that answers records the call itself."""
        return None

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """A download: recorded as a call of the pseudo-method `download` with params
        {"file_path": ...}."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        call = Call(method="download", params={"file_path": path})
        instead = await self._before_answer(request, call)
        if instead is not None:
            return instead
        entry = self.file_at(path)
        if entry is None:
            call.error = "Not Found"
            self._record(call)
            return web.Response(status=404, text="Not Found")
        self._record(call)
        return web.Response(body=entry["data"], content_type="application/octet-stream")

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return error_answer(401, "Unauthorized")
        method = request.match_info["method"]
        try:
            params, files, filenames = await _read_params(request)
        except ConnectionResetError:
            # The client hung up while sending (a bot stopping mid-upload): no one to answer,
            # and nothing wrong on this side, as on Telegram's.
            return web.Response(status=400, text="Connection lost")
        call = Call(method=method, params=params, files=files, filenames=filenames)
        instead = await self._before_answer(request, call)
        if instead is not None:
            return instead
        if method == "getUpdates":
            return await self._get_updates(call)
        handler = METHODS.get(method)
        if handler is None:
            call.error = "Not Found"
            self._record(call)
            return error_answer(404, "Not Found")
        try:
            with self.lock:
                result = handler(self, params, files)
        except ApiError as exc:
            call.error = exc.description
            self._record(call)
            return error_answer(exc.code, exc.description)
        call.result = result
        self._record(call)
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, call: Call) -> web.Response:
        """The long poll; not recorded (there are too many, and they say nothing about the
        bot's behaviour) unless refused while a webhook is set."""
        if self.webhook is not None:
            call.error = WEBHOOK_CONFLICT
            self._record(call)
            return error_answer(409, WEBHOOK_CONFLICT)
        params = call.params
        result = await self.updates.poll(offset=int(params.get("offset") or 0),
                                         limit=int(params.get("limit") or 100),
                                         timeout=min(float(params.get("timeout") or 0), 10.0))
        return web.json_response({"ok": True, "result": result})


def error_answer(code: int, description: str, retry_after: int | None = None) -> web.Response:
    """An error as Telegram answers it (with `retry_after` for a flood wait)."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


async def _read_params(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, bytes], dict[str, str]]:
    """(params, uploaded files by part name, their file names) of a JSON body or a form."""
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
