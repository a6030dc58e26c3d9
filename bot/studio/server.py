"""The studio's web server (`STYLEBOT_STUDIO_LISTEN`, behind the operator's TLS proxy at
`STYLEBOT_STUDIO_URL`): the page, and its API for the signed-in user.

    GET  /                       the page (no data of anyone's in it)
    GET  /static/<file>          its script and style sheet
    GET  /words?language=<tag>   the page's words, for a page opened outside Telegram
    GET  /api/session            the user's words, photos and styles
    GET  /api/pictures/<id>      one of their pictures (or a preset), as a JPEG
    POST /api/masks?photo=<id>   a brush mask (PNG) for that photo: its name
    POST /api/preview            the instant painter's picture of a choice (JPEG)
    POST /api/paint              "Paint carefully": a job with that choice, into the queue

Every `/api/` request carries Telegram's `initData` (`Authorization: tma <initData>`),
checked by `bot.studio.init_data`; the user is whoever it was signed for. Answers: 401 for
missing, malformed, forged or stale sign-ins; 404 alike for another user's picture and one
that does not exist; 413 over the size limits; 429 with Retry-After over the preview limits
(`bot.studio.limits`). Every answer carries a Content-Security-Policy that lets the page run
only its own script and Telegram's, and no CORS header (other sites cannot read answers).
Nothing is logged of `initData`; no access log is kept.
"""

from __future__ import annotations

import html
import logging
import urllib.parse
from pathlib import Path

from aiohttp import web

from bot.studio import routes
from bot.studio.choices import BadChoice
from bot.studio.deps import (
    DEPS,
    USER,
    PainterUnavailable,
    PictureUnusable,
    StudioDeps,
)
from bot.studio.init_data import InitDataRefused, check_init_data
from bot.studio.library import NotYours, PictureGone, PictureUnreachable
from bot.studio.limits import TooManyPreviews, retry_after_header
from bot.studio.masks import MAX_MASK_BYTES, BadMask

log = logging.getLogger("stylebot.studio")

STATIC = Path(__file__).with_name("static")
TELEGRAM_WEB = "https://web.telegram.org"
"""Where Telegram's web apps open a Mini App (in a frame)."""


def make_app(deps: StudioDeps) -> web.Application:
    app = web.Application(client_max_size=MAX_MASK_BYTES + 4096,
                          middlewares=[_secured(deps), _errors_as_json, _signed_in(deps)])
    app[DEPS] = deps
    page = _page(deps.webapp_js)

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    async def words(request: web.Request) -> web.Response:
        """The page's words before anyone signed in (opened outside Telegram, or refused)."""
        language, found = deps.words(request.query.get("language", "")[:16])
        return web.json_response({"language": language, "words": found})

    app.router.add_get("/", index)
    app.router.add_get("/words", words)
    app.router.add_static("/static", STATIC, show_index=False, follow_symlinks=False)
    routes.add_routes(app)
    return app


def _page(webapp_js: str) -> str:
    """index.html with the script that provides `Telegram.WebApp`."""
    return (STATIC / "index.html").read_text(encoding="utf-8").replace(
        "%WEBAPP_JS%", html.escape(webapp_js, quote=True))


def content_security_policy(webapp_js: str) -> str:
    """Scripts from here and from where `Telegram.WebApp` comes; nothing inline, no other
    connections, and framed only by Telegram's web apps (or the playground that serves the
    stand-in script)."""
    parts = urllib.parse.urlsplit(webapp_js)
    script_origin = f"{parts.scheme}://{parts.netloc}"
    ancestors = " ".join(dict.fromkeys([TELEGRAM_WEB, script_origin]))
    return ("default-src 'none'; "
            f"script-src 'self' {script_origin}; "
            "style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
            f"base-uri 'none'; form-action 'none'; frame-ancestors 'self' {ancestors}")


def _secured(deps: StudioDeps):
    csp = content_security_policy(deps.webapp_js)

    @web.middleware
    async def secured(request: web.Request, handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    return secured


def refusal(status: int, error: str, **headers: str) -> web.Response:
    """The page's answer for a refusal: a code it words in the user's language."""
    return web.json_response({"error": error}, status=status, headers=headers or None)


_REFUSALS: list[tuple[type[Exception], int, str]] = [
    (InitDataRefused, 401, "signed_out"),
    (NotYours, 404, "not_found"),
    (BadChoice, 400, "bad_request"),
    (BadMask, 400, "mask_unusable"),
    (PictureUnreachable, 503, "unreachable"),
    (PictureUnusable, 422, "failed"),
]


@web.middleware
async def _errors_as_json(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TooManyPreviews as exc:
        return refusal(429, "slow_down", **{"Retry-After": retry_after_header(exc.retry_after)})
    except PictureGone as exc:
        return refusal(410, "style_gone" if exc.style else "photo_gone")
    except PainterUnavailable:
        return refusal(503, "painter_starting", **{"Retry-After": "2"})
    except web.HTTPRequestEntityTooLarge:
        return refusal(413, "too_big")
    except web.HTTPException:
        raise
    except tuple(kind for kind, _, _ in _REFUSALS) as exc:
        status, error = next((s, e) for kind, s, e in _REFUSALS if isinstance(exc, kind))
        return refusal(status, error)
    except Exception:
        log.exception("studio request %s %s failed", request.method, request.path)
        return refusal(500, "failed")


def _signed_in(deps: StudioDeps):
    @web.middleware
    async def signed_in(request: web.Request, handler) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            try:
                request[USER] = check_init_data(_init_data(request), deps.token,
                                                max_age_s=deps.max_age_s)
            except InitDataRefused as exc:
                log.info("studio request refused: %s initData", exc.reason)
                raise
        return await handler(request)

    return signed_in


def _init_data(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "tma" else None


class StudioServer:
    """The server on its own port, started and stopped with the bot."""

    def __init__(self, deps: StudioDeps, listen: tuple[str, int]) -> None:
        self.app = make_app(deps)
        self.listen = listen
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, *self.listen).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
