"""One function maps whatever a job's run raised to what becomes of the job."""

from __future__ import annotations

import pytest
from telegram.error import Forbidden, NetworkError

from bot.jobs.model import Job, JobStatus
from bot.jobs.outcomes import Cancelled, Fail, Retry, ShrinkAndRetry, outcome_of
from bot.jobs.worker import BadInput, JobCancelled, OutOfMemory, WorkerCrashed, WorkerError
from bot.settings import JobSettings
from bot.telegram import texts
from bot.telegram.files import FileTooBig, FileUnavailable
from stylecore.errors import ImageError, PresetUnavailable, UnknownPreset


def job(attempts: int = 1, **settings) -> Job:
    return Job(chat_id=1, user_id=1, chat_type="private", reply_to_message_id=None,
               content_file_id="c", style_file_id=None, preset="wave",
               settings=JobSettings(**settings), id=7, status=JobStatus.RUNNING,
               attempts=attempts, created_at=0.0, started_at=0.0, finished_at=None, error=None,
               status_message_id=None, result_path=None, delivered_message_id=None, note=None)


@pytest.mark.parametrize(("error", "expected"), [
    (JobCancelled(7), Cancelled()),
    (WorkerCrashed("killed by SIGKILL"), Retry("worker crashed: killed by SIGKILL")),
    (OutOfMemory("OOM"), ShrinkAndRetry("out of memory")),
    (Forbidden("blocked"), Fail(None, "the user blocked the bot")),
    (FileUnavailable("gone"), Fail(texts.PHOTO_GONE, "gone")),
    (WorkerError("KeyError: 1", "tb"), Fail(texts.JOB_FAILED, "KeyError: 1")),
    (RuntimeError("bug"), Fail(texts.JOB_FAILED, "RuntimeError: bug")),
])
def test_each_fault_has_its_outcome(error, expected):
    assert outcome_of(error, job()) == expected


def test_out_of_memory_twice_fails_and_network_trouble_backs_off():
    assert outcome_of(OutOfMemory("OOM"), job(size_scale=0.7)) == Fail(
        texts.JOB_FAILED_MEMORY, "out of memory")
    assert outcome_of(NetworkError("down"), job(attempts=3)) == Retry("Telegram: down", 8.0)
    assert outcome_of(NetworkError("down"), job(attempts=9)).backoff == 30.0
    too_big = outcome_of(FileTooBig(30 * 2**20), job())
    assert isinstance(too_big, Fail) and "MB" in too_big.text


def test_engine_refusals_are_worded_by_the_bot():
    bad = outcome_of(BadInput(ImageError("empty")), job())
    assert bad == Fail(texts.IMAGE_EMPTY, "empty")
    unknown = outcome_of(UnknownPreset(name="nope", suggestions=["wave"]), job())
    assert unknown.text == "I don't know a style called “nope”. Did you mean wave?"
    gone = outcome_of(PresetUnavailable("download_failed", name="wave", title="The Great Wave",
                                        detail="404"), job())
    assert gone.text == "The Great Wave can't be downloaded right now; try another style."
