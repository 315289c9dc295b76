#!/usr/bin/env bash
# Set up and start Rapport on the embedded default: a SQLite file under data/,
# the shipped model, one local analysis worker, and the Streamlit dashboard.
# Ctrl-C stops both. Extra arguments go to `streamlit run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements.txt
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
.venv/bin/python -c "from db.session import init_db; init_db()"
# Sign-in is required: on the very first start, create the admin account (asked here, never on the web).
if ! .venv/bin/python -c "import sys; from sqlalchemy import select; from db.session import session_scope; from db.models import User
with session_scope() as s: sys.exit(0 if s.scalar(select(User).limit(1)) else 1)"; then
  if [ -t 0 ]; then
    echo "First start: create the admin account (user name 'admin')."
    .venv/bin/python -m pipeline add-user admin --role admin
  else
    echo "No user yet: run '.venv/bin/python -m pipeline add-user NAME --role admin' to be able to sign in." >&2
  fi
fi
# One local worker beside the dashboard, stopped with it (the app itself then starts none); --parent: it also stops
# when this script is gone without running its trap (killed with SIGKILL, or its terminal closed).
.venv/bin/python -m pipeline worker --parent $$ &
WORKER=$!
# The dashboard runs in the background and the script waits on it: bash runs a trap only once its foreground child has
# exited, so a SIGTERM sent to this script (a supervisor, `kill PID`) stopped nothing (new-user trial 14).
RAPPORT_LOCAL_WORKER=0 .venv/bin/python -m streamlit run dashboard/server.py --server.headless true "$@" &
APP=$!
trap 'kill -TERM $APP $WORKER 2>/dev/null; wait $APP $WORKER 2>/dev/null' EXIT INT TERM
wait $APP
