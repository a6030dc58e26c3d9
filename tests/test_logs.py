"""`bot.logs`: one line per event, the job/chat/user fields, no secrets, no image bytes."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.logs import LineFormatter, bind, log_context

TOKEN = "123456:TEST-fake-token"


def record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"boom {TOKEN}\nsecond line")
        except RuntimeError as error:
            exc_info = (type(error), error, error.__traceback__)
    made = logging.LogRecord("stylebot.test", logging.INFO, __file__, 1, msg, args, exc_info)
    made.__dict__.update(extra)
    return made


def test_json_lines_carry_the_bound_fields_and_extras():
    formatter = LineFormatter("json")
    with log_context(job_id=5, chat_id=-100, user_id=7):
        line = formatter.format(record("job %d delivered", 5, workers=2))
    fields = json.loads(line)
    assert "\n" not in line
    assert fields["msg"] == "job 5 delivered"
    assert fields["level"] == "INFO" and fields["logger"] == "stylebot.test"
    assert (fields["job_id"], fields["chat_id"], fields["user_id"], fields["workers"]) == (
        5, -100, 7, 2)
    assert "job_id" not in json.loads(formatter.format(record("after the block")))


def test_text_lines_are_logfmt_with_the_traceback_escaped_on_one_line():
    line = LineFormatter("text").format(record("job failed: %s", "a b", exc=True))
    assert "\n" not in line
    assert 'msg="job failed: a b"' in line
    assert "level=INFO" in line and "logger=stylebot.test" in line
    assert 'exc="Traceback' in line and "\\n" in line


def test_the_token_and_the_secret_never_appear():
    formatter = LineFormatter("text", [(TOKEN, "<token>"), ("s3cret-value", "<secret>")])
    line = formatter.format(record("GET https://api/bot%s/getMe with %s", TOKEN, "s3cret-value",
                                   exc=True))
    assert TOKEN not in line and "s3cret-value" not in line
    assert "<token>" in line and "<secret>" in line


def test_bytes_are_logged_as_their_length():
    image = b"\xff\xd8\xff" + bytes(5000)
    line = LineFormatter("json").format(record("got %s", image, preview=image))
    fields = json.loads(line)
    assert fields["msg"] == "got <5003 bytes>" and fields["preview"] == "<5003 bytes>"


def test_fields_bound_in_a_task_stay_in_that_task():
    formatter = LineFormatter("json")

    async def handle(user_id: int) -> dict:
        bind(user_id=user_id)
        await asyncio.sleep(0)
        return json.loads(formatter.format(record("handled")))

    async def main() -> list[dict]:
        return await asyncio.gather(asyncio.create_task(handle(1)), asyncio.create_task(handle(2)))

    first, second = asyncio.run(main())
    assert (first["user_id"], second["user_id"]) == (1, 2)


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="text, json"):
        LineFormatter("xml")
