#!/usr/bin/env bash
# Create or update the repo's .venv (Python 3.11) from a requirements file.
# Usage: scripts/setup.sh [requirements-file]   (default: requirements.txt)
# Re-running is cheap: pip runs only when the requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
REQS="${1:-requirements.txt}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "Rapport needs Python 3.11; found $("$PYTHON" --version 2>&1) at $PYTHON (set PYTHON=...)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
STAMP=".venv/.installed-$(basename "$REQS")"
HASH="$(cat "$REQS" requirements.txt | sha256sum | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$HASH" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQS"
  echo "$HASH" > "$STAMP"
fi
