"""The studio's pieces on their own: its settings, the page's choices read strictly, the
limits' arithmetic, the masks, and a careful job's settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import Config, ConfigError
from bot.settings import JobSettings
from bot.studio.careful import job_settings
from bot.studio.choices import BadChoice, parse_choice
from bot.studio.library import Picture, PresetStyle
from bot.studio.limits import PreviewLimits, SharedCpu, TooManyPreviews, retry_after_header
from bot.studio.masks import BadMask, clean_mask
from bot.studio.server import content_security_policy
from tests.studio_servers import choice_json, jpeg, png_mask


def test_the_studio_is_off_until_its_address_is_set():
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": "1:abc"})
    assert config.studio_url is None
    assert config.studio_listen == ("0.0.0.0", 8444) and config.studio_max_age == 3600
    assert config.studio_webapp_js == "https://telegram.org/js/telegram-web-app.js"
    on = Config.from_env({"TELEGRAM_BOT_TOKEN": "1:abc",
                          "STYLEBOT_STUDIO_URL": "https://studio.example.com/",
                          "STYLEBOT_STUDIO_LISTEN": "127.0.0.1:9000",
                          "STYLEBOT_STUDIO_MAX_AGE": "600"})
    assert on.studio_url == "https://studio.example.com/"
    assert on.studio_listen == ("127.0.0.1", 9000) and on.studio_max_age == 600
    local = Config.from_env({"TELEGRAM_BOT_TOKEN": "1:abc",
                             "STYLEBOT_STUDIO_URL": "http://127.0.0.1:9000/"})
    assert local.studio_url == "http://127.0.0.1:9000/"  # the playground's


@pytest.mark.parametrize("name, value", [
    ("STYLEBOT_STUDIO_URL", "http://studio.example.com/"),  # Telegram opens https only
    ("STYLEBOT_STUDIO_URL", "studio.example.com"),
    ("STYLEBOT_STUDIO_LISTEN", "everywhere"),
    ("STYLEBOT_STUDIO_MAX_AGE", "0"),
])
def test_studio_settings_that_cannot_work_are_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({"TELEGRAM_BOT_TOKEN": "1:abc", name: value})


def test_a_choice_is_read_strictly():
    choice = parse_choice(b'{"photo": "photo:0123456789abcdef0123", "style": "preset:wave",'
                          b' "second_style": "preset:mosaic", "blend": 0.25, "strength": 2}')
    assert choice.styles == [("preset:wave", 0.75), ("preset:mosaic", 0.25)]
    assert choice.strength == 2.0 and choice.keep_faces and not choice.keep_colors
    for bad in (b"[]", b"{", b'{"photo": 5}', json_of(strength=9), json_of(strength="1"),
                json_of(blend=float("nan")), json_of(keep_faces="yes"),
                json_of(style="photo:0123456789abcdef0123"), json_of(mask="../x.png"),
                json_of(photo="preset:wave"), json_of(style="<script>")):
        with pytest.raises(BadChoice):
            parse_choice(bad)


def json_of(**changes) -> bytes:
    import json

    body = {"photo": "photo:0123456789abcdef0123", "style": "preset:wave", **changes}
    return json.dumps(body, allow_nan=True).encode()


def test_previews_per_user_one_at_a_time_and_a_few_a_second():
    now = [0.0]
    limits = PreviewLimits(per_second=4.0, burst=2, clock=lambda: now[0])
    with limits.one(1):
        with pytest.raises(TooManyPreviews), limits.one(1):
            pass
        with limits.one(2):  # someone else
            pass
    with limits.one(1):
        pass
    with pytest.raises(TooManyPreviews) as slow, limits.one(1):
        pass
    assert slow.value.retry_after == pytest.approx(0.25)
    assert retry_after_header(slow.value.retry_after) == "1"
    now[0] += 0.25
    with limits.one(1):
        pass


@pytest.mark.asyncio
async def test_previews_leave_the_machine_to_jobs_for_their_share():
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    running = [True]
    cpu = SharedCpu(lambda: running[0], share=0.2, clock=lambda: now[0], sleep=sleep)
    async with cpu.turn():
        now[0] += 0.3  # a preview of 0.3 s
    async with cpu.turn():
        now[0] += 0.3
    assert slept == [pytest.approx(1.2)]  # 0.3 s of 1.5 s: a fifth
    running[0] = False
    async with cpu.turn():  # no job running: no pause
        pass
    assert len(slept) == 1
    await asyncio.sleep(0)


def test_masks_are_checked_and_cleaned():
    cleaned = clean_mask(png_mask(128, 96), (640, 480))
    assert cleaned.startswith(b"\x89PNG")
    for data, size in ((b"nope", (64, 48)), (jpeg(64, 48), (64, 48)),
                       (png_mask(96, 96), (640, 480)), (png_mask(16, 12), (16, 12))):
        with pytest.raises(BadMask):
            clean_mask(data, size)


def test_a_careful_job_carries_the_studio_choice():
    choice = parse_choice(json_of(second_style="style:0123456789abcdef0123", blend=0.3,
                                  strength=0.0, keep_colors=True,
                                  mask="mask-" + "a" * 32 + ".png"))
    second = Picture("style", "0123456789abcdef0123", "file-id-2", None)
    settings = job_settings(JobSettings(quality="fast"), choice,
                            [(PresetStyle("wave"), 0.7), (second, 0.3)])
    assert settings.quality == "fast" and settings.preserve_colors
    assert settings.second_style == "file:file-id-2" and settings.blend == 0.3
    assert settings.style_strength == 0.01  # 0 would mean "the named strength"
    assert settings.mask == "mask-" + "a" * 32 + ".png"
    assert JobSettings.from_json(settings.to_json()) == settings
    assert JobSettings.from_json(settings.to_json().replace("file-id-2", "../x")).second_style \
        == ""


def test_the_policy_allows_the_stand_in_scripts_origin_and_nothing_else():
    csp = content_security_policy("http://127.0.0.1:8080/static/webapp-standin.js")
    assert "script-src 'self' http://127.0.0.1:8080;" in csp
    assert "frame-ancestors 'self' https://web.telegram.org http://127.0.0.1:8080" in csp


def test_choice_json_helper_is_a_valid_choice():
    import json

    assert parse_choice(json.dumps(choice_json()).encode()).style == "preset:mosaic"


def test_a_brush_mask_travels_to_remote_workers(tmp_path):
    """The dispatch names the mask's blob; the worker fetches it beside the photo and styles
    and hands it to the engine as the job's `mask_path`."""
    from bot.jobs.remote.task import RemoteTask
    from bot.jobs.remote.wire import TaskPayload
    from stylecore import QUALITY_PRESETS

    payload = TaskPayload(job_id=5, dispatch="d1", content_key="k:content",
                          styles=[("k:style0", 0.7), ("k:style1", 0.3)],
                          params=QUALITY_PRESETS["fast"], preview_every=0.25,
                          mask_key="k:mask")
    again = TaskPayload.from_json(payload.to_json())
    assert again == payload and TaskPayload.from_json(
        TaskPayload(**{**payload.__dict__, "mask_key": None}).to_json()).mask_key is None

    class Blobs:
        def get(self, key: str) -> bytes:
            return {"k:content": b"photo", "k:style0": b"s0", "k:style1": b"s1",
                    "k:mask": b"mask"}[key]

    task = RemoteTask(Blobs(), heartbeat=None, max_pixels=None, ttl_s=60)  # type: ignore[arg-type]
    request = task._request(again, tmp_path)
    assert request.mask_path is not None
    assert Path(request.mask_path).read_bytes() == b"mask"
    assert [w for _, w in request.styles] == [0.7, 0.3]


def test_open_in_studio_is_the_mini_app_in_private_and_a_link_in_groups():
    from bot.telegram.i18n import translator
    from bot.telegram.keyboards import parse_studio_start, share_button, studio_button

    t = translator("es")
    private = studio_button("https://studio.example.com/app", t, private=True, job_id=12)
    assert private.web_app.url == "https://studio.example.com/app?job=12"
    assert private.text == "Abrir en el estudio" and private.url is None
    group = studio_button("https://studio.example.com/app", t, private=False, job_id=12,
                          bot_username="stylebot")
    assert group.url == "https://t.me/stylebot?start=studio-12" and group.web_app is None
    assert studio_button("https://s.example.com/", t, private=False) is None  # no username
    assert parse_studio_start("studio-12") == (True, 12)
    assert parse_studio_start("studio") == (True, None)
    for other in (None, "", "studio-", "studio-0", "studio-1x", "wave"):
        assert parse_studio_start(other) == (False, None)
    assert share_button(t, "wave").switch_inline_query == "wave"
    assert share_button(t, None).switch_inline_query == ""


@pytest.mark.asyncio
async def test_a_user_keeps_only_their_newest_masks(tmp_path):
    from bot.jobs.work_area import WorkArea
    from bot.studio.masks import KEPT_PER_USER, keep_mask

    work = WorkArea(tmp_path / "work")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg(64, 48))
    names = [await keep_mask(work, 7, png_mask(64, 48), photo) for _ in range(KEPT_PER_USER + 3)]
    kept = {p.name for p in (tmp_path / "work" / "users" / "7").glob("mask-*.png")}
    assert len(kept) == KEPT_PER_USER and names[-1] in kept and names[0] not in kept
