"""What the soak test's users send (`benchmarks/soak.py`): a mix of everything the bot takes,
from private users and group members, drawn at random with fixed weights.

Each kind is one function that sends through the fake Bot API and returns; none waits for
the bot. Whose requests may have been forgotten (`/forget`) is recorded, so the accounting of
lost and doubled results leaves their chats out.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
from PIL import Image

from tests.fake_telegram import (
    Chat,
    FakeTelegram,
    User,
    content_photo,
    group_chat,
    private_chat,
    style_photo,
)

PRESETS = ("mosaic", "pointillism", "crosshatch", "swirl")
GROUP_MEMBERS = 10


@dataclass
class Crowd:
    """The users, the groups, and what the run learnt about them."""

    privates: list[User]
    groups: list[tuple[Chat, list[User]]]
    forgetters: set[int] = field(default_factory=set)
    """Users who sent /forget: their chats are left out of the accounting."""
    sent: dict[str, int] = field(default_factory=dict)
    """Requests sent, by kind."""

    @classmethod
    def of(cls, users: int, groups: int) -> Crowd:
        privates = [User(10_000 + i, f"P{i}") for i in range(users)]
        made = []
        for g in range(groups):
            members = [User(20_000 + g * 100 + m, f"G{g}M{m}") for m in range(GROUP_MEMBERS)]
            made.append((group_chat(-100_000 - g, f"Group {g}"), members))
        return cls(privates, made)

    def left_out(self, chat_id: int) -> bool:
        """A chat whose user forgot themselves (a private chat of a forgetter)."""
        return chat_id in self.forgetters


def tiny_clip(frames: int = 6, size: tuple[int, int] = (48, 48)) -> bytes:
    """A short H.264 clip: a bar sliding over a gradient."""
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(6))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        y, x = np.mgrid[0:height, 0:width]
        for index in range(frames):
            frame = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 120)], -1)
            frame[:, (index * 6) % width:(index * 6) % width + 8] = (240, 220, 40)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame.astype(np.uint8),
                                                                   format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def webp_sticker(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(style_photo(64, seed))).resize((512, 512)).save(buffer, "WEBP")
    return buffer.getvalue()


Send = Callable[[FakeTelegram, Crowd, random.Random], None]


def photo(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    user = rng.choice(crowd.privates)
    fake.user_sends_photo(private_chat(user), user, content_photo(64, 48, _tint(rng)),
                          caption=rng.choice(PRESETS))


def group_photo(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    chat, members = rng.choice(crowd.groups)
    user = rng.choice(members)
    fake.user_sends_photo(chat, user, content_photo(64, 48, _tint(rng)),
                          caption=f"/stylize {rng.choice(PRESETS)}")


def album(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    """Two photos as one album: the first painted in the second's style."""
    user = rng.choice(crowd.privates)
    fake.user_sends_album(private_chat(user), user,
                          [content_photo(64, 48, _tint(rng)), style_photo(48, rng.randint(1, 9))])


def clip(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    user = rng.choice(crowd.privates)
    fake.user_sends_clip(private_chat(user), user, "animation", tiny_clip(),
                         caption=rng.choice(PRESETS), width=48, height=48, duration=1)


def video_note(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    user = rng.choice(crowd.privates)
    fake.user_sends_clip(private_chat(user), user, "video_note", tiny_clip(),
                         caption=rng.choice(PRESETS), width=48, duration=1)


def sticker_as_style(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    """A photo without a caption (the bot asks for a style), then a sticker as the style."""
    user = rng.choice(crowd.privates)
    chat = private_chat(user)
    fake.user_sends_photo(chat, user, content_photo(64, 48, _tint(rng)))
    sticker = {**fake.add_file(webp_sticker(rng.randint(1, 9)), "stickers"), "type": "regular",
               "width": 512, "height": 512, "is_animated": False, "is_video": False}
    fake.user_sends(chat, user, sticker=sticker)


def battle(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    chat, members = rng.choice(crowd.groups)
    caller = rng.choice(members)
    photo_message = fake.user_sends_photo(chat, rng.choice(members), content_photo())
    styles = " ".join(rng.sample(PRESETS, 2))
    fake.user_sends_text(chat, caller, f"/battle {styles}", reply_to=photo_message)


def me(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    user = rng.choice(crowd.privates)
    fake.user_sends_text(private_chat(user), user, f"/me {rng.choice(PRESETS)}")


def rerun(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    """A button of some painting already delivered in a private chat: stronger, weaker, keep
    colours, as a file."""
    results = fake.find("sendPhoto", lambda c: c.error is None and c.message_id is not None
                        and (c.chat_id or 0) > 0 and any(
                            data.startswith("r:") for _, data in c.buttons()))
    if not results:
        return photo(fake, crowd, rng)
    result = rng.choice(results[-50:])
    data = rng.choice([d for _, d in result.buttons() if d.startswith("r:")])
    message = fake.message(result.chat_id, result.message_id)
    if message is not None:
        fake.user_taps(data, message)


def cancel(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    """A photo, then /cancel right away."""
    user = rng.choice(crowd.privates)
    chat = private_chat(user)
    fake.user_sends_photo(chat, user, content_photo(64, 48, _tint(rng)),
                          caption=rng.choice(PRESETS))
    fake.user_sends_text(chat, user, "/cancel")


def forget(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    user = rng.choice(crowd.privates)
    crowd.forgetters.add(user.id)
    fake.user_sends_text(private_chat(user), user, "/forget")


def corrupt(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    """A JPEG cut short, sent as a file."""
    user = rng.choice(crowd.privates)
    data = content_photo(64, 48)[:rng.randint(40, 300)]
    fake.user_sends_document(private_chat(user), user, data, "broken.jpg", "image/jpeg",
                             caption=rng.choice(PRESETS))


def flood(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    """Telegram's flood control on the next few messages and uploads (429, retry after 1 s),
    and a photo that meets it."""
    for method in ("sendMessage", "sendPhoto", "editMessageText"):
        fake.fail_next(method, error_code=429, retry_after=1, times=rng.randint(1, 2),
                       description="Too Many Requests: retry after 1")
    photo(fake, crowd, rng)


def chatter(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> None:
    user = rng.choice(crowd.privates)
    fake.user_sends_text(private_chat(user), user, rng.choice(["/help", "/styles", "/start"]))


MIX: list[tuple[Send, float]] = [
    (photo, 30), (group_photo, 8), (album, 6), (clip, 5), (video_note, 4),
    (sticker_as_style, 6), (battle, 4), (me, 4), (rerun, 8), (cancel, 5), (forget, 2),
    (corrupt, 4), (flood, 4), (chatter, 10),
]


def send_one(fake: FakeTelegram, crowd: Crowd, rng: random.Random) -> str:
    """Sends one request of a kind drawn from `MIX`; returns the kind."""
    kinds, weights = zip(*MIX, strict=True)
    kind = rng.choices(kinds, weights)[0]
    kind(fake, crowd, rng)
    crowd.sent[kind.__name__] = crowd.sent.get(kind.__name__, 0) + 1
    return kind.__name__


def _tint(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randint(-40, 40), rng.randint(-40, 40), rng.randint(-40, 40))
