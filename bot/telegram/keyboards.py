"""Inline keyboards and the callback data their buttons carry.

Callback data is short (Telegram allows 64 bytes) and parsed strictly: anything that does not
match one of the formats below, stale or forged, parses to None.

| data | meaning |
| --- | --- |
| `p:<content message id>:<preset>` | use this preset on the photo waiting for a style |
| `g:<content message id>:<page>` | show another page of the preset keyboard |
| `d:<preset>` | from /styles: use on the waiting photo, or make it the default |
| `s:<q|s|c|f|v>:<value>` | change one setting |
| `r:<job id>:<up|down|col|file>` | re-run a finished job, changed |
| `k:<job id>:<s|p>` | the result as a sticker in the chat (`s`), or into the presser's pack (`p`) |
| `i:<job id>` | keep the instant picture (the first preview) as the job's result |
| `v:<battle id>:<position>` | a vote in a style battle |
| `e:<battle id>` | ends a style battle's vote (its caller only) |
| `l:<en|ru|zh|es|auto>` | the language for the user (private chat) or the group |
| `n` | does nothing (the page counter) |
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.settings import QUALITIES, STRENGTHS, Settings
from bot.telegram import texts
from bot.telegram.i18n import ENGLISH, LANGUAGES, NAMES, Translator

PRESETS_PER_PAGE = 8
PRESET_COLUMNS = 2
MAX_CALLBACK_BYTES = 64

_PRESET = r"[a-z0-9_]{2,32}"
_ID = r"[1-9][0-9]{0,14}"
_PATTERNS = {
    "p": re.compile(rf"p:({_ID}):({_PRESET})"),
    "g": re.compile(rf"g:({_ID}):([0-9]{{1,3}})"),
    "d": re.compile(rf"d:({_PRESET})"),
    "s": re.compile(rf"s:(q:(?:{'|'.join(QUALITIES)})|s:(?:{'|'.join(STRENGTHS)})|[cfvk]:[01])"),
    "r": re.compile(rf"r:({_ID}):(up|down|col|file)"),
    "k": re.compile(rf"k:({_ID}):([sp])"),
    "i": re.compile(rf"i:({_ID})"),
    "v": re.compile(rf"v:({_ID}):([0-2])"),
    "e": re.compile(rf"e:({_ID})"),
    "l": re.compile(rf"l:({'|'.join(LANGUAGES)}|auto)"),
    "n": re.compile(r"n"),
}

SETTING_FIELDS = {"q": "quality", "s": "strength", "c": "preserve_colors", "f": "as_file",
                  "v": "previews", "k": "keep_faces"}


@dataclass(frozen=True)
class ChoosePreset:
    content_message_id: int
    preset: str


@dataclass(frozen=True)
class ShowPage:
    content_message_id: int
    page: int


@dataclass(frozen=True)
class PickStyle:
    preset: str


@dataclass(frozen=True)
class ChangeSetting:
    field: str  # a Settings attribute
    value: str | bool


@dataclass(frozen=True)
class Rerun:
    job_id: int
    action: str  # up | down | col | file


@dataclass(frozen=True)
class MakeSticker:
    job_id: int
    into_pack: bool
    """False: send it as a sticker in the chat; True: add it to the presser's pack."""


@dataclass(frozen=True)
class KeepInstant:
    job_id: int


@dataclass(frozen=True)
class Vote:
    battle_id: int
    position: int


@dataclass(frozen=True)
class EndBattle:
    battle_id: int


@dataclass(frozen=True)
class ChooseLanguage:
    language: str | None  # None: automatic


@dataclass(frozen=True)
class Noop:
    pass


Callback = (ChoosePreset | ShowPage | PickStyle | ChangeSetting | Rerun | MakeSticker
            | KeepInstant | Vote | EndBattle | ChooseLanguage | Noop)


def parse_callback(data: str | None) -> Callback | None:
    """The action a button stands for, or None for anything malformed."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    pattern = _PATTERNS.get(data.split(":", 1)[0])
    match = pattern.fullmatch(data) if pattern else None
    if match is None:
        return None
    kind = data[0]
    if kind == "p":
        return ChoosePreset(int(match[1]), match[2])
    if kind == "g":
        return ShowPage(int(match[1]), int(match[2]))
    if kind == "d":
        return PickStyle(match[1])
    if kind == "s":
        key, value = match[1].split(":")
        return ChangeSetting(SETTING_FIELDS[key], value if key in "qs" else value == "1")
    if kind == "r":
        return Rerun(int(match[1]), match[2])
    if kind == "k":
        return MakeSticker(int(match[1]), match[2] == "p")
    if kind == "i":
        return KeepInstant(int(match[1]))
    if kind == "v":
        return Vote(int(match[1]), int(match[2]))
    if kind == "e":
        return EndBattle(int(match[1]))
    if kind == "l":
        return ChooseLanguage(None if match[1] == "auto" else match[1])
    return Noop()


# ---------------------------------------------------------------------- keyboards


def preset_keyboard(
    names: Sequence[str], content_message_id: int, page: int = 0
) -> InlineKeyboardMarkup:
    """The presets, a page at a time, for the photo `content_message_id`."""
    pages = max(1, math.ceil(len(names) / PRESETS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = names[page * PRESETS_PER_PAGE:(page + 1) * PRESETS_PER_PAGE]
    buttons = [_button(name, f"p:{content_message_id}:{name}") for name in shown]
    rows = [buttons[i:i + PRESET_COLUMNS] for i in range(0, len(buttons), PRESET_COLUMNS)]
    if pages > 1:
        rows.append([
            _button(texts.BTN_PREV, f"g:{content_message_id}:{(page - 1) % pages}"),
            _button(texts.PAGE.format(page=page + 1, pages=pages), "n"),
            _button(texts.BTN_NEXT, f"g:{content_message_id}:{(page + 1) % pages}"),
        ])
    return InlineKeyboardMarkup(rows)


def styles_keyboard(names: Sequence[str], columns: int = 3) -> InlineKeyboardMarkup:
    """Every preset as a button under the /styles gallery."""
    buttons = [_button(name, f"d:{name}") for name in names]
    return InlineKeyboardMarkup([buttons[i:i + columns] for i in range(0, len(buttons), columns)])


def settings_keyboard(settings: Settings, t: Translator = ENGLISH) -> InlineKeyboardMarkup:
    def choice(key: str, value: str, label: str, current: str) -> InlineKeyboardButton:
        return _button(("✓ " if value == current else "") + t(label), f"s:{key}:{value}")

    def toggle(key: str, template: str, state: bool, on: str, off: str) -> InlineKeyboardButton:
        return _button(t(template, state=t(on if state else off)),
                       f"s:{key}:{0 if state else 1}")

    return InlineKeyboardMarkup([
        [choice("q", q, texts.QUALITY_LABELS[q], settings.quality) for q in QUALITIES],
        [choice("s", s, texts.STRENGTH_LABELS[s], settings.strength) for s in STRENGTHS],
        [toggle("c", texts.BTN_COLORS, settings.preserve_colors, texts.ON, texts.OFF),
         toggle("k", texts.BTN_FACES, settings.keep_faces, texts.ON, texts.OFF)],
        [toggle("f", texts.BTN_DELIVERY, settings.as_file, texts.AS_FILE, texts.AS_PHOTO)],
        [toggle("v", texts.BTN_PREVIEWS, settings.previews, texts.ON, texts.OFF)],
    ])


def settings_text(settings: Settings, t: Translator = ENGLISH) -> str:
    return t(
        texts.SETTINGS_TITLE,
        quality=t(texts.QUALITY_LABELS[settings.quality]),
        strength=t(texts.STRENGTH_LABELS[settings.strength]),
        colors=t(texts.ON if settings.preserve_colors else texts.OFF),
        faces=t(texts.ON if settings.keep_faces else texts.OFF),
        delivery=t(texts.AS_FILE if settings.as_file else texts.AS_PHOTO),
        previews=t(texts.ON if settings.previews else texts.OFF),
    )


def result_keyboard(job_id: int, t: Translator = ENGLISH, *,
                    extra: Sequence[InlineKeyboardButton] = ()) -> InlineKeyboardMarkup:
    """The re-run and sticker buttons, and `extra` (the studio's, "Share") on a row below."""
    rows = [
        [_button(t(texts.BTN_STRONGER), f"r:{job_id}:up"),
         _button(t(texts.BTN_WEAKER), f"r:{job_id}:down")],
        [_button(t(texts.BTN_KEEP_COLORS), f"r:{job_id}:col"),
         _button(t(texts.BTN_AS_FILE), f"r:{job_id}:file")],
        [_button(t(texts.BTN_STICKER), f"k:{job_id}:s"),
         _button(t(texts.BTN_ADD_TO_PACK), f"k:{job_id}:p")],
    ]
    if extra:
        rows.append(list(extra))
    return InlineKeyboardMarkup(rows)


STUDIO_START = "studio"
"""The /start parameter of the studio's link in groups: `studio` or `studio-<job id>`."""


def studio_button(studio_url: str, t: Translator, *, private: bool, job_id: int | None = None,
                  bot_username: str | None = None) -> InlineKeyboardButton | None:
    """"Open in studio": the Mini App itself in a private chat; in a group, where Telegram
    allows only URL buttons, a link that opens the private chat, whose /start answers with
    the studio's button (None there when the bot's username is unknown)."""
    if private:
        query = urllib.parse.urlencode({"job": job_id}) if job_id else ""
        url = urllib.parse.urlsplit(studio_url)._replace(query=query).geturl()
        return InlineKeyboardButton(t(texts.BTN_STUDIO), web_app=WebAppInfo(url))
    if not bot_username:
        return None
    start = f"{STUDIO_START}-{job_id}" if job_id else STUDIO_START
    return InlineKeyboardButton(t(texts.BTN_STUDIO),
                                url=f"https://t.me/{bot_username}?start={start}")


def share_button(t: Translator, style: str | None) -> InlineKeyboardButton:
    """"Share": Telegram asks for a chat and types the bot's name there with the style after
    it; the inline answer (`bot.telegram.handlers.inline`) lists the user's paintings."""
    return InlineKeyboardButton(t(texts.BTN_SHARE), switch_inline_query=style or "")


def parse_studio_start(argument: str | None) -> tuple[bool, int | None]:
    """(True, job id or None) for the studio's /start parameter; (False, None) otherwise."""
    match = re.fullmatch(rf"{STUDIO_START}(?:-({_ID}))?", argument or "")
    if match is None:
        return False, None
    return True, int(match[1]) if match[1] else None


def keep_instant_keyboard(job_id: int, t: Translator = ENGLISH) -> InlineKeyboardMarkup:
    """Under the instant picture: take it as the result instead of waiting."""
    return InlineKeyboardMarkup([[_button(t(texts.BTN_KEEP_INSTANT), f"i:{job_id}")]])


def battle_keyboard(battle_id: int, styles: Sequence[str], counts: dict[str, int],
                    t: Translator = ENGLISH) -> InlineKeyboardMarkup:
    """One vote button per style (with its count), then "End vote" in `t`'s language (the
    group's: everyone in it sees the same buttons)."""
    votes = [_button(texts.BTN_VOTE.format(name=style, votes=counts.get(style, 0)),
                     f"v:{battle_id}:{position}") for position, style in enumerate(styles)]
    return InlineKeyboardMarkup([votes, [_button(t(texts.BTN_END_VOTE), f"e:{battle_id}")]])


def language_keyboard(chosen: str | None, *, group: bool,
                      t: Translator = ENGLISH) -> InlineKeyboardMarkup:
    """Each language named in itself, the chosen one ticked, and "automatic" (the Telegram
    app's language; in a group, each member's own) in `t`'s language."""
    def mark(code: str | None) -> str:
        return "✓ " if code == chosen else ""

    buttons = [_button(mark(code) + NAMES[code], f"l:{code}") for code in LANGUAGES]
    auto = texts.BTN_LANGUAGE_EVERYONE if group else texts.BTN_LANGUAGE_AUTO
    return InlineKeyboardMarkup(
        [buttons[:2], buttons[2:], [_button(mark(None) + t(auto), "l:auto")]])


def _button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode()) <= MAX_CALLBACK_BYTES, data
    return InlineKeyboardButton(text, callback_data=data)
