#!/usr/bin/env bash
# Creates (or updates) the project's virtual environment and installs stylebot into it.
# The one install recipe: the Makefile, CI and the Dockerfile all call this script.
#   VENV=path        where the environment lives (default .venv)
#   EXTRAS=dev,gpu   optional extras (default: dev). "gpu" adds tensorflow[and-cuda].
#   EDITABLE=0       install a regular (non-editable) copy, as the Docker image does
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
extras=${EXTRAS-dev}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# The translations: Babel compiles the committed .po catalogues into the .mo files the bot
# reads with the standard library's gettext. Every build of the package compiles them too
# (setup.py); this keeps an existing editable install's catalogues fresh after a .po changed.
# Same version range as the "i18n" extra.
"$venv/bin/python" -m pip install --quiet "Babel>=2.12,<3"
"$venv/bin/pybabel" compile --domain stylebot --directory bot/locale
spec="."
[ -n "$extras" ] && spec=".[${extras}]"
if [ "${EDITABLE:-1}" = "1" ]; then
  "$venv/bin/python" -m pip install --quiet -e "$spec"
else
  "$venv/bin/python" -m pip install --quiet "$spec"
fi
echo "installed stylebot into $venv (extras: ${extras:-none})"
