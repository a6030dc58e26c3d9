"""The durable job queue: fair order, limits, positions, recovery, cancel, delivery, stats."""

from __future__ import annotations

import dataclasses

import pytest
import pytest_asyncio

from bot.jobs.fair_order import FRAME_PRIOR_S
from bot.jobs.model import Job, JobRequest, JobStatus, QueueFull, UserLimitReached
from bot.jobs.queue import SqliteJobQueue
from bot.settings import JobSettings
from bot.store import Store

pytestmark = pytest.mark.asyncio

A, B, C, D = 101, 102, 103, 104


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest_asyncio.fixture
async def store(tmp_path):
    store = await Store.open(tmp_path / "jobs.db")
    yield store
    await store.close()


@pytest.fixture
def queue(store, clock):
    return SqliteJobQueue(store, max_queued_per_user=3, max_queue=100, clock=clock)


def request(user_id: int, chat_id: int | None = None, tag: str = "") -> JobRequest:
    return JobRequest(
        chat_id=chat_id if chat_id is not None else user_id,
        user_id=user_id,
        chat_type="private",
        reply_to_message_id=7,
        content_file_id=f"content-{user_id}{tag}",
        style_file_id=None,
        preset="wave",
        settings=JobSettings(),
    )


async def finish(queue: SqliteJobQueue, job: Job, message_id: int = 1) -> None:
    await queue.complete(job.id, f"/tmp/result-{job.id}.png", seconds=1.0)
    await queue.mark_delivered(job.id, message_id)


async def drain(queue: SqliteJobQueue, clock: Clock | None = None) -> list[int]:
    """Claims and finishes jobs until none is left; returns their ids in claim order."""
    order = []
    while (job := await queue.claim()) is not None:
        order.append(job.id)
        if clock is not None:
            clock.now += 10
        await finish(queue, job)
    return order


async def test_enqueue_stores_the_request_durably(tmp_path, clock):
    store = await Store.open(tmp_path / "durable.db")
    queue = SqliteJobQueue(store, clock=clock)
    req = request(A)
    req.settings = req.settings.with_(size_scale=0.7)
    job = await queue.enqueue(req)
    await store.close()

    store = await Store.open(tmp_path / "durable.db")
    try:
        again = await SqliteJobQueue(store).get(job.id)
        assert again == job
        assert again.status is JobStatus.QUEUED
        assert again.attempts == 0
        assert again.created_at == clock.now
        assert again.settings.size_scale == 0.7
        assert again.content_file_id == req.content_file_id
        assert again.active
    finally:
        await store.close()


async def test_round_robin_across_users(queue):
    a1, a2, a3 = [await queue.enqueue(request(A, tag=str(i))) for i in range(3)]
    b1 = await queue.enqueue(request(B))
    c1 = await queue.enqueue(request(C))
    assert await drain(queue) == [a1.id, b1.id, c1.id, a2.id, a3.id]


async def test_a_recently_served_user_waits_for_the_others(queue):
    a1 = await queue.enqueue(request(A, tag="1"))
    await finish(queue, await queue.claim())
    a2 = await queue.enqueue(request(A, tag="2"))  # enqueued before B and C, served after
    b1 = await queue.enqueue(request(B))
    c1 = await queue.enqueue(request(C))
    assert a1.id < a2.id < b1.id
    assert await drain(queue) == [b1.id, c1.id, a2.id]


async def test_one_computing_job_per_user(queue):
    a1 = await queue.enqueue(request(A, tag="1"))
    a2 = await queue.enqueue(request(A, tag="2"))
    claimed = await queue.claim()
    assert claimed.id == a1.id
    assert claimed.status is JobStatus.RUNNING and claimed.attempts == 1
    assert await queue.claim() is None  # A is busy and nobody else waits
    b1 = await queue.enqueue(request(B))
    assert (await queue.claim()).id == b1.id
    # Once A's result is computed, delivering it no longer holds A's slot.
    await queue.complete(a1.id, "/tmp/a1.png", seconds=1.0)
    assert (await queue.claim()).id == a2.id


async def test_per_user_queued_limit(store, clock):
    queue = SqliteJobQueue(store, max_queued_per_user=2, clock=clock)
    for i in range(2):
        await queue.enqueue(request(A, tag=str(i)))
    with pytest.raises(UserLimitReached) as refused:
        await queue.enqueue(request(A, chat_id=-500))  # the limit is per user, across chats
    assert (refused.value.waiting, refused.value.limit) == (2, 2)
    await queue.enqueue(request(B))  # others are unaffected
    await queue.claim()  # A's first job leaves the queue: room for one more
    await queue.enqueue(request(A, tag="again"))
    with pytest.raises(UserLimitReached):
        await queue.enqueue(request(A, tag="too many"))


async def test_global_cap(store, clock):
    queue = SqliteJobQueue(store, max_queued_per_user=3, max_queue=3, clock=clock)
    for user in (A, B, C):
        await queue.enqueue(request(user))
    with pytest.raises(QueueFull) as refused:
        await queue.enqueue(request(D))
    assert refused.value.limit == 3
    await queue.claim()  # running jobs do not count against the cap
    await queue.enqueue(request(D))


async def test_enqueue_many_takes_all_or_nothing(store, clock):
    """A style battle's jobs: queued together only if the caps leave room for all."""
    queue = SqliteJobQueue(store, max_queued_per_user=3, max_queue=5, clock=clock)
    await queue.enqueue(request(A))
    with pytest.raises(UserLimitReached) as refused:
        await queue.enqueue_many([request(A, tag=str(i)) for i in range(3)])
    assert (refused.value.waiting, refused.value.limit) == (1, 3)
    jobs = await queue.enqueue_many([request(A, tag=str(i)) for i in range(2)])
    assert [job.content_file_id for job in jobs] == ["content-1010", "content-1011"]
    assert all(job.status == JobStatus.QUEUED for job in jobs)
    with pytest.raises(QueueFull):
        await queue.enqueue_many([request(B, tag=str(i)) for i in range(3)])
    assert len(await queue.queue_snapshot()) == 3  # nothing of the refused ones stayed


async def test_position_matches_claim_order_and_eta_uses_recent_durations(queue, clock):
    first = await queue.enqueue(request(D))
    assert await queue.position(first.id) == (0, None)  # no history yet: no ETA
    await queue.claim()
    clock.now += 30
    await finish(queue, await queue.get(first.id))  # one 30 s job of history

    jobs = [await queue.enqueue(request(A, tag=str(i))) for i in range(3)]
    jobs += [await queue.enqueue(request(user)) for user in (B, C)]
    positions = {job.id: await queue.position(job.id) for job in jobs}
    by_position = sorted(positions, key=lambda job_id: positions[job_id][0])
    assert sorted(p for p, _ in positions.values()) == [0, 1, 2, 3, 4]
    assert [eta for _, eta in sorted(positions.values())] == [30.0, 60.0, 90.0, 120.0, 150.0]

    claimed = await queue.claim()
    assert claimed.id == by_position[0]
    clock.now += 10
    # The running job counts as ahead; its expected remaining time is 30 - 10 s.
    assert await queue.position(claimed.id) == (0, 20.0)
    assert await queue.position(by_position[1]) == (1, 20.0 + 30.0)
    clock.now += 20
    await finish(queue, claimed)  # history now 30 s and 30 s

    assert [claimed.id, *await drain(queue, clock)] == by_position
    assert await queue.position(by_position[0]) == (0, None)  # done: no position


async def test_eta_averages_only_the_last_twenty_jobs(queue, clock):
    for seconds in [1000] * 5 + [10] * 20:
        job = await queue.enqueue(request(A))
        await queue.claim()
        clock.now += seconds
        await finish(queue, job)
    waiting = await queue.enqueue(request(B))
    assert await queue.position(waiting.id) == (0, 10.0)


async def test_retried_jobs_go_first_with_merged_settings(queue):
    a1 = await queue.enqueue(request(A, tag="1"))
    running = await queue.claim()
    await queue.enqueue(request(A, tag="2"))
    b1 = await queue.enqueue(request(B))
    await queue.retry_later(running.id, settings=running.settings.with_(size_scale=0.7))

    retried = await queue.get(a1.id)
    assert retried.status is JobStatus.QUEUED and retried.started_at is None
    assert retried.settings == JobSettings(size_scale=0.7)
    assert await queue.position(a1.id) == (0, None)
    again = await queue.claim()
    assert again.id == a1.id and again.attempts == 2
    await finish(queue, again)
    assert (await queue.claim()).id == b1.id


async def test_recover_requeues_interrupted_jobs_and_gives_up_after_max_attempts(queue):
    interrupted = await queue.enqueue(request(A))
    computed = await queue.enqueue(request(B))
    untouched = await queue.enqueue(request(C))
    await queue.claim()
    await queue.claim()
    await queue.complete(computed.id, "/tmp/b.png", seconds=1.0)

    # Restart: the computing job goes back to the queue; the computed one waits for delivery.
    requeued, failed = await queue.recover(max_attempts=2)
    assert [job.id for job in requeued] == [interrupted.id] and failed == []
    assert requeued[0].status is JobStatus.QUEUED and requeued[0].attempts == 1
    assert (await queue.get(untouched.id)).status is JobStatus.QUEUED
    assert [job.id for job in await queue.pending_delivery()] == [computed.id]

    # The retried job is first in line; its second interruption is the last allowed.
    second = await queue.claim()
    assert second.id == interrupted.id and second.attempts == 2
    requeued, failed = await queue.recover(max_attempts=2)
    assert requeued == []
    assert [job.id for job in failed] == [interrupted.id]
    assert failed[0].status is JobStatus.FAILED and "giving up" in failed[0].error
    assert failed[0].finished_at is not None
    assert (await queue.claim()).id == untouched.id
    assert await queue.claim() is None  # a failed job is never claimed again


async def test_cancel_touches_only_that_user_in_that_chat(queue):
    group = -1000
    running = await queue.enqueue(request(A, chat_id=group, tag="1"))
    queued = await queue.enqueue(request(A, chat_id=group, tag="2"))
    elsewhere = await queue.enqueue(request(A, chat_id=A))
    neighbour = await queue.enqueue(request(B, chat_id=group))
    assert (await queue.claim()).id == running.id

    cancelled = await queue.cancel(group, A)
    assert [(job.id, job.status) for job in cancelled] == [
        (running.id, JobStatus.RUNNING),  # as they were: the caller stops the running one
        (queued.id, JobStatus.QUEUED),
    ]
    for job_id in (running.id, queued.id):
        job = await queue.get(job_id)
        assert job.status is JobStatus.CANCELLED and job.finished_at is not None
    # The worker finishing a cancelled job does not revive it.
    await queue.complete(running.id, "/tmp/late.png", seconds=1.0)
    await queue.retry_later(running.id)
    await queue.fail(running.id, "late error")
    assert (await queue.get(running.id)).status is JobStatus.CANCELLED
    assert await queue.pending_delivery() == []

    assert sorted(await drain(queue)) == sorted([elsewhere.id, neighbour.id])
    assert await queue.cancel(group, A) == []


async def test_a_result_is_delivered_at_most_once(queue):
    job = await queue.enqueue(request(A))
    await queue.set_status_message(job.id, 55)
    await queue.claim()
    await queue.complete(job.id, "/tmp/a.png", seconds=1.0)
    [pending] = await queue.pending_delivery()
    assert pending.result_path == "/tmp/a.png" and pending.status is JobStatus.RUNNING
    assert pending.status_message_id == 55

    await queue.mark_delivered(job.id, 900)
    await queue.mark_delivered(job.id, 901)  # a retried send must not overwrite the record
    done = await queue.get(job.id)
    assert done.status is JobStatus.DONE and done.delivered_message_id == 900
    assert done.finished_at is not None
    assert await queue.pending_delivery() == []
    assert await queue.claim() is None
    await queue.retry_later(job.id)  # DONE stays DONE
    assert (await queue.get(job.id)).status is JobStatus.DONE


async def test_stats_and_snapshot(queue, clock):
    since = clock.now
    for user, seconds in ((A, 10), (B, 30)):
        job = await queue.enqueue(request(user))
        await queue.claim()
        clock.now += seconds
        await finish(queue, job)
    broken = await queue.enqueue(request(C))
    await queue.claim()
    await queue.fail(broken.id, "worker crashed twice")
    running = await queue.enqueue(request(A, tag="r"))
    await queue.claim()
    waiting = [await queue.enqueue(request(user, tag="w")) for user in (A, B, A)]
    await queue.cancel(B, B)

    stats = await queue.stats(since)
    assert stats["by_status"] == {
        "queued": 2,
        "running": 1,
        "done": 2,
        "failed": 1,
        "cancelled": 1,
    }
    assert stats["total"] == 7
    assert stats["queue_depth"] == 2 and stats["running"] == 1
    assert stats["mean_seconds"] == pytest.approx(20.0)
    assert stats["failures"] == 1
    assert stats["recent_errors"] == [(broken.id, "worker crashed twice")]
    assert (await queue.stats(clock.now + 1))["total"] == 0

    snapshot = await queue.queue_snapshot()
    assert [job.id for job in snapshot] == [running.id, waiting[0].id, waiting[2].id]
    assert [job.status for job in snapshot] == [
        JobStatus.RUNNING,
        JobStatus.QUEUED,
        JobStatus.QUEUED,
    ]


async def test_jobs_stored_by_older_versions_still_load(queue):
    """The settings column is JSON: rows written with the old untyped dict (and hand-edited
    ones) load into `JobSettings`, with defaults for what is missing or unusable."""
    job = await queue.enqueue(request(A))
    rows = {
        '{"quality": "high", "strength": "low", "preserve_colors": true, "as_file": false, '
        '"previews": true, "size_scale": 0.7}': JobSettings(
            quality="high", strength="low", preserve_colors=True, size_scale=0.7),
        '{"quality": "fast"}': JobSettings(quality="fast"),
        '{"quality": "ultra", "size_scale": "big", "future": 1}': JobSettings(),
        '{"size_scale": 7}': JobSettings(),
        "not json": JobSettings(),
        "[]": JobSettings(),
    }
    for text, expected in rows.items():
        async with queue.store.transaction() as db:
            await db.execute("UPDATE jobs SET settings = ? WHERE id = ?", (text, job.id))
        assert (await queue.get(job.id)).settings == expected, text


async def test_a_clips_estimate_counts_its_frames(queue, clock):
    """Pictures are estimated by the recent pictures; a clip by its frames times the recent
    clips' time per frame (before any clip finished, at `FRAME_PRIOR_S` a frame)."""
    photo = await queue.enqueue(request(A))
    await queue.claim()
    clock.now += 40
    await finish(queue, photo)
    first_clip = await queue.enqueue(clip_request(B, frames=30))
    behind = await queue.enqueue(request(D, tag="behind"))
    # No clip finished yet: a prior per frame, not one picture's time.
    assert await queue.position(first_clip.id) == (0, 30 * FRAME_PRIOR_S)
    assert await queue.position(behind.id) == (1, 30 * FRAME_PRIOR_S + 40.0)
    await queue.claim()
    clock.now += 15  # 0.5 s per frame
    await finish(queue, first_clip)
    await queue.claim()
    clock.now += 40
    await finish(queue, behind)

    long = await queue.enqueue(clip_request(C, frames=150))
    after = await queue.enqueue(request(D))
    assert await queue.position(long.id) == (0, 75.0)
    assert await queue.position(after.id) == (1, 75.0 + 40.0)
    await queue.claim()
    clock.now += 25
    assert await queue.position(long.id) == (0, 50.0)  # running: 75 s expected, 25 s done
    assert await queue.position(after.id) == (1, 50.0 + 40.0)


def clip_request(user_id: int, frames: int) -> JobRequest:
    return dataclasses.replace(request(user_id), media="clip", frames=frames)


async def test_the_time_per_frame_is_learnt_from_the_frames_painted(queue, clock):
    """A clip stated as 150 frames that had 60 is 0.5 s a frame, not 0.2: the estimate learns
    from what was painted, and where a clip longer than the limit was cut is kept."""
    clip = await queue.enqueue(clip_request(A, frames=150))
    await queue.claim()
    clock.now += 30
    await queue.complete(clip.id, "/tmp/clip.mp4", seconds=30.0, frames=60, cut_at_s=10.0)
    done = await queue.get(clip.id)
    assert (done.frames, done.cut_at_s) == (60, 10.0)
    await queue.mark_delivered(clip.id, 1)
    nxt = await queue.enqueue(clip_request(B, frames=100))
    assert await queue.position(nxt.id) == (0, 50.0)


async def test_one_slow_first_job_does_not_lift_every_estimate(queue, clock):
    """The estimate is the median of the recent jobs: a worker's cold first job (60 s among
    jobs of 2 s) leaves it at 2 s a picture, where the mean would say 17."""
    for user, seconds in zip((A, B, C, D), (60, 2, 2, 2), strict=True):
        job = await queue.enqueue(request(user))
        await queue.claim()
        clock.now += seconds
        await finish(queue, job)
    waiting = [await queue.enqueue(request(user, tag="again")) for user in (A, B)]
    assert [await queue.position(job.id) for job in waiting] == [(0, 2.0), (1, 4.0)]
