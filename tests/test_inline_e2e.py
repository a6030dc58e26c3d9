"""Share anywhere: inline mode end to end. The real bot keeps the file id of every painting it
sends; the user's inline query (typed in any chat, or opened by "Share") lists their own,
newest first, narrowed by a style's name, answered as personal; a painting sent via the bot
into a group is not taken for a new photo; /forget forgets them."""

from __future__ import annotations

import pytest

from bot.jobs.worker import StyleWorker
from bot.telegram import texts
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

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]


async def answer_to(fake: FakeTelegram, user, query: str = "") -> dict:
    query_id = fake.user_inline_query(user, query)
    call = await fake.wait_for("answerInlineQuery",
                               lambda c: c.params.get("inline_query_id") == query_id)
    return call.params


async def test_recent_paintings_are_shared_via_the_bot(fake: FakeTelegram, tmp_path,
                                                       worker: StyleWorker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        mosaic = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        first = await fake.wait_for("sendPhoto", result_for(mosaic), timeout=180)
        swirl = fake.user_sends_photo(chat, ALICE, content_photo(tint=(40, 0, 0)),
                                      caption="swirl")
        second = await fake.wait_for("sendPhoto", result_for(swirl), timeout=180)
        sent = [call.result["photo"][-1]["file_id"] for call in (first, second)]

        everything = await answer_to(fake, ALICE)
        assert [r["photo_file_id"] for r in everything["results"]] == sent[::-1]  # newest first
        assert all(r["type"] == "photo" for r in everything["results"])
        assert everything["is_personal"] is True
        assert everything["button"]["text"] == texts.INLINE_PAINT_MORE
        only = await answer_to(fake, ALICE, "mos")
        assert [r["photo_file_id"] for r in only["results"]] == [sent[0]]
        none = await answer_to(fake, ALICE, "wave")
        assert none["results"] == [] and none["button"]["text"] == texts.INLINE_NOTHING
        assert (await answer_to(fake, BOB))["results"] == []  # hers are hers

        group = group_chat()
        mark = fake.mark()
        fake.user_sends_via_bot(group, ALICE, sent[0])
        fake.user_sends_text(chat, ALICE, "/help")  # the bot is answering again after it
        await fake.wait_for("sendMessage", lambda c: c.chat_id == ALICE.id, after=mark)
        assert not fake.find(predicate=lambda c: c.chat_id == group.id, after=mark)

        fake.user_sends_text(chat, ALICE, "/forget")
        await fake.wait_for("sendMessage", lambda c: "deleted" in c.text.lower(), after=mark)
        assert (await answer_to(fake, ALICE))["results"] == []
