"""The studio's targets (issue #30), measured through the page in headless Chromium in the
playground (`stylebot demo` in this process, the real bot and its studio):

1. the first picture after opening the studio (target: 2 s), from the tap on "Open in studio"
   and from the moment the studio's page began loading;
2. a preview after a slider move, warm, at 384 px (target: median of 50 at most 0.5 s), from
   the page's request to the new picture decoded on screen, one move at a time, a moment
   apart as a finger moves (never throttled by the per-user limit);
3. a careful job alone, then with the slider dragged without pause all the while (at least
   60 s): how much longer it takes (target: at most 25%), from the worker time in its caption.
   The job alone runs twice (before and after), and their mean is "alone".

    .venv/bin/python benchmarks/studio.py                      # 256 px jobs
    .venv/bin/python benchmarks/studio.py --size 384 --moves 50

The photo is ../shared/images/photos/tubingen.jpg when there is one, else a drawn 640x480 one.
The figures and the machine's load go to stdout and to benchmarks/results/studio-*.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from selenium.webdriver.common.by import By  # noqa: E402

from tests.chat_page import attach, body, bot_ids, newest_bot_row, open_chat  # noqa: E402
from tests.fake_telegram import content_photo  # noqa: E402
from tests.playground_servers import demo_in_thread, headless_chromium, wait_until  # noqa: E402

PHOTO = REPO.parent / "shared" / "images" / "photos" / "tubingen.jpg"
DRAG_JS = """
const slider = document.getElementById("strength");
let t = 0;
window.benchDrag = setInterval(() => {
  t += 1;
  slider.value = String(Math.round(50 + 45 * Math.sin(t / 7)));
  slider.dispatchEvent(new Event("input"));
}, 30);
"""
MOVE_JS = """
const slider = document.getElementById("strength");
slider.value = String(arguments[0]);
slider.dispatchEvent(new Event("input"));
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="the careful jobs' long side")
    parser.add_argument("--moves", type=int, default=50, help="slider moves to time")
    parser.add_argument("--drag-s", type=float, default=60.0, help="drag at least this long")
    args = parser.parse_args()
    load_before = os.getloadavg()
    photo = PHOTO.read_bytes() if PHOTO.is_file() else content_photo(640, 480)
    with tempfile.TemporaryDirectory() as folder, \
            demo_in_thread(STYLEBOT_SIZE=str(args.size), STYLEBOT_STEPS="",
                           STYLEBOT_WARM_UP="on", STYLEBOT_LOG_LEVEL="WARNING") as demo, \
            headless_chromium(1400, 900) as browser:
        path = Path(folder) / "photo.jpg"
        path.write_bytes(photo)
        open_chat(browser, demo.url)
        first_job = careful_job(browser, str(path), "mosaic")  # warms the job worker
        tap_s, page_ms = open_studio(browser)
        timings = slider_moves(browser, args.moves)
        close_studio(browser)
        alone = [careful_job(browser, str(path), "mosaic")]
        open_studio(browser)
        with_drag, drag_s, drag_previews = job_while_dragging(browser, str(path), args.drag_s)
        close_studio(browser)
        alone.append(careful_job(browser, str(path), "mosaic"))
    load_after = os.getloadavg()
    report = figures(args, first_job, tap_s, page_ms, timings, alone, with_drag, drag_s,
                     drag_previews, load_before, load_after)
    print(report)
    out = REPO / "benchmarks" / "results" / time.strftime("studio-cpu-%Y-%m-%d-%H%M.md")
    out.write_text(report + "\n")
    print(f"written to {out.relative_to(REPO)}")
    return 0


def careful_job(browser, photo: str, style: str) -> float:
    """A photo sent with a style's name; the worker seconds its result's caption says."""
    attach(browser, photo)
    browser.find_element(By.ID, "text").send_keys(style)
    before = bot_ids(browser)
    browser.find_element(By.ID, "send").click()
    result = newest_bot_row(browser, before, lambda r: body(r).startswith(style)
                            and r.find_elements(By.CSS_SELECTOR, "button.web-app"),
                            timeout=3600, what="the painting")
    seconds = re.search(r"· (\d+) s", body(result))
    if seconds is None:
        raise SystemExit(f"no time in the caption {body(result)!r}")
    return float(seconds[1])


def open_studio(browser) -> tuple[float, float]:
    """Taps the newest result's "Open in studio"; (seconds from the tap to the first picture,
    milliseconds from the studio page's start to it)."""
    button = browser.find_elements(By.CSS_SELECTOR, "button.web-app")[-1]
    tapped = time.perf_counter()
    button.click()
    browser.switch_to.frame(browser.find_element(By.ID, "studio-frame"))
    wait_until(lambda: studio_says(browser, "previews") not in ("", "0"), 120,
               "the studio's first picture")
    tap_s = time.perf_counter() - tapped
    return tap_s, float(studio_says(browser, "first-picture-ms"))


def slider_moves(browser, moves: int) -> list[float]:
    """`moves` slider moves, each waited for, a finger's pause apart; their timings (ms)."""
    done = int(studio_says(browser, "previews"))
    for move in range(moves):
        browser.execute_script(MOVE_JS, 20 + (move * 37) % 70)
        wait_until(lambda d=done: int(studio_says(browser, "previews")) > d, 60,
                   "the picture after a move")
        done += 1
        time.sleep(0.3)
    return browser.execute_script("return window.studioTimings")[-moves:]


def job_while_dragging(browser, photo: str, drag_s: float) -> tuple[float, float, int]:
    """A careful job sent from the chat while the studio's slider is dragged without pause
    (at least `drag_s`); (its worker seconds, how long the drag lasted, previews painted)."""
    shown = int(studio_says(browser, "previews"))
    browser.execute_script(DRAG_JS)
    started = time.perf_counter()
    browser.switch_to.default_content()
    seconds = careful_job(browser, photo, "mosaic")
    browser.switch_to.frame(browser.find_element(By.ID, "studio-frame"))
    while time.perf_counter() - started < drag_s:
        time.sleep(0.5)
    browser.execute_script("clearInterval(window.benchDrag)")
    dragged = time.perf_counter() - started
    return seconds, dragged, int(studio_says(browser, "previews")) - shown


def close_studio(browser) -> None:
    browser.switch_to.default_content()
    browser.find_element(By.ID, "studio-close").click()


def studio_says(browser, name: str) -> str:
    return browser.find_element(By.ID, "studio").get_attribute(f"data-{name}") or ""


def figures(args, first_job, tap_s, page_ms, timings, alone, with_drag, drag_s, drag_previews,
            load_before, load_after) -> str:
    median = statistics.median(timings) / 1000
    alone_s = statistics.mean(alone)
    slower = with_drag / alone_s - 1
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    return "\n".join([
        f"# The studio's targets, {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: {os.cpu_count()} CPU cores ({cpu}); load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (shared with other work).",
        f"Command: `.venv/bin/python benchmarks/studio.py --size {args.size} "
        f"--moves {args.moves} --drag-s {args.drag_s:g}`",
        "",
        "| measure | target | measured |",
        "| --- | --- | --- |",
        f"| first picture after opening (from the tap) | 2 s | {tap_s:.2f} s |",
        f"| first picture (from the studio page's start) | | {page_ms / 1000:.2f} s |",
        f"| preview after a slider move, median of {len(timings)} | 0.5 s | {median:.3f} s |",
        f"| the same, 90th percentile / slowest | | "
        f"{_percentile(timings, 0.9) / 1000:.3f} s / {max(timings) / 1000:.3f} s |",
        f"| careful job ({args.size} px) alone | | {' and '.join(f'{a:.0f} s' for a in alone)} "
        f"(first, cold: {first_job:.0f} s) |",
        f"| the same with the slider dragged {drag_s:.0f} s ({drag_previews} previews) | "
        f"+25% | {with_drag:.0f} s ({slower:+.0%}) |",
    ])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


if __name__ == "__main__":
    sys.exit(main())
