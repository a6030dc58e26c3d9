"""Preset style images: procedural textures, public-domain paintings and folder presets.

Three sources, listed in this order by :func:`list_presets`:

* **procedural** styles drawn by code from a fixed seed (no download), cached as PNG under
  ``$STYLECORE_HOME/presets/`` (default ``~/.cache/stylecore/presets/``);
* **paintings** downloaded once from a pinned URL, checked against a pinned sha256 and cached in
  the same folder. An image in the presets folder named after the painting (``starry_night.jpg``)
  provides it offline;
* **folder** presets: every jpg/png/webp in ``$STYLEBOT_PRESETS_DIR`` and in
  ``$STYLECORE_HOME/user_presets`` (where :func:`add_preset` stores admin uploads when
  ``STYLEBOT_PRESETS_DIR`` is unset). The file stem, lower-cased, is the preset name.

Environment variables are read at call time. Loading is thread-safe; a failed download is
remembered for :data:`FAILURE_TTL_S` seconds so a dead URL is not retried on every request.

The catalogue of built-in styles is `stylecore.catalogue`, the procedural generators
`stylecore.patterns`; the bot's /styles picture is drawn in `bot/telegram/gallery.py`.

``python -m stylecore.presets --fetch`` fills the cache with every built-in style (the Docker
build does), reporting the paintings it cannot download without failing.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import http.client
import logging
import os
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import numpy as np

from stylecore.catalogue import PAINTINGS, PROCEDURAL, Painting, Preset
from stylecore.errors import PresetNameError, PresetUnavailable, UnknownPreset
from stylecore.images import decode_image, encode_image, resize_long_side, write_atomic

log = logging.getLogger(__name__)

PROCEDURAL_SIZE = 512
PROCEDURAL_VERSION = 1  # bump when a generator changes, so old cached PNGs are not reused
MAX_SIDE = 1024  # longest side of a loaded preset; bigger images are scaled down
DOWNLOAD_TIMEOUT_S = 15.0
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
FAILURE_TTL_S = 300.0
USER_AGENT = "stylebot/0.1 (Telegram style-transfer bot; preset download)"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
_NAME_RE = re.compile(r"[a-z0-9_]{2,32}")


# --------------------------------------------------------------------------- locations


def _home() -> Path:
    env = os.environ.get("STYLECORE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "stylecore"


def cache_dir() -> Path:
    """Where generated and downloaded presets are cached: ``$STYLECORE_HOME/presets``."""
    return _home() / "presets"


def user_presets_dir() -> Path:
    """Where :func:`add_preset` stores images: ``$STYLEBOT_PRESETS_DIR`` or
    ``$STYLECORE_HOME/user_presets``."""
    env = os.environ.get("STYLEBOT_PRESETS_DIR")
    return Path(env).expanduser() if env else _home() / "user_presets"


def _folder_dirs() -> list[Path]:
    dirs = [user_presets_dir(), _home() / "user_presets"]
    return list(dict.fromkeys(dirs))  # the configured folder first, no duplicates


def _normalise(name: str) -> str:
    """Lower-case, runs of anything but letters and digits become one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _folder_files() -> dict[str, Path]:
    """Folder images by preset name; the first folder and the first file (sorted) win."""
    found: dict[str, Path] = {}
    for folder in _folder_dirs():
        try:
            entries = sorted(folder.iterdir())
        except OSError:  # missing or unreadable folder: no presets from it
            continue
        for path in entries:
            if path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            name = _normalise(path.stem)
            if not _NAME_RE.fullmatch(name):
                log.warning("preset file %s ignored: %r is not a usable name", path, name)
            elif name not in found and path.is_file():
                found[name] = path
    return found


def _painting_cache_path(name: str, painting: Painting) -> Path:
    suffix = Path(urllib.parse.urlsplit(painting.url).path).suffix.lower() or ".jpg"
    return cache_dir() / f"{name}-{painting.sha256[:12]}{suffix}"


def _procedural_cache_path(name: str) -> Path:
    return cache_dir() / f"{name}-v{PROCEDURAL_VERSION}.png"


def _write_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, data, mode=0o644)  # presets are not secret


# --------------------------------------------------------------------------- listing


def _folder_title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def list_presets() -> list[Preset]:
    """All presets: procedural, then paintings, then folder/user presets sorted by name."""
    presets = [Preset(n, p.title, "procedural") for n, p in PROCEDURAL.items()]
    presets += [Preset(n, f"{p.title} — {p.artist}, {p.year}", "painting")
                for n, p in PAINTINGS.items()]
    builtin = PROCEDURAL.keys() | PAINTINGS.keys()
    presets += [Preset(n, _folder_title(n), "folder")
                for n in sorted(_folder_files()) if n not in builtin]
    return presets


def suggest(name: str, n: int = 3) -> list[str]:
    """Up to ``n`` preset names close to ``name`` (typos, partial names, artist names)."""
    query = _normalise(name)
    if not query:
        return []
    presets = list_presets()
    names = [p.name for p in presets]
    # Part of a name or title ("scream", "van_gogh") first; otherwise names that look alike.
    hits = [p.name for p in presets if len(query) >= 3
            and (query in p.name or query in _normalise(p.title))]
    return hits[:n] or difflib.get_close_matches(query, names, n=n, cutoff=0.6)


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (case-insensitive); raises :class:`UnknownPreset`."""
    key = _normalise(name)
    for preset in list_presets():
        if preset.name == key:
            return preset
    raise UnknownPreset(name=name, suggestions=suggest(name))


# --------------------------------------------------------------------------- loading

_state_lock = threading.Lock()
_name_locks: dict[str, threading.Lock] = {}
_memo: OrderedDict[Hashable, np.ndarray] = OrderedDict()
_MEMO_SIZE = 16
_failures: dict[tuple[str, str], tuple[float, str]] = {}  # (name, url) -> (when, reason)


def _lock_for(name: str) -> threading.Lock:
    with _state_lock:
        return _name_locks.setdefault(name, threading.Lock())


def _memo_get(key: Hashable) -> np.ndarray | None:
    with _state_lock:
        img = _memo.get(key)
        if img is not None:
            _memo.move_to_end(key)
        return img


def _memo_put(key: Hashable, img: np.ndarray) -> None:
    with _state_lock:
        _memo[key] = img
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)


def clear_memory() -> None:
    """Forget images memoised in this process and remembered download failures."""
    with _state_lock:
        _memo.clear()
        _failures.clear()


def recent_failure(name: str) -> str | None:
    """Why the painting `name` could not be downloaded, if that happened in the last
    :data:`FAILURE_TTL_S` seconds (None otherwise, and for other presets)."""
    painting = PAINTINGS.get(name)
    return _recent_failure(name, painting) if painting is not None else None


def _recent_failure(name: str, painting: Painting) -> str | None:
    with _state_lock:
        entry = _failures.get((name, painting.url))
        if entry and time.monotonic() - entry[0] < FAILURE_TTL_S:
            return entry[1]
        return None


def render_procedural(name: str, size: int = PROCEDURAL_SIZE) -> bytes:
    """PNG bytes of a procedural style; the same bytes every time for the same name and size."""
    spec = PROCEDURAL[name]
    return encode_image(spec.generate(size, spec.seed), fmt="png")


def _fit(img: np.ndarray) -> np.ndarray:
    return resize_long_side(img, MAX_SIDE) if max(img.shape[:2]) > MAX_SIDE else img


def _load_procedural(name: str) -> np.ndarray:
    path = _procedural_cache_path(name)
    if path.is_file():
        try:
            return decode_image(path)
        except ValueError:
            log.warning("cached preset %s is damaged; drawing it again", path)
    data = render_procedural(name)
    try:
        _write_atomic(path, data)
    except OSError as exc:  # still usable, just not cached
        log.warning("could not cache preset %s: %s", path, exc)
    return decode_image(data)


def _load_file(preset: Preset, path: Path) -> np.ndarray:
    try:
        return _fit(decode_image(path))
    except ValueError as exc:  # ImageError: damaged or unsuitable file
        log.warning("preset %s (%s) can't be used: %s", preset.name, path, exc)
        raise PresetUnavailable("preset_unreadable", name=preset.name, title=preset.title,
                                detail=str(exc)) from exc


def _fetch(url: str, timeout: float = DOWNLOAD_TIMEOUT_S) -> bytes:
    """GET ``url``; raises OSError / http.client.HTTPException / ValueError on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ValueError(f"more than {MAX_DOWNLOAD_BYTES} bytes")
    return data


def _painting_bytes(name: str, painting: Painting) -> bytes:
    """Verified bytes of a painting, from the cache or downloaded (and then cached)."""
    path = _painting_cache_path(name, painting)
    try:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == painting.sha256:
            return data
        log.warning("cached %s does not match its sha256; downloading it again", path)
    except OSError:
        pass
    def unavailable(reason: str) -> PresetUnavailable:
        return PresetUnavailable("download_failed", name=name, title=painting.title,
                                 detail=reason)

    reason = _recent_failure(name, painting)
    if reason:
        raise unavailable(reason)
    try:
        data = _fetch(painting.url)
        digest = hashlib.sha256(data).hexdigest()
        if digest != painting.sha256:
            raise ValueError(f"sha256 {digest} instead of {painting.sha256}")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = f"{painting.url}: {exc}"
        log.warning("download of preset %s failed: %s", name, reason)
        with _state_lock:
            _failures[(name, painting.url)] = (time.monotonic(), reason)
        raise unavailable(reason) from exc
    try:
        _write_atomic(path, data)
    except OSError as exc:
        log.warning("could not cache preset %s: %s", path, exc)
    return data


def _load_painting(name: str, painting: Painting) -> np.ndarray:
    data = _painting_bytes(name, painting)
    try:
        return _fit(decode_image(data))
    except ValueError as exc:  # the pinned file itself is unusable: a bug, but don't crash
        raise PresetUnavailable("preset_unusable", name=name, title=painting.title,
                                detail=str(exc)) from exc


def _plan(preset: Preset) -> tuple[Hashable, Callable[[], np.ndarray]]:
    """Memo key and loader for a preset. Keys of files include their mtime and size, so an
    image replaced on disk is read again."""
    name = preset.name
    if preset.kind == "procedural":
        return ("procedural", name, PROCEDURAL_VERSION), lambda: _load_procedural(name)
    path = _folder_files().get(name)
    if path is not None:
        try:
            st = path.stat()
            key: Hashable = ("file", str(path), st.st_mtime_ns, st.st_size)
        except OSError:
            key = ("file", str(path))
        return key, lambda: _load_file(preset, path)
    if preset.kind == "painting":
        painting = PAINTINGS[name]
        return ("painting", name, painting.sha256), lambda: _load_painting(name, painting)
    # A folder preset whose file vanished between listing and loading.
    raise PresetUnavailable("preset_gone", name=name, title=preset.title, detail="file removed")


def load_preset(name: str) -> np.ndarray:
    """The style image as float32 (H, W, 3) in [0, 1], long side at most :data:`MAX_SIDE`.

    Memoised per process. May draw a procedural style or download a painting (blocking, up to
    :data:`DOWNLOAD_TIMEOUT_S`); raises :class:`UnknownPreset` or :class:`PresetUnavailable`.
    The caller gets its own copy and may modify it.
    """
    preset = get_preset(name)
    with _lock_for(preset.name):  # one download/generation per name at a time
        key, loader = _plan(preset)
        img = _memo_get(key)
        if img is None:
            img = loader()
            _memo_put(key, img)
    return img.copy()


def is_available_offline(name: str) -> bool:
    """Whether :func:`load_preset` can work without the network (procedural, folder, cached)."""
    preset = get_preset(name)
    if preset.kind != "painting" or preset.name in _folder_files():
        return True
    painting = PAINTINGS[preset.name]
    if _memo_get(("painting", preset.name, painting.sha256)) is not None:
        return True
    return _painting_cache_path(preset.name, painting).is_file()


# --------------------------------------------------------------------------- adding


def add_preset(name: str, image_bytes: bytes) -> Preset:
    """Store an admin's image as a new preset (or replace a user preset of that name).

    The name is lower-cased and must be 2-32 letters, digits or underscores and not a built-in
    style (:class:`PresetNameError` otherwise). The image goes through ``decode_image``
    (``ImageError`` propagates), is scaled to at most :data:`MAX_SIDE` and saved as PNG if it
    came as PNG, else as JPEG, in :func:`user_presets_dir`.
    """
    key = name.strip().lower()
    if not _NAME_RE.fullmatch(key):
        raise PresetNameError("bad_name", name=key)
    if key in PROCEDURAL or key in PAINTINGS:
        raise PresetNameError("builtin_name", name=key)
    img = _fit(decode_image(image_bytes, needed_side=MAX_SIDE))
    is_png = bytes(image_bytes[:4]) == b"\x89PNG"
    data = encode_image(img, "png" if is_png else "jpeg", quality=95)
    folder = user_presets_dir()
    path = folder / f"{key}{'.png' if is_png else '.jpg'}"
    with _lock_for(key):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():  # e.g. my_style.jpg when my_style.png replaces it
            if old != path and old.suffix.lower() in IMAGE_EXTENSIONS \
                    and _normalise(old.stem) == key:
                old.unlink(missing_ok=True)
        _write_atomic(path, data)
    log.info("preset %s saved to %s", key, path)
    return Preset(key, _folder_title(key), "folder")


# --------------------------------------------------------------------------- pre-fetching


def fetch_all() -> dict[str, str | None]:
    """Draws every procedural style and downloads every painting into :func:`cache_dir`.
    Returns ``{name: None}`` for each style now cached, else ``{name: why not}``; a painting
    that could not be had is downloaded on first use as usual."""
    outcome: dict[str, str | None] = {}
    for name in PROCEDURAL:
        _load_procedural(name)
        path = _procedural_cache_path(name)
        outcome[name] = None if path.is_file() else f"could not write {path}"
    for name, painting in PAINTINGS.items():
        try:
            _painting_bytes(name, painting)
        except PresetUnavailable as exc:
            outcome[name] = exc.detail or str(exc)
            continue
        path = _painting_cache_path(name, painting)
        outcome[name] = None if path.is_file() else f"could not write {path}"
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stylecore.presets",
        description="Fills the preset cache ($STYLECORE_HOME/presets) with the built-in styles.")
    parser.add_argument("--fetch", action="store_true",
                        help="draw the procedural styles and download the paintings; styles "
                             "that can't be had are reported, and the exit status stays 0")
    args = parser.parse_args(argv)
    if not args.fetch:
        parser.print_help()
        return 0
    outcome = fetch_all()
    for name, problem in outcome.items():
        print(f"{name}: {'ok' if problem is None else 'unavailable: ' + problem}")
    cached = sum(problem is None for problem in outcome.values())
    print(f"{cached} of {len(outcome)} styles cached in {cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
