"""The playground's chat page in a real browser (headless Chromium): a user sends a photo, taps a
style, sees the preview and the result, changes a setting, votes in a group battle; bad input
gets an answer; a reload keeps the chat; a stopped server is said so, and a restarted one too.
The bot is the real one, against the playground's Bot API, with tiny quick jobs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import REPO, content_photo, decode, is_result_upload, style_photo
from tests.playground_servers import Demo, browser_missing, demo_in_thread, headless_chromium, write

pytestmark = pytest.mark.skipif(browser_missing() is not None,
                                reason=browser_missing() or "")

if browser_missing() is None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import Select

    from tests.chat_page import (
        attach,
        body,
        bot_ids,
        callbacks,
        drop,
        images,
        newest_bot_row,
        open_chat,
        paste,
        rows,
        send,
        tap,
        wait_until,
    )


@pytest.fixture(scope="module")
def playground() -> Iterator[Demo]:
    # Enough steps for a preview to be computed; the tests hold the result's upload so the
    # preview shows however fast this machine is.
    with demo_in_thread(STYLEBOT_STEPS="12") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium() as driver:
        driver.implicitly_wait(0)
        yield driver


def test_photo_style_preview_result_and_a_setting(playground: Demo, browser: WebDriver,
                                                  tmp_path: Path):
    open_chat(browser, playground.url)
    empty = browser.find_element(By.ID, "empty")
    assert "Send a photo to start" in empty.text

    content = content_photo(64, 48)
    attach(browser, write(tmp_path / "photo.jpg", content))
    assert "photo.jpg" in browser.find_element(By.ID, "pending").text
    before = bot_ids(browser)
    send(browser)
    mine = wait_until(lambda: rows(browser, "user"), 30, "my photo in the chat")[-1]
    wait_until(lambda: images(mine), 10, "my photo to load")
    assert not empty.is_displayed()

    offer = newest_bot_row(browser, before, lambda r: callbacks(r), what="the style buttons")
    assert "Pick a style" in body(offer)
    mosaic = next(b for b in callbacks(offer) if b.get_attribute("data-callback").endswith(
        ":mosaic"))
    result_upload = playground.api.hold_next("sendPhoto", is_result_upload)
    mosaic.click()

    preview = newest_bot_row(browser, before, lambda r: body(r).startswith("Stylising")
                             and images(r), timeout=120, what="a live preview")
    # A preview's only button is the instant picture's "Keep this one".
    assert all(b.get_attribute("data-callback").startswith("i:") for b in callbacks(preview))
    # A reload in the middle of the job: the chat comes back from the server, preview and all.
    browser.refresh()
    newest_bot_row(browser, before, lambda r: body(r).startswith("Stylising") and images(r),
                   timeout=30, what="the preview after a reload")
    result_upload.wait_arrived(120)
    result_upload.release()  # a 502, as if Telegram failed: the bot sends the result again
    result = newest_bot_row(browser, before, lambda r: body(r).startswith("mosaic") and any(
        b.get_attribute("data-callback").startswith("r:") for b in callbacks(r)),
        timeout=120, what="the result with its re-run buttons")
    picture = wait_until(lambda: images(result), 30, "the result to load")[0]
    assert picture.get_attribute("naturalWidth") == "64"
    # The preview made way for the result: one bot picture message about this photo is left.
    wait_until(lambda: not any("Stylising" in body(r) for r in rows(browser, "bot")), 30,
               "the preview to go")
    shown = decode(playground.api.file_bytes(
        picture.get_attribute("src").rsplit("/", 1)[-1]))
    assert shown.shape == (48, 64, 3)

    # A setting: /settings, tap "fast", the menu message is edited in place.
    before = bot_ids(browser)
    send(browser, "/settings")
    menu = newest_bot_row(browser, before, lambda r: body(r).startswith("Settings")
                          and callbacks(r), what="the settings menu")
    menu_id = menu.get_attribute("data-message-id")
    assert "Quality: Balanced" in body(menu)
    next(b for b in callbacks(menu) if b.get_attribute("data-callback") == "s:q:fast").click()
    edited = wait_until(lambda: next((r for r in rows(browser, "bot") if r.get_attribute(
        "data-message-id") == menu_id and "Quality: Fast" in body(r)), None), 60,
        "the settings message edited to fast")
    assert "edited" in edited.text
    assert len(bot_ids(browser) - before) == 1  # edited, not a new message
    assert "Saved." in wait_until(lambda: browser.find_element(By.ID, "toasts").text, 30,
                                  "the button's answer as a toast")

    # A reload shows the same chat: the history lives in the server.
    count = len(rows(browser))
    browser.refresh()
    wait_until(lambda: len(rows(browser)) == count, 30, "the chat back after a reload")


def test_group_battle_vote(playground: Demo, browser: WebDriver, tmp_path: Path):
    open_chat(browser, playground.url)
    browser.find_element(By.CSS_SELECTOR, '.chat-item[data-chat="group"]').click()
    wait_until(lambda: "members" in browser.find_element(By.ID, "chat-status").text, 30,
               "the group to open")
    sender = Select(browser.find_element(By.ID, "sender"))
    sender.select_by_value("bob")
    attach(browser, write(tmp_path / "bob.jpg", content_photo(64, 48, tint=(30, 0, 0))))
    send(browser)
    bobs = wait_until(lambda: [r for r in rows(browser, "user") if "Bob" in r.text], 30,
                      "Bob's photo")[-1]
    assert "in" in bobs.get_attribute("class").split()  # someone else's message

    # Alex replies to Bob's photo with /battle.
    sender.select_by_value("you")
    browser.execute_script("arguments[0].click()",
                           bobs.find_element(By.CSS_SELECTOR, ".reply-btn"))
    assert "Bob" in browser.find_element(By.ID, "reply-bar").text
    before = bot_ids(browser)
    send(browser, "/battle mosaic swirl")
    album = newest_bot_row(browser, before, lambda r: len(images(r)) == 2, timeout=180,
                           what="the battle's album")
    assert "mosaic" in album.text
    vote = newest_bot_row(browser, before, lambda r: len(callbacks(r)) == 3, timeout=60,
                          what="the vote message")
    vote_id = vote.get_attribute("data-message-id")

    def vote_as(member: str, style: str) -> None:
        Select(browser.find_element(By.ID, "sender")).select_by_value(member)
        tap(browser, vote_id, style)

    vote_as("carol", "mosaic")
    vote_as("dave", "mosaic")
    vote_as("bob", "swirl")
    counted = wait_until(lambda: next((r for r in rows(browser, "bot") if r.get_attribute(
        "data-message-id") == vote_id and "mosaic (2)" in r.text and "swirl (1)" in r.text),
        None), 60, "the votes counted in the vote message")
    assert "mosaic: 2" in counted.text
    vote_as("you", "End")
    wait_until(lambda: any("winner: mosaic" in r.text for r in rows(browser, "bot")), 60,
               "the winner")


def test_bad_input(playground: Demo, browser: WebDriver, tmp_path: Path):
    open_chat(browser, playground.url)
    # Not an image, dropped on the chat: sent as a file, and the bot says it cannot read it.
    before = bot_ids(browser)
    drop(browser, "notes.txt", b"not a picture at all\n" * 50, "text/plain")
    assert "notes.txt" in browser.find_element(By.ID, "pending").text
    send(browser)
    answer = newest_bot_row(browser, before, what="an answer to a text file")
    assert "not an image" in answer.text
    # 30 MB: too big for a photo, so a file; the bot cannot download it (20 MB) and says so.
    before = bot_ids(browser)
    attach(browser, write(tmp_path / "huge.jpg", content_photo() + bytes(30 * 2**20)))
    send(browser)
    answer = newest_bot_row(browser, before, what="an answer to a 30 MB file")
    assert "too big" in answer.text
    # Two photos at once: an album, the first painted in the style of the second.
    before = bot_ids(browser)
    attach(browser, write(tmp_path / "a.jpg", content_photo()),
           write(tmp_path / "b.jpg", style_photo()))
    send(browser)
    newest_bot_row(browser, before, lambda r: images(r) and callbacks(r), timeout=180,
                   what="the album's result")
    # A pasted image is a photo like any other.
    before = bot_ids(browser)
    paste(browser, "image.png", content_photo(), "image/png")
    send(browser)
    answer = newest_bot_row(browser, before, callbacks, what="the styles for a pasted photo")
    assert "Pick a style" in body(answer)
    # Nothing typed, nothing attached: nothing is sent and nothing hangs.
    count = len(rows(browser))
    browser.find_element(By.ID, "send").click()
    time.sleep(0.5)
    assert len(rows(browser)) == count


def test_two_tabs_see_one_chat(playground: Demo, browser: WebDriver):
    open_chat(browser, playground.url)
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    open_chat(browser, playground.url)
    browser.find_element(By.ID, "text").send_keys("/help", Keys.ENTER)
    browser.switch_to.window(first)
    wait_until(lambda: any(body(r) == "/help" for r in rows(browser, "user")), 30,
               "the other tab's message")
    browser.switch_to.window(browser.window_handles[-1])
    browser.close()
    browser.switch_to.window(first)


def test_server_stopped_and_started_again(browser: WebDriver, tmp_path: Path):
    """`stylebot demo` as a user runs it: Ctrl-C stops it cleanly; the page says the server
    is gone, then that it is back with a new chat."""
    from tests.fake_telegram import free_port
    from tests.playground_servers import PLAYGROUND_ENV

    port = free_port()
    env = {**PLAYGROUND_ENV, "STYLEBOT_DEMO_LISTEN": f"127.0.0.1:{port}", "PYTHONPATH": str(REPO)}

    log = tmp_path / "demo.log"

    def start() -> subprocess.Popen:
        log.write_text("")
        with open(log, "w") as out:
            process = subprocess.Popen([sys.executable, "-m", "bot", "demo"], cwd=tmp_path,
                                       env={**_clean_env(), **env}, stdout=out,
                                       stderr=subprocess.STDOUT, text=True)
        wait_until(lambda: "Ctrl-C" in log.read_text() or process.poll() is not None, 60,
                   "the demo's address")
        assert f"open http://127.0.0.1:{port}/" in log.read_text(), log.read_text()
        return process

    process = start()
    try:
        assert "loopback only" in log.read_text()
        browser.get(f"http://127.0.0.1:{port}/")
        wait_until(lambda: browser.find_element(By.ID, "chat-title").text == "Stylebot", 30,
                   "the page")
        process.send_signal(signal.SIGINT)
        assert process.wait(90) == 0, log.read_text()
        assert "stopped" in log.read_text()
        banner = browser.find_element(By.ID, "banner")
        wait_until(lambda: "Cannot reach the playground server" in banner.text, 30,
                   "the page to say the server is gone")
        process = start()
        wait_until(lambda: "restarted" in banner.text, 60, "the page to say it is back")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(90)


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "STYLEBOT"))}
