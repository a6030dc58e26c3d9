"""The studio's server for tests, without Telegram or TensorFlow: a real database and work
folder, the user's pictures from a dict (as if downloaded), and stand-ins for the preview
painter and "Paint carefully" that record what they were asked."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.jobs.model import JobRequest
from bot.jobs.ports import InputGone
from bot.jobs.queue import SqliteJobQueue
from bot.jobs.work_area import WorkArea
from bot.settings import JobSettings
from bot.studio.choices import Choice
from bot.studio.deps import PreviewPlan, StudioDeps
from bot.studio.init_data import StudioUser, init_data_for
from bot.studio.library import Library, Picture, Style, token_of
from bot.studio.limits import PreviewLimits
from bot.studio.server import make_app
from bot.studio.wiring import words_in
from tests.databases import opened

TOKEN = "123456:STUDIO-test-token-not-real"
ALICE = {"id": 111, "first_name": "Alice", "language_code": "en"}
BOB = {"id": 222, "first_name": "Bob", "language_code": "ru"}
GONE = "file-gone"
"""A file id Telegram no longer has."""


def jpeg(width: int, height: int, colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG")
    return out.getvalue()


def png_mask(width: int, height: int, left_style: bool = True) -> bytes:
    """A brush mask: the style on one half (white), the photo kept on the other (black)."""
    grey = np.zeros((height, width), np.uint8)
    if left_style:
        grey[:, : width // 2] = 255
    else:
        grey[:, width // 2:] = 255
    out = io.BytesIO()
    Image.fromarray(grey).save(out, "PNG")
    return out.getvalue()


class FilesInputs:
    """`Inputs` from a dict of file id -> bytes, written to the work area like a download."""

    def __init__(self, work: WorkArea, files: dict[str, bytes]) -> None:
        self.work = work
        self.files = files
        self.fetched: list[str] = []

    async def fetch(self, user_id: int, file_id: str) -> Path:
        self.fetched.append(file_id)
        if file_id not in self.files:
            raise InputGone(file_id)
        return self.work.save_input(user_id, file_id, self.files[file_id])


@dataclass
class RecordingPreviews:
    plans: list[PreviewPlan] = field(default_factory=list)
    delay_s: float = 0.0

    async def paint(self, plan: PreviewPlan) -> bytes:
        self.plans.append(plan)
        await asyncio.sleep(self.delay_s)
        return jpeg(48, 36)


@dataclass
class RecordingCareful:
    started: list[tuple[StudioUser, Choice, Picture, list[tuple[Style, float]]]] = field(
        default_factory=list)

    async def start(self, user: StudioUser, choice: Choice, photo: Picture,
                    styles: list[tuple[Style, float]]) -> None:
        self.started.append((user, choice, photo, styles))


@dataclass
class Studio:
    client: TestClient
    deps: StudioDeps
    previews: RecordingPreviews
    careful: RecordingCareful
    inputs: FilesInputs

    def auth(self, user: dict = ALICE, **kwargs) -> dict[str, str]:
        return {"Authorization": "tma " + init_data_for(user, TOKEN, **kwargs)}


def photo_id(file_id: str) -> str:
    return f"photo:{token_of(file_id)}"


def style_id(file_id: str) -> str:
    return f"style:{token_of(file_id)}"


async def _job(queue: SqliteJobQueue, user: dict, content: str, style_file: str | None,
               preset: str | None) -> None:
    await queue.enqueue(JobRequest(
        chat_id=user["id"], user_id=user["id"], chat_type="private", reply_to_message_id=7,
        content_file_id=content, style_file_id=style_file, preset=preset,
        settings=JobSettings()))


@contextlib.asynccontextmanager
async def studio(tmp_path: Path, *, max_age_s: float = 3600,
                 burst: int = 4) -> AsyncIterator[Studio]:
    """Alice has a photo ("alice-photo", 64x48) with a style photo, and one Telegram lost
    (`GONE`); Bob has his own photo. `burst`: previews (and masks) a user may ask for at
    once."""
    files = {"alice-photo": jpeg(64, 48), "alice-style": jpeg(40, 40, (10, 40, 200)),
             "bob-photo": jpeg(30, 60)}
    async with opened(tmp_path / "db.sqlite") as store:
        work = WorkArea(tmp_path / "work")
        queue = SqliteJobQueue(store, max_queued_per_user=10)
        await _job(queue, ALICE, GONE, None, "mosaic")
        await _job(queue, ALICE, "alice-photo", "alice-style", None)
        await _job(queue, BOB, "bob-photo", None, "mosaic")
        inputs = FilesInputs(work, files)
        previews, careful = RecordingPreviews(), RecordingCareful()

        async def language(user: StudioUser) -> str:
            return words_in(user.language_code)[0]

        deps = StudioDeps(token=TOKEN, max_age_s=max_age_s,
                          webapp_js="https://telegram.org/js/telegram-web-app.js",
                          library=Library(store, inputs, work), previews=previews,
                          careful=careful, language=language, words=words_in,
                          limits=PreviewLimits(per_second=4.0, burst=burst))
        client = TestClient(TestServer(make_app(deps)))
        await client.start_server()
        try:
            yield Studio(client, deps, previews, careful, inputs)
        finally:
            await client.close()


def choice_json(photo: str = "alice-photo", **changes) -> dict:
    body = {"photo": photo_id(photo), "style": "preset:mosaic", "strength": 1.0,
            "keep_colors": False, "keep_faces": True}
    body.update(changes)
    return body


def an_hour_ago() -> int:
    return int(time.time()) - 3700
