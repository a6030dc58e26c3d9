"""End to end, group fun (issue #13): albums of two photos, /surprise and /me, against the fake
Bot API with tiny 2-step jobs."""

from __future__ import annotations

import asyncio

import pytest

from bot.telegram import texts
from stylecore.presets import list_presets
from tests.fake_telegram import (
    FakeTelegram,
    User,
    assert_stylised,
    content_photo,
    group_chat,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    style_photo,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]

ALICE = User(101, "Alice")
BOB = User(202, "Bob")
CAROL = User(303, "Carol")


async def test_album_of_two_photos_in_a_private_chat(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        # The parts arrive the wrong way round: the first by message id is still the content.
        first, _ = fake.user_sends_album(chat, ALICE, [content, style_photo()], order=[1, 0])
        result = await fake.wait_for("sendPhoto", result_for(first), timeout=60)
        assert result.text.startswith(texts.STYLE_OWN_PHOTO)
        assert_stylised(result.upload(), content, (64, 48))
        # One job, no "pick a style" question for either part.
        assert not fake.find("sendMessage", lambda c: "Pick a style" in c.text)


async def test_album_in_a_group_needs_stylize(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        fake.user_sends_album(group, BOB, [content, style_photo()])  # not for the bot
        first, _ = fake.user_sends_album(group, ALICE, [content, style_photo()],
                                         captions={1: "/stylize"})
        result = await fake.wait_for("sendPhoto", result_for(first), timeout=60)
        assert_stylised(result.upload(), content, (64, 48))
        await asyncio.sleep(1.5)
        # Quiet in groups: Bob's album got nothing, and Alice's status message went away.
        spoken = fake.find(None, lambda c: c.chat_id == group.id and c.method in (
            "sendMessage", "sendPhoto"))
        assert all(c.reply_to == first["message_id"] for c in spoken)
        statuses = [c for c in spoken if c.method == "sendMessage"]
        for status in statuses:
            await fake.wait_for("deleteMessage", lambda c, s=status: c.message_id == s.message_id)


async def test_surprise_names_its_random_style(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    content = content_photo()
    names = {preset.name for preset in list_presets()}
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(group, BOB, content)
        fake.user_sends_text(group, ALICE, "/surprise", reply_to=photo)
        result = await fake.wait_for("sendPhoto", result_for(photo), timeout=60)
        assert result.text.split(" · ")[0] in names
        assert_stylised(result.upload(), content, (64, 48))

        captioned = fake.user_sends_photo(private_chat(ALICE), ALICE, content,
                                          caption="/surprise")
        result = await fake.wait_for("sendPhoto", result_for(captioned), timeout=60)
        assert result.text.split(" · ")[0] in names

        lonely = fake.user_sends_text(group, ALICE, "/surprise")
        answer = await fake.wait_for("sendMessage", replies_to(lonely))
        assert answer.text == texts.SURPRISE_USAGE


async def test_me_paints_the_profile_photo(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    avatar = content_photo(56, 56, tint=(40, 0, 0))
    fake.set_profile_photo(ALICE, avatar)
    async with run_bot(fake, tmp_path, worker):
        command = fake.user_sends_text(group, ALICE, "/me crosshatch")
        result = await fake.wait_for("sendPhoto", result_for(command), timeout=60)
        assert result.text.startswith("crosshatch ·")
        assert_stylised(result.upload(), avatar, (64, 64))  # STYLEBOT_SIZE is the long side
        assert fake.find("getUserProfilePhotos", lambda c: c.params["user_id"] == ALICE.id)

        hidden = fake.user_sends_text(group, BOB, "/me mosaic")
        answer = await fake.wait_for("sendMessage", replies_to(hidden))
        assert answer.text == texts.ME_NO_PHOTO
        no_style = fake.user_sends_text(group, ALICE, "/me")
        answer = await fake.wait_for("sendMessage", replies_to(no_style))
        assert answer.text == texts.ME_NEEDS_STYLE
