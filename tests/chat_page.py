"""The playground's chat page as a user sees it in a browser driven by Selenium: its messages
(rows), their texts, pictures and buttons, and what a user does there. Shared by the browser
tests and scripts/screenshots.py."""

from __future__ import annotations

import base64

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests import playground_servers


def wait_until(condition, timeout: float = 60.0, what: str = "the condition"):
    """`wait_until` where an element the page has just re-rendered counts as not yet."""
    def settled():
        try:
            return condition()
        except StaleElementReferenceException:
            return None

    return playground_servers.wait_until(settled, timeout, what)


def open_chat(browser: WebDriver, url: str, chat: str = "private") -> None:
    browser.get(f"{url}?chat={chat}")
    wait_until(lambda: browser.find_element(By.ID, "chat-status").text not in (
        "connecting…", "the bot is starting…"), 60, "the page to show the bot online")


def rows(browser: WebDriver, who: str | None = None) -> list[WebElement]:
    found = browser.find_elements(By.CSS_SELECTOR, "#messages .msg-row")
    return [r for r in found if who is None or r.get_attribute("data-from") == who]


def attach(browser: WebDriver, *paths: str) -> None:
    browser.find_element(By.ID, "file-input").send_keys("\n".join(paths))


def send(browser: WebDriver, text: str = "") -> None:
    box = browser.find_element(By.ID, "text")
    if text:
        box.send_keys(text)
    browser.find_element(By.ID, "send").click()
    wait_until(lambda: box.get_attribute("value") == "", 30, "the message to be sent")


def bot_ids(browser: WebDriver) -> set[str]:
    """The ids of the bot's messages on the page now."""
    return {r.get_attribute("data-message-id") for r in rows(browser, "bot")}


def newest_bot_row(browser: WebDriver, known: set[str], predicate=lambda row: True,
                   timeout: float = 90, what: str = "the bot's answer") -> WebElement:
    """The newest of the bot's messages (not among `known`) that matches."""
    return wait_until(lambda: next((r for r in reversed(rows(browser, "bot"))
                                    if r.get_attribute("data-message-id") not in known
                                    and predicate(r)), None), timeout, what)


def body(row: WebElement) -> str:
    """The text or caption of a message (not the message it quotes, nor its buttons)."""
    return "\n".join(t.text for t in row.find_elements(By.CSS_SELECTOR, ".bubble > .text"))


def callbacks(row: WebElement) -> list[WebElement]:
    return row.find_elements(By.CSS_SELECTOR, ".keyboard button")


def images(row: WebElement) -> list[WebElement]:
    return [img for img in row.find_elements(By.CSS_SELECTOR, "img")
            if img.get_attribute("naturalWidth") not in (None, "0")]


def tap(browser: WebDriver, message_id: str, label: str) -> None:
    """Taps the button of the bot's message whose text starts with `label` (again if the
    message was re-rendered meanwhile)."""
    def click() -> bool:
        row = next(r for r in rows(browser, "bot")
                   if r.get_attribute("data-message-id") == message_id)
        next(b for b in callbacks(row) if b.text.startswith(label)).click()
        return True

    wait_until(click, 30, f"a tap on {label}")


_DROP_OR_PASTE = """
const [how, name, b64, type] = arguments;
const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const data = new DataTransfer();
data.items.add(new File([bytes], name, { type }));
if (how === "drop") {
  const chat = document.getElementById("chat");
  chat.dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true }));
  chat.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true,
                                             cancelable: true }));
} else {
  document.getElementById("text").dispatchEvent(new ClipboardEvent("paste", {
    clipboardData: data, bubbles: true, cancelable: true }));
}
"""


def drop(browser: WebDriver, name: str, data: bytes, content_type: str) -> None:
    """A file dragged from the desktop and dropped on the chat (the browser's own events)."""
    browser.execute_script(_DROP_OR_PASTE, "drop", name, base64.b64encode(data).decode(),
                           content_type)


def paste(browser: WebDriver, name: str, data: bytes, content_type: str) -> None:
    """A file pasted into the message box (Ctrl-V after copying an image)."""
    browser.execute_script(_DROP_OR_PASTE, "paste", name, base64.b64encode(data).decode(),
                           content_type)
