#!/usr/bin/env bash
# Installs what the playground's browser tests drive (tests/test_playground_browser.py):
# Debian's chromium and chromium-driver. Idempotent: does nothing when both are there.
# Installs only as root on a system with apt-get; otherwise says why the tests will skip.
# Never downloads a browser from anywhere but the distribution's package archive.
set -uo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser tests will skip: no /usr/bin/chromium and /usr/bin/chromedriver, and no apt-get" \
       "to install them (install chromium and its driver by hand to run them)"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "browser tests will skip: chromium and chromium-driver are missing; as root:" \
       "apt-get install -y chromium chromium-driver"
  exit 0
fi
echo "installing chromium and chromium-driver for the browser tests (apt-get)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
         --no-install-recommends chromium chromium-driver >/dev/null; }; then
  echo "browser tests will skip: apt-get could not install chromium and chromium-driver"
fi
exit 0
