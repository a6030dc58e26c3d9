"""stylebot, the Telegram application around the `stylecore` engine. Its layers, each importing
only those below it (docs/development.md; `tests/test_layers.py` holds them):
`app` (wiring), `playground`, `__main__` → `ops` → `studio` → `telegram` → `jobs` → the
foundations (`config`, `store`, `schema`, `settings`, `logs`, `broker`, `backup`) →
`stylecore`."""
