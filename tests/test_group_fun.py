"""End to end, group fun (issue #13): albums of two photos, /surprise, /me and the style
battle, against the fake Bot API with tiny 2-step jobs."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.telegram import texts
from bot.telegram.battle_stage import result_text
from stylecore.presets.lookup import list_presets
from tests.conditions import all_finished, biggest_file_id, job_rows, until
from tests.fake_telegram import (
    ALICE,
    BOB,
    CAROL,
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



async def test_album_of_two_photos_in_a_private_chat(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        # The parts arrive the wrong way round: the first by message id is still the content.
        first, _ = fake.user_sends_album(chat, ALICE, [content, style_photo()], order=[1, 0])
        result = await fake.wait_for("sendPhoto", result_for(first), timeout=60)
        assert result.text.startswith(texts.STYLE_OWN)
        assert_stylised(result.upload(), content, (64, 48))
        # One job, no "pick a style" question for either part.
        assert not fake.find("sendMessage", lambda c: "Pick a style" in c.text)


async def test_album_parts_a_moment_apart_are_one_job(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    content, style = content_photo(), style_photo(seed=4)
    async with run_bot(fake, tmp_path, worker):
        first, second = fake.user_sends_album(chat, ALICE, [content, style], order=[1])
        await asyncio.sleep(0.5)  # the scenario: the first part comes half a second later
        fake.deliver_late(first)
        result = await fake.wait_for("sendPhoto", result_for(first), timeout=60)
        assert_stylised(result.upload(), content, (64, 48))
        await until(all_finished(tmp_path / "stylebot.db"))
    [job] = job_rows(tmp_path / "stylebot.db")
    assert (job.content_file_id, job.style_file_id) == (biggest_file_id(first),
                                                        biggest_file_id(second))
    assert not fake.find("sendMessage", lambda c: c.chat_id == chat.id and c.buttons())


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


async def test_album_part_alone_in_a_group_is_a_captioned_photo(fake: FakeTelegram, tmp_path,
                                                                 worker):
    """Privacy mode: the bot sees only the part captioned /stylize."""
    group = group_chat()
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        first, _ = fake.user_sends_album(group, ALICE, [content, style_photo()],
                                         captions={0: "/stylize mosaic"}, order=[0])
        result = await fake.wait_for("sendPhoto", result_for(first), timeout=60)
        assert result.text.startswith("mosaic ·")
        assert_stylised(result.upload(), content, (64, 48))


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
    sizes = fake.set_profile_photo(ALICE, avatar)
    async with run_bot(fake, tmp_path, worker):
        command = fake.user_sends_text(group, ALICE, "/me crosshatch")
        result = await fake.wait_for("sendPhoto", result_for(command), timeout=60)
        assert result.text.startswith("crosshatch ·")
        assert_stylised(result.upload(), avatar, (64, 64))  # STYLEBOT_SIZE is the long side
        assert fake.find("getUserProfilePhotos", lambda c: c.params["user_id"] == ALICE.id)
        # The job was given the biggest size Telegram has, not the thumbnail listed first.
        thumbnail, biggest = [size["file_id"] for size in sizes]
        [job] = job_rows(tmp_path / "stylebot.db")
        assert job.content_file_id == biggest
        assert not fake.find("getFile", lambda c: c.params["file_id"] == thumbnail)

        hidden = fake.user_sends_text(group, BOB, "/me mosaic")
        answer = await fake.wait_for("sendMessage", replies_to(hidden))
        assert answer.text == texts.ME_NO_PHOTO
        no_style = fake.user_sends_text(group, ALICE, "/me")
        answer = await fake.wait_for("sendMessage", replies_to(no_style))
        assert answer.text == texts.ME_NEEDS_STYLE


async def _battle_vote_message(fake: FakeTelegram, group, photo: dict, caller: User,
                               command: str):
    fake.user_sends_text(group, caller, command, reply_to=photo)
    album = await fake.wait_for("sendMediaGroup", replies_to(photo), timeout=120)
    vote = await fake.wait_for("sendMessage", lambda c: any(
        d.startswith("v:") for _, d in c.buttons()), timeout=30)
    return album, vote


async def test_battle_votes_and_the_caller_ends_it(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(group, BOB, content)
        album, vote = await _battle_vote_message(fake, group, photo, ALICE,
                                                 "/battle mosaic swirl")
        assert [m["caption"].split(" · ")[0] for m in album.result] == ["mosaic", "swirl"]
        assert len(album.files) == 2
        for data in album.files.values():
            assert_stylised(data, content, (64, 48))
        buttons = vote.buttons()
        assert [text for text, _ in buttons] == ["mosaic (0)", "swirl (0)", texts.BTN_END_VOTE]
        vote_msg = fake.message(group.id, vote.message_id)
        (mosaic, swirl, end) = [data for _, data in buttons]

        async def tap(data: str, user: User) -> str:
            mark = fake.mark()
            query = fake.user_taps(data, fake.message(group.id, vote.message_id), user=user)
            answer = await fake.wait_for("answerCallbackQuery", after=mark, predicate=(
                lambda c: c.params["callback_query_id"] == query))
            return answer.text

        # The first vote's edit of the counts hangs (Telegram is slow): the votes cast
        # meanwhile are a burst, shown together by one more edit.
        mark = fake.mark()
        first_edit = fake.hold_next("editMessageText",
                                    lambda params: params["message_id"] == vote.message_id)
        assert await tap(mosaic, ALICE) == texts.VOTED.format(name="mosaic")
        await until(first_edit.arrived.is_set, 30, "the first edit held")
        assert await tap(swirl, BOB) == texts.VOTED.format(name="swirl")
        assert await tap(swirl, BOB) == texts.VOTE_UNCHANGED.format(name="swirl")
        assert await tap(mosaic, BOB) == texts.VOTED.format(name="mosaic")  # changed its mind
        assert await tap(mosaic, CAROL) == texts.VOTED.format(name="mosaic")
        first_edit.release()
        await fake.wait_for("editMessageText", lambda c: (
            c.message_id == vote.message_id and "mosaic: 3" in c.text))
        shown = fake.message(group.id, vote.message_id)
        assert "mosaic: 3" in shown["text"] and "swirl: 0" in shown["text"]
        assert ("mosaic (3)", mosaic) in [(b["text"], b["callback_data"]) for row in
                                          shown["reply_markup"]["inline_keyboard"] for b in row]
        assert await tap(end, BOB) == texts.NOT_YOUR_BATTLE
        await tap(end, ALICE)
        over = fake.message(group.id, vote.message_id)
        # Between the held edit and the result, one edit showed the whole burst.
        edits = fake.find("editMessageText", lambda c: c.message_id == vote.message_id,
                          after=mark)
        assert [c.error for c in edits] == ["held", None, None]
        assert "mosaic: 3" in edits[1].text and edits[2].text.startswith("Style battle over")
        assert over["text"].startswith("Style battle over. The winner: mosaic with 3 votes")
        assert "reply_markup" not in over
        assert vote_msg["message_id"] == vote.message_id
        # The battle's status message is gone; only the album and the vote remain.
        statuses = fake.find("sendMessage", lambda c: c.text.startswith("Style battle: paint"))
        assert len(statuses) == 1
        await fake.wait_for("deleteMessage", lambda c: c.message_id == statuses[0].message_id)
        assert not fake.find("sendPhoto", lambda c: c.chat_id == group.id)


async def test_battle_counts_as_its_jobs(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    async with run_bot(fake, tmp_path, worker, STYLEBOT_MAX_QUEUED_PER_USER="2"):
        photo = fake.user_sends_photo(group, BOB, content_photo())
        command = fake.user_sends_text(group, ALICE, "/battle mosaic swirl crosshatch",
                                       reply_to=photo)
        answer = await fake.wait_for("sendMessage", replies_to(command))
        # Alice has nothing waiting: the battle alone is over her limit of 2.
        assert answer.text == ("A style battle paints 3 pictures at once, more than the 2 you "
                               "may have waiting.")
        assert not fake.find("sendMediaGroup")
        assert job_rows(tmp_path / "stylebot.db") == []
        same = fake.user_sends_text(group, ALICE, "/battle mosaic mosaic", reply_to=photo)
        answer = await fake.wait_for("sendMessage", replies_to(same))
        assert answer.text == texts.BATTLE_SAME_STYLE
        lonely = fake.user_sends_text(group, ALICE, "/battle")
        answer = await fake.wait_for("sendMessage", replies_to(lonely))
        assert answer.text == texts.BATTLE_USAGE


async def test_battle_vote_survives_a_restart(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    async with run_bot(fake, tmp_path, worker):  # ten minutes to vote
        photo = fake.user_sends_photo(group, BOB, content_photo())
        _, vote = await _battle_vote_message(fake, group, photo, ALICE, "/battle")
        styles = [text.split(" (")[0] for text, data in vote.buttons() if data.startswith("v:")]
        assert 2 <= len(styles) <= 3 and len(set(styles)) == len(styles)
        first = vote.buttons()[0][1]
        mark = fake.mark()
        fake.user_taps(first, fake.message(group.id, vote.message_id), user=BOB)
        await fake.wait_for("editMessageText", after=mark,
                            predicate=lambda c: c.message_id == vote.message_id)
    assert not fake.find("editMessageText", lambda c: c.text.startswith("Style battle over"))
    with sqlite3.connect(tmp_path / "stylebot.db") as connection:  # the bot is down 11 minutes
        connection.execute("UPDATE battles SET deadline = deadline - 660")
    mark = fake.mark()
    async with run_bot(fake, tmp_path, worker):
        await fake.wait_for("editMessageText", timeout=30, after=mark, predicate=lambda c: (
            c.message_id == vote.message_id and c.text.startswith("Style battle over")))
        over = fake.message(group.id, vote.message_id)
        assert over["text"].startswith(f"Style battle over. The winner: {styles[0]} with 1")


async def test_a_battle_ends_on_its_timer_while_the_bot_runs(fake: FakeTelegram, tmp_path,
                                                              worker):
    group = group_chat()
    async with run_bot(fake, tmp_path, worker, STYLEBOT_BATTLE_SECONDS="3"):
        photo = fake.user_sends_photo(group, BOB, content_photo())
        _, vote = await _battle_vote_message(fake, group, photo, ALICE, "/battle mosaic swirl")
        # Nobody votes or taps "End vote": the timer alone ends it.
        over = await fake.wait_for("editMessageText", timeout=60, predicate=lambda c: (
            c.message_id == vote.message_id and c.text.startswith("Style battle over")))
    assert over.text == result_text(["mosaic", "swirl"], {})
    assert "reply_markup" not in fake.message(group.id, vote.message_id)


async def test_a_battle_speaks_the_groups_language(fake: FakeTelegram, tmp_path, worker):
    """A group whose admins chose Spanish: the battle's status, album, vote message and its
    buttons, the votes' answers and the result are Spanish, whatever the caller's own
    language (Russian here)."""
    from bot.telegram.battle_stage import result_text, vote_text
    from bot.telegram.i18n import translator

    es = translator("es")
    ivan = User(404, "Ivan", language_code="ru-RU")
    group = group_chat()
    fake.chat_admins[group.id] = {CAROL.id}
    content = content_photo()
    async with run_bot(fake, tmp_path, worker):
        command = fake.user_sends_text(group, CAROL, "/language es")
        await fake.wait_for("sendMessage", replies_to(command))
        photo = fake.user_sends_photo(group, BOB, content)
        album, vote = await _battle_vote_message(fake, group, photo, ivan,
                                                 "/battle mosaic swirl")
        status = fake.find("sendMessage", lambda c: c.chat_id == group.id
                           and c.reply_to == photo["message_id"] and not c.buttons())
        assert status[0].text == es(texts.BATTLE_QUEUED, styles="mosaic, swirl")
        assert [m["caption"].split(" · ")[0] for m in album.result] == ["mosaic", "swirl"]
        styles = ["mosaic", "swirl"]
        assert vote.text.split("\n")[:3] == [
            "¡Batalla de estilos! Vota por tu favorito:", "mosaic: 0 votos", "swirl: 0 votos"]
        assert vote.text.split("\n")[:3] == vote_text(styles, {}, 600, es).split("\n")[:3]
        assert vote.text.split("\n")[3].startswith("La votación termina en ")
        (mosaic, _swirl, end) = [data for _, data in vote.buttons()]
        assert [text for text, _ in vote.buttons()][-1] == "Terminar la votación"
        query = fake.user_taps(mosaic, fake.message(group.id, vote.message_id), user=ivan)
        answer = await fake.wait_for("answerCallbackQuery",
                                     lambda c: c.params["callback_query_id"] == query)
        assert answer.text == es(texts.VOTED, name="mosaic")
        query = fake.user_taps(end, fake.message(group.id, vote.message_id), user=ivan)
        await fake.wait_for("answerCallbackQuery",
                            lambda c: c.params["callback_query_id"] == query)
        over = fake.message(group.id, vote.message_id)
        assert over["text"] == result_text(styles, {"mosaic": 1}, es)
        assert over["text"].startswith("Fin de la batalla de estilos. ¡Gana mosaic con 1 voto!")
