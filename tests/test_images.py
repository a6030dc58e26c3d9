"""Tests for stylecore.images: decoding every supported kind of file, refusing bad ones (with
the bot's words for each refusal), resizing and encoding. All images are generated here."""

from __future__ import annotations

import io
import pickle
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile

from bot.telegram.texts import error_text
from stylecore.images import (
    MAX_ASPECT,
    MAX_PIXELS,
    MIN_SIDE,
    ImageError,
    decode_image,
    encode_image,
    from_uint8,
    image_size,
    resize_long_side,
    resize_to,
    save_image,
    to_uint8,
)

RNG = np.random.default_rng(1234)
REPO = Path(__file__).resolve().parents[1]


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def noise(height: int, width: int) -> Image.Image:
    return Image.fromarray(RNG.integers(0, 256, (height, width, 3), dtype=np.uint8))


def gradient(height: int, width: int) -> np.ndarray:
    """Float RGB: red ramps left to right, green top to bottom, blue constant."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([x / max(width - 1, 1), y / max(height - 1, 1), np.full_like(x, 0.5)], axis=-1)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, rows: bytes, *, bit_depth: int = 8) -> bytes:
    """A hand-made RGB PNG (colour type 2): for headers Pillow cannot write itself."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def assert_rgb_float(image: np.ndarray, height: int, width: int) -> None:
    assert image.shape == (height, width, 3)
    assert image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0


# --------------------------------------------------------------------------- refusals

_JPEG = encode(noise(64, 64), "JPEG")
_PNG = encode(noise(64, 64), "PNG")

REFUSALS = {
    "empty": (b"", "empty"),
    "pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" * 4, "not_image"),
    "text": (b"Hello, this is certainly not a picture.\n" * 8, "not_image"),
    "random bytes": (RNG.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "not_image"),
    "truncated jpeg": (_JPEG[: len(_JPEG) // 2], "corrupt"),
    "truncated png": (_PNG[: len(_PNG) // 2], "corrupt"),
    "jpeg header only": (_JPEG[:200], "corrupt"),
    "png bad crc": (_PNG[:29] + b"\x00\x00\x00\x00" + _PNG[33:], "corrupt"),
    "truncated gif": (encode(noise(64, 64), "GIF")[:300], "corrupt"),
    "bomb header": (png_bytes(100_000, 100_000, b"\x00" * 16), "too_large"),
    "over max_pixels": (png_bytes(8000, 7000, b"\x00" * 16), "too_large"),
    "too small": (encode(noise(18, 20), "PNG"), "too_small"),
    "too thin": (encode(noise(MIN_SIDE, MIN_SIDE * 21), "PNG"), "aspect"),
    "too tall": (encode(noise(MIN_SIDE * 21, MIN_SIDE), "PNG"), "aspect"),
}


@pytest.mark.parametrize(("data", "reason"), REFUSALS.values(), ids=REFUSALS.keys())
def test_refusals(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError) as caught:
        decode_image(data)
    assert caught.value.reason == caught.value.code == reason
    assert str(caught.value).startswith(reason)
    message = error_text(caught.value)
    assert 10 < len(message) < 140 and message.endswith(".")
    assert "Traceback" not in message and "PIL" not in message


def test_refusal_messages_are_specific() -> None:
    def message(data: bytes) -> str:
        with pytest.raises(ImageError) as caught:
            decode_image(data)
        return error_text(caught.value)

    assert message(b"") == "That file is empty."
    assert message(b"plain text, not an image") == "That file is not an image I can read."
    assert "damaged" in message(_JPEG[: len(_JPEG) // 2])
    assert "(20×18 px)" in message(encode(noise(18, 20), "PNG"))
    assert "at least 32 px" in message(encode(noise(18, 20), "PNG"))
    assert "(8000×7000 px)" in message(png_bytes(8000, 7000, b""))
    assert "50 megapixels" in message(png_bytes(8000, 7000, b""))
    assert "20 times" in message(encode(noise(32, 700), "PNG"))


def test_missing_and_empty_paths(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as caught:
        decode_image(tmp_path / "nope.jpg")
    assert caught.value.reason == "missing"
    with pytest.raises(ImageError) as caught:
        decode_image(str(tmp_path))  # a folder is not an image file either
    assert caught.value.reason == "missing"
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError) as caught:
        decode_image(tmp_path / "empty.png")
    assert caught.value.reason == "empty"


def test_image_error_is_a_value_error() -> None:
    assert issubclass(ImageError, ValueError)
    error = ImageError("too_small", width=20, height=18, min_side=32)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ImageError
    assert (copy.code, copy.reason, copy.data) == ("too_small", "too_small", error.data)


def test_wrong_source_type_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        decode_image(12345)  # type: ignore[arg-type]


def test_bomb_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda self: loads.append(self.size) or real_load(self)
    )
    for data in (png_bytes(100_000, 100_000, b"\x00"), png_bytes(10_000, 9_000, b"\x00")):
        with pytest.raises(ImageError) as caught:
            decode_image(data)
        assert caught.value.reason == "too_large"
    with pytest.raises(ImageError) as caught:
        decode_image(encode(noise(40, 40), "PNG"), max_pixels=1_000)
    assert caught.value.reason == "too_large"
    assert loads == []
    assert decode_image(encode(noise(40, 40), "PNG"), max_pixels=1_600).shape == (40, 40, 3)
    assert loads and set(loads) == {(40, 40)}


def test_limits_are_adjustable() -> None:
    small = encode(noise(16, 16), "PNG")
    assert decode_image(small, min_side=16).shape == (16, 16, 3)
    long = encode(noise(40, 1200), "PNG")
    assert decode_image(long, max_aspect=30).shape == (40, 1200, 3)
    assert MAX_ASPECT == 20.0 and MAX_PIXELS == 50_000_000 and MIN_SIDE == 32


def test_truncated_refused_even_if_pillow_was_told_to_allow_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageError) as caught:
        decode_image(_JPEG[: len(_JPEG) // 2])
    assert caught.value.reason == "corrupt"


def test_unlisted_format_refused() -> None:
    # Pillow could read these, but they are outside the formats the bot accepts.
    data = encode(noise(40, 40), "PPM")
    with pytest.raises(ImageError) as caught:
        decode_image(data)
    assert caught.value.reason == "not_image"


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_formats_decode(fmt: str) -> None:
    colour = (200, 40, 90)
    img = Image.new("RGB", (48, 36), colour)
    extra = {"lossless": True} if fmt == "WEBP" else {}
    out = decode_image(encode(img, fmt, **extra))
    assert_rgb_float(out, 36, 48)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), np.array(colour) / 255, atol=0.03)


def test_decode_from_path_and_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(encode(Image.new("RGB", (40, 40), (0, 255, 0)), "PNG"))
    for source in (path, str(path)):
        out = decode_image(source)
        assert_rgb_float(out, 40, 40)
        np.testing.assert_allclose(out[0, 0], [0, 1, 0])
    assert decode_image(bytearray(path.read_bytes())).shape == (40, 40, 3)


@pytest.mark.parametrize(
    ("img", "expected"),
    [
        (Image.new("RGBA", (40, 40), (255, 0, 0, 0)), (1, 1, 1)),
        (Image.new("RGBA", (40, 40), (255, 0, 0, 255)), (1, 0, 0)),
        (Image.new("RGBA", (40, 40), (0, 0, 0, 128)), (127 / 255, 127 / 255, 127 / 255)),
        (Image.new("LA", (40, 40), (0, 0)), (1, 1, 1)),
        (Image.new("LA", (40, 40), (51, 255)), (0.2, 0.2, 0.2)),
        (Image.new("L", (40, 40), 51), (0.2, 0.2, 0.2)),
        (Image.new("1", (40, 40), 1), (1, 1, 1)),
    ],
    ids=["rgba-clear", "rgba-opaque", "rgba-half", "la-clear", "la-opaque", "l", "1"],
)
def test_modes_png(img: Image.Image, expected: tuple[float, ...]) -> None:
    out = decode_image(encode(img, "PNG"))
    assert_rgb_float(out, 40, 40)
    np.testing.assert_allclose(out[5, 5], expected, atol=2 / 255)


def test_palette_with_transparency_becomes_white() -> None:
    img = Image.new("P", (40, 40), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 20, 40))  # left half red, right half transparent index 0
    for fmt in ("PNG", "GIF"):
        out = decode_image(encode(img, fmt, transparency=0))
        assert_rgb_float(out, 40, 40)
        np.testing.assert_allclose(out[10, 5], [1, 0, 0])
        np.testing.assert_allclose(out[10, 30], [1, 1, 1])


def test_sixteen_bit_gray_scaled_not_clipped() -> None:
    values = np.array([[0, 257 * 51, 32768, 65535]], dtype=np.uint16).repeat(40, 0).repeat(10, 1)
    img = Image.fromarray(values)
    assert img.mode == "I;16"
    for fmt in ("PNG", "TIFF"):
        out = decode_image(encode(img, fmt))
        assert_rgb_float(out, 40, 40)
        np.testing.assert_allclose(out[0, ::10, 0], [0, 0.2, 32768 / 65535, 1.0], atol=1e-6)


def test_sixteen_bit_rgb_png() -> None:
    pixel = struct.pack(">HHH", 65535, 32768, 0)
    rows = (b"\x00" + pixel * 40) * 40
    out = decode_image(png_bytes(40, 40, rows, bit_depth=16))
    assert_rgb_float(out, 40, 40)
    np.testing.assert_allclose(out[3, 3], [1.0, 0.5, 0.0], atol=1 / 255)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.full((40, 40), 40_000, np.int32), 40_000 / 65535),
        (np.full((40, 40), 200, np.int32), 200 / 255),
        (np.full((40, 40), 0.25, np.float32), 0.25),
        (np.full((40, 40), 127.5, np.float32), 0.5),
    ],
    ids=["I-16bit", "I-8bit", "F-unit", "F-8bit"],
)
def test_integer_and_float_modes(values: np.ndarray, expected: float) -> None:
    img = Image.fromarray(values)
    assert img.mode in ("I", "F")
    out = decode_image(encode(img, "TIFF"))
    assert_rgb_float(out, 40, 40)
    np.testing.assert_allclose(out[7, 7], [expected] * 3, atol=1e-5)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_red_stays_red(fmt: str) -> None:
    img = Image.new("CMYK", (40, 40), (0, 255, 255, 0))
    out = decode_image(encode(img, fmt))
    assert_rgb_float(out, 40, 40)
    red, green, blue = out.mean(axis=(0, 1))
    assert red > 0.8 and green < 0.25 and blue < 0.25


def test_srgb_icc_profile_is_harmless() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = Image.new("RGB", (40, 40), (30, 120, 220))
    out = decode_image(encode(img, "PNG", icc_profile=icc))
    np.testing.assert_allclose(out[0, 0], np.array([30, 120, 220]) / 255, atol=3 / 255)


def test_garbage_icc_profile_is_ignored() -> None:
    img = Image.new("RGB", (40, 40), (30, 120, 220))
    out = decode_image(encode(img, "PNG", icc_profile=b"not a profile at all"))
    np.testing.assert_allclose(out[0, 0], np.array([30, 120, 220]) / 255, atol=1e-6)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_6_is_applied(fmt: str) -> None:
    # 40 wide, 60 tall, red block in the stored top-left corner.
    stored = np.zeros((60, 40, 3), np.uint8)
    stored[:10, :10] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    extra = {"lossless": True} if fmt == "WEBP" else {"quality": 95} if fmt == "JPEG" else {}
    out = decode_image(encode(Image.fromarray(stored), fmt, exif=exif.tobytes(), **extra))
    assert_rgb_float(out, 40, 60)  # now 60 wide, 40 tall
    assert out[:10, -10:, 0].mean() > 0.9 and out[:10, -10:, 1:].mean() < 0.1  # top-right
    assert out[:10, :10].mean() < 0.1


def test_broken_exif_does_not_break_decoding() -> None:
    data = encode(Image.new("RGB", (40, 40), (10, 20, 30)), "JPEG", exif=b"Exif\x00\x00garbage")
    assert decode_image(data).shape == (40, 40, 3)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animation_gives_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (40, 40), c) for c in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    extra = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(
        frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **extra
    )
    assert Image.open(io.BytesIO(data)).n_frames == 3
    out = decode_image(data)
    assert_rgb_float(out, 40, 40)
    np.testing.assert_allclose(out[20, 20], [1, 0, 0], atol=0.02)


# --------------------------------------------------------------------------- decoding reduced
# A 160 KB PNG may promise 49 megapixels; a caller that needs a few decodes it reduced.

HUGE_SIDE = 7000
HUGE_COLOUR = (40, 120, 200)


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7000×7000 px of one colour, just under the 50-megapixel limit: about 160 KB on disk."""
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    Image.new("RGB", (HUGE_SIDE, HUGE_SIDE), HUGE_COLOUR).save(path)
    return path


def test_a_huge_png_is_decoded_reduced_without_a_full_size_array(huge_png: Path) -> None:
    data = huge_png.read_bytes()
    tracemalloc.start()  # sees numpy's arrays (not Pillow's own frame: see the next test)
    try:
        out = decode_image(data, needed_side=384)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 2 * 384 <= out.shape[0] == out.shape[1] < 4 * 384
    np.testing.assert_allclose(out[0, 0], np.array(HUGE_COLOUR) / 255, atol=1e-6)
    assert peak < 50e6  # the full size as float32 RGB alone would be 588 MB


def test_decoding_a_huge_png_reduced_takes_no_more_than_the_decoders_frame(huge_png) -> None:
    # In a fresh process, whose peak resident memory covers Pillow's C allocations too.
    script = """
import resource, sys
from stylecore.images import decode_image
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = decode_image(data, needed_side=768)
grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(out.shape[1], out.shape[0], grown_kb // 1024)
"""
    run = subprocess.run([sys.executable, "-c", script, str(huge_png)], cwd=REPO,
                         capture_output=True, text=True, check=True)
    width, height, grown_mb = map(int, run.stdout.split())
    assert (width, height) == (1750, 1750)  # 7000 / 4: the long side stays over 2 × 768
    # Pillow's own 7000×7000 frame is 196 MB (4 bytes per RGB pixel) and cannot be avoided;
    # decoding at full size grew the process by 1.2 GB.
    assert grown_mb < 450


def box_average(image: np.ndarray, factor: int) -> np.ndarray:
    height, width, channels = image.shape
    blocks = image.reshape(height // factor, factor, width // factor, factor, channels)
    return blocks.mean(axis=(1, 3))


def transparent_noise(height: int, width: int) -> Image.Image:
    img = noise(height, width).convert("RGBA")
    img.putalpha(Image.linear_gradient("L").resize((width, height)))
    return img


REDUCIBLE = {
    "RGB": (lambda: noise(300, 400), "PNG", {}),
    "RGBA": (lambda: transparent_noise(300, 400), "PNG", {}),
    "P+transparency": (lambda: noise(300, 400).quantize(16), "PNG", {"transparency": 3}),
    "L": (lambda: noise(300, 400).convert("L"), "PNG", {}),
    "1": (lambda: noise(300, 400).convert("1"), "PNG", {}),
    "I;16": (lambda: Image.fromarray(RNG.integers(0, 65536, (300, 400), dtype=np.uint16)),
             "PNG", {}),
    "CMYK": (lambda: noise(300, 400).convert("CMYK"), "TIFF", {}),
    "GIF": (lambda: noise(300, 400), "GIF", {}),
}


@pytest.mark.parametrize(("make", "fmt", "options"), REDUCIBLE.values(), ids=REDUCIBLE.keys())
def test_a_reduced_decode_is_the_full_decode_box_averaged(make, fmt: str, options) -> None:
    data = encode(make(), fmt, **options)
    full = decode_image(data)
    reduced = decode_image(data, needed_side=40)  # 400 // (2 × 40): reduced 5 times
    assert reduced.shape == (60, 80, 3) and reduced.dtype == np.float32
    np.testing.assert_allclose(reduced, box_average(full, 5), atol=2.5 / 255)


def test_a_big_jpeg_is_scaled_down_by_the_decoder_itself() -> None:
    img = Image.fromarray((gradient(3000, 4000) * 255).astype(np.uint8))
    data = encode(img, "JPEG", quality=90)
    full = decode_image(data)
    reduced = decode_image(data, needed_side=384)
    assert reduced.shape == (750, 1000, 3)  # libjpeg's 1/4 scale, over 2 × 384
    assert np.abs(reduced - box_average(full, 4)).mean() < 0.01


def test_a_truncated_jpeg_is_refused_when_decoded_reduced_too() -> None:
    data = encode(noise(1500, 2000), "JPEG", quality=90)
    with pytest.raises(ImageError) as error:
        decode_image(data[: len(data) * 2 // 3], needed_side=64)
    assert error.value.reason == "corrupt"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_is_applied_to_a_reduced_decode(fmt: str) -> None:
    stored = np.zeros((1200, 800, 3), np.uint8)  # 800 wide, 1200 tall
    stored[:200, :200] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    out = decode_image(encode(Image.fromarray(stored), fmt, exif=exif.tobytes()), needed_side=75)
    assert out.shape == (100, 150, 3)  # reduced 8 times, then turned: 150 wide, 100 tall
    assert out[:10, -10:, 0].mean() > 0.9 and out[:10, -10:, 1:].mean() < 0.1  # top-right
    assert out[:10, :10].mean() < 0.1


def test_an_image_under_twice_the_needed_side_is_decoded_as_it_is() -> None:
    data = encode(noise(960, 1280), "PNG")  # a photo as Telegram sends it, for 768 px jobs
    assert np.array_equal(decode_image(data, needed_side=768), decode_image(data))


def test_limits_apply_to_the_full_size_of_a_reduced_decode() -> None:
    data = encode(Image.new("RGB", (1000, 30), (1, 2, 3)), "PNG")
    with pytest.raises(ImageError) as error:
        decode_image(data, needed_side=32)
    assert error.value.reason == "too_small"


# --------------------------------------------------------------------------- conversion


def test_uint8_conversions() -> None:
    values = np.array([[[-0.5, 0.0, 0.5], [1.0, 2.0, np.nan]]], dtype=np.float32)
    np.testing.assert_array_equal(to_uint8(values), [[[0, 0, 128], [255, 255, 0]]])
    arr = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert to_uint8(arr) is arr
    back = from_uint8(arr)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(to_uint8(back), arr)
    np.testing.assert_allclose(from_uint8(Image.fromarray(arr)), arr / 255, atol=1e-7)
    assert to_uint8(np.array([65535, 0], np.uint16)).tolist() == [255, 0]


def test_image_size() -> None:
    assert image_size(np.zeros((30, 50, 3))) == (50, 30)
    assert image_size(np.zeros((30, 50))) == (50, 30)
    assert image_size(Image.new("RGB", (50, 30))) == (50, 30)


# --------------------------------------------------------------------------- resizing


@pytest.mark.parametrize(
    ("shape", "long_side", "expected"),
    [
        ((300, 400), 200, (150, 200)),
        ((400, 300), 200, (200, 150)),
        ((30, 40), 512, (384, 512)),
        ((101, 57), 1000, (1000, 564)),
        ((64, 64), 64, (64, 64)),
    ],
)
def test_resize_long_side(shape: tuple[int, int], long_side: int, expected: tuple) -> None:
    out = resize_long_side(gradient(*shape), long_side)
    assert_rgb_float(out, *expected)
    assert max(out.shape[:2]) == long_side


def test_resize_keeps_colours_and_has_no_banding() -> None:
    ramp = gradient(16, 64)
    big = resize_long_side(ramp, 1024)
    assert len(np.unique(big[8, :, 0])) > 600  # a smooth ramp, not 256 steps
    assert np.all(np.diff(big[8, 16:-16, 0]) >= -1e-4)  # monotone away from the edges
    np.testing.assert_allclose(big[..., 2], 0.5, atol=1e-5)
    small = resize_long_side(ramp, 16)
    np.testing.assert_allclose(small.mean(axis=(0, 1)), ramp.mean(axis=(0, 1)), atol=0.01)


def test_resize_to() -> None:
    out = resize_to(gradient(20, 30), 45, 10)
    assert_rgb_float(out, 45, 10)
    gray = resize_to(np.full((20, 30), 0.3, np.float32), 7, 9)
    assert gray.shape == (7, 9)
    np.testing.assert_allclose(gray, 0.3, atol=1e-5)
    with pytest.raises(ValueError):
        resize_to(gradient(20, 30), 0, 10)


# --------------------------------------------------------------------------- encoding


def test_png_round_trip_is_exact_to_8_bits() -> None:
    image = gradient(40, 50)
    out = decode_image(encode_image(image, "png"))
    np.testing.assert_allclose(out, image, atol=0.5 / 255 + 1e-6)


def test_jpeg_round_trip_is_close() -> None:
    image = gradient(48, 64)
    data = encode_image(image)
    assert data[:3] == b"\xff\xd8\xff"
    out = decode_image(data)
    assert np.abs(out - image).mean() < 0.01
    assert len(encode_image(image, "jpeg", quality=30)) < len(data)


def test_encode_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        encode_image(gradient(40, 40), "gif")
    with pytest.raises(ValueError):
        encode_image(gradient(40, 40), quality=0)
    with pytest.raises(ValueError):
        encode_image(np.zeros((40, 40, 2), np.float32))


@pytest.mark.parametrize("name", ["a.jpg", "b.JPEG", "c.png", "d.webp"])
def test_save_image(tmp_path: Path, name: str) -> None:
    target = tmp_path / "nested" / "dir" / name
    written = save_image(gradient(40, 60), str(target))
    assert written == target and target.is_file()
    assert decode_image(target).shape == (40, 60, 3)
    assert [p.name for p in target.parent.iterdir()] == [name]  # no temp files left


def test_save_image_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        save_image(gradient(40, 40), tmp_path / "x.gif")
