"""The studio's server faces the internet: each check here sends a request the way an attacker
would (no initData, garbage, a tampered or foreign signature, a stale one, another user's
picture id, oversized bodies, a flood of previews, a cross-site read) and looks at the answer
and at what the logs kept."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from pathlib import Path

import pytest

from bot.studio.init_data import (
    InitDataRefused,
    check_init_data,
    init_data_for,
    sign_init_data,
)
from tests.studio_servers import (
    ALICE,
    BOB,
    GONE,
    TOKEN,
    an_hour_ago,
    choice_json,
    jpeg,
    photo_id,
    png_mask,
    studio,
    style_id,
)

API_CALLS = [("GET", "/api/session", None), ("GET", f"/api/pictures/{photo_id('alice-photo')}",
                                               None),
             ("POST", "/api/preview", choice_json()), ("POST", "/api/paint", choice_json())]


# ---------------------------------------------------------------------- initData itself


def test_a_signature_made_as_telegram_makes_it_is_accepted():
    signed_in = check_init_data(init_data_for(ALICE, TOKEN), TOKEN, max_age_s=60)
    assert signed_in.user.id == 111 and signed_in.user.language_code == "en"


@pytest.mark.parametrize("raw, reason", [
    (None, "missing"),
    ("", "missing"),
    ("garbage", "malformed"),
    ("user=%7B%7D&auth_date=1&hash=zz", "malformed"),
    ("a=1&a=2&hash=" + "0" * 64, "malformed"),
    ("x" * 9000, "malformed"),
])
def test_missing_or_malformed_init_data_is_refused(raw, reason):
    with pytest.raises(InitDataRefused) as refused:
        check_init_data(raw, TOKEN, max_age_s=3600)
    assert refused.value.reason == reason


def test_a_tampered_field_breaks_the_signature():
    raw = init_data_for(ALICE, TOKEN)
    fields = dict(urllib.parse.parse_qsl(raw))
    fields["user"] = fields["user"].replace("111", "222")  # "I am Bob"
    with pytest.raises(InitDataRefused) as refused:
        check_init_data(urllib.parse.urlencode(fields), TOKEN, max_age_s=3600)
    assert refused.value.reason == "signature"


def test_a_signature_from_another_bot_is_refused():
    with pytest.raises(InitDataRefused) as refused:
        check_init_data(init_data_for(ALICE, "654321:another-bot"), TOKEN, max_age_s=3600)
    assert refused.value.reason == "signature"


def test_stale_and_future_sign_ins_are_refused():
    with pytest.raises(InitDataRefused) as stale:
        check_init_data(init_data_for(ALICE, TOKEN, auth_date=an_hour_ago()), TOKEN,
                        max_age_s=3600)
    assert stale.value.reason == "expired"
    with pytest.raises(InitDataRefused) as future:
        check_init_data(init_data_for(ALICE, TOKEN, auth_date=an_hour_ago() + 10_000), TOKEN,
                        max_age_s=3600)
    assert future.value.reason == "malformed"


def test_a_signed_user_without_an_id_is_refused():
    raw = sign_init_data({"user": json.dumps({"first_name": "x"}), "auth_date": "1"}, TOKEN)
    with pytest.raises(InitDataRefused):
        check_init_data(raw, TOKEN, max_age_s=10**10)


# ---------------------------------------------------------------------- over HTTP


@pytest.mark.asyncio
async def test_every_api_call_without_a_good_sign_in_is_401(tmp_path: Path):
    forged = {"Authorization": "tma " + init_data_for(ALICE, "999:not-our-token")}
    stale = {"Authorization": "tma " + init_data_for(ALICE, TOKEN, auth_date=an_hour_ago())}
    bearer = {"Authorization": "Bearer " + init_data_for(ALICE, TOKEN)}
    async with studio(tmp_path) as s:
        for method, path, body in API_CALLS:
            for headers in ({}, {"Authorization": "tma garbage"}, forged, stale, bearer):
                answer = await s.client.request(method, path, json=body, headers=headers)
                assert answer.status == 401, (method, path, headers)
                assert await answer.json() == {"error": "signed_out"}
        assert not s.previews.plans and not s.careful.started and not s.inputs.fetched


@pytest.mark.asyncio
async def test_the_user_is_the_signed_one_whatever_the_request_says(tmp_path: Path):
    async with studio(tmp_path) as s:
        answer = await s.client.get("/api/session?user_id=222&user=222", headers=s.auth())
        session = await answer.json()
        assert [p["id"] for p in session["photos"]] == [photo_id("alice-photo"),
                                                          photo_id(GONE)]
        assert session["styles"]["photos"] == [{"id": style_id("alice-style")}]
        assert "bob-photo" not in json.dumps(session) and photo_id("bob-photo") not in \
            json.dumps(session)
        bob = await (await s.client.get("/api/session", headers=s.auth(BOB))).json()
        assert [p["id"] for p in bob["photos"]] == [photo_id("bob-photo")]
        assert bob["language"] == "ru"  # his app's language: the words are Russian
        assert bob["words"]["paint_carefully"] != session["words"]["paint_carefully"]


@pytest.mark.asyncio
async def test_another_users_picture_is_404_like_one_that_does_not_exist(tmp_path: Path):
    async with studio(tmp_path, burst=100) as s:
        bobs, nobodys = photo_id("bob-photo"), "photo:" + "0" * 20
        answers = []
        for picture in (bobs, nobodys):
            answers.append(await s.client.get(f"/api/pictures/{picture}", headers=s.auth()))
            answers.append(await s.client.post("/api/preview", json=choice_json("bob-photo")
                                               if picture == bobs else
                                               {**choice_json(), "photo": nobodys},
                                               headers=s.auth()))
            answers.append(await s.client.post(f"/api/masks?photo={picture}",
                                               data=png_mask(64, 48), headers=s.auth()))
            answers.append(await s.client.post("/api/paint", json={**choice_json(),
                                               "photo": picture}, headers=s.auth()))
        bodies = [(a.status, await a.text()) for a in answers]
        assert {status for status, _ in bodies} == {404}
        assert len({body for _, body in bodies}) == 1  # the same words for both: nothing leaks
        assert "bob-photo" not in s.inputs.fetched  # his file was never touched
        assert not s.previews.plans and not s.careful.started
        # His style photo as a style, and a photo as a style, are refused alike.
        for style in (style_id("bob-photo"), photo_id("alice-photo")):
            answer = await s.client.post("/api/preview", json=choice_json(style=style),
                                         headers=s.auth())
            assert answer.status in (400, 404)


@pytest.mark.asyncio
async def test_a_lost_photo_or_a_deleted_style_is_410_with_a_clear_word(tmp_path: Path):
    async with studio(tmp_path) as s:
        answer = await s.client.post("/api/preview", json=choice_json(GONE), headers=s.auth())
        assert answer.status == 410
        assert await answer.json() == {"error": "photo_gone"}
        deleted = await s.client.post("/api/preview", json=choice_json(style="preset:gone_now"),
                                      headers=s.auth())
        assert deleted.status == 410 and await deleted.json() == {"error": "style_gone"}
        assert not s.previews.plans


@pytest.mark.asyncio
async def test_oversized_bodies_are_413_declared_or_streamed(tmp_path: Path):
    async with studio(tmp_path) as s:
        padded = {**choice_json(), "padding": "x" * 5000}
        answer = await s.client.post("/api/preview", json=padded, headers=s.auth())
        assert answer.status == 413

        async def chunks():  # no Content-Length: read until the limit, then refused
            for _ in range(5):
                yield b" " * 1000

        answer = await s.client.post("/api/paint", data=chunks(), headers=s.auth())
        assert answer.status == 413
        big = await s.client.post(f"/api/masks?photo={photo_id('alice-photo')}",
                                  data=b"\x89PNG" + b"0" * (2 * 1024 * 1024), headers=s.auth())
        assert big.status == 413
        assert not s.previews.plans and not s.careful.started


@pytest.mark.asyncio
async def test_previews_are_limited_per_user_with_retry_after(tmp_path: Path):
    async with studio(tmp_path) as s:
        s.previews.delay_s = 0.3
        first = asyncio.ensure_future(s.client.post("/api/preview", json=choice_json(),
                                                    headers=s.auth()))
        await asyncio.sleep(0.1)
        second = await s.client.post("/api/preview", json=choice_json(), headers=s.auth())
        assert second.status == 429 and int(second.headers["Retry-After"]) >= 1
        bobs = await s.client.post("/api/preview", json=choice_json("bob-photo"),
                                   headers=s.auth(BOB))
        assert bobs.status == 200  # someone else is not held up by Alice
        assert (await first).status == 200
        s.previews.delay_s = 0.0
        statuses = [(await s.client.post("/api/preview", json=choice_json(),
                                         headers=s.auth())).status for _ in range(8)]
        assert statuses.count(429) >= 3 and statuses[0] == 200


@pytest.mark.asyncio
async def test_no_cors_and_a_strict_content_security_policy(tmp_path: Path):
    async with studio(tmp_path) as s:
        evil = {"Origin": "https://evil.example"}
        preflight = await s.client.options("/api/session", headers={
            **evil, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        answers = [preflight, await s.client.get("/api/session", headers={**evil, **s.auth()}),
                   await s.client.get("/"), await s.client.get("/static/studio.js")]
        for answer in answers:
            assert not any(h.lower().startswith("access-control-") for h in answer.headers)
        page = answers[2]
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self' https://telegram.org;" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp
        assert "default-src 'none'" in csp and "connect-src 'self'" in csp
        assert answers[1].headers["Content-Security-Policy"] == csp
        assert answers[1].headers["Cache-Control"] == "no-store"
        text = await page.text()
        assert "<script>" not in text and " on" not in text.split("<body>")[1].split("<script")[0]


@pytest.mark.asyncio
async def test_static_files_cannot_reach_outside_their_folder(tmp_path: Path):
    async with studio(tmp_path) as s:
        for path in ("/static/../server.py", "/static/%2e%2e/server.py",
                     "/static/..%2Finit_data.py", "/static/"):
            answer = await s.client.get(path)
            assert answer.status in (403, 404), path
            assert "hmac" not in await answer.text()


@pytest.mark.asyncio
async def test_masks_that_are_not_images_or_not_the_photos_shape_are_refused(tmp_path: Path):
    async with studio(tmp_path, burst=100) as s:
        url = f"/api/masks?photo={photo_id('alice-photo')}"
        for data in (b"not a picture", jpeg(64, 48), png_mask(40, 40)):
            answer = await s.client.post(url, data=data, headers=s.auth())
            assert answer.status == 400 and await answer.json() == {"error": "mask_unusable"}
        good = await s.client.post(url, data=png_mask(128, 96), headers=s.auth())
        name = (await good.json())["mask"]
        # Bob cannot use Alice's mask by its name: it is looked for among his own.
        answer = await s.client.post("/api/preview", json=choice_json("bob-photo", mask=name),
                                     headers=s.auth(BOB))
        assert answer.status == 404
        answer = await s.client.post("/api/preview", json=choice_json(mask=name),
                                     headers=s.auth())
        assert answer.status == 200 and s.previews.plans[-1].mask is not None
        for bad in ("../../db.sqlite", "mask-x.png", 5):
            answer = await s.client.post("/api/preview", json=choice_json(mask=bad),
                                         headers=s.auth())
            assert answer.status == 400


@pytest.mark.asyncio
async def test_logs_never_hold_init_data_or_the_token(tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG)
    async with studio(tmp_path) as s:
        good = s.auth()
        tampered = {"Authorization": good["Authorization"].replace("Alice", "Mallory")}
        await s.client.get("/api/session", headers=good)
        await s.client.get("/api/session", headers=tampered)
        await s.client.post("/api/preview", json=choice_json(GONE), headers=good)
        await s.client.post("/api/preview", data=b"{", headers=good)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    signature = urllib.parse.parse_qs(good["Authorization"][4:])["hash"][0]
    assert TOKEN not in text and signature not in text and "query_id" not in text
    assert "signature initData" in text  # the refusal is logged, by its reason only
