"""`python -m pipeline worker`, held at a gate mid-analysis: tests kill or stop a worker mid-job without racing it.

    RAPPORT_TEST_GATE=/tmp/gate python -m tests.gated_worker worker [--burst]

The real worker runs unchanged, except that its analysis, at its first progress step past 0 %, keeps
reporting that same progress (which is where the worker heartbeats, writes progress and notices a SIGTERM)
until the file `RAPPORT_TEST_GATE` exists. A test therefore knows the job is in progress and cannot finish
before it acts: SIGKILL it, or SIGTERM it (the worker hands the job back at the next report), or create the
file to let it finish.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pipeline.analyze

HOLD_POLL_S = 0.1  # how often a held analysis reports progress again (the worker throttles writes to 1 s)


def _gated(analyze_video, gate: Path):
    def analyze(info, classifier, detector, settings=pipeline.analyze.AnalysisSettings(), progress=None, *rest):
        def held(stage: str, fraction: float) -> None:
            progress(stage, fraction)
            while fraction > 0 and not gate.exists():
                time.sleep(HOLD_POLL_S)
                progress(stage, fraction)

        return analyze_video(info, classifier, detector, settings, held if progress else None, *rest)

    return analyze


if __name__ == "__main__":
    # Before anything imports the analysis by name, so every holder of `analyze_video` gets the gated one.
    pipeline.analyze.analyze_video = _gated(pipeline.analyze.analyze_video, Path(os.environ["RAPPORT_TEST_GATE"]))
    from cli.main import main

    sys.exit(main(sys.argv[1:]))
