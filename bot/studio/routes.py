"""The studio's API (see `bot.studio.server` for the list and the refusals): each handler reads
the signed-in user from the checked `initData`, never from the request's parameters."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from aiohttp import web
from PIL import Image, ImageOps

from bot.studio.choices import MAX_JSON, Choice, parse_choice
from bot.studio.deps import DEPS, PreviewPlan, StudioDeps, signed_in_user
from bot.studio.library import Library, NotYours, Picture, PresetStyle, Style
from bot.studio.masks import MAX_MASK_BYTES, keep_mask

SIDES = {"thumb": 160, "view": 768}
"""The long side of a picture as the page asks for it: a style's or photo's button, or the
photo itself under the painting."""
_JOB = re.compile(r"[1-9][0-9]{0,14}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/session", session)
    app.router.add_get("/api/pictures/{picture_id}", picture)
    app.router.add_post("/api/masks", mask)
    app.router.add_post("/api/preview", preview)
    app.router.add_post("/api/paint", paint)


def _deps(request: web.Request) -> StudioDeps:
    return request.app[DEPS]


async def session(request: web.Request) -> web.Response:
    """The page's words in the user's language, their photos and the styles."""
    deps, user = _deps(request), signed_in_user(request).user
    library = deps.library
    language, words = deps.words(await deps.language(user))
    photos, style_photos = await asyncio.gather(library.photos(user.id),
                                                library.style_photos(user.id))
    return web.json_response({
        "language": language,
        "words": words,
        "photos": [{"id": p.id} for p in photos],
        "styles": {"presets": [{"id": p.id, "name": p.name} for p in library.presets()],
                   "photos": [{"id": p.id} for p in style_photos]},
        "start": await _start(library, user.id, request.query.get("job", "")),
    })


async def _start(library: Library, user_id: int, job: str) -> dict | None:
    """What a studio opened from a result starts with: that job's photo and style, when the
    job is theirs (anything else starts as if no job had been named)."""
    if not _JOB.fullmatch(job):
        return None
    found = await library.job(user_id, int(job))
    if found is None:
        return None
    photo, style = found
    return {"photo": photo.id, "style": style.id if style else None}


async def picture(request: web.Request) -> web.Response:
    deps, user = _deps(request), signed_in_user(request).user
    side = SIDES.get(request.query.get("size", "thumb"))
    if side is None:
        raise NotYours(request.match_info["picture_id"])  # nothing to tell about sizes
    found = await deps.library.picture(user.id, request.match_info["picture_id"])
    path = await deps.library.path(user.id, found)
    data = await asyncio.to_thread(_jpeg, path, side)
    return web.Response(body=data, content_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=600"})


def _jpeg(path: Path, side: int) -> bytes:
    with Image.open(path) as image:
        image.draft("RGB", (side, side))
        upright = ImageOps.exif_transpose(image).convert("RGB")
    upright.thumbnail((side, side))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=85)
    return out.getvalue()


async def mask(request: web.Request) -> web.Response:
    """A brush mask for one of their photos; answers its name for previews and jobs."""
    deps, user = _deps(request), signed_in_user(request).user
    data = await _body(request, MAX_MASK_BYTES)
    with deps.limits.one(user.id):  # a stroke costs what a preview does
        photo = await deps.library.photo(user.id, request.query.get("photo", ""))
        path = await deps.library.path(user.id, photo)
        name = await keep_mask(deps.library.work, user.id, data, path)
    return web.json_response({"mask": name})


async def preview(request: web.Request) -> web.Response:
    deps, user = _deps(request), signed_in_user(request).user
    choice = parse_choice(await _body(request, MAX_JSON))
    with deps.limits.one(user.id):
        photo, styles = await _pictures(deps.library, user.id, choice)
        plan = PreviewPlan(
            content=await deps.library.path(user.id, photo),
            styles=[(await deps.library.path(user.id, style), weight) for style, weight in styles],
            mask=_mask_path(deps, user.id, choice),
            choice=choice,
        )
        data = await deps.previews.paint(plan)
    return web.Response(body=data, content_type="image/jpeg")


async def paint(request: web.Request) -> web.Response:
    """The choice as a job in the queue; its status and result come in the chat."""
    deps, user = _deps(request), signed_in_user(request).user
    choice = parse_choice(await _body(request, MAX_JSON))
    photo, styles = await _pictures(deps.library, user.id, choice)
    _mask_path(deps, user.id, choice)
    for picture in (photo, *(style for style, _ in styles)):
        await deps.library.path(user.id, picture)  # gone from Telegram: said now, not later
    await deps.careful.start(user, choice, photo, styles)
    return web.json_response({"ok": True})


async def _pictures(library: Library, user_id: int,
                    choice: Choice) -> tuple[Picture, list[tuple[Style, float]]]:
    photo = await library.photo(user_id, choice.photo)
    styles = [(await library.picture(user_id, style_id), weight)
              for style_id, weight in choice.styles]
    for style, _ in styles:
        if not isinstance(style, PresetStyle) and style.kind != "style":
            raise NotYours("not a style")
    return photo, styles


def _mask_path(deps: StudioDeps, user_id: int, choice: Choice) -> Path | None:
    """The user's own mask named in the choice (`NotYours` when they have none by that name)."""
    if choice.mask is None:
        return None
    path = deps.library.work.mask_path(user_id, choice.mask)
    if path is None or not path.is_file():
        raise NotYours(choice.mask)
    return path


async def _body(request: web.Request, limit: int) -> bytes:
    """The request's body, refused (413) over `limit` bytes, declared or not."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    data = await request.content.read(limit + 1)
    if len(data) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(data))
    return data
