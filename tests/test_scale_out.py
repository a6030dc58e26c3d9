"""Scale-out faults, each with a real redis-server and real `stylebot-worker` (Celery) processes,
the bot talking to the fake Bot API: a worker killed mid-job, Redis restarted mid-job, the bot
killed while a remote job runs, no worker alive, a worker that cannot load its model or runs
out of memory, and a broker that is not there at start-up. Every accepted job ends with exactly
one result or a message."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from bot.telegram import texts
from tests.conditions import job_rows, until, until_blocking
from tests.fake_telegram import (
    ALICE,
    BOB,
    Call,
    FakeTelegram,
    RemoteEngine,
    assert_stylised,
    bot_env,
    bot_process,
    content_photo,
    free_port,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    start_bot_process,
    status_says,
)
from tests.remote_servers import RedisServer, WorkerProcess, settled, workers

pytestmark = pytest.mark.usefixtures("presets_dir")
async_test = pytest.mark.asyncio(loop_scope="function")

LONG_JOB = {"STYLEBOT_STEPS": "80"}
"""Full-size iterations of a test job long enough to interrupt (about 6 s on 2 cores)."""


@pytest.fixture
def redis_server(tmp_path: Path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def delivered(fake: FakeTelegram, photo: dict) -> list[Call]:
    return [c for c in fake.find(None, result_for(photo)) if c.error is None]


stylising = status_says("Stylising")



def busy_worker(running: list[WorkerProcess]) -> WorkerProcess:
    for worker in running:
        info = worker.info()
        if info is not None and info.state == "busy":
            return worker
    raise AssertionError("no worker is busy")


@async_test
async def test_a_worker_killed_mid_job_hands_it_to_another(fake, tmp_path, redis_server):
    chat = private_chat(ALICE)
    content = content_photo()
    with workers(redis_server, tmp_path, "w1", "w2") as running:
        async with run_bot(fake, tmp_path, RemoteEngine(redis_server.url), **LONG_JOB):
            photo = fake.user_sends_photo(chat, ALICE, content, caption="mosaic")
            await fake.wait_for(None, stylising, timeout=120)
            victim = busy_worker(running)
            victim.kill()
            result = await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
            await until(settled(tmp_path / "stylebot.db", running), 60, "all settled")
        survivor = next(worker for worker in running if worker is not victim)
        assert survivor.info().jobs_done == 1
    assert_stylised(result.upload(), content, (64, 48))
    assert len(delivered(fake, photo)) == 1


@async_test
async def test_redis_restarted_mid_job(fake, tmp_path, redis_server):
    """Redis comes back empty (no persistence, the hardest case): the bot keeps answering,
    queues the job again and the user gets one result."""
    chat = private_chat(ALICE)
    with workers(redis_server, tmp_path, "w1") as running:
        async with run_bot(fake, tmp_path, RemoteEngine(redis_server.url), **LONG_JOB):
            photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
            await fake.wait_for(None, stylising, timeout=120)
            redis_server.stop()
            help_request = fake.user_sends_text(chat, ALICE, "/help")
            await fake.wait_for("sendMessage", replies_to(help_request), timeout=30)
            await asyncio.sleep(2)
            redis_server.start()
            await fake.wait_for("sendPhoto", result_for(photo), timeout=240)
            await until(settled(tmp_path / "stylebot.db", running), 60, "all settled")
    assert len(delivered(fake, photo)) == 1


def test_bot_killed_while_a_remote_job_runs(tmp_path, redis_server):
    """SIGKILL to the bot while a worker paints: the restarted bot hands the job out again (the
    old run, if still going, is dropped by the worker within a step) and the user gets exactly
    one result."""
    chat = private_chat(ALICE)
    broker = {"STYLEBOT_BROKER_URL": redis_server.url, "STYLEBOT_HEARTBEAT_S": "0.5"}
    with FakeTelegram() as fake, workers(redis_server, tmp_path, "w1") as running:
        with bot_process(fake, tmp_path, **broker, **LONG_JOB) as bot:
            photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
            fake.wait_for_blocking(None, stylising, timeout=120)
            bot.kill()
            bot.wait(30)
        with bot_process(fake, tmp_path, **broker, **LONG_JOB):
            fake.wait_for_blocking("sendPhoto", result_for(photo), timeout=240)
            until_blocking(settled(tmp_path / "stylebot.db", running), 60, "all settled")
        assert len(delivered(fake, photo)) == 1
        assert running[0].info().jobs_done >= 1


@async_test
async def test_no_worker_alive_jobs_wait_then_run(fake, tmp_path, redis_server):
    chat = private_chat(BOB)
    async with run_bot(fake, tmp_path, RemoteEngine(redis_server.url)):
        photo = fake.user_sends_photo(chat, BOB, content_photo(), caption="mosaic")
        queued = await fake.wait_for("sendMessage", replies_to(photo))
        assert texts.NO_WORKER_ONLINE.split(";")[0] in queued.text
        # The queue holds it, untried, while no painter is there.
        [job] = job_rows(tmp_path / "stylebot.db")
        assert (job.status, job.attempts) == ("queued", 0)
        assert not delivered(fake, photo)
        with workers(redis_server, tmp_path, "late") as running:
            await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
            await until(settled(tmp_path / "stylebot.db", running), 60, "all settled")
    assert len(delivered(fake, photo)) == 1


@async_test
async def test_waiting_users_hear_when_the_last_worker_goes_and_get_one_result_each(
        fake, tmp_path, redis_server, monkeypatch):
    from bot.jobs import runner

    monkeypatch.setattr(runner, "OUTAGE_NOTICE_AFTER_S", 1.0)
    no_painter = texts.NO_WORKER_ONLINE.split(";")[0]
    with workers(redis_server, tmp_path, "only") as running:
        async with run_bot(fake, tmp_path, RemoteEngine(redis_server.url), **LONG_JOB):
            first = fake.user_sends_photo(private_chat(ALICE), ALICE, content_photo(),
                                          caption="mosaic")
            await fake.wait_for(None, stylising, timeout=120)
            second = fake.user_sends_photo(private_chat(BOB), BOB, content_photo(),
                                           caption="mosaic")
            queued = await fake.wait_for("sendMessage", replies_to(second))
            assert no_painter not in queued.text  # a worker was online then
            running[0].kill()
            for user in (ALICE, BOB):  # the interrupted job and the one that never started
                await fake.wait_for("editMessageText", lambda c, u=user: c.chat_id == u.id
                                    and no_painter in c.text, timeout=60)
            with workers(redis_server, tmp_path, "back") as back:
                for photo in (first, second):
                    await fake.wait_for("sendPhoto", result_for(photo), timeout=240)
                await until(settled(tmp_path / "stylebot.db", back), 60, "all settled")
    assert len(delivered(fake, first)) == len(delivered(fake, second)) == 1


def _health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
        return json.loads(answer.read())


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        return answer.read().decode()


@async_test
async def test_broken_and_out_of_memory_workers_are_reported_never_silent(fake, tmp_path,
                                                                         redis_server):
    """A worker whose model cannot load lists itself as broken (with why) and exits; one that
    runs out of memory fails the job over to a smaller size, and the user hears about it."""
    no_weights = tmp_path / "no-weights"  # every source of the weights fails
    broken = WorkerProcess(redis_server.url, tmp_path, "broken", warm_up=True,
                           STYLECORE_HOME=str(no_weights), KERAS_HOME=str(no_weights),
                           STYLECORE_WEIGHTS_URL="http://127.0.0.1:9/",
                           STYLECORE_PIP_ARGS=f"--no-index --find-links {no_weights}").start()
    assert broken.process.wait(300) == 3, broken.log()
    port = free_port()
    large = content_photo(192, 144)
    small = {"STYLECORE_MAX_PIXELS_PER_RUN": "5000"}  # 96×72 does not fit, 67×50 does
    with workers(redis_server, tmp_path, "small", **small):
        async with run_bot(fake, tmp_path, RemoteEngine(redis_server.url),
                           STYLEBOT_METRICS_LISTEN=f"127.0.0.1:{port}", STYLEBOT_SIZE="96"):
            chat = private_chat(ALICE)
            photo = fake.user_sends_photo(chat, ALICE, large, caption="mosaic")
            result = await fake.wait_for("sendPhoto", result_for(photo), timeout=180)
            # The fleet view catches up with the worker's counters (its next heartbeat).
            health: dict = {}

            async def small_worker_idle_after_two_runs() -> bool:
                nonlocal health
                health = await asyncio.to_thread(_health, port)
                return any(w["worker"] == "small" and w["state"] == "idle"
                           and w["jobs_done"] == 2 for w in health["workers"])

            deadline = time.monotonic() + 30
            while not await small_worker_idle_after_two_runs():
                assert time.monotonic() < deadline, f"the fleet view is stale: {health}"
                await asyncio.sleep(0.2)
            metrics = await asyncio.to_thread(_metrics, port)
    assert result.text.startswith("mosaic · 67×50") and texts.NOTE_SMALLER in result.text
    assert_stylised(result.upload(), large, (67, 50))
    listed = {worker["worker"]: worker for worker in health["workers"]}
    assert listed["broken"]["state"] == "broken"
    assert "VGG19 weights" in listed["broken"]["error"]
    assert listed["small"]["state"] == "idle" and listed["small"]["jobs_done"] == 2
    assert health["broker"]["up"] is True
    assert 'stylebot_remote_workers{state="broken"} 1.0' in metrics
    assert "stylebot_broker_up 1.0" in metrics


def test_a_broker_that_is_not_there_stops_the_start_with_one_line(tmp_path):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    with FakeTelegram() as fake:
        for url, says in ((closed, "cannot reach Redis"), ("http://redis:6379", "redis://")):
            bot = start_bot_process(bot_env(fake, tmp_path, STYLEBOT_BROKER_URL=url), tmp_path)
            _, err = bot.communicate(timeout=120)
            assert bot.returncode == 2
            lines = err.strip().splitlines()
            assert says in lines[-1] and "STYLEBOT_BROKER_URL" in lines[-1]
    worker = WorkerProcess(closed, tmp_path, "w")
    done = subprocess.run(worker.command(), env=worker.environment(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("stylebot-worker: cannot reach Redis")


def test_broker_settings_are_read_from_the_environment_and_checked():
    from bot.config import Config, ConfigError

    token = {"TELEGRAM_BOT_TOKEN": "1:x"}
    assert Config.from_env(token).remote is None  # one machine: nothing changes
    remote = Config.from_env({**token, "STYLEBOT_BROKER_URL": "redis://:secret@h:6379/2",
                              "STYLEBOT_HEARTBEAT_S": "0.5"}).remote
    assert remote.heartbeat_s == 0.5 and remote.visibility_timeout_s >= 3600
    assert remote.safe_url == "redis://h:6379/2"  # the password never reaches a log line
    with pytest.raises(ConfigError, match="STYLEBOT_MAX_REMOTE_JOBS"):
        Config.from_env({**token, "STYLEBOT_BROKER_URL": "redis://h",
                         "STYLEBOT_MAX_REMOTE_JOBS": "none"})


def test_what_travels_through_redis_comes_back_the_same():
    from bot.jobs.remote.wire import (
        Finished,
        TaskPayload,
        decode_event,
        encode_event,
    )
    from bot.jobs.work import WorkFailure, WorkProgress
    from stylecore.errors import ImageError
    from stylecore.params import DEFAULT

    payload = TaskPayload(7, "d1", "k:content", [("k:style0", 0.6), ("k:style1", 0.4)],
                          DEFAULT.with_(size=96), 0.25)
    assert TaskPayload.from_json(payload.to_json()) == payload

    def round_trip(event):
        fields = {k.encode(): v if isinstance(v, bytes) else v.encode()
                  for k, v in encode_event(event).items()}
        return decode_event(fields)

    for event in (WorkProgress(7, 3, 10, 0.3, 1.5, 3.5, b"\xff\xd8jpeg"),
                  WorkProgress(7, 4, 10, 0.4, 2.0, None, None), Finished((64, 48), 2.5, 10)):
        assert round_trip(event) == event
    refusal = WorkFailure("bad_input", "too_small", image_error=ImageError(
        "too_small", width=20, height=18, min_side=32))
    back = round_trip(refusal)
    assert back.kind == "bad_input" and back.image_error.code == "too_small"
    assert back.image_error.data == {"width": 20, "height": 18, "min_side": 32}


@async_test
async def test_a_job_whose_message_is_lost_before_it_starts_is_handed_out_again(
        tmp_path, redis_server, monkeypatch):
    """While its message waits in Celery's queue the bot waits; once the message is gone and
    a worker sits idle without having started the job, it is queued again (no waiting for
    Redis' two-hour visibility timeout)."""
    from bot.broker import RemoteSettings
    from bot.jobs.remote import dispatcher
    from bot.jobs.remote.backend import RemoteBackend
    from bot.jobs.remote.wire import QUEUE, WorkerInfo, worker_key
    from bot.jobs.work import WorkerCrashed, WorkRequest
    from stylecore.params import DEFAULT

    monkeypatch.setattr(dispatcher, "UNSTARTED_GRACE_S", 1.0)
    idle = WorkerInfo("idle-one", "elsewhere", 1, None, "idle")
    redis_server.client().set(worker_key(idle.name), idle.to_json(), ex=120)
    backend = await RemoteBackend.open(RemoteSettings(redis_server.url, max_jobs=1))
    try:
        (tmp_path / "content.jpg").write_bytes(content_photo())
        request = WorkRequest(1, str(tmp_path / "content.jpg"),
                              [(str(tmp_path / "content.jpg"), 1.0)], DEFAULT.with_(size=32),
                              str(tmp_path / "result.png"))
        running = asyncio.create_task(backend.workers()[0].run(request, None))
        await asyncio.sleep(3)
        assert not running.done()  # the message is still in the queue: nothing lost yet
        redis_server.client().delete(QUEUE)  # taken by a worker that died before starting it
        with pytest.raises(WorkerCrashed, match="lost before"):
            await asyncio.wait_for(running, 30)
    finally:
        await backend.close()


def test_celery_acknowledges_late_and_redelivers_after_the_visibility_timeout():
    """At least once: acknowledged after the task ran, given back when its worker is lost, and
    redelivered by Redis (broker and result store alike) only after a timeout longer than a job."""
    from bot.jobs.remote.celery_app import make_celery

    conf = make_celery("redis://127.0.0.1:1/0", visibility_timeout_s=5400).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1 and conf.worker_concurrency == 1
    assert conf.broker_transport_options["visibility_timeout"] == 5400
    assert conf.result_backend_transport_options["visibility_timeout"] == 5400
    assert conf.accept_content == ["json"]  # nothing a broker could smuggle in gets unpickled
