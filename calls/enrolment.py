"""Enrolling a rep for recognition across calls, with their consent, and withdrawing it.

A manager (or admin) who may change a call picks one of its people as the call's rep and records the rep's own
consent statement (`enrol_rep`); the rep's face signature (128 numbers, `pipeline.enrolment.embed_person`; never a
picture) is stored in `rep_enrolments` with who confirmed it and when. Only while the workspace's
`rep_recognition` is on (an admin's choice in Settings, off by default) can a rep be enrolled, and only then are
signatures used. A signature is deleted when consent is withdrawn (`withdraw_enrolment`), with the rep
(`calls.lifecycle.delete_rep`), and by the retention purge (`access.retention`). Every enrolment and withdrawal
is audited (`rep_enrol`, `rep_withdraw`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, select

from access.audit import audit
from access.policy import Principal, uploadable_reps
from calls.roles import check_may_change, list_people
from config import get_settings
from db.models import Rep, RepEnrolment, Track, TrackSecond
from db.session import session_scope
from pipeline.enrolment import ENROL_FRAMES, embed_person, recognition_enabled
from pipeline.errors import InputError, NotFound
from pipeline.store import get_call

MIN_CONSENT_CHARS = 10
"""A consent statement shorter than this is not the rep's own words ("yes" is not a record of what they agreed to)."""

RECOGNITION_OFF = ("Rep recognition is off for this workspace, so no rep can be enrolled and no face signature is "
                   "used; an admin turns it on in Settings (Rep recognition).")


class RecognitionOff(InputError):
    """The workspace does not recognise reps: enrolment is refused."""


@dataclass(frozen=True)
class Enrolment:
    """One stored signature, as Settings lists it (never the numbers themselves)."""

    id: int
    rep_id: int
    rep_name: str
    source_call_id: int | None
    person_no: int
    consent_statement: str
    confirmed_by: str
    confirmed_at: dt.datetime


def _moments(rows: list[tuple[int, list]]) -> list[tuple[float, np.ndarray]]:
    """`ENROL_FRAMES` (second, box) rows spread over the person's time on screen, the largest face of each part."""
    rows = sorted(rows)
    parts = np.array_split(np.arange(len(rows)), min(ENROL_FRAMES, len(rows)))
    picked = [max((rows[i] for i in part), key=lambda r: r[1][3] - r[1][1]) for part in parts if len(part)]
    return [(second + 0.5, np.asarray(box, np.float64)) for second, box in picked]


def enrol_rep(call_id: int, person_no: int, consent: str, *, user: Principal | None, username: str) -> int:
    """Store the face signature of person `person_no` of call `call_id` as the call's rep's; returns its id.

    `user` None is the command line's operator. Raises `NotFound` (no such call, or one `user` may not see),
    `calls.roles.NotAllowed` (a rep), `RecognitionOff`, and `InputError` (no consent statement, no rep on the
    call, no such person, a recording retention deleted, no face large enough to take a signature from).
    """
    consent = (consent or "").strip()
    check_may_change(call_id, user)
    people = {p.number: p for p in list_people(call_id, user)}
    with session_scope() as session:
        call = get_call(session, call_id)
        if not recognition_enabled(session):
            raise RecognitionOff(RECOGNITION_OFF)
        if len(consent) < MIN_CONSENT_CHARS:
            raise InputError("record the rep's own consent statement (what they agreed to, in their words; "
                             f"at least {MIN_CONSENT_CHARS} characters) to enrol them")
        if call.rep_id is None:
            raise InputError(f"call {call_id} has no rep to enrol; set the call's rep first")
        rep_id, name = call.rep_id, call.original_filename or f"call {call_id}"
        if not call.source_path:
            raise InputError(f"the recording of call {call_id} ({name}) was deleted by retention; "
                             "enrol from a call whose recording is kept")
        if person_no not in people:
            raise InputError(f"there is no person {person_no} on call {call_id}; people: "
                             f"{', '.join(map(str, people)) or 'none'}")
        rows = session.execute(select(TrackSecond.second, TrackSecond.box).join(Track).where(
            Track.call_id == call_id, Track.track_no.in_(people[person_no].track_nos))).all()
        source = get_settings().data_dir / call.source_path
        detector = call.settings.get("detector", "blazeface")
    embeddings = embed_person(source, _moments([tuple(r) for r in rows]), detector)  # seconds: outside the session
    if not len(embeddings):
        raise InputError(f"person {person_no}'s face on call {call_id} ({name}) is too small or unclear for a face "
                         "signature; enrol from a call where they are larger")
    with session_scope() as session:
        if not recognition_enabled(session):  # turned off while the frames were read
            raise RecognitionOff(RECOGNITION_OFF)
        enrolment = RepEnrolment(rep_id=rep_id, embedding=[float(v) for v in embeddings.mean(axis=0)],
                                 source_call_id=call_id, person_no=person_no, consent_statement=consent,
                                 confirmed_by=username)
        session.add(enrolment)
        session.flush()
        audit(session, username, "rep_enrol", f"rep {rep_id}", call=call_id, person=person_no,
              frames=len(embeddings), consent=consent)
        return enrolment.id


def withdraw_enrolment(rep_id: int, *, user: Principal | None, username: str,
                       reason: str = "consent withdrawn") -> int:
    """Delete every stored signature of rep `rep_id`; returns how many. Allowed to the command line's operator
    (`user` None), an admin, the rep's team manager, and the rep themselves. `NotFound` otherwise or if no such rep."""
    with session_scope() as session:
        own = user is not None and user.role == "rep" and user.rep_id == rep_id
        reps = uploadable_reps(user) if user is not None and not own else select(Rep)
        if session.scalar(reps.where(Rep.id == rep_id)) is None:
            raise NotFound(f"rep {rep_id} not found")
        deleted = session.execute(delete(RepEnrolment).where(RepEnrolment.rep_id == rep_id)).rowcount
        audit(session, username, "rep_withdraw", f"rep {rep_id}", signatures=deleted, reason=reason)
        return deleted


def list_enrolments() -> list[Enrolment]:
    """Every stored signature (admins' Settings page), newest first."""
    with session_scope() as session:
        rows = session.execute(select(RepEnrolment, Rep.name).join(Rep, Rep.id == RepEnrolment.rep_id)
                               .order_by(RepEnrolment.confirmed_at.desc())).all()
        return [Enrolment(e.id, e.rep_id, name, e.source_call_id, e.person_no, e.consent_statement, e.confirmed_by,
                          e.confirmed_at) for e, name in rows]
