"""In a real browser: a rep signs in and guesses another rep's call id; they get "Call not found" and no downloads.

Seeded store (no analysis), the app run for real with no worker, Debian's Chromium via Playwright.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import AuditEvent
from db.session import session_scope
from tools.browser import CHROMIUM, sign_in, signed_in_at
from tools.seed import PASSWORD, seed_call, seed_users

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="needs Debian's chromium (apt-get install chromium)")
DOWNLOADS = ("PDF report", "HTML report", "Per-second CSV")


def test_a_rep_cannot_open_or_download_another_reps_call(store, tmp_path):
    mine = seed_call(title="Dana's Acme call", rep="Dana Whitfield", duration_s=60, seed=1)
    other = seed_call(title="Marcus's Globex call", rep="Marcus Chen", duration_s=60, seed=2)
    seed_users()

    with signed_in_at(store, tmp_path / "app.log", f"/review?call={other.call_id}", "dana", PASSWORD,
                      timeout_ms=30_000) as (url, page):
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


def _status(url: str) -> int:
    """What a request with no cookie at all (a link pasted elsewhere, a script) gets."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_recordings_stills_and_reports_reach_only_the_signed_in_session_that_was_shown_them(store, tmp_path, videos):
    call = seed_call(title="Dana's Acme call", rep="Dana Whitfield", duration_s=60, seed=1, video=videos["gallery.mp4"])
    seed_users()

    with signed_in_at(store, tmp_path / "app.log", f"/review?call={call.call_id}", "mo", PASSWORD) as (url, page):
        page.get_by_role("heading", name=call.title).wait_for()
        video = page.locator("video").get_attribute("src")
        still = page.locator("img[src*='/media/']").first.get_attribute("src")
        with page.expect_download() as download:
            page.get_by_role("button", name="PDF report").click()
        report = download.value.url
        media = [address if address.startswith("http") else url + address for address in (video, still, report)]
        assert all("/media/" in address for address in media), media

        for address in media:  # the browser that was shown them, signed in: served
            response = page.request.get(address)
            assert response.status == 200 and len(response.body()) > 1000, (address, response.status)
        assert page.request.get(media[0]).body()[4:8] == b"ftyp"  # the recording itself

        assert [_status(address) for address in media] == [404] * 3  # no cookie: nothing

        # Another user, signed in (an admin, who may open the call herself): an address she was not shown is not hers.
        other = page.context.browser.new_context()
        other_page = other.new_page()
        other_page.goto(url)
        sign_in(other_page, "ada", PASSWORD)
        other_page.get_by_role("heading", name="Calls").wait_for()
        assert [other_page.request.get(address).status for address in media] == [404] * 3
        other.close()

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in to Rapport").wait_for()
        assert [page.request.get(address).status for address in media] == [404] * 3  # signed out: nothing


def test_markdown_in_user_text_makes_no_viewer_fetch_anything(store, tmp_path):
    """A title, prospect, consent note and coaching note carrying a markdown image of an outside address: the
    review page shows the characters, and the address is never requested (a counting server stands in for it)."""
    import http.server
    import threading

    from sqlalchemy import update

    from db.models import Call
    from calls.annotations import add_note

    hits = []

    class Beacon(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    image = f"![x](http://127.0.0.1:{server.server_port}/beacon.png)"
    call = seed_call(title=f"Acme {image}", prospect_name=f"Sam {image}", duration_s=60, seed=1, stages=False)
    with session_scope() as session:
        session.execute(update(Call).values(consent_note=f"told {image} <img src=http://127.0.0.1:{server.server_port}/h.png>"))
    add_note(call.call_id, 5, f"note {image}", "Mo")
    seed_users()
    try:
        with signed_in_at(store, tmp_path / "app.log", f"/review?call={call.call_id}", "mo", PASSWORD) as (url, page):
            shown = page.get_by_role("heading", name=re.compile("^Acme")).inner_text()
            assert shown.replace("\u2060", "") == f"Acme {image}"  # the characters as typed (word joiners aside)
            page.get_by_role("tab", name="Coaching notes").click()
            page.get_by_text(re.compile("^note !")).first.wait_for()
            assert page.locator(f"img[src*='{server.server_port}']").count() == 0
            links = page.locator("a").evaluate_all("links => links.map(a => a.href)")
            assert not [link for link in links if f":{server.server_port}/" in link], links  # headings' #anchors aside
    finally:
        server.shutdown()
    assert hits == []


def test_a_managers_reps_page_downloads_a_reps_calls_as_an_audited_csv(store, tmp_path):
    """Trial 19: a rep's trend could only be screenshotted. The Reps page's CSVs leave Rapport as files, so they are
    audited as a call's exports are (`reports.exports`)."""
    seed_call(title="Dana's Acme call", rep="Dana Whitfield", duration_s=60, seed=1)
    seed_users()

    with signed_in_at(store, tmp_path / "app.log", "/reps?rep=Dana Whitfield", "mo", PASSWORD) as (_, page):
        button = page.get_by_role("button", name="Download Dana Whitfield's calls (CSV)")
        button.wait_for()
        with page.expect_download() as download:
            button.click()
        lines = Path(download.value.path()).read_text().splitlines()
        assert download.value.suggested_filename == "rapport-rep-dana-whitfield.csv"
        assert lines[0].startswith("Call,Prospect likely positive,") and lines[1].startswith("Dana's Acme call,")

    with session_scope() as session:
        exported = [(e.username, e.target, e.detail) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export"))]
    assert exported == [("mo", "rep Dana Whitfield", {"format": "csv", "via": "dashboard"})]
