"""`stylebot` / `python -m bot`: runs the bot with long polling until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from bot.config import Config, ConfigError, load_dotenv_if_present


class _RedactToken(logging.Filter):
    """Replaces the bot token wherever it would appear in a log line (e.g. request URLs)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = ()
        return True


def _setup_logging(token: str) -> None:
    level = os.environ.get("STYLEBOT_LOG_LEVEL", "INFO").upper()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactToken(token))
    logging.basicConfig(level=level, handlers=[handler])
    # httpx logs every request URL, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


async def _serve_until_signalled(config: Config) -> None:
    from bot.app import serve  # imported late: `stylebot` without a token answers instantly

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(config, stop)


def main() -> int:
    load_dotenv_if_present()
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"stylebot: {exc}", file=sys.stderr)
        return 2
    _setup_logging(config.token)
    from telegram.error import InvalidToken

    try:
        asyncio.run(_serve_until_signalled(config))
    except InvalidToken:
        print("stylebot: Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather "
              "(/token) and set it again.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
