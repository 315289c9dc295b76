"""The store's side of an analysis: run it, then write all of a call's results in one transaction.

`analyze_call` reads a stored call's upload, runs `pipeline.analyze.analyze_video` in memory, draws the
stills into a fresh folder (`config.snapshot_folder`), makes the browser-playable copy if the upload is not
one, then replaces every row of the call (tracks, per-second rows, shifts, stills) and marks it done, in
one transaction. Any error before the commit removes that folder and marks the call failed with its
message (an `InputError`'s own words); other calls are never touched. Each run is one attempt
(`pipeline.liveness`): a call deleted or re-taken meanwhile gets nothing written (`AttemptLost`). `write_derived` is the writer of the
rows that role changes re-derive (who is talking included); `load_track_seconds` reads back what the analysis
stored per track, `load_speech` the call's per-second speech fractions.
`partial_note` says in the call's time what a partial recording lacked (stored on the call, shown by the CLI and reports).
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from config import (CODE_VERSION, EMOTIONS, Settings, call_media_folders, get_settings, review_copy_path,
                    review_copy_paths, snapshot_folder)
from db.models import Call, CallStatus, EmotionSecond, Shift, Snapshot, Track, TrackSecond, utcnow
from db.session import session_scope
from model.quality import QUALITY_FIELDS
from pipeline.errors import InputError, NotFound
from pipeline.liveness import Attempt, AttemptLost, Heartbeat, remove_stray_files, start_attempt
from pipeline.speech import TalkTimeline
from pipeline.timeline import (BOX_DECIMALS, MOUTH_DECIMALS, PROB_DECIMALS, QUALITY_DECIMALS, SPEECH_DECIMALS,
                               EmotionTimeline, TrackSecondRows, clock)
from pipeline.uncertainty import BLURRED_FACE, FROZEN_VIDEO, POOR_REASONS, SMALL_FACE, TURNED_AWAY
from pipeline.video import CUT_OFF_TOLERANCE_S, DecodeReport, VideoInfo, probe_upload

if TYPE_CHECKING:
    from pipeline.analyze import CallAnalysis, Progress


log = logging.getLogger(__name__)


def partial_note(decode: DecodeReport, info: VideoInfo) -> str | None:
    """What the analysis could not read, in the call's time (None: everything was read)."""
    notes = [f"damaged at {clock(start)} for {end - start:.1f} s" for start, end in decode.damaged]
    if (decode.data_end_s is not None and decode.data_end_s < info.duration_s - CUT_OFF_TOLERANCE_S
            and info.length_stated):
        notes.insert(0, f"the file ends at {clock(decode.data_end_s)} of {clock(info.duration_s)}")
    elif decode.data_end_s is not None:  # no stated length to compare with (a live WebM, a fragmented MP4)
        notes.insert(0, f"the file is cut off at {clock(decode.data_end_s)}: it stops in the middle of its data, "
                        "so the recording went on for an unknown time")
    return "; ".join(notes) or None



def analyze_call(call_id: int, classifier, progress: Progress | None = None, settings: Settings | None = None,
                 classify_none: bool = False) -> CallAnalysis:
    """Analyse a stored call and write every result in one transaction (`classify_none`: see
    `pipeline.analyze.analyze_video`).

    The analysis is one attempt (pipeline.liveness): it heartbeats the call while it runs, stops at its next
    progress step once the call is deleted or taken by another attempt (`AttemptLost`, nothing written), and
    writes its rows only if the call still holds the same upload and attempt.
    """
    # The vision stack is imported here, not at the top: the commands that only read or delete stored calls
    # (`get_call`, `delete_media_folders`, the row readers) start ~0.8 s sooner without it (scipy, OpenCV, LiteRT).
    from model.detect import shared_detector
    from pipeline.analyze import AnalysisSettings, analyze_video
    from pipeline.enrolment import rep_references
    from pipeline.name_tags import CallNames
    from pipeline.snapshots import render_snapshots, render_thumbnails

    settings = settings or get_settings()
    attempt = start_attempt(call_id, settings)
    with session_scope() as session:
        call = get_call(session, call_id)
        source = settings.data_dir / call.source_path
        display_name = call.original_filename or f"call {call_id}"
        analysis_settings = AnalysisSettings(**call.settings)
        references = rep_references(session, call.rep_id)  # None unless the workspace recognises enrolled reps
        names = CallNames(call.rep.name if call.rep else None, call.prospect_name)  # looked for on name tags
    token = uuid.uuid4().hex[:8]
    snapshot_dir = snapshot_folder(call_id, token)
    try:
        with Heartbeat(attempt, settings) as heartbeat:
            def checked(stage: str, fraction: float) -> None:
                heartbeat.check()
                if progress:
                    progress(stage, fraction)

            info = probe_upload(source, display_name, settings)
            result = analyze_video(info, classifier, shared_detector(analysis_settings.detector), analysis_settings,
                                   checked, references, classify_none, names)
            checked("saving snapshots", 0.95)
            start = time.perf_counter()
            snapshots = render_snapshots(source, result.timelines, result.track_seconds, result.roles, result.shifts,
                                         result.talk, settings.data_dir, snapshot_dir, display_name)
            thumbnails = render_thumbnails(source, result, settings.data_dir, snapshot_dir)
            result.timings["snapshots"] = time.perf_counter() - start
            _ensure_review_copy(call_id, info, settings, result.timings, checked)
            start = time.perf_counter()
            with session_scope() as session:
                # First statement of the transaction: the fence (and, on SQLite, the write lock).
                if not session.execute(update(Call).where(*attempt.fence()).values(
                        status=CallStatus.DONE, duration_s=info.duration_s, fps=info.fps, width=info.width,
                        height=info.height, model_version=getattr(classifier, "version", None), code_version=CODE_VERSION,
                        faces_found=result.faces_found, analyzed_at=utcnow(), heartbeat_at=None,
                        partial_note=partial_note(result.decode, info), roles_note=result.roles_note,
                        roles_guessed=result.roles_guessed,
                        analysed_roles={"roles": {str(k): v for k, v in result.roles.items()},
                                        "note": result.roles_note, "guessed": result.roles_guessed},
                        error=result.no_faces_message)).rowcount:
                    raise AttemptLost(f"call {call_id} was deleted or taken by another analysis")
                _clear_results(session, call_id)
                _write_tracks(session, call_id, result, thumbnails)
                write_derived(session, call_id, result.timelines, result.shifts, snapshots, result.talk)
            result.timings["write"] = time.perf_counter() - start
        remove_stray_files(call_id, settings)  # the stills of the results this attempt replaced
        return result
    except BaseException as error:
        shutil.rmtree(settings.data_dir / snapshot_dir, ignore_errors=True)
        end_failed_attempt(attempt, error, settings)
        raise


def end_failed_attempt(attempt: Attempt, error: BaseException, settings: Settings, review_copy: bool = True) -> None:
    """After `error` stopped an attempt: fail the call with the message (an `InputError`'s own words) while the
    attempt still holds it, and return (the caller re-raises `error`); with `review_copy`, the playable copy
    this attempt may have half made goes too. A call deleted meanwhile loses what the attempt wrote after the
    deletion; then, or when another attempt took the call, this raises `AttemptLost`."""
    call_id = attempt.call_id
    held = False
    if not isinstance(error, AttemptLost):
        message = str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
        with session_scope() as session:
            held = session.execute(update(Call).where(*attempt.fence()).values(
                status=CallStatus.FAILED, error=message, heartbeat_at=None)).rowcount == 1
    if held:
        if review_copy:
            for path in review_copy_paths(call_id):
                (settings.data_dir / path).unlink(missing_ok=True)
        return
    # Deleted mid-analysis (its file may have gone first: that error is not the file's fault), or taken by
    # another attempt, which owns the call's files now.
    with session_scope() as session:
        gone = session.get(Call, call_id) is None
    if gone:  # what this attempt wrote after the deletion goes too (ids are never reused)
        delete_media_folders(call_id, settings.data_dir)
    if isinstance(error, AttemptLost):
        raise error
    raise AttemptLost(f"call {call_id} was deleted or taken by another analysis") from error


def _ensure_review_copy(call_id: int, info: VideoInfo, settings: Settings, timings: dict[str, float],
                        progress: Progress | None) -> None:
    """A copy the browser plays, if the upload isn't one, ready when the call shows as done. Failing to make
    it costs the review page its player, not the call its results: it is logged and the analysis goes on."""
    from pipeline.review_copy import browser_plays, copy_suffix, write_review_copy

    target = settings.data_dir / review_copy_path(call_id, copy_suffix(info))
    if target.exists() or browser_plays(info):
        return
    if progress:
        progress("making a copy the browser can play", 0.97)
    start = time.perf_counter()
    for other in review_copy_paths(call_id):  # one copy a call: an earlier analysis may have made the other kind
        (settings.data_dir / other).unlink(missing_ok=True)
    try:
        write_review_copy(info, target)
    except Exception as error:  # noqa: BLE001 - any failure costs the player only; one line naming the user's file,
        # no traceback, no stored name (FFmpeg's strerror carries no path)
        why = getattr(error, "strerror", None) or type(error).__name__
        log.warning("call %s: no copy of %s the browser can play (%s); the results stand", call_id, info.name, why)
    timings["review copy"] = time.perf_counter() - start



def delete_media_folders(call_id: int, data_dir: Path) -> None:
    """Remove a call's per-call folders of derived media (`config.call_media_folders`); the upload is apart."""
    for folder in call_media_folders(call_id):
        shutil.rmtree(data_dir / folder, ignore_errors=True)


def get_call(session: Session, call_id: int) -> Call:
    """The call row, or `NotFound`."""
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
        track = Track(call_id=call_id, track_no=rows.track_id, person_no=result.people[rows.track_id], role=result.roles[rows.track_id], first_s=summary.first_t,
                      last_s=summary.last_t, n_frames=summary.n_frames, mean_box=[round(float(v), 4) for v in summary.mean_box],
                      thumbnail_path=thumbnails.get(rows.track_id))
        session.add(track)
        session.flush()
        session.add_all(
            TrackSecond(track_id=track.id, second=int(s), n_frames=int(n), n_poor_frames=int(poor),
                        n_small_frames=None if rows.poor_by_reason is None else int(by_reason[_SMALL]),
                        n_turned_frames=None if rows.poor_by_reason is None else int(by_reason[_TURNED]),
                        n_frozen_frames=None if rows.poor_by_reason is None else int(by_reason[_FROZEN]),
                        probs=None if np.isnan(p[0]) else [round(float(v), PROB_DECIMALS) for v in p],
                        box=[round(float(v), BOX_DECIMALS) for v in b],
                        mouth_motion=None if not np.isfinite(m) else round(float(m), MOUTH_DECIMALS),
                        **{name: None if not np.isfinite(v) else round(float(v), QUALITY_DECIMALS)
                           for name, v in zip(QUALITY_FIELDS, q)})
            for s, n, p, b, q, poor, by_reason, m in zip(rows.seconds, rows.n_frames, rows.probs, rows.boxes,
                                                         _quality(rows), rows.poor_frames, _by_reason(rows), _mouth(rows))
        )


def _mouth(rows: TrackSecondRows) -> np.ndarray:
    """(k,) mouth motion per second, NaN where not measured."""
    return rows.mouth_motion if rows.mouth_motion is not None else np.full(len(rows.seconds), np.nan)


_FROZEN, _SMALL, _TURNED, _BLURRED = (POOR_REASONS.index(reason)
                                      for reason in (FROZEN_VIDEO, SMALL_FACE, TURNED_AWAY, BLURRED_FACE))
"""Where each reason's count sits in `poor_by_reason`: frozen, small and turned are stored, blurred is the rest."""


def _by_reason(rows: TrackSecondRows) -> np.ndarray:
    """(k, len(POOR_REASONS)) poor frames by reason (zeros where not counted: stored as unknown)."""
    if rows.poor_by_reason is not None:
        return rows.poor_by_reason
    return np.zeros((len(rows.seconds), len(POOR_REASONS)), np.int64)


def _stored_by_reason(seconds: list[TrackSecond]) -> np.ndarray | None:
    """(k, len(POOR_REASONS)) poor frames by reason as stored; None for rows stored before they were counted apart
    (migration 0014). Rows from before migration 0016 counted no face turned away or frozen (none was, then)."""
    if any(s.n_small_frames is None for s in seconds):
        return None
    by_reason = np.zeros((len(seconds), len(POOR_REASONS)), np.int64)
    by_reason[:, _SMALL] = [s.n_small_frames for s in seconds]
    by_reason[:, _TURNED] = [s.n_turned_frames or 0 for s in seconds]
    by_reason[:, _FROZEN] = [s.n_frozen_frames or 0 for s in seconds]
    poor = np.array([s.n_poor_frames or 0 for s in seconds], np.int64)
    by_reason[:, _BLURRED] = poor - by_reason[:, [_SMALL, _TURNED, _FROZEN]].sum(axis=1)
    return by_reason


def _quality(rows: TrackSecondRows) -> np.ndarray:
    """(k, 5) quality per second, NaN where unknown (rows made without quality measures)."""
    return rows.quality if rows.quality is not None else np.full((len(rows.seconds), len(QUALITY_FIELDS)), np.nan)



def write_derived(session: Session, call_id: int, timelines: dict[str, EmotionTimeline], shifts, snapshots,
                  talk: TalkTimeline | None = None) -> None:
    """Every role's per-second rows (with who is talking, `talk`, on each), the shifts and the stills' rows."""
    for timeline in timelines.values():
        dominant, confidence = timeline.shown, timeline.confidence  # "uncertain" is stored as what is shown
        why = timeline.uncertain_reason
        session.add_all(
            EmotionSecond(
                call_id=call_id, role=timeline.role, second=second, face_present=bool(timeline.n_frames[second]),
                video_present=bool(timeline.video_present[second]), **_talk_columns(talk, second),
                n_frames=int(timeline.n_frames[second]), dominant=dominant[second], uncertain_reason=why[second],
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



def _talk_columns(talk: TalkTimeline | None, second: int) -> dict:
    if talk is None or second >= len(talk):
        return {}
    speech = talk.speech[second]
    return {"speech": None if not np.isfinite(speech) else round(float(speech), SPEECH_DECIMALS),
            "speaking": talk.speaking[second]}


def load_speech(session: Session, call_id: int, n_seconds: int) -> np.ndarray:
    """(n_seconds,) the stored speech fractions of a call (NaN: no audio, or analysed before speech was measured)."""
    speech = np.full(n_seconds, np.nan)
    for second, value in session.execute(select(EmotionSecond.second, EmotionSecond.speech)
                                         .where(EmotionSecond.call_id == call_id, EmotionSecond.speech.is_not(None))):
        if second < n_seconds:
            speech[second] = value
    return speech


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
            np.array([[getattr(s, name) for name in QUALITY_FIELDS] for s in seconds], np.float64).reshape(-1, len(QUALITY_FIELDS)),
            np.array([s.n_poor_frames or 0 for s in seconds], np.int64),
            np.array([np.nan if s.mouth_motion is None else s.mouth_motion for s in seconds], np.float64),
            _stored_by_reason(seconds),
        ))
        roles[track.track_no] = track.role
    return rows, roles, {t.track_no: t for t in tracks}
