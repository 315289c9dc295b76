"""The dashboard's entry point: `streamlit run dashboard/server.py` (Streamlit finds the ASGI app below).

It runs the pages of `dashboard/app.py` behind `dashboard.media_gate.MediaGate`, so recordings, stills and report
downloads reach only the signed-in browser session that was shown them. `dashboard/app.py` refuses to start
without the gate.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `streamlit run` puts only dashboard/ on the path

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from dashboard.media_gate import MediaGate  # noqa: E402

app = st.App("app.py", middleware=[Middleware(MediaGate)])
