"""Takes the playground's screenshots from the real page (a script, not a test): starts `stylebot
demo` with small quick paintings, plays a private chat (a photo, a style, the result) and a
group battle (Bob's photo, Alex's `/battle mosaic swirl`, three votes) in headless Chromium,
and saves what the browser shows.

    .venv/bin/python scripts/screenshots.py   # docs/screenshots/{private-chat,group-battle}.png
    .venv/bin/python scripts/screenshots.py -o /tmp/shots --size 192

Needs Debian's chromium and chromium-driver (scripts/install_browser.sh) and the dev extra
(selenium). The photo is ../shared/images/photos/tubingen.jpg when there is one (as for
docs/battle.png), else a drawn test picture; the styles are procedural (nothing downloaded).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402  (after the path set-up above)

from tests.fake_telegram import content_photo  # noqa: E402
from tests.playground_servers import browser_missing, demo_in_thread, headless_chromium  # noqa: E402

PHOTO = next((p for p in (REPO.parent / "shared" / "images" / "photos" / "tubingen.jpg",
                          REPO.parents[1] / "shared" / "images" / "photos" / "tubingen.jpg")
              if p.is_file()), None)  # beside the repository, or beside its worktree's
MAX_BYTES = 400 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--size", type=int, default=256, help="the paintings' long side (px)")
    parser.add_argument("--steps", type=int, default=8, help="optimiser steps per painting")
    args = parser.parse_args()
    if (reason := browser_missing()) is not None:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 2
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

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
        tap,
        wait_until,
    )

    photo = PHOTO.read_bytes() if PHOTO else content_photo(480, 360)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, demo_in_thread(
            STYLEBOT_SIZE=str(args.size), STYLEBOT_STEPS=str(args.steps)) as demo, \
            headless_chromium(1200, 1000) as browser:
        photo_path = Path(tmp) / "photo.jpg"
        photo_path.write_bytes(photo)

        # A private chat: a photo, a style tapped, the result.
        open_chat(browser, demo.url)
        known = bot_ids(browser)
        attach(browser, str(photo_path))
        send(browser)
        offer = newest_bot_row(browser, known, callbacks, what="the style buttons")
        tap(browser, offer.get_attribute("data-message-id"), "mosaic")
        result = newest_bot_row(browser, known, lambda r: body(r).startswith("mosaic")
                                and images(r), timeout=600, what="the result")
        wait_until(lambda: not any(body(r).startswith("Stylising") for r in rows(browser)),
                   60, "the preview to go")
        browser.execute_script("arguments[0].scrollIntoView({block: 'end'})", result)
        time.sleep(0.5)
        save(browser, args.out / "private-chat.png")

        # A group battle: Bob's photo, Alex's /battle in reply, votes.
        browser.find_element(By.CSS_SELECTOR, '.chat-item[data-chat="group"]').click()
        wait_until(lambda: "members" in browser.find_element(By.ID, "chat-status").text, 30,
                   "the group")
        sender = Select(browser.find_element(By.ID, "sender"))
        sender.select_by_value("bob")
        attach(browser, str(photo_path))
        send(browser, "Paint this one!")
        bobs = wait_until(lambda: [r for r in rows(browser, "user") if images(r)], 30,
                          "Bob's photo")[-1]
        sender.select_by_value("you")
        browser.execute_script("arguments[0].click()",
                               bobs.find_element(By.CSS_SELECTOR, ".reply-btn"))
        known = bot_ids(browser)
        send(browser, "/battle mosaic swirl")
        vote = newest_bot_row(browser, known, lambda r: len(callbacks(r)) == 3, timeout=900,
                              what="the vote message")
        vote_id = vote.get_attribute("data-message-id")
        for member, style in (("carol", "mosaic"), ("dave", "swirl"), ("bob", "mosaic")):
            sender.select_by_value(member)
            tap(browser, vote_id, style)
        wait_until(lambda: any("mosaic (2)" in r.text for r in rows(browser, "bot")), 60,
                   "the votes counted")
        sender.select_by_value("you")
        time.sleep(4.5)  # the vote toasts fade
        browser.execute_script("document.getElementById('messages').scrollTop = 1e9")
        time.sleep(0.5)
        save(browser, args.out / "group-battle.png")
    print(f"took {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


def save(browser, path: Path) -> None:
    """The page as PNG (the mouse away from the messages, whose reply buttons show on hover),
    palette-quantised when needed to stay under MAX_BYTES."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    ActionChains(browser).move_to_element(browser.find_element(By.ID, "chat-title")).perform()
    image = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    data = _png(image)
    if len(data) > MAX_BYTES:
        data = _png(image.quantize(colors=256, method=Image.Quantize.MEDIANCUT))
    path.write_bytes(data)
    print(f"wrote {path} ({image.width}x{image.height}, {len(data) // 1024} KB)")


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


if __name__ == "__main__":
    sys.exit(main())
