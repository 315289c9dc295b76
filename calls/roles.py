"""Fixing roles after an analysis: swap rep and prospect, or set a track's role, without decoding again.

Rows, shifts and stills are re-derived from the stored per-track seconds (`pipeline.store.load_track_seconds`)
in one transaction; only the few frames the new stills show are read again. Who is talking is re-derived
too, from the stored speech fractions and each track's mouth motion: it follows the person, not the seat.
"""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import delete, select

from config import Settings, get_settings, snapshot_folder
from db.models import CallStatus, EmotionSecond, Shift, Snapshot
from db.session import session_scope
from pipeline.analyze import derive
from pipeline.roles import PROSPECT, REP
from pipeline.snapshots import render_snapshots
from pipeline.speech import who_speaks
from pipeline.store import get_call, load_speech, load_track_seconds, write_derived
from pipeline.video import seconds_in


def reassign_roles(call_id: int, *, swap: bool = False, assignments: dict[int, str] | None = None,
                   settings: Settings | None = None) -> dict[int, str]:
    """Swap rep and prospect, or set roles per track number; re-derive rows, shifts and snapshots."""
    settings = settings or get_settings()
    with session_scope() as session:
        call = get_call(session, call_id)
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
        n_seconds = seconds_in(call.duration_s or 0.0)
        video = np.ones(n_seconds, bool)  # a property of the recording, not of roles: kept from the stored rows
        for second, present in session.execute(select(EmotionSecond.second, EmotionSecond.video_present)
                                               .where(EmotionSecond.call_id == call_id)):
            if second < n_seconds:
                video[second] &= present
        timelines, shifts = derive(rows, roles, n_seconds, call.settings.get("min_shift_seconds", 3.0), video)
        talk = who_speaks(load_speech(session, call_id, n_seconds), rows, roles)  # speaking follows the person
        source = settings.data_dir / call.source_path if call.source_path else None
        token = uuid.uuid4().hex[:8]
        folder = snapshot_folder(call_id, token)
        snapshots = []
        if source is not None and source.exists():
            snapshots = render_snapshots(source, timelines, rows, roles, shifts, settings.data_dir, folder)
        for track_no, track in tracks.items():
            if track.role != roles[track_no]:
                track.role, track.role_source = roles[track_no], "manual"
        for model in (Snapshot, Shift, EmotionSecond):
            session.execute(delete(model).where(model.call_id == call_id))
        write_derived(session, call_id, timelines, shifts, snapshots, talk)
    if snapshots:  # old stills go; track thumbnails stay (they do not depend on roles)
        for old in (settings.data_dir / folder).parent.glob("*/*.jpg"):
            if old.parent.name != token and not old.name.startswith("track-"):
                old.unlink()
    return roles
