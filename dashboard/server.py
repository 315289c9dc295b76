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
from starlette.requests import Request  # noqa: E402
from starlette.responses import RedirectResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from dashboard.media_gate import MediaGate  # noqa: E402

HOME_ALIASES = ("/calls",)
"""Addresses of the default page (Calls), which Streamlit serves at "/" only: a trial typed /calls, the page the
sidebar calls "Calls", and met "Page not found"."""


async def _home(request: Request) -> RedirectResponse:
    """Send a typed alias of the default page to "/", its query kept."""
    query = request.url.query
    return RedirectResponse("/" + (f"?{query}" if query else ""), status_code=307)


app = st.App("app.py", middleware=[Middleware(MediaGate)], routes=[Route(path, _home) for path in HOME_ALIASES])
