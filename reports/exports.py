"""The one way a call's data leaves Rapport as a file (PDF, HTML, CSV; dashboard or CLI): access check, then audit.

A user who may not see the call is told it does not exist, exactly as for a
missing id, so a guessed id reveals nothing. Without a user (an operator at the
server's command line, who can read the store anyway) only the audit applies. A call
that failed or is not analysed yet has nothing to export (`NothingToExport`, exit 2).
"""

from __future__ import annotations

from collections.abc import Callable

from access.audit import record
from access.policy import can_see_call
from access.users import active_user
from db.models import CallStatus
from db.session import session_scope
from pipeline.errors import InputError, NotFound
from pipeline.store import get_call
from reports.csv_export import export_csv
from reports.report import build_html, build_pdf

FORMATS: dict[str, Callable[[int], bytes | str]] = {"pdf": build_pdf, "html": build_html, "csv": export_csv}


class NothingToExport(InputError):
    """The call has no results (yet): it failed, or it is still queued or running."""


def require_results(call_id: int) -> None:
    """Raise `NothingToExport` unless the call's analysis is done (`NotFound` if there is no such call)."""
    with session_scope() as session:
        call = get_call(session, call_id)
        status, error = call.status, call.error
    if status == CallStatus.FAILED:
        raise NothingToExport(f"call {call_id} has nothing to export: its analysis failed ({error})")
    if status != CallStatus.DONE:
        raise NothingToExport(f"call {call_id} has nothing to export yet: it is {status}; export it once it is done")


def export(call_id: int, fmt: str, username: str | None = None, *, via: str = "cli", operator: str = "cli") -> bytes | str:
    """The file's content; `NotFound` when `username` (checked afresh: deactivated users get nothing) may not see it,
    `NothingToExport` (an `InputError`) when the call failed or is not analysed yet. Without `username`, an operator at
    the server exports any call, audited as `operator`."""
    if username is not None:
        with session_scope() as session:
            user = active_user(session, username)
            if user is None or not can_see_call(session, user, call_id):
                raise NotFound(f"call {call_id} not found")
    require_results(call_id)
    content = FORMATS[fmt](call_id)
    record(username or operator, "export", f"call {call_id}", format=fmt, via=via)
    return content
