#!/usr/bin/env bash
# Set up everything the test suite needs and run all of it (what CI runs).
# System packages (Debian): chromium for the browser test, postgresql and
# redis-server for the scale-out queue test; installed when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "note: missing ${need[*]} (install them as root); their tests will be skipped" >&2
  fi
fi
scripts/setup.sh requirements-dev.txt
export TF_CPP_MIN_LOG_LEVEL=2
# Two test processes (one per core of the CI machine); a test module stays on one of them, so its module-scoped
# fixtures (an analysed call, generated recordings) are made once. Pass `-n 0` to run in this process only.
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile "$@"
