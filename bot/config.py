"""The bot's configuration, read from environment variables (and an optional `.env` file).

| variable | default | meaning |
| --- | --- | --- |
| `TELEGRAM_BOT_TOKEN` | (required) | the bot's token from @BotFather |
| `STYLEBOT_DB` | `./data/stylebot.db` | SQLite file with sessions, settings and the job queue |
| `STYLEBOT_WORK_DIR` | `./data/work` | downloads and results; files are deleted after delivery |
| `STYLEBOT_API_BASE_URL` | Telegram's | self-hosted Bot API, e.g. `http://127.0.0.1:8081/bot` |
| `STYLEBOT_API_FILE_URL` | Telegram's | its file URL, e.g. `http://127.0.0.1:8081/file/bot` |
| `STYLEBOT_ADMINS` | (none) | comma-separated user ids allowed `/stats`, `/queue`, `/addstyle` |
| `STYLEBOT_QUALITY` | `balanced` | new users' quality: `instant`, `fast`, `balanced`, `high` |
| `STYLEBOT_SIZE` | (quality's) | overrides the output's long side in pixels for every quality |
| `STYLEBOT_STEPS` | (quality's) | overrides the number of optimiser steps for every quality |
| `STYLEBOT_MAX_QUEUED_PER_USER` | `3` | jobs one user may have waiting (besides the running one) |
| `STYLEBOT_MAX_QUEUE` | `100` | jobs waiting in total before new ones are refused as "busy" |
| `STYLEBOT_MAX_ATTEMPTS` | `3` | runs of one job (worker crashes, restarts) before it is failed |
| `STYLEBOT_FILE_TTL_DAYS` | `7` | days after which stored Telegram file ids are forgotten |
| `STYLEBOT_KEEP_JOBS_DAYS` | `30` | days finished jobs and closed battles are kept (then counted) |
| `STYLEBOT_BACKUP_DIR` | (none) | a folder where housekeeping keeps a daily copy of the database |
| `STYLEBOT_BACKUP_KEEP` | `7` | daily copies kept in `STYLEBOT_BACKUP_DIR` (older ones deleted) |
| `STYLEBOT_BATTLE_SECONDS` | `600` | how long a style battle's vote stays open |
| `STYLEBOT_PREVIEWS` | `on` | whether live previews are allowed at all (`off` disables them) |
| `STYLEBOT_WARM_UP` | `on` | trace the engine as a worker starts (`off`: first job slower) |
| `STYLEBOT_POLL_TIMEOUT` | `30` | long-polling timeout of `getUpdates` in seconds |
| `STYLEBOT_PRESETS_DIR` | (none) | images added as presets (file name = name), and `/addstyle`'s |
| `STYLEBOT_WORKERS` | one per GPU | worker processes (jobs at once); without a GPU, default 1 |
| `STYLEBOT_WEBHOOK_URL` | (none: polling) | public `https://` URL Telegram posts updates to |
| `STYLEBOT_WEBHOOK_LISTEN` | `0.0.0.0:8443` | where the webhook server listens (`host:port`) |
| `STYLEBOT_WEBHOOK_SECRET` | (generated) | secret token every webhook request must carry |
| `STYLEBOT_METRICS_LISTEN` | (off) | `host:port` of the `/healthz` and `/metrics` endpoint |
| `STYLEBOT_LOG_FORMAT` | `text` | `text` (`key=value` lines) or `json` (one object per line) |
| `STYLEBOT_LOG_LEVEL` | `INFO` | `DEBUG`, `INFO`, `WARNING` or `ERROR` |
| `STYLEBOT_BROKER_URL` | (none: local) | `redis://host:6379/0`: jobs go to `stylebot-worker`s |
| `STYLEBOT_MAX_REMOTE_JOBS` | `64` | with a broker: most jobs out on the workers at once |
| `STYLEBOT_HEARTBEAT_S` | `2` | with a broker: a worker's heartbeat; 4 missed and it is gone |
| `STYLEBOT_VISIBILITY_TIMEOUT_S` | `7200` | with a broker: Redis redelivers an unacknowledged job |
| `STYLEBOT_REMOTE_TTL_S` | `3600` | with a broker: how long a job's images live in Redis |
| `STYLEBOT_CLIP_MAX_SECONDS` | `10` | seconds of a clip painted; a longer one is cut, and says so |
| `STYLEBOT_CLIP_MAX_FPS` | `15` | clips are painted at most at this many frames per second |
| `STYLEBOT_CLIP_MAX_SIDE` | `480` | long side of a painted clip in pixels (at most) |
| `STYLEBOT_STUDIO_URL` | (none: no studio) | the studio's public `https://` address (Mini App) |
| `STYLEBOT_STUDIO_LISTEN` | `0.0.0.0:8444` | where the studio's server listens (`host:port`) |
| `STYLEBOT_STUDIO_MAX_AGE` | `3600` | seconds a studio's sign-in (Telegram's `initData`) is good |
| `STYLEBOT_STUDIO_WEBAPP_JS` | Telegram's | the script giving the page `Telegram.WebApp` |
| `STYLEBOT_DEMO_LISTEN` | `127.0.0.1:8080` | `stylebot demo` only: where its chat page listens |
| `STYLECORE_MAX_PIXELS_PER_RUN` | (none) | pixels per job; bigger ones run once more at 0.7× size |
| `STYLECORE_PRECISION` | `auto` | the engine's compute type: `float32`, `bfloat16` or `auto` |
| `STYLECORE_HOME` | `~/.cache/stylecore` | the engine's caches: weights, downloaded paintings |
| `STYLECORE_WEIGHTS` | (none) | an explicit VGG19 weights file (`.h5` or `.npz`) |

Booleans accept on/off, true/false, yes/no and 1/0. `stylebot --help` prints this table (one line
per row, `bot/usage.py`), so a new setting gets its row here.
"""

from __future__ import annotations

import os
import re
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.broker import BROKER_ENV, RemoteSettings
from bot.settings import QUALITIES, Quality

LOG_FORMATS = ("text", "json")
WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""What Telegram accepts as a webhook's secret token."""
TELEGRAM_WEBAPP_JS = "https://telegram.org/js/telegram-web-app.js"
"""Telegram's script that gives a Mini App its `Telegram.WebApp` object."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot), "
    "then put TELEGRAM_BOT_TOKEN=<token> in the environment or in a .env file here."
)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class MissingToken(ConfigError):
    def __init__(self) -> None:
        super().__init__(TOKEN_HELP)


@dataclass(frozen=True)
class Config:
    token: str = field(repr=False)
    db_path: Path = Path("data/stylebot.db")
    work_dir: Path = Path("data/work")
    api_base_url: str | None = None
    api_file_url: str | None = None
    admins: frozenset[int] = frozenset()
    default_quality: Quality = "balanced"
    size_override: int | None = None
    steps_override: int | None = None
    max_queued_per_user: int = 3
    max_queue: int = 100
    max_attempts: int = 3
    file_ttl_days: int = 7
    keep_jobs_days: int = 30
    """Finished jobs (and closed battles, stale conversations, gone users' pack records) are
    deleted after this many days; their counts stay (`bot.jobs.retention`)."""
    backup_dir: Path | None = None
    """Where housekeeping keeps daily copies of the database; None: it makes none."""
    backup_keep: int = 7
    battle_seconds: int = 600
    previews: bool = True
    warm_up: bool = True
    poll_timeout: float = 30.0
    workers: int | None = None
    """None: one per visible GPU (one without a GPU)."""
    webhook_url: str | None = None
    """None: long polling."""
    webhook_listen: tuple[str, int] = ("0.0.0.0", 8443)
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_secret_generated: bool = False
    metrics_listen: tuple[str, int] | None = None
    log_format: str = "text"
    remote: RemoteSettings | None = None
    """None: jobs run in local worker processes; else on remote workers through the broker."""
    clip_max_seconds: float = 10.0
    clip_max_fps: int = 15
    clip_max_side: int = 480
    presets_dir: Path | None = None
    """Folder presets and `/addstyle` uploads; None: the engine's `$STYLECORE_HOME/user_presets`."""
    studio_url: str | None = None
    """The studio's public address (the Mini App); None: no studio, no "Open in studio"."""
    studio_listen: tuple[str, int] = ("0.0.0.0", 8444)
    studio_max_age: int = 3600
    """Seconds a studio's `initData` stays good after Telegram signed it."""
    studio_webapp_js: str = TELEGRAM_WEBAPP_JS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Reads the variables in the module's table; raises `MissingToken` or `ConfigError`."""
        env = os.environ if environ is None else environ
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise MissingToken()
        quality = env.get("STYLEBOT_QUALITY", "balanced").strip().lower() or "balanced"
        if quality not in QUALITIES:
            raise ConfigError(f"STYLEBOT_QUALITY must be one of {', '.join(QUALITIES)}")
        log_format = env.get("STYLEBOT_LOG_FORMAT", "").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"STYLEBOT_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        webhook_url = _parse_webhook_url(env)
        webhook_secret = env.get("STYLEBOT_WEBHOOK_SECRET", "").strip() or None
        if webhook_secret is not None and not WEBHOOK_SECRET_RE.fullmatch(webhook_secret):
            raise ConfigError("STYLEBOT_WEBHOOK_SECRET must be 1-256 letters, digits, _ or -")
        generated = webhook_url is not None and webhook_secret is None
        if generated:
            webhook_secret = secrets.token_urlsafe(32)
        remote = remote_settings(env)
        return cls(
            token=token,
            db_path=database_path(env),
            work_dir=Path(env.get("STYLEBOT_WORK_DIR") or "data/work"),
            api_base_url=env.get("STYLEBOT_API_BASE_URL") or None,
            api_file_url=env.get("STYLEBOT_API_FILE_URL") or None,
            admins=_parse_ids(env, "STYLEBOT_ADMINS"),
            default_quality=quality,
            size_override=_parse_int(env, "STYLEBOT_SIZE", None, minimum=16),
            steps_override=_parse_int(env, "STYLEBOT_STEPS", None, minimum=1),
            max_queued_per_user=_parse_int(env, "STYLEBOT_MAX_QUEUED_PER_USER", 3, minimum=1),
            max_queue=_parse_int(env, "STYLEBOT_MAX_QUEUE", 100, minimum=1),
            max_attempts=_parse_int(env, "STYLEBOT_MAX_ATTEMPTS", 3, minimum=1),
            file_ttl_days=_parse_int(env, "STYLEBOT_FILE_TTL_DAYS", 7, minimum=1),
            keep_jobs_days=_parse_int(env, "STYLEBOT_KEEP_JOBS_DAYS", 30, minimum=1),
            backup_dir=Path(env["STYLEBOT_BACKUP_DIR"]).expanduser()
            if env.get("STYLEBOT_BACKUP_DIR", "").strip() else None,
            backup_keep=_parse_int(env, "STYLEBOT_BACKUP_KEEP", 7, minimum=1),
            battle_seconds=_parse_int(env, "STYLEBOT_BATTLE_SECONDS", 600, minimum=1),
            previews=_parse_bool(env, "STYLEBOT_PREVIEWS", True),
            warm_up=_parse_bool(env, "STYLEBOT_WARM_UP", True),
            poll_timeout=_parse_float(env, "STYLEBOT_POLL_TIMEOUT", 30.0, minimum=0.0),
            workers=_parse_int(env, "STYLEBOT_WORKERS", None, minimum=1),
            webhook_url=webhook_url,
            webhook_listen=parse_listen(env, "STYLEBOT_WEBHOOK_LISTEN") or ("0.0.0.0", 8443),
            webhook_secret=webhook_secret,
            webhook_secret_generated=generated,
            metrics_listen=parse_listen(env, "STYLEBOT_METRICS_LISTEN"),
            log_format=log_format,
            remote=remote,
            presets_dir=Path(env["STYLEBOT_PRESETS_DIR"]).expanduser()
            if env.get("STYLEBOT_PRESETS_DIR") else None,
            clip_max_seconds=_parse_float(env, "STYLEBOT_CLIP_MAX_SECONDS", 10.0, minimum=0.5),
            clip_max_fps=_parse_int(env, "STYLEBOT_CLIP_MAX_FPS", 15, minimum=1),
            clip_max_side=_parse_int(env, "STYLEBOT_CLIP_MAX_SIDE", 480, minimum=32),
            studio_url=_parse_studio_url(env, "STYLEBOT_STUDIO_URL"),
            studio_listen=parse_listen(env, "STYLEBOT_STUDIO_LISTEN") or ("0.0.0.0", 8444),
            studio_max_age=_parse_int(env, "STYLEBOT_STUDIO_MAX_AGE", 3600, minimum=10),
            studio_webapp_js=_parse_studio_url(env, "STYLEBOT_STUDIO_WEBAPP_JS")
            or TELEGRAM_WEBAPP_JS,
        )

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admins


def database_path(environ: Mapping[str, str] | None = None) -> Path:
    """`STYLEBOT_DB` (what `stylebot backup` and `restore` need of the settings: no token)."""
    env = os.environ if environ is None else environ
    return Path(env.get("STYLEBOT_DB") or "data/stylebot.db")


def load_dotenv_if_present(path: str | os.PathLike = ".env") -> None:
    """Loads `.env` into the environment without overriding variables that are already set."""
    if not Path(path).is_file():
        return
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


def _parse_int(env: Mapping[str, str], name: str, default, *, minimum: int):
    return _parse_number(env, name, default, minimum=minimum, kind=int)


def _parse_float(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    return _parse_number(env, name, default, minimum=minimum, kind=float)


def _parse_number(env: Mapping[str, str], name: str, default, *, minimum: float,
                  kind: type[int] | type[float]):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {value:g}")
    return value


def remote_settings(env: Mapping[str, str]) -> RemoteSettings | None:
    """The broker's settings (`bot.jobs.remote`), read by the bot and by `stylebot-worker`;
    None without `STYLEBOT_BROKER_URL`."""
    url = env.get(BROKER_ENV, "").strip()
    if not url:
        return None
    defaults = RemoteSettings(url)
    return RemoteSettings(
        broker_url=url,
        heartbeat_s=_parse_float(env, "STYLEBOT_HEARTBEAT_S", defaults.heartbeat_s,
                                 minimum=0.1),
        visibility_timeout_s=_parse_int(env, "STYLEBOT_VISIBILITY_TIMEOUT_S",
                                        defaults.visibility_timeout_s, minimum=60),
        ttl_s=_parse_int(env, "STYLEBOT_REMOTE_TTL_S", defaults.ttl_s, minimum=60),
        max_jobs=_parse_int(env, "STYLEBOT_MAX_REMOTE_JOBS", defaults.max_jobs, minimum=1),
    )


_TRUE = {"1", "on", "true", "yes"}
_FALSE = {"0", "off", "false", "no"}


def _parse_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be on or off, got {raw!r}")


def parse_listen(env: Mapping[str, str], name: str) -> tuple[str, int] | None:
    """`host:port` (`[::]:port` for IPv6; a bare `:port` listens everywhere), or None."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") or "0.0.0.0"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"{name} must be host:port, e.g. 0.0.0.0:9100, got {raw!r}")
    return host, int(port)


def _parse_webhook_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("STYLEBOT_WEBHOOK_URL", "").strip()
    if not raw:
        return None
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"STYLEBOT_WEBHOOK_URL must be a public https:// URL (Telegram's rule), got {raw!r}")
    return raw


def _parse_studio_url(env: Mapping[str, str], name: str) -> str | None:
    """A public `https://` address; plain `http://` only on this machine (the playground and
    the tests: Telegram's apps open only `https://`)."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urllib.parse.urlsplit(raw)
    local = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if not (parts.scheme == "https" and parts.hostname) and not local:
        raise ConfigError(f"{name} must be a public https:// address, got {raw!r}")
    return raw


def _parse_ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    ids = set()
    for part in env.get(name, "").replace(" ", ",").split(","):
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(f"{name} must be comma-separated user ids, got {part!r}") from None
    return frozenset(ids)
