"""`FakeTelegram`, the end-to-end tests' fake Telegram: the playground's local Bot API
(`bot.playground.bot_api.LocalBotApi`) plus what only tests need: waiting for the bot's calls
(`wait_for`, and `wait_for_blocking` for code without an event loop), and faults.
`fail_next` injects Telegram errors (429 with `retry_after`, 400 "message is not modified", 403
"bot was blocked", 502, ...) or drops the connection without an answer, and `hold_next` keeps a
request unanswered until released. Both work on downloads too (the pseudo-method `download`)
and answer through the server's one seam, `LocalBotApi._before_answer`.

    fake.user_sends_photo(chat, user, jpeg_bytes, caption="wave")
    call = await fake.wait_for("sendPhoto", lambda c: c.chat_id == chat.id)
    call.files["photo"]  # the uploaded bytes
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.playground.bot_api import TOKEN, Call, LocalBotApi, buttons_of, error_answer


def replies_to(message: dict) -> Callable[[Call], bool]:
    """Matches the bot's messages that reply to `message`."""
    return lambda call: call.reply_to == message["message_id"]


def result_for(message: dict) -> Callable[[Call], bool]:
    """Matches result pictures (not live previews) for `message`: replies with re-run buttons."""
    return lambda call: (call.reply_to == message["message_id"]
                         and any(data.startswith("r:") for _, data in call.buttons()))


def preview_for(message: dict) -> Callable[[Call], bool]:
    """Matches live previews for `message`: photos replying to it without re-run buttons (the
    first, the instant picture, carries "Keep this one")."""
    return lambda call: (call.method in ("sendPhoto", "editMessageMedia")
                         and call.reply_to == message["message_id"]
                         and not any(data.startswith("r:") for _, data in call.buttons()))


def is_result_upload(params: dict) -> bool:
    """For `fail_next`/`hold_next` predicates: the params of a result upload."""
    return any(data.startswith("r:") for _, data in buttons_of(params.get("reply_markup")))


@dataclass
class _Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    times: int
    predicate: Callable[[dict], bool] | None
    drop: bool = False


@dataclass
class Held:
    """A request the server keeps unanswered (see `FakeTelegram.hold_next`)."""

    method: str
    predicate: Callable[[dict], bool] | None
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    call: Call | None = None

    def wait_arrived(self, timeout: float = 30.0) -> Call:
        if not self.arrived.wait(timeout):
            raise AssertionError(f"no {self.method} request arrived to hold in {timeout} s")
        assert self.call is not None
        return self.call

    def release(self) -> None:
        """Answers the request with 502 Bad Gateway (Telegram never accepted it)."""
        self.released.set()


class FakeTelegram(LocalBotApi):
    def __init__(self, token: str = TOKEN, bot_user: dict | None = None) -> None:
        super().__init__(token, bot_user)
        self._failures: list[_Failure] = []
        self._holds: list[Held] = []
        self._closing = threading.Event()  # releases held requests when the server stops

    def stop(self) -> None:
        self._closing.set()
        super().stop()

    # ------------------------------------------------------------------ waiting for calls

    async def wait_for(
        self,
        method: str | None = None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 20.0,
        *,
        after: int = 0,
        count: int = 1,
        failed: bool = False,
    ) -> Call:
        """Waits until `count` successful calls match (with `failed`: calls answered with an
        error); returns the last of them."""
        deadline = time.monotonic() + timeout
        while (call := self._waited(method, predicate, after, count, failed, deadline)) is None:
            await asyncio.sleep(0.02)
        return call

    def wait_for_blocking(self, *args: Any, **kwargs: Any) -> Call:
        """`wait_for` (the same arguments) for code without an event loop (a test driving a
        bot that runs as a subprocess)."""
        return asyncio.run(self.wait_for(*args, **kwargs))

    def _waited(self, method: str | None, predicate: Callable[[Call], bool] | None, after: int,
                count: int, failed: bool, deadline: float) -> Call | None:
        """The call a wait is for once `count` match, None until then; past the deadline an
        AssertionError that lists the recent calls."""
        found = [c for c in self.find(method, predicate, after=after)
                 if (c.error is not None) == failed]
        if len(found) >= count:
            return found[count - 1]
        if time.monotonic() > deadline:
            recent = [(c.method, c.params.get("chat_id"), c.text[:60], c.error)
                      for c in self.find()[-25:]]
            raise AssertionError(f"timed out waiting for {count} x {method} "
                                 f"(found {len(found)}); recent: {recent}")
        return None

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 400,
        description: str = "Bad Request: injected error",
        retry_after: int | None = None,
        times: int = 1,
        predicate: Callable[[dict], bool] | None = None,
        drop: bool = False,
    ) -> None:
        """The next `times` calls of `method` (matching `predicate` on the params) fail; with
        `drop` the server closes the connection without answering (a lost response).

        Examples: `fail_next("sendPhoto", error_code=429, description="Too Many Requests: retry
        after 1", retry_after=1)`, `fail_next("sendPhoto", error_code=403,
        description="Forbidden: bot was blocked by the user")`, `fail_next("sendPhoto",
        error_code=502, description="Bad Gateway")`, `fail_next("sendPhoto", drop=True)`.
        The call is recorded with its `error` set (to the description, or "dropped").
        """
        with self.lock:
            self._failures.append(
                _Failure(method, error_code, description, retry_after, times, predicate, drop)
            )

    def hold_next(self, method: str, predicate: Callable[[dict], bool] | None = None) -> Held:
        """The next call of `method` (matching `predicate`) gets no answer until
        `Held.release()` (then 502) or the server stops: the bot stays blocked in the middle
        of that request, e.g. to be killed there. Recorded with `error` "held"."""
        held = Held(method, predicate)
        with self.lock:
            self._holds.append(held)
        return held

    async def _before_answer(self, request: web.Request, call: Call) -> web.StreamResponse | None:
        """The answer `hold_next` or `fail_next` arranged for this call, if any."""
        held = self._take_hold(call.method, call.params)
        if held is not None:
            return await self._answer_held(held, call)
        failure = self._take_failure(call.method, call.params)
        if failure is None:
            return None
        call.error = "dropped" if failure.drop else failure.description
        self._record(call)
        if failure.drop:
            request.transport.close()
            return web.Response(status=502)  # never reaches the bot
        return error_answer(failure.error_code, failure.description, failure.retry_after)

    def _take_hold(self, method: str, params: dict) -> Held | None:
        with self.lock:
            for held in self._holds:
                if held.method == method and (held.predicate is None or held.predicate(params)):
                    self._holds.remove(held)
                    return held
        return None

    async def _answer_held(self, held: Held, call: Call) -> web.Response:
        call.error = "held"
        held.call = call
        self._record(call)
        held.arrived.set()
        while not held.released.is_set() and not self._closing.is_set():
            await asyncio.sleep(0.05)
        return error_answer(502, "Bad Gateway")

    def _take_failure(self, method: str, params: dict) -> _Failure | None:
        with self.lock:
            for failure in self._failures:
                if failure.method == method and (failure.predicate is None
                                                 or failure.predicate(params)):
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return failure
        return None
