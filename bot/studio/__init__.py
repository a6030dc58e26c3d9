"""The studio: a Telegram Mini App where the painting changes as the user moves a slider
(issue #30), served by the bot's own process on `STYLEBOT_STUDIO_LISTEN`.

`server.py` (the HTTP side: the page, the API's routes in `routes.py`, the security headers,
the refusals), `deps.py` (what the routes are given and may raise), `init_data.py` (who is
asking: Telegram's signed `initData`), `limits.py` (the per-user preview limits and the
machine's share for previews), `choices.py` (what the page asks to paint, read strictly),
`library.py` (the user's own photos and styles, and their files), `masks.py` (the brush's
masks), `previews.py` (the instant painter's pictures, in a worker process of their own),
`careful.py` ("Paint carefully": a job in the queue) and `wiring.py` (how `bot.app` builds
it). The page is `static/`.
"""
