"""Analyse one call recording, start to finish, in memory (nothing is stored here).

    probe -> sample frames -> detect (every frame: the whole frame every `detect_every_s`, or
          `detect_every_settled_s` while every known face is there, whenever a face vanished (a cut or a
          layout change moves faces), and when a new picture appeared away from the known faces
          (`ArrivalWatch`: someone joined); small faces too every `small_faces_every_s` and when a face vanished;
          around each known face otherwise) -> track
          -> one person per track (`pipeline.people.IdentityWatch`: split at a change of identity)
          -> aligned crop + quality + classify (batched) -> per-track seconds
          -> people (tracks grouped by face embedding; still faces of shared content are no one)
          -> roles per person, second by second through the layouts -> per-role timelines -> shifts
    audio -> speech activity; + each face's mouth motion (measured on every sampled frame) -> who is talking
          (before the timelines: a likely surprise while that person talks is uncertain, an open talking mouth)

Each crop's quality (`model.quality.face_quality`: size, sharpness, pose, detector score) is
recorded with its probabilities, and why it was poor if it was (`pipeline.uncertainty.poor_reason`; a picture
that stopped changing, `pipeline.people.FROZEN_MIN_S`, is a frozen video from its last change on, and so is one
the player holds over a damaged stretch), so
a second whose face was mostly poor shows "uncertain" and says why.

Decoding runs on its own thread (PyAV releases the GIL) so the second core
works while this one detects and classifies. With rep analysis switched off, the
video is still read once, but no face is classified while it is read: the crops due
for a read wait (`HeldFaces`) until the roles are decided, then every face but the
rep's is classified, so no rep emotion is ever computed. (It was read twice until
2026-12-01, tracking then classifying: the README's speed section has the cost.)
"""

from __future__ import annotations

import logging
import math
import queue
import tempfile
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator

import av
import cv2
import numpy as np

from config import Settings
from model.blazeface import EmptyWindows
from model.classifier import BATCH, FLIP_TTA, FLIP_TTA_BELOW
from model.detect import Detections, FaceDetector, detect_in, discover
from model.identity import shared_embedder
from model.mouth import WHOLE_FACE_CHANGE, eyes_patch, mouth_motion, mouth_patch
from model.preprocess import FACE_SIZE, crop_face
from model.quality import face_quality
from pipeline.enrolment import recognised_person
from pipeline.errors import CorruptVideo
from pipeline.name_tags import CallNames, NameTags, name_people, tag_seconds
from pipeline.people import STILL_MIN_S, IdentityWatch, distinct_people, group_people, mouths_apart, set_aside_note
from pipeline.roles import (MIN_DETECTIONS, MIN_PERSON_S, PROSPECT, REP, RoleDecision, TrackSummary, decide_roles,
                            faces_by_second, never_classified)
from pipeline.shifts import EmotionShift, detect_shifts
from pipeline.speech import TalkTimeline, detect_speech, no_audio, talk_by_person, who_speaks
from pipeline.timeline import SPEECH_DECIMALS, EmotionTimeline, TrackSecondRows, TrackSeconds, build_timelines
from pipeline.uncertainty import STEADY_FRAMES, poor_reason, steady_quality
from pipeline.track import ArrivalWatch, FaceTracker, TrackedFaces
from pipeline.video import TIMESTAMP_JITTER_S, DecodeReport, SampledFrame, VideoInfo, read_frames_at, sample_frames

Progress = Callable[[str, float], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisSettings:
    fps: float = Settings.analysis_fps
    """Frames analysed per second of call."""
    detector: str = Settings.detector
    """Face detector (see model.detect.DETECTORS); BlazeFace by measurement, see the README."""
    detect_every_s: float = 2.0
    """Seconds between whole-frame detections (which find new faces) while a known face is missing or none is
    known; on the frames between, the detector searches a window around each known face (present or recently
    gone), so every frame says who is there, and a face that returns to its place is found there (a face the
    window misses, e.g. a new person in a tile, is found by the next whole-frame detection)."""
    detect_every_settled_s: float = 6.0
    """Seconds between whole-frame detections while every known face was found on the frame before, or the same
    faces have been present for this long (a camera turned off stays off for a while: its place is still
    searched on every frame, so a return there is found at once): only a newcomer, or a face back in another
    place, can be missed, found within this long. Not after a face was found for the first time (at the call's
    start, someone joining): the next comes `detect_every_s` after the last, as the search may have missed a face
    beside the new one, until one finds no one new (measured: a 300 kbit/s H.264 call at 30% brightness scored both
    faces 0.61-0.67 on its first two frames, under `pipeline.track.FaceTracker.birth_score`, and 0.88-0.93 from
    0.5 s; one was born at 0 s, the other found only at 6 s; `FaceTracker.candidate_s` now finds such faces at
    0.5 s). Measured: with this rule for "any face found" instead, a new person in a gallery tile whom the old
    face's window missed went unread for 4 s in
    `tools.video_eval` (1 of 70 faces); see `docs/speed-history.md`. A newcomer who brings a new picture away
    from every known face (a new tile, a camera turned on: `pipeline.track.ArrivalWatch`) starts a whole-frame search
    at once, small faces too, at most every `detect_every_s`: found up to 2 s late instead of 6-11 s (README)."""
    small_faces_every_s: float = 20.0
    """Seconds between whole-frame detections that also search for small faces (24-36 px in the 640-px frame, from
    13 px along its edges, where strips of thumbnails and self-views sit, read on the recording's own picture when it is
    larger: `model.detect.discover`); the first frame always does. Such a search costs ~4 whole-frame detections; once
    found, a small face is followed around its place on every frame (whole-frame searches read its window too). A face
    vanishing also starts one (at most every `detect_every_s`): a switch to speaker view or a screen share puts the
    others in a strip of thumbnails, which waited up to this long (measured: a rep's 33-px self-view after a switch at
    27.3 s of a generated 40-s call was found at 37 s; now at once). While no face is on screen every whole-frame
    detection (every `detect_every_s`) searches for small faces too: the likeliest picture then is a screen share
    whose speaker thumbnail a new-user trial found only 19 s after it appeared."""
    analysis_width: int = 640
    """Frames are decoded straight to this width for detection and cropping."""
    rep_position: str = Settings.rep_position
    min_shift_seconds: float = Settings.min_shift_seconds
    rep_analysis: bool = True
    flip_tta: bool = FLIP_TTA
    """Average each face's probabilities with its mirror image (see model.classifier.FLIP_TTA)."""
    flip_below: float | None = FLIP_TTA_BELOW
    """...only for faces read less confidently than this un-flipped (see model.classifier.FLIP_TTA_BELOW)."""
    classify_fps: float = 1.0
    """Reads of each face by the emotion classifier per second of call (fewer than `fps`, at the sampled frames
    nearest after (i + 0.5) / classify_fps into each second: `FaceReader.read`; at least one in every second the
    face is there); presence, quality and mouth motion are measured on every sampled
    frame. The classifier is the costliest stage on a 2-core machine without VNNI (int8, 5.6-5.9 ms of CPU a face,
    2.8-2.9 ms on two threads), and frames under a second apart show nearly the same face. Measured with
    `tools.video_eval` on the same 356 composed faces (2026-12-01): one read a second 63.5% / macro-F1 0.620,
    ECE 0.082, 73.5% right when shown; two a second 62.9% / 0.611, 0.093, 74.3% (no difference beyond a few faces).
    On the bench's realistic call it saves 0.85 of the analysis' 6.8 CPU seconds (see `docs/speed-history.md`)."""


@dataclass
class CallAnalysis:
    info: VideoInfo
    settings: AnalysisSettings
    tracks: list[TrackSummary]
    track_seconds: list[TrackSecondRows]
    roles: dict[int, str]
    people: dict[int, int]
    """Track id -> person number (`pipeline.people`): the tracks of one person share it, and its role."""
    roles_note: str | None
    """What the review page should say about the roles (`pipeline.roles.RoleDecision.note`), or None."""
    timelines: dict[str, EmotionTimeline]
    shifts: list[EmotionShift]
    timings: dict[str, float] = field(default_factory=dict)
    decode: DecodeReport = field(default_factory=DecodeReport)
    """What the decoder found missing (damage, a cut-off tail) and when the picture was on screen."""
    talk: TalkTimeline | None = None
    """Who is talking per second (`pipeline.speech`); None only for analyses made without it."""

    @property
    def video_present(self) -> np.ndarray:
        """(n_seconds,) bool: seconds with a picture on screen."""
        return self.decode.video_present(self.info.n_seconds)

    still_faces: int = 0
    """Tracks left out as still pictures of a face (`pipeline.people.TrackLook.still`: a slide's headshot, a profile
    photo): no role, no emotions."""
    roles_guessed: bool = False
    """Who the prospect is rests on a guess (`pipeline.roles.RoleDecision.guessed`)."""

    @property
    def faces_found(self) -> int:
        return len(self.roles)

    @property
    def no_faces_message(self) -> str | None:
        """Why nothing could be charted, in the words the CLI and the review page show; None when faces were found."""
        if self.faces_found:
            return None
        if self.still_faces:
            return ("no live faces found in the recording: its only faces were still pictures (a slide's headshot or "
                    f"a profile photo, unchanged pixels for {STILL_MIN_S:.0f} s or more), and Rapport reads live camera "
                    "faces only")
        return "no faces found in the recording"


def derive(track_seconds: list[TrackSecondRows], roles: dict[int, str], n_seconds: int,
           min_shift_seconds: float, video_present: np.ndarray | None = None,
           talk: TalkTimeline | None = None) -> tuple[dict[str, EmotionTimeline], list[EmotionShift]]:
    """Roles -> timelines -> shifts: everything that reassigning roles recomputes (who is talking, `talk`, before
    it: a likely surprise while the person talks is uncertain, `pipeline.uncertainty.TALKING_MOUTH`)."""
    talking = None if talk is None else {role: talk.talking(role) for role in {REP, PROSPECT, *roles.values()}}
    timelines = build_timelines(track_seconds, roles, n_seconds, video_present, talking)
    shifts = [s for t in timelines.values() for s in detect_shifts(t, min_shift_seconds)]
    return timelines, sorted(shifts, key=lambda s: (s.t_s, s.role))


class _Timer:
    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    def timed(self, stage: str, fn, *args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[stage] += time.perf_counter() - start


def _box_fractions(xyxy: np.ndarray, image: np.ndarray) -> np.ndarray:
    """(..., 4) boxes in `image` pixels -> fractions of its width and height, within [0, 1] (what is stored: the
    canvas can change mid-call, `pipeline.video.canvas_for`)."""
    h, w = image.shape[:2]
    return np.clip(np.asarray(xyxy, np.float64) / [w, h, w, h], 0.0, 1.0)


class FaceReader:
    """A face on a frame -> aligned crop + quality (+ whether it is poor) -> classified in batches of `BATCH` ->
    added to its track's second in `seconds`: the one way the analysis and a re-read (`pipeline.reread`) read faces.

    With `hold`, faces due for a read are not classified but kept (`HeldFaces`) until `classify_held` is told
    whose faces must never be classified (rep analysis off: the rep's, once the roles are known)."""

    def __init__(self, classifier, settings: AnalysisSettings, seconds: TrackSeconds, timer: _Timer | None = None,
                 hold: bool = False):
        self.classifier, self.settings, self.seconds = classifier, settings, seconds
        self.timer = timer or _Timer()
        self.held = HeldFaces() if hold else None
        self._pending: list[_Face] = []
        self._reads: dict[int, tuple[int, int]] = {}  # track id -> (second, reads in it so far)
        self._stand_in: dict[int, _Face] = {}  # track id -> the first frame of its latest second, until it is resolved
        self._recent: dict[int, deque] = {}  # track id -> its last `STEADY_FRAMES` quality measures

    def read(self, image: np.ndarray, track_id: int, t: float, box: np.ndarray,
             keypoints: np.ndarray, score: float, px_scale: float, frozen_since: float = math.nan,
             picture_t: float | None = None) -> None:
        """One face: `box`/`keypoints` in `image` pixels (stored as fractions of it),
        `px_scale` source pixels per `image` pixel; `frozen_since`, where the picture is an old one (the face's video
        froze, `TrackedFaces.frozen_since`, or the recording is damaged here), when it last changed: this face and
        those since then are poor for `pipeline.uncertainty.FROZEN_VIDEO` (`TrackSeconds.mark_frozen`); NaN for a
        live picture; `picture_t`, when the picture was first shown (`SampledFrame.frame_t`; None: at `t`). On
        frames between reads only presence and quality are kept.

        A face seen in a second only on its first tick, in a picture from the second before (`picture_t` before the
        second began: the tick stood on a skipped B-frame, `pipeline.video.sample_frames`), is not that second's:
        the face left as the second began. Kept, it made the second "face present" with an emotion read from the
        last picture before it (new-user trial 41: a prospect who left at 80.0 s read "happy 0.90" at second 80).

        Reads fall inside each second, at (i + 0.5) / `settings.classify_fps` (the middle, at one read a second): the
        first frame of a second is a worse witness of it, as a new picture can arrive a frame after the second
        starts (a stream starting 21 ms late; a skipped B-frame) and the whole second would show the one before
        (found by a new-user trial: every shift a second late on a remuxed MKV). The second's first frame stands in,
        and is read instead, if the face leaves before the middle: every second the face is there gets a read."""
        crop = self.timer.timed("crop", crop_face, image, box, keypoints[:2])
        quality = self.timer.timed("crop", face_quality, crop, box, keypoints, score, px_scale)
        frozen = not math.isnan(frozen_since)
        if frozen:
            self.seconds.mark_frozen(track_id, frozen_since, t)
        recent = self._recent.setdefault(track_id, deque(maxlen=STEADY_FRAMES))
        recent.append(quality)
        poor = poor_reason(steady_quality(recent), px_scale, frozen)
        second = int(t)
        carried = picture_t is not None and picture_t < second - TIMESTAMP_JITTER_S
        face = _Face(track_id, t, _box_fractions(box, image), crop, quality, poor, carried)
        stand_in = self._stand_in.get(track_id)
        if stand_in is not None and int(stand_in.t) != second:  # its second is over
            self._resolve(track_id)
        elif stand_in is not None and stand_in.carried:  # seen again in its second: the face is there
            self._stand_in[track_id] = replace(stand_in, carried=False)
        done_second, n_read = self._reads.get(track_id, (second, 0))
        n_read = n_read if done_second == second else 0
        if n_read < self.settings.classify_fps and t - second >= (n_read + 0.5) / self.settings.classify_fps - 1e-6:
            self._pending.append(face)
            self._reads[track_id] = (second, n_read + 1)
            if track_id in self._stand_in:
                self._record(self._stand_in.pop(track_id))  # not needed: kept for presence and quality
        elif n_read == 0 and track_id not in self._stand_in:
            self._stand_in[track_id] = face
        else:
            self._record(face)

    def _record(self, face: "_Face", probs: np.ndarray | None = None) -> None:
        self.seconds.add(face.track_id, face.t, face.fraction, probs, face.quality, face.poor)

    def _resolve(self, track_id: int) -> None:
        """The stand-in of a second that ended without a read is read, unless it was carried over from the second
        before and never seen again (then the face was not there in this second: nothing is recorded)."""
        stand_in = self._stand_in.pop(track_id)
        if stand_in.carried:
            return
        self._pending.append(stand_in)
        self._reads[track_id] = (int(stand_in.t), 1)

    def end_frame(self) -> None:
        """Classify what is waiting once a batch is full (called after each frame's faces)."""
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.held is not None:
            self.held.extend(self._pending)
        elif self._pending:
            self._classify(self._pending)
        self._pending.clear()

    def _classify(self, faces: list["_Face"]) -> None:
        probs = self.timer.timed("classify", self.classifier.predict, np.stack([face.crop for face in faces]),
                                 flip_tta=self.settings.flip_tta, flip_below=self.settings.flip_below)
        for face, p in zip(faces, probs):
            self._record(face, p)

    def classify_held(self, never: set[int]) -> None:
        """After `finish`, with `hold`: classify the held faces of every track except those in `never` (whose
        faces are recorded for presence and quality only), in batches of `BATCH`; the held crops are then gone."""
        batch: list[_Face] = []
        for face in self.held.drain():
            if face.track_id in never:
                self._record(face)
                continue
            batch.append(face)
            if len(batch) == BATCH:
                self._classify(batch)
                batch.clear()
        if batch:
            self._classify(batch)

    def finish(self) -> None:
        """After the last frame: read the stand-ins still waiting (faces that left before a second's middle)."""
        for track_id in list(self._stand_in):
            self._resolve(track_id)
        self.flush()


class HeldFaces:
    """Faces waiting for a read until the roles are known (`FaceReader` with `hold`): their 48x48 uint8 crops in an
    anonymous temporary file (2,304 bytes a face, one face a second per track: memory stays flat with call length;
    the file has no name and is gone when closed), the rest of each face in memory, in the order they came."""

    def __init__(self):
        self._crops = tempfile.TemporaryFile()
        self._faces: list[_Face] = []

    def extend(self, faces: list["_Face"]) -> None:
        for face in faces:
            self._crops.write(np.ascontiguousarray(face.crop, np.uint8).tobytes())
            self._faces.append(replace(face, crop=None))

    def drain(self) -> Iterator["_Face"]:
        """Every held face with its crop again, in the order held; afterwards nothing is held."""
        self._crops.seek(0)
        size = FACE_SIZE * FACE_SIZE
        for face in self._faces:
            yield replace(face, crop=np.frombuffer(self._crops.read(size), np.uint8).reshape(FACE_SIZE, FACE_SIZE))
        self._faces.clear()
        self._crops.close()


@dataclass(frozen=True)
class _Face:
    """One face on one sampled frame, as `FaceReader` keeps it until it is recorded (read or not)."""

    track_id: int
    t: float
    fraction: np.ndarray
    crop: np.ndarray
    quality: np.ndarray
    poor: str | None
    """Why the face was too poor to read (`pipeline.uncertainty.poor_reason`); None: it was fine."""
    carried: bool = False
    """Seen only in a picture from before its second began, so far (`FaceReader.read`)."""


def _prefetch(items: Iterable, timer: _Timer, depth: int = 8) -> Iterator:
    """Run `items` on a background thread; re-raise its error here."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            iterator = iter(items)
            while not stop.is_set():
                start = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                timer.seconds["decode"] += time.perf_counter() - start
                q.put(item)
            q.put(done)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            q.put(error)

    thread = threading.Thread(target=produce, daemon=True, name="decode")
    thread.start()
    try:
        while True:
            start = time.perf_counter()
            item = q.get()
            timer.seconds["wait for frames"] += time.perf_counter() - start
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


@dataclass
class _TrackStats:
    """Running totals of one track while frames are observed (a `TrackSummary` once the video ends)."""
    first_t: float
    last_t: float = 0.0
    n_frames: int = 0
    box_sum: np.ndarray = field(default_factory=lambda: np.zeros(4))
    size_sum: float = 0.0  # face heights over the frame's shorter side


class _Recorder:
    """Per-track summaries (for roles) and per-second sums (for timelines)."""

    def __init__(self, info: VideoInfo):
        self.seconds = TrackSeconds(info.n_seconds)
        self._stats: dict[int, _TrackStats] = {}

    def observe(self, faces: TrackedFaces, image: np.ndarray) -> None:
        for track_id, box in zip(faces.track_ids, faces.xyxy):
            s = self._stats.setdefault(int(track_id), _TrackStats(faces.t))
            s.last_t = faces.t
            s.n_frames += 1
            s.box_sum += _box_fractions(box, image)
            s.size_sum += float(box[3] - box[1]) / min(image.shape[:2])

    def summaries(self) -> list[TrackSummary]:
        """Every frame a face is reported on was a detector hit (presence is checked on every frame)."""
        return [TrackSummary(tid, s.first_t, s.last_t, s.n_frames, s.n_frames, s.box_sum / s.n_frames, s.size_sum / s.n_frames)
                for tid, s in sorted(self._stats.items())]


class _MouthTracker:
    """Measures each face's mouth motion between consecutive sampled frames, aligned two ways: the previous frame's
    mouth patch cut where that frame's detection put the mouth (following a moving head), and cut where this
    frame's detection puts it (the same pixels: a still head's detector jitter is no motion); the smaller
    change counts. A talking mouth changes under both alignments. Measured (2026-12-01): each alone failed a
    case the other handles: per-frame placement read a still face's detector jitter (0.2) as 10 times its
    quiet kept frames (0.02); same-pixel placement read a head moving 40 px as a moving mouth (0.83 against 0.31)."""

    def __init__(self):
        self._previous: SampledFrame | None = None
        self._patches: dict[int, tuple] = {}  # track id -> its (mouth, eyes) patches on the previous sampled frame

    def observe(self, frame: SampledFrame, faces: TrackedFaces, seconds: TrackSeconds) -> None:
        """Adds to `seconds` the mouth motion of every face also seen on the previous sampled frame, unless the whole
        face changed (`model.mouth.WHOLE_FACE_CHANGE`)."""
        previous = self._previous
        if previous is None or previous.index != frame.index - 1 or previous.image.shape != frame.image.shape:
            previous = None  # a gap, or a new canvas (`pipeline.video.canvas_for`)
        patches = {}
        for track_id, box, keypoints in zip(faces.track_ids, faces.xyxy, faces.keypoints):
            now = (mouth_patch(frame.image, box, keypoints), eyes_patch(frame.image, box, keypoints))
            if now[0] is None:
                continue
            patches[int(track_id)] = now
            last = self._patches.get(int(track_id)) if previous is not None else None
            if last is None:
                continue
            motion = self._motion(last[0], now[0], mouth_patch(previous.image, box, keypoints))
            if now[1] is not None and last[1] is not None and self._motion(
                    last[1], now[1], eyes_patch(previous.image, box, keypoints)) >= WHOLE_FACE_CHANGE:
                continue
            seconds.add_mouth(int(track_id), frame.t, motion)
        self._previous, self._patches = frame, patches

    @staticmethod
    def _motion(last: np.ndarray, now: np.ndarray, same_pixels: np.ndarray | None) -> float:
        """The smaller of the two alignments' changes (the class docstring)."""
        motion = mouth_motion(last, now)
        return motion if same_pixels is None else min(motion, mouth_motion(same_pixels, now))


TURNED_NOTE = ("The picture changed shape during the call (a phone turned): the rep position was read in the layout "
               "it describes and the rep followed by face across the turn, so check that the rep is the rep.")
"""Said with the roles when the analysis canvas changed shape (`pipeline.video.canvas_for`): a new-user trial (30)
turned a phone whose rep sat on top, then on the right; "top" gave the whole call's roles to the wrong people,
unnoted (now "top" is read in the stacked part only, `pipeline.roles`). (An enrolled rep, recognised by face, needs
no note.)"""


def analyze_video(info: VideoInfo, classifier, detector: FaceDetector, settings: AnalysisSettings = AnalysisSettings(),
                  progress: Progress | None = None, rep_references: np.ndarray | None = None,
                  classify_none: bool = False, names: CallNames = CallNames()) -> CallAnalysis:
    """Run every analysis stage on a probed video; raises `InputError` for a bad recording.

    `rep_references`: (k, 128) face signatures of the call's enrolled rep (`pipeline.enrolment.rep_references`);
    the person they match is the rep, in any layout. `names`: the rep's and the prospect's names as given at upload,
    looked for on the call's name tags (`pipeline.name_tags`) when roles are decided. `classify_none`, with rep
    analysis off: no face is classified, as the caller decides who the rep is afterwards (roles set by hand, kept by
    `calls.roles.reanalyze_call`)."""
    cv2.setNumThreads(1)  # this thread detects on one core while the decode thread uses the other
    timer = _Timer()
    report = progress or (lambda stage, fraction: None)
    decode = DecodeReport()
    detector_runs = 0
    identity = IdentityWatch(shared_embedder())  # one person per track; each track's look
    canvases: set[tuple[int, ...]] = set()  # the analysis canvases' shapes: more than one where a phone turned

    def tracked_frames() -> Iterator[tuple[SampledFrame, TrackedFaces]]:
        """Sampled frames with their tracked faces."""
        nonlocal detector_runs
        tracker = FaceTracker()
        arrivals = ArrivalWatch()
        shown = 0  # faces present on the previous frame
        last_discovery_t = last_small_t = -np.inf
        followed: set[int] = set()  # tracker ids seen so far
        newcomer = True  # a face was found for the first time since the latest whole-frame search: it may have
        # come with others that search missed
        canvas = None  # the previous frame's (height, width)
        empty = EmptyWindows()  # whole-frame windows that found no one, with what they showed: not read again unchanged

        def whole_frame(frame: SampledFrame, gray: np.ndarray, small: bool) -> Detections:
            """Every face of the frame (small ones too if `small`), remembered as the latest whole-frame search."""
            nonlocal last_discovery_t, last_small_t
            stage = "detect whole frame, small faces too" if small else "detect whole frame"
            found = timer.timed(stage, discover, detector, frame.image, small, empty, tracker.present_windows(),
                                frame.source)
            last_discovery_t, last_small_t = frame.t, frame.t if small else last_small_t
            arrivals.remember(gray)
            return found

        for frame in _prefetch(sample_frames(info, settings.fps, settings.analysis_width, decode), timer):
            gray = timer.timed("track", cv2.cvtColor, frame.image, cv2.COLOR_BGR2GRAY)
            if canvas is not None and gray.shape != canvas:  # a phone turned: every face moved, search anew
                tracker.end_tracks()
                empty.clear()
                arrivals, shown, last_discovery_t, last_small_t = ArrivalWatch(), 0, -np.inf, -np.inf
            canvas = gray.shape
            canvases.add(canvas)
            settled = not newcomer and (tracker.all_present
                                         or tracker.unchanged_for(frame.t) >= settings.detect_every_settled_s)
            every = settings.detect_every_settled_s if settled else settings.detect_every_s
            from_windows = False
            if frame.t - last_discovery_t >= every - 1e-6:
                # nobody on screen (a screen share, cameras off): small faces too, every time
                small = shown == 0 or frame.t - last_small_t >= settings.small_faces_every_s - 1e-6
                found = whole_frame(frame, gray, small)
            else:
                windows = timer.timed("track", tracker.plan_search, gray, frame.t)
                found = timer.timed("detect around faces", detect_in, detector, frame.image, windows)
                from_windows = True
                # A face vanished: a layout change or a cut moves faces, so look everywhere. Or someone may have
                # joined away from every known face (at most every `detect_every_s`, as while a face is missing).
                vanished = len(found) + tracker.n_reused < shown
                if vanished or (frame.t - last_discovery_t >= settings.detect_every_s - 1e-6
                                and timer.timed("track", arrivals.arrived, gray, tracker.search_windows())):
                    # thumbnails after a switch; a newcomer in a grid of small tiles
                    found = whole_frame(frame, gray, frame.t - last_small_t >= settings.detect_every_s - 1e-6)
                    from_windows = False
            detector_runs += 1  # every sampled frame is searched: whole, or around each known face
            faces = timer.timed("track", tracker.update, frame.t, found, gray, from_windows)
            # a face found for the first time (a new track, or a candidate confirmed in its window) keeps the next
            # whole-frame search `detect_every_s` away, until one finds no one new
            newcomer = not followed.issuperset(faces.track_ids.tolist()) or (newcomer and from_windows)
            followed.update(faces.track_ids.tolist())
            faces = timer.timed("identity", identity.update, frame.image, faces, frame.frame_t, frame.source)
            shown = len(faces)
            if frame.index % 20 == 0:
                report("analysing frames", 0.9 * min(1.0, frame.t / max(info.duration_s, 1e-6)))
            yield frame, faces

    def read_tags(presence: dict[int, tuple[np.ndarray, np.ndarray]], people: dict[int, int]) -> NameTags:
        """The people the call's name tags name (`pipeline.name_tags`), read on a few frames of the source picture."""
        on_screen = faces_by_second(presence, people, list(people))
        seconds = tag_seconds(on_screen)
        frames = read_frames_at(info.path, [s + 0.5 for s in seconds], display_name=info.name)
        try:
            return name_people(zip(frames, (on_screen[s] for s in seconds)), names.rep, names.prospect)
        except CorruptVideo:  # those seconds cannot be decoded again (a damaged file): roles by the layout alone
            log.warning("%s: no name tags read", info.name, exc_info=True)
            return NameTags()

    def decide(recorder: _Recorder) -> tuple[dict[int, int], RoleDecision]:
        """People by appearance, then their roles from the seconds they were on screen."""
        content = {tid for tid, look in identity.looks.items() if look.still or look.faint}
        # Content is no one: grouped with a person it would lend them its seconds on screen beside others (a
        # slide's headshot of the prospect beside the prospect's thumbnail made the prospect's earlier track a guest).
        live = {tid: look for tid, look in identity.looks.items() if tid not in content}
        rows = recorder.seconds.rows()
        people = group_people(live, identity.together_s, mouths_apart(rows))
        presence = {track.track_id: (track.seconds, track.boxes) for track in rows}
        recognised = recognised_person(live, people, rep_references)
        summaries = recorder.summaries()
        talked = timer.timed("speech", talk_by_person, speech, [track.as_stored() for track in rows], people)
        tags = timer.timed("name tags", read_tags, presence, people) if names and recognised is None else NameTags()
        decision = decide_roles(summaries, settings.rep_position, min(MIN_DETECTIONS, detector_runs),
                                people, presence, content, identity.together_s, recognised,
                                MIN_PERSON_S if info.duration_s >= 2 * MIN_PERSON_S else 0.0, talked,
                                distinct_people(live, people), tags)
        if decision.frozen:  # a still speaker beside the rep's self-view: the prospect, seen but never read
            people = people | dict.fromkeys(decision.frozen, max(people.values(), default=0) + 1)
            for track_id in decision.frozen:
                recorder.seconds.freeze_whole(track_id)
        set_aside = {tid: look for tid, look in identity.looks.items() if tid not in decision.roles}
        notes = [decision.note, TURNED_NOTE if len(canvases) > 1 and recognised is None else None,
                 set_aside_note(set_aside, {summary.track_id: summary for summary in summaries}, decision.roles)
                 if decision.roles else None]
        return people, RoleDecision(decision.roles, " ".join(n for n in notes if n) or None, decision.frozen,
                                    decision.guessed, decision.rep_guessed)

    recorder = None
    reader = None
    mouths = _MouthTracker()
    for frame, faces in tracked_frames():
        recorder = recorder or _Recorder(info)
        reader = reader or FaceReader(classifier, settings, recorder.seconds, timer, hold=not settings.rep_analysis)
        timer.timed("track", recorder.observe, faces, frame.image)
        timer.timed("speech", mouths.observe, frame, faces, recorder.seconds)
        px_scale = frame.source.scale  # this picture's own: a recording's picture size can change mid-call
        for track_id, box, score, keypoints, frozen_since in zip(faces.track_ids, faces.xyxy, faces.confidence,
                                                                 faces.keypoints, faces.frozen_since):
            if frame.damaged:  # the player holds the last good picture over what it could not decode
                frozen_since = np.fmin(frozen_since, frame.frame_t)
            reader.read(frame.image, int(track_id), frame.t, box, keypoints, score, px_scale, float(frozen_since),
                        frame.frame_t)
        reader.end_frame()
    if reader is not None:
        reader.finish()

    roles: dict[int, str] = {}
    people: dict[int, int] = {}
    decision = RoleDecision({})
    speech = timer.timed("speech", _speech, info)  # before the roles: who talked more breaks a tie for the prospect
    if recorder is not None:
        people, decision = decide(recorder)
        roles = decision.roles
    if reader is not None and reader.held is not None:  # rep analysis off: now that the rep is known, never them
        report("classifying faces", 0.9)
        never = set(roles) if classify_none else never_classified(roles, people, decision.rep_guessed)
        reader.classify_held(never=never)
    report("finding shifts", 0.92)
    summaries = recorder.summaries() if recorder else []
    # as the store keeps them, so re-deriving from the store (a role change) gives these very rows
    track_seconds = [rows.as_stored() for rows in (recorder.seconds.rows() if recorder else []) if rows.track_id in roles]
    talk = timer.timed("speech", who_speaks, speech, track_seconds, roles)
    start = time.perf_counter()
    timelines, shifts = derive(track_seconds, roles, info.n_seconds, settings.min_shift_seconds,
                               decode.video_present(info.n_seconds), talk)
    timer.seconds["timeline"] += time.perf_counter() - start
    return CallAnalysis(info, settings, [s for s in summaries if s.track_id in roles], track_seconds, roles,
                        {tid: people[tid] for tid in roles}, decision.note, timelines, shifts,
                        dict(timer.seconds), decode, talk, sum(look.still for look in identity.looks.values()),
                        decision.guessed)


def _speech(info: VideoInfo) -> np.ndarray:
    """(n_seconds,) the fraction of each second of the recording's audio holding speech (`pipeline.speech`), rounded as
    stored (`SPEECH_DECIMALS`); NaN where there is no audio. Audio that cannot be decoded costs the call its speaking
    values ("unknown"), not its analysis."""
    try:
        activity = detect_speech(info.path, info.clock_origin_s)
    except av.error.FFmpegError:
        log.warning("%s: the audio could not be decoded; speaking is unknown", info.name, exc_info=True)
        activity = None
    speech = activity.per_second(info.n_seconds) if activity is not None else no_audio(info.n_seconds)
    return np.round(speech, SPEECH_DECIMALS)
