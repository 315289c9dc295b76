"""Recognising an enrolled rep across calls: the face signature taken at enrolment, and finding it on a call.

With consent (recorded by `calls.enrolment`) a rep's *face signature* is stored: the mean of the
`model.identity` embeddings (128 numbers; never a picture) of a few frames of one person on one call the
manager picked (`embed_person`). When the workspace has `rep_recognition` on (`recognition_enabled`, off by
default), the analysis of a later call of that rep (`calls.rep_id`) loads the signatures (`rep_references`)
and the person whose mean embedding is within `model.identity.SAME_PERSON_DISTANCE` of one of them is the rep
(`recognised_person`), in any layout, before any position rule (`pipeline.roles.decide_roles`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import RepEnrolment, Workspace
from model.detect import iou_matrix, shared_detector
from model.identity import MIN_FACE_PX, SAME_PERSON_DISTANCE, shared_embedder
from pipeline.people import TrackLook, person_embeddings
from pipeline.video import read_frames_at

ENROL_FRAMES = 5
"""Frames a signature averages: the person's seconds with the largest faces, spread over the call (one frame
per second picked)."""
MATCH_IOU = 0.3
"""A face found on an enrolment frame is the picked person's when its box overlaps the stored box of that
second this much (the stored box is the second's mean, so a drifting face still overlaps it)."""
ANALYSIS_WIDTH = 640
"""Frames are read at the analysis width, as the analysis embeds them (`pipeline.analyze.AnalysisSettings`)."""


def recognition_enabled(session: Session) -> bool:
    """The workspace's rep-recognition switch (off until an admin turns it on; off on a store with no workspace yet)."""
    return bool(session.scalar(select(Workspace.rep_recognition)))


def rep_references(session: Session, rep_id: int | None) -> np.ndarray | None:
    """(k, 128) float32 signatures of the rep to look for on a call, or None (no rep, none enrolled, or off)."""
    if rep_id is None or not recognition_enabled(session):
        return None
    rows = session.scalars(select(RepEnrolment.embedding).where(RepEnrolment.rep_id == rep_id)).all()
    return np.array(rows, np.float32) if rows else None


def embed_person(source: Path, moments: list[tuple[float, np.ndarray]], detector: str = "blazeface") -> np.ndarray:
    """(n, 128) embeddings of one person from `moments`: (call-clock seconds, (4,) xyxy box as frame fractions).

    Each frame is searched for faces (`detector`); the face overlapping the stored box (`MATCH_IOU`) and at
    least `model.identity.MIN_FACE_PX` tall is embedded. n may be 0 (no such face on any of the frames).
    Raises `pipeline.errors.CorruptVideo` when the recording cannot be read at those times.
    """
    if not moments:
        return np.zeros((0, 128), np.float32)
    found = []
    frames = read_frames_at(source, [t for t, _ in moments], ANALYSIS_WIDTH)
    for (_, box), frame in zip(moments, frames):
        h, w = frame.shape[:2]
        wanted = np.asarray(box, np.float64)[None] * [w, h, w, h]
        faces = shared_detector(detector).detect(frame)
        if not len(faces):
            continue
        overlap = iou_matrix(faces.xyxy.astype(np.float64), wanted)[:, 0]
        best = int(np.argmax(overlap))
        xyxy = faces.xyxy[best]
        if overlap[best] >= MATCH_IOU and xyxy[3] - xyxy[1] >= MIN_FACE_PX:
            found.append(shared_embedder().embed(frame, xyxy[None])[0])
    return np.array(found, np.float32).reshape(-1, 128)


def recognised_person(looks: dict[int, TrackLook], people: dict[int, int], references: np.ndarray | None) -> int | None:
    """The person (number) whose mean embedding over all their tracks is closest to a reference signature, if
    within `SAME_PERSON_DISTANCE`; None when nobody is (or no reference)."""
    if references is None or not len(references):
        return None
    best, best_distance = None, SAME_PERSON_DISTANCE
    for person, mean in person_embeddings(looks, people).items():
        distance = float(np.linalg.norm(references - mean, axis=1).min())
        if distance <= best_distance:
            best, best_distance = person, distance
    return best
