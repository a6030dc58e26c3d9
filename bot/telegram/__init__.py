"""The Telegram side of the bot: what users see and send.

- `handlers/` answers updates (commands, pictures, buttons, albums, /surprise, /me, battles,
  sticker packs, admin commands); `context` gives each handler its typed request (sender,
  services, `bot_data`) and the `Asker` that starts jobs.
- `presenter` shows jobs (the job system's `Presenter`: status and result), `battle_stage` a
  style battle's album and vote, `status` the status message edited in place.
- `texts` holds every sentence the bot says (the engine's error codes included), `i18n` the
  languages, `keyboards` the buttons and their strictly parsed data.
- `files` reads pictures out of messages and downloads them (`TelegramInputs`, the job
  system's `Inputs`), `inbox` remembers pictures being received, `decoding` decodes them one
  at a time, `photo_limits` fits results to what `sendPhoto` takes, `retries` repeats calls
  that may pass.
- `gallery` draws the /styles picture; `result_stickers` turns a result into a sticker and
  `sticker_packs` keeps the users' and groups' packs.
"""
