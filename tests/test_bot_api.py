"""The local Bot API (the tests' fake Telegram, the playground's server) holds the bot to
Telegram's rules where the bot could get them wrong: photo limits on uploads, caption lengths,
the group's creator, and no getUpdates while a webhook is set."""

from __future__ import annotations

import asyncio
import io
import logging

import aiohttp
import numpy as np
import pytest
from PIL import Image

from tests.fake_telegram import FakeTelegram, User, content_photo, group_chat, private_chat

pytestmark = pytest.mark.asyncio

ALICE = User(101, "Alice")


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 120, np.uint8)).save(out, "JPEG", quality=60)
    return out.getvalue()


async def call(fake: FakeTelegram, method: str, files: dict[str, bytes] | None = None,
               **params) -> tuple[int, dict]:
    """A Bot API request as the bot makes it (multipart when it uploads)."""
    async with aiohttp.ClientSession() as session:
        url = f"{fake.base_url}{fake.token}/{method}"
        if files:
            form = aiohttp.FormData()
            for key, value in params.items():
                form.add_field(key, str(value))
            for name, data in files.items():
                form.add_field(name, data, filename=f"{name}.jpg")
            request = session.post(url, data=form)
        else:
            request = session.post(url, json=params)
        async with request as answer:
            return answer.status, await answer.json()


async def test_photo_uploads_within_telegrams_limits_only(fake: FakeTelegram):
    chat = private_chat(ALICE)
    fake.user_sends_text(chat, ALICE, "/start")  # the chat exists
    cases = [
        (content_photo(), 200, None),
        (b"these bytes are no image", 400, "IMAGE_PROCESS_FAILED"),
        (jpeg(2100, 100), 400, "PHOTO_INVALID_DIMENSIONS"),  # 21:1
        (jpeg(6000, 4100), 400, "PHOTO_INVALID_DIMENSIONS"),  # 10100 px of sides
        (content_photo() + bytes(10 * 2**20), 400, "PHOTO_SAVE_FILE_INVALID"),  # over 10 MB
        (jpeg(4000, 200), 200, None),  # 20:1 and 4200 px: at the limits
    ]
    for data, status, error in cases:
        code, answer = await call(fake, "sendPhoto", {"photo": data}, chat_id=chat.id)
        assert code == status, (len(data), answer)
        if error:
            assert error in answer["description"]
    assert len(fake.find("sendPhoto", lambda c: c.error is None)) == 2


async def test_captions_are_at_most_1024_characters_everywhere(fake: FakeTelegram):
    chat = private_chat(ALICE)
    fake.user_sends_text(chat, ALICE, "/start")
    long = "x" * 1025
    code, answer = await call(fake, "sendDocument", {"document": b"data"}, chat_id=chat.id,
                              caption=long)
    assert (code, answer["description"]) == (400, "Bad Request: message caption is too long")
    code, sent = await call(fake, "sendDocument", {"document": b"data"}, chat_id=chat.id,
                            caption="x" * 1024)
    assert code == 200
    code, answer = await call(fake, "editMessageCaption", chat_id=chat.id,
                              message_id=sent["result"]["message_id"], caption=long)
    assert code == 400 and "caption is too long" in answer["description"]
    code, answer = await call(fake, "editMessageMedia", {"new": content_photo()},
                              chat_id=chat.id, message_id=sent["result"]["message_id"],
                              media='{"type": "photo", "media": "attach://new", "caption": "'
                                    + long + '"}')
    assert code == 400 and "caption is too long" in answer["description"]
    assert fake.message(chat.id, sent["result"]["message_id"])["caption"] == "x" * 1024


async def test_a_groups_creator_is_its_creator(fake: FakeTelegram):
    group = group_chat()
    fake.chat_owners[group.id] = ALICE.id
    fake.chat_admins[group.id] = {202}
    statuses = []
    for user_id in (ALICE.id, 202, 303):
        code, answer = await call(fake, "getChatMember", chat_id=group.id, user_id=user_id)
        assert code == 200
        statuses.append(answer["result"]["status"])
    assert statuses == ["creator", "administrator", "member"]


async def test_no_getupdates_while_a_webhook_is_set(fake: FakeTelegram):
    fake.user_sends_text(private_chat(ALICE), ALICE, "/start")
    code, _ = await call(fake, "setWebhook", url="https://bot.example.test/hook")
    assert code == 200
    code, info = await call(fake, "getWebhookInfo")
    assert info["result"]["url"] == "https://bot.example.test/hook"
    code, answer = await call(fake, "getUpdates")
    assert code == 409 and answer["description"].startswith("Conflict: can't use getUpdates")
    code, _ = await call(fake, "deleteWebhook")
    code, answer = await call(fake, "getUpdates")
    assert code == 200 and answer["result"][0]["message"]["text"] == "/start"


async def test_a_client_hanging_up_mid_upload_is_no_error(fake: FakeTelegram, caplog):
    """A bot stopping while it uploads hangs up mid-request: Telegram shrugs, so must this."""
    _, writer = await asyncio.open_connection("127.0.0.1", fake.port)
    writer.write(
        f"POST /bot{fake.token}/sendPhoto HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n"
        "--x\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n1\r\n".encode())
    await writer.drain()
    writer.close()  # 100 kB promised, a few bytes sent
    await writer.wait_closed()
    fake.user_sends_text(private_chat(ALICE), ALICE, "/start")
    code, answer = await call(fake, "getUpdates")  # still answering, and nothing logged
    assert code == 200 and answer["result"][0]["message"]["text"] == "/start"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
