"""Everything the bot says to users, in one place (plain text, no parse mode).

Each text is English source text marked for gettext extraction (`N_`; `NP_` for texts with a
number, `NC_` with a context; see `bot.telegram.i18n`) and translated where it is used: with
`t = translator(code)`, `t(texts.START)`, `t(texts.DEFAULT_SET, name=name)`,
`t.n(texts.USER_LIMIT, count, count=count)`. Placeholders are named (`{name}`) so a
translation may put them in any order. The engine's errors (`stylecore.errors`) carry a reason
code and data, never a sentence; they are worded here, by `error_text`. What is said about one
kind of content ("Nice GIF!", "your round video") is in `bot.telegram.kind_texts`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.settings import Quality, Strength
from bot.telegram.i18n import ENGLISH, N_, NC_, NP_, Translator
from stylecore import StyleError

START = N_(
    "Hi! I turn photos into paintings.\n\n"
    "1. Send me a photo.\n"
    "2. Tap a style below it, or send a second photo to use as the style.\n"
    "3. Wait a moment: I'll reply with your painting.\n\n"
    "Example: send a photo with the caption “mosaic” and it starts right away.\n"
    "/styles shows every style, /settings changes quality and strength, /cancel stops a job, "
    "/language changes my language."
)

HELP = N_(
    "How it works: send a photo, then tap a style or send a second photo as the style.\n\n"
    "A photo captioned with a style name (e.g. “mosaic” or “/stylize mosaic”) starts at once.\n"
    "In groups: reply to a photo with /stylize NAME, or reply to it with a style photo "
    "captioned /stylize.\n\n"
    "/styles – all styles\n"
    "/style NAME – your default style (/style off to unset)\n"
    "/surprise – a random style for the photo you reply to\n"
    "/battle [NAMES] – paint the photo you reply to in 2–3 styles and vote\n"
    "/me [NAME] – your profile photo as a painting\n"
    "An album of two photos: the first in the style of the second.\n"
    "Short GIFs, videos, round video messages and video stickers work like photos and come "
    "back painted as a GIF (a round message comes back round).\n"
    "Under every painting, “Sticker” sends it as a sticker and “Add to my pack” puts it into "
    "your sticker pack; /pack shows its link (in a group, an admin's /pack in reply to a "
    "painting adds it to the group's pack).\n"
    "/settings – quality, strength, colours, photo or file, previews\n"
    "/language – the language I speak\n"
    "/cancel – stop your job and start over\n"
    "/forget – delete everything I stored about you"
)

COMMANDS = [
    ("start", N_("How to use the bot")),
    ("help", N_("How to use the bot")),
    ("styles", N_("Show the preset styles")),
    ("style", N_("Set your default style: /style NAME")),
    ("stylize", N_("Stylise a photo: reply to it with /stylize NAME")),
    ("surprise", N_("A random style: reply to a photo with /surprise")),
    ("battle", N_("Style battle: reply to a photo with /battle")),
    ("me", N_("Stylise your profile photo: /me [NAME]")),
    ("settings", N_("Quality, strength, colours, previews")),
    ("language", N_("Change the bot's language")),
    ("pack", N_("Your sticker pack of paintings")),
    ("cancel", N_("Cancel your job")),
    ("forget", N_("Delete your data")),
]
"""Commands registered with setMyCommands, in each language (admin commands are left out on
purpose)."""

# --- choosing a style (what is said under the style buttons: `bot.telegram.kind_texts`)
PAGE = "{page}/{pages}"
"""The page counter between the preset keyboard's arrows: the same in every language."""
STYLES_CAPTION = N_(
    "Preset styles. Tap one to make it your default, or to use it on your photo.")
STYLES_UNAVAILABLE = N_("I couldn't draw the style gallery right now; here are the names.")
DEFAULT_SET = N_("Your default style is now {name}. Send a photo and I'll start right away.")
DEFAULT_CLEARED = N_("Default style cleared: I'll ask for a style with each photo again.")
DEFAULT_SHOW = N_("Your default style is {name}. Use /style NAME to change it or /style off.")
STYLE_USAGE = N_("Use /style NAME, e.g. /style mosaic. /styles shows them all.")
STYLIZE_NEEDS_PHOTO = N_(
    "Reply to a photo with /stylize NAME (e.g. /stylize mosaic), or send a photo captioned "
    "/stylize NAME."
)
NO_CONTENT = N_("Send me a photo first.")

# --- jobs
QUEUED = NP_("Queued — {ahead} ahead, about {eta}.", "Queued — {ahead} ahead, about {eta}.")
QUEUED_NO_ETA = NP_("Queued — {ahead} ahead.", "Queued — {ahead} ahead.")
QUEUED_NEXT = N_("Queued — you're next.")
NO_WORKER_ONLINE = N_(
    "No painter is online right now; your picture keeps its place and starts as soon as one "
    "is back.")
STARTING = N_("Starting…")
RUNNING = N_("Stylising… {percent}%")
RUNNING_ETA = N_("Stylising… {percent}%, about {eta} left")
RETRYING = N_("Something went wrong; trying again…")
STYLE_OWN = N_("your own style")
"""In the result's caption, where a preset's name would be: the style was a picture sent."""
NOTE_SMALLER = N_("Made smaller than usual: the full size ran out of memory.")
QUEUE_FULL = N_("I'm very busy right now; please try again in a few minutes.")
USER_LIMIT = NP_(
    "You already have {count} picture waiting. Please wait for it (or /cancel).",
    "You already have {count} pictures waiting. Please wait for them (or /cancel).",
)
JOB_FAILED = N_("Sorry, something went wrong with your picture. Please try again.")
JOB_FAILED_RETRIES = N_(
    "Sorry, I couldn't finish your picture after several tries. Please try again.")
JOB_FAILED_MEMORY = N_("Sorry, that picture is too big for me even at a smaller size.")
JOB_FAILED_NO_SPACE = N_(
    "Sorry, my disk is full right now and I couldn't finish your picture. "
    "Please try again later.")
NO_SPACE = N_("Sorry, my disk is full right now. Please try again later.")
PHOTO_GONE = N_("Sorry, I can't get that photo from Telegram any more; please send it again.")
FILE_GONE = N_("Sorry, I can't get that file from Telegram any more; please send it again.")
"""`PHOTO_GONE` for anything but a photo."""
CANCELLED = N_("Cancelled.")
"""A job's status message once it is cancelled (what /cancel answers: `kind_texts`)."""
NOTHING_TO_CANCEL = N_("There's nothing to cancel.")
RESULT_SIZE = "{width}×{height}"
"""In the result's caption, after the style: the same in every language."""
SECONDS = NP_("{seconds} s", "{seconds} s")
"""A duration under 90 s, short (queue and progress estimates, the result's caption)."""
PAINTED_IN = N_("painted in {time}")
"""In the result's caption: how long the painting took ("painted in 41 s")."""
CUT_NOTE = N_("I painted the first {seconds} s.")
"""Under a clip longer than the limit (`STYLEBOT_CLIP_MAX_SECONDS`), painted up to it."""
MINUTES = NP_("{minutes} min", "{minutes} min")
A_MOMENT = N_("a moment")

# --- input problems
TOO_BIG = N_("That file is too big: I can take images up to {limit} MB.")
ANIMATED_STICKER = N_(
    "Animated stickers are drawings I can't paint; send a photo, a GIF, a video or a video "
    "sticker instead.")
CLIP_TOO_BIG = N_("That file is too big: I can take GIFs and videos up to {limit} MB.")
CLIP_UNREADABLE = N_("I couldn't find a picture in that clip; please send another GIF or "
                     "video.")
"""The engine's refusal of a clip where its kind is not known (`kind_texts` names it)."""
PAINTING_FRAME = N_("Painting frame {frame} of {frames}")
PAINTING_FRAME_ETA = N_("Painting frame {frame} of {frames}, about {eta} left")
ONLY_PICTURES = N_(
    "I turn photos into paintings, so I can't do anything with that. Send me a photo "
    "(/help shows how)."
)
DOWNLOAD_FAILED = N_("I couldn't download that file from Telegram; please send it again.")
RESTARTED_WHILE_RECEIVING = N_(
    "Sorry, I restarted while receiving what you sent — please send it again."
)

# --- group fun: albums, /surprise, /me, /battle
ALBUM_NEEDS_TWO = N_(
    "Send an album of exactly two photos: the first is painted in the style of the second."
)
SURPRISE_USAGE = N_("Reply to a photo with /surprise, or send a photo captioned /surprise.")
ME_NEEDS_STYLE = N_("Name a style, e.g. /me mosaic, or set your default with /style NAME.")
ME_NO_PHOTO = N_(
    "I can't see a profile photo of yours: you have none, or your privacy settings hide it "
    "from me."
)
BATTLE_USAGE = N_(
    "Reply to a photo with /battle to paint it in two or three random styles, or name them: "
    "/battle mosaic swirl."
)
BATTLE_SAME_STYLE = N_("A battle needs two or three different styles.")
BATTLE_OVER_LIMIT = NP_(
    "A style battle paints {count} picture at once, more than the {limit} you may have "
    "waiting.",
    "A style battle paints {count} pictures at once, more than the {limit} you may have "
    "waiting.",
)
"""A battle that could never fit under STYLEBOT_MAX_QUEUED_PER_USER, however long one waits."""
BATTLE_QUEUED = N_("Style battle: painting {styles}…")
BATTLE_VOTE = N_("Style battle! Vote for your favourite:\n{lines}")
BATTLE_LINE = NP_("{name}: {votes} vote", "{name}: {votes} votes")
BATTLE_ENDS = N_("Voting ends in {time}.")
BATTLE_WON = NP_("Style battle over. The winner: {name} with {votes} vote!\n{lines}",
                 "Style battle over. The winner: {name} with {votes} votes!\n{lines}")
BATTLE_TIE = N_("Style battle over: a tie between {names}.\n{lines}")
BATTLE_NO_VOTES = N_("Style battle over: nobody voted.\n{lines}")
BATTLE_FAILED = N_("Sorry, the style battle failed: fewer than two paintings came out.")
AND = N_(" and ")
"""Between the tied styles' names: "mosaic and wave"."""
BTN_VOTE = "{name} ({votes})"
"""A vote button: the style and its count, the same in every language."""
BTN_END_VOTE = N_("End vote")
VOTED = N_("Your vote: {name}")
VOTE_UNCHANGED = N_("You already voted for {name}.")
VOTE_OVER = N_("This vote is over.")
NOT_YOUR_BATTLE = N_("Only whoever started this battle can end it.")

# --- buttons
BTN_STRONGER = N_("Stronger style")
BTN_WEAKER = N_("Weaker style")
BTN_KEEP_COLORS = N_("Keep colours")
BTN_AS_FILE = N_("Full size as file")
BTN_PREV = "◀"
BTN_NEXT = "▶"
STALE_BUTTON = N_("This button has expired. Send a photo to start again.")
OUT_OF_DATE_BUTTON = N_("This button is out of date.")
NOT_YOUR_BUTTON = N_("These buttons belong to whoever asked for this picture.")
ALREADY_STRONGEST = N_("That's already the strongest style.")
ALREADY_WEAKEST = N_("That's already the weakest style.")
RERUN_STARTED = N_("On it!")
BTN_KEEP_INSTANT = N_("Keep this one")
KEEPING_INSTANT = N_("Keeping this one: it comes as your picture now.")
INSTANT_GONE = N_("Too late to keep that one: the careful picture is done or on its way.")
PRESET_CHOSEN = N_("Style: {name}")

# --- settings
SETTINGS_TITLE = N_(
    "Settings\n"
    "Quality: {quality} · Strength: {strength}\n"
    "Keep colours: {colors} · Keep faces: {faces}\n"
    "Result as: {delivery} · Previews: {previews}"
)
SETTINGS_SAVED = N_("Saved.")
ON = NC_("setting", "on")
OFF = NC_("setting", "off")
AS_PHOTO = NC_("result as", "photo")
AS_FILE = NC_("result as", "file")
QUALITY_LABELS: dict[Quality, str] = {"instant": NC_("quality", "Instant"),
                                      "fast": NC_("quality", "Fast"),
                                      "balanced": NC_("quality", "Balanced"),
                                      "high": NC_("quality", "High")}
STRENGTH_LABELS: dict[Strength, str] = {"low": NC_("strength", "Low"),
                                        "normal": NC_("strength", "Normal"),
                                        "high": NC_("strength", "High")}
BTN_COLORS = N_("Keep colours: {state}")
BTN_FACES = N_("Keep faces: {state}")
BTN_DELIVERY = N_("Result as: {state}")
BTN_PREVIEWS = N_("Previews: {state}")

# --- languages (a language is named in itself: `bot.telegram.i18n.NAMES`)
LANGUAGE_CURRENT = N_("Your language: {language}. Tap another to change it.")
LANGUAGE_CURRENT_AUTO = N_(
    "Your language: {language}, as in your Telegram app. Tap another to change it.")
LANGUAGE_GROUP_CURRENT = N_(
    "This group's language: {language}. Its admins can tap another to change it.")
LANGUAGE_GROUP_AUTO = N_(
    "In this group I answer everyone in their own language. Its admins can pick one for "
    "the whole group.")
BTN_LANGUAGE_AUTO = N_("As in my Telegram app")
BTN_LANGUAGE_EVERYONE = N_("Everyone's own")
LANGUAGE_SET = N_("Done: from now on I'll speak English with you.")
"""Said in the new language, so each translation names its own language."""
LANGUAGE_SET_GROUP = N_("Done: from now on I'll speak English in this group.")
LANGUAGE_AUTO_SET = N_("Done: I'll follow your Telegram app's language again.")
LANGUAGE_EVERYONE_SET = N_(
    "Done: in this group I'll answer everyone in their own language again.")
LANGUAGE_ADMINS_ONLY = N_("Sorry, only this group's admins can change its language.")
LANGUAGE_UNKNOWN = N_("I don't speak “{name}”. Pick one of these:")

# --- privacy
FORGOTTEN = NP_("Done: I deleted your settings, photos and jobs ({jobs} job).",
                "Done: I deleted your settings, photos and jobs ({jobs} jobs).")

# --- admin
ADMIN_ONLY = N_("That command is for the bot's admins.")
STATS = N_(
    "Today: {jobs} jobs, {done} done, {failed} failed, {cancelled} cancelled\n"
    "Mean duration: {mean}\n"
    "Queue: {queued} waiting, {running} running"
)
STATS_CLIPS = N_("Of these, clips: {clips}")
STATS_KEPT_INSTANT = N_("Instant picture kept instead of waiting: {kept}")
STATS_REMOTE = N_("Remote workers: {live} online ({busy} busy), {broken} broken; "
                  "{waiting} handed out and not started")
STATS_REMOTE_WORKER = N_("· {name} on {host}, GPU {gpu}: {state}, {jobs} jobs done")
STATS_BROKER_DOWN = N_("The broker (Redis) is unreachable: {error}")
BTN_STICKER = N_("Sticker")
BTN_ADD_TO_PACK = N_("Add to my pack")
BTN_STUDIO = N_("Open in studio")
BTN_SHARE = N_("Share")
STUDIO_INVITE = N_("The studio: move a slider and watch the painting change, brush where the "
                   "style goes, then tap “Paint carefully”.")
INLINE_NOTHING = N_("No paintings yet: paint one")
INLINE_PAINT_MORE = N_("Paint another photo")
STICKER_GONE = N_("That painting is no longer there to make a sticker of.")
STICKER_FAILED = N_("I couldn't make a sticker of that; please try again later.")
PACK_TITLE = N_("{name}'s paintings")
GROUP_PACK_TITLE = N_("{title}: paintings")
PACK_ADDED = N_("Added to your sticker pack: {link}")
PACK_LINK = N_("Your sticker pack: {link}")
PACK_NONE = N_("You have no sticker pack yet: tap “Add to my pack” under a painting.")
PACK_NAME_TAKEN = N_("Telegram says the pack's name is taken, so I can't make the pack.")
PACK_NEEDS_START = N_("Telegram lets me make a sticker pack for you only once you have "
                      "started me: open a private chat with @{bot}, tap Start, then try again.")
PACK_FULL = N_("The sticker pack is full and I couldn't make room in it.")
PACK_FAILED = N_("Telegram didn't take the sticker; please try again later.")
GROUP_PACK_USAGE = N_("Reply to one of my paintings with /pack to add it to this group's "
                      "sticker pack (admins only).")
GROUP_PACK_ADMINS = N_("Only the group's admins can add to its sticker pack.")
GROUP_PACK_ADDED = N_("Added to this group's sticker pack: {link}")
GROUP_PACK_LINK = N_("This group's sticker pack: {link}")
QUEUE_EMPTY = N_("The queue is empty.")
QUEUE_LINE = N_("#{id} {status} · user {user_id} · chat {chat_id} · {age} ago")
QUEUE_MORE = NP_("… and {count} more", "… and {count} more")
ADDSTYLE_USAGE = N_("Reply to a photo with /addstyle NAME.")
ADDSTYLE_DONE = N_("Added the style {name}.")

# --- flood
SLOW_DOWN = N_("You're sending a lot at once; please slow down a little.")


# --- the engine's refusals, by reason code (see `stylecore.errors`)
IMAGE_EMPTY = N_("That file is empty.")
IMAGE_NOT_IMAGE = N_("That file is not an image I can read.")
IMAGE_CORRUPT = N_("That image seems to be damaged or incomplete; please send it again.")
IMAGE_UNSUPPORTED = N_(
    "That image uses a colour format I can't handle; try a normal JPEG or PNG.")
IMAGE_MISSING = N_("I couldn't find that image file.")
IMAGE_UNREADABLE = N_("I couldn't read that image file.")
IMAGE_TOO_LARGE = N_(
    "This image is too large{size}; send one of at most {megapixels:g} megapixels.")
IMAGE_TOO_SMALL = N_(
    "This image is too small{size}; send one at least {min_side} px on each side.")
IMAGE_ASPECT = N_(
    "This image is too long and narrow{size}; its long side may be at most {max_aspect:g} "
    "times its short side."
)
UNKNOWN_PRESET = N_("I don't know a style called “{name}”.")
DID_YOU_MEAN = N_(" Did you mean {names}?")
OR = N_(" or ")
"""Between suggested style names: "mosaic or wave"."""
PRESET_DOWNLOAD_FAILED = N_("{title} can't be downloaded right now; try another style.")
PRESET_UNUSABLE = N_("{title} can't be used right now; try another style.")
PRESET_UNREADABLE = N_("The style “{name}” can't be read right now; try another style.")
PRESET_GONE = N_("The style “{name}” is gone; try another style.")
PRESET_BAD_NAME = N_(
    "A style name must be 2–32 characters: lowercase letters, digits or _ (for example "
    "my_style)."
)
PRESET_BUILTIN_NAME = N_("“{name}” is a built-in style; please pick another name.")
ECHOED_NAME_MAX = 40
"""A name echoed back is cut to this many characters: the answer must stay sendable."""


def _size(data: dict[str, Any]) -> str:
    if "width" in data and "height" in data:
        return f" ({data['width']}×{data['height']} px)"
    return ""


def _unknown_preset(t: Translator, data: dict[str, Any]) -> str:
    name = str(data.get("name", "")).strip()
    if len(name) > ECHOED_NAME_MAX:
        name = name[: ECHOED_NAME_MAX - 1] + "…"
    text = t(UNKNOWN_PRESET, name=name)
    suggestions = data.get("suggestions") or []
    if not suggestions:
        return text
    return text + t(DID_YOU_MEAN, names=t(OR).join(suggestions))


_ERRORS: dict[str, Callable[[Translator, dict[str, Any]], str]] = {
    "empty": lambda t, d: t(IMAGE_EMPTY),
    "not_image": lambda t, d: t(IMAGE_NOT_IMAGE),
    "corrupt": lambda t, d: t(IMAGE_CORRUPT),
    "unsupported": lambda t, d: t(IMAGE_UNSUPPORTED),
    "missing": lambda t, d: t(IMAGE_MISSING),
    "unreadable": lambda t, d: t(IMAGE_UNREADABLE),
    "too_large": lambda t, d: t(IMAGE_TOO_LARGE, size=_size(d),
                                megapixels=d["max_pixels"] / 1e6),
    "too_small": lambda t, d: t(IMAGE_TOO_SMALL, size=_size(d), min_side=d["min_side"]),
    "aspect": lambda t, d: t(IMAGE_ASPECT, size=_size(d), max_aspect=d["max_aspect"]),
    "not_video": lambda t, d: t(CLIP_UNREADABLE),
    "no_video": lambda t, d: t(CLIP_UNREADABLE),
    "too_few_frames": lambda t, d: t(CLIP_UNREADABLE),
    "sticker_too_large": lambda t, d: t(STICKER_FAILED),
    "unknown_preset": _unknown_preset,
    "download_failed": lambda t, d: t(PRESET_DOWNLOAD_FAILED, title=d["title"]),
    "preset_unusable": lambda t, d: t(PRESET_UNUSABLE, title=d["title"]),
    "preset_unreadable": lambda t, d: t(PRESET_UNREADABLE, name=d["name"]),
    "preset_gone": lambda t, d: t(PRESET_GONE, name=d["name"]),
    "bad_name": lambda t, d: t(PRESET_BAD_NAME),
    "builtin_name": lambda t, d: t(PRESET_BUILTIN_NAME, name=d["name"]),
}


def error_text(error: StyleError, t: Translator = ENGLISH) -> str:
    """What to tell a user about one of the engine's refusals."""
    word = _ERRORS.get(error.code)
    try:
        return word(t, error.data) if word else t(JOB_FAILED)
    except (KeyError, ValueError, TypeError):  # data missing: still say something useful
        return t(JOB_FAILED)


def seconds_text(seconds: float | None, t: Translator = ENGLISH) -> str:
    """'12 s', '3 min'."""
    if seconds is None:
        return t(A_MOMENT)
    seconds = max(1, round(seconds))
    if seconds < 90:
        return t.n(SECONDS, seconds, seconds=seconds)
    minutes = round(seconds / 60)
    return t.n(MINUTES, minutes, minutes=minutes)
