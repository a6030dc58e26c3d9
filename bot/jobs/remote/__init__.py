"""Scale-out: jobs run on `stylebot-worker` processes (Celery workers, one per GPU) on any
machine that reaches Redis, when `STYLEBOT_BROKER_URL` is set.

The bot keeps the fair order and the SQLite job records, and hands Celery at most one job per
idle worker (`fleet`). Each hand-over is a *dispatch* with its own id: the images travel as
Redis keys with a TTL (`wire`), the task names them, and the worker (`task`) streams progress,
previews and the outcome back on a Redis stream that the bot follows (`dispatcher`). Only the
latest dispatch of a job may run: a redelivered or superseded one is dropped by the worker.
Workers announce themselves with a heartbeat key (`heartbeat`); the bot's `fleet` reads them
for capacity, `/healthz`, `/metrics` and `/stats`. Nothing here but `dispatcher` and `fleet`
runs in the bot, and nothing here imports python-telegram-bot.
"""
