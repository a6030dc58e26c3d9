"""What the buttons under a painted clip do (issue #28), end to end against the fake Bot API
with a real worker: each re-run ("Stronger style", "Weaker style", "Keep colours", "Full size
as file") paints the same clip again with its one change, and comes back as a clip; "Sticker"
makes a video sticker and "Add to my pack" puts one into the pack. And a round video longer
than the limit says, in a line of its own (a video note has no caption), where it was cut."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from bot.telegram import texts
from tests.conditions import all_finished, job_rows, until
from tests.fake_telegram import (
    ALICE,
    Call,
    FakeTelegram,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    tiny_clip,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("presets_dir")]


def frames_of(data: bytes) -> np.ndarray:
    """The clip's frames, (N, H, W, 3) float."""
    with av.open(io.BytesIO(data)) as container:
        return np.stack([frame.to_ndarray(format="rgb24").astype(np.float32)
                         for frame in container.decode(video=0)])


def chroma_distance(painted: bytes, source: np.ndarray) -> float:
    """How far the painted clip's colours (chroma: U and V, brightness left out, which a
    painting with kept colours takes from the style) are from the source's, pixel by pixel."""
    def chroma(frames: np.ndarray) -> np.ndarray:
        luma = frames @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.stack([frames[..., 2] - luma, frames[..., 0] - luma], axis=-1)

    frames = frames_of(painted)
    count = min(len(frames), len(source))
    return float(np.abs(chroma(frames[:count]) - chroma(source[:count])).mean())


def difference(painted: bytes, source: np.ndarray) -> float:
    """Mean difference from the source clip, frame by frame."""
    frames = frames_of(painted)
    count = min(len(frames), len(source))
    return float(np.abs(frames[:count] - source[:count]).mean())


async def test_each_button_under_a_painted_gif(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    db = tmp_path / "stylebot.db"
    source = tiny_clip()
    async with run_bot(fake, tmp_path, worker):
        gif = fake.user_sends_clip(chat, ALICE, "animation", source, caption="mosaic")
        result = await fake.wait_for("sendAnimation", result_for(gif), timeout=120)
        buttons = {data.split(":")[-1]: data for _, data in result.buttons()}
        assert set(buttons) == {"up", "down", "col", "file", "s", "p"}

        async def tap(action: str, method: str) -> Call:
            mark = fake.mark()
            fake.user_taps(buttons[action], fake.message(chat.id, result.message_id))
            if method in ("sendAnimation", "sendDocument"):
                sent = await fake.wait_for(method, result_for(gif), after=mark, timeout=120)
            else:
                sent = await fake.wait_for(method, after=mark, timeout=120)
            await until(all_finished(db))
            return sent

        stronger = await tap("up", "sendAnimation")
        weaker = await tap("down", "sendAnimation")
        kept = await tap("col", "sendAnimation")
        as_file = await tap("file", "sendDocument")
        sticker = await tap("s", "sendSticker")
        await tap("p", "createNewStickerSet")
        added = await fake.wait_for("sendMessage", lambda c: c.text.startswith(
            texts.PACK_ADDED.split("{")[0]))

    original, *reruns = job_rows(db)
    assert [job.settings["strength"] for job in reruns] == ["high", "low", "normal", "normal"]
    assert [job.settings["preserve_colors"] for job in reruns] == [False, False, True, False]
    assert [job.settings["as_file"] for job in reruns] == [False, False, False, True]
    # The same clip in the same style each time, with its one change.
    for job in reruns:
        assert (job.content_file_id, job.preset) == (original.content_file_id, "mosaic")
        changed = {k for k, v in job.settings.items() if original.settings[k] != v}
        assert len(changed) == 1
    frames = frames_of(source)
    # A weaker style keeps more of the clip than a stronger one (about half the difference at
    # 64x48); kept colours are the clip's (a quarter of the chroma difference).
    assert difference(weaker.upload(), frames) < 0.8 * difference(stronger.upload(), frames)
    assert chroma_distance(kept.upload(), frames) < 0.5 * chroma_distance(result.upload(), frames)
    # The full size as a file: the MP4, painted, not an animation.
    assert as_file.filenames["document"].endswith(".mp4")
    assert len(frames_of(as_file.upload())) == len(frames)
    # Sticker: a video sticker (WEBM), moving; the pack gets one too.
    assert sticker.result["sticker"]["is_video"] is True
    assert len(frames_of(sticker.upload())) >= 4
    name = f"u{ALICE.id}_by_stylebot_test_bot"
    assert added.text == texts.PACK_ADDED.format(link=f"https://t.me/addstickers/{name}")
    assert [s["is_video"] for s in fake.sticker_sets[name]["stickers"]] == [True]


async def test_a_round_video_cut_at_the_limit_says_so_under_the_note(fake: FakeTelegram,
                                                                       tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker, STYLEBOT_CLIP_MAX_SECONDS="0.5"):
        sent = fake.user_sends_clip(chat, ALICE, "video_note", tiny_clip(width=48),
                                    width=48, duration=1)
        ask = await fake.wait_for("sendMessage", replies_to(sent))
        fake.user_taps(f"p:{sent['message_id']}:mosaic", fake.message(chat.id, ask.message_id))
        note = await fake.wait_for("sendVideoNote", replies_to(sent), timeout=120)
        line = await fake.wait_for("sendMessage", replies_to({"message_id": note.message_id}))
    assert line.text == texts.CUT_NOTE.format(seconds=0.5)
    assert len(frames_of(note.upload())) < 8
