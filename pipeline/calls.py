"""Call lifecycle on top of the store: create, analyse, reassign roles, export, delete.

The CLI, the workers and the dashboard all go through these functions. Each is
one unit of work: an analysis computes everything in memory and on disk first,
then writes all of a call's rows in one transaction, so a failure leaves the
call marked failed with its error and nothing half-written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import av
import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from config import EMOTIONS, Settings, get_settings
from db.models import Call, CallStatus, EmotionSecond, Rep, Shift, Snapshot, Track, TrackSecond, User, utcnow
from db.session import session_scope
from pipeline.analyze import AnalysisSettings, CallAnalysis, Progress, analyze_video, derive
from pipeline.detect import shared_detector
from pipeline.errors import InputError
from pipeline.privacy import delete_call_files, rep_analysis_enabled
from pipeline.review_copy import browser_plays, review_copy_path, write_review_copy
from pipeline.roles import PROSPECT, REP
from pipeline.shifts import strongest_moments
from pipeline.snapshots import FaceAnnotation, annotate, save_jpeg
from pipeline.timeline import EmotionTimeline, TrackSecondRows
from pipeline.video import VideoInfo, probe, read_frames_at, seconds_in

log = logging.getLogger(__name__)

CSV_COLUMNS = ["second", "role", *EMOTIONS, "dominant", "face_present"]
MAX_SNAPSHOTS = 24


class NotFound(LookupError):
    """No call (or rep) with that id; also what a user without access is told."""


# ----------------------------------------------------------------------------- create
def rep_name_key(name: str) -> str:
    """What two rep names must share to be the same rep: case and spacing ignored ("Dana  Lee" is "dana lee")."""
    return " ".join(name.split()).casefold()


def find_rep(session: Session, name: str) -> Rep | None:
    """The rep whose name matches `name` ignoring case and spaces (see `rep_name_key`), or None."""
    key = rep_name_key(name)
    return next((r for r in session.scalars(select(Rep).order_by(Rep.id)) if rep_name_key(r.name) == key), None)


def get_or_create_rep(session: Session, name: str | None, team: str | None = None) -> Rep | None:
    """The rep of that name (case and spaces ignored); a new one joins `team` (so the manager who named them sees
    their calls)."""
    if not name or not name.strip():
        return None
    name = " ".join(name.split())
    rep = find_rep(session, name)
    if rep is None:
        rep = Rep(name=name, team=team)
        session.add(rep)
        session.flush()
    return rep


def create_call(video: Path, *, title: str | None = None, rep: str | None = None, prospect_name: str | None = None,
                prospect_company: str | None = None, call_date: dt.date | None = None,
                original_filename: str | None = None, analysis: AnalysisSettings = AnalysisSettings(),
                settings: Settings | None = None, team: str | None = None, consent_confirmed_by: str | None = None,
                consent_note: str | None = None) -> int:
    """Probe the upload (bad files fail here, before anything is stored), copy it in, add a queued call.

    Whether the rep is analysed is not the caller's choice: it is the workspace's (see pipeline.privacy).
    `consent_confirmed_by` is who confirmed the participants were told (stored with the time, shown in reports).
    """
    settings = settings or get_settings()
    info = probe(video, max_bytes=settings.max_upload_mb * 2**20)
    display_name = original_filename or Path(video).name
    stored = Path("uploads") / f"{uuid.uuid4().hex}{_safe_suffix(info)}"  # upload names are never paths
    target = settings.data_dir / stored
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video, target)
    try:
        with session_scope() as session:
            analysis = replace(analysis, rep_analysis=rep_analysis_enabled(session))  # the workspace decides, always
            call = Call(
                title=(title or Path(display_name).stem)[:300],
                rep=get_or_create_rep(session, rep, team),
                prospect_name=prospect_name,
                prospect_company=prospect_company,
                call_date=call_date,
                source_path=str(stored),
                original_filename=display_name[:300],
                duration_s=info.duration_s,
                fps=info.fps,
                width=info.width,
                height=info.height,
                status=CallStatus.QUEUED,
                settings=asdict(analysis),
                consent_confirmed_by=consent_confirmed_by,
                consent_confirmed_at=utcnow() if consent_confirmed_by else None,
                consent_note=(consent_note or "").strip() or None,
            )
            session.add(call)
            session.flush()
            return call.id
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _safe_suffix(info: VideoInfo) -> str:
    """A file suffix chosen from what FFmpeg found inside, never from the upload's name."""
    formats = set(info.container.split(","))
    for fmt, suffix in (("webm", ".webm"), ("matroska", ".mkv"), ("avi", ".avi"), ("mp4", ".mp4"), ("mov", ".mov")):
        if fmt in formats:
            return suffix
    return ".video"


# ----------------------------------------------------------------------------- analyse
def analyze_call(call_id: int, classifier, progress: Progress | None = None, settings: Settings | None = None) -> CallAnalysis:
    """Analyse a stored call and write every result in one transaction."""
    settings = settings or get_settings()
    with session_scope() as session:
        call = _get_call(session, call_id)
        call.status, call.error = CallStatus.RUNNING, None
        source = settings.data_dir / call.source_path
        analysis_settings = AnalysisSettings(**call.settings)
    token = uuid.uuid4().hex[:8]
    snapshot_dir = Path("snapshots") / str(call_id) / token
    try:
        info = probe(source)
        result = analyze_video(info, classifier, shared_detector(analysis_settings.detector), analysis_settings, progress)
        if progress:
            progress("saving snapshots", 0.95)
        start = time.perf_counter()
        snapshots = render_snapshots(source, result.timelines, result.track_seconds, result.roles, result.shifts,
                                     settings.data_dir, snapshot_dir)
        thumbnails = render_thumbnails(source, result, settings.data_dir, snapshot_dir)
        result.timings["snapshots"] = time.perf_counter() - start
        _ensure_review_copy(call_id, info, settings, result.timings, progress)
        start = time.perf_counter()
        with session_scope() as session:
            call = _get_call(session, call_id)
            _clear_results(session, call_id)
            _write_tracks(session, call_id, result, thumbnails)
            _write_derived(session, call_id, result.timelines, result.shifts, snapshots)
            call.status = CallStatus.DONE
            call.duration_s, call.fps = info.duration_s, info.fps
            call.width, call.height = info.width, info.height
            call.model_version = getattr(classifier, "version", None)
            call.faces_found = result.faces_found
            call.analyzed_at = utcnow()
            call.error = None if result.faces_found else "no faces found in the recording"
        result.timings["write"] = time.perf_counter() - start
        _remove_other_snapshot_dirs(settings.data_dir / snapshot_dir)
        return result
    except BaseException as error:
        shutil.rmtree(settings.data_dir / snapshot_dir, ignore_errors=True)
        (settings.data_dir / review_copy_path(call_id)).unlink(missing_ok=True)  # the call may be gone: so is its media
        message = str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
        with session_scope() as session:
            call = session.get(Call, call_id)
            if call is not None:
                call.status, call.error = CallStatus.FAILED, message
        raise


def _ensure_review_copy(call_id: int, info: VideoInfo, settings: Settings, timings: dict[str, float],
                        progress: Progress | None) -> None:
    """A copy the browser plays, if the upload isn't one, ready when the call shows as done. Failing to make
    it costs the review page its player, not the call its results: it is logged and the analysis goes on."""
    target = settings.data_dir / review_copy_path(call_id)
    if target.exists() or browser_plays(info):
        return
    if progress:
        progress("making a copy the browser can play", 0.97)
    start = time.perf_counter()
    try:
        write_review_copy(info, target)
    except av.error.FFmpegError:
        log.exception("call %s: no playable copy of %s", call_id, info.path.name)
    timings["review copy"] = time.perf_counter() - start


def _get_call(session: Session, call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    return call


def _clear_results(session: Session, call_id: int) -> None:
    for model in (Snapshot, Shift, EmotionSecond, Track):
        session.execute(delete(model).where(model.call_id == call_id))


def _write_tracks(session: Session, call_id: int, result: CallAnalysis, thumbnails: dict[int, str]) -> None:
    summaries = {s.track_id: s for s in result.tracks}
    for rows in result.track_seconds:
        summary = summaries[rows.track_id]
        track = Track(call_id=call_id, track_no=rows.track_id, role=result.roles[rows.track_id], first_s=summary.first_t,
                      last_s=summary.last_t, n_frames=summary.n_frames, mean_box=[round(float(v), 4) for v in summary.mean_box],
                      thumbnail_path=thumbnails.get(rows.track_id))
        session.add(track)
        session.flush()
        session.add_all(
            TrackSecond(track_id=track.id, second=int(s), n_frames=int(n),
                        probs=None if np.isnan(p[0]) else [round(float(v), 5) for v in p],
                        box=[round(float(v), 4) for v in b])
            for s, n, p, b in zip(rows.seconds, rows.n_frames, rows.probs, rows.boxes)
        )


def _write_derived(session: Session, call_id: int, timelines: dict[str, EmotionTimeline], shifts, snapshots) -> None:
    for timeline in timelines.values():
        dominant, confidence = timeline.dominant, timeline.confidence
        session.add_all(
            EmotionSecond(
                call_id=call_id, role=timeline.role, second=second, face_present=bool(timeline.n_frames[second]),
                n_frames=int(timeline.n_frames[second]), dominant=dominant[second],
                confidence=None if dominant[second] is None else round(float(confidence[second]), 5),
                **{name: None if dominant[second] is None else round(float(timeline.probs[second, k]), 5)
                   for k, name in enumerate(EMOTIONS)},
            )
            for second in range(len(timeline))
        )
    shift_rows = [Shift(call_id=call_id, **asdict(s)) for s in shifts]
    session.add_all(shift_rows)
    session.flush()
    by_time = {(s.role, s.t_s): row.id for s, row in zip(shifts, shift_rows)}
    for snap in snapshots:
        session.add(Snapshot(call_id=call_id, shift_id=by_time.get(snap.pop("shift_key", None)), **snap))


def _remove_other_snapshot_dirs(keep: Path) -> None:
    if not keep.parent.is_dir():  # nothing was drawn (no faces)
        return
    for folder in keep.parent.iterdir():
        if folder != keep and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------- snapshots
def _faces_at(second: int, timelines: dict[str, EmotionTimeline], track_seconds: list[TrackSecondRows],
              roles: dict[int, str]) -> list[FaceAnnotation]:
    faces = []
    for rows in track_seconds:
        hit = np.flatnonzero(rows.seconds == second)
        if len(hit):
            role = roles[rows.track_id]
            probs = timelines[role].probs[second]
            faces.append(FaceAnnotation(role, rows.boxes[hit[0]], None if np.isnan(probs[0]) else probs))
    return faces


def render_snapshots(source: Path, timelines, track_seconds, roles, shifts, data_dir: Path, folder: Path) -> list[dict]:
    """Annotated stills for every shift (strongest first, capped) and the prospect's strongest moments."""
    moments = [(s.t_s, f"{s.role.capitalize()}: likely {s.from_emotion} -> {s.to_emotion} at {clock(s.t_s)}",
                "shift", (s.role, s.t_s)) for s in sorted(shifts, key=lambda s: -s.strength)[:MAX_SNAPSHOTS]]
    shift_seconds = {int(m[0]) for m in moments}
    if PROSPECT in timelines:
        for second in strongest_moments(timelines[PROSPECT]):
            if second not in shift_seconds:
                moments.append((float(second), f"Prospect's strongest moment at {clock(second)}", "peak", None))
    moments.sort(key=lambda m: m[0])
    out = []
    frames = read_frames_at(source, [int(m[0]) + 0.5 for m in moments]) if moments else iter(())
    for (t_s, caption, kind, key), frame in zip(moments, frames):
        second = int(t_s)
        image = annotate(frame, _faces_at(second, timelines, track_seconds, roles), caption)
        relative = folder / f"{kind}-{second:05d}-{len(out)}.jpg"
        save_jpeg(image, data_dir / relative)
        out.append({"t_s": float(second), "kind": kind, "caption": caption, "path": str(relative), "shift_key": key})
    return out


def render_thumbnails(source: Path, result: CallAnalysis, data_dir: Path, folder: Path, limit: int = 12) -> dict[int, str]:
    """One face crop per track, so a manager can see who is who when fixing roles."""
    out = {}
    by_track = {r.track_id: r for r in result.track_seconds}
    chosen = [(s.track_id, by_track[s.track_id], len(by_track[s.track_id].seconds) // 2)
              for s in sorted(result.tracks, key=lambda s: -s.n_frames)[:limit]]
    frames = read_frames_at(source, [rows.seconds[middle] + 0.5 for _, rows, middle in chosen]) if chosen else iter(())
    for (track_id, rows, middle), frame in zip(chosen, frames):
        h, w = frame.shape[:2]
        x1, y1, x2, y2 = (rows.boxes[middle] * [w, h, w, h]).astype(int)
        pad = (x2 - x1) // 4
        crop = frame[max(0, y1 - pad): y2 + pad, max(0, x1 - pad): x2 + pad]
        relative = folder / f"track-{track_id}.jpg"
        save_jpeg(crop, data_dir / relative)
        out[track_id] = str(relative)
    return out


def clock(seconds: float) -> str:
    """m:ss (h:mm:ss from an hour on): the call-time format of captions, pages and reports."""
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# ----------------------------------------------------------------------------- reassign
def load_track_seconds(session: Session, call_id: int) -> tuple[list[TrackSecondRows], dict[int, str], dict[int, Track]]:
    tracks = session.scalars(select(Track).where(Track.call_id == call_id).order_by(Track.track_no)).all()
    rows, roles = [], {}
    for track in tracks:
        seconds = session.scalars(select(TrackSecond).where(TrackSecond.track_id == track.id).order_by(TrackSecond.second)).all()
        rows.append(TrackSecondRows(
            track.track_no,
            np.array([s.second for s in seconds], np.int64),
            np.array([s.n_frames for s in seconds], np.int64),
            np.array([s.probs if s.probs is not None else [np.nan] * len(EMOTIONS) for s in seconds], np.float32).reshape(-1, len(EMOTIONS)),
            np.array([s.box for s in seconds], np.float64).reshape(-1, 4),
        ))
        roles[track.track_no] = track.role
    return rows, roles, {t.track_no: t for t in tracks}


def reassign_roles(call_id: int, *, swap: bool = False, assignments: dict[int, str] | None = None,
                   settings: Settings | None = None) -> dict[int, str]:
    """Swap rep and prospect, or set roles per track number; re-derive rows, shifts and snapshots."""
    settings = settings or get_settings()
    with session_scope() as session:
        call = _get_call(session, call_id)
        if call.status != CallStatus.DONE:
            raise ValueError(f"call {call_id} is {call.status}; roles can be changed once its analysis is done")
        rows, roles, tracks = load_track_seconds(session, call_id)
        if swap:
            roles = {k: {REP: PROSPECT, PROSPECT: REP}.get(v, v) for k, v in roles.items()}
        for track_no, role in (assignments or {}).items():
            if track_no not in roles:
                raise ValueError(f"call {call_id} has no track {track_no}; tracks: {sorted(roles)}")
            if role not in (REP, PROSPECT) and not role.startswith("participant-"):
                raise ValueError(f"role must be rep, prospect or participant-N, not {role!r}")
            roles[track_no] = role
        if not call.settings.get("rep_analysis", True):
            classified = {r.track_id for r in rows if np.isfinite(r.probs).any()}
            if any(roles[k] == REP for k in classified):
                raise ValueError("rep analysis was off for this call: a track with emotion values cannot become the rep; "
                                 "re-analyse the call instead")
        n_seconds = seconds_in(call.duration_s or 0.0, call.fps or 30.0)
        timelines, shifts = derive(rows, roles, n_seconds, call.settings.get("min_shift_seconds", 3.0))
        source = settings.data_dir / call.source_path if call.source_path else None
        token = uuid.uuid4().hex[:8]
        folder = Path("snapshots") / str(call_id) / token
        snapshots = []
        if source is not None and source.exists():
            snapshots = render_snapshots(source, timelines, rows, roles, shifts, settings.data_dir, folder)
        for track_no, track in tracks.items():
            if track.role != roles[track_no]:
                track.role, track.role_source = roles[track_no], "manual"
        for model in (Snapshot, Shift, EmotionSecond):
            session.execute(delete(model).where(model.call_id == call_id))
        _write_derived(session, call_id, timelines, shifts, snapshots)
    if snapshots:  # old stills go; track thumbnails stay (they do not depend on roles)
        for old in (settings.data_dir / folder).parent.glob("*/*.jpg"):
            if old.parent.name != token and not old.name.startswith("track-"):
                old.unlink()
    return roles


# ----------------------------------------------------------------------------- read, export, delete
def export_csv(call_id: int) -> str:
    """The per-second CSV: one row per second and role (the dashboard's download is this same text)."""
    with session_scope() as session:
        call = _get_call(session, call_id)
        rows = session.scalars(select(EmotionSecond).where(EmotionSecond.call_id == call.id)).all()
    order = {REP: 0, PROSPECT: 1}
    rows = sorted(rows, key=lambda r: (r.second, order.get(r.role, 2), r.role))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([r.second, r.role, *("" if getattr(r, e) is None else f"{getattr(r, e):.4f}" for e in EMOTIONS),
                         r.dominant or "", int(r.face_present)])
    return out.getvalue()


def delete_call(call_id: int) -> None:
    """Delete a call with every row (cascade) and every file it owns."""
    with session_scope() as session:
        call = _get_call(session, call_id)
        source = call.source_path
        session.delete(call)
    delete_call_files(call_id, source)


def delete_rep(rep_id: int) -> int:
    """Delete a rep (someone who left): every call of theirs with its rows and files, their sign-in, then the rep.

    Returns how many calls went. Calls go one by one, so a failure part-way leaves whole calls, never half ones.
    """
    with session_scope() as session:
        if session.get(Rep, rep_id) is None:
            raise NotFound(f"rep {rep_id} not found")
        call_ids = list(session.scalars(select(Call.id).where(Call.rep_id == rep_id)))
        busy = select(Call.id).where(Call.rep_id == rep_id, Call.status.in_((CallStatus.QUEUED, CallStatus.RUNNING)))
        if session.scalar(busy):
            raise ValueError("a call of this rep is still being analysed: delete the rep once it is done")
    for call_id in call_ids:
        delete_call(call_id)
    with session_scope() as session:
        session.execute(delete(User).where(User.rep_id == rep_id))
        session.execute(delete(Rep).where(Rep.id == rep_id))
    return len(call_ids)


def merge_reps(keep_id: int, merged_id: int) -> int:
    """Make two reps one (the same person typed twice): `merged_id`'s calls and sign-in move to `keep_id`, then the
    merged rep goes. Returns how many calls moved; ValueError for a rep merged into itself, NotFound for a missing one."""
    if keep_id == merged_id:
        raise ValueError("pick two different reps to merge")
    with session_scope() as session:
        for rep_id in (keep_id, merged_id):
            if session.get(Rep, rep_id) is None:
                raise NotFound(f"rep {rep_id} not found")
        moved = session.execute(update(Call).where(Call.rep_id == merged_id).values(rep_id=keep_id)).rowcount
        session.execute(update(User).where(User.rep_id == merged_id).values(rep_id=keep_id))
        session.execute(delete(Rep).where(Rep.id == merged_id))
        return moved


@dataclass(frozen=True)
class CallDetails:
    """What a manager may correct about a call after upload (everything else comes from the recording)."""

    title: str
    rep: str | None
    prospect_name: str | None
    prospect_company: str | None
    call_date: dt.date | None


def update_call_details(call_id: int, details: CallDetails, team: str | None = None) -> dict[str, tuple]:
    """Correct a call's title, rep (matched ignoring case and spaces; a new one joins `team`), prospect, company and
    date. Returns {field: (old, new)} of what changed; ValueError for an empty title, NotFound for a missing call."""
    title = " ".join(details.title.split())
    if not title:
        raise ValueError("the title is empty")
    with session_scope() as session:
        call = _get_call(session, call_id)
        rep = get_or_create_rep(session, details.rep, team)
        new = {"title": title[:300], "rep": rep.name if rep else None,
               "prospect_name": (details.prospect_name or "").strip() or None,
               "prospect_company": (details.prospect_company or "").strip() or None, "call_date": details.call_date}
        old = {"title": call.title, "rep": call.rep.name if call.rep else None, "prospect_name": call.prospect_name,
               "prospect_company": call.prospect_company, "call_date": call.call_date}
        call.title, call.rep = new["title"], rep
        call.prospect_name, call.prospect_company, call.call_date = (new["prospect_name"], new["prospect_company"],
                                                                     new["call_date"])
        return {k: (old[k], new[k]) for k in new if old[k] != new[k]}


def list_calls() -> list[dict]:
    with session_scope() as session:
        calls = session.scalars(select(Call).order_by(Call.created_at.desc(), Call.id.desc())).all()
        return [
            {"id": c.id, "title": c.title, "rep": c.rep.name if c.rep else None, "prospect": c.prospect_name,
             "date": c.call_date.isoformat() if c.call_date else None, "duration_s": c.duration_s, "status": c.status,
             "error": c.error, "shifts": len(c.shifts)}
            for c in calls
        ]


# ----------------------------------------------------------------------------- dashboard edits
from db.models import CoachingNote, ScriptStage  # noqa: E402  (appended section: the manager's annotations)


def add_stage(call_id: int, name: str, start_s: float, end_s: float) -> int:
    """Mark [start_s, end_s) as one stage of the sales script; stages may not overlap."""
    name = name.strip().lower()
    if not name:
        raise ValueError("give the stage a name, e.g. discovery")
    if not 0 <= start_s < end_s:
        raise ValueError("a stage must end after it starts")
    with session_scope() as session:
        call = _get_call(session, call_id)
        if call.duration_s and start_s >= call.duration_s:
            raise ValueError(f"the call is only {clock(call.duration_s)} long")
        end_s = min(end_s, call.duration_s or end_s)
        for other in call.stages:
            if start_s < other.end_s and other.start_s < end_s:
                raise ValueError(f"overlaps {other.name} ({clock(other.start_s)}-{clock(other.end_s)})")
        stage = ScriptStage(call_id=call_id, name=name[:60], start_s=float(start_s), end_s=float(end_s))
        session.add(stage)
        session.flush()
        return stage.id


def delete_stage(stage_id: int) -> None:
    with session_scope() as session:
        session.execute(delete(ScriptStage).where(ScriptStage.id == stage_id))


def add_note(call_id: int, t_s: float, text: str, author: str | None = None) -> int:
    """Attach a coaching note at any second `t_s` of the call (ValueError: empty, or after the call's end)."""
    text = text.strip()
    if not text:
        raise ValueError("the note is empty")
    with session_scope() as session:
        call = _get_call(session, call_id)
        if call.duration_s and t_s > call.duration_s:
            raise ValueError(f"{clock(t_s)} is after the end of the call ({clock(call.duration_s)})")
        note = CoachingNote(call_id=call_id, t_s=float(max(0.0, t_s)), text=text, author=(author or "").strip()[:200] or None)
        session.add(note)
        session.flush()
        return note.id


def delete_note(note_id: int) -> None:
    with session_scope() as session:
        session.execute(delete(CoachingNote).where(CoachingNote.id == note_id))
