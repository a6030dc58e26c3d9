"""The Telegram side of the bot: what users see and send.

`handlers/` answers updates (commands, photos, buttons, admin commands), `texts` holds every
sentence the bot says, `keyboards` its buttons, `status` the status message edited in place,
`files` downloads and the work area, `inbox` pictures being received, `retries` repeats
Telegram calls that may pass, `decoding` decodes pictures one at a time, `gallery` draws the
/styles picture and `photos` sizes results for Telegram.
"""
