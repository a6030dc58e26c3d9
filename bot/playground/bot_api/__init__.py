"""A local Telegram Bot API server, `LocalBotApi`: the playground's (`stylebot demo`), and the
end-to-end tests' fake Telegram (`tests/fake_bot_api.py` subclasses it with waits for the bot's
calls and fault injection, through the seam `LocalBotApi._before_answer`).

It speaks HTTP on 127.0.0.1 like api.telegram.org does, so the bot runs unchanged with
`STYLEBOT_API_BASE_URL=<server.base_url>` and `STYLEBOT_API_FILE_URL=<server.file_url>`, in the
caller's process or as a subprocess. The server runs in a background thread with its own event
loop; its other methods are plain thread-safe ones that play the users' side and look at what
the bot did. Every API call is recorded as a `Call` with its parsed parameters (JSON-decoded
where Telegram expects JSON) and uploaded files; file downloads too, as calls of the
pseudo-method `download` with params {"file_path": ...}.

The modules, each with one job:

- `server.py`: `LocalBotApi`, the HTTP server: lifecycle, routing, parameter parsing, error
  answers, getUpdates (refused while a webhook is set), and `_before_answer`, the seam for the
  tests' faults;
- `users.py`: the users' side (`user_sends_*`, `user_taps`, ...): people's messages and taps
  made into updates;
- `state.py`: what the server holds (chats, messages, files, command menus, admins, webhook,
  sticker sets, the call log) and the bookkeeping the methods share;
- `updates.py`: the updates waiting for the bot and the long poll on them;
- `methods_messages.py`, `methods_media.py`, `methods_stickers.py`, `methods_bot.py`: the Bot
  API methods (messages and edits; photos, albums, files and downloads; stickers and sticker
  sets; the bot's own settings, webhook and chat members), each `(state, params, files)`;
- `limits.py`: Telegram's limits and `ApiError`; `pictures.py`: image sizes and thumbnails;
- `records.py`: `User`, `Chat` and `Call`, what callers pass around.
"""

from bot.playground.bot_api.limits import MAX_CAPTION, MAX_DOWNLOAD, MAX_TEXT
from bot.playground.bot_api.records import Call, Chat, User, buttons_of, group_chat, private_chat
from bot.playground.bot_api.server import LocalBotApi, error_answer, free_port
from bot.playground.bot_api.state import BOT_USER, TOKEN

__all__ = [
    "BOT_USER", "MAX_CAPTION", "MAX_DOWNLOAD", "MAX_TEXT", "TOKEN", "Call", "Chat", "LocalBotApi",
    "User", "buttons_of", "error_answer", "free_port", "group_chat", "private_chat",
]
