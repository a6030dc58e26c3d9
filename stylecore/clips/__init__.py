"""Moving pictures and stickers: GIFs, videos and round video notes painted frame by frame
with steady strokes, and Telegram stickers made of results. `decode.py` reads a clip lazily
within `ClipLimits` (`probe_clip`, `open_clip`), `encode.py` writes painted frames as Telegram
plays them, `temporal.py` carries strokes along the optical flow, `frame_painters.py` builds
the painter a clip's frames go through (`clip_painter`), `animate.py` runs the whole clip
(`stylize_clip`) and `sticker_making.py` makes static and video stickers. Refusals are
`ClipError` (stylecore/errors.py); callers reach all of it through `stylecore`'s face. See
docs/animations.md."""
