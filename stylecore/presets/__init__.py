"""The preset styles, usable by name wherever a style image is: `lookup.py` lists, finds and
loads them (and ``python -m stylecore.presets.lookup --fetch`` caches them all), `catalogue.py`
says what is built in (the procedural styles and the pinned paintings), `patterns.py` draws the
procedural ones, `folders.py` keeps the files on disk (the cache, the presets folder the
application sets, admins' uploads) and `downloads.py` fetches the paintings once, checked
against their pinned sha256."""
