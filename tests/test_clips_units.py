"""Moving pictures, piece by piece: which messages carry a clip, how a clip job is painted
(limits, round, smaller after running out of memory), the strength, and the payload that
takes a clip to a remote worker."""

from __future__ import annotations

import dataclasses

import pytest
from telegram import Message

from bot.config import Config
from bot.jobs.model import Job, JobStatus
from bot.jobs.remote.wire import TaskPayload
from bot.jobs.runner import clip_spec
from bot.jobs.work import ClipSpec
from bot.settings import JobSettings
from bot.telegram.files import NotAStillImage, image_in
from stylecore.params import DEFAULT, STYLE_STRENGTHS

MEDIA = {"file_id": "F", "file_unique_id": "U", "file_size": 1000}


def message(**content) -> Message:
    return Message.de_json({"message_id": 1, "date": 0,
                            "chat": {"id": 1, "type": "private"}, **content}, None)


@pytest.mark.parametrize("content, kind, media, duration", [
    ({"animation": {**MEDIA, "width": 64, "height": 48, "duration": 3},
      "document": {**MEDIA, "mime_type": "video/mp4"}}, "animation", "clip", 3),
    ({"video": {**MEDIA, "width": 64, "height": 48, "duration": 7}}, "video", "clip", 7),
    ({"video_note": {**MEDIA, "length": 240, "duration": 5}}, "video_note", "round", 5),
    ({"document": {**MEDIA, "mime_type": "image/gif"}}, "document", "clip", None),
    ({"sticker": {**MEDIA, "type": "regular", "width": 512, "height": 512,
                  "is_animated": False, "is_video": True}}, "video_sticker", "clip", None),
    ({"document": {**MEDIA, "mime_type": "image/png"}}, "document", "photo", None),
])
def test_which_messages_carry_a_clip(content, kind, media, duration):
    ref = image_in(message(**content))
    assert (ref.kind, ref.media, ref.duration) == (kind, media, duration)


def test_an_animated_sticker_is_no_picture():
    with pytest.raises(NotAStillImage):
        image_in(message(sticker={**MEDIA, "type": "regular", "width": 512, "height": 512,
                                  "is_animated": True, "is_video": False}))


def test_a_clips_frames_are_its_duration_at_the_frame_rate_within_the_limit():
    ref = image_in(message(video={**MEDIA, "width": 64, "height": 48, "duration": 3}))
    assert ref.frames(max_seconds=10, max_fps=15) == 45
    assert ref.frames(max_seconds=2, max_fps=15) == 30
    unknown = image_in(message(document={**MEDIA, "mime_type": "image/gif"}))
    assert unknown.frames(max_seconds=10, max_fps=15) == 150  # the most it may be


def job(media: str, size_scale: float = 1.0) -> Job:
    return Job(chat_id=1, user_id=1, chat_type="private", reply_to_message_id=None,
               content_file_id="F", style_file_id=None, preset="wave",
               settings=JobSettings(size_scale=size_scale), media=media, frames=45, id=1,
               status=JobStatus.RUNNING, attempts=1, created_at=0, started_at=0,
               finished_at=None, error=None, status_message_id=None, result_path=None,
               delivered_message_id=None)


def test_a_clip_job_is_painted_within_the_operators_limits_and_smaller_after_oom():
    config = dataclasses.replace(Config(token="t"), clip_max_seconds=6.0, clip_max_fps=12,
                                 clip_max_side=400)
    assert clip_spec(job("photo"), config) is None
    assert clip_spec(job("clip"), config) == ClipSpec(6.0, 12, 400, round_note=False)
    assert clip_spec(job("round"), config).round_note
    assert clip_spec(job("clip", size_scale=0.7), config).max_side == 280


def test_a_weaker_style_keeps_more_of_the_clip():
    from stylecore.instant.run import style_mix  # what every frame's painting uses

    mixes = [style_mix(STYLE_STRENGTHS[name]) for name in ("low", "normal", "high")]
    assert 0 < mixes[0] < mixes[1] == 1.0 < mixes[2]


def test_a_clip_travels_to_remote_workers_with_its_limits():
    payload = TaskPayload(7, "d1", "k:content", [("k:style0", 1.0)], DEFAULT, 0.25,
                          clip=ClipSpec(10.0, 15, 480, round_note=True))
    assert TaskPayload.from_json(payload.to_json()) == payload
    photo = TaskPayload(7, "d1", "k:content", [("k:style0", 1.0)], DEFAULT, 0.25)
    assert TaskPayload.from_json(photo.to_json()).clip is None
