"""`stylebot --help` and `stylebot --version`: answered from the settings table in `bot/config.py`'s
docstring and the installed package's metadata, before anything heavy (Telegram, TensorFlow) is
imported and without a token."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bot import config

_ROW = re.compile(
    r"^\|\s*`(?P<name>[A-Z][A-Z0-9_]*)`\s*\|(?P<default>[^|]*)\|(?P<meaning>.*)\|\s*$")


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    meaning: str


def settings() -> list[Setting]:
    """The rows of the table in `bot/config.py`'s docstring, the one list of settings."""
    rows = []
    for line in (config.__doc__ or "").splitlines():
        match = _ROW.match(line.strip())
        if match:
            rows.append(Setting(match["name"], _plain(match["default"]), _plain(match["meaning"])))
    return rows


def version() -> str:
    try:
        return metadata.version("stylebot")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def settings_help() -> str:
    """One line per setting: its name, its default and what it does."""
    rows = settings()
    width = max(len(row.name) for row in rows)
    lines = [f"  {row.name:<{width}}  {row.meaning} [default: {row.default}]" for row in rows]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(
        prog="stylebot",
        description="A Telegram bot that turns photos into paintings (neural style transfer).\n"
                    "Without arguments it runs the bot, configured by environment variables\n"
                    "(or a .env file in the working folder), until Ctrl-C or SIGTERM.\n"
                    "`stylebot demo` runs the playground instead (no token needed; see\n"
                    "`stylebot demo --help`); `stylebot backup PATH` copies the database\n"
                    "while the bot runs, `stylebot restore PATH` puts a copy back.",
        epilog="settings (environment variables; booleans accept on/off, true/false, yes/no, "
               f"1/0):\n{settings_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument("-V", "--version", action="version", version=f"stylebot {version()}")

    return result


def demo_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="stylebot demo",
        description="The playground: the bot, unchanged, against a local Bot API, and a chat\n"
                    "page that looks like Telegram, on http://127.0.0.1:8080. No token, no\n"
                    "Telegram. Stops on Ctrl-C.",
        epilog="settings: STYLEBOT_DEMO_LISTEN (host:port, default 127.0.0.1:8080) and the\n"
               "bot's own (stylebot --help), e.g. STYLEBOT_QUALITY, STYLEBOT_SIZE.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def backup_parser() -> argparse.ArgumentParser:
    return _path_command(
        "stylebot backup",
        "Copies the bot's database (STYLEBOT_DB) to PATH while the bot runs:\n"
        "one consistent moment, checked (PRAGMA integrity_check) before it says\n"
        "done. PATH must not exist. Exit status 1, with one line, if it fails.",
        "the new file to write")


def restore_parser() -> argparse.ArgumentParser:
    return _path_command(
        "stylebot restore",
        "Puts a copy made by `stylebot backup` in place of the database\n"
        "(STYLEBOT_DB), with the bot stopped; the database that was there is\n"
        "kept beside it as <name>.before-restore-<time>. At the next start the\n"
        "jobs waiting or running in the copy run, each once.",
        "the copy")


def _path_command(prog: str, description: str, path_help: str) -> argparse.ArgumentParser:
    """A subcommand's parser that takes one PATH."""
    result = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("path", type=Path, help=path_help)
    return result


def _plain(cell: str) -> str:
    text = cell.strip().replace("`", "")
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return text
