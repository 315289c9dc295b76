"""Who may fetch the dashboard's media: recordings, stills, face pictures and report downloads.

Streamlit serves every `st.video`, `st.image` and `st.download_button` payload at `/media/<id>` and, on its own,
answers anyone who has the address. `MediaGate` is ASGI middleware in front of it (installed by
`dashboard/server.py`, the dashboard's entry point) that answers a media request only when all of these hold:

* the request carries this browser's `rapport_browser` cookie (random, HttpOnly, SameSite=Strict; the gate sets it
  on the first page load);
* a live Streamlit session (its websocket still connected) showed that file or made that download, and its
  websocket carried the same cookie: the address works in the browser that was shown it, nowhere else;
* that session is still signed in, as an active user, and not idle past the limit (`dashboard.auth`).

Anything else gets 404, as for an address that never existed. So no address works without the cookie, for another
user, after sign-out, or once the session that showed it has ended.

Streamlit (1.67, pinned) has no public hook for "which session showed this file": the gate reads the media file
manager's per-session index and the session manager, and notes which session made each deferred download (a report
built on click) by wrapping `MediaFileManager.execute_deferred`. tests/test_browser_privacy.py and
tests/test_browser.py fail if a Streamlit upgrade changes any of that.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

BROWSER_COOKIE = "rapport_browser"
_active = threading.Event()  # set once the gate runs in this process (the app refuses to start without it)
_downloads: dict[str, set[str]] = {}  # file id of a report made on click -> the sessions that asked for it
_downloads_lock = threading.Lock()

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def unguarded() -> bool:
    """Served over HTTP without the gate in front (Streamlit's own server: `streamlit run dashboard/app.py`).
    Streamlit's AppTest serves nothing over HTTP: not unguarded."""
    from streamlit import config

    return config._server_mode is not None and not _active.is_set()


class MediaGate:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self._hooked = False
        _active.set()

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if not self._hooked:  # before any session can click a download
            from streamlit.runtime import Runtime

            _note_downloads(Runtime.instance().media_file_mgr)
            self._hooked = True
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = _browser_cookie(scope)
        file_id = _media_file_id(scope["path"])
        if file_id is not None:
            if scope["method"] == "OPTIONS" or (cookie and await _allowed_in_thread(file_id, cookie)):
                await self.app(scope, receive, send)
            else:
                await _not_found(send)
            return
        if cookie:
            await self.app(scope, receive, send)
            return
        new_cookie = secrets.token_urlsafe(32)
        secure = "; Secure" if scope.get("scheme") == "https" else ""

        async def send_with_cookie(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                header = f"{BROWSER_COOKIE}={new_cookie}; Path=/; HttpOnly; SameSite=Strict{secure}"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", header.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _browser_cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            morsel = SimpleCookie(value.decode("latin-1")).get(BROWSER_COOKIE)
            if morsel is not None and morsel.value:
                return morsel.value
    return None


def _media_file_id(path: str) -> str | None:
    """`<id>` of `/<base>/media/<id>.<ext>`, or None for any other path."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}/media/" if base else "/media/"
    if not path.startswith(prefix):
        return None
    return path[len(prefix):].split(".", 1)[0]


async def _allowed_in_thread(file_id: str, cookie: str) -> bool:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(allowed, file_id, cookie)


def allowed(file_id: str, cookie: str) -> bool:
    """A live, signed-in session of the browser with `cookie` showed (or made) this file."""
    from streamlit.runtime import Runtime

    from dashboard.auth import media_viewer

    runtime = Runtime.instance()
    manager = runtime.media_file_mgr
    with manager._lock:
        sessions = {sid for sid, files in manager._files_by_session_and_coord.items() if file_id in files.values()}
    with _downloads_lock:
        sessions |= _downloads.get(file_id, set())
    for session_id in sessions:
        info = runtime._session_mgr.get_active_session_info(session_id)
        context = info.client.client_context if info is not None else None
        if context is None:
            with _downloads_lock:  # that session has ended: forget its downloads
                for owners in _downloads.values():
                    owners.discard(session_id)
            continue
        if not hmac.compare_digest(context.cookies.get(BROWSER_COOKIE, "").encode(), cookie.encode()):
            continue
        if media_viewer(info.session.session_state) is not None:
            return True
    return False


def _note_downloads(manager) -> None:
    """Wrap `execute_deferred` once, so a report made on click is tied to the session that clicked."""
    if getattr(manager.execute_deferred, "_rapport_gate", False):
        return
    original = manager.execute_deferred

    def execute_deferred(file_id: str) -> str:
        with manager._lock:
            session_id = manager._deferred_callables.get(file_id, {}).get("session_id")
        url = original(file_id)
        if session_id:
            with _downloads_lock:
                _downloads.setdefault(url.rsplit("/", 1)[-1].split(".", 1)[0], set()).add(session_id)
        return url

    execute_deferred._rapport_gate = True  # type: ignore[attr-defined]
    manager.execute_deferred = execute_deferred


async def _not_found(send: Callable) -> None:
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"9")]})
    await send({"type": "http.response.body", "body": b"Not found"})
