"""`python -m bot.healthcheck`: exits 0 when the bot's `/healthz` answers 200, else 1.

The container's HEALTHCHECK. It reads `STYLEBOT_METRICS_LISTEN` like the bot does, and imports
nothing heavy: it runs every 30 s.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from bot.config import ConfigError, parse_listen

TIMEOUT_S = 5.0


def main() -> int:
    try:
        listen = parse_listen(os.environ, "STYLEBOT_METRICS_LISTEN")
    except ConfigError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    if listen is None:
        print("healthcheck: STYLEBOT_METRICS_LISTEN is not set, so there is no /healthz to ask",
              file=sys.stderr)
        return 1
    host, port = listen
    if host in ("0.0.0.0", "::", ""):  # listening everywhere: ask on loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            print(response.read().decode(errors="replace"))
            return 0
    except urllib.error.HTTPError as exc:
        print(f"healthcheck: {url} answered {exc.code}: {exc.read()[:500]!r}", file=sys.stderr)
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
