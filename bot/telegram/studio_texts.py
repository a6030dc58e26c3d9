"""The studio's words (the Mini App page, `bot/studio/static/`), in the bot's catalogues like
every other text (`bot.telegram.texts` has the bot's messages and buttons). The server hands
the page these in the user's language (`page_words`); the page puts them in as text, never as
markup."""

from __future__ import annotations

from bot.telegram.i18n import N_, Translator

WORDS: dict[str, str] = {
    "title": N_("Studio"),
    "loading": N_("Opening the studio…"),
    "photos": N_("Your photos"),
    "styles": N_("Styles"),
    "strength": N_("Strength"),
    "blend": N_("Blend with a second style"),
    "blend_none": N_("No second style"),
    "keep_colors": N_("Keep the photo's colours"),
    "keep_faces": N_("Keep faces"),
    "brush": N_("Brush"),
    "brush_style": N_("Paint the style"),
    "brush_photo": N_("Keep the photo"),
    "brush_clear": N_("Style everywhere"),
    "brush_hint": N_("Draw on the picture: where the style goes, or where the photo stays."),
    "compare": N_("Hold the picture to see your photo."),
    "paint_carefully": N_("Paint carefully"),
    "sent": N_("Sent: the painting comes in the chat."),
    "no_photos": N_("Send me a photo in the chat first; then open the studio again."),
    "not_in_telegram": N_("Open the studio from the bot's chat in Telegram."),
    "signed_out": N_("The studio has been open too long. Close it and open it again from "
                     "the chat."),
    "photo_gone": N_("This photo is no longer on Telegram's servers. Send it to me again."),
    "style_gone": N_("That style is not available any more. Pick another."),
    "unreachable": N_("Telegram cannot be reached right now. Try again in a moment."),
    "painter_starting": N_("The painter is starting. One moment…"),
    "slow_down": N_("Slow down a little…"),
    "mask_unusable": N_("The brush strokes could not be used. Clear them and draw again."),
    "failed": N_("Something went wrong. Try again."),
}
"""Each word's key (what the page looks it up by) and its English text."""


def page_words(t: Translator) -> dict[str, str]:
    """Every word of the page in `t`'s language."""
    return {key: t(text) for key, text in WORDS.items()}
