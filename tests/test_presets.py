"""Tests for stylecore.presets: procedural styles, paintings (local HTTP server), folder presets,
admin uploads, suggestions and the gallery. No internet is used."""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import shutil
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from bot.telegram import gallery
from bot.telegram.texts import error_text
from stylecore.errors import ImageError, PresetNameError, PresetUnavailable, UnknownPreset
from stylecore.images import decode_image, encode_image
from stylecore.presets import downloads as preset_downloads
from stylecore.presets import folders as preset_folders
from stylecore.presets import lookup as presets

SHARED_STYLES = Path(__file__).resolve().parents[2] / "shared" / "images" / "styles"
STYLES_MD = Path(__file__).resolve().parents[2] / "shared" / "reference" / "styles.md"
PINNED = {name: (p.url, p.sha256) for name, p in presets.PAINTINGS.items()}  # before patching


def _image_bytes(seed: int, fmt: str = "jpeg", shape: tuple[int, int] = (96, 128)) -> bytes:
    rng = np.random.default_rng(seed)
    img = np.repeat(np.repeat(rng.random((shape[0] // 8, shape[1] // 8, 3)), 8, 0), 8, 1)
    return encode_image(img.astype(np.float32), fmt)


def _dead_url(name: str = "x.jpg") -> str:
    with socket.socket() as s:  # a port nothing listens on (connection refused at once)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    """Fresh cache home per test, no proxies, no real download URLs (and, by conftest, no
    presets folder)."""
    home = tmp_path / "home"
    monkeypatch.setenv("STYLECORE_HOME", str(home))
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    dead = _dead_url()
    for name, painting in list(presets.PAINTINGS.items()):
        monkeypatch.setitem(presets.PAINTINGS, name, replace(painting, url=f"{dead}{name}.jpg"))
    presets.clear_memory()
    yield home
    presets.clear_memory()


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/www and recording each request."""
    root = tmp_path / "www"
    root.mkdir()
    requests: list[tuple[str, str | None]] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            requests.append((self.path, self.headers.get("User-Agent")))
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_port}", root=root, requests=requests)
    httpd.shutdown()
    httpd.server_close()


def _serve_painting(monkeypatch, server, name: str, data: bytes, sha256: str | None = None) -> None:
    (server.root / f"{name}.jpg").write_bytes(data)
    painting = replace(presets.PAINTINGS[name], url=f"{server.url}/{name}.jpg",
                       sha256=sha256 or hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(presets.PAINTINGS, name, painting)


@pytest.fixture(scope="session")
def procedural_pngs(tmp_path_factory) -> Path:
    """All procedural styles drawn once per test session (they take a moment each)."""
    folder = tmp_path_factory.mktemp("procedural")
    for name in presets.PROCEDURAL:
        (folder / f"{name}-v{presets.PROCEDURAL_VERSION}.png").write_bytes(
            presets.render_procedural(name))
    return folder


def _seed_cache(home: Path, procedural_pngs: Path) -> None:
    shutil.copytree(procedural_pngs, home / "presets", dirs_exist_ok=True)


# --------------------------------------------------------------------------- procedural


def test_procedural_styles_are_deterministic_distinct_and_colourful():
    assert len(presets.PROCEDURAL) >= 3
    images = {}
    for name in presets.PROCEDURAL:
        first = presets.render_procedural(name, size=160)
        assert presets.render_procedural(name, size=160) == first, name
        img = decode_image(first)
        assert img.shape == (160, 160, 3) and img.dtype == np.float32
        assert img.min() >= 0.0 and img.max() <= 1.0
        assert img.std() > 0.1, f"{name} is too flat to be a style target"
        images[name] = img
    names = list(images)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(images[a] - images[b]).mean() > 0.1, (a, b)


def test_procedural_load_full_size_and_cache_reused(env, procedural_pngs, monkeypatch):
    for name in presets.PROCEDURAL:
        preset = presets.get_preset(name)
        assert preset.kind == "procedural" and preset.title
        assert presets.is_available_offline(name)
    img = presets.load_preset("pointillism")
    assert img.shape == (presets.PROCEDURAL_SIZE, presets.PROCEDURAL_SIZE, 3)
    assert img.dtype == np.float32
    cached = env / "presets" / f"pointillism-v{presets.PROCEDURAL_VERSION}.png"
    assert cached.read_bytes() == (procedural_pngs / cached.name).read_bytes()  # same bytes
    mtime = cached.stat().st_mtime_ns

    def must_not_run(size, seed):
        raise AssertionError("regenerated although cached")

    monkeypatch.setitem(presets.PROCEDURAL, "pointillism",
                        replace(presets.PROCEDURAL["pointillism"], generate=must_not_run))
    presets.clear_memory()
    again = presets.load_preset("Pointillism")
    np.testing.assert_array_equal(again, img)
    assert cached.stat().st_mtime_ns == mtime
    again[:] = 0  # callers get their own copy
    assert presets.load_preset("pointillism").max() > 0


def test_default_cache_dir_is_under_home(monkeypatch, tmp_path):
    monkeypatch.delenv("STYLECORE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert presets.cache_dir() == tmp_path / ".cache" / "stylecore" / "presets"
    assert preset_folders.user_presets_dir() == tmp_path / ".cache" / "stylecore" / "user_presets"


# --------------------------------------------------------------------------- folder presets


def test_folder_presets_listed_by_stem_and_loadable(tmp_path, monkeypatch):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "Bright.PNG").write_bytes(_image_bytes(1, "png"))
    (folder / "dark_one.jpg").write_bytes(_image_bytes(2))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.jpg").write_bytes(_image_bytes(3))
    preset_folders.set_presets_folder(folder)

    listed = presets.list_presets()
    kinds = [p.kind for p in listed]
    assert kinds == sorted(kinds, key=["procedural", "painting", "folder"].index)
    folder_presets = [p for p in listed if p.kind == "folder"]
    assert [p.name for p in folder_presets] == ["bright", "broken", "dark_one"]

    img = presets.load_preset("BRIGHT")
    np.testing.assert_allclose(img, decode_image(folder / "Bright.PNG"), atol=1e-6)
    assert presets.is_available_offline("dark_one")
    with pytest.raises(PresetUnavailable) as info:
        presets.load_preset("broken")
    assert "broken" in error_text(info.value)


def test_folder_image_provides_painting_offline(tmp_path, monkeypatch):
    folder = tmp_path / "folder"
    folder.mkdir()
    data = _image_bytes(4)
    (folder / "starry_night.jpg").write_bytes(data)
    preset_folders.set_presets_folder(folder)

    assert presets.is_available_offline("starry_night")
    assert not presets.is_available_offline("the_scream")
    names = [p.name for p in presets.list_presets()]
    assert names.count("starry_night") == 1
    assert presets.get_preset("starry_night").kind == "painting"
    np.testing.assert_allclose(presets.load_preset("starry_night"), decode_image(data), atol=1e-6)


@pytest.mark.skipif(not SHARED_STYLES.is_dir(), reason="../shared/images/styles not present")
def test_shared_paintings_match_pins_and_load_offline(monkeypatch):
    preset_folders.set_presets_folder(SHARED_STYLES)
    for path in sorted(SHARED_STYLES.glob("*.jpg")):
        pinned = presets.PAINTINGS[path.stem].sha256
        assert hashlib.sha256(path.read_bytes()).hexdigest() == pinned, path.name
        assert presets.is_available_offline(path.stem)
    img = presets.load_preset("starry_night")
    assert img.dtype == np.float32 and max(img.shape[:2]) <= preset_folders.MAX_SIDE
    assert presets.get_preset("starry_night").title == "The Starry Night — Vincent van Gogh, 1889"


@pytest.mark.skipif(not STYLES_MD.is_file(), reason="../shared/reference/styles.md not present")
def test_painting_table_matches_styles_md():
    rows = re.findall(r"^\| (\w+) \| [^|]+ \| (https://\S+) \| ([0-9a-f]{64}) \|$",
                      STYLES_MD.read_text(), re.M)
    assert dict((name, (url, sha)) for name, url, sha in rows) == PINNED


# --------------------------------------------------------------------------- downloads


def test_download_verified_cached_and_reused(env, server, monkeypatch):
    data = _image_bytes(5)
    _serve_painting(monkeypatch, server, "wave", data)
    assert not presets.is_available_offline("wave")

    img = presets.load_preset("wave")
    np.testing.assert_allclose(img, decode_image(data), atol=1e-6)
    assert len(server.requests) == 1
    assert server.requests[0][1] and server.requests[0][1].startswith("stylebot")
    cached = list((env / "presets").glob("wave-*.jpg"))
    assert len(cached) == 1 and cached[0].read_bytes() == data
    assert presets.is_available_offline("wave")

    # A new process (empty memory) with the host gone still has it.
    monkeypatch.setitem(presets.PAINTINGS, "wave",
                        replace(presets.PAINTINGS["wave"], url=_dead_url()))
    presets.clear_memory()
    np.testing.assert_array_equal(presets.load_preset("wave"), img)
    assert len(server.requests) == 1


def test_concurrent_loads_download_once(server, monkeypatch):
    _serve_painting(monkeypatch, server, "udnie", _image_bytes(6))
    results = []
    threads = [threading.Thread(target=lambda: results.append(presets.load_preset("udnie")))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(server.requests) == 1


def test_wrong_sha256_is_unavailable_and_remembered(env, server, monkeypatch):
    _serve_painting(monkeypatch, server, "the_scream", _image_bytes(7), sha256="0" * 64)
    with pytest.raises(PresetUnavailable) as info:
        presets.load_preset("the_scream")
    assert error_text(info.value) == "The Scream can't be downloaded right now; try another style."
    assert "sha256" in info.value.detail
    assert not list((env / "presets").glob("the_scream*"))
    assert not presets.is_available_offline("the_scream")

    with pytest.raises(PresetUnavailable):  # remembered: no second request
        presets.load_preset("the_scream")
    assert len(server.requests) == 1

    monkeypatch.setattr(preset_downloads, "FAILURE_TTL_S", 0.0)  # once forgotten, it tries again
    with pytest.raises(PresetUnavailable):
        presets.load_preset("the_scream")
    assert len(server.requests) == 2


def test_unreachable_host_is_unavailable_quickly():
    start = time.monotonic()
    with pytest.raises(PresetUnavailable) as info:
        presets.load_preset("starry_night")
    assert time.monotonic() - start < 5
    assert error_text(info.value) == (
        "The Starry Night can't be downloaded right now; try another style.")
    assert presets.get_preset("starry_night").kind == "painting"  # still listed


# --------------------------------------------------------------------------- names


def test_unknown_name_gives_suggestions():
    with pytest.raises(UnknownPreset) as info:
        presets.get_preset("stary_night")
    assert isinstance(info.value, KeyError)
    assert info.value.suggestions[0] == "starry_night"
    assert "starry_night" in str(info.value)
    assert presets.suggest("stary_night")[0] == "starry_night"
    assert presets.suggest("Scream") == ["the_scream"]
    assert presets.suggest("hokusai") == ["wave"]
    assert presets.suggest("qqqqqqq") == []
    with pytest.raises(UnknownPreset):
        presets.load_preset("nope")
    assert presets.get_preset(" Starry Night ").name == "starry_night"


@pytest.mark.parametrize("name", ["", "a", "x" * 33, "bad name", "../evil", "émile", "a-b",
                                  "mosaic", "starry_night", "Starry_Night"])
def test_add_preset_refuses_bad_names(name):
    with pytest.raises(PresetNameError):
        preset_folders.add_preset(name, _image_bytes(8))


def test_add_preset_stores_lists_and_overwrites(env, tmp_path, monkeypatch):
    with pytest.raises(ImageError):
        preset_folders.add_preset("junk", b"this is not an image")

    preset = preset_folders.add_preset("My_Style2", _image_bytes(9))
    assert preset == presets.Preset("my_style2", "My style2", "folder")
    assert presets.list_presets()[-1] == preset
    assert [p.name for p in (env / "user_presets").iterdir()] == ["my_style2.jpg"]
    first = presets.load_preset("my_style2")
    assert first.shape == (96, 128, 3)

    preset_folders.add_preset("my_style2", _image_bytes(10, "png"))  # a user preset may be replaced
    assert [p.name for p in (env / "user_presets").iterdir()] == ["my_style2.png"]
    np.testing.assert_allclose(presets.load_preset("my_style2"),
                               decode_image(_image_bytes(10, "png")), atol=1e-6)

    folder = tmp_path / "configured"
    preset_folders.set_presets_folder(folder)
    preset_folders.add_preset("other", _image_bytes(11))
    assert (folder / "other.jpg").is_file()
    assert {"my_style2", "other"} <= {p.name for p in presets.list_presets()}


# --------------------------------------------------------------------------- gallery


def test_gallery_grid_without_downloads(env, server, procedural_pngs, tmp_path, monkeypatch):
    _seed_cache(env, procedural_pngs)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "starry_night.jpg").write_bytes(_image_bytes(12))
    (folder / "a_really_long_preset_name_to_cut.jpg").write_bytes(_image_bytes(13))
    (folder / "broken.png").write_bytes(b"\x89PNG damaged")
    preset_folders.set_presets_folder(folder)
    _serve_painting(monkeypatch, server, "wave", _image_bytes(14))  # reachable, not cached
    with pytest.raises(PresetUnavailable):
        presets.load_preset("minotaur")  # a remembered failure: drawn as "unavailable"

    everything = presets.list_presets()
    data = gallery.render_gallery()
    assert server.requests == []  # the gallery never downloads
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        assert img.size == gallery.gallery_size(len(everything), 160, 4)
        cols, rows = 4, -(-len(everything) // 4)
        assert img.size == (cols * 176, rows * 200)  # 8 px padding, 24 px label

    few = presets.list_presets()[:2]
    with Image.open(io.BytesIO(gallery.render_gallery(few, thumb=64, columns=5))) as img:
        assert img.size == gallery.gallery_size(2, 64, 5)
        assert img.size[0] < img.size[1] * 3  # two columns, not five
    with pytest.raises(ValueError):
        gallery.render_gallery([])
