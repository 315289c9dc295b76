"""Rapport's dashboard pages: started by `streamlit run dashboard/server.py` (which puts the media gate in front).

This entry point only sets up the page, the store and one local analysis worker,
asks who is there (`dashboard.auth`: nothing renders before sign-in), then hands
over to the pages in `dashboard/views/` that the user's role may open. (Not `pages/`: Streamlit runs a
folder of that name as old-style pages, skipping this script when a page is opened
by its link.) Pages read and render; all heavy work lives in `pipeline/`.
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `streamlit run` puts only dashboard/ on the path

import streamlit as st  # noqa: E402

from config import get_settings  # noqa: E402
from dashboard import auth, media_gate  # noqa: E402
from db.session import init_db  # noqa: E402


@st.cache_resource(show_spinner=False)
def _start_once() -> None:
    """Once per server process: migrate the store and start one worker for this machine's queue.

    RAPPORT_LOCAL_WORKER=0 leaves analysis to separately run workers (`python -m pipeline worker`).
    """
    init_db()
    if get_settings().local_worker:
        from jobs.queue import start_local_worker

        atexit.register(start_local_worker().terminate)


# An error no page catches shows Streamlit's generic "This app has encountered an error" and goes to the server's log,
# never its traceback and server paths (new-user trial 42: a dashboard left running while the code changed under it
# printed an ImportError with /work/main/... paths on the review page).
st.set_option("client.showErrorDetails", "none")
# The tab icon ships with the app: a Material icon is fetched from Google's font servers by every manager's browser.
st.set_page_config(page_title="Rapport", page_icon=str(Path(__file__).parent / "icon.svg"), layout="wide")
# Headline numbers and the sample under them wrap on narrow columns instead of being cut with an ellipsis (new-user
# trials 28: "Prospect mood, first → last…" at 1440 px, "Prospect likely po…" at 1024; 13: "of the 249 s their face …").
# A portrait phone recording's player stays within 70% of the window's height: filling its column's width it stood over
# 1,000 px tall, its controls and the timelines below a screen away (new-user trial 14).
# Below 1300 px the page keeps 1.5rem of side margin, not 5rem: at 1024 px beside the open sidebar the Calls table
# showed four columns and hid Status ("partial", "check roles"), Date and Length behind a scroll (new-user trial 13).
st.html("<style>[data-testid='stMetricLabel'] *, [data-testid='stMetricValue'] *, [data-testid='stMetricDelta'] * "
        "{white-space: normal !important; overflow: visible !important; text-overflow: clip !important}"
        "@media (max-width: 1300px) {[data-testid='stMainBlockContainer'] {padding-left: 1.5rem; "
        "padding-right: 1.5rem}}"
        "[data-testid='stVideo'] {max-height: 70vh}</style>")
if media_gate.unguarded():  # started as `streamlit run dashboard/app.py`: media would be served to anyone
    st.error("Start Rapport with `streamlit run dashboard/server.py`: it keeps recordings, stills and reports "
             "to the signed-in user who was shown them.")
    st.stop()
_start_once()
st.logo(str(Path(__file__).parent / "logo.svg"), size="large")
# Before sign-in every page stays registered (hidden), so the address asked for (e.g. review?call=7) survives it.
viewer = auth.current_viewer()
pages = [
    st.Page("views/upload.py", title="Upload", icon=":material/upload:") if not viewer or viewer.can_change else None,
    st.Page("views/calls.py", title="Calls", icon=":material/list:", default=True),
    st.Page("views/review.py", title="Call review", icon=":material/play_circle:"),
    st.Page("views/reps.py", title="Reps", icon=":material/groups:"),
    st.Page("views/settings.py", title="Settings", icon=":material/settings:") if not viewer or viewer.is_admin else None,
]
page = st.navigation([p for p in pages if p is not None], position="sidebar" if viewer else "hidden")
viewer = auth.require_user()  # the sign-in form (or the first-run screen) until both are done
auth.account_sidebar(viewer)
page.run()
