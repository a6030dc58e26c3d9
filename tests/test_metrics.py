"""The health and metrics endpoint: `/healthz`, `/metrics` moving with a real job end to end,
the HEALTHCHECK command, and the job's log lines naming the job, chat and user."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Config
from bot.logs import LineFormatter
from bot.ops.health import StatusServer
from bot.telegram.context import BotData
from tests.fake_telegram import (
    ALICE,
    FakeTelegram,
    content_photo,
    free_port,
    private_chat,
    result_for,
    run_bot,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]

REPO = Path(__file__).resolve().parents[1]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def json_lines(caplog):
    """The lines the stylebot loggers write, formatted as in production (JSON)."""
    lines: list[str] = []
    handler = logging.Handler()
    handler.setFormatter(LineFormatter("json"))
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="stylebot")
    logging.getLogger("stylebot").addHandler(handler)
    yield lines
    logging.getLogger("stylebot").removeHandler(handler)



async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def scrape(port: int) -> Samples:
    status, content_type, text = await get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def healthcheck(port: int | None) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STYLEBOT")}
    if port is not None:
        env["STYLEBOT_METRICS_LISTEN"] = f"0.0.0.0:{port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.healthcheck", env={**env, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    return await process.wait()


async def test_healthz_and_metrics_follow_a_job(fake: FakeTelegram, tmp_path, worker, json_lines):
    port = free_port()
    async with run_bot(fake, tmp_path, worker, STYLEBOT_METRICS_LISTEN=f"127.0.0.1:{port}"):
        status, content_type, body = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and content_type == "application/json"
        health = json.loads(body)
        assert (health["status"], health["updates"]) == ("ok", "polling")
        assert health["queue"] == {"queued": 0, "running": 0}
        [state] = health["workers"]
        assert (state["pid"], state["busy"], state["job_id"], state["restarts"]) == (
            worker.pid, False, None, 0)
        assert state["device"] == "CPU only" and state["precision"] in ("float32",
                                                                         "mixed_bfloat16")
        assert await healthcheck(port) == 0

        before = await scrape(port)
        # A failed long poll: PTB retries getUpdates, outside the rate limiter; counted too.
        fake.fail_next("getUpdates", error_code=502, description="Bad Gateway")
        # Flood control on the result: retried by the rate limiter, and counted.
        fake.fail_next("sendPhoto", error_code=429, description="Too Many Requests: retry after 1",
                       retry_after=1)
        photo = fake.user_sends_photo(private_chat(ALICE), ALICE, content_photo(),
                                      caption="mosaic")
        await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
        for _ in range(100):  # the delivery is recorded just after Telegram accepted it
            after = await scrape(port)
            if value(after, "stylebot_jobs_total", status="done") > value(
                    before, "stylebot_jobs_total", status="done"):
                break
            await asyncio.sleep(0.05)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert [moved("stylebot_jobs_total", status=s) for s in ("queued", "running", "done")] \
        == [1, 1, 1]
    assert moved("stylebot_jobs_total", status="failed") == 0
    assert moved("stylebot_job_duration_seconds_count") == 1
    assert moved("stylebot_job_duration_seconds_sum") > 0
    assert moved("stylebot_telegram_errors_total", type="RetryAfter", method="sendPhoto") == 1
    assert moved("stylebot_telegram_errors_total", type="NetworkError", method="getUpdates") == 1
    assert value(after, "stylebot_queue_depth") == 0
    assert value(after, "stylebot_jobs_running") == 0
    assert value(after, "stylebot_worker_up", worker="0") == 1
    assert after[("stylebot_worker_restarts_total", (("worker", "0"),))] == 0

    delivered = [line for line in map(json.loads, json_lines) if "delivered" in line["msg"]]
    assert delivered and all(
        (line["job_id"], line["chat_id"], line["user_id"]) == (1, ALICE.id, ALICE.id)
        for line in delivered)
    assert await healthcheck(None) == 1  # no endpoint configured: nothing healthy to report


async def test_healthz_says_starting_before_the_bot_is_up_and_503_without_a_database():
    config = Config(token="1:x")
    bot_data = BotData()
    bot_data.config = config
    status = StatusServer(SimpleNamespace(bot_data=bot_data), ("127.0.0.1", 0))
    code, body = await status.health()
    assert (code, body["status"], body["workers"]) == (200, "starting", [])

    async def broken_stats(since: float) -> dict:
        raise sqlite3.OperationalError("disk I/O error")

    services = SimpleNamespace(queue=SimpleNamespace(stats=broken_stats), fleet=None,
                               runner=SimpleNamespace(workers=[], running=lambda: []))
    status.app.bot_data.services = services
    code, body = await status.health()
    assert (code, body["status"], body["error"]) == (503, "error", "database: OperationalError")
