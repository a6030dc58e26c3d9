"""The playground's page server over HTTP, without a browser or a bot: what a picked, dropped or
pasted file becomes in Telegram's terms (photo, file, album), bad input answered with one line
and nothing sent, and the chat's state shared by every tab and long-polled."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import aiohttp
import numpy as np
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.playground.chat import Playground
from bot.playground.web import MAX_UPLOAD, make_app
from tests.fake_telegram import FakeTelegram, content_photo, decode, style_photo

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def page(fake: FakeTelegram) -> AsyncIterator[TestClient]:
    """The page's server on the fake Bot API, following its calls as `stylebot demo` does."""
    playground = Playground(fake)
    watcher = asyncio.create_task(playground.watch())
    client = TestClient(TestServer(make_app(playground)))
    await client.start_server()
    try:
        yield client
    finally:
        watcher.cancel()
        await client.close()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(out, "PNG")
    return out.getvalue()


async def send(client: TestClient, chat: str = "private", text: str = "",
               files: list[tuple[str, bytes, str]] = (), **fields: str) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("text", text)
    for key, value in fields.items():
        form.add_field(key, value)
    for name, data, content_type in files:
        form.add_field("file", data, filename=name, content_type=content_type)
    return await client.post(f"/api/chats/{chat}/send", data=form)


def updates(fake: FakeTelegram) -> list[dict]:
    return [m for (_, _), m in sorted(fake.messages.items(), key=lambda kv: kv[0][1])]


async def test_an_image_goes_as_a_photo_the_size_telegrams_apps_send(page, fake):
    client = page
    answer = await send(client, text="wave", files=[("wide.png", png(3000, 1000), "image/png")])
    assert answer.status == 200
    (message,) = updates(fake)
    assert message["caption"] == "wave"
    full = message["photo"][-1]
    assert (full["width"], full["height"]) == (2560, 853)
    assert decode(fake.file_bytes(full["file_id"])).shape == (853, 2560, 3)


async def test_what_cannot_be_a_photo_goes_as_a_file(page, fake):
    client = page
    text_file = b"not a picture\n" * 100
    big = content_photo() + bytes(11 * 2**20)  # decodes, but over Telegram's 10 MB for photos
    thin = png(2100, 100)  # 21:1, beyond Telegram's 20:1 for photos
    for name, data, kind in (("notes.txt", text_file, "text/plain"),
                             ("big.jpg", big, "image/jpeg"), ("thin.png", thin, "image/png")):
        assert (await send(client, files=[(name, data, kind)])).status == 200
    documents = [m["document"] for m in updates(fake)]
    assert [(d["file_name"], d["mime_type"]) for d in documents] == [
        ("notes.txt", "text/plain"), ("big.jpg", "image/jpeg"), ("thin.png", "image/png")]
    assert fake.file_bytes(documents[0]["file_id"]) == text_file
    assert documents[1]["file_size"] == len(big)


async def test_two_images_at_once_are_an_album_captioned_on_the_first(page, fake):
    client = page
    await send(client, text="/stylize", files=[("a.jpg", content_photo(), "image/jpeg"),
                                               ("b.jpg", style_photo(), "image/jpeg")])
    first, second = updates(fake)
    assert first["media_group_id"] == second["media_group_id"]
    assert first["caption"] == "/stylize" and "caption" not in second
    assert fake.pending_updates() == 2


async def test_bad_input_gets_one_line_and_sends_nothing(page, fake):
    client = page
    cases = [
        (await send(client), "nothing to send"),
        (await send(client, files=[(f"{i}.jpg", content_photo(), "image/jpeg")
                                   for i in range(11)]), "at most 10"),
        (await send(client, "nowhere", "hi"), "no chat 'nowhere'"),
        (await send(client, "private", "hi", sender="bob"), "not in the chat"),
        (await send(client, "group", "hi", reply_to="999"), "reply to is gone"),
        (await client.post("/api/chats/private/tap", json={"message_id": 999, "data": "x"}),
         "that message is gone"),
        (await client.post("/api/language", json={"language": "xx"}), "unknown language"),
    ]
    for answer, expected in cases:
        assert answer.status == 400
        assert expected in (await answer.json())["error"]
    too_big = await send(client, files=[("huge.bin", bytes(MAX_UPLOAD + 1), "x/y")])
    assert too_big.status == 413
    assert "at most 64 MB" in (await too_big.json())["error"]
    assert not fake.messages


async def test_every_tab_sees_the_same_chat_and_hears_of_changes(page, fake):
    client = page
    first = await (await client.get("/api/chats/group")).json()
    assert first["messages"] == []
    assert [m["key"] for m in first["members"]] == ["you", "bob", "carol", "dave"]
    since, instance = first["version"], first["instance"]
    waiting = asyncio.create_task(client.get(
        f"/api/chats/group?since={since}&instance={instance}"))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # a long poll: nothing new yet
    await send(client, "group", "/battle", sender="carol")
    woken = await (await asyncio.wait_for(waiting, 10)).json()
    (message,) = woken["messages"]
    assert message["from"]["first_name"] == "Carol"
    assert message["from"]["language_code"] == "es"
    other_tab = await (await client.get("/api/chats/group")).json()
    assert other_tab["messages"] == woken["messages"]
    # A server that restarted is another instance: the page is told its history is gone.
    assert Playground(fake).instance != instance


async def test_the_users_app_language_travels_with_their_next_message(page, fake):
    client = page
    assert (await client.post("/api/language", json={"language": "ru"})).status == 200
    await send(client, text="/start")
    assert updates(fake)[-1]["from"]["language_code"] == "ru"
    await client.post("/api/language", json={"language": ""})
    await send(client, text="/help")
    assert "language_code" not in updates(fake)[-1]["from"]


async def test_a_button_answer_is_a_toast_in_the_chat_it_was_tapped_in(page, fake):
    client = page
    await send(client, text="/settings")
    chat_id = updates(fake)[0]["chat"]["id"]
    async with aiohttp.ClientSession() as bot:  # the bot's side: its Bot API requests
        async def call(method: str, **params) -> dict:
            async with bot.post(f"{fake.base_url}{fake.token}/{method}", json=params) as answer:
                return (await answer.json())["result"]

        menu = await call("sendMessage", chat_id=chat_id, text="Settings", reply_markup={
            "inline_keyboard": [[{"text": "Fast", "callback_data": "s:q:fast"}]]})
        before = await (await client.get("/api/chats/private")).json()
        tapped = await client.post("/api/chats/private/tap", json={
            "message_id": menu["message_id"], "data": "s:q:fast"})
        assert tapped.status == 200
        (update,) = (await call("getUpdates"))[-1:]
        query = update["callback_query"]
        assert query["data"] == "s:q:fast" and query["from"]["first_name"] == "Alex"
        await call("answerCallbackQuery", callback_query_id=query["id"], text="Saved.")

    events: list[dict] = []
    since = before["version"]
    for _ in range(50):
        state = await (await client.get(
            f"/api/chats/private?since={since}&instance={before['instance']}")).json()
        events += state["events"]
        since = state["version"]
        if events:
            break
    assert events == [{"version": events[0]["version"], "kind": "toast", "text": "Saved."}]
    group = await (await client.get("/api/chats/group?since=1")).json()
    assert group["events"] == []
