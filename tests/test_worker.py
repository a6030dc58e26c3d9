"""The worker process, with the real engine on tiny images: results, progress, cancel, crashes,
bad input. One worker serves the whole module (starting TensorFlow is the slow part)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from bot.jobs.execution import PreviewSchedule
from bot.jobs.work import (
    BadInput,
    JobCancelled,
    OutOfMemory,
    WorkerCrashed,
    WorkerError,
    WorkFailure,
    WorkProgress,
    WorkRequest,
)
from bot.telegram.texts import error_text
from stylecore.errors import ImageError
from stylecore.params import DEFAULT
from tests.conditions import until

in_module_loop = pytest.mark.asyncio(loop_scope="module")

TINY = DEFAULT.with_(size=64, steps=3, optimizer="adam")
LONG = DEFAULT.with_(size=48, steps=5000, optimizer="adam")
"""Far longer than any test waits: finishing early would mean cancel or kill did not work."""


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:48, 0:64]
    content = np.stack([x * 4, y * 5, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    style = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(content).save(folder / "content.png")
    Image.fromarray(style).save(folder / "style.jpg", quality=90)
    jpeg = (folder / "style.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "empty.png").write_bytes(b"")
    return folder


def work(images, tmp_path, job_id: int, params=TINY, **changes) -> WorkRequest:
    fields = {
        "job_id": job_id,
        "content_path": str(images / "content.png"),
        "styles": [(str(images / "style.jpg"), 1.0)],
        "params": params,
        "output_path": str(tmp_path / f"result-{job_id}.png"),
        **changes,
    }
    return WorkRequest(**fields)


@in_module_loop
async def test_child_is_ready_and_has_not_imported_telegram(worker):
    assert worker.pid is not None and worker.pid != os.getpid()
    assert not worker.busy
    assert worker._child.telegram_loaded is False


@in_module_loop
async def test_run_writes_the_result_and_streams_progress(worker, images, tmp_path):
    seen: list[WorkProgress] = []

    async def on_progress(progress: WorkProgress) -> None:
        seen.append(progress)

    # The event loop stays responsive while the child computes: another task runs meanwhile.
    ticks_while_busy = 0

    async def ticker():
        nonlocal ticks_while_busy
        while True:
            await asyncio.sleep(0.01)
            ticks_while_busy += worker.busy

    ticking = asyncio.create_task(ticker())
    request = work(images, tmp_path, 1, params=TINY.with_(steps=4), preview_every=0.5)
    try:
        result = await worker.run(request, on_progress)
    finally:
        ticking.cancel()

    assert result.job_id == 1 and result.steps == 4
    assert result.output_path == request.output_path
    assert result.size == (64, 48)
    with Image.open(result.output_path) as image:
        assert image.format == "PNG" and image.size == (64, 48)
        painted = np.asarray(image.convert("RGB"))
    assert not np.array_equal(painted, np.asarray(Image.open(images / "content.png")))

    # Step 0, where the instant weights are cached, is its picture (tests/test_instant.py).
    steps = [p for p in seen if p.step > 0]
    assert [p.step for p in steps] == [1, 2, 3, 4]
    assert all(p.job_id == 1 and p.total == 4 for p in steps)
    assert all(p.eta is not None and p.eta >= 0 for p in steps) and steps[-1].eta == 0
    previews = {p.step: p.preview_jpeg for p in steps if p.preview_jpeg is not None}
    assert list(previews) == [2]  # half way; the end is the result itself
    with Image.open(io.BytesIO(previews[2])) as preview:
        assert preview.format == "JPEG" and preview.size == (64, 48)
    assert ticks_while_busy > 0, "the event loop was blocked while the child computed"


@in_module_loop
async def test_a_slow_progress_callback_gets_the_latest_step_and_every_preview(
    worker, images, tmp_path
):
    seen: list[WorkProgress] = []
    request = work(images, tmp_path, 10, params=TINY.with_(size=48, steps=20))

    async def slow(progress: WorkProgress) -> None:
        seen.append(progress)
        if len(seen) == 1:  # e.g. a Telegram edit that takes as long as the whole job
            await until(lambda: os.path.exists(request.output_path), 120, "the job done")

    result = await worker.run(request, slow)
    assert result.steps == 20
    steps = [p.step for p in seen if p.step > 0]  # step 0: the instant picture, if cached
    assert steps == sorted(steps) and steps[-1] == 20
    assert len(steps) < 20  # stale steps were skipped, so the bot did not fall behind
    assert [p.step for p in seen if p.preview_jpeg and p.step > 0] == [5, 10, 15]


@in_module_loop
async def test_cancel_stops_the_job_promptly_and_the_worker_carries_on(worker, images, tmp_path):
    pid = worker.pid
    cancelled_at: list[float] = []
    steps: list[int] = []

    def on_progress(progress: WorkProgress) -> None:
        steps.append(progress.step)
        if progress.step == 1:
            worker.cancel(999)  # another job's id: ignored
        if progress.step == 3 and not cancelled_at:
            assert worker.busy
            worker.cancel(2)
            cancelled_at.append(time.perf_counter())

    with pytest.raises(JobCancelled):
        await worker.run(work(images, tmp_path, 2, params=LONG), on_progress)
    assert cancelled_at and 3 <= max(steps) < 50  # it stopped within a few of 5000 steps
    assert not (tmp_path / "result-2.png").exists()

    result = await worker.run(work(images, tmp_path, 3), lambda p: None)
    assert result.steps == 3 and worker.pid == pid


@in_module_loop
async def test_cancelling_the_run_task_abandons_the_job(worker, images, tmp_path):
    pid = worker.pid
    first_step = asyncio.Event()
    task = asyncio.create_task(
        worker.run(work(images, tmp_path, 4, params=LONG), lambda p: first_step.set())
    )
    await asyncio.wait_for(first_step.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The abandoned job stops in the child, so the next one starts at once; its stale
    # messages are not mistaken for the new job's.
    seen: list[int] = []
    result = await worker.run(work(images, tmp_path, 5), lambda p: seen.append(p.job_id))
    assert not (tmp_path / "result-4.png").exists()  # its 5000 steps were not run out
    assert result.job_id == 5 and set(seen) == {5}
    assert worker.pid == pid


@in_module_loop
async def test_a_killed_child_raises_worker_crashed_and_is_replaced(worker, images, tmp_path):
    old_pid = worker.pid

    def on_progress(progress: WorkProgress) -> None:
        if progress.step == 2:
            os.kill(old_pid, signal.SIGKILL)

    with pytest.raises(WorkerCrashed) as crashed:
        await worker.run(work(images, tmp_path, 6, params=LONG), on_progress)
    assert crashed.value.exitcode == -signal.SIGKILL
    assert "SIGKILL" in str(crashed.value)

    result = await worker.run(work(images, tmp_path, 7), lambda p: None)
    assert result.job_id == 7 and os.path.exists(result.output_path)
    assert worker.pid is not None and worker.pid != old_pid


@in_module_loop
async def test_a_stuck_child_is_killed_when_its_run_is_abandoned(worker, images, tmp_path):
    """A job timeout (wait_for) on a child that no longer answers: the next run gets a fresh one."""
    old_pid = worker.pid
    worker.cancel_grace = 1.0

    def on_progress(progress: WorkProgress) -> None:
        if progress.step == 2:
            os.kill(old_pid, signal.SIGSTOP)  # frozen: it can't notice the cancel

    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                worker.run(work(images, tmp_path, 11, params=LONG), on_progress), 5
            )
        result = await worker.run(work(images, tmp_path, 12), None)
    finally:
        worker.cancel_grace = 30.0
        with contextlib.suppress(ProcessLookupError):
            os.kill(old_pid, signal.SIGKILL)
    assert result.job_id == 12
    assert worker.pid not in (None, old_pid)


@in_module_loop
@pytest.mark.parametrize(
    ("which", "words"), [("content", "damaged"), ("style", "empty")], ids=["corrupt", "empty"]
)
async def test_bad_input_raises_bad_input_with_a_human_message(
    worker, images, tmp_path, which, words
):
    pid = worker.pid
    if which == "content":
        request = work(images, tmp_path, 8, content_path=str(images / "truncated.jpg"))
    else:
        request = work(images, tmp_path, 8, styles=[(str(images / "empty.png"), 1.0)])
    with pytest.raises(BadInput) as refused:
        await worker.run(request, lambda p: None)
    assert words in error_text(refused.value.error)
    assert worker.pid == pid  # the worker survives bad input


@in_module_loop
async def test_an_engine_error_is_reported_and_the_worker_survives(worker, images, tmp_path):
    pid = worker.pid
    request = work(images, tmp_path, 9, output_path=str(tmp_path / "result.unknown"))
    with pytest.raises(WorkerError) as failed:
        await worker.run(request, lambda p: None)
    assert "ValueError" in str(failed.value) and "Traceback" in failed.value.details
    assert worker.pid == pid


def test_errors_from_the_child_map_to_exceptions():
    assert isinstance(WorkFailure("cancelled", "x").exception(), JobCancelled)
    assert isinstance(WorkFailure("oom", "ResourceExhaustedError: OOM").exception(), OutOfMemory)
    bad = WorkFailure("bad_input", "empty", image_error=ImageError("empty")).exception()
    assert isinstance(bad, BadInput) and bad.error.code == "empty"
    assert isinstance(WorkFailure("error", "KeyError: 1", "tb").exception(), WorkerError)


def previews_due(every: float, marks: list[tuple[int, float, float]]) -> list[bool]:
    """`marks`: (stage, share of the whole work, share of the stage) after each iteration."""
    schedule = PreviewSchedule(every)
    stages = 1 + max(stage for stage, _, _ in marks)
    return [schedule.due(SimpleNamespace(stage=stage, stages=stages, fraction=f,
                                         stage_fraction=in_stage))
            for stage, f, in_stage in marks]


def test_previews_come_at_each_share_of_the_work_and_early_in_a_coarse_run():
    single = [(0, k / 8, k / 8) for k in range(1, 9)]
    assert previews_due(0.25, single) == [False, True, False, True, False, True, False, False]
    assert previews_due(0, single) == [False] * 8
    # A coarse stage (the first 20% of the work) gives a first look half way through, another
    # as it ends, then the quarters.
    staged = [(0, 0.05, 0.25), (0, 0.1, 0.5), (0, 0.15, 0.75), (0, 0.2, 1.0),
              (1, 0.3, 0.1), (1, 0.45, 0.3), (1, 0.55, 0.4), (1, 1.0, 1.0)]
    assert previews_due(0.25, staged) == [False, True, False, False, True, False, True, False]
    # Steps bigger than the marks: one preview per step, never at the end.
    assert previews_due(0.25, [(0, 0.6, 0.6), (0, 1.0, 1.0)]) == [True, False]
