"""What the bot says about one kind of content (`bot.settings.ContentKind`): a GIF is "your
GIF", a round video "your round video", a sticker "your sticker", never "your photo".

Russian and Spanish make the words around a noun agree with it (its gender, its case), so each
kind has whole sentences of its own rather than a noun put into one sentence. Two sentences
said together go through `BOTH`, which a translation may join without a space (Chinese).
Everything else the bot says is in `bot.telegram.texts`.
"""

from __future__ import annotations

from bot.settings import ContentKind
from bot.telegram import texts
from bot.telegram.i18n import N_, NP_, Translator
from stylecore import StyleError

CHOOSE_STYLE: dict[ContentKind, str] = {
    "photo": N_("Nice photo! Pick a style, or send a second photo to use as the style."),
    "picture": N_("Nice picture! Pick a style, or send a second picture to use as the style."),
    "gif": N_("Nice GIF! Pick a style, or send a still picture to use as the style."),
    "video": N_("Nice video! Pick a style, or send a still picture to use as the style."),
    "round": N_("Nice round video! Pick a style, or send a still picture to use as the "
                "style."),
    "sticker": N_("Nice sticker! Pick a style, or send a picture to use as the style."),
    "video_sticker": N_("Nice video sticker! Pick a style, or send a still picture to use as "
                        "the style."),
}
"""In a private chat, under the style buttons."""

CHOOSE_STYLE_GROUP: dict[ContentKind, str] = {
    "photo": N_("Pick a style, or reply to this message with a photo to use as the style."),
    "picture": N_("Pick a style for this picture, or reply to this message with another "
                  "picture to use as the style."),
    "gif": N_("Pick a style for this GIF, or reply to this message with a still picture to "
              "use as the style."),
    "video": N_("Pick a style for this video, or reply to this message with a still picture "
                "to use as the style."),
    "round": N_("Pick a style for this round video, or reply to this message with a still "
                "picture to use as the style."),
    "sticker": N_("Pick a style for this sticker, or reply to this message with a picture to "
                  "use as the style."),
    "video_sticker": N_("Pick a style for this video sticker, or reply to this message with a "
                        "still picture to use as the style."),
}
"""In a group, under the style buttons."""

CANCELLED_ONE: dict[ContentKind, str] = {
    "photo": N_("Cancelled the painting of your photo."),
    "picture": N_("Cancelled the painting of your picture."),
    "gif": N_("Cancelled the painting of your GIF."),
    "video": N_("Cancelled the painting of your video."),
    "round": N_("Cancelled the painting of your round video."),
    "sticker": N_("Cancelled the painting of your sticker."),
    "video_sticker": N_("Cancelled the painting of your video sticker."),
}
"""/cancel stopped one job."""
CANCELLED_MANY = NP_("Cancelled {count} painting.", "Cancelled {count} paintings.")
"""/cancel stopped several jobs (two or more: the singular serves languages like Russian,
whose "one" form takes 21 too)."""

CLEARED: dict[ContentKind, str] = {
    "photo": N_("Your photo no longer waits for a style."),
    "picture": N_("Your picture no longer waits for a style."),
    "gif": N_("Your GIF no longer waits for a style."),
    "video": N_("Your video no longer waits for a style."),
    "round": N_("Your round video no longer waits for a style."),
    "sticker": N_("Your sticker no longer waits for a style."),
    "video_sticker": N_("Your video sticker no longer waits for a style."),
}
"""What waited for its style is dropped: by /cancel, or as new content took its place."""

BOTH = N_("{first} {second}")
"""Two sentences said one after the other."""

MOVING_KINDS: tuple[ContentKind, ...] = ("gif", "video", "round", "video_sticker")

NOT_A_STYLE: dict[ContentKind, str] = {
    "gif": N_("A GIF can't be a style: send a still picture as the style, or tap a style."),
    "video": N_("A video can't be a style: send a still picture as the style, or tap a "
                "style."),
    "round": N_("A round video can't be a style: send a still picture as the style, or tap a "
                "style."),
    "video_sticker": N_("A video sticker can't be a style: send a still picture as the style, "
                        "or tap a style."),
}
"""A moving picture sent as a style."""

UNREADABLE: dict[ContentKind, str] = {
    "gif": N_("I couldn't find a picture in that GIF; please send another one."),
    "video": N_("I couldn't find a picture in that video; please send another one."),
    "round": N_("I couldn't find a picture in that round video; please send another one."),
    "video_sticker": N_("I couldn't find a picture in that video sticker; please send "
                        "another one."),
}
"""A moving picture without a picture to read: audio only, or not a video at all."""

DAMAGED: dict[ContentKind, str] = {
    "gif": N_("That GIF seems to be damaged: I can't read its frames. Please send it again."),
    "video": N_("That video seems to be damaged: I can't read its frames. Please send it "
                "again."),
    "round": N_("That round video seems to be damaged: I can't read its frames. Please send "
                "it again."),
    "video_sticker": N_("That video sticker seems to be damaged: I can't read its frames. "
                        "Please send it again."),
}
"""A moving picture whose headers read but whose frames don't."""

ONE_FRAME: dict[ContentKind, str] = {
    "gif": N_("That GIF has a single frame, so nothing moves in it; send it as a still "
              "picture and I'll paint it."),
    "video": N_("That video has a single frame, so nothing moves in it; send it as a still "
                "picture and I'll paint it."),
    "round": N_("That round video has a single frame, so nothing moves in it; send it as a "
                "still picture and I'll paint it."),
    "video_sticker": N_("That video sticker has a single frame, so nothing moves in it; send "
                        "it as a still picture and I'll paint it."),
}
"""A moving picture of one frame."""

_CLIP_REFUSALS = {"not_video": UNREADABLE, "no_video": UNREADABLE, "missing": UNREADABLE,
                  "corrupt": DAMAGED, "too_few_frames": ONE_FRAME}


def _moving(kind: ContentKind) -> ContentKind:
    """The kind itself if it moves; a video otherwise (a clip of a kind not recorded)."""
    return kind if kind in MOVING_KINDS else "video"


def both(first: str, second: str, t: Translator) -> str:
    """Two sentences said together, as the language joins them."""
    return t(BOTH, first=first, second=second)


def choose_style_text(kind: ContentKind, private: bool, t: Translator) -> str:
    """"Nice GIF! Pick a style…" (private) or "Pick a style for this GIF…" (group)."""
    return t((CHOOSE_STYLE if private else CHOOSE_STYLE_GROUP)[kind])


def cleared_text(kind: ContentKind, t: Translator) -> str:
    """What waited for its style (of this kind) no longer does."""
    return t(CLEARED[kind])


def cancel_text(cancelled: list[ContentKind], cleared: ContentKind | None,
                t: Translator) -> str:
    """What /cancel answers: the paintings it stopped (by their kinds) and the content that
    no longer waits for a style."""
    said = []
    if len(cancelled) == 1:
        said.append(t(CANCELLED_ONE[cancelled[0]]))
    elif cancelled:
        said.append(t.n(CANCELLED_MANY, len(cancelled), count=len(cancelled)))
    if cleared is not None:
        said.append(cleared_text(cleared, t))
    if not said:
        return t(texts.NOTHING_TO_CANCEL)
    return said[0] if len(said) == 1 else both(said[0], said[1], t)


def not_a_style_text(kind: ContentKind, t: Translator) -> str:
    """A moving picture of this kind was sent as a style."""
    return t(NOT_A_STYLE[_moving(kind)])


def clip_refusal_text(code: str, kind: ContentKind, t: Translator) -> str | None:
    """The line for the engine's refusal (`code`) of a moving picture of this kind; None for
    a code that says nothing about clips (worded as an image's, `texts.error_text`)."""
    sentences = _CLIP_REFUSALS.get(code)
    return t(sentences[_moving(kind)]) if sentences is not None else None


def error_text(error: StyleError, kind: ContentKind, t: Translator) -> str:
    """`texts.error_text`, with the refusals of a moving picture naming what it is."""
    if kind in MOVING_KINDS:
        line = clip_refusal_text(error.code, kind, t)
        if line is not None:
            return line
    return texts.error_text(error, t)
