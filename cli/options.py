"""What `analyze`, `enqueue` and `reanalyze` share: the recording and its analysis options, and the progress line.

Defaults come from `config.Settings` (env `RAPPORT_*`); `--fps` outside 0.25-30 is an `InputError` (exit 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from config import get_settings
from model.detect import DETECTORS
from pipeline.analyze import AnalysisSettings
from pipeline.errors import InputError
from pipeline.roles import REP_POSITIONS

#: Frames analysed per second of call that `--fps` accepts: below, faces are missed between samples;
#: above, decoding costs more than a webcam's frame rate gives back.
MIN_FPS, MAX_FPS = 0.25, 30.0

def progress(stage: str, fraction: float) -> None:
    print(f"\r{stage:<22} {fraction:6.1%}", end="", file=sys.stderr, flush=True)


def call_date(text: str) -> dt.date:
    """A call date as typed on the command line: YYYY-MM-DD (argparse shows the message and exits 2)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-30") from None


def analysis_options(parser: argparse.ArgumentParser) -> None:
    settings = get_settings()
    parser.add_argument("video", type=Path, help="the call recording (mp4, m4v, mov, webm, mkv, avi)")
    parser.add_argument("--rep-position", choices=REP_POSITIONS, default=settings.rep_position,
                        help="where the rep's tile is in gallery view (default: %(default)s)")
    parser.add_argument("--title", help="call title (default: the file name)")
    parser.add_argument("--rep", help="the rep's name (created if new)")
    parser.add_argument("--prospect", help="prospect's name")
    parser.add_argument("--company", help="prospect's company")
    parser.add_argument("--date", type=call_date, help="call date, YYYY-MM-DD")
    parser.add_argument("--fps", type=float, default=settings.analysis_fps, help="frames analysed per second (default: %(default)s)")
    parser.add_argument("--detector", choices=sorted(DETECTORS), default=settings.detector, help="face detector (default: %(default)s)")


def reanalysis_options(parser: argparse.ArgumentParser) -> None:
    """`reanalyze`'s options: the analysis options of `analysis_options`; each one left out keeps the call's own."""
    parser.add_argument("--rep-position", choices=REP_POSITIONS, help="where the rep's tile is in gallery view")
    parser.add_argument("--fps", type=float, help="frames analysed per second")
    parser.add_argument("--detector", choices=sorted(DETECTORS), help="face detector")


def analysis_settings(args):
    settings = get_settings()
    if not MIN_FPS <= args.fps <= MAX_FPS:
        raise InputError(f"--fps must be between {MIN_FPS:g} and {MAX_FPS:g}, not {args.fps}")
    return AnalysisSettings(fps=args.fps, detector=args.detector, rep_position=args.rep_position,
                            min_shift_seconds=settings.min_shift_seconds)
