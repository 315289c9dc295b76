"""Tracking: give each face a stable id across sampled frames.

A small IoU tracker in the spirit of norfair: detections are matched to live
tracks by optimal assignment on box overlap; a track survives short misses
(detector flicker) for `max_gap_s` and is then closed, so a face that leaves
and comes back later starts a new track (roles are later given per screen
position, so both tracks get the same role). Between detection runs the last
detected boxes are carried, since faces in call tiles move slowly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from model.detect import Detections, iou_matrix


@dataclass(frozen=True)
class TrackedFaces:
    """The faces visible in one sampled frame, with their track ids."""

    t: float
    track_ids: np.ndarray  # (N,) int
    xyxy: np.ndarray  # (N, 4) float32, analysis-frame pixels
    detected: np.ndarray  # (N,) bool: matched by a detector run on this very frame

    def __len__(self) -> int:
        return len(self.track_ids)

    @classmethod
    def none(cls, t: float) -> "TrackedFaces":
        return cls(t, np.zeros(0, np.int64), np.zeros((0, 4), np.float32), np.zeros(0, bool))


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    last_detected_t: float
    n_detections: int = 1  # detector boxes matched to this track (the same count as TrackSummary.n_detections)
    visible: bool = True  # matched at the latest detection run


def similarity(tracks: np.ndarray, found: np.ndarray) -> np.ndarray:
    """max(IoU, 1 - centre distance / face size): faces that moved between detector runs still match."""
    centres_t = (tracks[:, :2] + tracks[:, 2:]) / 2
    centres_f = (found[:, :2] + found[:, 2:]) / 2
    size = np.sqrt((tracks[:, 2] - tracks[:, 0]) * (tracks[:, 3] - tracks[:, 1]))
    distance = np.linalg.norm(centres_t[:, None] - centres_f[None], axis=2) / np.maximum(size[:, None], 1e-6)
    return np.maximum(iou_matrix(tracks, found), 1.0 - distance)


@dataclass
class FaceTracker:
    min_similarity: float = 0.25
    """Least similarity (box overlap, or closeness of centres for a face that moved) to be the same face."""
    max_gap_s: float = 2.5
    """How long a track may go undetected (flicker, a hand over the face) before it is closed."""
    box_smoothing: float = 0.5
    """Weight of the previous box when a new detection updates it: damps detector jitter."""

    _tracks: list[_Track] = field(default_factory=list)
    _next_id: int = 0

    @property
    def needs_detection(self) -> bool:
        """True while some live track was missed: detect again soon instead of waiting."""
        return any(not track.visible for track in self._tracks)

    def update(self, t: float, detections: Detections | None) -> TrackedFaces:
        """Advance to time `t`; `detections` is None on frames where no detector ran."""
        if detections is not None:
            self._match(t, detections)
        visible = [track for track in self._tracks if track.visible]
        return TrackedFaces(
            t,
            np.array([track.track_id for track in visible], np.int64),
            np.array([track.box for track in visible], np.float32).reshape(-1, 4),
            np.array([detections is not None] * len(visible), bool),
        )

    def _match(self, t: float, detections: Detections) -> None:
        self._tracks = [track for track in self._tracks if t - track.last_detected_t <= self.max_gap_s]
        matched_tracks, matched_dets = set(), set()
        if self._tracks and len(detections):
            overlap = similarity(np.array([track.box for track in self._tracks]), detections.xyxy)
            rows, cols = linear_sum_assignment(-overlap)
            for r, c in zip(rows, cols):
                if overlap[r, c] >= self.min_similarity:
                    track = self._tracks[r]
                    track.box = self.box_smoothing * track.box + (1 - self.box_smoothing) * detections.xyxy[c]
                    track.last_detected_t, track.n_detections = t, track.n_detections + 1
                    matched_tracks.add(r)
                    matched_dets.add(c)
        for i, track in enumerate(self._tracks):
            track.visible = i in matched_tracks
        for c in range(len(detections)):
            if c not in matched_dets:
                self._tracks.append(_Track(self._next_id, detections.xyxy[c].copy(), t))
                self._next_id += 1
