"""Log lines for operators: one line per event, with the job, chat and user it concerns.

`STYLEBOT_LOG_FORMAT=text` (default) writes `key=value` pairs (logfmt), `json` one JSON object
per line. Every line has `ts`, `level`, `logger` and `msg`, then the fields bound to the running
task (`log_context` / `bind`: `job_id`, `chat_id`, `user_id`), then any `extra=` fields, then the
traceback as one escaped `exc` value. The bot token and the webhook secret are replaced wherever
they would appear, and bytes arguments (image data) are logged as their length only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

FORMATS = ("text", "json")

# Each asyncio task gets a copy of the context at its creation, so fields bound while handling
# one update or job stay with that update or job (and the tasks it starts).
_fields: ContextVar[Mapping[str, Any]] = ContextVar("stylebot_log_fields",
                                                   default=MappingProxyType({}))

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Adds `fields` to every line logged inside the block (in this task)."""
    token = _fields.set({**_fields.get(), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


def bind(**fields: Any) -> None:
    """Adds `fields` to every line the current task logs from now on (e.g. per update)."""
    _fields.set({**_fields.get(), **fields})


class LineFormatter(logging.Formatter):
    """Formats a record as one logfmt or JSON line, with secrets masked."""

    def __init__(self, fmt: str = "text", secrets: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.json = fmt == "json"
        self.secrets = [(secret, mask) for secret, mask in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": _message(record),
            **_fields.get(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                fields[key] = _safe(value)
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            fields["stack"] = self.formatStack(record.stack_info)
        if self.json:
            line = json.dumps(fields, default=str, ensure_ascii=False)
        else:
            line = " ".join(f"{key}={_logfmt(value)}" for key, value in fields.items())
        for secret, mask in self.secrets:
            line = line.replace(secret, mask)
        return line


def setup_logging(level: str = "INFO", fmt: str = "text", *, token: str = "",
                  webhook_secret: str | None = None) -> None:
    """Sends every log line to stderr in `fmt`, masking the token and the webhook secret."""
    handler = logging.StreamHandler()
    handler.setFormatter(LineFormatter(fmt, [(token, "<token>"),
                                             (webhook_secret or "", "<secret>")]))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # httpx logs every request URL, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def _message(record: logging.LogRecord) -> str:
    args = record.args
    if isinstance(args, tuple) and any(isinstance(arg, bytes | bytearray) for arg in args):
        return str(record.msg) % tuple(_safe(arg) for arg in args)
    return record.getMessage()


def _safe(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    return value


def _logfmt(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    if text and not any(c in text for c in ' "=\\') and text.isprintable():
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, with \n, \" and \\ escaped
