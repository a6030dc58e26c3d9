"""The studio in the playground, in headless Chromium, as a user meets it: a painted photo's
"Open in studio" opens the Mini App in a panel beside the chat (signed in by the playground as
Telegram signs it); picking a style, moving the strength slider and brushing each bring a new
picture; "Paint carefully" closes the studio and the result comes in the chat. Then "Share"
opens the inline panel and sends the painting into the group, via the bot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import content_photo
from tests.playground_servers import Demo, browser_missing, demo_in_thread, headless_chromium, write

pytestmark = pytest.mark.skipif(browser_missing() is not None,
                                reason=browser_missing() or "")

if browser_missing() is None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    from tests.chat_page import (
        attach,
        body,
        bot_ids,
        callbacks,
        images,
        newest_bot_row,
        open_chat,
        rows,
        send,
        wait_until,
    )


@pytest.fixture(scope="module")
def playground() -> Iterator[Demo]:
    with demo_in_thread(STYLEBOT_STEPS="4") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium(1400, 900) as driver:
        driver.implicitly_wait(0)
        yield driver


def studio_says(browser: WebDriver, name: str) -> str:
    return browser.find_element(By.ID, "studio").get_attribute(f"data-{name}") or ""


def previews(browser: WebDriver) -> int:
    return int(studio_says(browser, "previews") or 0)


def tap(browser: WebDriver, selector: str) -> None:
    """A tap on a control, scrolled to the middle of the screen first, as a thumb would."""
    node = browser.find_element(By.CSS_SELECTOR, selector)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", node)
    node.click()


def a_new_picture(browser: WebDriver, after: int, what: str) -> None:
    wait_until(lambda: previews(browser) > after, 120, what)


def test_studio_slider_brush_and_careful_painting(playground: Demo, browser: WebDriver,
                                                  tmp_path: Path):
    open_chat(browser, playground.url)
    attach(browser, write(tmp_path / "photo.jpg", content_photo(64, 48)))
    browser.find_element(By.ID, "text").send_keys("mosaic")
    before = bot_ids(browser)
    send(browser)
    result = newest_bot_row(browser, before, lambda r: body(r).startswith("mosaic")
                            and r.find_elements(By.CSS_SELECTOR, "button.web-app"),
                            timeout=240, what="the result with Open in studio")
    result.find_element(By.CSS_SELECTOR, "button.web-app").click()
    panel = browser.find_element(By.ID, "studio-panel")
    wait_until(panel.is_displayed, 30, "the studio's panel")

    browser.switch_to.frame(browser.find_element(By.ID, "studio-frame"))
    wait_until(lambda: studio_says(browser, "state") == "ready", 60, "the studio to open")
    a_new_picture(browser, 0, "the first picture")
    painting = browser.find_element(By.ID, "painting")
    first_src = painting.get_attribute("src")
    assert painting.get_attribute("naturalWidth") == "384"
    assert browser.find_element(By.CSS_SELECTOR, "[data-word=paint_carefully]").text == \
        "Paint carefully"

    # A style.
    shown = previews(browser)
    tap(browser, '#styles button[data-id="preset:pointillism"]')
    a_new_picture(browser, shown, "the picture in the new style")
    assert painting.get_attribute("src") != first_src

    # The strength slider, dragged to the left.
    shown = previews(browser)
    slider = browser.find_element(By.ID, "strength")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", slider)
    before_value = slider.get_attribute("value")
    ActionChains(browser).click_and_hold(slider).move_by_offset(-120, 0).release().perform()
    wait_until(lambda: slider.get_attribute("value") != before_value, 10, "the slider to move")
    a_new_picture(browser, shown, "the picture after the slider moved")

    # The brush: keep the photo where the finger goes.
    shown = previews(browser)
    tap(browser, "#brush-photo")
    layer = browser.find_element(By.ID, "brush-layer")
    width = layer.size["width"]
    ActionChains(browser).move_to_element_with_offset(layer, -width // 3, -20).click_and_hold() \
        .move_by_offset(0, 40).move_by_offset(20, 0).release().perform()
    wait_until(lambda: studio_says(browser, "mask").startswith("mask-"), 30,
               "the brushed mask to be kept")
    a_new_picture(browser, shown, "the brushed picture")
    assert max(browser.execute_script("return window.studioTimings")) < 60_000

    # Paint carefully: the studio closes, the job comes in the chat.
    before = bot_ids_after_switch(browser)
    tap(browser, "#paint")
    browser.switch_to.default_content()
    wait_until(lambda: not panel.is_displayed(), 30, "the studio to close")
    careful = newest_bot_row(browser, before, lambda r: body(r).startswith("pointillism")
                             and images(r) and callbacks(r), timeout=240,
                             what="the careful painting in the chat")
    assert careful.find_elements(By.CSS_SELECTOR, "button.web-app")  # the usual buttons

    # Share: the inline panel lists the paintings; one tap sends it into the group.
    careful.find_element(By.CSS_SELECTOR, "button[data-inline]").click()
    result_buttons = wait_until(lambda: browser.find_elements(
        By.CSS_SELECTOR, "#inline-results button"), 30, "the inline answer")
    assert len(result_buttons) == 1  # "pointillism" typed: only that style's painting
    result_buttons[0].click()
    wait_until(lambda: any("via @stylebot" in r.text for r in rows(browser, "user")), 30,
               "the shared painting in the group")
    assert "Playground group" in browser.find_element(By.ID, "chat-title").text


def bot_ids_after_switch(browser: WebDriver) -> set[str]:
    """The chat's bot messages, read from the chat page (outside the studio's frame)."""
    browser.switch_to.default_content()
    known = bot_ids(browser)
    browser.switch_to.frame(browser.find_element(By.ID, "studio-frame"))
    return known
