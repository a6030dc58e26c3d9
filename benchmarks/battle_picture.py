"""Draws docs/battle.png: a style battle in a group chat, as the bot really played it (a script,
not a test).

There is no real Telegram here, so the picture is rendered honestly from the fake Bot API
(`tests/fake_telegram.py`): `python -m bot` runs as in production; Bob posts a photo, Alice
replies `/battle mosaic swirl crosshatch`, the bot paints it three times and posts the album;
then Alice, Bob, Carol and Dan vote. The script draws what the chat then holds: Bob's photo,
Alice's command, the album exactly as uploaded (with its captions) and the vote message's text
and buttons exactly as last edited. Nothing is drawn that the bot did not send.

    .venv/bin/python benchmarks/battle_picture.py              # writes docs/battle.png
    .venv/bin/python benchmarks/battle_picture.py --size 192 -o /tmp/battle.png
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402  (after the path set-up above)

from tests.fake_telegram import (  # noqa: E402
    FakeTelegram,
    User,
    bot_process,
    buttons_of,
    content_photo,
    group_chat,
)

PHOTO = REPO.parent / "shared" / "images" / "photos" / "tubingen.jpg"
STYLES = ("mosaic", "swirl", "crosshatch")  # procedural: no download needed
ALICE, BOB, CAROL, DAN = (User(101, "Alice"), User(202, "Bob"), User(303, "Carol"),
                          User(404, "Dan"))
VOTES = ((ALICE, 0), (BOB, 1), (CAROL, 0), (DAN, 2))

WIDTH = 900
MARGIN = 20
BACKGROUND = (214, 226, 236)
BUBBLE = (255, 255, 255)
BOT_BUBBLE = (239, 253, 222)
BUTTON = (120, 150, 180)
NAMES = {"Alice": (200, 80, 60), "Bob": (60, 120, 200), "Stylebot": (40, 150, 80)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="STYLEBOT_SIZE (long side, px)")
    parser.add_argument("--steps", type=int, default=10, help="STYLEBOT_STEPS")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "battle.png")
    args = parser.parse_args()

    photo = PHOTO.read_bytes() if PHOTO.is_file() else content_photo(320, 240)
    group = group_chat(title="Painters")
    with (tempfile.TemporaryDirectory() as root, FakeTelegram() as fake,
          bot_process(fake, Path(root), STYLEBOT_SIZE=str(args.size),
                      STYLEBOT_STEPS=str(args.steps), STYLEBOT_PRESETS_DIR=root) as _):
        posted = fake.user_sends_photo(group, BOB, photo)
        command_text = "/battle " + " ".join(STYLES)
        fake.user_sends_text(group, ALICE, command_text, reply_to=posted)
        album = fake.wait_for_blocking("sendMediaGroup", timeout=900)
        vote = fake.wait_for_blocking(
            "sendMessage", lambda c: any(d.startswith("v:") for _, d in c.buttons()),
            timeout=60)
        buttons = [data for _, data in vote.buttons()]
        for user, position in VOTES:
            mark = fake.mark()
            fake.user_taps(buttons[position], fake.message(group.id, vote.message_id),
                           user=user)
            fake.wait_for_blocking("answerCallbackQuery", after=mark, timeout=30)
        fake.wait_for_blocking("editMessageText", timeout=30, predicate=lambda c: (
            c.message_id == vote.message_id and f"{STYLES[0]}: 2" in c.text))
        shown = dict(fake.message(group.id, vote.message_id))
        pictures = [(album.files[item["media"].removeprefix("attach://")], item["caption"])
                    for item in album.params["media"]]
    picture = draw(photo, command_text, pictures, shown["text"],
                   buttons_of(shown.get("reply_markup")))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    picture.save(args.output, optimize=True)
    print(f"wrote {args.output} ({picture.width}×{picture.height})")
    return 0


def font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(f"/usr/share/fonts/truetype/dejavu/{name}", size)
    except OSError:
        return ImageFont.load_default()


def draw(photo: bytes, command: str, pictures: list[tuple[bytes, str]], vote_text: str,
         buttons: list[tuple[str, str]]) -> Image.Image:
    body, small, bold = font(17), font(14), font(16, bold=True)
    canvas = Image.new("RGB", (WIDTH, 2000), BACKGROUND)
    pen = ImageDraw.Draw(canvas)
    y = MARGIN
    pen.text((MARGIN, y), "Painters (group) — rendered from the fake Bot API, not a screenshot",
             font=small, fill=(90, 100, 110))
    y += 30

    def bubble(sender: str, height: int, width: int, colour=BUBBLE) -> tuple[int, int]:
        nonlocal y
        pen.rounded_rectangle((MARGIN, y, MARGIN + width, y + height + 34), 12, fill=colour)
        pen.text((MARGIN + 12, y + 8), sender, font=bold, fill=NAMES.get(sender, (0, 0, 0)))
        top = y + 32
        y += height + 34 + 14
        return MARGIN + 12, top

    original = Image.open(io.BytesIO(photo)).convert("RGB")
    original.thumbnail((300, 300))
    x, top = bubble("Bob", original.height + 8, original.width + 24)
    canvas.paste(original, (x, top))

    x, top = bubble("Alice", 26, 24 + int(pen.textlength(command, font=body)))
    pen.text((x, top), command, font=body, fill=(40, 90, 160))

    tiles = [Image.open(io.BytesIO(data)).convert("RGB") for data, _ in pictures]
    tile_width = (WIDTH - 2 * MARGIN - 24 - 8 * (len(tiles) - 1)) // len(tiles)
    for tile in tiles:
        tile.thumbnail((tile_width, tile_width))
    tile_height = max(tile.height for tile in tiles)
    x, top = bubble("Stylebot", tile_height + 30, WIDTH - 2 * MARGIN, BOT_BUBBLE)
    for index, (tile, (_, caption)) in enumerate(zip(tiles, pictures, strict=True)):
        left = x + index * (tile_width + 8)
        canvas.paste(tile, (left, top))
        pen.text((left, top + tile.height + 6), caption, font=small, fill=(60, 60, 60))

    lines = vote_text.split("\n")
    rows = [buttons[:-1], buttons[-1:]] if buttons else []
    height = 24 * len(lines) + 44 * len(rows) + 6
    x, top = bubble("Stylebot", height, WIDTH - 2 * MARGIN, BOT_BUBBLE)
    for line in lines:
        pen.text((x, top), line, font=body, fill=(20, 20, 20))
        top += 24
    top += 6
    inner = WIDTH - 2 * MARGIN - 24
    for row in rows:
        width = (inner - 6 * (len(row) - 1)) // len(row)
        for index, (label, _) in enumerate(row):
            left = x + index * (width + 6)
            pen.rounded_rectangle((left, top, left + width, top + 36), 8, fill=BUTTON)
            text_width = pen.textlength(label, font=body)
            pen.text((left + (width - text_width) / 2, top + 8), label, font=body,
                     fill=(255, 255, 255))
        top += 44
    return canvas.crop((0, 0, WIDTH, y + MARGIN))


if __name__ == "__main__":
    sys.exit(main())
