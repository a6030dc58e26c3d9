"""A job's status message after a restart: the record keeps its id, not whether it became a
preview photo; the first text shown on it must not fail (found by benchmarks/soak.py, where
"status edit failed: There is no text in the message to edit" followed each restart)."""

from __future__ import annotations

import pytest
from telegram import Bot

from bot.telegram.status import StatusMessage
from tests.fake_telegram import ALICE, FakeTelegram, content_photo, private_chat


@pytest.mark.asyncio
async def test_a_preview_left_by_the_last_process_makes_way_for_the_text(fake: FakeTelegram,
                                                                           caplog):
    chat = private_chat(ALICE)
    fake.user_sends_text(chat, ALICE, "/start")  # the chat exists
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.file_url) as bot:
        preview = await bot.send_photo(chat.id, content_photo(), caption="Painting… 40%")
        remembered = []

        async def remember(message_id: int) -> None:
            remembered.append(message_id)

        status = StatusMessage(bot, chat_id=chat.id, message_id=preview.message_id,
                               reply_to=None, private=True, previews=True,
                               on_new_message=remember)
        status.show("Painting… 60%")
        await status.flush()
    texts = fake.find("sendMessage", lambda c: c.chat_id == chat.id)
    assert [c.text for c in texts] == ["Painting… 60%"]
    assert fake.find("deleteMessage", lambda c: c.message_id == preview.message_id)
    assert remembered == [texts[0].message_id]
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
