"""Decoding and encoding images, hardened against whatever users send.

Everything inside the package works on float32 RGB arrays of shape (H, W, 3) in [0, 1].
`decode_image` is the only way in: any file it cannot turn into such an array safely is
refused with an `ImageError` (`stylecore.errors`): a reason code and its data, which the bot
and the command line word for their users.

Memory: a tiny PNG can promise 50 megapixels, 600 MB as float32. A caller that needs only a
few megapixels says so (`needed_side`), and the image is decoded reduced: JPEGs at 1/2 to 1/8
scale by the decoder itself, other formats reduced band by band right after the decoder's
frame, so no other full-size image or float array is made. That one frame (up to 200 MB for a
PNG) cannot be avoided; a program decoding on several threads should take turns (the bot does).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps

from stylecore.errors import ImageError

MIN_SIDE = 32
MAX_ASPECT = 20.0
MAX_PIXELS = 50_000_000
"""Decompression-bomb limit: images whose header promises more pixels are refused unread."""

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
"""Formats Pillow may try. Keeping the list short keeps exotic (and riskier) decoders out."""

DECODE_HEADROOM = 2
"""A reduced decode keeps at least this many times the long side asked for, so the caller's
own resampling to its size still starts from real detail (images under twice that size, such
as Telegram's photos at the bot's sizes, are not reduced at all)."""
_BAND_PIXELS = 1_000_000
"""Pixels converted and reduced at once when reducing a decoded frame."""

_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_LANCZOS = Image.Resampling.LANCZOS
_SUFFIX_FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp"}
_PIL_FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


# --------------------------------------------------------------------------- decoding


def decode_image(
    source: bytes | str | os.PathLike,
    *,
    needed_side: int | None = None,
    max_pixels: int = MAX_PIXELS,
    min_side: int = MIN_SIDE,
    max_aspect: float = MAX_ASPECT,
) -> np.ndarray:
    """Decode image bytes or a file into float32 (H, W, 3) RGB in [0, 1].

    EXIF orientation is applied, transparency is composited over white, 16-bit and
    float images are scaled rather than clipped, and animations give their first frame.
    With `needed_side`, the long side the caller will scale the image to, a big image comes
    back reduced by a whole factor (box-averaged), its long side still at least
    `DECODE_HEADROOM` times `needed_side`; the limits are checked on the full size.
    Raises `ImageError` (and nothing else) for anything unusable.
    """
    data = _read_source(source)
    if not data:
        raise ImageError("empty")

    # A global switch: if anything ever turned it on, truncated files would decode silently.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below; Pillow's global one only warns.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError:
        raise ImageError("too_large", max_pixels=max_pixels) from None
    except Exception:
        # UnidentifiedImageError for non-images; corrupt headers raise all sorts of things.
        if _looks_like_image(data):
            raise ImageError("corrupt") from None
        raise ImageError("not_image") from None

    with img:
        width, height = img.size
        _check_size(width, height, max_pixels=max_pixels, min_side=min_side, max_aspect=max_aspect)
        factor = _reduction_factor(img.size, needed_side)
        if factor > 1:  # JPEG only (a no-op elsewhere): the decoder itself scales down
            img.draft(img.mode, (-(-width // factor), -(-height // factor)))
        try:
            img.load()  # full decode now, so damage shows up here and not later
        except MemoryError:
            raise ImageError("too_large", max_pixels=max_pixels) from None
        except Exception:
            raise ImageError("corrupt") from None
        try:
            small = _reduced(img, _reduction_factor(img.size, needed_side))
            return _to_float_rgb(_to_srgb(_exif_upright(small)))
        except Exception:
            raise ImageError("unsupported") from None


def _read_source(source: bytes | str | os.PathLike) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"expected bytes or a path, got {type(source).__name__}")
    path = Path(source)
    if not path.is_file():
        raise ImageError("missing")
    try:
        return path.read_bytes()
    except OSError:
        raise ImageError("unreadable") from None


def _looks_like_image(data: bytes) -> bool:
    """Whether the bytes start like one of the allowed formats (to tell damage from non-images)."""
    return data.startswith(_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _check_size(
    width: int, height: int, *, max_pixels: int, min_side: int, max_aspect: float
) -> None:
    if width * height > max_pixels:
        raise ImageError("too_large", width=width, height=height, max_pixels=max_pixels)
    if min(width, height) < min_side:
        raise ImageError("too_small", width=width, height=height, min_side=min_side)
    if max(width, height) > max_aspect * min(width, height):
        raise ImageError("aspect", width=width, height=height, max_aspect=max_aspect)


def _reduction_factor(size: tuple[int, int], needed_side: int | None) -> int:
    if needed_side is None:
        return 1
    return max(1, max(size) // (DECODE_HEADROOM * needed_side))


def _reduced(img: Image.Image, factor: int) -> Image.Image:
    """`img` box-averaged down by `factor`, in the mode `_to_float_rgb` would read it in,
    converted one band of rows at a time so no other full-size image is made. The ICC profile
    and the EXIF orientation come along; modes only the whole image can be read in come back
    unreduced."""
    mode = _reduction_mode(img) if factor > 1 else None
    if mode is None:
        return img
    width, height = img.size
    rows = factor * max(1, _BAND_PIXELS // (width * factor))  # bands start on whole blocks
    small = Image.new(mode, (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        band = _in_mode(img.crop((0, top, width, min(top + rows, height))), mode)
        small.paste(band.reduce(factor), (0, top // factor))
    if "icc_profile" in img.info:
        small.info["icc_profile"] = img.info["icc_profile"]
    with contextlib.suppress(Exception):  # a broken EXIF block is ignored, as below
        small.info["exif"] = img.getexif().tobytes()
    return small


def _reduction_mode(img: Image.Image) -> str | None:
    """The mode to average `img`'s pixels in: transparency as RGBA (averaged premultiplied),
    16-bit grey as float in [0, 1]; None for 32-bit samples, whose scale `_to_float_rgb`
    guesses from the whole image's range."""
    mode = img.mode
    if mode.startswith("I;16"):
        return "F"
    if mode in ("I", "F"):
        return None
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        return "RGBA"
    if mode in ("L", "1"):
        return "L"
    if mode == "CMYK":
        return "CMYK"  # converted to RGB later, by its ICC profile if it has one
    return "RGB"


def _in_mode(band: Image.Image, mode: str) -> Image.Image:
    if mode == "F":  # 16-bit grey: scaled as `_to_float_rgb` scales it
        return Image.fromarray(np.asarray(band, dtype=np.float32) / np.float32(65535.0))
    return band if band.mode == mode else band.convert(mode)


def _exif_upright(img: Image.Image) -> Image.Image:
    """Rotate/flip as the EXIF orientation says; a broken EXIF block is ignored, not fatal."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:
        return img


def _to_srgb(img: Image.Image) -> Image.Image:
    """Convert RGB/CMYK pixels with an embedded ICC profile to sRGB, best effort."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "CMYK"):
        return img
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            img, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except Exception:  # unusable profile: keep the numbers as they are
        return img
    return converted if converted is not None else img


def _to_float_rgb(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode.startswith("I;16"):
        gray = np.asarray(img, dtype=np.float32) / 65535.0
        return _gray_to_rgb(gray)
    if mode in ("I", "F"):
        return _gray_to_rgb(_scale_by_range(np.asarray(img, dtype=np.float32)))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3:]
        return np.ascontiguousarray(rgba[..., :3] * alpha + (1.0 - alpha), dtype=np.float32)
    rgb = np.asarray(img.convert("RGB"), dtype=np.float32)
    rgb *= 1.0 / 255.0
    return rgb


def _scale_by_range(values: np.ndarray) -> np.ndarray:
    """Map 32-bit integer or float samples to [0, 1], guessing the range from the data:
    up to 1 is taken as is, up to 255 as 8-bit, up to 65535 as 16-bit, beyond that by maximum."""
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(values.max()) if values.size else 0.0
    if peak > 65535.0:
        values = values / peak
    elif peak > 255.0:
        values = values / 65535.0
    elif peak > 1.0:
        values = values / 255.0
    return np.clip(values, 0.0, 1.0).astype(np.float32)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2).astype(np.float32, copy=False)


# --------------------------------------------------------------------------- conversion


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] (clipped, NaN -> 0) to uint8. uint8 passes through, uint16 is scaled."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):  # plain ints: take them as 0..255 values
        return np.clip(arr, 0, 255).astype(np.uint8)
    arr = np.nan_to_num(arr.astype(np.float32, copy=False), nan=0.0)
    return np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def from_uint8(array: np.ndarray | Image.Image) -> np.ndarray:
    """uint8 (or a PIL image) to float32 in [0, 1]; uint16 is scaled, floats pass through."""
    arr = np.asarray(array)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    return arr.astype(np.float32)


def image_size(image: np.ndarray | Image.Image) -> tuple[int, int]:
    """(width, height) of an array of shape (H, W[, C]) or of a PIL image."""
    if isinstance(image, Image.Image):
        return image.size
    shape = np.shape(image)
    return int(shape[1]), int(shape[0])


def _to_pil(image: np.ndarray) -> Image.Image:
    arr = to_uint8(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) array, got {arr.shape}")
    return Image.fromarray(np.ascontiguousarray(arr))


# --------------------------------------------------------------------------- resizing


def resize_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize to exactly (height, width) with Lanczos resampling on float data (no banding)."""
    if height < 1 or width < 1:
        raise ValueError(f"target size must be positive, got {height}×{width}")
    arr = np.asarray(image, dtype=np.float32)
    if arr.shape[:2] == (height, width):
        return arr.copy()
    channels = arr[..., None] if arr.ndim == 2 else arr
    planes = []
    for c in range(channels.shape[2]):  # one float ("F" mode) image per channel
        plane = Image.fromarray(np.ascontiguousarray(channels[..., c]))
        planes.append(np.asarray(plane.resize((width, height), _LANCZOS)))
    out = np.clip(np.stack(planes, axis=-1), 0.0, 1.0)  # Lanczos overshoots at edges
    return out[..., 0] if arr.ndim == 2 else out


def resize_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """Scale (up or down) so the longer side is exactly `long_side`, keeping the aspect."""
    if long_side < 1:
        raise ValueError(f"long_side must be positive, got {long_side}")
    height, width = np.shape(image)[:2]
    scale = long_side / max(height, width)
    if width >= height:
        new_w, new_h = long_side, max(1, round(height * scale))
    else:
        new_w, new_h = max(1, round(width * scale)), long_side
    return resize_to(image, new_h, new_w)


# --------------------------------------------------------------------------- encoding


def encode_image(image: np.ndarray, fmt: str = "jpeg", quality: int = 92) -> bytes:
    """Encode to "jpeg", "png" (or "webp") bytes."""
    pil_format = _PIL_FORMATS.get(fmt.lower())
    if pil_format is None:
        raise ValueError(f"unsupported format {fmt!r}; use 'jpeg' or 'png'")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be within 1..100, got {quality}")
    return _encode_pil(_to_pil(image), pil_format, quality)


def _encode_pil(img: Image.Image, pil_format: str, quality: int) -> bytes:
    buf = io.BytesIO()
    if pil_format == "JPEG":
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(buf, "JPEG", quality=quality, optimize=True)
    elif pil_format == "WEBP":
        img.save(buf, "WEBP", quality=quality, method=4)
    else:
        img.save(buf, "PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def save_image(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write an image, choosing the format from the suffix (.jpg/.jpeg/.png/.webp).

    Parent folders are created; the file appears atomically (no half-written images)."""
    path = Path(path)
    fmt = _SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot tell the image format from {path.name!r}; use .jpg, .png or .webp"
        )
    write_atomic(path, encode_image(image, fmt))
    return path


def write_atomic(path: str | os.PathLike, data: bytes, *, mode: int | None = None) -> None:
    """Writes `data` to `path` so that it appears whole or not at all (parent folders are
    created). `mode`: the file's permissions (it is created private)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
