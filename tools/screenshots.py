"""Screenshots of every page on seeded data: `python -m tools.screenshots [OUT_DIR]` (default docs/screenshots).

Seeds a temporary store (a team's history, one call with a playable recording,
one analysis in progress, a user per role), starts the app with no worker, and
photographs the sign-in form, then each page signed in (once) as the admin, at its full
height in headless Chromium.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from config import REPO_ROOT, get_settings
from tools.browser import app_env, chromium, running_app, sign_in

PAGES = {  # file name -> (path, text that says the page has rendered)
    "signin": ("", "Sign in to Rapport"),
    "upload": ("upload", "Analysis queue"),
    "calls": ("", "Selected call"),
    "review": ("review?call={call_id}", "Talking points for the one-to-one"),
    "reps": ("reps", "Their calls"),
    "settings": ("settings", "The newest"),
}
USER = "ada"  # the seeded admin: every page is open to them


def seed(data: Path) -> int:
    """Fill the store at `data`; returns the id of the call to show on the review page."""
    from db.models import CallStatus
    from db.session import init_db
    from access.workspace import set_workspace
    from tools.synthetic import CallScript, write_call_video
    from tools.seed import seed_call, seed_team, seed_users

    init_db()
    seed_users()
    set_workspace(USER, rep_analysis=True)  # the demo data has the rep's emotions: a workspace that chose "on"
    seed_team(days=5)
    video = write_call_video(data / "demo.mp4", CallScript(duration_s=240, fps=10, size=(640, 360)))
    call = seed_call(title="Acme Corp renewal: pricing", duration_s=240, video=video, seed=1)
    seed_call(title="Globex expansion demo", rep="Marcus Chen", status=CallStatus.RUNNING, seed=5)
    video.unlink()
    return call.call_id


def main(out: Path) -> None:
    from tools.seed import PASSWORD

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = app_env(data)
        os.environ.update(env)
        get_settings.cache_clear()
        call_id = seed(data)
        with running_app(env, Path(tmp) / "app.log") as url, chromium(deadline_s=1800) as page:
            for name, (path, ready) in PAGES.items():
                page.set_viewport_size({"width": 1440, "height": 1000})
                page.goto(f"{url}/{path.format(call_id=call_id)}")
                if name == "upload":  # the first page after the sign-in form; the session cookie keeps the rest
                    sign_in(page, USER, PASSWORD)
                page.get_by_text(ready).first.wait_for(timeout=60_000)
                time.sleep(3)  # charts and images finish drawing
                height = page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
                page.set_viewport_size({"width": 1440, "height": min(6000, int(height) + 120)})
                time.sleep(1.5)
                page.screenshot(path=out / f"{name}.png")
                print(out / f"{name}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "docs" / "screenshots")
