"""Languages end to end, against the fake Bot API: a user whose Telegram app speaks Russian is
answered in Russian (replies, buttons, the job's status and caption); /language switches, and
the choice survives a restart; /forget drops it; a group's admins set the group's language and
nobody else can; the command menu is registered in every language."""

from __future__ import annotations

import pytest

from bot.telegram import kind_texts, texts
from bot.telegram.i18n import translator
from tests.fake_telegram import (
    FakeTelegram,
    User,
    content_photo,
    group_chat,
    private_chat,
    replies_to,
    result_for,
    run_bot,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]

RU, ES, ZH, EN = (translator(code) for code in ("ru", "es", "zh", "en"))
IVAN = User(301, "Ivan", language_code="ru-RU")
CARMEN = User(302, "Carmen", language_code="es-419")
ALICE = User(303, "Alice")  # Telegram shares no app language


async def test_a_russian_user_gets_russian_replies_buttons_and_status(
        fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(IVAN)
    async with run_bot(fake, tmp_path, worker):
        start = fake.user_sends_text(chat, IVAN, "/start")
        answer = await fake.wait_for("sendMessage", replies_to(start))
        assert answer.text == RU(texts.START)
        assert answer.text.startswith("Привет!")

        photo = fake.user_sends_photo(chat, IVAN, content_photo())
        ask = await fake.wait_for("sendMessage", replies_to(photo))
        assert ask.text == RU(kind_texts.CHOOSE_STYLE["photo"])
        fake.user_taps(f"p:{photo['message_id']}:mosaic", fake.message(chat.id, ask.message_id),
                       user=IVAN)
        status = await fake.wait_for("sendMessage", lambda c: c.text.startswith("В очереди"))
        assert status.reply_to == photo["message_id"]
        result = await fake.wait_for("sendPhoto", result_for(photo))
        assert result.text.startswith("mosaic · 64×48 · нарисовано за ")
        assert result.text.endswith(" с")  # seconds, in Russian
        assert [label for label, _ in result.buttons()] == [
            "Стиль сильнее", "Стиль слабее", "Сохранить цвета", "Полный размер файлом",
            "Стикер", "В мой набор", "Поделиться"]

        command = fake.user_sends_text(chat, IVAN, "/settings")
        menu = await fake.wait_for("sendMessage", replies_to(command))
        assert menu.text.startswith("Настройки\nКачество: ")
        assert ("Результат: фото", "s:f:1") in menu.buttons()

        typo = fake.user_sends_text(chat, IVAN, "/style mosaik")
        answer = await fake.wait_for("sendMessage", replies_to(typo))
        assert answer.text == "Я не знаю стиля «mosaik». Может быть, mosaic?"

        # Someone without a Telegram language (as every other test's users) gets English.
        hello = fake.user_sends_text(private_chat(ALICE), ALICE, "/help")
        answer = await fake.wait_for("sendMessage", replies_to(hello))
        assert answer.text == texts.HELP


async def test_language_is_chosen_with_buttons_and_survives_a_restart(
        fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(IVAN)
    async with run_bot(fake, tmp_path, worker):
        command = fake.user_sends_text(chat, IVAN, "/language")
        panel = await fake.wait_for("sendMessage", replies_to(command))
        assert panel.text == RU(texts.LANGUAGE_CURRENT_AUTO, language="Русский")
        assert ("Español", "l:es") in panel.buttons()
        assert ("✓ " + RU(texts.BTN_LANGUAGE_AUTO), "l:auto") in panel.buttons()

        query = fake.user_taps("l:es", fake.message(chat.id, panel.message_id), user=IVAN)
        answer = await fake.wait_for("answerCallbackQuery",
                                     lambda c: c.params["callback_query_id"] == query)
        assert answer.text == ES(texts.LANGUAGE_SET)
        assert "español" in answer.text
        edited = await fake.wait_for("editMessageText",
                                     lambda c: c.message_id == panel.message_id)
        assert edited.text == ES(texts.LANGUAGE_CURRENT, language="Español")
        assert ("✓ Español", "l:es") in edited.buttons()

    async with run_bot(fake, tmp_path, worker):  # the same database: a restart
        mark = fake.mark()
        command = fake.user_sends_text(chat, IVAN, "/help")
        answer = await fake.wait_for("sendMessage", replies_to(command), after=mark)
        assert answer.text == ES(texts.HELP)
        assert answer.text.startswith("Cómo funciona")

        # /forget deletes the choice with the rest: Telegram's language again.
        command = fake.user_sends_text(chat, IVAN, "/forget")
        answer = await fake.wait_for("sendMessage", replies_to(command), after=mark)
        assert answer.text == ES.n(texts.FORGOTTEN, 0, jobs=0)
        command = fake.user_sends_text(chat, IVAN, "/help")
        answer = await fake.wait_for("sendMessage", replies_to(command), after=mark)
        assert answer.text == RU(texts.HELP)

        # /language CODE works too, and "auto" goes back to Telegram's language.
        command = fake.user_sends_text(chat, IVAN, "/language zh")
        answer = await fake.wait_for("sendMessage", replies_to(command), after=mark)
        assert answer.text == ZH(texts.LANGUAGE_SET)
        command = fake.user_sends_text(chat, IVAN, "/language auto")
        answer = await fake.wait_for("sendMessage", replies_to(command), after=mark)
        assert answer.text == RU(texts.LANGUAGE_AUTO_SET)
        command = fake.user_sends_text(chat, IVAN, "/language klingon")
        answer = await fake.wait_for("sendMessage", replies_to(command), after=mark)
        assert answer.text == RU(texts.LANGUAGE_UNKNOWN, name="klingon")


async def test_group_language_is_set_by_admins_only(fake: FakeTelegram, tmp_path, worker):
    group = group_chat()
    fake.chat_admins[group.id] = {CARMEN.id}
    async with run_bot(fake, tmp_path, worker):
        # Unset: everyone in their own language.
        command = fake.user_sends_text(group, IVAN, "/help")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text == RU(texts.HELP)

        command = fake.user_sends_text(group, IVAN, "/language en")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text == RU(texts.LANGUAGE_ADMINS_ONLY)
        assert fake.find("getChatMember", lambda c: int(c.params["user_id"]) == IVAN.id)

        command = fake.user_sends_text(group, CARMEN, "/language")
        panel = await fake.wait_for("sendMessage", replies_to(command))
        assert panel.text == ES(texts.LANGUAGE_GROUP_AUTO)
        query = fake.user_taps("l:en", fake.message(group.id, panel.message_id), user=IVAN)
        answer = await fake.wait_for("answerCallbackQuery",
                                     lambda c: c.params["callback_query_id"] == query)
        assert answer.text == RU(texts.LANGUAGE_ADMINS_ONLY)
        query = fake.user_taps("l:en", fake.message(group.id, panel.message_id), user=CARMEN)
        answer = await fake.wait_for("answerCallbackQuery",
                                     lambda c: c.params["callback_query_id"] == query)
        assert answer.text == EN(texts.LANGUAGE_SET_GROUP)

        # Now the group's language for everyone in it, whatever their own...
        command = fake.user_sends_text(group, IVAN, "/help")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text == texts.HELP
        # ...but not in their private chats.
        command = fake.user_sends_text(private_chat(IVAN), IVAN, "/help")
        answer = await fake.wait_for("sendMessage", replies_to(command))
        assert answer.text == RU(texts.HELP)


async def test_the_command_menu_is_set_in_every_language(fake: FakeTelegram, tmp_path,
                                                         worker):
    async with run_bot(fake, tmp_path, worker):
        menus = fake.commands_by_language
        assert set(menus) == {None, "en", "ru", "zh", "es"}
        assert menus[None] == menus["en"] == fake.commands
        names = [command for command, _ in texts.COMMANDS]
        for code, t in (("ru", RU), ("zh", ZH), ("es", ES), (None, EN)):
            assert [c["command"] for c in menus[code]] == names
            assert [c["description"] for c in menus[code]] == [
                t(description) for _, description in texts.COMMANDS]
        assert {"command": "language", "description": "Сменить язык бота"} in menus["ru"]
