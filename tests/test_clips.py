"""Clips: decoding within limits, painting with steady strokes, encoding the Telegram way,
stickers, and bad input. Every clip is made here with PyAV (tiny sizes); nothing is committed."""

from __future__ import annotations

import types
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from benchmarks.toy_painter import ToyPainter
from stylecore.clips.animate import stylize_clip
from stylecore.clips.decode import ClipLimits, open_clip, probe_clip
from stylecore.clips.sticker_making import make_sticker, make_video_sticker
from stylecore.errors import Cancelled, ClipError

WIDTH, HEIGHT = 64, 48


def texture(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth random picture (float32 RGB) that optical flow can follow."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray((rng.random((height // 8 + 2, width // 8 + 2, 3)) * 255)
                             .astype(np.uint8))
    return np.asarray(coarse.resize((width + 64, height + 64), Image.BICUBIC),
                      np.float32) / 255.0


def pan(frames: int, width: int = WIDTH, height: int = HEIGHT, step: int = 2) -> list[np.ndarray]:
    """A camera moving right over a texture, `step` px a frame."""
    picture = texture(width, height)
    return [picture[8:8 + height, step * t:step * t + width] for t in range(frames)]


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 12, *,
               codec: str = "libx264", pts: list[int] | None = None,
               rotation: int | None = None, pix_fmt: str = "yuv420p",
               fmt: str = "rgb24") -> Path:
    """Encodes `frames` (float RGB or uint8 RGB/RGBA) with PyAV directly."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.height, stream.width = frames[0].shape[:2] if frames else (HEIGHT, WIDTH)
        stream.pix_fmt = pix_fmt
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for index, image in enumerate(frames):
            pixels = image if image.dtype == np.uint8 else (
                np.clip(image, 0, 1) * 255).round().astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format=fmt)
            if pts is not None:
                frame.pts, frame.time_base = pts[index], Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def identity(frame: np.ndarray) -> np.ndarray:
    return frame


def decoded(path: Path, limits: ClipLimits | None = None) -> list[np.ndarray]:
    return [frame.image for frame in open_clip(path, limits or ClipLimits())]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- round trip


def test_round_trip_is_a_silent_looping_h264_mp4_with_the_same_pictures(tmp_path: Path):
    frames = pan(12)
    source = write_clip(tmp_path / "in.mp4", frames)
    info = probe_clip(source)
    assert (info.has_video, info.width, info.height, info.frames) == (True, WIDTH, HEIGHT, 12)
    assert info.fps == pytest.approx(12) and info.duration_s == pytest.approx(1.0, abs=0.1)

    result = stylize_clip(str(source), str(tmp_path / "out.mp4"), identity, ClipLimits())

    assert (result.width, result.height, result.frames) == (WIDTH, HEIGHT, 12)
    assert result.duration_s == pytest.approx(1.0)
    with av.open(result.output_path) as container:
        assert not container.streams.audio
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
    data = Path(result.output_path).read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "the index must come first (faststart)"
    back = decoded(Path(result.output_path))
    assert len(back) == 12
    assert max(float(np.abs(a - b).mean()) for a, b in zip(back, frames, strict=True)) < 0.03
    assert leftovers(tmp_path) == ["in.mp4", "out.mp4"]


@pytest.mark.parametrize(("name", "codec"), [("clip.mov", "libx264"),
                                             ("clip.webm", "libvpx-vp9")])
def test_mov_and_webm_are_read_like_mp4(tmp_path: Path, name: str, codec: str):
    frames = pan(6)
    source = write_clip(tmp_path / name, frames, codec=codec)
    back = decoded(source)
    assert len(back) == 6
    assert float(np.abs(back[3] - frames[3]).mean()) < 0.03


def test_decoder_yields_frames_lazily_one_at_a_time(tmp_path: Path):
    source = write_clip(tmp_path / "in.mp4", pan(12))
    frames = iter(open_clip(source))
    assert isinstance(frames, types.GeneratorType)
    first = next(frames)
    assert first.image.shape == (HEIGHT, WIDTH, 3) and first.image.dtype == np.float32
    assert first.slot == 0
    assert len(list(frames)) == 11


# --------------------------------------------------------------------------- limits


def test_frame_rate_is_resampled_to_max_fps_keeping_the_duration(tmp_path: Path):
    source = write_clip(tmp_path / "in.mp4", pan(30, step=1), fps=30)
    result = stylize_clip(str(source), str(tmp_path / "out.mp4"), identity,
                          ClipLimits(max_fps=10))
    assert result.frames == 10
    assert result.duration_s == pytest.approx(1.0)
    assert probe_clip(result.output_path).fps == pytest.approx(10)


def test_long_clip_stops_at_max_seconds_and_says_where(tmp_path: Path):
    source = write_clip(tmp_path / "in.mp4", pan(24), fps=12)  # 2 s
    result = stylize_clip(str(source), str(tmp_path / "out.mp4"), identity,
                          ClipLimits(max_seconds=1.0))
    assert result.frames == 12
    assert result.duration_s == pytest.approx(1.0)
    assert result.cut_at_s == 1.0
    # Exactly as long as the limit, or shorter: painted whole, nothing said.
    whole = stylize_clip(str(source), str(tmp_path / "whole.mp4"), identity,
                         ClipLimits(max_seconds=2.0))
    assert (whole.frames, whole.cut_at_s) == (24, None)


def test_long_side_is_scaled_to_max_side_and_never_up(tmp_path: Path):
    source = write_clip(tmp_path / "in.mp4", pan(4))
    small = stylize_clip(str(source), str(tmp_path / "small.mp4"), identity,
                         ClipLimits(max_side=32))
    assert (small.width, small.height) == (32, 24)
    same = stylize_clip(str(source), str(tmp_path / "same.mp4"), identity,
                        ClipLimits(max_side=480))
    assert (same.width, same.height) == (WIDTH, HEIGHT)


def test_odd_sized_clip_comes_out_with_even_sides(tmp_path: Path):
    frames = [texture(97, 55)[:55, t:t + 97] for t in range(6)]
    source = write_clip(tmp_path / "odd.mp4", frames, pix_fmt="yuv444p")
    result = stylize_clip(str(source), str(tmp_path / "out.mp4"), identity, ClipLimits())
    assert (result.width, result.height) == (96, 54)


def test_portrait_phone_video_stored_sideways_comes_out_portrait(tmp_path: Path):
    source = write_clip(tmp_path / "in.mp4", pan(6), rotation=90)
    info = probe_clip(source)
    assert (info.width, info.height) == (HEIGHT, WIDTH)
    result = stylize_clip(str(source), str(tmp_path / "out.mp4"), identity, ClipLimits())
    assert (result.width, result.height) == (HEIGHT, WIDTH)


def test_variable_frame_rate_keeps_its_timing(tmp_path: Path):
    # 10 frames over 2 s with a 1 s pause in the middle (times in ms).
    pts = [0, 100, 200, 300, 400, 1400, 1500, 1600, 1700, 1800]
    source = write_clip(tmp_path / "vfr.mp4", pan(10), fps=10, pts=pts)
    result = stylize_clip(str(source), str(tmp_path / "out.mp4"), identity,
                          ClipLimits(max_fps=10))
    assert result.frames == 10  # the pause is a held frame, not ten painted copies
    assert result.duration_s == pytest.approx(1.9, abs=0.11)


def test_gif_of_500_frames_is_painted_within_the_limits(tmp_path: Path):
    indices = (texture(100, 100)[..., 0] * 63).astype(np.uint8)
    palette = (np.arange(64 * 3) % 256).astype(np.uint8).tolist()
    frames = []
    for t in range(500):  # 10 s at 50 frames a second
        frame = Image.fromarray(np.ascontiguousarray(indices[t % 40:t % 40 + 100, :100]), "P")
        frame.putpalette(palette)
        frames.append(frame)
    gif = tmp_path / "long.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=20, loop=0)
    result = stylize_clip(str(gif), str(tmp_path / "out.mp4"), ToyPainter(),
                          ClipLimits(max_seconds=2.0))
    assert (result.width, result.height) == (100, 100)
    assert result.frames == 30  # 2 s at 15 fps of a 50 fps GIF
    assert result.duration_s == pytest.approx(2.0)


def test_webm_with_alpha_is_read_over_white(tmp_path: Path):
    rgba = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    rgba[..., 0], rgba[:, :32, 3] = 200, 255  # left half opaque red, right half transparent
    source = write_clip(tmp_path / "sticker.webm", [rgba] * 6, codec="libvpx-vp9",
                        pix_fmt="yuva420p", fmt="rgba")
    assert probe_clip(source).has_alpha
    image = decoded(source)[0]
    assert image[24, 10] == pytest.approx([200 / 255, 0, 0], abs=0.05)
    assert image[24, 50] == pytest.approx([1, 1, 1], abs=0.05)


# --------------------------------------------------------------------------- bad input


def make_bad(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "not_video":
        path.write_bytes(b"this is not a video at all, just some text" * 50)
    elif kind == "zero_frames":  # a video track without a single frame
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=12)
            stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
            container.start_encoding()
    elif kind == "one_frame":
        write_clip(path, pan(1))
    elif kind == "corrupt":
        data = bytearray(write_clip(path, pan(12)).read_bytes())
        start = data.find(b"mdat") + 8  # keep the index, ruin the pictures
        data[start:] = bytes(len(data) - start)
        path.write_bytes(bytes(data))
    elif kind == "truncated":
        data = write_clip(path, pan(12)).read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "audio_only":
        with av.open(str(path), "w") as container:
            stream = container.add_stream("aac", rate=44100)
            samples = np.zeros((1, 1024 * 20), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 44100
            container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(("kind", "codes"), [
    ("empty", {"empty"}),
    ("not_video", {"not_video"}),
    ("zero_frames", {"too_few_frames", "not_video", "no_video"}),
    ("one_frame", {"too_few_frames"}),
    ("corrupt", {"corrupt", "too_few_frames", "not_video"}),
    ("truncated", {"corrupt", "too_few_frames", "not_video"}),
    ("audio_only", {"no_video"}),
])
def test_bad_input_is_a_typed_error_and_leaves_nothing(tmp_path: Path, kind: str,
                                                       codes: set[str]):
    source = make_bad(kind, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ClipError) as raised:
        stylize_clip(str(source), str(out / "result.mp4"), identity, ClipLimits())
    assert raised.value.code in codes
    assert leftovers(out) == []


def test_audio_only_probes_as_no_video(tmp_path: Path):
    info = probe_clip(make_bad("audio_only", tmp_path))
    assert not info.has_video and info.has_audio


def test_missing_file_is_a_typed_error(tmp_path: Path):
    with pytest.raises(ClipError) as raised:
        probe_clip(tmp_path / "nothing.mp4")
    assert raised.value.code == "missing"


# --------------------------------------------------------------------------- steady strokes


def test_carried_strokes_flicker_less_than_painting_frame_by_frame(tmp_path: Path):
    from benchmarks.measures import warping_error

    source = write_clip(tmp_path / "in.mp4", pan(12, width=96, height=72), fps=12)
    limits = ClipLimits()
    naive = stylize_clip(str(source), str(tmp_path / "naive.mp4"), ToyPainter(), limits,
                         carry=0.0)
    ours = stylize_clip(str(source), str(tmp_path / "ours.mp4"), ToyPainter(), limits)
    inputs = decoded(source)
    naive_error = warping_error(inputs, decoded(Path(naive.output_path)))
    ours_error = warping_error(inputs, decoded(Path(ours.output_path)))
    assert ours.carried > 0.5
    assert ours_error < 0.4 * naive_error


def test_scene_cut_starts_afresh(tmp_path: Path):
    first, second = pan(6), [1.0 - f[::-1] for f in pan(6)]
    source = write_clip(tmp_path / "cut.mp4", first + second)
    result = stylize_clip(str(source), str(tmp_path / "out.mp4"), ToyPainter(), ClipLimits())
    assert result.scene_cuts == 1


def test_cancel_stops_between_frames_and_leaves_nothing(tmp_path: Path):
    source = write_clip(tmp_path / "in.mp4", pan(12))
    painted: list[int] = []
    progress: list[tuple[int, int]] = []

    def painter(frame: np.ndarray) -> np.ndarray:
        painted.append(1)
        return frame

    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Cancelled):
        stylize_clip(str(source), str(out / "result.mp4"), painter, ClipLimits(),
                     on_progress=lambda p: progress.append((p.frame, p.frames)),
                     should_stop=lambda: len(painted) >= 3)
    assert len(painted) == 3
    assert progress == [(1, 12), (2, 12), (3, 12)]
    assert leftovers(out) == []


def test_progress_previews_the_latest_painted_frame(tmp_path: Path):
    source = write_clip(tmp_path / "in.mp4", pan(4))
    previews = []
    stylize_clip(str(source), str(tmp_path / "out.mp4"), lambda f: 1.0 - f, ClipLimits(),
                 on_progress=lambda p: previews.append(p.preview()))
    assert len(previews) == 4
    assert previews[0].shape == (HEIGHT, WIDTH, 3)
    assert float(previews[0].mean()) == pytest.approx(1.0 - float(pan(1)[0].mean()), abs=0.05)


# --------------------------------------------------------------------------- Telegram formats


def test_round_video_note_comes_back_square(tmp_path: Path):
    source = write_clip(tmp_path / "in.mp4", pan(6))
    result = stylize_clip(str(source), str(tmp_path / "note.mp4"), identity, ClipLimits(),
                          round_note=True)
    assert (result.width, result.height) == (HEIGHT, HEIGHT)
    info = probe_clip(result.output_path)
    assert (info.width, info.height, info.codec) == (HEIGHT, HEIGHT, "h264")


def test_static_sticker_is_a_512_px_webp(tmp_path: Path):
    picture = tmp_path / "painting.png"
    Image.fromarray((texture(300, 200)[:200, :300] * 255).astype(np.uint8)).save(picture)
    result = make_sticker(str(picture), str(tmp_path / "sticker.webp"))
    with Image.open(result.output_path) as sticker:
        assert sticker.format == "WEBP"
        assert sticker.size == (512, 341)
    assert result.bytes <= 512 * 1024


def test_video_sticker_is_a_small_vp9_webm_of_at_most_3_seconds(tmp_path: Path):
    rng = np.random.default_rng(1)  # noise: hard to compress, so the size limit matters
    frames = [rng.random((HEIGHT, WIDTH, 3)).astype(np.float32) for _ in range(48)]
    source = write_clip(tmp_path / "painted.mp4", frames, fps=12)  # 4 s
    result = make_video_sticker(str(source), str(tmp_path / "sticker.webm"))
    assert (result.width, result.height) == (512, 384)
    assert result.bytes <= 256 * 1024
    assert result.duration_s <= 3.0
    with av.open(result.output_path) as container:
        assert container.format.name.startswith("matroska,webm")
        assert not container.streams.audio
        assert container.streams.video[0].codec_context.name == "vp9"
    assert leftovers(tmp_path) == ["painted.mp4", "sticker.webm"]
