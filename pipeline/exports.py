"""The one way a call's data leaves Rapport as a file (PDF, HTML, CSV; dashboard or CLI): access check, then audit.

A user who may not see the call is told it does not exist, exactly as for a
missing id, so a guessed id reveals nothing. Without a user (an operator at the
server's command line, who can read the store anyway) only the audit applies.
"""

from __future__ import annotations

from collections.abc import Callable

from db.session import session_scope
from pipeline.calls import NotFound, export_csv, require_results
from pipeline.privacy import active_user, can_see_call, record
from pipeline.report import build_html, build_pdf

FORMATS: dict[str, Callable[[int], bytes | str]] = {"pdf": build_pdf, "html": build_html, "csv": export_csv}


def export(call_id: int, fmt: str, username: str | None = None, *, via: str = "cli") -> bytes | str:
    """The file's content; `NotFound` when `username` (checked afresh: deactivated users get nothing) may not see it,
    `NothingToExport` (an `InputError`) when the call failed or is not analysed yet."""
    if username is not None:
        with session_scope() as session:
            user = active_user(session, username)
            if user is None or not can_see_call(session, user, call_id):
                raise NotFound(f"call {call_id} not found")
    require_results(call_id)
    content = FORMATS[fmt](call_id)
    record(username or via, "export", f"call {call_id}", format=fmt, via=via)
    return content
