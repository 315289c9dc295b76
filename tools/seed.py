"""Seeded calls and users for page tests, the review benchmark and screenshots: store rows, no video analysis.

A seeded call goes through the pipeline's own `derive` (timelines + shifts) from
synthetic per-track seconds, so its rows are shaped exactly like an analysed
call's, and role swaps work on it. Snapshots are real annotated stills of the two
portraits the synthetic videos use. `seed_users` adds one user per role and
`sign_in` signs an AppTest in as one of them (pages show nothing before sign-in).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import insert

from access.users import add_user
from config import EMOTIONS, get_settings, snapshot_folder
from db.models import Call, CallStatus, CoachingNote, Job, Rep, ScriptStage, Track, TrackSecond, utcnow
from db.session import session_scope
from pipeline.analyze import derive
from pipeline.roles import PROSPECT, REP
from pipeline.snapshots import FaceAnnotation, annotate, save_jpeg
from pipeline.speech import who_speaks
from pipeline.store import write_derived
from pipeline.timeline import clock
from pipeline.timeline import TrackSecondRows
from tools.synthetic import face_portrait

# (start fraction of the call, emotion); None = face not seen.
PROSPECT_SCRIPT = ((0.0, "neutral"), (0.15, "happy"), (0.3, "neutral"), (0.42, None), (0.47, "surprise"),
                   (0.52, "neutral"), (0.62, "sad"), (0.68, "angry"), (0.74, "neutral"), (0.86, "happy"))
REP_SCRIPT = ((0.0, "neutral"), (0.1, "happy"), (0.2, "neutral"), (0.5, "happy"), (0.56, "neutral"), (0.9, "happy"))
STAGES = (("intro", 0.0, 0.1), ("discovery", 0.1, 0.4), ("demo", 0.4, 0.6), ("pricing", 0.6, 0.8), ("close", 0.8, 1.0))
BOXES = {REP: (0.08, 0.22, 0.32, 0.7), PROSPECT: (0.6, 0.22, 0.84, 0.7)}
FACES = {REP: "hopper", PROSPECT: "astronaut"}
TEAM = "Mid-market"  # the seeded reps' team
PASSWORD = "correct horse battery staple"
#: username -> (role, display name, team, rep): the admin, the seeded team's manager, one of its reps, another
#: team's manager (who sees none of the seeded calls).
USERS = {
    "ada": ("admin", "Ada Admin", None, None),
    "mo": ("manager", "Mo Manager", TEAM, None),
    "dana": ("rep", "Dana Whitfield", TEAM, "Dana Whitfield"),
    "erin": ("manager", "Erin Enterprise", "Enterprise", None),
}


@dataclass(frozen=True)
class SeededCall:
    call_id: int
    title: str
    n_shifts: int


def _vary(script, rng: np.random.Generator):
    """The same story told a little differently per seed: segment starts move, the ending may stay flat."""
    moved = sorted((0.0 if i == 0 else float(np.clip(f + rng.uniform(-0.3, 0.3) * (f - script[i - 1][0]), 0.01, 0.99)), e)
                   for i, (f, e) in enumerate(script))
    if rng.random() < 0.4:
        moved[-1] = (moved[-1][0], "neutral")
    return moved


def _probs(script, n_seconds: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(seconds seen, probabilities) following `script`, with per-second noise."""
    script = _vary(script, rng)
    starts = [int(f * n_seconds) for f, _ in script] + [n_seconds]
    seconds, rows = [], []
    for (_, emotion), start, end in zip(script, starts, starts[1:]):
        if emotion is None:
            continue
        for second in range(start, end):
            p = rng.dirichlet(np.full(len(EMOTIONS), 0.8)) * 0.35
            p[EMOTIONS.index(emotion)] += 0.65
            seconds.append(second)
            rows.append(p / p.sum())
    return np.array(seconds, np.int64), np.array(rows, np.float32)


MOUTH_STILL, MOUTH_TALKING = 0.1, 0.5  # seeded mouth motion (model.mouth units) of a listening / talking face


def _turns(n_seconds: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Seeded turns of talk: (n_seconds,) speech fractions and each role's mouth motion per second. The rep talks
    more and longer (3-20 s turns) than the prospect (3-10 s), with pauses of up to 2 s between turns."""
    rng = np.random.default_rng(seed + 1)
    speech = np.zeros(n_seconds)
    mouths = {REP: np.full(n_seconds, MOUTH_STILL), PROSPECT: np.full(n_seconds, MOUTH_STILL)}
    t = 2
    while t < n_seconds:
        who = REP if rng.random() < 0.6 else PROSPECT
        length = int(rng.integers(3, 21 if who == REP else 11))
        speech[t:t + length] = 1.0
        mouths[who][t:t + length] = MOUTH_TALKING
        t += length + int(rng.integers(0, 3))
    return speech, mouths


def _still(faces: list[FaceAnnotation], caption: str) -> np.ndarray:
    """A 640x360 call frame with both portraits, annotated like the pipeline's snapshots."""
    frame = np.full((360, 640, 3), (36, 33, 32), np.uint8)
    for role in BOXES:
        portrait = face_portrait(FACES[role])
        tile_w, tile_h = 300, 300
        x0 = 10 if role == REP else 330
        frame[30:30 + tile_h, x0:x0 + tile_w] = cv2.resize(portrait, (tile_w, tile_h), interpolation=cv2.INTER_AREA)
    return annotate(frame, faces, caption)


def seed_call(*, title: str = "Acme Corp renewal", rep: str = "Dana Whitfield", prospect_name: str = "Sam Lee",
              prospect_company: str = "Acme Corp", duration_s: int = 300, call_date: dt.date | None = None,
              seed: int = 0, video: Path | None = None, stages: bool = True, notes: bool = True,
              status: str = CallStatus.DONE, episodes: int = 1, team: str = TEAM,
              rep_analysis: bool = True) -> SeededCall:
    """Write one analysed call (tracks, per-second rows, shifts, stills, stages, notes) into the configured store.

    `episodes` > 1 tells the scripted story that many times over (more shifts, as in a long call). A new rep joins
    `team`. `rep_analysis=False` stores the rep's track and presence but no rep emotions, as the pipeline does.
    """
    settings = get_settings()
    rng = np.random.default_rng(seed)
    rows = []
    for track_no, (role, script) in enumerate(((REP, REP_SCRIPT), (PROSPECT, PROSPECT_SCRIPT)), start=1):
        told = tuple(((k + f) / episodes, e) for k in range(episodes) for f, e in script)
        seconds, probs = _probs(told, duration_s, rng)
        rows.append(TrackSecondRows(track_no, seconds, np.full(len(seconds), 4, np.int64), probs,
                                    np.tile(BOXES[role], (len(seconds), 1))))
    if not rep_analysis:  # tracked, never classified
        rows[0] = TrackSecondRows(1, rows[0].seconds, rows[0].n_frames, np.full_like(rows[0].probs, np.nan),
                                  rows[0].boxes)
    speech, mouths = _turns(duration_s, seed)
    rows = [replace(r, mouth_motion=mouths[role][r.seconds]) for r, role in zip(rows, (REP, PROSPECT))]
    roles = {1: REP, 2: PROSPECT}
    talk = who_speaks(speech, rows, roles)
    timelines, shifts = derive(rows, roles, duration_s, 3.0, talk=talk)

    source_path = None
    if video is not None:
        source_path = f"uploads/seed-{seed}{video.suffix}"
        (settings.data_dir / source_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(video, settings.data_dir / source_path)
    with session_scope() as session:
        rep_row = session.query(Rep).filter_by(name=rep).one_or_none() or Rep(name=rep, team=team)
        call = Call(title=title, rep=rep_row, prospect_name=prospect_name, prospect_company=prospect_company,
                    call_date=call_date or dt.date(2026, 11, 2), source_path=source_path, original_filename=f"{title}.mp4",
                    duration_s=float(duration_s), fps=30.0, width=1280, height=720, status=status,
                    settings={"rep_position": "left", "min_shift_seconds": 3.0, "rep_analysis": rep_analysis},
                    model_version="emotion_cnn.tflite:seed",
                    faces_found=2, analyzed_at=utcnow() if status == CallStatus.DONE else None,
                    consent_confirmed_by="mo", consent_confirmed_at=utcnow(),
                    consent_note="Notice in the invite; said again at the start of the call",
                    error="NotAVideo: could not read the recording" if status == CallStatus.FAILED else None)
        session.add(call)
        session.flush()
        session.add(Job(call_id=call.id, state=status, stage="done" if status == CallStatus.DONE else "analysing frames",
                        progress=100.0 if status == CallStatus.DONE else 40.0,
                        error=call.error))
        if status != CallStatus.DONE:
            return SeededCall(call.id, title, 0)
        folder = snapshot_folder(call.id, "seed")
        for track_no, role in roles.items():
            thumb = folder / f"track-{track_no}.jpg"
            save_jpeg(cv2.resize(face_portrait(FACES[role]), (120, 140)), settings.data_dir / thumb)
            track = Track(call_id=call.id, track_no=track_no, role=role, first_s=0.0, last_s=float(duration_s - 1),
                          n_frames=int(rows[track_no - 1].n_frames.sum()), mean_box=list(BOXES[role]),
                          thumbnail_path=str(thumb))
            session.add(track)
            session.flush()
            r = rows[track_no - 1]
            session.execute(insert(TrackSecond), [
                {"track_id": track.id, "second": int(s), "n_frames": 4,
                 "probs": None if np.isnan(p[0]) else [round(float(v), 5) for v in p], "box": list(BOXES[role]),
                 "mouth_motion": float(m)}
                for s, p, m in zip(r.seconds, r.probs, r.mouth_motion)])
        snapshots = []
        for shift in shifts[:24]:
            second = int(shift.t_s)
            faces = [FaceAnnotation(role, np.array(BOXES[role]), None if np.isnan(t.probs[second, 0]) else t.probs[second])
                     for role, t in timelines.items()]
            caption = f"{shift.role.capitalize()}: likely {shift.from_emotion} -> {shift.to_emotion} at {clock(shift.t_s)}"
            path = folder / f"shift-{second:05d}-{len(snapshots)}.jpg"
            save_jpeg(_still(faces, caption), settings.data_dir / path)
            snapshots.append({"t_s": float(second), "kind": "shift", "caption": caption, "path": str(path),
                              "shift_key": (shift.role, shift.t_s)})
        write_derived(session, call.id, timelines, shifts, snapshots, talk)
        if stages:
            session.add_all(ScriptStage(call_id=call.id, name=name, start_s=round(a * duration_s), end_s=round(b * duration_s))
                            for name, a, b in STAGES)
        if notes:
            first = next((s for s in shifts if s.role == PROSPECT and s.direction == "positive"), None)
            if first is not None:
                session.add(CoachingNote(call_id=call.id, t_s=first.t_s, author="Manager",
                                         text="Great question here - the prospect opened up. Do more of this."))
            session.add(CoachingNote(call_id=call.id, t_s=round(0.65 * duration_s), author="Manager",
                                     text="Price came before value: walk through the ROI first next time."))
        return SeededCall(call.id, title, len(shifts))


def seed_team(days: int = 5) -> list[SeededCall]:
    """A small team history: three reps, a few calls each over past weeks, one failed upload."""
    reps = ("Dana Whitfield", "Marcus Chen", "Priya Natarajan")
    prospects = (("Sam Lee", "Acme Corp"), ("Jo Park", "Globex"), ("Ana Ruiz", "Initech"), ("Lee Moss", "Umbrella"))
    calls = []
    for i in range(days):
        for j, rep in enumerate(reps):
            if (i + j) % 3 == 2:
                continue
            name, company = prospects[(i + j) % len(prospects)]
            calls.append(seed_call(title=f"{company} {('discovery', 'demo', 'pricing', 'renewal')[(i + j) % 4]} call",
                                   rep=rep, prospect_name=name, prospect_company=company,
                                   duration_s=120 + 30 * ((i * 3 + j) % 5),
                                   call_date=dt.date(2026, 10, 5) + dt.timedelta(days=7 * i + j),
                                   seed=10 * i + j, notes=i == days - 1, stages=i % 2 == 0))
    calls.append(seed_call(title="Hooli intro (upload failed)", rep=reps[1], prospect_name="Gavin B", prospect_company="Hooli",
                           status=CallStatus.FAILED, seed=99))
    return calls


def seed_users() -> dict[str, str]:
    """Add `USERS` (all with `PASSWORD`); returns username -> role."""
    for username, (role, name, team, rep) in USERS.items():
        add_user(username, PASSWORD, role, team=team, rep_name=rep, display_name=name, by="seed")
    return {username: spec[0] for username, spec in USERS.items()}


def sign_in(at, username: str):
    """Sign an AppTest in as `username` (as the sign-in form would), before its next run; returns it."""
    from dashboard.auth import SESSION_KEY, SIGNED_IN_AT_KEY

    at.session_state[SESSION_KEY] = username
    at.session_state[SIGNED_IN_AT_KEY] = time.time()
    return at
