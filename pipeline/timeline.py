"""Per-second rows: from per-track frame results to one timeline per role.

`TrackSeconds` accumulates while the video is read (memory grows with seconds x
tracks, never with frames). `build_timelines` turns per-track seconds plus a
role map into `EmotionTimeline`s: one row per second of the call for every role,
with "face not seen" rows where it was not, "no video" rows where the player showed
no picture at all (before a late video track starts, after a file is cut off), and light smoothing (a 3-second
weighted window over seen seconds) so one noisy frame does not flip a second.
Each second also counts the frames whose face was poor (`pipeline.uncertainty`), so
a timeline knows which seconds to show as uncertain. Reassigning roles only re-runs
`build_timelines`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from config import EMOTIONS, UNCERTAIN
from model.quality import QUALITY_FIELDS
from pipeline.roles import PROSPECT, REP
from pipeline.uncertainty import FROZEN_VIDEO, POOR_REASONS, uncertain_reasons

SMOOTHING_KERNEL = np.array([0.25, 0.5, 0.25])
"""Weights of the previous, current and next second when smoothing probabilities."""

PROB_DECIMALS, BOX_DECIMALS, QUALITY_DECIMALS, MOUTH_DECIMALS, SPEECH_DECIMALS = 5, 4, 3, 4, 3
"""Decimals the store keeps of a track second's probabilities, box, quality, mouth motion and of a second's speech
fraction (`pipeline.store`). The analysis derives its rows, shifts and talk from values rounded the same way
(`TrackSecondRows.as_stored`, `pipeline.analyze`), so deriving them again from the store after a role change gives the
same rows to the last digit (new-user trial 13: a swap and a swap back changed 66 exported rows in the 4th decimal)."""


@dataclass(frozen=True)
class TrackSecondRows:
    """One track's data for the seconds it was seen (sparse)."""

    track_id: int
    seconds: np.ndarray  # (k,) int
    n_frames: np.ndarray  # (k,) int
    probs: np.ndarray  # (k, 7) float32; NaN rows where the face was seen but not classified
    boxes: np.ndarray  # (k, 4) mean xyxy as fractions of the frame
    quality: np.ndarray | None = None  # (k, 5) mean face quality, `model.quality.QUALITY_FIELDS` order; NaN unknown
    n_poor: np.ndarray | None = None  # (k,) int: frames whose face was poor; None = not measured (0)
    mouth_motion: np.ndarray | None = None  # (k,) peak `model.mouth.mouth_motion`; NaN (or None) = not measured
    poor_by_reason: np.ndarray | None = None
    """(k, len(`pipeline.uncertainty.POOR_REASONS`)) int: the poor frames by reason; None = not counted apart."""

    @property
    def poor_frames(self) -> np.ndarray:
        return np.zeros(len(self.seconds), np.int64) if self.n_poor is None else self.n_poor

    def as_stored(self) -> TrackSecondRows:
        """These rows with each value rounded as the store keeps it (`PROB_DECIMALS` and the others)."""
        def rounded(values: np.ndarray | None, decimals: int) -> np.ndarray | None:
            return None if values is None else np.round(np.asarray(values, np.float64), decimals)

        return replace(self, probs=rounded(self.probs, PROB_DECIMALS).astype(np.float32),
                       boxes=rounded(self.boxes, BOX_DECIMALS), quality=rounded(self.quality, QUALITY_DECIMALS),
                       mouth_motion=rounded(self.mouth_motion, MOUTH_DECIMALS))


REMARK_WINDOW_S = 10.0
"""How far back from a track's latest frame `TrackSeconds.mark_frozen` can still re-mark frames already added: a freeze
is confirmed `pipeline.people.FROZEN_MIN_S` (3 s) after the face's last change, and a face reaches `TrackSeconds` at
most a second (a stand-in) or a classification batch after its frame."""


class TrackSeconds:
    """Running per-track, per-second sums, filled frame by frame during analysis."""

    def __init__(self, n_seconds: int):
        self.n_seconds = n_seconds
        self._data: dict[int, tuple[np.ndarray, ...]] = {}
        self._mouth: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # track -> (per-second peak, frames) of mouth motion
        self._recent: dict[int, deque[list]] = {}  # track -> [t, poor] of its frames of the last `REMARK_WINDOW_S`
        self._frozen: dict[int, list[tuple[float, float]]] = {}  # track -> (since, until] spans found frozen

    def add(self, track_id: int, t: float, box: np.ndarray, probs: np.ndarray | None,
            quality: np.ndarray | None = None, poor: str | None = None) -> None:
        """One frame's face at `t` s: box as frame fractions, probabilities (None: not classified), quality (5,),
        `poor`: why its quality was poor (`pipeline.uncertainty.poor_reason`; None: it was fine). A face in a span
        found frozen (`mark_frozen`) is poor for `FROZEN_VIDEO` whatever it says."""
        if poor != FROZEN_VIDEO and any(since < t <= until for since, until in self._frozen.get(track_id, ())):
            poor = FROZEN_VIDEO
        recent = self._recent.setdefault(track_id, deque())
        recent.append([t, poor])
        while recent[0][0] < recent[-1][0] - REMARK_WINDOW_S:
            recent.popleft()
        if track_id not in self._data:
            n, q = self.n_seconds, len(QUALITY_FIELDS)
            self._data[track_id] = (np.zeros(n, np.int32), np.zeros(n, np.int32), np.zeros((n, len(EMOTIONS))),
                                    np.zeros((n, 4)), np.zeros((n, q)), np.zeros((n, q)), np.zeros(n, np.int32),
                                    np.zeros((n, len(POOR_REASONS)), np.int32))
        frames, classified, prob_sums, box_sums, quality_sums, quality_counts, poor_frames, by_reason = \
            self._data[track_id]
        s = min(int(t), self.n_seconds - 1)
        frames[s] += 1
        if poor is not None:
            poor_frames[s] += 1
            by_reason[s, POOR_REASONS.index(poor)] += 1
        box_sums[s] += box
        if probs is not None:
            classified[s] += 1
            prob_sums[s] += probs
        if quality is not None:
            known = np.isfinite(quality)
            quality_sums[s, known] += quality[known]
            quality_counts[s, known] += 1

    def mark_frozen(self, track_id: int, since: float, until: float) -> None:
        """The track's face showed an old picture over (`since`, `until`] s: its video froze after its last change at
        `since`, found at `until` (`pipeline.people.FROZEN_MIN_S` later), or the recording was damaged there. Its
        frames in that span, added already (within `REMARK_WINDOW_S`) or still to come (read later, in batches or
        after the roles), count as poor for `FROZEN_VIDEO`."""
        spans = self._frozen.setdefault(track_id, [])
        if spans and spans[-1][0] == since:  # the same freeze, still going: its faces since came marked frozen
            spans[-1] = (since, max(until, spans[-1][1]))
            return
        spans.append((since, until))
        for frame in self._recent.get(track_id, ()):
            t, poor = frame
            if since < t <= until and poor != FROZEN_VIDEO:
                _, _, _, _, _, _, poor_frames, by_reason = self._data[track_id]
                s = min(int(t), self.n_seconds - 1)
                if poor is None:
                    poor_frames[s] += 1
                else:
                    by_reason[s, POOR_REASONS.index(poor)] -= 1
                by_reason[s, POOR_REASONS.index(FROZEN_VIDEO)] += 1
                frame[1] = FROZEN_VIDEO

    def freeze_whole(self, track_id: int) -> None:
        """Every frame of the track, added already or still to come, is poor for `FROZEN_VIDEO`: the whole track showed
        a still picture (`pipeline.roles.RoleDecision.frozen`)."""
        self._frozen[track_id] = [(-math.inf, math.inf)]
        if track_id in self._data:
            frames, _, _, _, _, _, poor_frames, by_reason = self._data[track_id]
            poor_frames[:] = frames
            by_reason[:] = 0
            by_reason[:, POOR_REASONS.index(FROZEN_VIDEO)] = frames

    def add_mouth(self, track_id: int, t: float, motion: float) -> None:
        """One frame's mouth motion (`model.mouth.mouth_motion`) of a track's face at `t` s. A second keeps its peak:
        a talking mouth opens at least once a second, while a mean over the closed frames would dilute it."""
        peaks, counts = self._mouth.setdefault(track_id, (np.zeros(self.n_seconds), np.zeros(self.n_seconds, np.int32)))
        s = min(int(t), self.n_seconds - 1)
        peaks[s] = max(peaks[s], motion)
        counts[s] += 1

    def rows(self) -> list[TrackSecondRows]:
        out = []
        for track_id, (frames, classified, prob_sums, box_sums, quality_sums, quality_counts, poor_frames,
                       by_reason) in sorted(self._data.items()):
            seen = np.flatnonzero(frames)
            with np.errstate(invalid="ignore", divide="ignore"):
                probs = (prob_sums[seen] / classified[seen, None]).astype(np.float32)
                quality = quality_sums[seen] / quality_counts[seen]
            mouth = None
            if track_id in self._mouth:
                peaks, counts = self._mouth[track_id]
                mouth = np.where(counts[seen] > 0, peaks[seen], np.nan)
            out.append(TrackSecondRows(track_id, seen, frames[seen], probs, box_sums[seen] / frames[seen, None], quality,
                                       poor_frames[seen], mouth, by_reason[seen]))
        return out


@dataclass(frozen=True)
class EmotionTimeline:
    """One role's emotions for every second of the call."""

    role: str
    probs: np.ndarray  # (n_seconds, 7) float32, NaN where not seen or not classified
    n_frames: np.ndarray  # (n_seconds,) frames in which the face was seen
    video_present: np.ndarray | None = None  # (n_seconds,) bool: a picture was on screen (False: "no video",
    # not "face not seen"); None: every second had one
    n_poor: np.ndarray | None = None  # (n_seconds,) of those, frames whose face was poor; None = none
    poor_by_reason: np.ndarray | None = None  # (n_seconds, len(POOR_REASONS)) poor frames by reason; None = not counted
    talking: np.ndarray | None = None  # (n_seconds,) bool: the person talked (`pipeline.speech.TalkTimeline.talking`);
    # None: not known

    def __post_init__(self) -> None:
        if self.video_present is None:
            object.__setattr__(self, "video_present", np.ones(len(self.n_frames), bool))

    @property
    def face_present(self) -> np.ndarray:
        return self.n_frames > 0

    @property
    def classified(self) -> np.ndarray:
        return ~np.isnan(self.probs[:, 0])

    @property
    def dominant(self) -> list[str | None]:
        index = np.argmax(np.nan_to_num(self.probs, nan=-1.0), axis=1)
        return [EMOTIONS[i] if ok else None for i, ok in zip(index, self.classified)]

    @property
    def uncertain_reason(self) -> list[str | None]:
        """Per second: why it is uncertain (the face was poor, or the top probability low: `pipeline.uncertainty`),
        None where it is not."""
        poor = np.zeros(len(self.n_frames), np.int64) if self.n_poor is None else self.n_poor
        return uncertain_reasons(self.probs, self.n_frames, poor, self.poor_by_reason, self.talking)

    @property
    def uncertain(self) -> np.ndarray:
        """(n_seconds,) bool: read, but not trusted (`uncertain_reason`)."""
        return np.array([reason is not None for reason in self.uncertain_reason], bool)

    @property
    def shown(self) -> list[str | None]:
        """What the product shows per second: the likely emotion, `UNCERTAIN`, or None (face not read)."""
        uncertain = self.uncertain
        return [UNCERTAIN if u else d for d, u in zip(self.dominant, uncertain)]

    @property
    def confidence(self) -> np.ndarray:
        return np.where(self.classified, np.nanmax(np.nan_to_num(self.probs, nan=-1.0), axis=1), np.nan)

    def __len__(self) -> int:
        return len(self.n_frames)


def smooth(probs: np.ndarray) -> np.ndarray:
    """Weighted 3-second window over the seconds that have values; others stay NaN."""
    present = ~np.isnan(probs[:, 0])
    values = np.where(present[:, None], probs, 0.0)
    weights = present.astype(np.float64)
    num = np.zeros_like(values, dtype=np.float64)
    den = np.zeros(len(probs))
    radius = len(SMOOTHING_KERNEL) // 2
    for offset, w in zip(range(-radius, radius + 1), SMOOTHING_KERNEL):
        shifted_v = np.roll(values, offset, axis=0)
        shifted_w = np.roll(weights, offset)
        if offset > 0:
            shifted_v[:offset], shifted_w[:offset] = 0, 0
        elif offset < 0:
            shifted_v[offset:], shifted_w[offset:] = 0, 0
        num += w * shifted_v
        den += w * shifted_w
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den[:, None]
    out[~present] = np.nan
    return out.astype(np.float32)


def build_timelines(tracks: list[TrackSecondRows], roles: dict[int, str], n_seconds: int,
                    video_present: np.ndarray | None = None,
                    talking: dict[str, np.ndarray] | None = None) -> dict[str, EmotionTimeline]:
    """One timeline per role (rep and prospect always), every second of the call.

    `video_present` (n_seconds,) bool marks the seconds with a picture (default: all of them);
    a second with a face in it always has one. `talking`: role -> (n_seconds,) bool, the seconds that person talked
    (`pipeline.uncertainty.TALKING_MOUTH`; None, or a role left out: not known).
    """
    video = np.ones(n_seconds, bool) if video_present is None else np.asarray(video_present, bool).copy()
    for track in tracks:
        if track.track_id in roles:
            video[track.seconds] = True
    names = [REP, PROSPECT] + sorted({r for r in roles.values() if r not in (REP, PROSPECT)})
    timelines = {}
    for role in names:
        own = [track for track in tracks if roles.get(track.track_id) == role]
        # One face per second: where a role is on screen twice (a speaker view's big tile and its filmstrip
        # thumbnail, `pipeline.people.COPY_SIZE_RATIO`), the largest face of that second speaks for it.
        largest = np.zeros(n_seconds)
        for track in own:
            np.maximum.at(largest, track.seconds, _areas(track.boxes))
        frames = np.zeros(n_seconds, np.int64)
        poor = np.zeros(n_seconds, np.int64)
        by_reason: np.ndarray | None = np.zeros((n_seconds, len(POOR_REASONS)), np.int64)
        weight = np.zeros(n_seconds)
        sums = np.zeros((n_seconds, len(EMOTIONS)))
        for track in own:
            keep = _areas(track.boxes) >= largest[track.seconds]
            seconds, n_frames, probs = track.seconds[keep], track.n_frames[keep], track.probs[keep]
            frames[seconds] += n_frames
            poor[seconds] += track.poor_frames[keep]
            if track.poor_by_reason is None or by_reason is None:  # stored before the reasons were counted apart
                by_reason = None
            else:
                by_reason[seconds] += track.poor_by_reason[keep]
            ok = ~np.isnan(probs[:, 0])
            weight[seconds[ok]] += n_frames[ok]
            sums[seconds[ok]] += probs[ok] * n_frames[ok, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            probs = np.where(weight[:, None] > 0, sums / weight[:, None], np.nan)
        timelines[role] = EmotionTimeline(role, smooth(probs), frames, video, poor, by_reason,
                                          None if talking is None else talking.get(role))
    return timelines


def _areas(boxes: np.ndarray) -> np.ndarray:
    """(k, 4) xyxy boxes -> (k,) areas."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def counted(n: int | str, noun: str) -> str:
    """ "1 call", "3 calls", "0.4 minutes": a number and its noun, plural unless the number is 1."""
    return f"{n} {noun}" + ("" if str(n) == "1" else "s")


def minutes(value: float) -> str:
    """A duration in minutes in words: "0.4 minutes", "1 minute", "12 minutes" (one decimal under 10, so a short sample
    never reads "0")."""
    return counted(f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}", "minute")


def clock(seconds: float) -> str:
    """m:ss (h:mm:ss from an hour on): the call-time format of captions, pages and reports."""
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
