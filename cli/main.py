"""Rapport's command line: `python -m pipeline COMMAND ...` (see `--help`).

Exit status: 0 done, 2 bad input (the message says what is wrong), 3 not found, 1 anything unexpected (and,
quietly, stdout closed early by its reader: `... | head`). Progress goes to stderr, results to stdout. With
`--json` an error is also one JSON object on stdout, `{"error": {"kind": ..., "message": ...}}` (`error_kind`
names the kinds), with the same exit status and the same message (naming the user's own file, never a traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import logging
import math
import os
import re
import sys
import time
import traceback
from pathlib import Path

from cli.jobs import register as register_queue_commands
from cli.options import (acting_user, analysis_options, analysis_settings, as_user_option, call_id_argument, check_fps,
                         command_line_user, end_progress, json_option, progress, reanalysis_options, uploader)
from config import unknown_settings
from pipeline.errors import InputError, StorageFull

EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_NOT_FOUND = 1, 2, 3


def _rep_analysis_on() -> bool:
    from db.session import session_scope
    from access.workspace import rep_analysis_enabled

    with session_scope() as session:
        return rep_analysis_enabled(session)


def _earlier_copies(call_id: int, size: int) -> list[int]:
    """Ids of the calls stored before `call_id` with the same bytes (`size` of them) as its recording
    (`calls.intake.earlier_copies`)."""
    from sqlalchemy import select

    from calls.intake import earlier_copies
    from db.models import Call
    from db.session import session_scope

    with session_scope() as session:
        digest = session.get(Call, call_id).content_sha256
        return [c.id for c in earlier_copies(session, digest, size, select(Call.id).where(Call.id < call_id))]


def cmd_analyze(args) -> int:
    from model.classifier import load_classifier
    from calls.intake import create_call
    from pipeline.store import analyze_call, partial_note

    classifier = load_classifier()
    call_id = create_call(args.video, title=args.title, rep=args.rep, prospect_name=args.prospect,
                          prospect_company=args.company, call_date=args.date, analysis=analysis_settings(args),
                          **uploader(args))
    print(f"call {call_id}: analysing {args.video.name}", file=sys.stderr)
    if earlier := _earlier_copies(call_id, args.video.stat().st_size):
        print(f"note: {args.video.name} was stored before, as call {', '.join(map(str, earlier))}: "
              f"call {call_id} is another analysis of the same recording", file=sys.stderr)
    if not _rep_analysis_on():
        print("the rep's emotions are not analysed (rep analysis is off or not yet chosen: "
              "RAPPORT_REP_ANALYSIS=on|off, or the dashboard's Settings page)", file=sys.stderr)
    started = time.monotonic()
    result = analyze_call(call_id, classifier, progress=progress)
    wall_s = time.monotonic() - started
    end_progress()
    summary = {
        "call_id": call_id,
        "title": args.title or args.video.stem,
        "duration_s": round(result.info.duration_s, 3),
        "fps": round(result.info.fps, 3),  # the average rate: 59.94003773755435 is 59.94
        "faces_found": result.faces_found,
        "roles": {str(k): v for k, v in sorted(result.roles.items())},
        "roles_note": result.roles_note, "roles_guessed": result.roles_guessed,  # as `show` gives them
        "shifts": [_shift_json(s) for s in result.shifts],
        "status": "done" if result.faces_found else f"done: {result.no_faces_message}",  # why nothing was charted
        "partial": partial_note(result.decode, result.info),  # what could not be read; null: all of it
        "model": classifier.version,
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
        "wall_s": round(wall_s, 3),  # the whole analysis: reading, stills, the browser copy, storing
    }
    if args.json:
        print(json.dumps(summary))
    else:
        read_s = min(result.info.duration_s, result.decode.data_end_s or math.inf)  # a cut-off file: what it holds
        print(f"call {call_id} analysed: {summary['duration_s']:.1f} s"
              f"{f' ({read_s:.1f} s readable)' if read_s < result.info.duration_s else ''}, {result.faces_found} face "
              f"track(s), {len(result.shifts)} shift(s), in {wall_s:.1f} s ({read_s / max(wall_s, 1e-6):.1f}x real time)")
        if summary["partial"]:
            print(f"partial recording: {summary['partial']}; the readable part was analysed")
        if not result.faces_found:
            print(f"{result.no_faces_message}: nothing to chart")
        if result.roles_guessed:
            # not "roles are a guess": the rep may be sure (recognised from enrolment) and the prospect not (trial 36)
            print(f"check the roles: {result.roles_note} (`show {call_id}`)")
        _print_shifts(vars(s) for s in result.shifts)
    return 0


def _shift_json(shift) -> dict:
    """A shift (`pipeline.shifts.EmotionShift`, or a stored one's row) as `analyze --json` and `show --json` print it."""
    return {"role": shift.role, "t_s": float(shift.t_s), "from": shift.from_emotion, "to": shift.to_emotion,
            "direction": shift.direction, "strength": float(shift.strength), "held_s": float(shift.duration_s)}


def _print_shifts(shifts) -> None:
    """One line per shift, in the review page's words (`reports.charts.shift_label`); `shifts`: mappings."""
    from reports.charts import shift_label

    for shift in shifts:
        print(f"  {shift_label(shift)}")


def cmd_export(args) -> int:
    from reports.exports import export

    acting_user(args.as_user)
    if args.out:  # checked before anything is exported (and audited)
        if args.out.is_dir():
            raise InputError(f"--out {args.out}: is a folder; give a file name, e.g. {args.out / f'call-{args.call_id}.csv'}")
        if not args.out.parent.is_dir():
            raise InputError(f"--out {args.out}: the folder {args.out.parent} does not exist")
    text = export(args.call_id, args.format, args.as_user, operator=command_line_user())
    if args.out:
        try:
            args.out.write_text(text)
        except OSError as error:
            full = error.errno in (errno.ENOSPC, errno.EDQUOT)
            raise (StorageFull if full else InputError)(f"--out {args.out}: could not be written ({error.strerror})") from None
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:  # the file's text in the object unless it went to --out
        print(json.dumps({"call_id": args.call_id, "format": args.format, "out": str(args.out) if args.out else None,
                          "content": None if args.out else text}))
    elif not args.out:
        sys.stdout.write(text)
    return 0


def cmd_list(args) -> int:
    from calls.lifecycle import list_calls

    calls = list_calls()
    if args.json:
        print(json.dumps(calls))
        return 0
    if not calls:
        print("no calls yet: add one with `analyze FILE` (now) or `enqueue FILE` (for a worker)")
        return 0
    print(f"{'id':>5}  {'status':<8} {'length':>7}  {'rep':<18} {'title'}")
    for c in calls:
        length = f"{c['duration_s']:.0f}s" if c["duration_s"] else "-"
        print(f"{c['id']:>5}  {c['status']:<8} {length:>7}  {(c['rep'] or '-'):<18} {c['title']}"
              + (f"  [{c['error']}]" if c["error"] else "") + (f"  [partial: {c['partial']}]" if c["partial"] else "")
              + (f"  [check roles: `show {c['id']}`]" if c["roles_guessed"] else ""))  # as the Calls list says
    return 0


def cmd_show(args) -> int:
    from calls.roles import list_people
    from pipeline.timeline import clock
    from reports.facts import load_facts, load_shifts, load_stages, load_timeline
    from reports.summary import summarize_timeline, weak_label_note
    from reports.talk import GUESSED_ROLES_TALK, TALK_NOT_MEASURED, talk_metrics, talk_rows

    facts = load_facts(args.call_id)  # NotFound: exit 3
    people = list_people(args.call_id)
    shifts = load_shifts(args.call_id)
    timeline = load_timeline(args.call_id) if facts.status == "done" else None
    # who is talking, in the review page's rows (new-user trial 22: the command line showed no talk ratio)
    talk = talk_metrics(timeline.seconds) if timeline else None
    # what "likely neutral" is worth where it is most of the prospect (trial 39: the page said it, `show` did not)
    weak = weak_label_note(summarize_timeline(timeline, load_stages(args.call_id))) if timeline else None
    shown = {"call_id": facts.id, "title": facts.title, "file": facts.original_filename, "rep": facts.rep,
             "prospect": facts.prospect_name, "company": facts.prospect_company,
             "date": facts.call_date.isoformat() if facts.call_date else None, "duration_s": facts.duration_s,
             "status": facts.status, "error": facts.error, "partial": facts.partial_note,
             "rep_analysis": facts.rep_analysis, "model": facts.model_version, "code": facts.code_version,
             "consent": facts.consent,
             "roles_note": facts.roles_note, "roles_guessed": facts.roles_guessed,
             "people": _people_json(people),
             "shifts": [_shift_json(r) for r in shifts.itertuples()],
             "talk": dict(talk_rows(talk)) if talk else None, "weak_label_note": weak}
    if args.json:
        print(json.dumps(shown))
        return 0
    for key in ("title", "file", "rep", "prospect", "company", "date", "status", "error", "partial", "model", "code",
                "consent"):
        if shown[key] is not None:
            print(f"{key:<10} {shown[key]}")
    if facts.duration_s:
        print(f"{'length':<10} {clock(facts.duration_s)}")
    if not facts.rep_analysis:
        print(f"{'note':<10} the rep's emotions were not analysed (rep analysis was off)")
    if facts.roles_note:
        print(f"{'roles':<10} {facts.roles_note}")
        if "Fix roles" in facts.roles_note:  # the note is the dashboard's too: say what Fix roles is here
            print(f"{'':<10} (Fix roles is the dashboard's tab; here: `reassign {facts.id} --rep PERSON "
                  f"[--prospect PERSON]`" + (", or `--confirm` to keep these roles" if facts.roles_guessed else "")
                  + ")")
    if people:
        print("people (`reassign --rep PERSON` takes these numbers, `--set` the track numbers):")
        _print_people(people)
    if weak:
        print(f"{'caution':<10} {weak}")
    if facts.status == "done":
        print("shifts:" if len(shifts) else "shifts     none (no likely emotion changed and held)")
        _print_shifts(shifts.to_dict("records"))
        print("talk:" if talk else f"{'talk':<10} {TALK_NOT_MEASURED}")
        if talk and facts.roles_guessed:
            print(f"  ({GUESSED_ROLES_TALK})")
        for name, value in talk_rows(talk) if talk else ():
            print(f"  {name}: {value}")
    return 0


def _people_json(people) -> list[dict]:
    from calls.roles import places

    where = places(people)
    return [{"person": p.number, "role": p.role, "where": where[p.number], "tracks": list(p.track_nos),
             "first_s": p.first_s, "last_s": p.last_s, "seconds_seen": p.seconds_seen, "read": p.read} for p in people]


def _print_people(people) -> None:
    from calls.roles import places

    where = places(people)
    width = max(16, *(len(place) for place in where.values()))  # one column however long a place is
    for p in people:
        print(f"person {p.number}: {p.role:<14} {where[p.number]:<{width}} "
              f"{'tracks' if len(p.track_nos) > 1 else 'track'} {', '.join(f'#{n}' for n in p.track_nos)}  "
              f"seen {p.seen}" + ("" if p.read else "  (face not read)"))


def cmd_reassign(args) -> int:
    from calls.roles import confirm_roles, list_people, pick_people, reassign_roles
    from jobs.queue import queue_reread
    from pipeline.roles import REP

    assignments = {}
    for item in args.set or []:
        track, _, role = item.partition("=")
        track, role = track.strip(), role.strip().lower()  # " 3 = Rep" is 3=rep
        if not track.isdigit() or not role:
            raise InputError(f"--set takes TRACK=ROLE (e.g. 3=rep), not {item!r}")
        assignments[int(track)] = role
    picked = args.rep is not None or args.prospect is not None
    if sum((args.swap, bool(assignments), picked, args.confirm)) != 1:
        raise InputError("say what to change, one way: --swap, --rep PERSON [--prospect PERSON], --prospect PERSON, "
                         "--set TRACK=ROLE, or --confirm (`python -m pipeline people CALL_ID` lists the people)")
    user = acting_user(args.as_user)
    by = args.as_user or command_line_user()
    if args.confirm:
        kept = confirm_roles(args.call_id, user=user, username=by)
        if kept and not args.json:  # who was kept, as the page shows their faces beside its button
            for person in list_people(args.call_id, user):
                print(f"person {person.number}: {person.role}")
        job_id = queue_reread(args.call_id, kept) if kept else None
        if args.json:
            print(json.dumps({"call_id": args.call_id, "roles_guessed": False, "confirmed": kept is not None,
                              "reread_job_id": job_id}))
        else:
            print(f"call {args.call_id}: " + ("roles confirmed as they are; its prospect figures count on the Calls "
                                              "list and the Reps page" if kept else
                                              "its roles were not a guess; nothing to confirm")
                  + (f"\njob {job_id} queued: reading the faces not read yet" if job_id else ""))
        return 0
    if picked:  # --prospect alone keeps the rep (trial 39: a manager had to restate them)
        rep = args.rep if args.rep is not None else next(
            (p.number for p in list_people(args.call_id, user) if p.role == REP), None)
        change = pick_people(args.call_id, rep, args.prospect, user=user, username=by)
    else:
        change = reassign_roles(args.call_id, swap=args.swap, assignments=assignments, user=user, username=by)
    job_id = queue_reread(args.call_id, change)
    if args.json:
        print(json.dumps({"call_id": args.call_id, "roles": {str(k): v for k, v in sorted(change.roles.items())},
                          "reread_job_id": job_id}))
        return 0
    if picked:  # asked in person numbers: answered in them
        for person in list_people(args.call_id, user):
            print(f"person {person.number}: {person.role}")
    else:
        for track, role in sorted(change.roles.items()):
            print(f"track {track}: {role}")
    if job_id is not None:
        print(f"job {job_id} queued: reading the faces not read yet (track(s) "
              f"{', '.join(map(str, change.unread))}); a worker runs it (`python -m pipeline worker`)", file=sys.stderr)
    return 0


def cmd_people(args) -> int:
    from calls.roles import list_people

    people = list_people(args.call_id, acting_user(args.as_user))
    if args.json:
        print(json.dumps(_people_json(people)))
        return 0
    if not people:  # say why, rather than print nothing
        from reports.facts import load_facts

        facts = load_facts(args.call_id)
        print(f"call {args.call_id}: no people: " + ((facts.error or "no faces found in the recording") if facts.status == "done"
                                                     else f"the call is {facts.status}" + (f" ({facts.error})" if facts.error else "")))
        return 0
    _print_people(people)
    return 0


def cmd_reanalyze(args) -> int:
    from calls.roles import check_may_change, prepare_reanalysis, reanalyze_call
    from jobs.queue import queue_reanalysis
    from model.classifier import load_classifier
    from reports.facts import load_shifts

    if args.fps is not None:
        check_fps(args.fps)
    user = acting_user(args.as_user)
    changes = {"rep_position": args.rep_position, "detector": args.detector, "fps": args.fps}
    by = args.as_user or command_line_user()
    if args.queue:
        job_id = queue_reanalysis(args.call_id, user=user, username=by, **changes)
        print(json.dumps({"call_id": args.call_id, "job_id": job_id}) if args.json
              else f"job {job_id} queued: call {args.call_id} will be analysed again")
        return 0
    check_may_change(args.call_id, user)
    classifier = load_classifier()  # a broken install fails before the call's settings change
    prepare_reanalysis(args.call_id, user=user, username=by, **changes)
    print(f"call {args.call_id}: analysing again", file=sys.stderr)
    result, kept = reanalyze_call(args.call_id, classifier, progress=progress, username=by)
    print(file=sys.stderr)
    roles = kept.change.roles if kept and kept.change else result.roles
    shifts = len(load_shifts(args.call_id)) if kept else len(result.shifts)  # kept roles re-derive the shifts
    if args.json:
        print(json.dumps({"call_id": args.call_id, "faces_found": result.faces_found,
                          "roles": {str(k): v for k, v in sorted(roles.items())}, "shifts": shifts,
                          "kept_roles": kept.people if kept else {}, "lost_roles": list(kept.lost) if kept else []}))
        return 0
    print(f"call {args.call_id} analysed again: {result.faces_found} face track(s), {shifts} shift(s)")
    for track, role in sorted(roles.items()):
        print(f"track {track}: {role}")
    if kept and kept.people:
        print("roles set by hand kept: " + ", ".join(f"person {n} {role}" for role, n in sorted(kept.people.items())))
    if kept and kept.lost:
        print(f"not found where they sat before: the {' and the '.join(kept.lost)} set by hand; the analysis' own "
              f"choice stands (check the roles: `show {args.call_id}`)", file=sys.stderr)
    return 0


def cmd_enrol_rep(args) -> int:
    from calls.enrolment import enrol_rep

    enrolment_id = enrol_rep(args.call_id, args.person, args.consent, user=acting_user(args.as_user),
                             username=args.as_user or command_line_user())
    if args.json:
        print(json.dumps({"call_id": args.call_id, "person": args.person, "enrolment_id": enrolment_id}))
    else:
        print(f"call {args.call_id}: person {args.person} enrolled as the call's rep (a 128-number face signature, "
              "no picture); withdraw with `python -m pipeline withdraw-rep REP_ID`")
    return 0


def cmd_withdraw_rep(args) -> int:
    from calls.enrolment import withdraw_enrolment

    deleted = withdraw_enrolment(args.rep_id, user=acting_user(args.as_user), username=args.as_user or command_line_user())
    if args.json:
        print(json.dumps({"rep_id": args.rep_id, "signatures_deleted": deleted}))
    else:
        print(f"rep {args.rep_id}: {deleted} face signature(s) deleted; later calls are not recognised")
    return 0


def cmd_delete(args) -> int:
    from calls.lifecycle import delete_call
    from access.audit import record

    delete_call(args.call_id)
    record(command_line_user(), "call_delete", f"call {args.call_id}")
    if args.json:
        print(json.dumps({"call_id": args.call_id, "deleted": True}))
    else:
        print(f"call {args.call_id} deleted with all its data and files")
    return 0


def cmd_purge(args) -> int:
    from access.retention import purge

    report = purge(dry_run=args.dry_run)
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, **dataclasses.asdict(report)}))
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb}: {report.videos_deleted} source video(s), {report.snapshot_files_deleted} snapshot file(s), "
          f"{report.calls_deleted} whole call(s){' ' + str(report.call_ids) if report.call_ids else ''}, "
          f"{report.audit_events_deleted} audit event(s), {report.enrolments_deleted} rep face signature(s)")
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

    add_user(args.username, _read_password(args), args.role, team=args.team, rep_name=args.rep, display_name=args.name,
             by=command_line_user())
    print(json.dumps({"username": args.username, "role": args.role}) if args.json
          else f"user {args.username} added as {args.role}")
    return 0


def cmd_set_password(args) -> int:
    from access.users import set_password

    acting_user(args.username)  # before asking for a password the user would type for nothing
    set_password(args.username, _read_password(args), by=command_line_user())
    print(json.dumps({"username": args.username, "password_reset": True}) if args.json
          else f"password of {args.username} reset")
    return 0


class UsageError(Exception):
    """A command line argparse refuses (unknown command, missing or malformed argument): exit 2."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are raised (to `main`, which reports them as JSON under `--json`)
    instead of printed; subcommand parsers are of this class too."""

    def error(self, message: str):
        raise UsageError(self, message)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m pipeline", description="Rapport: analyse sales-call recordings.",
                    epilog="Exit status: 0 done, 2 bad input, 3 no such call, 1 unexpected. Every command but `worker` "
                           "takes --json. `COMMAND --help` tells more; settings are RAPPORT_* environment variables "
                           "(README: Configuration).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="analyse a recording now and store the results")
    analysis_options(p)
    json_option(p)
    p.set_defaults(run=cmd_analyze)

    p = sub.add_parser("export", help="per-second emotions of a call (CSV: one row per second and role)")
    call_id_argument(p)
    p.add_argument("--format", choices=["csv"], default="csv", help="file format (default: %(default)s)")
    p.add_argument("--out", type=Path, help="write to this file instead of stdout")
    as_user_option(p, "export as this dashboard user: a call they may not see is 'not found' (exit 3)")
    json_option(p, "the CSV text goes in its \"content\" unless --out is given")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("list", help="list calls, newest first")
    json_option(p)
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("show", help="one call's details and its people with their roles (for `reassign`)")
    call_id_argument(p)
    json_option(p)
    p.set_defaults(run=cmd_show)

    p = sub.add_parser("reassign", help="fix who is who without re-running the video (rep analysis off: the new "
                                         "prospect's face is re-read by a worker)")
    call_id_argument(p)
    p.add_argument("--swap", action="store_true", help="swap rep and prospect")
    p.add_argument("--rep", type=int, metavar="PERSON", help="this person (see `people`) is the rep")
    p.add_argument("--prospect", type=int, metavar="PERSON",
                   help="this person is the prospect (alone: the rep stays who they are)")
    p.add_argument("--set", action="append", metavar="TRACK=ROLE",
                   help="set a track's role (rep, prospect, participant-N); it goes to the track's whole person")
    p.add_argument("--confirm", action="store_true",
                   help="keep the roles as analysed: a guessed prospect (see `show`) counts in the figures again")
    as_user_option(p)
    json_option(p)
    p.set_defaults(run=cmd_reassign)

    p = sub.add_parser("people", help="the people on a call, their roles and where they were on screen")
    call_id_argument(p)
    as_user_option(p, "as this dashboard user (a call they may not see is 'not found')")
    json_option(p)
    p.set_defaults(run=cmd_people)

    p = sub.add_parser("reanalyze", help="analyse a stored call again, with other settings; its results stay "
                                          "until the new analysis is done")
    call_id_argument(p)
    reanalysis_options(p)
    p.add_argument("--queue", action="store_true", help="queue it for a worker instead of running it now")
    as_user_option(p)
    json_option(p)
    p.set_defaults(run=cmd_reanalyze)

    p = sub.add_parser("enrol-rep", help="with the rep's consent, store their face signature from one person on a "
                                          "call, so later calls of theirs find them in any layout (workspace setting)")
    call_id_argument(p)
    p.add_argument("--person", type=int, required=True, help="the person who is the call's rep (see `people`)")
    p.add_argument("--consent", required=True, help="the rep's own consent statement, as they gave it")
    as_user_option(p)
    json_option(p)
    p.set_defaults(run=cmd_enrol_rep)
    p = sub.add_parser("withdraw-rep", help="withdraw a rep's consent: delete their stored face signature(s)")
    p.add_argument("rep_id", type=int, help="the rep's id")
    as_user_option(p, "act as this dashboard user")
    json_option(p)
    p.set_defaults(run=cmd_withdraw_rep)

    p = sub.add_parser("delete", help="delete a call and all its data and files")
    call_id_argument(p)
    json_option(p)
    p.set_defaults(run=cmd_delete)
    p = sub.add_parser("purge", help="delete what the workspace retention settings say is due")
    p.add_argument("--dry-run", action="store_true", help="only count what would go")
    json_option(p)
    p.set_defaults(run=cmd_purge)

    p = sub.add_parser("add-user", help="add a dashboard user (the first one should be an admin)")
    p.add_argument("username")
    p.add_argument("--role", choices=["admin", "manager", "rep"], required=True)
    p.add_argument("--team", help="a manager's team (they see reps of this team)")
    p.add_argument("--rep", help="for a rep user: the rep whose calls they may see")
    p.add_argument("--name", help="display name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    json_option(p)
    p.set_defaults(run=cmd_add_user)

    p = sub.add_parser("set-password", help="reset a user's password (someone who forgot theirs)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    json_option(p)
    p.set_defaults(run=cmd_set_password)

    register_queue_commands(sub)  # enqueue, worker, jobs
    return parser


def error_kind(error: BaseException) -> str:
    """The `kind` of a `--json` error: "usage" (the command line), "not_found", "bad_input" (a bad option or
    request), "not_allowed" (a rep changing a call), "model_file", or the `InputError`'s own kind in snake case
    ("not_a_video", "empty_file", "file_too_large", "still_image", "corrupt_video", "unsupported_codec", "too_long", "storage_full",
    "nothing_to_export", ...)."""
    from pipeline.errors import NotFound

    if isinstance(error, UsageError):
        return "usage"
    if isinstance(error, InputError) and type(error) is not InputError:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()
    if isinstance(error, (InputError, ValueError)):
        return "bad_input"
    if isinstance(error, NotFound):
        return "not_found"
    if isinstance(error, PermissionError):  # `calls.roles.NotAllowed`: a rep may read a call, not change it
        return "not_allowed"
    from pipeline.liveness import AttemptLost

    if isinstance(error, AttemptLost):  # the call was deleted while `analyze` ran
        return "not_found"
    from model.classifier import ModelFileError

    return "model_file" if isinstance(error, ModelFileError) else "unexpected"


EXIT_CODES = {"not_found": EXIT_NOT_FOUND, "unexpected": EXIT_UNEXPECTED}  # every other kind: EXIT_BAD_INPUT


def report_error(error: BaseException, as_json: bool) -> int:
    """Say what went wrong (stderr; and stdout as one JSON object when `as_json`); the exit status."""
    kind = error_kind(error)
    message = str(error) if kind != "unexpected" else f"unexpected error ({type(error).__name__}); details on stderr"
    end_progress()
    if isinstance(error, UsageError):
        error.parser.print_usage(sys.stderr)
        print(f"{error.parser.prog}: error: {message}", file=sys.stderr)
    elif kind == "unexpected":
        traceback.print_exc()
    else:
        print(f"error: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": {"kind": kind, "message": message}}))
    return EXIT_CODES.get(kind, EXIT_BAD_INPUT)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    as_json = "--json" in argv  # until the command line is parsed (a usage error under --json is JSON too)
    # FFmpeg's own lines ("File ended prematurely", from its frame threads too) are not the user's message: the
    # analysis says in its words what could not be read (`pipeline.video.partial_note`). A worker logs them.
    logging.getLogger("libav").setLevel(logging.CRITICAL)
    try:
        args = build_parser().parse_args(argv)
        as_json = bool(getattr(args, "json", False)) or as_json
        for name, closest in unknown_settings():
            print(f"warning: {name} is not a Rapport setting and is ignored"
                  + (f"; did you mean {closest}?" if closest else ""), file=sys.stderr)
        if check := getattr(args, "check", None):
            check(args)  # a bad recording or option: refused before the store is opened or a model loaded
        from db.session import init_db

        init_db()
        return args.run(args)
    except BrokenPipeError:  # the reader of stdout went away (`export 1 | head`): stop quietly, as Python's docs say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return EXIT_UNEXPECTED
    except Exception as error:  # noqa: BLE001 - every error is reported; unexpected ones with their traceback
        return report_error(error, as_json)


if __name__ == "__main__":
    sys.exit(main())
