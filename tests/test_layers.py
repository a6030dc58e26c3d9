"""Imports point one way, down the layers of docs/development.md: the application's wiring,
then operating it, then Telegram, then the job system, then the shared foundations, then the
engine. Read from the code's own imports (those inside functions and under TYPE_CHECKING
too), so a change that runs an arrow back up fails here."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS: list[tuple[str, tuple[str, ...]]] = [  # top first
    ("application", ("bot.__main__", "bot.app", "bot.playground", "bot.usage",
                     "bot.healthcheck")),
    ("operations", ("bot.ops",)),
    ("studio", ("bot.studio",)),
    ("telegram", ("bot.telegram",)),
    ("jobs", ("bot.jobs",)),
    ("foundations", ("bot.config", "bot.store", "bot.schema", "bot.settings", "bot.logs",
                     "bot.broker", "bot.backup")),
    ("engine", ("stylecore",)),
]
TELEGRAM_LIBRARY = ("telegram",)
"""python-telegram-bot: only the Telegram layer and the application may import it."""


def layer_of(module: str) -> int | None:
    """The layer's depth (0 = top), or None for a module outside the project."""
    if module == "bot":  # the package itself (its version): the application's
        return 0
    for depth, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return depth
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """(line, module) for every import in the file (`module`: its name, if not its path's),
    relative ones resolved."""
    package = (module or module_name(path)).split(".")
    if path.name != "__init__.py":
        package.pop()
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[:len(package) - node.level + 1], base]).strip(".")
            submodules = [f"{base}.{alias.name}" for alias in node.names
                          if _is_module(f"{base}.{alias.name}")]
            # `from bot import logs` imports bot.logs, not the package's face
            found += [(node.lineno, name) for name in submodules or [base]]
    return found


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def project_files() -> list[Path]:
    return sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("stylecore/**/*.py")])


def test_no_import_runs_up_a_layer() -> None:
    upward = []
    for path in project_files():
        here = layer_of(module_name(path))
        assert here is not None, f"{path} is in no layer: add it to LAYERS and the docs"
        for line, imported in imports_of(path):
            there = layer_of(imported)
            if there is not None and there < here:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({LAYERS[here][0]}) imports "
                              f"{imported} ({LAYERS[there][0]})")
    assert not upward, "imports that run up a layer:\n" + "\n".join(upward)


def test_only_the_telegram_side_speaks_telegram() -> None:
    allowed = {depth for depth, (name, _) in enumerate(LAYERS)
               if name in ("application", "operations", "studio", "telegram")}
    speaking = [f"{path.relative_to(ROOT)}:{line} imports {imported}"
                for path in project_files() if layer_of(module_name(path)) not in allowed
                for line, imported in imports_of(path)
                if imported.split(".")[0] in TELEGRAM_LIBRARY]
    assert not speaking, "python-telegram-bot below the Telegram layer:\n" + "\n".join(speaking)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The check itself: a job-system module importing the Telegram side is caught, also when
    the import hides inside a function or is relative."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ..telegram import texts\n    from bot import logs\n"
                     "from bot.jobs.model import Job\n")
    imported = [name for _, name in imports_of(probe, "bot.jobs.probe")]
    assert sorted(imported) == ["bot.jobs.model", "bot.logs", "bot.telegram.texts"]
    assert layer_of("bot.telegram.texts") < layer_of("bot.jobs.probe") < layer_of("bot.logs")
