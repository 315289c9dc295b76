"""What `analyze`, `enqueue` and `reanalyze` share: the recording and its analysis options, the early check,
the progress line.

Defaults come from `config.Settings` (env `RAPPORT_*`); `--fps` outside 0.25-30 is an `InputError` (exit 2).
`check_recording` refuses a bad file or option before the store is opened or a model is loaded; the analysis
itself (`pipeline.analyze`, SciPy) is imported only once the input is known to be good.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from pathlib import Path

from config import get_settings
from model.detect import DETECTORS
from pipeline.errors import InputError
from pipeline.roles import REP_POSITIONS

#: Frames analysed per second of call that `--fps` accepts: below, faces are missed between samples;
#: above, decoding costs more than a webcam's frame rate gives back.
MIN_FPS, MAX_FPS = 0.25, 30.0

_progress_shown = False  # a progress line is open on stderr (no newline yet)


def progress(stage: str, fraction: float) -> None:
    global _progress_shown
    print(f"\r{stage:<22} {fraction:6.1%}", end="", file=sys.stderr, flush=True)
    _progress_shown = True


def end_progress() -> None:
    """End the progress line, if one is open, so what follows starts on a line of its own."""
    global _progress_shown
    if _progress_shown:
        print(file=sys.stderr)
        _progress_shown = False


def call_date(text: str) -> dt.date:
    """A call date as typed on the command line: YYYY-MM-DD (argparse shows the message and exits 2)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-30") from None


def json_option(parser: argparse.ArgumentParser, more: str = "") -> None:
    """`--json`, the same on every command that has it: the result, or the error, as one JSON object on stdout."""
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object; an error too, as "
                        '{"error": {"kind": ..., "message": ...}} (same exit status)' + (f"; {more}" if more else ""))


def as_user_option(parser: argparse.ArgumentParser,
                   what: str = "act as this dashboard user (reps may not change calls)") -> None:
    """`--as USERNAME`: the dashboard user the command acts as (their access rules apply; checked afresh)."""
    parser.add_argument("--as", dest="as_user", metavar="USERNAME", help=what)


def call_id(text: str) -> int:
    """A call id as typed: a whole number from 1 (argparse shows the message and exits 2)."""
    if not text.strip().isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a call id: use the number in the first column of `list`")
    return int(text)


def call_id_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("call_id", type=call_id, help="the call's id (see `list`)")


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
    parser.add_argument("--participants-told", action="store_true",
                        help="confirm that everyone on the call was told it is recorded and analysed (the upload "
                             "form's box): stored with the time and your login name (or --as), shown in reports")
    parser.add_argument("--consent-note", help="how they were told, e.g. 'notice in the invite' (with --participants-told)")
    as_user_option(parser, "upload as this dashboard user, as the Upload page does: a new rep joins their team, and "
                           "with --participants-told they are recorded as who confirmed it (default: your login name, "
                           "marked '(command line)'); reps may not upload")
    parser.set_defaults(check=check_recording)


def check_recording(args) -> None:
    """Refuse bad options or a bad recording (`InputError` naming the user's file: missing, a folder, empty, a still
    image, not a video, over a limit...) from its header and first frame, before anything is stored or loaded."""
    from pipeline.video import probe_upload

    check_fps(args.fps)
    if args.consent_note and not args.participants_told:
        raise InputError("--consent-note says how the participants were told: add --participants-told to confirm they were")
    probe_upload(args.video, args.video.name, get_settings())


def check_fps(fps: float) -> None:
    if not MIN_FPS <= fps <= MAX_FPS:
        raise InputError(f"--fps must be between {MIN_FPS:g} and {MAX_FPS:g}, not {fps}")


def reanalysis_options(parser: argparse.ArgumentParser) -> None:
    """`reanalyze`'s options: the analysis options of `analysis_options`; each one left out keeps the call's own."""
    parser.add_argument("--rep-position", choices=REP_POSITIONS, help="where the rep's tile is in gallery view")
    parser.add_argument("--fps", type=float, help="frames analysed per second")
    parser.add_argument("--detector", choices=sorted(DETECTORS), help="face detector")


def uploader(args) -> dict:
    """`create_call`'s keywords for who uploads, as the Upload page passes them: with --as, that dashboard user's team
    (a new rep joins it) and their name as who confirmed consent (a rep, who may not change calls, is `NotAllowed`);
    else the login name marked as given on the command line. Consent only with --participants-told (--consent-note:
    how); without it nothing is recorded (reports say "not recorded") and a note says so. Run after the store is
    opened (`acting_user` reads it)."""
    from access.policy import can_change
    from calls.roles import NotAllowed

    user = acting_user(args.as_user)
    if user is not None and not can_change(user):
        raise NotAllowed(f"{args.as_user!r} is a rep: reps may read calls, not upload them")
    team = {"team": user.team} if user is not None else {}
    if not args.participants_told:
        print("note: consent not recorded: pass --participants-told once everyone on the call was told it is "
              "recorded and analysed (the upload form requires it)", file=sys.stderr)
        return team
    return {**team, "consent_confirmed_by": args.as_user or command_line_user(), "consent_note": args.consent_note}


def acting_user(username: str | None):
    """The `--as` user (checked afresh: a deactivated user is refused), or None: the operator, who may do anything.
    Raises `InputError` for a name that is no active user."""
    if username is None:
        return None
    from db.session import session_scope
    from access.users import active_user

    with session_scope() as session:
        user = active_user(session, username)
    if user is None:
        raise InputError(f"no active user {username!r} (see `python -m pipeline add-user`)")
    return user


def command_line_user() -> str:
    """Who acts from the command line without --as: the login name, marked as such ("dana (command line)"). One name
    in the consent line and the audit log alike (a new-user trial found "root (command line)" in one, "cli" in the
    other)."""
    return f"{getpass.getuser()} (command line)"


def analysis_settings(args):
    from pipeline.analyze import AnalysisSettings

    settings = get_settings()
    check_fps(args.fps)
    return AnalysisSettings(fps=args.fps, detector=args.detector, rep_position=args.rep_position,
                            min_shift_seconds=settings.min_shift_seconds)
