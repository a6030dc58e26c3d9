"""`stylebot` / `python -m bot`: runs the bot (long polling, or a webhook when
`STYLEBOT_WEBHOOK_URL` is set) until SIGINT or SIGTERM; `--help` lists the settings."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot.config import Config, ConfigError, load_dotenv_if_present
from bot.logs import setup_logging


async def _serve_until_signalled(config: Config) -> None:
    from bot.app import serve  # imported late: `stylebot` without a token answers instantly

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(config, stop)


def main(argv: list[str] | None = None) -> int:
    from bot.usage import demo_parser, parser

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["demo"]:  # the playground: the bot against a local Bot API, no token
        demo_parser().parse_args(args[1:])
        load_dotenv_if_present()
        from bot.playground.demo import main as demo

        return demo()
    if args[:1] in (["backup"], ["restore"]):
        return _copies(args)
    parser().parse_args(args)  # --help and --version answer here, without a token; else nothing
    load_dotenv_if_present()
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"stylebot: {exc}", file=sys.stderr)
        return 2
    # The token and the webhook secret are masked in every line (request URLs hold the token).
    setup_logging(os.environ.get("STYLEBOT_LOG_LEVEL", "INFO"), config.log_format,
                  token=config.token, webhook_secret=config.webhook_secret)
    from telegram.error import InvalidToken

    from bot.app import StartupError

    try:
        asyncio.run(_serve_until_signalled(config))
    except InvalidToken:
        print("stylebot: Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather "
              "(/token) and set it again.", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"stylebot: {exc}", file=sys.stderr)
        return 2
    return 0


def _copies(args: list[str]) -> int:
    """`stylebot backup PATH` and `stylebot restore PATH`: no token, one line either way."""
    from bot.backup import BackupError, backup, restore
    from bot.config import database_path
    from bot.usage import backup_parser, restore_parser

    making = args[0] == "backup"
    path = (backup_parser() if making else restore_parser()).parse_args(args[1:]).path
    load_dotenv_if_present()
    live = database_path()
    try:
        if making:
            os.nice(10)  # the bot's answers come first: the copy takes the idle CPU
            print(f"stylebot: {backup(live, path).line(live)}")
        else:
            aside = restore(path, live)
            kept = f"; the database that was there is now {aside}" if aside else ""
            print(f"stylebot: {path} is now the database {live}{kept}")
    except BackupError as exc:
        print(f"stylebot: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
