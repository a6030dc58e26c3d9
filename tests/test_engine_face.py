"""The engine's face, `stylecore/__init__.py`: importing it stays cheap (no TensorFlow, Keras,
OpenCV or PyAV: the bot process and `stylebot --help` rely on it), every name it lists resolves
to the module it lives in, and the bot and the `stylize` command reach the engine only
through it. Also the engine's module names: each says one thing, once."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import stylecore

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "cv2", "av")


def test_importing_the_face_loads_only_the_errors_and_the_settings() -> None:
    probe = (
        "import json, sys, stylecore; "
        "from stylecore import QUALITY_PRESETS, Cancelled, StyleParams, UnknownPreset; "
        f"print(json.dumps([sorted(m for m in {HEAVY!r} if m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith('stylecore'))]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)
    heavy, engine = json.loads(done.stdout)
    assert heavy == []
    assert engine == ["stylecore", "stylecore.errors", "stylecore.params"]


def test_every_name_of_the_face_resolves_to_its_home() -> None:
    assert len(set(stylecore.__all__)) == len(stylecore.__all__)
    assert set(stylecore._HOMES) <= set(stylecore.__all__)
    for name in stylecore.__all__:
        value = getattr(stylecore, name)
        home = stylecore._HOMES.get(name)
        if home is not None and (inspect.isclass(value) or inspect.isfunction(value)):
            assert value.__module__ == home, f"{name} lives in {value.__module__}, not {home}"
    assert set(stylecore.__all__) <= set(dir(stylecore))


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        stylecore.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("stylecore.no_such_name resolved")


def _engine_imports(path: Path) -> list[str]:
    """The `stylecore.something` modules that `path` imports from, anywhere in it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stylecore."):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("stylecore.")]
    return found


def test_the_bot_and_the_command_line_import_the_engine_only_through_its_face() -> None:
    callers = [*sorted((REPO / "bot").rglob("*.py")), REPO / "stylecore" / "cli.py"]
    reaching_in = {str(p.relative_to(REPO)): _engine_imports(p) for p in callers}
    assert {path: modules for path, modules in reaching_in.items() if modules} == {}


def test_engine_module_names_are_unique_and_not_the_bots() -> None:
    engine = [p for p in (REPO / "stylecore").rglob("*.py")
              if p.name not in ("__init__.py", "__main__.py")]
    names = [p.stem for p in engine]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    bot = {p.stem for p in (REPO / "bot").rglob("*.py")}
    assert set(names) & bot == set()
    top = [p for p in (REPO / "stylecore").glob("*.py")]
    assert len(top) <= 12, sorted(p.name for p in top)
