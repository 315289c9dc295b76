"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

import os


def run_cli(*args: str, env_overrides: dict | None = None, timeout: float = 300):
    """Run `python -m pipeline ...` for real, in a subprocess, with the test's environment."""
    import subprocess
    import sys

    from config import REPO_ROOT

    env = {**os.environ, **(env_overrides or {})}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
