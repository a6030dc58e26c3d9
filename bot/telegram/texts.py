"""Everything the bot says to users, in one place (plain text, no parse mode).

The engine's errors (`stylecore.errors`) carry a reason code and data, never a sentence; they
are worded here, by `error_text`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.settings import Quality, Strength
from stylecore.errors import StyleError

START = (
    "Hi! I turn photos into paintings.\n\n"
    "1. Send me a photo.\n"
    "2. Tap a style below it, or send a second photo to use as the style.\n"
    "3. Wait a moment: I'll reply with your painting.\n\n"
    "Example: send a photo with the caption “mosaic” and it starts right away.\n"
    "/styles shows every style, /settings changes quality and strength, /cancel stops a job."
)

HELP = (
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
    "/settings – quality, strength, colours, photo or file, previews\n"
    "/cancel – stop your job and start over\n"
    "/forget – delete everything I stored about you"
)

COMMANDS = [
    ("start", "How to use the bot"),
    ("help", "How to use the bot"),
    ("styles", "Show the preset styles"),
    ("style", "Set your default style: /style NAME"),
    ("stylize", "Stylise a photo: reply to it with /stylize NAME"),
    ("surprise", "A random style: reply to a photo with /surprise"),
    ("battle", "Style battle: reply to a photo with /battle"),
    ("me", "Stylise your profile photo: /me [NAME]"),
    ("settings", "Quality, strength, colours, previews"),
    ("cancel", "Cancel your job"),
    ("forget", "Delete your data"),
]
"""Commands registered with setMyCommands (admin commands are left out on purpose)."""

# --- choosing a style
CHOOSE_STYLE = "Nice photo! Pick a style, or send a second photo to use as the style."
CHOOSE_STYLE_GROUP = (
    "Pick a style, or reply to this message with a photo to use as the style."
)
PAGE = "{page}/{pages}"
STYLES_CAPTION = "Preset styles. Tap one to make it your default, or to use it on your photo."
STYLES_UNAVAILABLE = "I couldn't draw the style gallery right now; here are the names."
DEFAULT_SET = "Your default style is now {name}. Send a photo and I'll start right away."
DEFAULT_CLEARED = "Default style cleared: I'll ask for a style with each photo again."
DEFAULT_SHOW = "Your default style is {name}. Use /style NAME to change it or /style off."
STYLE_USAGE = "Use /style NAME, e.g. /style mosaic. /styles shows them all."
STYLIZE_NEEDS_PHOTO = (
    "Reply to a photo with /stylize NAME (e.g. /stylize mosaic), or send a photo captioned "
    "/stylize NAME."
)
NO_CONTENT = "Send me a photo first."

# --- jobs
QUEUED = "Queued — {ahead} ahead, about {eta}."
QUEUED_NO_ETA = "Queued — {ahead} ahead."
QUEUED_NEXT = "Queued — you're next."
STARTING = "Starting…"
RUNNING = "Stylising… {percent}%"
RUNNING_ETA = "Stylising… {percent}%, about {eta} left"
RETRYING = "Something went wrong; trying again…"
STYLE_OWN_PHOTO = "your style photo"
NOTE_SMALLER = "Made smaller than usual: the full size ran out of memory."
QUEUE_FULL = "I'm very busy right now; please try again in a few minutes."
USER_LIMIT = "You already have {count} pictures waiting. Please wait for them (or /cancel)."
JOB_FAILED = "Sorry, something went wrong with your picture. Please try again."
JOB_FAILED_RETRIES = "Sorry, I couldn't finish your picture after several tries. Please try again."
JOB_FAILED_MEMORY = "Sorry, that picture is too big for me even at a smaller size."
PHOTO_GONE = "Sorry, I can't get that photo from Telegram any more; please send it again."
CANCELLED = "Cancelled."
CANCELLED_JOBS = "Cancelled {count} job(s) and cleared your photo."
NOTHING_TO_CANCEL = "There's nothing to cancel."

# --- input problems
TOO_BIG = "That file is too big: I can take images up to {limit} MB."
NO_STILLS = "I can only work with still images; please send a photo."
ONLY_PICTURES = (
    "I turn photos into paintings, so I can't do anything with that. Send me a photo "
    "(/help shows how)."
)
DOWNLOAD_FAILED = "I couldn't download that file from Telegram; please send it again."
RESTARTED_WHILE_RECEIVING = (
    "Sorry, I restarted while receiving your photo — please send it again."
)

# --- group fun: albums, /surprise, /me, /battle
ALBUM_NEEDS_TWO = (
    "Send an album of exactly two photos: the first is painted in the style of the second."
)
SURPRISE_USAGE = "Reply to a photo with /surprise, or send a photo captioned /surprise."
ME_NEEDS_STYLE = "Name a style, e.g. /me mosaic, or set your default with /style NAME."
ME_NO_PHOTO = (
    "I can't see a profile photo of yours: you have none, or your privacy settings hide it "
    "from me."
)
BATTLE_USAGE = (
    "Reply to a photo with /battle to paint it in two or three random styles, or name them: "
    "/battle mosaic swirl."
)
BATTLE_SAME_STYLE = "A battle needs two or three different styles."
BATTLE_QUEUED = "Style battle: painting {styles}…"
BATTLE_VOTE = "Style battle! Vote for your favourite:\n{lines}"
BATTLE_LINE = "{name}: {votes}"
BATTLE_ENDS = "Voting ends in {time}."
BATTLE_WON = "Style battle over. The winner: {name} with {votes} vote(s)!\n{lines}"
BATTLE_TIE = "Style battle over: a tie between {names}.\n{lines}"
BATTLE_NO_VOTES = "Style battle over: nobody voted.\n{lines}"
BATTLE_FAILED = "Sorry, the style battle failed: fewer than two paintings came out."
BTN_VOTE = "{name} ({votes})"
BTN_END_VOTE = "End vote"
VOTED = "Your vote: {name}"
VOTE_UNCHANGED = "You already voted for {name}."
VOTE_OVER = "This vote is over."
NOT_YOUR_BATTLE = "Only whoever started this battle can end it."

# --- buttons
BTN_STRONGER = "Stronger style"
BTN_WEAKER = "Weaker style"
BTN_KEEP_COLORS = "Keep colours"
BTN_AS_FILE = "Full size as file"
BTN_PREV = "◀"
BTN_NEXT = "▶"
STALE_BUTTON = "This button has expired. Send a photo to start again."
OUT_OF_DATE_BUTTON = "This button is out of date."
NOT_YOUR_BUTTON = "These buttons belong to whoever asked for this picture."
ALREADY_STRONGEST = "That's already the strongest style."
ALREADY_WEAKEST = "That's already the weakest style."
RERUN_STARTED = "On it!"
PRESET_CHOSEN = "Style: {name}"

# --- settings
SETTINGS_TITLE = (
    "Settings\n"
    "Quality: {quality} · Strength: {strength}\n"
    "Keep colours: {colors} · Result as: {delivery} · Previews: {previews}"
)
SETTINGS_SAVED = "Saved."
ON = "on"
OFF = "off"
AS_PHOTO = "photo"
AS_FILE = "file"
QUALITY_LABELS: dict[Quality, str] = {"fast": "Fast", "balanced": "Balanced", "high": "High"}
STRENGTH_LABELS: dict[Strength, str] = {"low": "Low", "normal": "Normal", "high": "High"}
BTN_COLORS = "Keep colours: {state}"
BTN_DELIVERY = "Result as: {state}"
BTN_PREVIEWS = "Previews: {state}"

# --- privacy
FORGOTTEN = "Done: I deleted your settings, photos and jobs ({jobs} job(s))."

# --- admin
ADMIN_ONLY = "That command is for the bot's admins."
STATS = (
    "Today: {jobs} jobs, {done} done, {failed} failed, {cancelled} cancelled\n"
    "Mean duration: {mean}\n"
    "Queue: {queued} waiting, {running} running"
)
QUEUE_EMPTY = "The queue is empty."
QUEUE_LINE = "#{id} {status} · user {user_id} · chat {chat_id} · {age} ago"
ADDSTYLE_USAGE = "Reply to a photo with /addstyle NAME."
ADDSTYLE_DONE = "Added the style {name}."

# --- flood
SLOW_DOWN = "You're sending a lot at once; please slow down a little."


# --- the engine's refusals, by reason code (see `stylecore.errors`)
IMAGE_EMPTY = "That file is empty."
IMAGE_NOT_IMAGE = "That file is not an image I can read."
IMAGE_CORRUPT = "That image seems to be damaged or incomplete; please send it again."
IMAGE_UNSUPPORTED = "That image uses a colour format I can't handle; try a normal JPEG or PNG."
IMAGE_MISSING = "I couldn't find that image file."
IMAGE_UNREADABLE = "I couldn't read that image file."
IMAGE_TOO_LARGE = "This image is too large{size}; send one of at most {megapixels:g} megapixels."
IMAGE_TOO_SMALL = "This image is too small{size}; send one at least {min_side} px on each side."
IMAGE_ASPECT = (
    "This image is too long and narrow{size}; its long side may be at most {max_aspect:g} "
    "times its short side."
)
UNKNOWN_PRESET = "I don't know a style called “{name}”."
DID_YOU_MEAN = " Did you mean {names}?"
PRESET_DOWNLOAD_FAILED = "{title} can't be downloaded right now; try another style."
PRESET_UNUSABLE = "{title} can't be used right now; try another style."
PRESET_UNREADABLE = "The style “{name}” can't be read right now; try another style."
PRESET_GONE = "The style “{name}” is gone; try another style."
PRESET_BAD_NAME = (
    "A style name must be 2–32 characters: lowercase letters, digits or _ (for example "
    "my_style)."
)
PRESET_BUILTIN_NAME = "“{name}” is a built-in style; please pick another name."
ECHOED_NAME_MAX = 40
"""A name echoed back is cut to this many characters: the answer must stay sendable."""


def _size(data: dict[str, Any]) -> str:
    if "width" in data and "height" in data:
        return f" ({data['width']}×{data['height']} px)"
    return ""


def _unknown_preset(data: dict[str, Any]) -> str:
    name = str(data.get("name", "")).strip()
    if len(name) > ECHOED_NAME_MAX:
        name = name[: ECHOED_NAME_MAX - 1] + "…"
    text = UNKNOWN_PRESET.format(name=name)
    suggestions = data.get("suggestions") or []
    return text + DID_YOU_MEAN.format(names=" or ".join(suggestions)) if suggestions else text


_ERRORS: dict[str, Callable[[dict[str, Any]], str]] = {
    "empty": lambda d: IMAGE_EMPTY,
    "not_image": lambda d: IMAGE_NOT_IMAGE,
    "corrupt": lambda d: IMAGE_CORRUPT,
    "unsupported": lambda d: IMAGE_UNSUPPORTED,
    "missing": lambda d: IMAGE_MISSING,
    "unreadable": lambda d: IMAGE_UNREADABLE,
    "too_large": lambda d: IMAGE_TOO_LARGE.format(size=_size(d),
                                                  megapixels=d["max_pixels"] / 1e6),
    "too_small": lambda d: IMAGE_TOO_SMALL.format(size=_size(d), min_side=d["min_side"]),
    "aspect": lambda d: IMAGE_ASPECT.format(size=_size(d), max_aspect=d["max_aspect"]),
    "unknown_preset": _unknown_preset,
    "download_failed": lambda d: PRESET_DOWNLOAD_FAILED.format(title=d["title"]),
    "preset_unusable": lambda d: PRESET_UNUSABLE.format(title=d["title"]),
    "preset_unreadable": lambda d: PRESET_UNREADABLE.format(name=d["name"]),
    "preset_gone": lambda d: PRESET_GONE.format(name=d["name"]),
    "bad_name": lambda d: PRESET_BAD_NAME,
    "builtin_name": lambda d: PRESET_BUILTIN_NAME.format(name=d["name"]),
}


def error_text(error: StyleError) -> str:
    """What to tell a user about one of the engine's refusals."""
    word = _ERRORS.get(error.code)
    try:
        return word(error.data) if word else JOB_FAILED
    except (KeyError, ValueError, TypeError):  # data missing: still say something useful
        return JOB_FAILED


def seconds_text(seconds: float | None) -> str:
    """'12 s', '3 min'."""
    if seconds is None:
        return "a moment"
    seconds = max(1, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    return f"{round(seconds / 60)} min"
