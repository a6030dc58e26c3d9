"""The Telegram side of the bot: what users see and send.

`handlers/` answers updates (commands, photos, buttons, admin commands), `context` gives each
handler its typed request (sender, services, `bot_data`), `texts` holds every sentence the bot
says (the engine's error codes included), `keyboards` its buttons, `status` the status message
edited in place, `photos` sizes results for Telegram, `gallery` draws the /styles picture,
`files` downloads and keeps the work area, `inbox` remembers pictures being received, `retries`
repeats Telegram calls that may pass and `decoding` decodes pictures one at a time.
"""
