"""The package as a packager or someone else's Dockerfile builds it: `pip wheel .` from a source
tree without compiled catalogues, installed with `--no-deps` into an empty virtual environment,
away from this checkout. The wheel must carry the compiled translations (setup.py), and the
`stylebot` command must answer `--version` and `--help` there, which also shows that neither
needs a token, Telegram or TensorFlow (none of them is installed in that environment)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "bot", "stylecore")
CATALOGUES = {"ru": "ru", "zh": "zh_Hans", "es": "es"}
"""The bot's language codes and their catalogue folders under bot/locale."""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            # No .mo files: whatever the wheel holds, its build compiled.
            shutil.copytree(path, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
        else:
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("wheelhouse")
    # With build isolation, as a packager builds: setuptools and Babel come from the index.
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--quiet",
                    "--wheel-dir", str(out)], cwd=source, check=True, timeout=240)
    (built,) = out.glob("stylebot-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty virtual environment with only the wheel in it; returns its bin folder."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=False)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"),
                    "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=120)
    return env / "bin"


def run_in(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # cwd outside the checkout, no token: only the installed copy can answer.
    return subprocess.run([*args], cwd=bin_dir.parent, capture_output=True, text=True,
                          timeout=60, env={"PATH": str(bin_dir), "HOME": str(bin_dir.parent)})


def test_the_wheel_carries_every_compiled_catalogue(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in CATALOGUES.values():
        assert f"bot/locale/{folder}/LC_MESSAGES/stylebot.mo" in names, names


def test_the_wheel_carries_the_playgrounds_page(wheel: Path) -> None:
    """`stylebot demo` serves its chat page from the package: every file of it is in the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    static = REPO / "bot" / "playground" / "static"
    pages = {f"bot/playground/static/{path.name}" for path in static.iterdir()}
    assert {"bot/playground/static/index.html", "bot/playground/static/app.js"} <= pages
    assert pages <= names, pages - names


def test_the_installed_wheel_speaks_every_language(installed: Path) -> None:
    codes = sorted(CATALOGUES)
    probe = ("import json, bot; from bot.telegram import i18n, texts; "
             "print(json.dumps({'from': bot.__file__, "
             f"'texts': {{code: i18n.translator(code)(texts.HELP) for code in {codes!r}}}}}))")
    answer = run_in(installed, str(installed / "python"), "-c", probe)
    assert answer.returncode == 0, answer.stderr
    result = json.loads(answer.stdout)
    assert result["from"].startswith(str(installed.parent)), result["from"]
    from bot.telegram import texts

    for code, folder in CATALOGUES.items():
        with (REPO / "bot" / "locale" / folder / "LC_MESSAGES" / "stylebot.po").open("rb") as po:
            expected = read_po(po).get(texts.HELP).string
        assert expected and expected != texts.HELP
        assert result["texts"][code] == expected, code


def test_stylebot_version_answers_without_a_token(installed: Path) -> None:
    answer = run_in(installed, str(installed / "stylebot"), "--version")
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == f"stylebot {version}"


def test_stylebot_help_lists_every_setting_the_bot_reads(installed: Path) -> None:
    answer = run_in(installed, str(installed / "stylebot"), "--help")
    assert answer.returncode == 0, answer.stderr
    lines = answer.stdout.splitlines()
    read = {name for path in (REPO / "bot").rglob("*.py")
            for name in re.findall(r"\bSTYLEBOT_[A-Z0-9_]+\b", path.read_text())}
    read |= {"TELEGRAM_BOT_TOKEN", "STYLECORE_MAX_PIXELS_PER_RUN", "STYLECORE_PRECISION"}
    for name in sorted(read):
        described = [line for line in lines if line.split()[:1] == [name]]
        assert len(described) == 1, f"{name} is not on one line of stylebot --help"
        assert "[default: " in described[0], described[0]
    assert any("STYLEBOT_QUALITY" in line and "[default: balanced]" in line for line in lines)


def test_an_unknown_argument_gets_one_line_and_status_2(installed: Path) -> None:
    answer = run_in(installed, str(installed / "stylebot"), "--tokne", "x")
    assert answer.returncode == 2
    assert "unrecognized arguments: --tokne x" in answer.stderr
