"""Tracking: give each face a stable id across sampled frames, and say on every frame whether it is there.

A small IoU tracker in the spirit of norfair: detections are matched to tracks by optimal
assignment on box overlap (or closeness of centres, for a face that moved). Presence is
decided on every sampled frame: the analysis either detects on the whole frame (every few
seconds, to find new faces) or searches a window around every watched track
(`search_windows`, one cheap detector call each); a track is present on a frame only if a
detection matched it there, so a face that leaves is absent on the next sampled frame and
never carried. A track's last place is searched for `watch_s` after it was last seen, so a
face that comes back there continues its track on the first frame it is back; after that,
a face found again starts a new track (`pipeline.people` groups it with the earlier ones by
appearance, so it gets the same role). The tracker follows places, not people: a cut to another
face in the same place is split off by `pipeline.people.IdentityWatch`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from model.blazeface import N_KEYPOINTS, Window
from model.detect import Detections, iou_matrix


@dataclass(frozen=True)
class TrackedFaces:
    """The faces present in one sampled frame, with their track ids and what the detector said."""

    t: float
    track_ids: np.ndarray  # (N,) int
    xyxy: np.ndarray  # (N, 4) float32, analysis-frame pixels
    confidence: np.ndarray  # (N,) float32 detector score on this frame
    keypoints: np.ndarray  # (N, 6, 2) float32 analysis-frame pixels (see `Detections`), NaN if not given

    def __len__(self) -> int:
        return len(self.track_ids)

    @classmethod
    def none(cls, t: float) -> "TrackedFaces":
        return cls(t, np.zeros(0, np.int64), np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros((0, N_KEYPOINTS, 2), np.float32))


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    last_seen_t: float
    visible: bool = True  # matched on the latest frame
    n_detections: int = 1  # detector boxes matched to this track (the same count as TrackSummary.n_detections)
    confidence: float = 0.0
    keypoints: np.ndarray = field(default_factory=lambda: np.full((N_KEYPOINTS, 2), np.nan, np.float32))


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
    watch_s: float = 60.0
    """How long a track's last place is searched on every frame after it was last seen; then the track is closed."""
    box_smoothing: float = 0.3
    """Weight of the previous box when a new detection updates it: damps detector jitter, follows head motion."""
    birth_score: float = 0.68
    """Least detector score to start a track. Keeping a known face needs only the detector's own
    threshold (two thresholds, as in ByteTrack): BlazeFace scores faces 0.85-0.95 and its false
    alarms on blurred call backgrounds 0.5-0.6; a tilted or dim face it already follows may dip.
    A face in a surgical mask scores lower (0.72 for Grace Hopper's masked portrait at 640 px), so the
    line sits between the backgrounds' 0.6 and that."""
    tentative_s: float = 2.0
    """A track seen on one frame only (most likely a false alarm) is searched for this long, not `watch_s`."""
    search_scale: float = 2.0
    """Side of a track's search window / the face box's longer side: room for half a face of motion
    between sampled frames, and the face fills half the window (BlazeFace's best range)."""

    _tracks: list[_Track] = field(default_factory=list)
    _next_id: int = 0

    def search_windows(self) -> list[Window]:
        """One square window around every watched track (present or recently gone), frame pixels."""
        windows = []
        for track in self._tracks:
            x1, y1, x2, y2 = track.box
            side = self.search_scale * max(x2 - x1, y2 - y1)
            windows.append(Window((x1 + x2 - side) / 2, (y1 + y2 - side) / 2, side))
        return windows

    @property
    def all_present(self) -> bool:
        """Whether faces are watched and every one was found on the latest frame (nothing is missing)."""
        return bool(self._tracks) and all(track.visible for track in self._tracks)

    def update(self, t: float, detections: Detections) -> TrackedFaces:
        """Advance to time `t` with the faces found on this frame (whole frame, or every track's search window).

        Every track that no detection matched is absent on this frame.
        """
        self._tracks = [track for track in self._tracks
                        if t - track.last_seen_t <= (self.watch_s if track.n_detections > 1 else self.tentative_s)]
        matched_tracks, matched_dets = set(), set()
        if self._tracks and len(detections):
            overlap = similarity(np.array([track.box for track in self._tracks]), detections.xyxy)
            rows, cols = linear_sum_assignment(-overlap)
            for r, c in zip(rows, cols):
                if overlap[r, c] >= self.min_similarity:
                    track = self._tracks[r]
                    track.box = self.box_smoothing * track.box + (1 - self.box_smoothing) * detections.xyxy[c]
                    track.last_seen_t, track.n_detections = t, track.n_detections + 1
                    track.confidence, track.keypoints = float(detections.confidence[c]), detections.keypoints[c]
                    matched_tracks.add(r)
                    matched_dets.add(c)
        for i, track in enumerate(self._tracks):
            track.visible = i in matched_tracks
        for c in range(len(detections)):
            if c not in matched_dets and detections.confidence[c] >= self.birth_score:
                self._tracks.append(_Track(self._next_id, detections.xyxy[c].copy(), t,
                                           confidence=float(detections.confidence[c]), keypoints=detections.keypoints[c]))
                self._next_id += 1
        visible = [track for track in self._tracks if track.visible]
        if not visible:
            return TrackedFaces.none(t)
        return TrackedFaces(
            t,
            np.array([track.track_id for track in visible], np.int64),
            np.array([track.box for track in visible], np.float32).reshape(-1, 4),
            np.array([track.confidence for track in visible], np.float32),
            np.array([track.keypoints for track in visible], np.float32).reshape(-1, N_KEYPOINTS, 2),
        )
