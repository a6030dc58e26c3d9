"""The bot's pure parts: configuration, callback data, caption commands, engine parameters, and
the `stylebot` entry point without a token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, MissingToken
from bot.jobs.runner import build_params
from bot.settings import JobSettings, Settings
from bot.telegram import texts
from bot.telegram.battle_stage import result_text
from bot.telegram.handlers.common import parse_stylize
from bot.telegram.keyboards import (
    MAX_CALLBACK_BYTES,
    ChangeSetting,
    ChoosePreset,
    EndBattle,
    MakeSticker,
    Noop,
    PickStyle,
    Rerun,
    ShowPage,
    Vote,
    battle_keyboard,
    parse_callback,
    preset_keyboard,
    result_keyboard,
    settings_keyboard,
    styles_keyboard,
)
from bot.telegram.status import queued_text

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- configuration


def test_config_defaults():
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": "1:abc"})
    assert config.db_path == Path("data/stylebot.db")
    assert config.work_dir == Path("data/work")
    assert config.api_base_url is None and config.api_file_url is None
    assert config.admins == frozenset()
    assert (config.max_queued_per_user, config.max_queue, config.max_attempts) == (3, 100, 3)
    assert config.file_ttl_days == 7 and config.previews is True and config.warm_up is True
    assert config.size_override is None and config.steps_override is None
    assert config.presets_dir is None
    assert "1:abc" not in repr(config)


def test_config_reads_every_variable():
    config = Config.from_env({
        "TELEGRAM_BOT_TOKEN": " 1:abc ",
        "STYLEBOT_DB": "/tmp/x.db",
        "STYLEBOT_WORK_DIR": "/tmp/work",
        "STYLEBOT_API_BASE_URL": "http://127.0.0.1:8081/bot",
        "STYLEBOT_API_FILE_URL": "http://127.0.0.1:8081/file/bot",
        "STYLEBOT_ADMINS": "5, 7,9",
        "STYLEBOT_QUALITY": "fast",
        "STYLEBOT_SIZE": "64",
        "STYLEBOT_STEPS": "2",
        "STYLEBOT_MAX_QUEUED_PER_USER": "5",
        "STYLEBOT_MAX_QUEUE": "10",
        "STYLEBOT_MAX_ATTEMPTS": "2",
        "STYLEBOT_FILE_TTL_DAYS": "1",
        "STYLEBOT_PREVIEWS": "off",
        "STYLEBOT_WARM_UP": "off",
        "STYLEBOT_POLL_TIMEOUT": "1",
        "STYLEBOT_PRESETS_DIR": "/srv/styles",
        "STYLEBOT_KEEP_JOBS_DAYS": "90",
        "STYLEBOT_BACKUP_DIR": "/backups",
        "STYLEBOT_BACKUP_KEEP": "14",
    })
    assert config.token == "1:abc"
    assert config.admins == {5, 7, 9} and config.is_admin(7) and not config.is_admin(8)
    assert config.default_quality == "fast"
    assert (config.size_override, config.steps_override) == (64, 2)
    assert (config.max_queued_per_user, config.max_queue, config.max_attempts) == (5, 10, 2)
    assert config.previews is False and config.poll_timeout == 1.0
    assert config.warm_up is False
    assert config.presets_dir == Path("/srv/styles")
    assert (config.keep_jobs_days, config.backup_dir, config.backup_keep) == (
        90, Path("/backups"), 14)


@pytest.mark.parametrize("name, value", [
    ("STYLEBOT_SIZE", "big"), ("STYLEBOT_STEPS", "0"), ("STYLEBOT_QUALITY", "ultra"),
    ("STYLEBOT_PREVIEWS", "maybe"), ("STYLEBOT_WARM_UP", "later"), ("STYLEBOT_ADMINS", "alice"),
    ("STYLEBOT_KEEP_JOBS_DAYS", "0"), ("STYLEBOT_KEEP_JOBS_DAYS", "-5"),
    ("STYLEBOT_KEEP_JOBS_DAYS", "a month"), ("STYLEBOT_BACKUP_KEEP", "0"),
])
def test_config_rejects_malformed_values_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({"TELEGRAM_BOT_TOKEN": "1:abc", name: value})


def test_config_without_token():
    with pytest.raises(MissingToken, match="@BotFather"):
        Config.from_env({"TELEGRAM_BOT_TOKEN": "  "})


def test_stylebot_without_token_exits_2_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "@BotFather" in lines[0] and "TELEGRAM_BOT_TOKEN" in lines[0] and ".env" in lines[0]
    assert done.stdout == ""


def test_token_can_come_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=\nSTYLEBOT_STEPS=zero\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "STYLEBOT"))}
    env["PYTHONPATH"] = str(REPO)
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=1:abc\nSTYLEBOT_STEPS=zero\n")
    done = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    # The token was found in .env; the malformed setting next to it stops the start-up.
    assert done.returncode == 2 and "STYLEBOT_STEPS" in done.stderr


@pytest.mark.parametrize("value", ["0", "-1", "forever"])
def test_a_retention_that_is_not_a_positive_number_of_days_stops_the_start(tmp_path, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "STYLEBOT"))}
    env |= {"PYTHONPATH": str(REPO), "TELEGRAM_BOT_TOKEN": "1:abc",
            "STYLEBOT_KEEP_JOBS_DAYS": value, "STYLEBOT_DB": str(tmp_path / "bot.db")}
    done = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "STYLEBOT_KEEP_JOBS_DAYS" in lines[0] and value in lines[0]
    assert not (tmp_path / "bot.db").exists()  # refused before anything was opened


# ---------------------------------------------------------------------- callback data


@pytest.mark.parametrize("data, expected", [
    ("p:12:mosaic", ChoosePreset(12, "mosaic")),
    ("g:12:2", ShowPage(12, 2)),
    ("d:starry_night", PickStyle("starry_night")),
    ("s:q:fast", ChangeSetting("quality", "fast")),
    ("s:s:low", ChangeSetting("strength", "low")),
    ("s:c:1", ChangeSetting("preserve_colors", True)),
    ("s:f:0", ChangeSetting("as_file", False)),
    ("s:v:0", ChangeSetting("previews", False)),
    ("r:7:up", Rerun(7, "up")),
    ("r:7:file", Rerun(7, "file")),
    ("k:7:s", MakeSticker(7, into_pack=False)),
    ("k:7:p", MakeSticker(7, into_pack=True)),
    ("v:5:2", Vote(5, 2)),
    ("e:5", EndBattle(5)),
    ("n", Noop()),
])
def test_callback_data_round_trip(data, expected):
    assert parse_callback(data) == expected


@pytest.mark.parametrize("data", [
    None, "", "x", "p:12", "p:0:mosaic", "p:12:Mosaic", "p:12:../../etc", "s:q:ultra",
    "s:c:2", "s:z:1", "r:7:explode", "r:-1:up", "r:7:up:extra", "d:" + "a" * 40,
    "p:12:mosaic\n", "n:1", "g:1:1000", "r:1:up" + " " * 64, "v:5:3", "v:0:1", "v:5",
    "e:5:1", "e:x", "k:7", "k:7:x", "k:0:s", "k:7:sp", "k:-7:p",
])
def test_forged_or_malformed_callback_data_is_refused(data):
    assert parse_callback(data) is None


def test_every_button_fits_telegram_limit_and_parses():
    names = [f"preset_{i:02d}_{'x' * 20}" for i in range(30)]
    markups = [
        preset_keyboard(names, 2**40, page=p) for p in range(4)
    ] + [styles_keyboard(names), settings_keyboard(Settings()), result_keyboard(10**11),
         battle_keyboard(10**11, names[:3], {names[0]: 10**6})]
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                assert len(button.callback_data.encode()) <= MAX_CALLBACK_BYTES
                assert parse_callback(button.callback_data) is not None, button.callback_data


def test_preset_keyboard_pages():
    names = [f"style{i}" for i in range(19)]
    first = preset_keyboard(names, 5, page=0).inline_keyboard
    assert [b.text for b in first[-1]] == ["◀", "1/3", "▶"]
    assert sum(len(row) for row in first[:-1]) == 8
    last = preset_keyboard(names, 5, page=2).inline_keyboard
    assert [b.callback_data for row in last[:-1] for b in row] == [
        "p:5:style16", "p:5:style17", "p:5:style18"]
    assert last[-1][2].callback_data == "g:5:0"  # wraps around
    single = preset_keyboard(names[:3], 5).inline_keyboard
    assert all(b.callback_data.startswith("p:") for row in single for b in row)


# ---------------------------------------------------------------------- commands in captions


@pytest.mark.parametrize("text, expected", [
    ("/stylize", (True, None)),
    ("/stylize mosaic", (True, "mosaic")),
    ("/stylize   mosaic  please", (True, "mosaic")),
    ("/stylize@stylebot_test_bot mosaic", (True, "mosaic")),
    ("/STYLIZE@StyleBot_Test_Bot", (True, None)),
    ("/stylize@other_bot mosaic", (False, None)),
    ("/stylizer mosaic", (False, None)),
    ("mosaic", (False, None)),
    (None, (False, None)),
])
def test_parse_stylize(text, expected):
    assert parse_stylize(text, "stylebot_test_bot") == expected


def test_queued_text():
    assert queued_text(0, None) == "Queued — you're next."
    assert queued_text(2, None) == "Queued — 2 ahead."
    assert queued_text(2, 40.2) == "Queued — 2 ahead, about 40 s."


# ---------------------------------------------------------------------- engine parameters


def test_build_params_from_settings_and_overrides():
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": "1:abc"})
    params = build_params(JobSettings(quality="high", strength="low"), config)
    assert params.size == 768 and params.style_strength == 0.15 and params.preserve_colors is None
    params = build_params(JobSettings(quality="fast", preserve_colors=True), config)
    assert params.size == 384 and params.preserve_colors == "luminance"

    tiny = Config.from_env({"TELEGRAM_BOT_TOKEN": "1:abc", "STYLEBOT_SIZE": "100",
                            "STYLEBOT_STEPS": "3"})
    params = build_params(JobSettings(quality="high", size_scale=0.7), tiny)
    assert (params.size, params.steps) == (70, 3)
    # Unknown or missing values fall back to the defaults instead of failing the job.
    params = build_params(JobSettings.from_dict({"quality": "ultra", "strength": "max"}), config)
    assert params.size == 512 and params.style_strength == 1.0


def test_battle_result_names_the_winner_a_tie_or_no_votes():
    styles = ["mosaic", "swirl", "crosshatch"]
    assert result_text(styles, {"swirl": 2, "mosaic": 1}).startswith(
        texts.BATTLE_WON.format(name="swirl", votes=2, lines="").rstrip())
    assert "a tie between mosaic and swirl" in result_text(styles, {"swirl": 1, "mosaic": 1})
    assert result_text(styles, {}).startswith("Style battle over: nobody voted.")
    assert "crosshatch: 0" in result_text(styles, {"swirl": 1})
