"""Run the dashboard for real and drive it with headless Chromium, signed in (end-to-end tests, screenshots).

Debian's `chromium` package is used through Playwright's Python client: Playwright's
own browser download cannot run here, and the distribution build is what CI has.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from config import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(data_dir: Path) -> dict[str, str]:
    """Settings for a dashboard run (`running_app`) on `data_dir`'s own SQLite store, with no local worker: the
    calls there are seeded, nothing analyses."""
    return {"RAPPORT_DATA_DIR": str(data_dir), "RAPPORT_DB_URL": f"sqlite:///{data_dir / 'rapport.db'}",
            "RAPPORT_LOCAL_WORKER": "0"}


@contextmanager
def running_app(env: dict[str, str], log: Path, timeout_s: float = 60) -> Iterator[str]:
    """`streamlit run dashboard/server.py` on a free port; yields its URL once healthy, stops it afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard" / "server.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with log.open("w") as out:
        # A session of its own, so the dashboard's local worker (its child) can be stopped with it below.
        app = subprocess.Popen(command, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if app.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the dashboard did not start; see {log}:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.3)
        yield url
    finally:
        app.terminate()  # Streamlit shuts down cleanly on SIGTERM, and its atexit stops the local worker
        try:
            app.wait(20)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        _stop_group(app.pid)  # a worker left behind (the dashboard was killed before its atexit ran) goes too


def _stop_group(pgid: int, grace_s: float = 10) -> None:
    """SIGTERM every process still in the group (a worker hands back its job), then SIGKILL what remains."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return  # nothing left
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


BROWSER_DEADLINE_S = 480.0
"""Longest a browser may live, from starting Playwright's driver to its exit (the longest browser test, upload to PDF,
gives the analysis 240 s of it): then the driver and the browser are killed and the test fails there, before
`scripts/test.sh`'s `--timeout`. Seen three times: the driver and the page's renderer both spinning at 95-100% CPU
for 34-40 minutes, past Playwright's own 30-s timeouts and past pytest-timeout's, whose exception could not be raised
until the driver ended (an unresponsive page is not bounded by Playwright's timeouts: microsoft/playwright#19374).
The second time (session 27) the watchdog, then a `threading.Timer` in this process, never fired (py-spy: its thread
still in `Condition.wait` after 34 min, the main thread in the sync API's event loop); killing the driver by hand
ended the hang. So the watchdog became a process of its own (`_WATCHDOG`), but it covered only the page's use: the
third time (CI, stop 39, the roles-fix browser test after its last step) the run stalled past CI's 90 minutes,
which fits a driver that never exits once `sync_playwright`'s exit has closed its pipe (that exit waits for it with
no timeout). So the watchdog now lives from before the driver starts until after it has stopped. The cause, found in
session 52: an earlier test's AV1 encode had left the test process under real-time scheduling, which the driver, the
browser and the watchdog inherited (`tools.synthetic.ordinary_scheduling`; `tests/conftest.py` now fails a test that
leaves it so); the deadline stays, for a page that hangs for another reason."""

_WATCHDOG = """
import os, sys, time, psutil
deadline_s, parent, *spared = sys.argv[1:]
time.sleep(float(deadline_s))
spared = {int(pid) for pid in spared} | {os.getpid()}
started = [c for c in psutil.Process(int(parent)).children() if c.pid not in spared]
for process in [p for c in started for p in (*c.children(recursive=True), c)]:
    try:
        process.kill()
    except psutil.NoSuchProcess:
        pass
"""
"""Sleeps the deadline (argv[1], seconds), then kills every process the parent (argv[2]) started since, except those
spared (argv[3:], its children before), with all they started; exits 0 only then. Run with this interpreter, which has
psutil."""


@contextmanager
def chromium(viewport: tuple[int, int] = (1440, 1000), deadline_s: float = BROWSER_DEADLINE_S) -> Iterator:
    """A fresh headless Chromium page that accepts downloads. After `deadline_s` seconds Playwright's driver and the
    browser are killed by a watchdog process: a page that hung fails the test (RuntimeError); a driver that hung only
    in its shutdown, after the test's steps, is a warning (RuntimeWarning), as the page did all it was asked."""
    import psutil
    from playwright.sync_api import sync_playwright

    me = psutil.Process()
    spared = [str(child.pid) for child in me.children()]  # e.g. the dashboard under test
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(deadline_s), str(me.pid), *spared])
    deadline = time.monotonic() + deadline_s

    def fired() -> bool:
        """Whether the watchdog killed the driver (once the deadline is past, it waits for the watchdog to finish)."""
        return time.monotonic() >= deadline and watchdog.wait() == 0

    closed = False  # the test's steps are done and the browser closed: what is left is the driver's own exit
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                              accept_downloads=True)
                yield context.new_page()
            finally:
                if not fired():  # a killed driver took the browser with it
                    browser.close()
            closed = not fired()
    except Exception as error:
        if not fired():
            raise
        if not closed:
            raise RuntimeError(f"the browser was stopped after {deadline_s:.0f} s (tools.browser.BROWSER_DEADLINE_S)") from error
    finally:
        # Before the deadline the watchdog is still asleep (it starts sleeping after `deadline` was set) and is
        # cancelled; after it, it may still be killing, so it is waited for: killing it then made `fired()` read
        # False for a driver it had killed (1 run in 3 here, and CI stop 41 missed the warning).
        if time.monotonic() < deadline:
            watchdog.kill()
        watchdog.wait()
    if closed and fired():
        warnings.warn(f"Playwright's driver did not stop after the browser closed; it was killed at {deadline_s:.0f} s "
                      f"(tools.browser.BROWSER_DEADLINE_S)", RuntimeWarning, stacklevel=2)


def sign_in(page, username: str, password: str) -> None:
    """Fill the sign-in form every page shows first, as a person would, and wait until it lets them in."""
    page.get_by_role("heading", name="Sign in to Rapport").wait_for()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for()


def choose_file(page, path: Path) -> None:
    """Put `path` in the page's (single) file uploader, as a person would: remove a file kept there first."""
    uploader = page.get_by_test_id("stFileUploader")
    while uploader.get_by_test_id("stFileChipDeleteBtn").count():
        uploader.get_by_test_id("stFileChipDeleteBtn").first.click()
        page.wait_for_timeout(300)
    uploader.locator("input[type=file]").first.set_input_files(str(path))
    uploader.get_by_text(path.name).wait_for()  # the upload has finished


@contextmanager
def signed_in_at(data_dir: Path, log: Path, path: str, username: str, password: str, timeout_ms: int = 60_000):
    """The dashboard on `data_dir`'s store (`app_env`, `running_app`) and a browser page at `path` (e.g. "/reps"),
    signed in as `username`: yields (the app's URL, the page)."""
    with running_app(app_env(data_dir), log) as url, chromium() as page:
        page.set_default_timeout(timeout_ms)
        page.goto(f"{url}{path}")
        sign_in(page, username, password)
        yield url, page

