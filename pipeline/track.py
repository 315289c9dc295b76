"""Tracking: give each face a stable id across sampled frames, and say on every frame whether it is there.

A small IoU tracker in the spirit of norfair: detections are matched to tracks by optimal
assignment on box overlap (or closeness of centres, for a face that moved). Presence is
decided on every sampled frame: the analysis either detects on the whole frame (every few
seconds, to find new faces) or searches a window around every watched track
(`search_windows`, one cheap detector call each); a track is present on a frame only if a
detection matched it there (or the shortcut below kept the detector's last answer), so a face
that leaves is absent on the next sampled frame and never carried.

Two shortcuts (`plan_search`), both on what a window shows:
- a window that still shows what it showed when the detector found the face there (allowing for
  head motion) is not searched again for less than `reverify_s`; the detector's answer stands, moved
  with the face. A face that leaves changes its window, so it is searched, and absent, on the first
  frame it is gone; and since every window is searched at least every `reverify_s` (half a second),
  no face is ever kept longer than that;
- the place of a face that is gone, while it shows the very picture the detector last found nothing
  in (a camera-off tile: call apps and encoders repeat a still picture exactly), is not searched: the
  same pixels give the same answer. A face that comes back changes the picture, so it is searched,
  and present, on the first frame it is back.

A track's last place is searched for `watch_s` after it was last seen, so a face that comes back
there continues its track on the first frame it is back; after that, a face found again starts a
new track (`pipeline.people` groups it with the earlier ones by appearance, so it gets the same
role). The tracker follows places, not people: a cut to another face in the same place is split
off by `pipeline.people.IdentityWatch`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from model.blazeface import CELLS, N_KEYPOINTS, SAME_PICTURE_RMS, Window, cells, same_picture
from model.detect import Detections, iou_matrix


@dataclass(frozen=True)
class TrackedFaces:
    """The faces present in one sampled frame, with their track ids and what the detector said."""

    t: float
    track_ids: np.ndarray  # (N,) int
    xyxy: np.ndarray  # (N, 4) float32, analysis-frame pixels
    confidence: np.ndarray  # (N,) float32 detector score on this frame
    keypoints: np.ndarray  # (N, 6, 2) float32 analysis-frame pixels (see `Detections`), NaN if not given
    frozen_since: np.ndarray | None = None
    """(N,) float: for a face whose pixels have not changed for `pipeline.people.FROZEN_MIN_S` (its video froze), the
    call-clock time its picture last changed, after which every picture was the old one; NaN for a live face. None:
    not known yet (the tracker's output, before `pipeline.people.IdentityWatch` looks at the pixels)."""

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
    # 0: a candidate, a face the whole-frame search scored under `FaceTracker.birth_score` (see `candidate_s`)
    confidence: float = 0.0
    keypoints: np.ndarray = field(default_factory=lambda: np.full((N_KEYPOINTS, 2), np.nan, np.float32))
    verified: "_Verified | None" = None
    """What the detector last found of this face, for `plan_search` to compare with."""
    reused: bool = False  # this frame keeps the detector's last answer (set by `plan_search`, used by `update`)
    empty: np.ndarray | None = None
    """Its window as a patch when the detector last searched that window and found no face there (None: found)."""
    searched: bool = False  # its window is among `plan_search`'s on this frame (used by `update`)
    sightings: int = 0  # a candidate's window searches in a row that found it under `FaceTracker.window_birth_score`
    found_t: float = 0.0  # when a candidate was found (a whole-frame search): it is watched `candidate_s` from then


_SLACK = 2  # cells of motion each way the comparison allows for


@dataclass(frozen=True)
class _Verified:
    """A face as the detector last found it: when, its box and keypoints, and its search window as a patch."""

    t: float
    box: np.ndarray
    keypoints: np.ndarray
    window: Window
    patch: np.ndarray  # (CELLS, CELLS) float32

    @classmethod
    def of(cls, frame_gray: np.ndarray, t: float, box: np.ndarray, keypoints: np.ndarray, window: Window
           ) -> "_Verified | None":
        patch = cells(frame_gray, window.x, window.y, window.side)
        return None if patch is None else cls(t, box.copy(), keypoints.copy(), window, patch)

    def match(self, frame_gray: np.ndarray) -> tuple[float, np.ndarray] | None:
        """(RMS grey-level difference, (dx, dy) pixels) of the best placement of the patch on this frame, within
        `_SLACK` cells of where it was; None if that area leaves the frame."""
        cell = self.window.side / CELLS
        area = cells(frame_gray, self.window.x - _SLACK * cell, self.window.y - _SLACK * cell,
                     self.window.side + 2 * _SLACK * cell, CELLS + 2 * _SLACK)
        if area is None:
            return None
        squared = cv2.matchTemplate(area, self.patch, cv2.TM_SQDIFF)
        least, _, (x, y), _ = cv2.minMaxLoc(squared)
        rms = float(np.sqrt(max(least, 0.0) / self.patch.size))
        if rms < SAME_PICTURE_RMS:  # the same picture (a held frame, a slide): nothing moved
            return rms, np.zeros(2)
        shift = np.array([x + _vertex(squared[y, x - 1 : x + 2]), y + _vertex(squared[y - 1 : y + 2, x])]) - _SLACK
        return rms, shift * cell


def _vertex(three: np.ndarray) -> float:
    """Sub-cell offset (-0.5..0.5) of the minimum of a parabola through three neighbouring values (0 at an edge)."""
    if len(three) != 3:
        return 0.0
    curvature = float(three[0] - 2 * three[1] + three[2])
    return float(np.clip((three[0] - three[2]) / (2 * curvature), -0.5, 0.5)) if curvature > 0 else 0.0


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
    """Least detector score to start a track (on a whole frame; in a window `window_birth_score`), or to continue one
    that was absent on the previous frame.
    Keeping a face present on the previous frame needs only the detector's own threshold (two
    thresholds, as in ByteTrack, whose low-score detections continue only tracks still tracked):
    BlazeFace scores faces 0.85-0.95 and its false alarms on blurred call backgrounds 0.5-0.6; a
    tilted or dim face it already follows may dip. (A new-user trial: a camera-off name card's initials
    circle, 0.54, continued the gone face's track in its tile, and its embedding kept the returning
    face from being grouped with itself.)
    A face in a surgical mask scores lower (0.72 for Grace Hopper's masked portrait at 640 px), so the
    line sits between the backgrounds' 0.6 and that."""
    tentative_s: float = 2.0
    """A track seen on one frame only (most likely a false alarm) is searched for this long, not `watch_s`."""
    candidate_s: float = 1.0
    """A face the whole-frame search found away from every track but scored under `birth_score` is a candidate: not
    present, but its window is searched on every frame for this long, and a score there of `window_birth_score` or
    more makes it a track at once. A call's first pictures are often its worst (an encoder starting at a low bit rate): a
    300 kbit/s H.264 call at 30% brightness scored both faces 0.61-0.67 on its first two frames and 0.88-0.93 from
    0.5 s, so without candidates a face missed there waited for the next whole-frame search (2 s; 6 s before
    `AnalysisSettings.detect_every_settled_s` gave way after a newcomer); with candidates, at 0.5 s (10-30%
    brightness, H.264 and VP9 at 300 kbit/s: 10 of 11 calls' faces by 0.5 s, the last by 1 s). Candidates do not
    count as missing faces (`all_present`): a background's false alarm (0.5-0.6) costs its window on the frames of
    this long after each whole-frame search, never more whole-frame searches (`tools.bench --minutes 2`, with the
    newcomer rule: BlazeFace windows per second of call 9.9 -> 11.1 on the easy layout, 12.5 -> 12.8 on the
    realistic one; 11.5 on the easy one with candidates searched for 2 s)."""
    search_scale: float = 2.0
    """Side of a track's search window / the face box's longer side: room for half a face of motion
    between sampled frames, and the face fills half the window (BlazeFace's best range)."""
    window_birth_score: float = 0.8
    """Least score that starts a track (or makes a candidate one) from a window search (`plan_search`): above
    `birth_score`, as a window zooms in on what it holds and lifts false alarms (a helmet's detail above a speaker
    view's big face, 0.5-0.6 on whole frames, reached 0.69 in windows and became a third person); real faces score
    0.85-0.95 in windows once the picture is good (the dim faces of `candidate_s`: 0.81-0.88). A face that scores less
    starts its track at the next whole-frame search."""
    candidate_confirm_frames: int = 4
    """A candidate its window search finds on this many frames in a row, each time at `birth_score` or more but under
    `window_birth_score`, becomes a track on the last of them: a steady small face is a face. A new-user trial (18)
    recorded a speaker view with cuts beside the rep's 180-px self-view (28 px at analysis size): BlazeFace scored it
    0.67, 0.62 and 0.55 on the whole-frame searches for small faces, then 0.69-0.74 in its window on every frame after
    each, so it was never tracked and the call's roles became a guess. The false alarm `window_birth_score` keeps out
    (a helmet's detail, 0.69 once in a window) would need four such frames in a row as well."""
    candidate_search_scale: float = 3.0
    """`search_scale` of a candidate (`candidate_s`): a low score comes with a loose box (the same dim face boxed 55 px
    with its centre 27 px low, and 155 px around the head), which a window twice its size missed."""
    unchanged_change: float = 25.0
    """RMS change (grey levels, 0-255) of a face's search window, at 24×24 cells and after the best shift of up to
    two cells (head motion), since the detector last found the face there, below which `plan_search` keeps
    that answer, moved by that shift, instead of searching again. Measured on the bench's realistic call
    (`tools.bench`, 0.25 s after a detection): faces still there 16 (median), 22 (90th percentile); tilting
    20-25° at once 63-79 (searched); faces gone from their tile 66-67. On the 511 frames kept there, the
    detector, run anyway, found every face, its eyes 1.1 px (median; at most 2.8 px) from the kept ones."""
    reverify_s: float = 0.5
    """Longest the detector's answer is kept: every window is searched at least this often, so a face that left
    is absent within half a second whatever its window shows (the issue's bound)."""

    _tracks: list[_Track] = field(default_factory=list)
    _next_id: int = 0
    _shown: frozenset[int] = frozenset()  # the track ids present on the latest frame
    _shown_since: float = 0.0  # when that set of faces appeared

    def _window(self, track: _Track) -> Window:
        x1, y1, x2, y2 = track.box
        side = (self.search_scale if track.n_detections else self.candidate_search_scale) * max(x2 - x1, y2 - y1)
        return Window((x1 + x2 - side) / 2, (y1 + y2 - side) / 2, side)

    def present_windows(self) -> list[Window]:
        """The search windows of the faces followed and present on the latest frame: a whole-frame search reads them
        too (`pipeline.analyze`), as its pyramid misses faces under ~36 px that their own windows find."""
        return [self._window(track) for track in self._tracks if track.visible and track.n_detections]

    def search_windows(self) -> list[Window]:
        """One square window around every watched track (present or recently gone), frame pixels."""
        return [self._window(track) for track in self._tracks]

    def plan_search(self, frame_gray: np.ndarray, t: float) -> list[Window]:
        """The windows the detector must search on the frame at `t` (grey, frame pixels): `search_windows` less
        those of faces found on the previous frame whose window changed less than `unchanged_change` since the
        detector last found them there, less than `reverify_s` ago. Those keep that answer, moved with the window's
        pixels: the next `update` reports them present with the detector's score. Also less the windows of faces
        gone that show the same picture (`model.blazeface.same_picture`) as when the detector last found nothing there."""
        windows = []
        for track in self._tracks:
            track.reused = False
            last = track.verified
            if track.visible and last is not None and t - last.t < self.reverify_s - 1e-6:
                found = last.match(frame_gray)
                if found is not None and found[0] < self.unchanged_change:
                    track.reused = True
                    track.box, track.keypoints = last.box + np.tile(found[1], 2), last.keypoints + found[1]
            window = self._window(track)
            still_empty = False
            if not track.visible and track.empty is not None:
                patch = cells(frame_gray, window.x, window.y, window.side)
                still_empty = patch is not None and same_picture(patch, track.empty)
            track.searched = not track.reused and not still_empty
            if track.searched:
                windows.append(window)
        return windows

    def _watched(self, track: _Track, t: float) -> bool:
        """Whether a track's place is still searched at `t`: `watch_s` after it was last seen, `tentative_s` for one
        seen once, `candidate_s` for a candidate after it was found, longer only while its run of sightings
        (`candidate_confirm_frames`) goes on."""
        if track.n_detections:
            return t - track.last_seen_t <= (self.watch_s if track.n_detections > 1 else self.tentative_s)
        return t - (track.last_seen_t if track.sightings else track.found_t) <= self.candidate_s

    def _birth_score(self, from_windows: bool) -> float:
        return self.window_birth_score if from_windows else self.birth_score

    def _near_a_track(self, box: np.ndarray) -> bool:
        """Whether a box is where a track (present, gone or a candidate) already is (`min_similarity`)."""
        if not self._tracks:
            return False
        return bool((similarity(np.array([track.box for track in self._tracks]), box[None]) >= self.min_similarity).any())

    def end_tracks(self) -> None:
        """Close every track (the picture changed shape: a phone turned, `pipeline.video.canvas_for`); faces found
        next start new ones, with new ids."""
        self._tracks, self._shown = [], frozenset()

    @property
    def n_reused(self) -> int:
        """Faces the latest `plan_search` kept without searching."""
        return sum(track.reused for track in self._tracks)

    def unchanged_for(self, t: float) -> float:
        """Seconds, up to `t`, that the same faces have been present (none came, none went)."""
        return t - self._shown_since

    @property
    def all_present(self) -> bool:
        """Whether faces are watched and every one was found on the latest frame (nothing is missing)."""
        followed = [track for track in self._tracks if track.n_detections]
        return bool(followed) and all(track.visible for track in followed)

    def update(self, t: float, detections: Detections, frame_gray: np.ndarray | None = None,
               from_windows: bool = False) -> TrackedFaces:
        """Advance to time `t` with the faces found on this frame: on the whole frame, or (`from_windows`) in the
        windows `plan_search` gave.

        Every track that no detection matched is absent on this frame, unless `plan_search` kept its last answer.
        `frame_gray` (the frame, grey) lets the next `plan_search` compare windows with this frame's. Only a search
        of a face's own window can tell that its place is empty: the whole-frame search misses faces a window
        finds (found by a new-user trial: 26-30-px faces in a held picture, missed by a whole-frame search, were
        then never searched again while the picture stayed the same)."""
        self._tracks = [track for track in self._tracks if self._watched(track, t)]
        matched_tracks, matched_dets = set(), set()
        if self._tracks and len(detections):
            overlap = similarity(np.array([track.box for track in self._tracks]), detections.xyxy)
            gone = np.array([not track.visible for track in self._tracks])
            overlap[np.ix_(gone, detections.confidence < self.birth_score)] = 0.0  # see `birth_score` (candidates too)
            rows, cols = linear_sum_assignment(-overlap)
            for r, c in zip(rows, cols):
                if overlap[r, c] >= self.min_similarity:
                    track = self._tracks[r]
                    if track.n_detections == 0 and detections.confidence[c] < self._birth_score(from_windows):
                        track.sightings += 1  # see `candidate_confirm_frames`
                        track.box, track.last_seen_t = detections.xyxy[c].copy(), t
                        matched_dets.add(c)
                        if track.sightings < self.candidate_confirm_frames:
                            continue
                    track.box = self.box_smoothing * track.box + (1 - self.box_smoothing) * detections.xyxy[c]
                    track.last_seen_t, track.n_detections = t, track.n_detections + 1
                    track.confidence, track.keypoints = float(detections.confidence[c]), detections.keypoints[c]
                    matched_tracks.add(r)
                    matched_dets.add(c)
        for i, track in enumerate(self._tracks):
            if track.n_detections == 0 and track.last_seen_t < t:
                track.sightings = 0  # not found in its window on this frame: the run of sightings is broken
            track.visible = i in matched_tracks or track.reused
            if track.reused and i not in matched_tracks:
                track.last_seen_t = t
            elif i in matched_tracks and frame_gray is not None:
                track.verified = _Verified.of(frame_gray, t, track.box, track.keypoints, self._window(track))
            if track.visible or frame_gray is None:
                track.empty = None
            elif from_windows and track.searched and track.last_seen_t < t:  # its window searched, nothing found
                window = self._window(track)
                track.empty = cells(frame_gray, window.x, window.y, window.side)
            track.reused = track.searched = False
        for c in range(len(detections)):
            if c in matched_dets:
                continue
            if detections.confidence[c] >= self._birth_score(from_windows):
                track = _Track(self._next_id, detections.xyxy[c].copy(), t,
                               confidence=float(detections.confidence[c]), keypoints=detections.keypoints[c])
                if frame_gray is not None:
                    track.verified = _Verified.of(frame_gray, t, track.box, track.keypoints, self._window(track))
            elif not from_windows and not self._near_a_track(detections.xyxy[c]):
                track = _Track(self._next_id, detections.xyxy[c].copy(), t, visible=False, n_detections=0, found_t=t)
            else:
                continue  # a low score beside a known face (a gone face's place: see `birth_score`), or in its window
            self._tracks.append(track)
            self._next_id += 1
        visible = [track for track in self._tracks if track.visible]
        shown = frozenset(track.track_id for track in visible)
        if shown != self._shown:
            self._shown, self._shown_since = shown, t
        if not visible:
            return TrackedFaces.none(t)
        return TrackedFaces(
            t,
            np.array([track.track_id for track in visible], np.int64),
            np.array([track.box for track in visible], np.float32).reshape(-1, 4),
            np.array([track.confidence for track in visible], np.float32),
            np.array([track.keypoints for track in visible], np.float32).reshape(-1, N_KEYPOINTS, 2),
        )


@dataclass
class ArrivalWatch:
    """Whether the picture changed, away from every watched face, enough for someone new to have arrived.

    A newcomer appears where no face is watched: a new gallery tile, or a camera turned on in a tile that showed a name
    card. Between whole-frame searches the analysis looks only around known faces, so it would find them at the next
    scheduled search (`AnalysisSettings.detect_every_settled_s`); this compares the frame, outside every watched
    face's search window, with the frame of the last whole-frame search (`remember`), so a change of that size starts
    one at once. Cost: ~0.2 ms per sampled frame (one area resize of the grey frame).
    """

    cell_px: int = 16
    """Side of the compared cells, analysis-frame pixels (area-averaged): sensor and compression noise averages out."""
    min_cell_change: float = 24.0
    """Grey levels (0-255) a cell's mean must change by to count as changed: a new picture, not noise or light drift."""
    min_changed_share: float = 0.02
    """Share of the frame's cells, outside the watched windows, that must have changed: a tile or a camera's picture
    (a 3×3 gallery's tile is 11% of the frame). Measured (2026-12-01, generated recordings of two new-user trials and
    the bench's 2-min calls, 1280×720 H.264 read at 640 px): a third person's tile appearing in a 2×2 grid 25%; a camera
    turned on in a 3-tile row 5%, in a 3×3 grid 6%, in a dim room 2.5-2.7%; a new thumbnail in a screen share's strip
    3.7%; a slide change 4%; a face leaving or coming back 4-10%. Not arrivals: heads, shoulders and hands moving
    near the faces 1.7% at most (a trial's call full of gestures), faces drifting 25 px and tilting 0.6% at most
    (3.0-3.9% compared cell to cell without the neighbours: 42 whole-frame searches of the realistic call instead of
    28)."""

    _reference: np.ndarray | None = None

    def _cells(self, frame_gray: np.ndarray) -> np.ndarray:
        """(rows, columns) cell means; the frame's last partial row and column of cells are left out (an integer
        scale: OpenCV's fast area path, 0.1 ms at 640×360 against 0.7 ms for 360 / 22.5 px)."""
        rows, columns = max(1, frame_gray.shape[0] // self.cell_px), max(1, frame_gray.shape[1] // self.cell_px)
        whole = frame_gray[: rows * self.cell_px, : columns * self.cell_px]
        return cv2.resize(whole, (columns, rows), interpolation=cv2.INTER_AREA).astype(np.float32)

    def remember(self, frame_gray: np.ndarray) -> None:
        """The frame of a whole-frame search: what later frames are compared with."""
        self._reference = self._cells(frame_gray)

    def changed_share(self, frame_gray: np.ndarray, windows: list[Window]) -> float:
        """Share of the frame's cells that changed by `min_cell_change` since `remember`, not counting cells any of
        `windows` (frame pixels) overlaps; 0 before the first `remember`."""
        if self._reference is None:
            return 0.0
        now = self._cells(frame_gray)
        # changed: unlike the reference's cell there and each of its 8 neighbours (a face and shoulders that moved
        # up to a cell are not new pictures)
        padded = np.pad(self._reference, 1, mode="edge")
        h, w = now.shape
        least = np.min([np.abs(now - padded[dy : dy + h, dx : dx + w]) for dy in range(3) for dx in range(3)], axis=0)
        changed = least >= self.min_cell_change
        for window in windows:
            x0, y0 = max(0, int(window.x // self.cell_px)), max(0, int(window.y // self.cell_px))
            x1, y1 = (int(np.ceil((window.x + window.side) / self.cell_px)),
                      int(np.ceil((window.y + window.side) / self.cell_px)))
            changed[y0:y1, x0:x1] = False
        return float(changed.mean())

    def arrived(self, frame_gray: np.ndarray, windows: list[Window]) -> bool:
        """Whether `changed_share` reaches `min_changed_share`."""
        return self.changed_share(frame_gray, windows) >= self.min_changed_share
