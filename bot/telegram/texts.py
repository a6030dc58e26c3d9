"""Everything the bot says to users, in one place (plain text, no parse mode)."""

from __future__ import annotations

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
QUALITY_LABELS = {"fast": "Fast", "balanced": "Balanced", "high": "High"}
STRENGTH_LABELS = {"low": "Low", "normal": "Normal", "high": "High"}
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


def seconds_text(seconds: float | None) -> str:
    """'12 s', '3 min'."""
    if seconds is None:
        return "a moment"
    seconds = max(1, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    return f"{round(seconds / 60)} min"
