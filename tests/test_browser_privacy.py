"""In a real browser: a rep signs in and guesses another rep's call id; they get "Call not found" and no downloads.

Seeded store (no analysis), the app run for real with no worker, Debian's Chromium via Playwright.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import AuditEvent
from db.session import session_scope
from tools.browser import CHROMIUM, chromium, running_app, sign_in
from tools.seed import PASSWORD, seed_call, seed_users

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="needs Debian's chromium (apt-get install chromium)")
DOWNLOADS = ("PDF report", "HTML report", "Per-second CSV")


def test_a_rep_cannot_open_or_download_another_reps_call(store, tmp_path):
    mine = seed_call(title="Dana's Acme call", rep="Dana Whitfield", duration_s=60, seed=1)
    other = seed_call(title="Marcus's Globex call", rep="Marcus Chen", duration_s=60, seed=2)
    seed_users()
    env = {"RAPPORT_DATA_DIR": str(store), "RAPPORT_DB_URL": f"sqlite:///{store / 'rapport.db'}",
           "RAPPORT_LOCAL_WORKER": "0"}

    with running_app(env, tmp_path / "app.log") as url, chromium() as page:
        page.set_default_timeout(30_000)
        page.goto(f"{url}/review?call={other.call_id}")
        sign_in(page, "dana", PASSWORD)
        page.get_by_text("Call not found.").wait_for()
        assert page.get_by_text(other.title).count() == 0
        for label in DOWNLOADS:
            assert page.get_by_role("button", name=label).count() == 0

        page.goto(f"{url}/review?call={mine.call_id}")  # a new Streamlit session: the session cookie keeps her in
        page.get_by_role("heading", name=mine.title).wait_for()
        with page.expect_download() as download:
            page.get_by_role("button", name="Per-second CSV").click()
        assert Path(download.value.path()).read_text().startswith("second,role,")

    with session_scope() as session:
        exported = [(e.username, e.target, e.detail) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export"))]
    assert exported == [("dana", f"call {mine.call_id}", {"format": "csv", "via": "dashboard"})]
