"""Roles: which track is the rep, which the prospect, who else is on the call.

Tracks are first grouped into *seats* (screen positions: a face that leaves and
comes back gets a new track but keeps its seat), then seats get roles:

* one seat                      -> the prospect (speaker view with self-view hidden);
* one seat much larger than all
  others (speaker view)         -> large = prospect, the most present small one = rep;
* tiles of similar size
  (gallery, side by side or
  stacked)                      -> the tile furthest toward `rep_position` = rep,
                                   the most present other tile = prospect;
* any further seats             -> participant-1, participant-2, ... (never dropped).

Tiny or short-lived tracks (false detections) get no role at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.detect import iou_matrix

REP, PROSPECT = "rep", "prospect"
REP_POSITIONS = ("left", "right", "top", "bottom")

MIN_DETECTIONS = 2
"""A track needs this many detector hits to be a participant: flicker never is."""
MIN_FACE_HEIGHT = 0.05
"""...and a mean face height of at least this fraction of the frame height."""
SEAT_IOU = 0.3
"""Mean boxes overlapping this much (and not on screen at once) are the same seat."""
SPEAKER_VIEW_AREA_RATIO = 3.0
"""A seat this many times larger than every other one means speaker view."""


@dataclass(frozen=True)
class TrackSummary:
    track_id: int
    first_t: float
    last_t: float
    n_frames: int
    n_detections: int
    mean_box: np.ndarray  # xyxy as fractions of the frame (0..1)

    @property
    def area(self) -> float:
        return float((self.mean_box[2] - self.mean_box[0]) * (self.mean_box[3] - self.mean_box[1]))

    @property
    def center(self) -> np.ndarray:
        return np.array([(self.mean_box[0] + self.mean_box[2]) / 2, (self.mean_box[1] + self.mean_box[3]) / 2])


@dataclass
class Seat:
    tracks: list[TrackSummary]

    @property
    def frames(self) -> int:
        return sum(t.n_frames for t in self.tracks)

    @property
    def box(self) -> np.ndarray:
        weights = np.array([t.n_frames for t in self.tracks], np.float64)
        return np.average(np.stack([t.mean_box for t in self.tracks]), axis=0, weights=weights)

    @property
    def area(self) -> float:
        b = self.box
        return float((b[2] - b[0]) * (b[3] - b[1]))

    def overlaps_in_time(self, track: TrackSummary) -> bool:
        return any(t.first_t < track.last_t and track.first_t < t.last_t for t in self.tracks)


def is_participant(track: TrackSummary, min_detections: int = MIN_DETECTIONS) -> bool:
    height = track.mean_box[3] - track.mean_box[1]
    return track.n_detections >= min_detections and height >= MIN_FACE_HEIGHT


def group_seats(tracks: list[TrackSummary]) -> list[Seat]:
    seats: list[Seat] = []
    for track in sorted(tracks, key=lambda t: -t.n_frames):
        for seat in seats:
            same_place = iou_matrix(seat.box[None], track.mean_box[None])[0, 0] >= SEAT_IOU
            if same_place and not seat.overlaps_in_time(track):
                seat.tracks.append(track)
                break
        else:
            seats.append(Seat([track]))
    return seats


def _toward(seat: Seat, rep_position: str) -> float:
    """Larger = further toward `rep_position` on screen."""
    cx, cy = (seat.box[0] + seat.box[2]) / 2, (seat.box[1] + seat.box[3]) / 2
    return {"left": -cx, "right": cx, "top": -cy, "bottom": cy}[rep_position]


def assign_roles(tracks: list[TrackSummary], rep_position: str = "left", min_detections: int = MIN_DETECTIONS) -> dict[int, str]:
    """Map track id -> role for every track that is a real participant.

    `min_detections` is lowered only for clips so short the detector ran fewer times than `MIN_DETECTIONS`."""
    if rep_position not in REP_POSITIONS:
        raise ValueError(f"rep position must be one of {', '.join(REP_POSITIONS)}, not {rep_position!r}")
    seats = group_seats([t for t in tracks if is_participant(t, min_detections)])
    if not seats:
        return {}
    by_presence = sorted(seats, key=lambda s: (-s.frames, -s.area))
    largest = max(seats, key=lambda s: s.area)
    others = [s for s in seats if s is not largest]
    if not others:
        named = {PROSPECT: largest}
    elif all(largest.area >= SPEAKER_VIEW_AREA_RATIO * s.area for s in others):
        rep = max(others, key=lambda s: (s.frames, -s.area))
        named = {PROSPECT: largest, REP: rep}
    else:
        principal = [s for s in seats if s.area * SPEAKER_VIEW_AREA_RATIO >= largest.area]
        rep = max(principal, key=lambda s: _toward(s, rep_position))
        prospect = next(s for s in by_presence if s is not rep)
        named = {REP: rep, PROSPECT: prospect}
    rest = [s for s in by_presence if all(s is not v for v in named.values())]
    named.update({f"participant-{i}": seat for i, seat in enumerate(rest, start=1)})
    return {track.track_id: role for role, seat in named.items() for track in seat.tracks}
