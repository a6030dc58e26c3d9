"""The playground for tests and scripts: `stylebot demo`'s `run` in a background thread (with a
Bot API the caller can inspect and steer), and headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by Selenium; never a downloaded browser)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.playground import demo
from bot.playground.bot_api import free_port
from tests.fake_bot_api import FakeTelegram

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return (f"{path} is missing: install Debian's {package} "
                    "(scripts/install_browser.sh does, as root)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the Python package selenium is missing (the dev extra has it)"
    return None


@contextlib.contextmanager
def headless_chromium(width: int = 1280, height: int = 800) -> Iterator[WebDriver]:
    """A fresh headless Chromium (its own temporary profile), quit on leaving."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="stylebot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@dataclass(frozen=True)
class Demo:
    url: str
    api: FakeTelegram
    """The playground's Bot API, as the tests' `FakeTelegram`: the bot's calls, `hold_next`,
    ..."""

    def state(self, chat: str = "private") -> dict:
        with urllib.request.urlopen(f"{self.url}api/chats/{chat}", timeout=30) as answer:
            return json.load(answer)


PLAYGROUND_ENV = {"STYLEBOT_SIZE": "64", "STYLEBOT_STEPS": "2", "STYLEBOT_POLL_TIMEOUT": "1",
                  "STYLEBOT_LOG_LEVEL": "WARNING", "STYLEBOT_WARM_UP": "off"}
"""Tiny quick jobs."""


@contextlib.contextmanager
def demo_in_thread(port: int | None = None, **overrides: str) -> Iterator[Demo]:
    """`stylebot demo` inside the block, its bot ready (commands set); stopped on leaving as
    Ctrl-C stops it. The environment is this one minus TELEGRAM*/STYLEBOT* settings, plus
    `PLAYGROUND_ENV` and `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "STYLEBOT"))}
    env.update(PLAYGROUND_ENV)
    env.update(overrides)
    api = FakeTelegram(token=demo.TOKEN, bot_user=demo.BOT_USER)
    port = port or free_port()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            loop.run_until_complete(demo.run(env, ("127.0.0.1", port), stop, api=api,
                                             out=io.StringIO()))
        except BaseException as exc:
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name="playground", daemon=True)
    thread.start()
    try:
        wait_until(lambda: failure or api.find("setMyCommands"), 120, "the bot to start")
        if failure:
            raise failure[0]
        yield Demo(f"http://127.0.0.1:{port}/", api)
    finally:
        with contextlib.suppress(RuntimeError):  # the loop is closed: it has stopped already
            loop.call_soon_threadsafe(stop.set)
        thread.join(120)
        assert not thread.is_alive(), "the playground did not stop"


def wait_until(condition, timeout: float = 60.0, what: str = "the condition"):
    """Polls `condition` until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
