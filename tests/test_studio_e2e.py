"""The studio end to end: the real bot with its studio on (its own preview worker process),
the fake Bot API, and the studio's HTTP API called as the page calls it with Telegram's
signed initData. A photo's result offers "Open in studio" and "Share"; the studio lists the
photo, paints previews that follow the slider and the brush, survives its painter being
killed, and "Paint carefully" puts the exact choice into the queue, whose result comes in the
chat as usual."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import signal
import urllib.parse

import aiohttp
import numpy as np
import pytest
from PIL import Image

from bot.jobs.worker import StyleWorker
from bot.playground.bot_api import free_port
from bot.studio.init_data import init_data_for
from tests.conditions import job_rows, until
from tests.fake_telegram import (
    ALICE,
    BOB,
    FakeTelegram,
    content_photo,
    group_chat,
    private_chat,
    result_for,
    run_bot,
)
from tests.studio_servers import png_mask

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]


def studio_env(port: int) -> dict[str, str]:
    return {"STYLEBOT_STUDIO_URL": f"http://127.0.0.1:{port}/",
            "STYLEBOT_STUDIO_LISTEN": f"127.0.0.1:{port}"}


def web_app_urls(call) -> list[str]:
    rows = call.params["reply_markup"]["inline_keyboard"]
    return [b["web_app"]["url"] for row in rows for b in row if "web_app" in b]


def picture(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32)


class Page:
    """The studio's API as the page uses it, signed in as `user`."""

    def __init__(self, http: aiohttp.ClientSession, port: int, token: str, user) -> None:
        self.http, self.base = http, f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": "tma " + init_data_for(user.as_dict(), token)}

    async def get(self, path: str) -> aiohttp.ClientResponse:
        return await self.http.get(self.base + path, headers=self.headers)

    async def post(self, path: str, **kwargs) -> aiohttp.ClientResponse:
        return await self.http.post(self.base + path, headers=self.headers, **kwargs)

    async def preview(self, choice: dict) -> aiohttp.ClientResponse:
        """A preview, waiting politely when told to (429) or while the painter starts (503)."""
        for _ in range(120):
            answer = await self.post("/api/preview", json=choice)
            if answer.status not in (429, 503):
                return answer
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
        raise AssertionError("the preview never came")


async def test_studio_from_result_to_careful_job(fake: FakeTelegram, tmp_path,
                                                 worker: StyleWorker):
    port = free_port()
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker, **studio_env(port)) as config, \
            aiohttp.ClientSession() as http:
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        result = await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
        (job_id,) = [row.id for row in job_rows(config.db_path)]
        assert web_app_urls(result) == [f"http://127.0.0.1:{port}/?job={job_id}"]
        shares = [b for row in result.params["reply_markup"]["inline_keyboard"] for b in row
                  if "switch_inline_query" in b]
        assert [b["switch_inline_query"] for b in shares] == ["mosaic"]

        page = Page(http, port, config.token, ALICE)
        session = await (await page.get(f"/api/session?job={job_id}")).json()
        assert session["start"]["style"] == "preset:mosaic"
        photo_id = session["start"]["photo"]
        assert [p["id"] for p in session["photos"]] == [photo_id]
        choice = {"photo": photo_id, "style": "preset:mosaic", "strength": 1.0,
                  "keep_colors": False, "keep_faces": False}
        strong = await page.preview(choice)
        assert strong.status == 200 and strong.content_type == "image/jpeg"
        painted = picture(await strong.read())
        assert painted.shape == (288, 384, 3)  # the preview's size, whatever the photo's
        weak = picture(await (await page.preview({**choice, "strength": 0.05})).read())
        photo_big = np.asarray(Image.open(io.BytesIO(content_photo())).convert("RGB").resize(
            (384, 288)), dtype=np.float32)
        assert np.abs(weak - photo_big).mean() < np.abs(painted - photo_big).mean()

        # The brush: the left half keeps the photo.
        mask = await page.post(f"/api/masks?photo={urllib.parse.quote(photo_id)}",
                               data=png_mask(96, 72, left_style=False))
        name = (await mask.json())["mask"]
        brushed = picture(await (await page.preview({**choice, "mask": name})).read())
        left = np.abs(brushed[:, :170] - photo_big[:, :170]).mean()
        assert left < 8 < np.abs(brushed[:, 220:] - photo_big[:, 220:]).mean()

        # The painter killed mid-session: the studio answers again once it is back.
        others = [p.pid for p in multiprocessing.active_children() if p.pid != worker.pid]
        assert len(others) == 1
        os.kill(others[0], signal.SIGKILL)
        assert (await page.preview(choice)).status == 200

        # Paint carefully: a blend of two presets, the brush, the exact strength.
        careful = {**choice, "second_style": "preset:pointillism", "blend": 0.4,
                   "strength": 2.0, "mask": name}
        mark = fake.mark()
        assert (await page.post("/api/paint", json=careful)).status == 200
        await until(lambda: len(job_rows(config.db_path)) == 2, 30, "the careful job")
        row = job_rows(config.db_path)[-1]
        settings = row.settings
        assert (settings["second_style"], settings["blend"]) == ("preset:pointillism", 0.4)
        assert settings["style_strength"] == 2.0 and settings["mask"] == name
        assert row.preset == "mosaic" and row.chat_id == ALICE.id
        second = await fake.wait_for("sendPhoto", result_for(photo), timeout=180, after=mark)
        assert web_app_urls(second)  # the usual buttons, the studio's among them
        got = picture(second.upload())
        base = picture(content_photo())
        assert np.abs(got[:, :28] - base[:, :28]).mean() < 6  # the brush kept the photo there


async def test_studio_links_in_groups_and_from_start(fake: FakeTelegram, tmp_path,
                                                     worker: StyleWorker):
    port = free_port()
    group = group_chat()
    async with run_bot(fake, tmp_path, worker, **studio_env(port)) as config, \
            aiohttp.ClientSession() as http:
        photo = fake.user_sends_photo(group, BOB, content_photo(), caption="/stylize mosaic")
        result = await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
        (job_id,) = [row.id for row in job_rows(config.db_path)]
        links = [b.get("url") for row in result.params["reply_markup"]["inline_keyboard"]
                 for b in row if "url" in b]
        assert links == [f"https://t.me/{fake.bot_user['username']}?start=studio-{job_id}"]
        assert not web_app_urls(result)  # groups take URL buttons only

        chat = private_chat(BOB)
        start = fake.user_sends_text(chat, BOB, f"/start studio-{job_id}")
        invite = await fake.wait_for("sendMessage", lambda c: c.reply_to == start["message_id"])
        assert web_app_urls(invite) == [f"http://127.0.0.1:{port}/?job={job_id}"]
        page = Page(http, port, config.token, BOB)
        session = await (await page.get(f"/api/session?job={job_id}")).json()
        assert session["start"]["photo"] == session["photos"][0]["id"]
        alice = Page(http, port, config.token, ALICE)  # not hers: nothing preselected
        theirs = await (await alice.get(f"/api/session?job={job_id}")).json()
        assert theirs["start"] is None and theirs["photos"] == []
