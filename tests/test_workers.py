"""Several workers: how many and on which GPU, and two jobs of different users computing at once
on two worker processes (on CPU here), both delivered."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import build_application, running
from bot.config import Config
from bot.jobs.gpus import visible_gpus, worker_environments
from tests.conditions import job_rows, until
from tests.fake_telegram import (
    FakeTelegram,
    User,
    bot_env,
    content_photo,
    private_chat,
    result_for,
)


def test_gpus_come_from_cuda_visible_devices_or_nvidia_smi(monkeypatch):
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0, 2"}) == ["0", "2"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "GPU-8f1c,-1,3"}) == ["GPU-8f1c"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi: no GPU
    assert visible_gpus({}) == []


def test_one_worker_per_gpu_pinned_unless_overridden():
    assert worker_environments(None, []) == [{}]
    assert worker_environments(2, []) == [{}, {}]
    assert worker_environments(None, ["0", "1"]) == [{"CUDA_VISIBLE_DEVICES": "0"},
                                                     {"CUDA_VISIBLE_DEVICES": "1"}]
    assert [env["CUDA_VISIBLE_DEVICES"] for env in worker_environments(3, ["0", "1"])] == [
        "0", "1", "0"]
    assert Config.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "STYLEBOT_WORKERS": "2"}).workers == 2


@pytest.mark.asyncio
async def test_two_workers_run_two_users_jobs_at_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # CPU workers, whatever the machine has
    caplog.set_level(logging.INFO, logger="stylebot.app")
    alice, bob = User(101, "Alice"), User(202, "Bob")
    with FakeTelegram() as fake:
        # Enough steps that the two jobs overlap; previews off to keep the traffic down.
        config = Config.from_env(bot_env(fake, tmp_path, STYLEBOT_WORKERS="2",
                                         STYLEBOT_STEPS="30", STYLEBOT_PREVIEWS="off"))
        app = build_application(config)  # no shared worker: it starts its own, as in production
        async with running(app):
            pool = app.bot_data.services.runner
            await asyncio.wait_for(app.bot_data.worker_start, 180)
            pids = [worker.pid for worker in pool.workers]
            assert len(pids) == 2 and None not in pids and pids[0] != pids[1]
            ready = next(r for r in caplog.records if r.getMessage() == "engine ready")
            assert (ready.workers, ready.device) == (2, "CPU only")
            assert ready.precision in ("float32", "mixed_bfloat16")

            photos = [fake.user_sends_photo(private_chat(user), user, content_photo(), "mosaic")
                      for user in (alice, bob)]
            await until(lambda: all(worker.busy for worker in pool.workers), 60,
                        "both workers busy at once")
            running_jobs = pool.running()
            assert None not in running_jobs
            assert {job.user_id for job in running_jobs} == {alice.id, bob.id}
            queue = app.bot_data.services.queue
            snapshot = await queue.queue_snapshot()
            assert [job.status for job in snapshot] == ["running", "running"]
            for photo in photos:
                await fake.wait_for("sendPhoto", result_for(photo), timeout=120)

            # Recorded just after Telegram accepted the photo.
            await until(lambda: [job.status for job in job_rows(tmp_path / "stylebot.db")]
                        == ["done", "done"], 30, "both jobs done")


