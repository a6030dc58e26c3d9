"""The chat page's HTTP side: the static page (bot/playground/static), the chats' state as JSON
(long-polled), sending, tapping and the files' bytes.

    GET  /                            the page
    GET  /api/chats/{key}?since=V     the chat's state; waits up to 25 s for a version past V
    POST /api/chats/{key}/send        multipart: sender, text, reply_to, file (repeated)
    POST /api/chats/{key}/tap         JSON: sender, message_id, data
    POST /api/language                JSON: language (the simulated user's language_code)
    POST /api/studio                  JSON: chat, sender, url: the studio's address to open
    POST /api/inline                  JSON: chat, sender, query: the bot's inline answer
    POST /api/inline/send             JSON: chat, sender, query_id, result_id: send a result
    GET  /files/{file_id}             a photo's or file's bytes
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from aiohttp import BodyPartReader, web
from PIL import Image, UnidentifiedImageError

from bot.playground.chat import BadPageRequest, Playground, Upload

STATIC = Path(__file__).with_name("static")
MAX_UPLOAD = 64 * 1024 * 1024
"""The page's upload limit (all files of one message together)."""
LONG_POLL_S = 25.0
PLAYGROUND_KEY = web.AppKey("playground", Playground)


def make_app(playground: Playground) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD, middlewares=[_errors_as_json])
    app[PLAYGROUND_KEY] = playground
    app.router.add_get("/", _index)
    app.router.add_static("/static", STATIC)
    app.router.add_get("/api/chats/{key}", _state)
    app.router.add_post("/api/chats/{key}/send", _send)
    app.router.add_post("/api/chats/{key}/tap", _tap)
    app.router.add_post("/api/language", _language)
    app.router.add_post("/api/studio", _studio)
    app.router.add_post("/api/inline", _inline)
    app.router.add_post("/api/inline/send", _inline_send)
    app.router.add_get("/files/{file_id}", _file)
    return app


@web.middleware
async def _errors_as_json(request: web.Request, handler) -> web.StreamResponse:
    """Bad input answers 400 with one line the page shows; an upload over the limit 413."""
    try:
        return await handler(request)
    except BadPageRequest as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"error": f"too big for the playground: it takes at most "
                                  f"{MAX_UPLOAD // 2**20} MB at once"}, status=413)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def _playground(request: web.Request) -> Playground:
    return request.app[PLAYGROUND_KEY]


async def _state(request: web.Request) -> web.Response:
    playground = _playground(request)
    key = request.match_info["key"]
    playground.chat(key)  # an unknown chat answers at once
    since = _int(request.query.get("since"), "since") or 0
    if request.query.get("instance") == playground.instance:
        await playground.wait_changed(since, LONG_POLL_S)
    else:
        since = 0  # another server (restarted) or a first load: the whole state, no old toasts
    return web.json_response(playground.snapshot(key, since))


async def _send(request: web.Request) -> web.Response:
    fields: dict[str, str] = {}
    uploads: list[Upload] = []
    if request.content_type != "multipart/form-data":  # a form without files
        form = await request.post()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
    reader = await request.multipart() if request.content_type == "multipart/form-data" else None
    total = 0
    while reader is not None and (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadPageRequest("nested multipart is not supported")
        if part.filename is not None:
            data = await part.read(decode=False)
            total += len(data)
            if total > MAX_UPLOAD:
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD, actual_size=total)
            uploads.append(Upload(part.filename or "file",
                                  part.headers.get("Content-Type", "application/octet-stream"),
                                  bytes(data)))
        elif part.name:
            fields[part.name] = await part.text()
    await _playground(request).send(
        request.match_info["key"], fields.get("sender", "you"), fields.get("text", ""),
        uploads, _int(fields.get("reply_to"), "reply_to"))
    return web.json_response({"ok": True})


async def _tap(request: web.Request) -> web.Response:
    body = await _json(request)
    await _playground(request).tap(request.match_info["key"], str(body.get("sender", "you")),
                                   _int(body.get("message_id"), "message_id") or 0,
                                   str(body.get("data", "")))
    return web.json_response({"ok": True})


async def _language(request: web.Request) -> web.Response:
    body = await _json(request)
    await _playground(request).set_language(str(body.get("language", "")))
    return web.json_response({"ok": True})


async def _studio(request: web.Request) -> web.Response:
    """A web_app button tapped: the address to open in the studio's panel, signed in."""
    body = await _json(request)
    url = _playground(request).studio_launch(str(body.get("chat", "")),
                                             str(body.get("sender", "you")),
                                             str(body.get("url", "")))
    return web.json_response({"url": url})


async def _inline(request: web.Request) -> web.Response:
    body = await _json(request)
    answer = await _playground(request).inline(str(body.get("chat", "")),
                                               str(body.get("sender", "you")),
                                               str(body.get("query", "")))
    return web.json_response(answer)


async def _inline_send(request: web.Request) -> web.Response:
    body = await _json(request)
    await _playground(request).send_inline(str(body.get("chat", "")),
                                           str(body.get("sender", "you")),
                                           str(body.get("query_id", "")),
                                           str(body.get("result_id", "")))
    return web.json_response({"ok": True})


async def _file(request: web.Request) -> web.Response:
    try:
        data = _playground(request).api.file_bytes(request.match_info["file_id"])
    except KeyError:
        raise web.HTTPNotFound(text="no such file") from None
    content_type = await asyncio.to_thread(sniff, data)
    return web.Response(body=data, content_type=content_type,
                        headers={"Cache-Control": "private, max-age=3600"})


def sniff(data: bytes) -> str:
    """The MIME type of a file's bytes, for the browser (a file's name may say nothing)."""
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if data[:4] == b"\x1aE\xdf\xa3":
        return "video/webm"
    try:
        with Image.open(io.BytesIO(data)) as img:
            return Image.MIME.get(img.format or "", "application/octet-stream")
    except (UnidentifiedImageError, OSError, ValueError):
        return "application/octet-stream"


async def _json(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise BadPageRequest("the request is not JSON") from None
    if not isinstance(body, dict):
        raise BadPageRequest("the request is not a JSON object")
    return body


def _int(raw: object, name: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadPageRequest(f"{name} must be a number, got {raw!r}") from None
