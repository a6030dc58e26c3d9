"""Who is asking: Telegram's `initData`, the signed query string every studio request carries.

Telegram's rule (core.telegram.org/bots/webapps, "Validating data received via the Mini
App"): the data-check-string is every received field but `hash`, as `key=value` with the
value URL-decoded, sorted by key and joined by line feeds; the secret key is
HMAC-SHA256(key="WebAppData", message=bot token); the data is Telegram's when `hash` is the
hex HMAC-SHA256 of the data-check-string under that key. `auth_date` says when it was signed:
older than the operator's limit (`STYLEBOT_STUDIO_MAX_AGE`) and it is refused too.

The user's id is taken from the checked data only. `sign_init_data` signs the same way: the
playground's stand-in for Telegram and the tests use it; the bot itself never signs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

MAX_INIT_DATA = 8192
"""Longer than any `initData` Telegram sends (a user, a chat, a few ids): refused unread."""
FUTURE_SLACK_S = 60
"""An `auth_date` this far ahead of our clock is still taken (clocks differ a little)."""
_HASH_LENGTH = 64
_HEX = frozenset("0123456789abcdef")

Refusal = Literal["missing", "malformed", "signature", "expired"]


class InitDataRefused(Exception):
    """The request is not from a user Telegram signed in: `reason` says why, for the logs
    (never the data itself)."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StudioUser:
    """The signed-in user, from checked data only."""

    id: int
    first_name: str
    language_code: str | None
    """Their Telegram app's language (an IETF tag such as "ru-RU"), if Telegram says."""


@dataclass(frozen=True)
class SignedIn:
    user: StudioUser
    auth_date: int
    start_param: str | None
    """What the link that opened the studio carried (`?startapp=`), if anything."""


def _secret_key(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: Mapping[str, str]) -> bytes:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash").encode()


def _expected_hash(fields: Mapping[str, str], token: str) -> str:
    return hmac.new(_secret_key(token), _data_check_string(fields), hashlib.sha256).hexdigest()


def check_init_data(raw: str | None, token: str, *, max_age_s: float,
                    now: float | None = None) -> SignedIn:
    """The user Telegram signed `raw` for; raises `InitDataRefused` for anything missing,
    malformed, signed with another key or older than `max_age_s`."""
    if not raw:
        raise InitDataRefused("missing")
    fields = _fields(raw)
    given = fields.get("hash", "")
    if len(given) != _HASH_LENGTH or not set(given) <= _HEX:
        raise InitDataRefused("malformed" if given else "signature")
    if not hmac.compare_digest(_expected_hash(fields, token), given):
        raise InitDataRefused("signature")
    auth_date = _whole(fields.get("auth_date"))
    clock = time.time() if now is None else now
    if auth_date is None or auth_date > clock + FUTURE_SLACK_S:
        raise InitDataRefused("malformed")
    if clock - auth_date > max_age_s:
        raise InitDataRefused("expired")
    return SignedIn(_user(fields.get("user")), auth_date, fields.get("start_param") or None)


def _fields(raw: str) -> dict[str, str]:
    if len(raw) > MAX_INIT_DATA:
        raise InitDataRefused("malformed")
    try:
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, strict_parsing=True,
                                       max_num_fields=32)
    except ValueError:
        raise InitDataRefused("malformed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # a field twice: which one did Telegram sign?
        raise InitDataRefused("malformed")
    return fields


def _user(raw: str | None) -> StudioUser:
    try:
        data = json.loads(raw or "")
    except ValueError:
        raise InitDataRefused("malformed") from None
    user_id = data.get("id") if isinstance(data, dict) else None
    if type(user_id) is not int or user_id <= 0:
        raise InitDataRefused("malformed")
    language = data.get("language_code")
    name = data.get("first_name")
    return StudioUser(user_id, name if isinstance(name, str) else "",
                      language if isinstance(language, str) else None)


def _whole(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit() or len(raw) > 12:
        return None
    return int(raw)


def sign_init_data(fields: Mapping[str, str], token: str) -> str:
    """`fields` as Telegram would hand them to a Mini App: URL-encoded, with their `hash`."""
    signed = {**fields, "hash": _expected_hash(fields, token)}
    return urllib.parse.urlencode(signed, quote_via=urllib.parse.quote)


def init_data_for(user: Mapping[str, object], token: str, *, auth_date: int | None = None,
                  query_id: str = "AAE-studio", start_param: str | None = None) -> str:
    """Signed `initData` for `user` (a Telegram user as a dict), as Telegram makes it."""
    fields = {"query_id": query_id, "user": json.dumps(dict(user), separators=(",", ":")),
              "auth_date": str(int(time.time()) if auth_date is None else auth_date)}
    if start_param:
        fields["start_param"] = start_param
    return sign_init_data(fields, token)
