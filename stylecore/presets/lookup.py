"""The preset styles by name: listing, lookup and loading, and ``python -m
stylecore.presets.lookup --fetch``.

Three sources, listed in this order by :func:`list_presets`:

* **procedural** styles drawn by code from a fixed seed (no download;
  `stylecore.presets.patterns`), cached as PNG in :func:`stylecore.presets.folders.cache_dir`;
* **paintings** downloaded once from a pinned URL, checked against a pinned sha256 and cached
  in the same folder (:mod:`stylecore.presets.downloads`). An image in the presets folder named
  after the painting (``starry_night.jpg``) provides it offline;
* **folder** presets: the images in the presets folder, which the application sets, and in
  ``$STYLECORE_HOME/user_presets``, where admin uploads go (:mod:`stylecore.presets.folders`).

Loading is thread-safe and memoised per process (the last 16 images). The catalogue of
built-in styles is `stylecore.presets.catalogue`; the bot's /styles picture is drawn in
`bot/telegram/gallery.py`.

``python -m stylecore.presets.lookup --fetch`` fills the cache with every built-in style (the
Docker build does), reporting the paintings it cannot download without failing.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import numpy as np

from stylecore.errors import PresetUnavailable, UnknownPreset
from stylecore.images import decode_image, encode_image
from stylecore.presets.catalogue import PAINTINGS, PROCEDURAL, Painting, Preset
from stylecore.presets.downloads import forget_failures, painting_bytes, painting_cache_path
from stylecore.presets.folders import (
    cache_dir,
    fit,
    folder_files,
    folder_title,
    name_lock,
    normalise,
    write_preset_file,
)

log = logging.getLogger("stylecore.presets")

PROCEDURAL_SIZE = 512
PROCEDURAL_VERSION = 1  # bump when a generator changes, so old cached PNGs are not reused


def _procedural_cache_path(name: str) -> Path:
    return cache_dir() / f"{name}-v{PROCEDURAL_VERSION}.png"


# --------------------------------------------------------------------------- listing


def list_presets() -> list[Preset]:
    """All presets: procedural, then paintings, then folder/user presets sorted by name."""
    presets = [Preset(n, p.title, "procedural") for n, p in PROCEDURAL.items()]
    presets += [Preset(n, f"{p.title} — {p.artist}, {p.year}", "painting")
                for n, p in PAINTINGS.items()]
    builtin = PROCEDURAL.keys() | PAINTINGS.keys()
    presets += [Preset(n, folder_title(n), "folder")
                for n in sorted(folder_files()) if n not in builtin]
    return presets


def suggest(name: str, n: int = 3) -> list[str]:
    """Up to ``n`` preset names close to ``name`` (typos, partial names, artist names)."""
    query = normalise(name)
    if not query:
        return []
    presets = list_presets()
    names = [p.name for p in presets]
    # Part of a name or title ("scream", "van_gogh") first; otherwise names that look alike.
    hits = [p.name for p in presets if len(query) >= 3
            and (query in p.name or query in normalise(p.title))]
    return hits[:n] or difflib.get_close_matches(query, names, n=n, cutoff=0.6)


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (case-insensitive); raises :class:`UnknownPreset`."""
    key = normalise(name)
    for preset in list_presets():
        if preset.name == key:
            return preset
    raise UnknownPreset(name=name, suggestions=suggest(name))


# --------------------------------------------------------------------------- loading

_memo_lock = threading.Lock()
_memo: OrderedDict[Hashable, np.ndarray] = OrderedDict()
_MEMO_SIZE = 16


def _memo_get(key: Hashable) -> np.ndarray | None:
    with _memo_lock:
        img = _memo.get(key)
        if img is not None:
            _memo.move_to_end(key)
        return img


def _memo_put(key: Hashable, img: np.ndarray) -> None:
    with _memo_lock:
        _memo[key] = img
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)


def clear_memory() -> None:
    """Forget images memoised in this process and remembered download failures."""
    with _memo_lock:
        _memo.clear()
    forget_failures()


def render_procedural(name: str, size: int = PROCEDURAL_SIZE) -> bytes:
    """PNG bytes of a procedural style; the same bytes every time for the same name and size."""
    spec = PROCEDURAL[name]
    return encode_image(spec.generate(size, spec.seed), fmt="png")


def _load_procedural(name: str) -> np.ndarray:
    path = _procedural_cache_path(name)
    if path.is_file():
        try:
            return decode_image(path)
        except ValueError:
            log.warning("cached preset %s is damaged; drawing it again", path)
    data = render_procedural(name)
    try:
        write_preset_file(path, data)
    except OSError as exc:  # still usable, just not cached
        log.warning("could not cache preset %s: %s", path, exc)
    return decode_image(data)


def _load_file(preset: Preset, path: Path) -> np.ndarray:
    try:
        return fit(decode_image(path))
    except ValueError as exc:  # ImageError: damaged or unsuitable file
        log.warning("preset %s (%s) can't be used: %s", preset.name, path, exc)
        raise PresetUnavailable("preset_unreadable", name=preset.name, title=preset.title,
                                detail=str(exc)) from exc


def _load_painting(name: str, painting: Painting) -> np.ndarray:
    data = painting_bytes(name, painting)
    try:
        return fit(decode_image(data))
    except ValueError as exc:  # the pinned file itself is unusable: a bug, but don't crash
        raise PresetUnavailable("preset_unusable", name=name, title=painting.title,
                                detail=str(exc)) from exc


def _plan(preset: Preset) -> tuple[Hashable, Callable[[], np.ndarray]]:
    """Memo key and loader for a preset. Keys of files include their mtime and size, so an
    image replaced on disk is read again."""
    name = preset.name
    if preset.kind == "procedural":
        return ("procedural", name, PROCEDURAL_VERSION), lambda: _load_procedural(name)
    path = folder_files().get(name)
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
    """The style image as float32 (H, W, 3) in [0, 1], long side at most
    :data:`stylecore.presets.folders.MAX_SIDE`.

    Memoised per process. May draw a procedural style or download a painting (blocking, up to
    :data:`stylecore.presets.downloads.DOWNLOAD_TIMEOUT_S`); raises :class:`UnknownPreset` or
    :class:`PresetUnavailable`. The caller gets its own copy and may modify it.
    """
    preset = get_preset(name)
    with name_lock(preset.name):  # one download/generation per name at a time
        key, loader = _plan(preset)
        img = _memo_get(key)
        if img is None:
            img = loader()
            _memo_put(key, img)
    return img.copy()


def is_available_offline(name: str) -> bool:
    """Whether :func:`load_preset` can work without the network (procedural, folder, cached)."""
    preset = get_preset(name)
    if preset.kind != "painting" or preset.name in folder_files():
        return True
    painting = PAINTINGS[preset.name]
    if _memo_get(("painting", preset.name, painting.sha256)) is not None:
        return True
    return painting_cache_path(preset.name, painting).is_file()


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
            painting_bytes(name, painting)
        except PresetUnavailable as exc:
            outcome[name] = exc.detail or str(exc)
            continue
        path = painting_cache_path(name, painting)
        outcome[name] = None if path.is_file() else f"could not write {path}"
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stylecore.presets.lookup",
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
