"""The translations: every catalogue complete and consistent with the code, and how a language
is chosen. (What users see in each language, end to end: `tests/test_languages_e2e.py`.)"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.settings import ContentKind
from bot.telegram import kind_texts, texts
from bot.telegram.i18n import (
    CATALOGUES,
    EXTRACTION_KEYWORDS,
    LANGUAGES,
    LOCALE_DIR,
    InContext,
    Plural,
    catalogue_path,
    choose,
    placeholders,
    supported,
    translator,
)
from tests.databases import database_at_schema, opened

REPO = Path(__file__).resolve().parents[1]
TRANSLATED = [code for code in LANGUAGES if CATALOGUES[code]]


def _read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _key(message) -> tuple[str | None, str]:
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return message.context, msgid


def _keys(catalog: Catalog) -> set[tuple[str | None, str]]:
    return {_key(message) for message in catalog if message.id}


def test_the_bot_speaks_english_russian_chinese_and_spanish():
    assert set(LANGUAGES) == {"en", "ru", "zh", "es"}
    assert {CATALOGUES[code] for code in TRANSLATED} == {"ru", "zh_Hans", "es"}


def test_the_template_is_what_extraction_gives_now():
    """A text added or changed in the code without `make messages` fails here."""
    extracted = {
        (context, message[0] if isinstance(message, tuple) else message)
        for _, _, message, _, context in extract_from_dir(
            str(REPO), method_map=[("bot/**.py", "python")], keywords=EXTRACTION_KEYWORDS)
    }
    template = _keys(_read(LOCALE_DIR / "messages.pot"))
    assert extracted - template == set(), "new texts: run `make messages`, then translate"
    assert template - extracted == set(), "texts gone from the code: run `make messages`"


def test_every_text_of_texts_py_is_in_the_template():
    """Everything marked in texts.py was found by extraction (a marker Babel doesn't know
    would leave a text untranslated)."""
    template = _keys(_read(LOCALE_DIR / "messages.pot"))
    marked = [value for name, value in vars(texts).items()
              if name.isupper() and isinstance(value, str)]
    marked += [description for _, description in texts.COMMANDS]
    marked += [*texts.QUALITY_LABELS.values(), *texts.STRENGTH_LABELS.values()]
    for text in marked:
        if text in (texts.PAGE, texts.BTN_PREV, texts.BTN_NEXT, texts.RESULT_SIZE,
                    texts.BTN_VOTE):
            continue  # the same in every language, on purpose
        key = (text.context if isinstance(text, InContext) else None,
               text.singular if isinstance(text, Plural) else str(text))
        assert key in template, text


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_catalogue_is_complete(code: str):
    """Every message translated (every plural form), none fuzzy, none missing or obsolete, and
    each translation with exactly the placeholders of its English text."""
    catalog = _read(catalogue_path(code))
    template = _read(LOCALE_DIR / "messages.pot")
    assert _keys(catalog) == _keys(template), "run `make messages` (pybabel update)"
    assert not catalog.fuzzy
    assert catalog.obsolete == {}
    problems = []
    for message in catalog:
        if not message.id:
            continue
        english = list(message.id) if isinstance(message.id, tuple) else [message.id]
        forms = list(message.string) if isinstance(message.string, tuple) else [message.string]
        expected = placeholders(english[-1])
        if any(placeholders(text) != expected for text in english):
            problems.append(f"English forms differ in placeholders: {english}")
        if message.fuzzy:
            problems.append(f"fuzzy: {english[0]!r}")
        if isinstance(message.id, tuple) and len(forms) != catalog.num_plurals:
            problems.append(f"{len(forms)} forms, {catalog.num_plurals} expected: {english[0]!r}")
        for form in forms:
            if not form or not form.strip():
                problems.append(f"untranslated: {english[0]!r}")
            elif placeholders(form) != expected:
                problems.append(f"placeholders {sorted(placeholders(form))} != "
                                f"{sorted(expected)}: {english[0]!r} -> {form!r}")
    assert problems == []


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_catalogue_is_compiled_and_used(code: str):
    """The install compiled the .mo files, and the bot reads them."""
    assert catalogue_path(code, ".mo").is_file(), "run scripts/install.sh (make install)"
    t = translator(code)
    assert t(texts.START) != texts.START
    many = kind_texts.CANCELLED_MANY
    assert t.n(many, 5, count=5) != many.format(count=5)


def test_plural_forms_are_chosen_by_number():
    ru, zh, es, en = (translator(code) for code in ("ru", "zh", "es", "en"))
    many = kind_texts.CANCELLED_MANY
    assert ru.n(many, 1, count=1) == "Отменена 1 картина."
    assert ru.n(many, 3, count=3) == "Отменены 3 картины."
    assert ru.n(many, 5, count=5) == "Отменено 5 картин."
    assert ru.n(many, 21, count=21) == "Отменена 21 картина."
    assert es.n(many, 1, count=1) == "Cancelé 1 cuadro."
    assert es.n(many, 2, count=2) == "Cancelé 2 cuadros."
    assert zh.n(many, 2, count=2) == "已取消 2 幅画。"
    assert en.n(many, 2, count=2) == "Cancelled 2 paintings."


PHOTO_WORDS = {"en": r"\bphotos?\b", "ru": r"фото", "zh": r"照片", "es": r"\bfotos?\b"}
"""How each language says "photo" (Spanish "fotograma", a video's frame, is no photo)."""


@pytest.mark.parametrize("code", ["en", "ru", "zh", "es"])
def test_what_is_said_about_each_kind_names_it_and_never_a_photo(code: str):
    """Every sentence about a GIF, a video, a round video or a sticker is its own, and none
    calls it a photo; the photo's sentences do."""
    t = translator(code)
    for kind in typing.get_args(ContentKind):
        said = [t(kind_texts.CHOOSE_STYLE[kind]), t(kind_texts.CHOOSE_STYLE_GROUP[kind]),
                t(kind_texts.CANCELLED_ONE[kind]), t(kind_texts.CLEARED[kind])]
        if kind in kind_texts.MOVING_KINDS:
            said += [kind_texts.not_a_style_text(kind, t)]
            said += [kind_texts.clip_refusal_text(reason, kind, t)
                     for reason in ("no_video", "corrupt", "too_few_frames")]
        named = [bool(re.search(PHOTO_WORDS[code], text, re.IGNORECASE)) for text in said]
        assert all(named) if kind == "photo" else not any(named), (kind, said)
    sentences = [t(kind_texts.CHOOSE_STYLE[kind]) for kind in typing.get_args(ContentKind)]
    assert len(set(sentences)) == len(sentences)


def test_cancel_names_what_it_cancelled_in_one_answer():
    en, zh = translator("en"), translator("zh")
    assert kind_texts.cancel_text(["gif"], None, en) == "Cancelled the painting of your GIF."
    assert kind_texts.cancel_text(["photo", "round"], "sticker", en) == (
        "Cancelled 2 paintings. Your sticker no longer waits for a style.")
    assert kind_texts.cancel_text([], "round", en) == (
        "Your round video no longer waits for a style.")
    assert kind_texts.cancel_text([], None, en) == texts.NOTHING_TO_CANCEL
    # Chinese joins two sentences without a space.
    assert kind_texts.cancel_text(["video"], "gif", zh) == (
        "已取消为你的视频作画。你的 GIF 不再等待风格。")


def test_words_in_context_are_translated_apart():
    ru = translator("ru")
    assert ru(texts.QUALITY_LABELS["high"]) == "Высокое"
    assert ru(texts.STRENGTH_LABELS["high"]) == "Сильная"


def test_durations_in_each_language():
    t = translator("ru")
    assert texts.seconds_text(42, t) == "42 с"
    assert texts.seconds_text(600, translator("zh")) == "10 分钟"
    assert texts.seconds_text(None, translator("es")) == "un momento"


@pytest.mark.parametrize(("tag", "expected"), [
    ("ru", "ru"), ("ru-RU", "ru"), ("zh-hans", "zh"), ("zh-Hant-TW", "zh"), ("es-419", "es"),
    ("es_ES", "es"), ("EN", "en"), ("en-GB", "en"), ("de", None), ("", None), (None, None),
    ("x-klingon", None),
])
def test_the_primary_subtag_picks_the_language(tag, expected):
    assert supported(tag) == expected


def test_choice_order_group_then_user_then_telegram_then_english():
    assert choose(group_choice="es", user_choice="ru", telegram_code="zh-hans") == "es"
    assert choose(group_choice=None, user_choice="ru", telegram_code="zh-hans") == "ru"
    assert choose(group_choice=None, user_choice=None, telegram_code="zh-hans") == "zh"
    assert choose(group_choice=None, user_choice=None, telegram_code="de-DE") == "en"
    assert choose(group_choice=None, user_choice=None, telegram_code=None) == "en"


def test_unknown_languages_get_english():
    assert translator("de").code == "en"
    assert translator(None)(texts.START) == texts.START


def test_a_text_with_plural_forms_needs_its_number():
    with pytest.raises(TypeError):
        translator("en")(kind_texts.CANCELLED_MANY)


def test_a_broken_translation_falls_back_to_english(caplog):
    class Broken:
        def gettext(self, message: str) -> str:
            return "{nope}"

    from bot.telegram.i18n import Translator

    assert Translator("xx", Broken())(texts.DEFAULT_SET, name="wave") == (
        texts.DEFAULT_SET.format(name="wave"))
    assert "does not fit its placeholders" in caplog.text


# ---------------------------------------------------------------------- stored choices


@pytest.mark.asyncio
async def test_choices_are_stored_survive_reopening_and_forget_drops_the_users(tmp_path):
    path = tmp_path / "bot.db"
    async with opened(path) as store:
        assert await store.languages(-100, 7) == (None, None)
        await store.set_user_language(7, "ru")
        await store.set_chat_language(-100, "es")
        await store.set_user_language(7, "zh")  # a new choice replaces the old one
    async with opened(path) as store:
        assert await store.languages(-100, 7) == ("es", "zh")
        assert await store.languages(7, 7) == (None, "zh")
        await store.forget_user(7)
        assert await store.languages(-100, 7) == ("es", None)  # the group's is the group's
        await store.set_chat_language(-100, None)
        assert await store.languages(-100, 7) == (None, None)


@pytest.mark.asyncio
async def test_jobs_and_pictures_of_an_older_database_are_in_english(tmp_path):
    """Migration 3 on a database of schema 2: existing rows get English."""
    from bot.schema import MIGRATIONS

    path = await database_at_schema(
        tmp_path / "old.db", 2,
        "INSERT INTO inbox (chat_id, user_id, message_id, received_at) VALUES (1, 1, 5, 0)",
    )
    async with opened(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        async with store.read() as db:
            row = await (await db.execute("SELECT language FROM inbox")).fetchone()
        assert row[0] == "en"
