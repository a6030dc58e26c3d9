"""End to end, moving pictures and stickers (issue #20): GIFs, videos, video notes and video
stickers painted and sent back the Telegram way, the Sticker and "Add to my pack" buttons,
/pack and /forget, against the fake Bot API with a real worker process and tiny clips (64x48,
8 frames, made here with PyAV)."""

from __future__ import annotations

import io
import os
import signal
import sqlite3

import av
import numpy as np
import pytest
from PIL import Image

from bot.jobs.work_area import WorkArea
from bot.telegram import kind_texts, texts
from tests.conditions import all_finished, until, until_blocking
from tests.fake_telegram import (
    ADMIN_ID,
    ALICE,
    BOB,
    Call,
    FakeTelegram,
    User,
    bot_process,
    content_photo,
    group_chat,
    private_chat,
    replies_to,
    result_for,
    run_bot,
    tiny_clip,
)
from tests.remote_servers import RedisServer, settled, workers

pytestmark = pytest.mark.usefixtures("presets_dir")
async_test = pytest.mark.asyncio(loop_scope="module")

WIDTH, HEIGHT = 64, 48


def decoded_frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def assert_painted_clip(data: bytes, size: tuple[int, int]) -> list[np.ndarray]:
    """The upload is a video of `size` (width, height) with several frames that differ from
    each other (it moves) and are not the input's gradient untouched."""
    frames = decoded_frames(data)
    assert len(frames) >= 4
    assert (frames[0].shape[1], frames[0].shape[0]) == size
    assert np.abs(frames[0].astype(float) - frames[-1].astype(float)).mean() > 1.0
    return frames


@async_test
async def test_a_gif_in_a_private_chat_comes_back_as_a_painted_animation(
        fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        sent = fake.user_sends_clip(chat, ALICE, "animation", tiny_clip(), duration=1)
        ask = await fake.wait_for("sendMessage", replies_to(sent))
        assert ask.text == kind_texts.CHOOSE_STYLE["gif"]
        fake.user_taps(next(data for _, data in ask.buttons() if data.endswith(":mosaic")),
                       fake.message(chat.id, ask.message_id))
        result = await fake.wait_for("sendAnimation", result_for(sent), timeout=120)
    assert (result.params["width"], result.params["height"]) == (WIDTH, HEIGHT)
    assert result.params["duration"] == 1
    assert result.text.startswith("mosaic · 64×48 · painted in ")
    assert "\n" not in result.text  # painted whole: nothing to add
    assert_painted_clip(result.upload(), (WIDTH, HEIGHT))
    labels = [data for _, data in result.buttons()]
    assert any(data.startswith("r:") for data in labels)


@async_test
async def test_a_video_note_comes_back_as_a_round_video_note(fake: FakeTelegram, tmp_path,
                                                             worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        sent = fake.user_sends_clip(chat, ALICE, "video_note", tiny_clip(width=48),
                                    caption="mosaic", width=48, duration=1)
        result = await fake.wait_for("sendVideoNote", replies_to(sent), timeout=120)
    assert result.params["length"] == 48
    assert_painted_clip(result.upload(), (48, 48))


@pytest.mark.parametrize("kind", ["video_sticker", "gif_document", "video"])
@async_test
async def test_video_stickers_gif_files_and_videos_come_back_as_animations(
        fake: FakeTelegram, tmp_path, worker, kind):
    chat = private_chat(ALICE)
    data = {"video_sticker": lambda: tiny_clip("webm", "libvpx-vp9"),
            "gif_document": lambda: tiny_clip("gif", "gif"),
            "video": tiny_clip}[kind]()
    async with run_bot(fake, tmp_path, worker):
        sent = fake.user_sends_clip(chat, ALICE, kind, data, caption="mosaic")
        result = await fake.wait_for("sendAnimation", replies_to(sent), timeout=120)
    assert_painted_clip(result.upload(), (result.params["width"], result.params["height"]))


@async_test
async def test_an_animated_sticker_gets_one_polite_line(fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        sticker = {**fake.add_file(b"tgs", "stickers"), "type": "regular", "width": 512,
                   "height": 512, "is_animated": True, "is_video": False}
        sent = fake.user_sends(chat, ALICE, sticker=sticker)
        answer = await fake.wait_for("sendMessage", replies_to(sent))
    assert answer.text == texts.ANIMATED_STICKER
    assert not fake.find("getFile")


@async_test
async def test_one_length_rule_clips_are_cut_and_say_so_and_too_big_files_refused(
        fake: FakeTelegram, tmp_path, worker):
    """A clip longer than the limit is painted up to the limit, and its caption says so,
    whatever Telegram states: an honest duration, an understated one, a GIF file with none. A
    file over the download limit is refused before anything is downloaded."""
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker, STYLEBOT_CLIP_MAX_SECONDS="0.5"):
        honest = fake.user_sends_clip(chat, ALICE, "video", tiny_clip(), caption="mosaic",
                                      duration=1)  # 8 frames at 8 fps
        understated = fake.user_sends_clip(chat, ALICE, "animation", tiny_clip(),
                                           caption="mosaic", duration=0)
        unstated = fake.user_sends_clip(chat, ALICE, "gif_document", tiny_clip("gif", "gif"),
                                        caption="mosaic")
        for sent in (honest, understated, unstated):
            result = await fake.wait_for("sendAnimation", result_for(sent), timeout=120)
            caption, note = result.text.split("\n")
            assert caption.startswith("mosaic · 64×48 · painted in ")
            assert note == texts.CUT_NOTE.format(seconds=0.5)
            assert 3 <= len(decoded_frames(result.upload())) <= 5  # about half of 8
        big = fake.user_sends_clip(chat, ALICE, "animation", tiny_clip(), file_size=30 * 2**20)
        answer = await fake.wait_for("sendMessage", replies_to(big))
        assert answer.text == texts.CLIP_TOO_BIG.format(limit=20)
    assert not fake.find("getFile", lambda c: c.params["file_id"] == big["animation"]["file_id"])


@async_test
async def test_a_photo_then_a_gif_paints_the_gif_and_a_photo_styles_a_waiting_gif(
        fake: FakeTelegram, tmp_path, worker):
    """A clip is never a style: after a photo, a GIF is new content (the photo no longer
    waits, and its download is deleted at once); a photo sent while a GIF waits is the GIF's
    style."""
    chat = private_chat(ALICE)
    work = WorkArea(tmp_path / "work")
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content_photo())
        await fake.wait_for("sendMessage", replies_to(photo))
        assert work.cached_input(ALICE.id, photo["photo"][-1]["file_id"]) is not None
        gif = fake.user_sends_clip(chat, ALICE, "animation", tiny_clip())
        ask = await fake.wait_for("sendMessage", replies_to(gif))
        assert ask.text == " ".join([kind_texts.CHOOSE_STYLE["gif"], kind_texts.CLEARED["photo"]])
        assert work.cached_input(ALICE.id, photo["photo"][-1]["file_id"]) is None
        fake.user_sends_photo(chat, ALICE, content_photo(32, 32, tint=(90, -40, 0)))
        result = await fake.wait_for("sendAnimation", result_for(gif), timeout=120)
    assert result.text.startswith(texts.STYLE_OWN)


@async_test
async def test_stylize_in_a_group_on_a_gif_someone_else_sent(fake: FakeTelegram, tmp_path,
                                                            worker):
    chat = group_chat()
    async with run_bot(fake, tmp_path, worker):
        gif = fake.user_sends_clip(chat, BOB, "animation", tiny_clip())
        fake.user_sends_text(chat, ALICE, "/stylize mosaic", reply_to=gif)
        result = await fake.wait_for("sendAnimation", result_for(gif), timeout=120)
    assert_painted_clip(result.upload(), (WIDTH, HEIGHT))


@async_test
async def test_surprise_and_battle_on_a_clip(fake: FakeTelegram, tmp_path, worker):
    """/surprise on a video gives an animation; /battle on a GIF an album of painted videos
    (Telegram's albums hold no GIFs), then the vote; /stats counts the clips."""
    chat = group_chat()
    async with run_bot(fake, tmp_path, worker):
        video = fake.user_sends_clip(chat, BOB, "video", tiny_clip())
        fake.user_sends_text(chat, ALICE, "/surprise", reply_to=video)
        await fake.wait_for("sendAnimation", result_for(video), timeout=120)
        gif = fake.user_sends_clip(chat, BOB, "animation", tiny_clip())
        fake.user_sends_text(chat, ALICE, "/battle mosaic swirl", reply_to=gif)
        album = await fake.wait_for("sendMediaGroup", replies_to(gif), timeout=120)
        await fake.wait_for("sendMessage", lambda c: any(
            d.startswith("v:") for _, d in c.buttons()), timeout=30)
        admin = User(ADMIN_ID, "Admin")
        stats = fake.user_sends_text(private_chat(admin), admin, "/stats")
        answer = await fake.wait_for("sendMessage", replies_to(stats))
    assert [item["type"] for item in album.params["media"]] == ["video", "video"]
    for item in album.params["media"]:
        name = item["media"].removeprefix("attach://")
        assert_painted_clip(album.files[name], (item["width"], item["height"]))
    assert texts.STATS_CLIPS.format(clips=3) in answer.text


# ---------------------------------------------------------------------- long clips

LONG_CLIP = {"STYLEBOT_CLIP_MAX_SECONDS": "100", "STYLEBOT_CLIP_MAX_FPS": "15"}
"""Limits that let an 80 s clip through whole: a job long enough to interrupt."""
LONG_FRAMES, LONG_WIDTH, LONG_HEIGHT = 240, 64, 48
"""16 s at 15 fps: about five seconds of painting on 2 CPU cores, interrupted after its first."""
LONG_SECONDS = LONG_FRAMES // 15


def long_clip() -> bytes:
    return tiny_clip(frames=LONG_FRAMES, width=LONG_WIDTH, height=LONG_HEIGHT, fps=15)


def painting_frames(call: Call) -> bool:
    return call.text.startswith("Painting frame ") and f" of {LONG_FRAMES}" in call.text


@async_test
async def test_cancel_mid_clip_stops_between_frames(fake: FakeTelegram, tmp_path, worker):
    """The status says which frame of how many is being painted (over the first painted
    frame); /cancel stops the clip and the worker takes the next job."""
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker, **LONG_CLIP):
        sent = fake.user_sends_clip(chat, ALICE, "video", long_clip(), caption="mosaic",
                                    width=LONG_WIDTH, height=LONG_HEIGHT, duration=LONG_SECONDS)
        # The first painted frame is the preview: the status became a photo.
        await fake.wait_for("sendPhoto", painting_frames, timeout=120)
        fake.user_sends_text(chat, ALICE, "/cancel")
        await fake.wait_for(None, lambda c: c.text == texts.CANCELLED, timeout=60)
        after = fake.user_sends_clip(chat, ALICE, "animation", tiny_clip(), caption="mosaic")
        await fake.wait_for("sendAnimation", result_for(after), timeout=120)
        results = tmp_path / "work" / "results"
        await until(lambda: not list(results.iterdir()), 30, "the delivered result's file removed")
    assert not fake.find("sendAnimation", result_for(sent))


@async_test
async def test_the_worker_killed_mid_clip_paints_it_again_once(fake: FakeTelegram, tmp_path,
                                                               worker):
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker, **LONG_CLIP):
        sent = fake.user_sends_clip(chat, ALICE, "video", long_clip(), caption="mosaic",
                                    width=LONG_WIDTH, height=LONG_HEIGHT, duration=LONG_SECONDS)
        await fake.wait_for("sendPhoto", painting_frames, timeout=120)
        killed = worker.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        await fake.wait_for(None, lambda c: c.text == texts.RETRYING, timeout=60)
        result = await fake.wait_for("sendAnimation", result_for(sent), timeout=300)
        await until(all_finished(tmp_path / "stylebot.db"), 60, "the job finished")
    assert worker.pid not in (None, killed)
    assert len([c for c in fake.find("sendAnimation", result_for(sent))
                if c.error is None]) == 1
    assert len(decoded_frames(result.upload())) == LONG_FRAMES


def test_the_bot_killed_mid_clip_paints_it_again_after_the_restart(tmp_path):
    chat = private_chat(ALICE)
    with FakeTelegram() as fake:
        with bot_process(fake, tmp_path, **LONG_CLIP) as bot:
            sent = fake.user_sends_clip(chat, ALICE, "video", long_clip(), caption="mosaic",
                                        width=LONG_WIDTH, height=LONG_HEIGHT, duration=LONG_SECONDS)
            fake.wait_for_blocking("sendPhoto", painting_frames, timeout=120)
            bot.kill()
            bot.wait(30)
        with bot_process(fake, tmp_path, **LONG_CLIP):
            fake.wait_for_blocking("sendAnimation", result_for(sent), timeout=300)
            until_blocking(all_finished(tmp_path / "stylebot.db"), 60, "the job finished")
        assert len([c for c in fake.find("sendAnimation", result_for(sent))
                    if c.error is None]) == 1


def test_a_remote_worker_killed_mid_clip_hands_it_to_another(tmp_path):
    """Clips travel through Redis to Celery workers like pictures; SIGKILL to the worker
    painting one: the other paints it again and the user gets exactly one animation."""
    chat = private_chat(ALICE)
    redis_server = RedisServer(tmp_path / "redis").start()
    try:
        broker = {"STYLEBOT_BROKER_URL": redis_server.url, "STYLEBOT_HEARTBEAT_S": "0.5"}
        with FakeTelegram() as fake, workers(redis_server, tmp_path, "w1", "w2") as running, \
                bot_process(fake, tmp_path, **broker, **LONG_CLIP):
            sent = fake.user_sends_clip(chat, ALICE, "video", long_clip(), caption="mosaic",
                                        width=LONG_WIDTH, height=LONG_HEIGHT, duration=LONG_SECONDS)
            fake.wait_for_blocking(None, painting_frames, timeout=120)
            victim = next(w for w in running if (info := w.info()) and info.state == "busy")
            victim.kill()
            result = fake.wait_for_blocking("sendAnimation", result_for(sent), timeout=300)
            until_blocking(settled(tmp_path / "stylebot.db", running), 60, "all settled")
            assert len([c for c in fake.find("sendAnimation", result_for(sent))
                        if c.error is None]) == 1
    finally:
        redis_server.stop()
    assert (result.params["width"], result.params["height"]) == (LONG_WIDTH, LONG_HEIGHT)
    assert len(decoded_frames(result.upload())) == LONG_FRAMES


# ---------------------------------------------------------------------- stickers and packs


def tap(fake: FakeTelegram, result: Call, suffix: str, user=None) -> None:
    """Presses the result's button whose data ends in `suffix` (":s" Sticker, ":p" pack)."""
    data = next(data for _, data in result.buttons() if data.startswith("k:")
                and data.endswith(suffix))
    chat_id = result.chat_id
    assert chat_id is not None and result.message_id is not None
    fake.user_taps(data, fake.message(chat_id, result.message_id), user=user)


@async_test
async def test_the_sticker_button_sends_the_painting_as_a_sticker(fake: FakeTelegram, tmp_path,
                                                                 worker):
    """A photo's painting becomes a static WEBP sticker of 512 px, a GIF's a video sticker
    (WEBM, at most 256 KB)."""
    chat = private_chat(ALICE)
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        painted = await fake.wait_for("sendPhoto", result_for(photo), timeout=120)
        tap(fake, painted, ":s")
        still = await fake.wait_for("sendSticker", replies_to({"message_id":
                                                                painted.message_id}))
        gif = fake.user_sends_clip(chat, ALICE, "animation", tiny_clip(), caption="mosaic")
        animated = await fake.wait_for("sendAnimation", result_for(gif), timeout=120)
        tap(fake, animated, ":s")
        moving = await fake.wait_for("sendSticker", replies_to({"message_id":
                                                                 animated.message_id}))
    webp = Image.open(io.BytesIO(still.upload()))
    assert webp.format == "WEBP" and max(webp.size) == 512
    assert still.result["sticker"]["is_video"] is False
    assert moving.result["sticker"]["is_video"] is True
    assert len(moving.upload()) <= 256 * 1024
    assert len(decoded_frames(moving.upload())) >= 4


@async_test
async def test_add_to_my_pack_makes_the_pack_then_adds_and_forget_deletes_it(
        fake: FakeTelegram, tmp_path, worker):
    chat = private_chat(ALICE)
    name = "u101_by_stylebot_test_bot"
    async with run_bot(fake, tmp_path, worker):
        photo = fake.user_sends_photo(chat, ALICE, content_photo(), caption="mosaic")
        painted = await fake.wait_for("sendPhoto", result_for(photo), timeout=120)
        tap(fake, painted, ":p")
        made = await fake.wait_for("sendMessage", lambda c: c.text.startswith(
            "Added to your sticker pack"))
        assert made.text == texts.PACK_ADDED.format(link=f"https://t.me/addstickers/{name}")
        tap(fake, painted, ":p")
        await fake.wait_for("addStickerToSet")
        assert len(fake.find("createNewStickerSet")) == 1
        assert len(fake.sticker_sets[name]["stickers"]) == 2
        # A full pack: the oldest sticker goes to make room for the new one.
        oldest = fake.sticker_sets[name]["stickers"][0]["file_id"]
        fake.sticker_sets[name]["stickers"].extend(
            {**fake.add_file(b"x", "stickers"), "set_name": name, "width": 512, "height": 512,
             "is_animated": False, "is_video": False, "type": "regular"} for _ in range(118))
        tap(fake, painted, ":p")
        await fake.wait_for("addStickerToSet", count=2)
        # Its record forgotten (as the retention forgets a user who had gone): the pack that
        # Telegram still has under the bot's name is adopted, not "name taken".
        with sqlite3.connect(tmp_path / "stylebot.db") as db:
            db.execute("DELETE FROM sticker_packs")
        tap(fake, painted, ":p")
        await fake.wait_for("addStickerToSet", count=3)
        await fake.wait_for("sendMessage", lambda c: c.text == made.text, count=2)
        assert len(fake.find("createNewStickerSet")) == 2  # the one refused as occupied
    async with run_bot(fake, tmp_path, worker):  # the pack survives a restart
        stickers = fake.sticker_sets[name]["stickers"]
        assert len(stickers) == 120 and oldest not in {s["file_id"] for s in stickers}
        asked = fake.user_sends_text(chat, ALICE, "/pack")
        link = await fake.wait_for("sendMessage", replies_to(asked))
        assert link.text == texts.PACK_LINK.format(link=f"https://t.me/addstickers/{name}")
        fake.user_sends_text(chat, ALICE, "/forget")
        await fake.wait_for("deleteStickerSet")
        assert name not in fake.sticker_sets
        asked = fake.user_sends_text(chat, ALICE, "/pack")
        none = await fake.wait_for("sendMessage", replies_to(asked))
    assert none.text == texts.PACK_NONE


@async_test
async def test_pack_in_a_group_by_an_admin_and_a_member_who_never_started_the_bot(
        fake: FakeTelegram, tmp_path, worker):
    chat = group_chat()
    fake.chat_admins[chat.id] = {ALICE.id}
    name = f"g{abs(chat.id)}_by_stylebot_test_bot"
    async with run_bot(fake, tmp_path, worker):
        fake.user_sends_text(private_chat(ALICE), ALICE, "/start")  # Alice knows the bot
        photo = fake.user_sends_photo(chat, BOB, content_photo())
        fake.user_sends_text(chat, ALICE, "/stylize mosaic", reply_to=photo)
        painted = await fake.wait_for("sendPhoto", result_for(photo), timeout=120)
        result_message = fake.message(chat.id, painted.message_id)
        refused = fake.user_sends_text(chat, BOB, "/pack", reply_to=result_message)
        answer = await fake.wait_for("sendMessage", replies_to(refused))
        assert answer.text == texts.GROUP_PACK_ADMINS
        asked = fake.user_sends_text(chat, ALICE, "/pack", reply_to=result_message)
        added = await fake.wait_for("sendMessage", replies_to(asked))
        assert added.text == texts.GROUP_PACK_ADDED.format(
            link=f"https://t.me/addstickers/{name}")
        # Bob never opened a private chat with the bot: Telegram can't make him a pack.
        tap(fake, painted, ":p", user=BOB)
        line = await fake.wait_for("sendMessage", lambda c: c.text == texts.PACK_NEEDS_START
                                   .format(bot="stylebot_test_bot"))
    assert fake.sticker_sets[name]["user_id"] == ALICE.id
    assert fake.chat_sticker_sets[chat.id] == name
    assert line.reply_to == painted.message_id
