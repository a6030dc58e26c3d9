"""The bot's languages: which one a chat gets, and the translations of `texts`.

Every sentence in `bot.telegram.texts` is English source text marked for extraction (`N_`,
`NP_` for the ones with a number, `NC_` for words whose translation depends on what they
describe). The gettext catalogues live in `bot/locale/<catalogue>/LC_MESSAGES/stylebot.po`
(committed; `bot/locale/messages.pot` is what extraction gives) and are compiled to `.mo` files
by every build of the package (`setup.py`) and by `scripts/install.sh` (`pybabel compile`), never
committed. At run time the standard library's
`gettext` reads the `.mo` files; a catalogue that was not compiled falls back to English with
one warning in the log.

Which language a message is in (`choose`): in a group, the one its admins set with /language,
else the sender's; a user's is the one they chose with /language, else the primary subtag of
Telegram's `language_code` when the bot speaks it (`ru-RU` -> ru, `zh-hans` -> zh), else English.
"""

from __future__ import annotations

import functools
import gettext
import logging
import string
from pathlib import Path

log = logging.getLogger("stylebot.i18n")

DOMAIN = "stylebot"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DEFAULT = "en"
CATALOGUES: dict[str, str | None] = {"en": None, "ru": "ru", "zh": "zh_Hans", "es": "es"}
"""The bot's languages (Telegram's two-letter codes) and the folder of each one's catalogue
under `LOCALE_DIR`; English is the source text and has none."""
LANGUAGES = tuple(CATALOGUES)
NAMES = {"en": "English", "ru": "Русский", "zh": "简体中文", "es": "Español"}
"""Each language's name in itself, for the /language buttons."""


# ---------------------------------------------------------------------- marking texts


def N_(message: str) -> str:
    """Marks a text for extraction; it is translated where it is used (`Translator`)."""
    return message


class Plural(str):
    """A text with a number in it: the English plural form as a `str` (so it reads and formats
    like any text), with its singular form alongside. `Translator.n` picks the form."""

    singular: str

    def __new__(cls, singular: str, plural: str) -> Plural:
        text = super().__new__(cls, plural)
        text.singular = singular
        return text


def NP_(singular: str, plural: str) -> Plural:
    """Marks a text with singular and plural forms for extraction."""
    return Plural(singular, plural)


class InContext(str):
    """A short text whose translation depends on what it describes (`context`), e.g. "High"
    quality and "High" strength."""

    context: str

    def __new__(cls, context: str, message: str) -> InContext:
        text = super().__new__(cls, message)
        text.context = context
        return text


def NC_(context: str, message: str) -> InContext:
    """Marks a text with a context for extraction."""
    return InContext(context, message)


EXTRACTION_KEYWORDS = {"N_": None, "NP_": (1, 2), "NC_": ((1, "c"), 2)}
"""Babel's keyword specs for the markers above (the same as the `-k` options to `pybabel extract`
in the Makefile's `messages` target)."""


# ---------------------------------------------------------------------- translating


class Translator:
    """Texts in one language: `t(texts.START)`, `t(texts.DEFAULT_SET, name="wave")`,
    `t.n(texts.QUEUED, ahead, ahead=ahead, eta=...)`."""

    def __init__(self, code: str, catalogue: gettext.NullTranslations) -> None:
        self.code = code
        self._catalogue = catalogue

    def __call__(self, message: str, /, **values: object) -> str:
        if isinstance(message, Plural):
            raise TypeError("a text with plural forms needs its number: use Translator.n")
        if isinstance(message, InContext):
            text = self._catalogue.pgettext(message.context, message)
        else:
            text = self._catalogue.gettext(message)
        return _format(text, str(message), values)

    def n(self, message: Plural, count: int, /, **values: object) -> str:
        """The form of `message` for `count`, with `values` filled in."""
        text = self._catalogue.ngettext(message.singular, str(message), count)
        return _format(text, message.singular if count == 1 else str(message), values)

    def __repr__(self) -> str:
        return f"Translator({self.code!r})"


def _format(text: str, english: str, values: dict[str, object]) -> str:
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):  # a broken translation: English still works
        log.warning("translation of %r does not fit its placeholders", english)
        return english.format(**values)


@functools.cache
def translator(code: str | None) -> Translator:
    """The translator for one of `LANGUAGES` (English for anything else)."""
    code = code if code in CATALOGUES else DEFAULT
    folder = CATALOGUES[code]
    if folder is None:
        return Translator(code, gettext.NullTranslations())
    path = catalogue_path(code, ".mo")
    try:
        with path.open("rb") as file:
            return Translator(code, gettext.GNUTranslations(file))
    except OSError as exc:
        log.warning("the %s catalogue is not compiled (%s): answering in English; "
                    "run scripts/install.sh (or make install)", code, exc)
        return Translator(code, gettext.NullTranslations())


def catalogue_path(code: str, suffix: str = ".po") -> Path:
    folder = CATALOGUES[code]
    assert folder is not None, f"{code} is the source language"
    return LOCALE_DIR / folder / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


ENGLISH = translator(DEFAULT)


# ---------------------------------------------------------------------- choosing


def supported(code: str | None) -> str | None:
    """The bot's language for a language tag (`ru-RU`, `zh-hans`, `es_419`, `EN`), or None."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in CATALOGUES else None


def choose(*, group_choice: str | None, user_choice: str | None,
           telegram_code: str | None) -> str:
    """The language for a message to a user (in a group: `group_choice` is the group's)."""
    return (supported(group_choice) or supported(user_choice) or supported(telegram_code)
            or DEFAULT)


def placeholders(text: str) -> set[str]:
    """The `{name}` / `{name:spec}` fields of a text, for checking translations."""
    return {f"{{{name}{':' + spec if spec else ''}}}"
            for _, name, spec, _ in string.Formatter().parse(text) if name is not None}
