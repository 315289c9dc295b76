"""Every store read the pages make, each for a viewer. Heavy reads are cached per call and keyed on a version stamp.

Access: every read takes the signed-in viewer and sees only what
`access.policy.visible_calls` allows; a call the viewer may not see reads
exactly like a missing one (None). The cached per-call reads take a version stamp
that only `call_version(viewer, call_id)` hands out, so a page reaches them only
through that check. The settings reads are for admins only.

The stamp is cheap (one call row plus its track roles) and changes whenever the
derived rows do: a re-analysis sets a new `analyzed_at`, a role fix changes the
track roles. Small, often-edited things (stages, notes, stills) are read fresh on
every run; they cost a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from access.policy import Principal, can_administer, can_see_call, uploadable_reps, visible_calls
from access.workspace import get_workspace, rep_analysis_enabled
from calls.intake import earlier_copies, find_rep
from calls.roles import Person, list_people, places
from config import EMOTIONS, get_settings, review_copy_paths
from db.models import AuditEvent, Call, CallStatus, EmotionSecond, Rep, Shift, Track, User
from db.session import session_scope
from jobs.queue import latest_job
from pipeline.errors import NotFound
from pipeline.roles import PROSPECT, REP
from pipeline.speech import BOTH, OFF_CAMERA, OTHER
from reports.charts import timeline_figure
from reports.facts import CallFacts, CallTimeline, MarkedStage, load_facts, load_timeline
from reports.summary import READABLE, CallSummary, mood_of, shares_from_counts, summarize_timeline
from reports.talk import TalkMetrics, talk_metrics, talk_ratio

VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/mp4", ".webm": "video/webm", ".mkv": "video/webm"}


def _visible_ids(session: Session, viewer: Principal) -> Select:
    """The ids of the calls `viewer` may see, for `Call.id.in_(...)` filters."""
    return visible_calls(session, viewer).with_only_columns(Call.id)


# ----------------------------------------------------------------------------- version stamps
def call_version(viewer: Principal, call_id: int) -> str | None:
    """What the cached per-call data depends on; None if the call is gone or `viewer` may not see it."""
    with session_scope() as session:
        row = session.execute(visible_calls(session, viewer).where(Call.id == call_id)
                              .with_only_columns(Call.status, Call.analyzed_at)).first()
        if row is None:
            return None
        roles = session.execute(select(Track.track_no, Track.role).where(Track.call_id == call_id).order_by(Track.track_no)).all()
    return f"{row.status}|{row.analyzed_at}|{roles}"


def store_version() -> str:
    """Stamp of every call at once, for the cross-call tables (calls list, reps); reps' teams decide who sees them."""
    with session_scope() as session:
        calls = session.execute(select(Call.id, Call.status, Call.analyzed_at, Call.rep_id, Call.title,
                                     Call.roles_guessed).order_by(Call.id)).all()
        roles = session.execute(select(Track.call_id, Track.track_no, Track.role).order_by(Track.id)).all()
        teams = session.execute(select(Rep.id, Rep.team).order_by(Rep.id)).all()
    return hashlib.sha1(repr((calls, roles, teams)).encode()).hexdigest()


# ----------------------------------------------------------------------------- one call
def call_facts(viewer: Principal, call_id: int) -> CallFacts | None:
    """The call's facts, or None when it is missing or `viewer` may not see it (the two look the same)."""
    with session_scope() as session:
        if not can_see_call(session, viewer, call_id):
            return None
    try:
        return load_facts(call_id)
    except NotFound:  # deleted in between
        return None


@st.cache_data(max_entries=8, show_spinner=False)
def timeline(call_id: int, version: str) -> CallTimeline:
    return load_timeline(call_id)


@st.cache_data(max_entries=32, show_spinner=False)
def summary(call_id: int, version: str, stages: tuple[MarkedStage, ...]) -> CallSummary:
    return summarize_timeline(timeline(call_id, version), stages)


@st.cache_data(max_entries=32, show_spinner=False)
def talk(call_id: int, version: str) -> TalkMetrics | None:
    """The call's talk metrics (`reports.talk`); None if who was talking was not measured."""
    return talk_metrics(timeline(call_id, version).seconds)


@st.cache_resource(max_entries=8, show_spinner=False)
def timeline_chart(call_id: int, version: str, stages: tuple[MarkedStage, ...], roles: tuple[str, ...],
                   labels: tuple[tuple[str, str], ...] = ()) -> go.Figure:
    """Shared, never mutated by callers (st.plotly_chart copies it): no pickling of ~25k points per run. `labels`:
    (role, name on the chart) pairs, as `timeline_figure`'s `labels`."""
    data = timeline(call_id, version)
    return timeline_figure(data.seconds, data.shifts, [(s.name, s.start_s, s.end_s) for s in stages], roles=roles,
                           labels=dict(labels))


@st.cache_resource(max_entries=2, show_spinner=False)
def _video_bytes(path: str, mtime: float) -> bytes:
    return Path(path).read_bytes()


@dataclass(frozen=True)
class Video:
    data: bytes
    mime: str


def video(call_id: int, source_path: str | None) -> Video | None:
    """The recording for the player, read once per file (st.video would re-read it on every run): the upload
    itself, or the copy analysis made of it when browsers can't play it (pipeline.review_copy)."""
    if not source_path:  # purged: the copy went with it
        return None
    data_dir = get_settings().data_dir
    path = next((data_dir / copy for copy in review_copy_paths(call_id) if (data_dir / copy).is_file()),
                data_dir / source_path)
    mime = VIDEO_TYPES.get(path.suffix.lower())
    if mime is None or not path.is_file():
        return None
    return Video(_video_bytes(str(path), path.stat().st_mtime), mime)


def forget_cached() -> None:
    """Drop every cached call read (timelines, charts, recordings, tables): after a deletion none of it stays in memory."""
    for cached in (timeline, summary, call_stats):
        cached.clear()
    for resource in (timeline_chart, _video_bytes):
        resource.clear()


@dataclass(frozen=True)
class PersonCard:
    """One person of a call as the review page's "Who is the rep?" shows them."""

    person: Person
    where: str  # "on the left", "in the big tile", ...
    picture: Path | None  # their face picture's file, if retention has not removed it


def people(viewer: Principal, call_id: int) -> list[PersonCard]:
    """The call's people in order of first appearance (`calls.roles.list_people`); [] if `viewer` may not see it."""
    try:
        found = list_people(call_id, viewer)
    except NotFound:
        return []
    data_dir = get_settings().data_dir
    where = places(found)
    return [PersonCard(p, where[p.number], data_dir / p.thumbnail_path if p.thumbnail_path else None) for p in found]


# ----------------------------------------------------------------------------- all calls
@st.cache_data(max_entries=8, show_spinner=False)
def call_stats(version: str, viewer: Principal) -> pd.DataFrame:
    """One row per call `viewer` may see: facts, status and headline numbers (likely-emotion shares per role, shifts).

    `rep_analysis` is False for calls whose rep was not classified: their rep shares are empty, not zero.
    `prospect_seen_s` is how many seconds of the prospect's face were read: the sample behind the shares and the
    time that rates (shifts per 10 minutes) are taken over. `content_sha256` tells analyses of one recording
    (`latest_analyses`).
    """
    with session_scope() as session:
        ids = _visible_ids(session, viewer)
        calls = pd.read_sql(
            select(Call.id, Call.title, Rep.name.label("rep"), Call.prospect_name.label("prospect"),
                   Call.prospect_company.label("company"), Call.call_date, Call.created_at, Call.duration_s, Call.status,
                   Call.error, Call.partial_note, Call.roles_guessed, Call.content_sha256).outerjoin(Rep, Call.rep_id == Rep.id).where(Call.id.in_(ids)), session.connection())
        rep_off = {call_id for call_id, settings in session.execute(select(Call.id, Call.settings).where(Call.id.in_(ids)))
                   if (settings or {}).get("rep_analysis") is False}
        counts = session.execute(select(EmotionSecond.call_id, EmotionSecond.role, EmotionSecond.dominant, func.count())
                                 .where(READABLE, EmotionSecond.call_id.in_(ids))
                                 .group_by(EmotionSecond.call_id, EmotionSecond.role, EmotionSecond.dominant)).all()
        shifts = session.execute(select(Shift.call_id, Shift.role, Shift.direction, func.count())
                                 .where(Shift.call_id.in_(ids)).group_by(Shift.call_id, Shift.role, Shift.direction)).all()
        talking = _talk_seconds(session, ids)
    by_call: dict[tuple[int, str], dict[str, int]] = {}
    for call_id, role, dominant, n in counts:
        by_call.setdefault((call_id, role), {})[dominant] = n
    rows = []
    for call_id in calls["id"]:
        row: dict = {"id": call_id, "rep_analysis": call_id not in rep_off}
        for role in (REP, PROSPECT):
            counts = by_call.get((call_id, role), {})
            shares = shares_from_counts(counts)
            row[f"{role}_seen_s"] = sum(counts.values())
            row.update({f"{role}_{e}": shares[e] for e in EMOTIONS})
            mood = mood_of(shares)
            row[f"{role}_positive"], row[f"{role}_negative"] = mood.positive, mood.negative
            if role == REP and call_id in rep_off:  # not measured, which is not "never smiled": means skip it
                row.update({f"{role}_{k}": float("nan") for k in (*EMOTIONS, "positive", "negative")})
        row.update(talking.get(call_id, NO_TALK))
        row["shifts"] = sum(n for c, _, _, n in shifts if c == call_id)
        row["negative_shifts"] = sum(n for c, r, d, n in shifts if c == call_id and r == PROSPECT and d == "negative")
        rows.append(row)
    if not rows:
        return calls.assign(when=pd.Series(dtype="datetime64[ns]"))
    out = calls.merge(pd.DataFrame(rows), on="id", how="left")
    out["when"] = pd.to_datetime(out["call_date"].fillna(out["created_at"].dt.date))
    return out.sort_values(["when", "id"], ascending=False).reset_index(drop=True)


def _talk_seconds(session: Session, ids: Select) -> dict[int, dict[str, int]]:
    """Per call: the seconds the rep and the prospect talked (a second both talk counts for both; `reports.talk`), those
    of speech from someone off camera (those with the rep's and the prospect's faces both on screen apart:
    `reports.talk.TalkMetrics.off_camera_both_seen_s`) and from a guest on screen, and those a face taken for the rep
    was on screen. Speaking is the same on every role's row of a second, so the prospect's rows are counted."""
    out: dict[int, dict[str, int]] = {}
    for call_id, n in session.execute(
            select(EmotionSecond.call_id, func.count())
            .where(EmotionSecond.call_id.in_(ids), EmotionSecond.role == REP, EmotionSecond.face_present)
            .group_by(EmotionSecond.call_id)):
        out.setdefault(call_id, dict(NO_TALK))["rep_on_screen_s"] = n
    for call_id, speaking, n in session.execute(
            select(EmotionSecond.call_id, EmotionSecond.speaking, func.count())
            .where(EmotionSecond.call_id.in_(ids), EmotionSecond.role == PROSPECT,
                   EmotionSecond.speaking.in_([REP, PROSPECT, BOTH, OFF_CAMERA, OTHER]))
            .group_by(EmotionSecond.call_id, EmotionSecond.speaking)):
        row = out.setdefault(call_id, dict(NO_TALK))
        if speaking in (REP, BOTH):
            row["rep_talk_s"] += n
        if speaking in (PROSPECT, BOTH):
            row["prospect_talk_s"] += n
        if speaking == OFF_CAMERA:
            row["off_camera_s"] += n
        if speaking == OTHER:
            row["guest_s"] += n
    both_seen = (select(EmotionSecond.call_id)
                 .where(EmotionSecond.call_id.in_(ids), EmotionSecond.role.in_([REP, PROSPECT]),
                        EmotionSecond.speaking == OFF_CAMERA, EmotionSecond.face_present)
                 .group_by(EmotionSecond.call_id, EmotionSecond.second).having(func.count() == 2).subquery())
    for call_id, n in session.execute(select(both_seen.c.call_id, func.count()).group_by(both_seen.c.call_id)):
        out.setdefault(call_id, dict(NO_TALK))["unplaced_s"] = n
    return out


NO_TALK = {"rep_talk_s": 0, "prospect_talk_s": 0, "off_camera_s": 0, "rep_on_screen_s": 0, "guest_s": 0,
           "unplaced_s": 0}
"""A call's talk columns (`_talk_seconds`) when none was heard."""


def calls_talk_ratio(calls: pd.DataFrame) -> pd.Series:
    """Each call's talk ratio (`reports.talk.talk_ratio`), 0-1; NaN where none is given."""
    return pd.Series([talk_ratio(*row) for row in zip(calls["rep_talk_s"], calls["prospect_talk_s"], calls["off_camera_s"],
                                                      calls["rep_on_screen_s"], calls["guest_s"], calls["unplaced_s"])],
                     index=calls.index, dtype=float)


RATE_SECONDS = 600  # rates are per 10 minutes of read prospect time: long and short calls compare fairly
MIN_SEEN_MINUTES_TO_COMPARE = 10.0  # read prospect minutes a rep needs before their numbers are compared with others'


def team_table(calls: pd.DataFrame) -> pd.DataFrame:
    """One row per rep from `call_stats` rows (analysed calls with a rep), weighted by read prospect time.

    Columns: rep, calls, seen_minutes (read prospect time, the sample), prospect_positive (share of those
    seconds, 0-1), negative_shifts_per_10min, enough (seen_minutes >= MIN_SEEN_MINUTES_TO_COMPARE), talk_ratio
    (the rep's share of rep and prospect talking seconds over their calls; NaN: not measured), talk_ratio_calls (how
    many of the calls give a talk ratio, the ones it is over: trial 17 read "45%" beside "5 calls" from one), rep_seen_minutes
    (the rep's read face time on calls with rep analysis on) and the rep's own likely-emotion shares of that time
    (NaN where none: no rep analysis, or their face never read). Both sides are weighted by read time: a mean of
    per-call shares let a call read for 6 s count as much as one read for 4 minutes (new-user trial 14: "Rep likely
    happy 24%" beside a time-weighted prospect figure; weighted, 43%).
    """
    rows = []
    for rep, mine in calls.groupby("rep"):
        seen_s = float(mine["prospect_seen_s"].sum())
        rep_read = mine[mine["rep_analysis"].astype(bool)] if "rep_analysis" in mine else mine.iloc[:0]
        rep_seen_s = float(rep_read["rep_seen_s"].sum()) if "rep_seen_s" in rep_read else 0.0
        rows.append({"rep": rep, "calls": len(mine), "seen_minutes": seen_s / 60,
                     "prospect_positive": float((mine["prospect_positive"] * mine["prospect_seen_s"]).sum() / seen_s)
                     if seen_s else float("nan"),
                     "negative_shifts_per_10min": float(mine["negative_shifts"].sum() * RATE_SECONDS / seen_s)
                     if seen_s else float("nan"),
                     "enough": seen_s / 60 >= MIN_SEEN_MINUTES_TO_COMPARE,
                     "talk_ratio": _talk_ratio(mine), "talk_ratio_calls": _talk_ratio_calls(mine),
                     "rep_seen_minutes": rep_seen_s / 60,
                     **{e: float((rep_read[f"rep_{e}"] * rep_read["rep_seen_s"]).sum() / rep_seen_s) if rep_seen_s
                        else float("nan") for e in EMOTIONS}})
    return pd.DataFrame(rows, columns=["rep", "calls", "seen_minutes", "prospect_positive", "negative_shifts_per_10min",
                                       "enough", "talk_ratio", "talk_ratio_calls", "rep_seen_minutes", *EMOTIONS])


def _talk_ratio_calls(calls: pd.DataFrame) -> int:
    """How many of these calls give a talk ratio of their own (`calls_talk_ratio`)."""
    return int(calls_talk_ratio(calls).notna().sum()) if "rep_talk_s" in calls else 0


def _talk_ratio(calls: pd.DataFrame) -> float:
    """The rep's talking seconds over the rep's and the prospects' on these calls, of the calls that give a talk ratio
    of their own (`reports.talk.talk_ratio`: one whose speech went mostly to someone off camera would count a side's
    silence); NaN: not measured."""
    if "rep_talk_s" not in calls:
        return float("nan")
    given = calls[calls_talk_ratio(calls).notna()]
    ratio = talk_ratio(float(given["rep_talk_s"].sum()), float(given["prospect_talk_s"].sum()), 0.0,
                       float(given["rep_on_screen_s"].sum()))
    return float("nan") if ratio is None else ratio


def latest_analyses(calls: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`call_stats` rows -> (the rows that count: one per recording, its latest analysis; the earlier analyses of a
    recording analysed again). A recording is told by its bytes (`Call.content_sha256`; calls stored before it was
    recorded count each). New-user trial 20: one 45-s call analysed three times counted as "3 calls" in a rep's
    figures."""
    if calls.empty:
        return calls, calls
    earlier = calls["content_sha256"].notna() & calls.sort_values("id").duplicated("content_sha256", keep="last")
    return calls[~earlier], calls[earlier]


def call_label(call_id: int, title: str, when: dt.date | None = None) -> str:
    """How a call is named in pickers and dialogs: its number first, as two uploads may share a title and a date (a
    new-user trial, 28, deleted the original of a recording uploaded twice: the two read alike in every picker)."""
    return f"#{call_id} · {title}" + (f" · {day(when)}" if when is not None and not pd.isna(when) else "")


def day(when: dt.date) -> str:
    """A date as every page writes it: "5 Dec 2026" (the calls table's format; a trial met "05 Dec 2026" beside it)."""
    return f"{when.day} {when:%b %Y}"


def done_calls(viewer: Principal) -> list[tuple[int, str]]:
    """(id, label) of the analysed calls `viewer` may see, newest first: the review page's picker."""
    with session_scope() as session:
        rows = session.execute(select(Call.id, Call.title, Call.call_date)
                               .where(Call.status == CallStatus.DONE, Call.id.in_(_visible_ids(session, viewer)))
                               .order_by(Call.call_date.desc(), Call.id.desc())).all()
    return [(r.id, call_label(r.id, r.title, r.call_date)) for r in rows]


def earlier_uploads(viewer: Principal, digest: str, size: int) -> list[str]:
    """Labels (`call_label`) of the calls `viewer` may see that were uploaded with these very bytes (SHA-256 `digest`,
    `size` bytes), oldest first (`calls.intake.earlier_copies`)."""
    with session_scope() as session:
        return [call_label(call.id, call.title, call.call_date)
                for call in earlier_copies(session, digest, size, _visible_ids(session, viewer))]


def rep_names(viewer: Principal) -> list[str]:
    """The reps `viewer` may upload for: all for an admin, their team's for a manager, none for a rep."""
    with session_scope() as session:
        return list(session.scalars(uploadable_reps(viewer).with_only_columns(Rep.name).order_by(Rep.name)))


def rep_elsewhere(viewer: Principal, name: str) -> bool:
    """A rep of this name (case and spaces ignored) exists but is not one `viewer` may upload for (another team's)."""
    with session_scope() as session:
        rep = find_rep(session, name)
        existing = rep.name if rep else None
    return existing is not None and existing not in rep_names(viewer)


# ----------------------------------------------------------------------------- the queue
@dataclass(frozen=True)
class JobProgress:
    call_id: int
    title: str
    status: str
    stage: str | None
    progress: float
    error: str | None
    queued_at: dt.datetime
    partial: str | None = None  # what of the recording could not be read (`Call.partial_note`); None: all of it


def progress(viewer: Principal, call_ids: list[int] | None = None) -> list[JobProgress]:
    """Calls still queued or running, plus `call_ids` whatever their state, with their latest job: those `viewer` may see."""
    active = Call.status.in_((CallStatus.QUEUED, CallStatus.RUNNING))
    with session_scope() as session:
        query = select(Call).where(active | Call.id.in_(call_ids) if call_ids else active,
                                   Call.id.in_(_visible_ids(session, viewer)))
        out = []
        for call in session.scalars(query.order_by(Call.id)):
            job = latest_job(session, call.id)
            out.append(JobProgress(call.id, call.title, call.status, job.stage if job else None,
                                job.progress if job else 0.0, call.error or (job.error if job else None), call.created_at,
                                call.partial_note))
        return out


# ----------------------------------------------------------------------------- the workspace
def rep_analysis_on() -> bool:
    """Whether calls uploaded now get their rep analysed (the server's setting, else the admin's choice)."""
    with session_scope() as session:
        return rep_analysis_enabled(session)


@dataclass(frozen=True)
class WorkspaceSettings:
    rep_analysis: bool | None  # None: not chosen yet
    video_retention_days: int
    data_retention_days: int
    audit_retention_days: int
    updated_by: str | None
    updated_at: dt.datetime | None
    rep_recognition: bool = False  # enrolled reps are recognised on their calls (`calls.enrolment`)


def workspace() -> WorkspaceSettings:
    """The workspace's privacy settings (not secret: every page may show whether the rep is analysed)."""
    with session_scope() as session:
        w = get_workspace(session)
        return WorkspaceSettings(w.rep_analysis, w.video_retention_days, w.data_retention_days, w.audit_retention_days,
                                 w.updated_by, w.updated_at, bool(w.rep_recognition))


# ----------------------------------------------------------------------------- users, reps, audit log (admins only)
def _admin_only(viewer: Principal) -> None:
    if not can_administer(viewer):
        raise PermissionError("only admins read settings, users and the audit log")


def users(viewer: Principal) -> pd.DataFrame:
    _admin_only(viewer)
    with session_scope() as session:
        return pd.read_sql(select(User.username, User.display_name, User.role, User.team, Rep.name.label("rep"),
                                  User.active, User.created_at).outerjoin(Rep, User.rep_id == Rep.id)
                           .order_by(User.username), session.connection())


def reps(viewer: Principal) -> pd.DataFrame:
    """Every rep with their team and how many calls they have."""
    _admin_only(viewer)
    with session_scope() as session:
        return pd.read_sql(select(Rep.id, Rep.name, Rep.team, func.count(Call.id).label("calls"))
                           .outerjoin(Call, Call.rep_id == Rep.id).group_by(Rep.id).order_by(Rep.name),
                           session.connection())


def audit_log(viewer: Principal, username: str | None = None, action: str | None = None,
              limit: int = 500) -> pd.DataFrame:
    """The newest audit events, optionally of one user and/or one action."""
    _admin_only(viewer)
    query = select(AuditEvent.at, AuditEvent.username, AuditEvent.action, AuditEvent.target, AuditEvent.detail)
    if username:
        query = query.where(AuditEvent.username == username)
    if action:
        query = query.where(AuditEvent.action == action)
    with session_scope() as session:
        rows = session.execute(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
    return pd.DataFrame([{"at": r.at, "user": r.username, "action": r.action, "target": r.target,
                          "detail": ", ".join(f"{k}={v}" for k, v in (r.detail or {}).items())} for r in rows],
                        columns=["at", "user", "action", "target", "detail"])


def audit_choices(viewer: Principal) -> tuple[list[str], list[str]]:
    """The usernames and actions that occur in the audit log: the viewer's filters."""
    _admin_only(viewer)
    with session_scope() as session:
        names = session.scalars(select(AuditEvent.username).distinct().where(AuditEvent.username.is_not(None)))
        actions = session.scalars(select(AuditEvent.action).distinct())
        return sorted(names), sorted(actions)
