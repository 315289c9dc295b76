"""Rapport's command line: `python -m pipeline COMMAND ...` (see `--help`).

Exit status: 0 done, 2 bad input (the message says what is wrong), 3 not found,
1 anything unexpected. Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cli.jobs import register as register_queue_commands
from cli.options import MAX_FPS, MIN_FPS, analysis_options, analysis_settings, progress, reanalysis_options
from pipeline.errors import InputError

EXIT_BAD_INPUT, EXIT_NOT_FOUND = 2, 3


def _rep_analysis_on() -> bool:
    from db.session import session_scope
    from access.workspace import rep_analysis_enabled

    with session_scope() as session:
        return rep_analysis_enabled(session)


def cmd_analyze(args) -> int:
    from model.classifier import load_classifier
    from calls.intake import create_call
    from pipeline.store import analyze_call, partial_note

    classifier = load_classifier()
    call_id = create_call(args.video, title=args.title, rep=args.rep, prospect_name=args.prospect,
                          prospect_company=args.company, call_date=args.date, analysis=analysis_settings(args))
    print(f"call {call_id}: analysing {args.video.name}", file=sys.stderr)
    if not _rep_analysis_on():
        print("the rep's emotions are not analysed (rep analysis is off or not yet chosen: "
              "RAPPORT_REP_ANALYSIS=on|off, or the dashboard's Settings page)", file=sys.stderr)
    result = analyze_call(call_id, classifier, progress=progress)
    print(file=sys.stderr)
    summary = {
        "call_id": call_id,
        "title": args.title or args.video.stem,
        "duration_s": round(result.info.duration_s, 3),
        "fps": result.info.fps,
        "faces_found": result.faces_found,
        "roles": {str(k): v for k, v in sorted(result.roles.items())},
        "shifts": [{"role": s.role, "t_s": s.t_s, "from": s.from_emotion, "to": s.to_emotion,
                    "direction": s.direction, "strength": s.strength} for s in result.shifts],
        "status": "done" if result.faces_found else "done: no faces found",
        "partial": partial_note(result.decode, result.info.duration_s),  # what could not be read; null: all of it
        "model": classifier.version,
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"call {call_id} analysed: {summary['duration_s']:.1f} s, {result.faces_found} face track(s), "
              f"{len(result.shifts)} shift(s)")
        if summary["partial"]:
            print(f"partial recording: {summary['partial']}; the readable part was analysed")
        if not result.faces_found:
            print("no faces found in the recording: nothing to chart")
        for s in summary["shifts"]:
            print(f"  {s['t_s']:7.0f} s  {s['role']:<14} likely {s['from']} -> {s['to']} ({s['direction']}, strength {s['strength']:.2f})")
    return 0


def cmd_export(args) -> int:
    from reports.exports import export

    _acting_user(args.as_user)
    if args.out:  # checked before anything is exported (and audited)
        if args.out.is_dir():
            raise InputError(f"--out {args.out}: is a folder; give a file name, e.g. {args.out / f'call-{args.call_id}.csv'}")
        if not args.out.parent.is_dir():
            raise InputError(f"--out {args.out}: the folder {args.out.parent} does not exist")
    text = export(args.call_id, args.format, args.as_user)
    if args.out:
        try:
            args.out.write_text(text)
        except OSError as error:
            raise InputError(f"--out {args.out}: could not be written ({error.strerror})") from None
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_list(args) -> int:
    from calls.lifecycle import list_calls

    calls = list_calls()
    if args.json:
        print(json.dumps(calls))
        return 0
    print(f"{'id':>5}  {'status':<8} {'length':>7}  {'rep':<18} {'title'}")
    for c in calls:
        length = f"{c['duration_s']:.0f}s" if c["duration_s"] else "-"
        print(f"{c['id']:>5}  {c['status']:<8} {length:>7}  {(c['rep'] or '-'):<18} {c['title']}"
              + (f"  [{c['error']}]" if c["error"] else "") + (f"  [partial: {c['partial']}]" if c["partial"] else ""))
    return 0


def _acting_user(username: str | None):
    """The `--as` user (checked afresh: a deactivated user is refused), or None: the operator, who may do anything."""
    if username is None:
        return None
    from db.session import session_scope
    from access.users import active_user

    with session_scope() as session:
        user = active_user(session, username)
    if user is None:
        raise InputError(f"no active user {username!r} (see `python -m pipeline add-user`)")
    return user


def cmd_reassign(args) -> int:
    from calls.roles import pick_people, reassign_roles
    from jobs.queue import queue_reread

    assignments = {}
    for item in args.set or []:
        track, _, role = item.partition("=")
        if not track.isdigit() or not role:
            raise InputError(f"--set takes TRACK=ROLE (e.g. 3=rep), not {item!r}")
        assignments[int(track)] = role
    if sum((args.swap, bool(assignments), args.rep is not None)) != 1 or (args.prospect is not None and args.rep is None):
        raise InputError("say what to change, one way: --swap, --rep PERSON [--prospect PERSON], or --set TRACK=ROLE "
                         "(`python -m pipeline people CALL_ID` lists the people)")
    user = _acting_user(args.as_user)
    by = args.as_user or "cli"
    if args.rep is not None:
        change = pick_people(args.call_id, args.rep, args.prospect, user=user, username=by)
    else:
        change = reassign_roles(args.call_id, swap=args.swap, assignments=assignments, user=user, username=by)
    for track, role in sorted(change.roles.items()):
        print(f"track {track}: {role}")
    job_id = queue_reread(args.call_id, change)
    if job_id is not None:
        print(f"job {job_id} queued: re-reading the new prospect's face (track(s) "
              f"{', '.join(map(str, change.unread))}); a worker runs it (`python -m pipeline worker`)", file=sys.stderr)
    return 0


def cmd_people(args) -> int:
    from calls.roles import list_people, where
    from pipeline.timeline import clock

    people = list_people(args.call_id, _acting_user(args.as_user))
    if args.json:
        print(json.dumps([{"person": p.number, "role": p.role, "where": where(p, people), "tracks": list(p.track_nos),
                           "first_s": p.first_s, "last_s": p.last_s, "read": p.read} for p in people]))
        return 0
    for p in people:
        print(f"person {p.number}: {p.role:<14} {where(p, people):<16} seen {clock(p.first_s)}-{clock(p.last_s)}  "
              f"tracks {', '.join(map(str, p.track_nos))}" + ("" if p.read else "  (face not read)"))
    return 0


def cmd_reanalyze(args) -> int:
    from calls.roles import check_may_change, prepare_reanalysis
    from jobs.queue import queue_reanalysis
    from model.classifier import load_classifier
    from pipeline.store import analyze_call

    if args.fps is not None and not MIN_FPS <= args.fps <= MAX_FPS:
        raise InputError(f"--fps must be between {MIN_FPS:g} and {MAX_FPS:g}, not {args.fps}")
    user = _acting_user(args.as_user)
    changes = {"rep_position": args.rep_position, "detector": args.detector, "fps": args.fps}
    by = args.as_user or "cli"
    if args.queue:
        job_id = queue_reanalysis(args.call_id, user=user, username=by, **changes)
        print(json.dumps({"call_id": args.call_id, "job_id": job_id}) if args.json
              else f"job {job_id} queued: call {args.call_id} will be analysed again")
        return 0
    check_may_change(args.call_id, user)
    classifier = load_classifier()  # a broken install fails before the call's settings change
    prepare_reanalysis(args.call_id, user=user, username=by, **changes)
    print(f"call {args.call_id}: analysing again", file=sys.stderr)
    result = analyze_call(args.call_id, classifier, progress=progress)
    print(file=sys.stderr)
    if args.json:
        print(json.dumps({"call_id": args.call_id, "faces_found": result.faces_found,
                          "roles": {str(k): v for k, v in sorted(result.roles.items())}, "shifts": len(result.shifts)}))
    else:
        print(f"call {args.call_id} analysed again: {result.faces_found} face track(s), {len(result.shifts)} shift(s)")
        for track, role in sorted(result.roles.items()):
            print(f"track {track}: {role}")
    return 0


def cmd_delete(args) -> int:
    from calls.lifecycle import delete_call
    from access.audit import record

    delete_call(args.call_id)
    record("cli", "call_delete", f"call {args.call_id}")
    print(f"call {args.call_id} deleted with all its data and files")
    return 0


def cmd_purge(args) -> int:
    from access.retention import purge

    report = purge(dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb}: {report.videos_deleted} source video(s), {report.snapshot_files_deleted} snapshot file(s), "
          f"{report.calls_deleted} whole call(s){' ' + str(report.call_ids) if report.call_ids else ''}, "
          f"{report.audit_events_deleted} audit event(s)")
    return 0


def _read_password(args) -> str:
    """One line of stdin with --password-stdin (scripts), else typed twice without echo."""
    import getpass

    from access.users import MIN_PASSWORD_LENGTH

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(f"password ({MIN_PASSWORD_LENGTH}+ characters): ")
    if getpass.getpass("again: ") != password:
        raise InputError("the two passwords differ")
    return password


def cmd_add_user(args) -> int:
    from access.users import add_user

    add_user(args.username, _read_password(args), args.role, team=args.team, rep_name=args.rep, display_name=args.name)
    print(f"user {args.username} added as {args.role}")
    return 0


def cmd_set_password(args) -> int:
    from access.users import set_password

    set_password(args.username, _read_password(args), by="cli")
    print(f"password of {args.username} reset")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description="Rapport: analyse sales-call recordings.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="analyse a recording now and store the results")
    analysis_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=cmd_analyze)

    p = sub.add_parser("export", help="per-second emotions of a call")
    p.add_argument("call_id", type=int)
    p.add_argument("--format", choices=["csv"], default="csv")
    p.add_argument("--out", type=Path, help="write to this file instead of stdout")
    p.add_argument("--as", dest="as_user", metavar="USERNAME",
                   help="export as this dashboard user: a call they may not see is 'not found' (exit 3)")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("list", help="list calls")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("reassign", help="fix who is who without re-running the video (rep analysis off: the new "
                                         "prospect's face is re-read by a worker)")
    p.add_argument("call_id", type=int)
    p.add_argument("--swap", action="store_true", help="swap rep and prospect")
    p.add_argument("--rep", type=int, metavar="PERSON", help="this person (see `people`) is the rep")
    p.add_argument("--prospect", type=int, metavar="PERSON", help="with --rep: this person is the prospect")
    p.add_argument("--set", action="append", metavar="TRACK=ROLE",
                   help="set a track's role (rep, prospect, participant-N); it goes to the track's whole person")
    p.add_argument("--as", dest="as_user", metavar="USERNAME", help="act as this dashboard user (reps may not)")
    p.set_defaults(run=cmd_reassign)

    p = sub.add_parser("people", help="the people on a call, their roles and where they were on screen")
    p.add_argument("call_id", type=int)
    p.add_argument("--as", dest="as_user", metavar="USERNAME", help="as this dashboard user")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_people)

    p = sub.add_parser("reanalyze", help="analyse a stored call again, with other settings; its results stay "
                                          "until the new analysis is done")
    p.add_argument("call_id", type=int)
    reanalysis_options(p)
    p.add_argument("--queue", action="store_true", help="queue it for a worker instead of running it now")
    p.add_argument("--as", dest="as_user", metavar="USERNAME", help="act as this dashboard user (reps may not)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=cmd_reanalyze)

    p = sub.add_parser("delete", help="delete a call and all its data and files")
    p.add_argument("call_id", type=int)
    p.set_defaults(run=cmd_delete)
    p = sub.add_parser("purge", help="delete what the workspace retention settings say is due")
    p.add_argument("--dry-run", action="store_true", help="only count what would go")
    p.set_defaults(run=cmd_purge)

    p = sub.add_parser("add-user", help="add a dashboard user (the first one should be an admin)")
    p.add_argument("username")
    p.add_argument("--role", choices=["admin", "manager", "rep"], required=True)
    p.add_argument("--team", help="a manager's team (they see reps of this team)")
    p.add_argument("--rep", help="for a rep user: the rep whose calls they may see")
    p.add_argument("--name", help="display name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    p.set_defaults(run=cmd_add_user)

    p = sub.add_parser("set-password", help="reset a user's password (someone who forgot theirs)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    p.set_defaults(run=cmd_set_password)

    register_queue_commands(sub)  # enqueue, worker, jobs
    return parser


def main(argv: list[str] | None = None) -> int:
    from db.session import init_db
    from model.classifier import ModelFileError
    from pipeline.errors import NotFound
    from pipeline.liveness import AttemptLost

    args = build_parser().parse_args(argv)
    try:
        init_db()
        return args.run(args)
    except InputError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, ModelFileError, PermissionError) as error:  # PermissionError: a rep may not change calls
        print(f"\nerror: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (NotFound, AttemptLost) as error:  # AttemptLost: the call was deleted while `analyze` ran
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NOT_FOUND


if __name__ == "__main__":
    sys.exit(main())
