"""One function maps whatever a job's run raised to what becomes of the job; the Telegram side
words the reason for the user."""

from __future__ import annotations

import pytest

from bot.jobs.model import Job, JobStatus
from bot.jobs.outcomes import Fail, Retry, ShrinkAndRetry, UserCancelled, outcome_of
from bot.jobs.ports import Failure, InputGone, InputTooBig, RecipientGone, Unreachable
from bot.jobs.work import BadInput, JobCancelled, OutOfMemory, WorkerCrashed, WorkerError
from bot.settings import JobSettings
from bot.telegram import texts
from bot.telegram.i18n import ENGLISH, translator
from bot.telegram.presenter import failure_text
from stylecore.errors import ImageError, PresetUnavailable, UnknownPreset


def job(attempts: int = 1, **settings) -> Job:
    return Job(chat_id=1, user_id=1, chat_type="private", reply_to_message_id=None,
               content_file_id="c", style_file_id=None, preset="wave",
               settings=JobSettings(**settings), id=7, status=JobStatus.RUNNING,
               attempts=attempts, created_at=0.0, started_at=0.0, finished_at=None, error=None,
               status_message_id=None, result_path=None, delivered_message_id=None)


@pytest.mark.parametrize(("error", "expected"), [
    (JobCancelled(7), UserCancelled()),
    (WorkerCrashed("killed by SIGKILL"), Retry("worker crashed: killed by SIGKILL")),
    (OutOfMemory("OOM"), ShrinkAndRetry("out of memory")),
    (RecipientGone("blocked"), Fail(None, "the user blocked the bot")),
    (InputGone("gone"), Fail(Failure.INPUT_GONE, "gone")),
    (InputTooBig(30 * 2**20, 20 * 2**20), Fail(Failure.TOO_BIG, "file too big")),
    (WorkerError("KeyError: 1", "tb"), Fail(Failure.INTERNAL, "KeyError: 1")),
    (RuntimeError("bug"), Fail(Failure.INTERNAL, "RuntimeError: bug")),
])
def test_each_fault_has_its_outcome(error, expected):
    assert outcome_of(error, job()) == expected


def test_out_of_memory_twice_fails_and_network_trouble_backs_off():
    assert outcome_of(OutOfMemory("OOM"), job(size_scale=0.7)) == Fail(
        Failure.OUT_OF_MEMORY, "out of memory")
    assert outcome_of(Unreachable("down"), job(attempts=3)) == Retry("Telegram: down", 8.0)
    assert outcome_of(Unreachable("down"), job(attempts=9)).backoff == 30.0


def test_engine_refusals_keep_the_engines_code_and_data():
    empty = ImageError("empty")
    assert outcome_of(BadInput(empty), job()) == Fail(empty, "empty")
    unknown = UnknownPreset(name="nope", suggestions=["wave"])
    assert outcome_of(unknown, job()).why is unknown


def test_every_failure_is_worded_for_the_user():
    assert failure_text(Failure.TOO_BIG, ENGLISH) == (
        "That file is too big: I can take images up to 20 MB.")
    assert failure_text(Failure.INPUT_GONE, ENGLISH) == ENGLISH(texts.PHOTO_GONE)
    assert failure_text(Failure.OUT_OF_MEMORY, ENGLISH) == ENGLISH(texts.JOB_FAILED_MEMORY)
    assert failure_text(Failure.INTERNAL, ENGLISH) == ENGLISH(texts.JOB_FAILED)
    assert failure_text(Failure.TOO_MANY_ATTEMPTS, ENGLISH) == ENGLISH(texts.JOB_FAILED_RETRIES)
    worded = {failure_text(why, translator("ru")) for why in Failure}
    assert len(worded) == len(Failure) and not worded & {ENGLISH(texts.JOB_FAILED)}


def test_engine_refusals_are_worded_by_the_bot():
    assert failure_text(ImageError("empty"), ENGLISH) == ENGLISH(texts.IMAGE_EMPTY)
    assert failure_text(UnknownPreset(name="nope", suggestions=["wave"]), ENGLISH) == (
        "I don't know a style called “nope”. Did you mean wave?")
    gone = PresetUnavailable("download_failed", name="wave", title="The Great Wave",
                             detail="404")
    assert failure_text(gone, ENGLISH) == (
        "The Great Wave can't be downloaded right now; try another style.")
