"""Who is who, after the analysis: people, their roles, and fixing them without decoding again.

Roles belong to *people*: the tracks of one person share `tracks.person_no` (a track without one is a person
of its own) and always get the same role. A manager fixes a wrong side by picking the rep (and, with more than
two people, the prospect) among the call's people (`pick_people`); `reassign_roles` swaps rep and prospect or
sets roles by track (the CLI's `reassign`). Rows, shifts and stills are re-derived from the stored per-track
seconds (`pipeline.store.load_track_seconds`) in one transaction; only the few frames the new stills show are
read again.

Rep analysis off (the call's own setting, recorded at upload): the store must never hold a rep emotion. In the
transaction of the role change every emotion value of the person now called the rep is deleted
(`track_seconds.probs`, hence the rep's `emotion_seconds`), and people not called the rep whose faces were never
read (the analysis skipped them as the rep) are returned in `RoleChange.unread`: the caller queues a re-read of
those tracks only (`jobs.queue.fix_roles`), which a worker runs with `reread_tracks`. Who is talking is
re-derived too, from the stored speech fractions and each track's mouth motion: it follows the person, not the seat.

A new analysis of a call whose roles were set by hand (`reanalyze_call`) keeps them: the people of the new analysis
whose faces sat where the hand-set rep's and prospect's did, second by second, take those roles again (`HandRoles`).
Where they sat is stored on the call when the analysis is asked for (`prepare_reanalysis`: `calls.hand_roles`) and
cleared only once that analysis has kept them, so a worker that dies between committing the new rows and setting the
roles leaves its retry what to keep.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import asdict, dataclass, replace

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from access.audit import audit
from access.policy import Principal, can_change, can_see_call
from access.workspace import rep_analysis_enabled
from config import Settings, get_settings, snapshot_folder
from db.models import Call, CallStatus, EmotionSecond, Shift, Snapshot, Track, TrackSecond, utcnow
from db.session import session_scope
from model.detect import iou_matrix, shared_detector
from pipeline.analyze import AnalysisSettings, CallAnalysis, Progress, derive
from pipeline.errors import InputError, NotFound
from pipeline.liveness import AttemptLost, Heartbeat, start_attempt
from pipeline.people import COPY_SIZE_RATIO
from pipeline.reread import reread_faces
from pipeline.roles import PROSPECT, REP, SEAT_IOU, box_area, naming_seat_frames, ordinal, place
from pipeline.snapshots import render_snapshots
from pipeline.speech import who_speaks
from pipeline.store import (analyze_call, end_failed_attempt, get_call, load_speech, load_track_seconds,
                            write_derived)
from pipeline.timeline import BOX_DECIMALS, TrackSecondRows, clock, minutes
from pipeline.video import probe_upload, seconds_in

MIN_AWAY_SHOWN_S = 2
"""`Person.seen` names time away inside someone's span from this many seconds on (a missed second is detector noise)."""
ONE_PERSON_TOGETHER_MAX_S = 3
"""Consecutive whole seconds two people may share on screen and still be one person seen apart (a camera turned off and
on, a new tile): a face that leaves and its return fall in the same second or two, however often it happens (a code
review: a prospect whose screen share toggled 4 times shared 6 seconds with themself, never on screen at once).
Longer together in a row, at sizes less than
`pipeline.people.COPY_SIZE_RATIO` apart, they are two people, and one cannot be made "also the prospect" of the other:
one prospect timeline follows one face a second, so two people's readings would alternate in it. New-user trials 17
and 20: a second stakeholder beside the prospect all call was merged into them (a warning stood beside the button),
their anger read as the prospect's turn, and the real prospect's turn to a smile was lost."""
SAME_ROW = 0.2
"""Faces whose centres are within this fraction of the frame's height of a row's top face sit in that row
(`seating_order`): the review page shows people left to right, top to bottom."""


class NotAllowed(PermissionError):
    """The user may see the call but not change it (reps read only)."""


@dataclass(frozen=True)
class Person:
    """One person on a call: their tracks (one role for all of them) and what the page shows of them."""

    number: int  # 1, 2, ... in order of first appearance: what the page and the CLI call them
    track_nos: tuple[int, ...]
    role: str  # rep | prospect | participant-N
    role_source: str  # auto | manual
    first_s: float
    last_s: float
    n_frames: int
    mean_box: tuple[float, float, float, float]
    """Frame fractions, of where they sat longest (a seat's tracks together) among the seats no one else held
    (`pipeline.roles.naming_seat_frames`)."""
    thumbnail_path: str | None  # a face picture (relative to the data folder), from that seat if it has one
    read: bool  # some of their seconds have emotion values
    seconds: frozenset[int]  # the seconds of the call in which any of their tracks was seen

    @property
    def seconds_seen(self) -> int:
        return len(self.seconds)

    def seen_together_s(self, other: "Person") -> int:
        """Seconds both were on screen: two faces at once are two people, unless one is a thumbnail copy of the
        other (a filmstrip, a self-view)."""
        return len(self.seconds & other.seconds)

    def copy_sized(self, other: "Person") -> bool:
        """Whether one's face is `COPY_SIZE_RATIO` times the other's height or more (a thumbnail beside a big tile)."""
        small, large = sorted((self.mean_box[3] - self.mean_box[1], other.mean_box[3] - other.mean_box[1]))
        return small > 0 and large >= COPY_SIZE_RATIO * small

    def together_run_s(self, other: "Person") -> int:
        """The most seconds in a row both were on screen."""
        together = sorted(self.seconds & other.seconds)
        run = longest = 0
        for previous, second in zip([None, *together], together):
            run = run + 1 if previous == second - 1 else 1
            longest = max(longest, run)
        return longest

    def may_be_one_with(self, other: "Person") -> bool:
        """Whether this person and `other` may be one person the analysis split: on screen together for at most
        `ONE_PERSON_TOGETHER_MAX_S` seconds in a row, or one a thumbnail copy of the other (`copy_sized`)."""
        return self.together_run_s(other) <= ONE_PERSON_TOGETHER_MAX_S or self.copy_sized(other)

    @property
    def seen(self) -> str:
        """When they were on screen, in words: "0:12–4:59", and how long they were away in between where they were
        ("0:00–0:52, not seen for 10 s in between": a trial read a span as 52 s on screen)."""
        span = f"{clock(self.first_s)}–{clock(self.last_s)}"
        away = int(self.last_s) - int(self.first_s) + 1 - self.seconds_seen
        if away < MIN_AWAY_SHOWN_S:
            return span
        return f"{span}, not seen for {f'{away} s' if away < 120 else minutes(away / 60)} in between"

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.mean_box
        return (x2 - x1) * (y2 - y1)

    @property
    def center(self) -> tuple[float, float]:
        """(x, y) of their mean box's centre, frame fractions."""
        x1, y1, x2, y2 = self.mean_box
        return (x1 + x2) / 2, (y1 + y2) / 2


@dataclass(frozen=True)
class RoleChange:
    """What a role change did: every track's role now, and the tracks whose faces still need reading."""

    roles: dict[int, str]
    unread: tuple[int, ...] = ()


def where(person: Person, everyone: list[Person]) -> str:
    """Where the person was on screen, in words, beside everyone else (`places`)."""
    return places(everyone)[person.number]


def places(everyone: list[Person]) -> dict[int, str]:
    """Person number -> where they were on screen, in words (`pipeline.roles.place`, beside everyone else's faces).
    Side words that fit two or three people say where each sat along the other axis, among them (new-user trial 49's
    grid of three tiles over two had the rep and a guest both "on the left"): "at the top left" and "at the bottom
    left", "at the top, in the middle"; where those words fit someone else already, or more than three, their order: "on
    the left, 2nd of 3 from the top"."""
    said = {p.number: place(np.asarray(p.mean_box), [np.asarray(o.mean_box) for o in everyone if o.number != p.number])
            for p in everyone}
    out = dict(said)
    for words in set(said.values()) & set(_ALONG):
        axis, (low, high) = _ALONG[words]
        sharing = sorted((p for p in everyone if said[p.number] == words), key=lambda p: p.center[axis])
        if len(sharing) < 2:
            continue
        ends = (low, high) if len(sharing) == 2 else (low, None, high)
        refined = {p.number: _along(words, end) for p, end in zip(sharing, ends)} if len(sharing) <= 3 else {}
        taken = [w for n, w in said.items() if n not in refined] + list(refined.values())
        unique = bool(refined) and all(taken.count(w) == 1 for w in refined.values())
        for rank, p in enumerate(sharing):
            out[p.number] = refined[p.number] if unique else f"{words}, {ordinal(rank + 1)} of {len(sharing)} from the {low}"
    return out


def _along(words: str, end: str | None) -> str:
    """Side `words` made precise by the `end` of the other axis a person sat at among those the words fit (`_ALONG`;
    None: between them)."""
    if end is None:
        return f"{words}, in the middle"
    if words == "in the middle":
        return f"in the middle, {'at the' if _ALONG[words][0] else 'on the'} {end}"
    side = words.split()[-1]  # left, right, top, bottom
    return f"at the {end} {side}" if _ALONG[words][0] else f"at the {side} {end}"


_ALONG = {"on the left": (1, ("top", "bottom")), "on the right": (1, ("top", "bottom")),
          "at the top": (0, ("left", "right")), "at the bottom": (0, ("left", "right")),
          "in the middle": (1, ("top", "bottom"))}
"""Side words (`pipeline.roles.place`) -> the other axis (0: x, 1: y) and its two ends, for `places`."""


def seating_order(people: list[Person]) -> list[Person]:
    """`people` in the order they sit on screen: rows from top to bottom (faces whose centres are within
    `SAME_ROW` of the frame's height share a row), each row left to right."""
    rows: list[list[Person]] = []
    for person in sorted(people, key=lambda p: p.center[1]):
        if rows and person.center[1] - rows[-1][0].center[1] <= SAME_ROW:
            rows[-1].append(person)
        else:
            rows.append([person])
    return [p for row in rows for p in sorted(row, key=lambda p: p.center[0])]


def _people(session: Session, call_id: int) -> list[Person]:
    tracks = session.scalars(select(Track).where(Track.call_id == call_id).order_by(Track.track_no)).all()
    # Read in Python: an unclassified second's probs is JSON null, which SQL does not see as NULL.
    read, seconds = set(), {}
    for track_id, second, probs in session.execute(select(TrackSecond.track_id, TrackSecond.second, TrackSecond.probs)
                                                   .join(Track).where(Track.call_id == call_id)):
        seconds.setdefault(track_id, set()).add(second)
        if probs is not None:
            read.add(track_id)
    groups: dict[tuple, list[Track]] = {}
    for track in tracks:
        key = ("person", track.person_no) if track.person_no is not None else ("track", track.track_no)
        groups.setdefault(key, []).append(track)
    ordered = sorted(groups.values(), key=lambda ts: (min(t.first_s for t in ts), min(t.track_no for t in ts)))
    people = []
    for number, group in enumerate(ordered, start=1):
        others = [t.mean_box for other in ordered if other is not group for t in other]
        at_seat = naming_seat_frames(np.array([t.mean_box for t in group], np.float64),
                                     np.array([t.n_frames for t in group]), np.array(others, np.float64).reshape(-1, 4))
        main = max(zip(at_seat, group), key=lambda s: (s[0], s[1].n_frames, s[1].thumbnail_path is not None))[1]
        pictured = max(((n, t) for n, t in zip(at_seat, group) if t.thumbnail_path),
                       key=lambda s: (s[0], s[1].n_frames), default=(0, None))[1]
        people.append(Person(number, tuple(t.track_no for t in group), main.role,
                             "manual" if any(t.role_source == "manual" for t in group) else "auto",
                             min(t.first_s for t in group), max(t.last_s for t in group), sum(t.n_frames for t in group),
                             tuple(main.mean_box), pictured.thumbnail_path if pictured else None,
                             any(t.id in read for t in group), frozenset().union(*(seconds.get(t.id, ()) for t in group))))
    return people


def list_people(call_id: int, user: Principal | None = None) -> list[Person]:
    """The call's people, in order of first appearance (`NotFound` if missing or `user` may not see it)."""
    with session_scope() as session:
        _check(session, call_id, user, change=False)
        return _people(session, call_id)


def _check(session: Session, call_id: int, user: Principal | None, change: bool = True) -> Call:
    """The call, if `user` (None: the command line's operator) may see it (else `NotFound`) and change it."""
    call = get_call(session, call_id)
    if user is not None:
        if not can_see_call(session, user, call_id):
            raise NotFound(f"call {call_id} not found")
        if change and not can_change(user):
            raise NotAllowed(f"call {call_id}: reps can read calls but not change them; ask a manager")
    return call


def check_may_change(call_id: int, user: Principal | None) -> None:
    """`NotFound` or `NotAllowed` unless `user` may change the call (None: the command line's operator)."""
    with session_scope() as session:
        _check(session, call_id, user)


def people_roles(people: list[Person], rep: int | None, prospect: int | None = None) -> dict[int, str]:
    """Role of every person (by number) once `rep` is the rep (None: nobody here is) and `prospect` the prospect.

    Without `prospect`: the only other person; else the current prospect if they are not the new rep, else the
    old rep (a swap), else the most seen other. Everyone else is participant-1, -2, ... in order of appearance.
    """
    numbers = [p.number for p in people]
    for n in (rep, prospect):
        if n is not None and n not in numbers:
            raise ValueError(f"there is no person {n} on this call; people: {', '.join(map(str, numbers))}")
    if rep is not None and rep == prospect:
        raise ValueError("the rep and the prospect must be two different people")
    others = [p for p in people if p.number != rep]
    if prospect is None and others:
        current = next((p for p in others if p.role == PROSPECT), None)
        old_rep = next((p for p in others if p.role == REP), None)
        prospect = (others[0] if len(others) == 1 else current or old_rep or max(others, key=lambda p: p.n_frames)).number
    roles, n = {}, 0
    for person in people:
        if person.number == rep:
            roles[person.number] = REP
        elif person.number == prospect:
            roles[person.number] = PROSPECT
        else:
            n += 1
            roles[person.number] = f"participant-{n}"
    return roles


def pick_people(call_id: int, rep: int | None, prospect: int | None = None, *, user: Principal | None = None,
                username: str | None = None, settings: Settings | None = None) -> RoleChange:
    """Make person `rep` the rep (and `prospect` the prospect; see `people_roles`), audited as `username`."""
    def new_roles(roles: dict[int, str], people: list[Person]) -> dict[int, str]:
        by_person = people_roles(people, rep, prospect)
        return {track_no: by_person[p.number] for p in people for track_no in p.track_nos}

    return _change(call_id, new_roles, user, username, settings)


def reassign_roles(call_id: int, *, swap: bool = False, assignments: dict[int, str] | None = None,
                   user: Principal | None = None, username: str | None = None,
                   settings: Settings | None = None) -> RoleChange:
    """Swap rep and prospect, or set roles per track number (a track's role goes to its whole person)."""
    def new_roles(roles: dict[int, str], _people: list[Person]) -> dict[int, str]:
        if swap:
            if not {REP, PROSPECT} <= set(roles.values()):  # trial 15: a swap with no rep left no prospect
                raise ValueError(f"call {call_id} has no {'rep' if REP not in roles.values() else 'prospect'} to swap; "
                                 f"pick the rep in Fix roles (`reassign {call_id} --rep PERSON`)")
            roles = {k: {REP: PROSPECT, PROSPECT: REP}.get(v, v) for k, v in roles.items()}
        for track_no, role in (assignments or {}).items():
            if track_no not in roles:
                raise ValueError(f"call {call_id} has no track {track_no}; tracks: {sorted(roles)}")
            if role not in (REP, PROSPECT) and not role.startswith("participant-"):
                raise ValueError(f"role must be rep, prospect or participant-N, not {role!r}")
            roles[track_no] = role
        return roles

    return _change(call_id, new_roles, user, username, settings)


def _analysed(session: Session, call_id: int, user: Principal | None,
              done: str) -> tuple[Call, list[TrackSecondRows], dict[int, str], dict[int, Track], list[Person]]:
    """The call `user` may change (`_check`) once analysed (else `ValueError`: "roles can be `done` once ..."), its
    stored track seconds, roles by track, tracks by number and people."""
    call = _check(session, call_id, user)
    if call.status != CallStatus.DONE:
        raise ValueError(f"call {call_id} is {call.status}; roles can be {done} once its analysis is done")
    rows, roles, tracks = load_track_seconds(session, call_id)
    return call, rows, roles, tracks, _people(session, call_id)


def confirm_roles(call_id: int, *, user: Principal | None = None, username: str | None = None) -> RoleChange | None:
    """A manager checked the analysis' guessed roles and kept them: the roles note goes and the call's prospect figures
    count on the Calls list and the Reps page again (`Call.roles_guessed`), as after a fix; audited as `username`.

    Returns the roles and, with rep analysis off, the tracks whose faces no analysis read (a guessed rep kept every face
    unread, `pipeline.roles.never_classified`) for `jobs.queue.queue_reread`; None when the roles were no guess (nothing
    to confirm). `ValueError` when no one is the rep among several people: "these roles are right" cannot mean that."""
    with session_scope() as session:
        call, rows, roles, _, people = _analysed(session, call_id, user, "confirmed")
        if REP not in roles.values() and len(people) > 1:
            raise ValueError(f"no one on call {call_id} is the rep: pick the rep in Fix roles (`reassign {call_id} --rep "
                             "PERSON`) rather than keeping these roles")
        if not call.roles_guessed:
            return None
        person_of = {track_no: p.number for p in people for track_no in p.track_nos}
        unread: tuple[int, ...] = ()
        if not call.settings.get("rep_analysis", True) and call.source_path:
            unread = tuple(sorted(_unread(rows, roles, person_of)))
        call.roles_note, call.roles_guessed = None, False
        if call.analysed_roles:  # these roles are a decision now: coming back to them later brings no guess back
            call.analysed_roles = {**call.analysed_roles, "note": None, "guessed": False}
        audit(session, username, "roles_confirm", f"call {call_id}",
              **({"reread_tracks": ",".join(map(str, unread))} if unread else {}))
    return RoleChange(dict(roles), unread)


def _change(call_id: int, new_roles, user: Principal | None, username: str | None,
            settings: Settings | None) -> RoleChange:
    settings = settings or get_settings()
    with session_scope() as session:
        call, rows, roles, tracks, people = _analysed(session, call_id, user, "changed")
        person_of = {track_no: p.number for p in people for track_no in p.track_nos}
        asked = new_roles(dict(roles), people)
        for track_no, role in asked.items():  # one role per person: a track's new role goes to all its person's tracks
            if role != roles[track_no]:
                for other in tracks:
                    if person_of[other] == person_of[track_no]:
                        asked[other] = role
        _check_one_prospect(call_id, people, roles, asked)
        roles = asked
        unread: tuple[int, ...] = ()
        if not call.settings.get("rep_analysis", True):
            rows = _forget_rep_emotions(session, rows, roles, tracks)
            # With the recording gone (retention) no face can be read again: those seconds stay "face not read".
            unread = tuple(sorted(_unread(rows, roles, person_of))) if call.source_path else ()
        analysed = {int(k): v for k, v in (call.analysed_roles or {}).get("roles", {}).items()}
        for track_no, track in tracks.items():
            if track.role != roles[track_no]:
                track.role = roles[track_no]
                track.role_source = "auto" if _side(analysed.get(track_no)) == _side(track.role) else "manual"
        # the analysis' doubt ("pick the rep", "a guess"): a person decided, unless the change came back to the
        # analysis' own rep and prospect ("Also the prospect", then "Not the prospect"; guests may be numbered anew on
        # the way, new-user trial 20): then its note and guess stand again
        if call.analysed_roles and all(_side(analysed.get(no)) == _side(role) for no, role in roles.items()):
            call.roles_note, call.roles_guessed = call.analysed_roles["note"], call.analysed_roles["guessed"]
        else:
            call.roles_note, call.roles_guessed = None, False
        token = _rederive(session, call, rows, roles, settings, uuid.uuid4().hex[:8])
        audit(session, username, "role_change", f"call {call_id}", roles={str(k): v for k, v in roles.items()},
              **({"reread_tracks": ",".join(map(str, unread))} if unread else {}))
    _drop_replaced_stills(call_id, token, settings)
    return RoleChange(roles, unread)


def _check_one_prospect(call_id: int, people: list[Person], before: dict[int, str], after: dict[int, str]) -> None:
    """`ValueError` when `after` makes someone the prospect beside another prospect who is not the same person
    (`Person.may_be_one_with`): two people do not share one prospect timeline."""
    prospects = [p for p in people if after[p.track_nos[0]] == PROSPECT]
    for new in (p for p in prospects if before[p.track_nos[0]] != PROSPECT):
        other = next((p for p in prospects if p is not new and not new.may_be_one_with(p)), None)
        if other is not None:
            rep = next((str(p.number) for p in people if after[p.track_nos[0]] == REP), "REP")
            raise ValueError(f"person {new.number} and person {other.number} were on screen together for "
                             f"{new.seen_together_s(other)} s: two people, and the prospect's timeline follows one face. "
                             f"To make person {new.number} the prospect instead (person {other.number} a guest): "
                             f"`reassign {call_id} --rep {rep} --prospect {new.number}`")


def _side(role: str | None) -> str | None:
    """The rep, the prospect, or "guest" for any participant-N: which side of the call a role is on (None: no role)."""
    return role if role in (REP, PROSPECT, None) else "guest"


def _forget_rep_emotions(session: Session, rows: list[TrackSecondRows], roles: dict[int, str],
                         tracks: dict[int, Track]) -> list[TrackSecondRows]:
    """Delete every stored emotion value of the rep's tracks (rep analysis off); the rows without them."""
    rep_ids = [tracks[k].id for k, role in roles.items() if role == REP]
    if rep_ids:
        session.execute(update(TrackSecond).where(TrackSecond.track_id.in_(rep_ids)).values(probs=None))
    return [replace(r, probs=np.full_like(r.probs, np.nan))
            if roles[r.track_id] == REP else r for r in rows]


def _unread(rows: list[TrackSecondRows], roles: dict[int, str], person_of: dict[int, int]) -> list[int]:
    """Tracks of the people not called the rep none of whose faces were ever read (the analysis skipped them)."""
    read = {person_of[r.track_id] for r in rows if np.isfinite(r.probs).any()}
    return [r.track_id for r in rows if roles[r.track_id] != REP and person_of[r.track_id] not in read and len(r.seconds)]


def _rederive(session: Session, call: Call, rows: list[TrackSecondRows], roles: dict[int, str],
              settings: Settings, token: str) -> str | None:
    """Replace the call's per-role rows, shifts and stills with ones derived from `rows` and `roles`, in
    `session`; new stills go into the folder of `token`. Returns `token` (None: no stills, the recording is gone)."""
    n_seconds = seconds_in(call.duration_s or 0.0)
    video = np.ones(n_seconds, bool)  # a property of the recording, not of roles: kept from the stored rows
    for second, present in session.execute(select(EmotionSecond.second, EmotionSecond.video_present)
                                           .where(EmotionSecond.call_id == call.id)):
        if second < n_seconds:
            video[second] &= present
    talk = who_speaks(load_speech(session, call.id, n_seconds), rows, roles)  # speaking follows the person
    timelines, shifts = derive(rows, roles, n_seconds, call.settings.get("min_shift_seconds", 3.0), video, talk)
    source = settings.data_dir / call.source_path if call.source_path else None
    snapshots = []
    if source is not None and source.exists():
        snapshots = render_snapshots(source, timelines, rows, roles, shifts, talk, settings.data_dir,
                                     snapshot_folder(call.id, token))
    for model in (Snapshot, Shift, EmotionSecond):
        session.execute(delete(model).where(model.call_id == call.id))
    write_derived(session, call.id, timelines, shifts, snapshots, talk)
    return token if snapshots else None


def _drop_replaced_stills(call_id: int, token: str | None, settings: Settings) -> None:
    """After the commit: old stills go, and the folders they leave empty; track thumbnails stay (they do not depend on
    roles). A dashboard trial found an empty folder left by each role change."""
    if token:
        stills = (settings.data_dir / snapshot_folder(call_id, token)).parent
        for old in stills.glob("*/*.jpg"):
            if old.parent.name != token and not old.name.startswith("track-"):
                old.unlink()
        for folder in stills.iterdir():
            if folder.is_dir() and folder.name != token and not any(folder.iterdir()):
                folder.rmdir()


def reread_tracks(call_id: int, track_nos: list[int], classifier, progress: Progress | None = None,
                  settings: Settings | None = None) -> None:
    """Read the faces of `track_nos` (never the rep's) and re-derive the call's rows: the worker's side of a role
    fix with rep analysis off (`pipeline.reread`). One attempt (`pipeline.liveness`), like `analyze_call`: the call
    runs, heartbeats, and gets its new values in one fenced transaction; on an error it fails with the message
    and keeps its rows. Raises `AttemptLost` when the call was deleted or taken meanwhile."""
    settings = settings or get_settings()
    attempt = start_attempt(call_id, settings)
    token = uuid.uuid4().hex[:8]
    try:
        with session_scope() as session:
            call = get_call(session, call_id)
            source = settings.data_dir / (call.source_path or "")
            display_name = call.original_filename or f"call {call_id}"
            analysis = AnalysisSettings(**call.settings)
            rows, roles, _ = load_track_seconds(session, call_id)
        wanted = [r for r in rows if r.track_id in set(track_nos) and roles[r.track_id] != REP]  # never the rep's
        if not call.source_path:
            raise InputError(f"{display_name}: the recording was removed (retention), so no face can be read again")
        with Heartbeat(attempt, settings) as heartbeat:
            def checked(stage: str, fraction: float) -> None:
                heartbeat.check()
                if progress:
                    progress(stage, fraction)

            checked("re-reading faces", 0.0)
            read: dict[int, TrackSecondRows] = {}
            if wanted:
                info = probe_upload(source, display_name, settings)
                read = {r.track_id: r for r in reread_faces(info, classifier, shared_detector(analysis.detector),
                                                             analysis, wanted, checked)}
            checked("saving snapshots", 0.95)
            with session_scope() as session:
                if not session.execute(update(Call).where(*attempt.fence()).values(
                        status=CallStatus.DONE, analyzed_at=utcnow(), heartbeat_at=None, error=None)).rowcount:
                    raise AttemptLost(f"call {call_id} was deleted or taken by another analysis")
                call = session.get(Call, call_id)
                _store_probs(session, call_id, read)
                rows = [read.get(r.track_id, r) for r in rows]
                drawn = _rederive(session, call, rows, roles, settings, token)
    except BaseException as error:
        shutil.rmtree(settings.data_dir / snapshot_folder(call_id, token), ignore_errors=True)
        end_failed_attempt(attempt, error, settings, review_copy=False)
        raise
    _drop_replaced_stills(call_id, drawn, settings)


def _store_probs(session: Session, call_id: int, read: dict[int, TrackSecondRows]) -> None:
    tracks = {t.track_no: t.id for t in session.scalars(select(Track).where(Track.call_id == call_id,
                                                                            Track.track_no.in_(list(read))))}
    for track_no, rows in read.items():
        by_second = {int(s): p for s, p in zip(rows.seconds, rows.probs)}
        for row in session.scalars(select(TrackSecond).where(TrackSecond.track_id == tracks[track_no])):
            p = by_second.get(row.second)
            row.probs = None if p is None or np.isnan(p[0]) else [round(float(v), 5) for v in p]


REANALYSIS_OPTIONS = ("rep_position", "detector", "fps")
"""The analysis settings a manager may change for a new analysis of a call (the upload's options)."""


def prepare_reanalysis(call_id: int, *, user: Principal | None = None, username: str | None = None,
                       **changes) -> dict:
    """Store the settings a new analysis of the call will use: its own with `changes` (`REANALYSIS_OPTIONS`);
    audited. The rows already stored stay until that analysis commits (`pipeline.store.analyze_call`). Roles set by
    hand are kept by the new analysis (`reanalyze_call`): where their faces sat is stored on the call now
    (`HandRoles`), or, when an analysis asked for earlier never kept its pending ones, those stay. A new rep position
    asks the analysis to decide anew: nothing is pending, and the roles stored stay as they are until it commits.

    Rep analysis stays off if it was off at upload, and goes off if the workspace has turned it off since.
    `NotFound`, `NotAllowed`; `ValueError` while the call is queued or running; `InputError` when retention
    removed the recording.
    """
    unknown = set(changes) - set(REANALYSIS_OPTIONS)
    if unknown:
        raise ValueError(f"these settings cannot be changed for a new analysis: {', '.join(sorted(unknown))}")
    with session_scope() as session:
        call = _check(session, call_id, user)
        if call.status in (CallStatus.QUEUED, CallStatus.RUNNING):
            raise ValueError(f"call {call_id} is already queued or being analysed")
        if not call.source_path:
            raise InputError(f"{call.original_filename or f'call {call_id}'}: the recording was removed (retention), "
                             "so the call cannot be analysed again")
        current = AnalysisSettings(**call.settings)
        chosen = replace(current, **{k: v for k, v in changes.items() if v is not None},
                         rep_analysis=current.rep_analysis and rep_analysis_enabled(session))
        call.settings = asdict(chosen)
        if chosen.rep_position != current.rep_position:
            call.hand_roles = None
        elif (hand := HandRoles.set_by_hand(session, call_id)) is not None:  # the rows' own, the latest choice
            call.hand_roles = hand.to_json()
        audit(session, username, "reanalyse", f"call {call_id}",
              **{k: f"{getattr(current, k)} → {getattr(chosen, k)}" for k in REANALYSIS_OPTIONS
                 if getattr(current, k) != getattr(chosen, k)})
        return call.settings


HAND_ROLE_MATCH = 0.5
"""Share of a hand-set role's seconds in which a person of a new analysis must show a face where that role's did (boxes
overlapping by `pipeline.roles.SEAT_IOU` in the same second) to take the role again (`HandRoles.match`)."""


@dataclass(frozen=True)
class HandRoles:
    """Where the rep's and the prospect's faces were, second by second, on a call whose roles a manager set by hand
    (some track's `role_source` is manual): what a new analysis of it keeps (`reanalyze_call`). New-user trial 36: a
    `reanalyze` gave the prospect's role back to the colleague a manager had moved it from, silently.

    Stored on the call as JSON (`calls.hand_roles`, `to_json`) from the request of the new analysis until it has kept
    them: ~40 bytes a role and second."""

    boxes: dict[str, dict[int, np.ndarray]]
    """REP / PROSPECT -> second -> (4,) xyxy box of that role's face, fractions of the frame (the largest if several)."""

    @classmethod
    def set_by_hand(cls, session: Session, call_id: int) -> HandRoles | None:
        """The roles of the call's stored rows when a manager set them (some track's `role_source` is manual); None
        when they are the analysis' own (the rows are then not read)."""
        if session.scalar(select(Track.id).where(Track.call_id == call_id, Track.role_source == "manual")
                          .limit(1)) is None:
            return None
        rows, roles, _ = load_track_seconds(session, call_id)
        return cls(_role_boxes(rows, roles))

    @classmethod
    def pending(cls, session: Session, call_id: int) -> HandRoles | None:
        """The hand-set roles the call's next analysis is to keep (`prepare_reanalysis`); None: none."""
        stored = session.get(Call, call_id).hand_roles
        return None if stored is None else cls.from_json(stored)

    def to_json(self) -> dict:
        """{role: {second (a string, as JSON keys are): [x1, y1, x2, y2]}}, boxes as the store rounds them."""
        return {role: {str(second): np.round(box, BOX_DECIMALS).tolist() for second, box in seconds.items()}
                for role, seconds in self.boxes.items()}

    @classmethod
    def from_json(cls, stored: dict) -> HandRoles:
        """What `to_json` wrote."""
        return cls({role: {int(second): np.asarray(box, np.float64) for second, box in seconds.items()}
                    for role, seconds in stored.items()})

    def match(self, rows: list[TrackSecondRows], person_of: dict[int, int]) -> dict[str, int]:
        """Role -> the person (number) of a new analysis (`rows`, `person_of` track -> person) whose faces sat where
        the role's did in at least `HAND_ROLE_MATCH` of its seconds, the most such seconds; roles none matched are left
        out, and so is a person matched by both."""
        matched = {}
        for role, old in self.boxes.items():
            seconds_by_person: dict[int, set[int]] = {}
            for row in rows:  # (one small IoU a second: ~0.4 s for an hour-long call of 6 tracks)
                for second, box in zip(row.seconds.tolist(), row.boxes):
                    if second in old and iou_matrix(box[None], old[second][None])[0, 0] >= SEAT_IOU:
                        seconds_by_person.setdefault(person_of[row.track_id], set()).add(second)
            best = max(seconds_by_person, key=lambda p: len(seconds_by_person[p]), default=None)
            if best is not None and len(seconds_by_person[best]) >= HAND_ROLE_MATCH * len(old):
                matched[role] = best
        if len(set(matched.values())) < len(matched):
            return {}
        return matched


def _role_boxes(rows: list[TrackSecondRows], roles: dict[int, str]) -> dict[str, dict[int, np.ndarray]]:
    boxes: dict[str, dict[int, np.ndarray]] = {}
    for row in rows:
        role = roles[row.track_id]
        for second, box in zip(row.seconds.tolist(), row.boxes) if role in (REP, PROSPECT) else ():
            known = boxes.setdefault(role, {}).get(second)
            if known is None or box_area(box) > box_area(known):
                boxes[role][second] = np.asarray(box, np.float64)
    return boxes


@dataclass(frozen=True)
class KeptRoles:
    """What `reanalyze_call` did with roles set by hand before the new analysis."""

    people: dict[str, int]
    """REP / PROSPECT -> the person (number) of the new analysis that took the role again (`HandRoles.match`)."""
    lost: tuple[str, ...]
    """The hand-set roles no person of the new analysis matched: the analysis' own stand, noted and flagged
    (`LOST_ROLES_NOTE`)."""
    change: RoleChange | None = None


LOST_ROLES_NOTE = ("The {roles} set by hand before this analysis could not be found where they sat before, so the "
                   "analysis' own choice stands: check the roles.")
"""Put before the roles note of a re-analysed call whose hand-set roles were not all found (`reanalyze_call`); the
call is flagged for checking, so the Calls list says so whoever started the analysis (the dashboard's runs in a
worker)."""


def reanalyze_call(call_id: int, classifier, progress: Progress | None = None,
                   username: str | None = None) -> tuple[CallAnalysis, KeptRoles | None]:
    """Analyse a stored call (`pipeline.store.analyze_call`) and keep roles a manager set by hand (`HandRoles`),
    audited as `username`. With rep analysis off the analysis then classifies no face (the hand-set rep may be
    someone the analysis would have read), and the faces of everyone the kept roles do not call the rep are read after
    (a second decode); when a role is not found the call is flagged (`LOST_ROLES_NOTE`) and its faces wait for the
    manager's check, as a guessed rep's do. The second value is None when no hand-set roles were pending
    (`HandRoles.pending`); they stay pending until the end, so a retry after a failure anywhere here keeps them."""
    with session_scope() as session:
        hand = HandRoles.pending(session, call_id)
    result = analyze_call(call_id, classifier, progress=progress, classify_none=hand is not None)
    if hand is None:
        return result, None
    with session_scope() as session:
        rows, roles, _ = load_track_seconds(session, call_id)
        people = _people(session, call_id)
    person_of = {track_no: p.number for p in people for track_no in p.track_nos}
    matched = hand.match(rows, person_of)
    role_of = {p.number: roles[p.track_nos[0]] for p in people}  # the analysis' roles (one per person)
    analysed = {role: number for number, role in reversed(role_of.items())}  # role -> its first person
    rep, prospect = matched.get(REP), matched.get(PROSPECT)
    if rep is None and prospect is not None:  # the rep not found: the analysis' own, or its prospect if that is taken
        rep = analysed.get(REP) if analysed.get(REP) != prospect else analysed.get(PROSPECT)
    lost = tuple(role for role in hand.boxes if role not in matched)
    change = None
    if any(role_of[number] != role for role, number in matched.items()):
        change = pick_people(call_id, rep, prospect, username=username)
    elif REP in matched and not lost:  # the analysis chose as the manager did: their choice, no guess
        confirm_roles(call_id, username=username)
    with session_scope() as session:
        call = session.get(Call, call_id)
        if lost:
            call.roles_note = " ".join(n for n in (LOST_ROLES_NOTE.format(roles=" and the ".join(lost)),
                                                   call.roles_note) if n)
            call.roles_guessed = True
            unread = []
        elif call.settings.get("rep_analysis", True) or not call.source_path:
            unread = []
        else:
            rows, roles, _ = load_track_seconds(session, call_id)
            unread = _unread(rows, roles, person_of)
    if unread:
        reread_tracks(call_id, unread, classifier, progress=progress)
    with session_scope() as session:
        session.get(Call, call_id).hand_roles = None
    return result, KeptRoles(matched, lost, change)
