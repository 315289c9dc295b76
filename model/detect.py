"""Face detection behind one small interface.

A detector takes one BGR frame and returns `Detections` (boxes in that frame's
pixel coordinates, scores, and landmarks where the detector gives them). Three
real, offline detectors are registered in `DETECTORS`:

* `blazeface` (the default) - BlazeFace short-range on LiteRT, in `model.blazeface`:
  ~2 ms a window, six landmarks per face, tilted/dark/backlit faces (see the README).
* `HaarDetector`  - OpenCV's frontal-face Haar cascade (ships inside opencv).
* `MtcnnDetector` - the `mtcnn` package (TensorFlow, weights inside the wheel).

`detect_in` searches only given windows of a frame (around known faces), which is how
the analysis checks on every sampled frame that each face is still there. Haar and
MTCNN detect on a copy downscaled to `detect_width` pixels wide and scale the boxes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import cv2
import numpy as np

from model.blazeface import (MIN_SCORE, N_KEYPOINTS, NMS_IOU, BlazeFace, EmptyWindows, Window, edge_windows, pyramid,
                             small_face_windows)


@dataclass(frozen=True)
class Detections:
    """Faces found in one frame: `xyxy` is (N, 4) float32, `confidence` is (N,).

    `keypoints` is (N, 6, 2) float32 frame pixels in BlazeFace's order (`model.blazeface`: the
    subject's right eye, left eye, nose tip, mouth centre, right ear, left ear), NaN where the
    detector gives no such point (Haar gives none).
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    keypoints: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.keypoints is None:
            object.__setattr__(self, "keypoints", np.full((len(self.xyxy), N_KEYPOINTS, 2), np.nan, np.float32))

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))

    @classmethod
    def concat(cls, parts: list["Detections"]) -> "Detections":
        """One `Detections` of every part's faces, in order."""
        return cls(*(np.concatenate([getattr(d, f) for d in parts]) for f in ("xyxy", "confidence", "keypoints")))

    def take(self, index) -> "Detections":
        return Detections(self.xyxy[index], self.confidence[index], self.keypoints[index])

    def __len__(self) -> int:
        return len(self.xyxy)

    @property
    def areas(self) -> np.ndarray:
        return _areas(self.xyxy)

    def largest(self) -> "Detections":
        if len(self) == 0:
            return self
        i = int(np.argmax(self.areas))
        return self.take(slice(i, i + 1))


def _areas(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])


def _intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) pairwise intersection areas of two (N, 4) and (M, 4) xyxy box arrays."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    return np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection-over-union of two (N, 4) and (M, 4) xyxy box arrays."""
    inter = _intersections(a, b)
    return inter / np.maximum(_areas(a)[:, None] + _areas(b)[None, :] - inter, 1e-9)


MAX_SHARE_INSIDE = 0.4
"""A box with more than this share of its area inside a more confident box is part of that face, not another face.
Non-maximum suppression keeps it: a small box within a large one has a low IoU with it. Found on the bench's
realistic call (`tools.bench`): the small-face windows boxed the lower half of a 54-px face (mouth and chin, 59% of
the 41-px box inside the face's, scored 0.71 against the face's 0.89) as a face, which became a third person for a
second and took the prospect's role there. On the call's frames as rendered, before encoding, such boxes lie 43-65%
inside the face (scores 0.50-0.59). The test is against more confident boxes only: BlazeFace also draws loose
low-score boxes (0.51-0.53) half over a face, and a face 31-46% inside one is still a face. Faces of different
people overlap less: one mostly hidden behind another is not readable anyway."""


def without_parts(found: Detections) -> Detections:
    """`found` less the boxes more than `MAX_SHARE_INSIDE` of whose area lies inside a more confident box of it."""
    if len(found) < 2:
        return found
    inside = _intersections(found.xyxy, found.xyxy) / np.maximum(found.areas[:, None], 1e-9)
    part = ((inside > MAX_SHARE_INSIDE) & (found.confidence[None, :] > found.confidence[:, None])).any(axis=1)
    return found.take(~part)


def suppress_overlaps(found: Detections, max_iou: float = 0.3) -> Detections:
    """Keep the most confident of boxes that overlap (MTCNN can box one face twice)."""
    if len(found) < 2:
        return found
    order = np.argsort(-found.confidence)
    overlap = iou_matrix(found.xyxy, found.xyxy)
    keep: list[int] = []
    for i in order:
        if all(overlap[i, k] <= max_iou for k in keep):
            keep.append(int(i))
    return found.take(keep)


class SourcePixels(Protocol):
    """A frame's picture at the recording's own resolution (`pipeline.video.SourcePicture`)."""

    scale: float
    """Source pixels per analysis-frame pixel."""

    def bgr(self) -> np.ndarray: ...

    def to_canvas(self, points: np.ndarray) -> np.ndarray: ...


SOURCE_EDGES_SCALE = 1.5
"""The small-face search reads the frame's edges (`model.blazeface.edge_windows`) on the recording's own picture when it
is at least this many times larger than the analysis frame (a 720p or 1080p call read at 640 px): a thumbnail's face of
21 px at 640 (64 px in a 1080p source) scored 0.60-0.69 there, under `pipeline.track.FaceTracker.birth_score`, and
0.82-0.94 at source resolution (new-user trial 43's screen-share column, whose top face, the rep's, never became a
track). The same windows, as fractions of the picture; one conversion of the picture to BGR each such search."""


class FaceDetector(Protocol):
    name: str

    def detect(self, frame_bgr: np.ndarray) -> Detections: ...


def _downscale(frame: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    h, w = frame.shape[:2]
    if w <= width:
        return frame, 1.0
    scale = width / w
    small = cv2.resize(frame, (width, round(h * scale)), interpolation=cv2.INTER_AREA)
    return small, scale


class HaarDetector:
    """OpenCV's frontal-face cascade: fast, no GPU, weaker on tilted or dim faces."""

    name = "haar"

    def __init__(self, detect_width: int = 640, min_face_fraction: float = 0.08, scale_factor: float = 1.1):
        self.detect_width = detect_width
        self.min_face_fraction = min_face_fraction  # of the frame's shorter side
        self.scale_factor = scale_factor  # step between the cascade's scales: larger is faster, coarser
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"OpenCV could not load its Haar cascade from {path}")

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        small, scale = _downscale(frame_bgr, self.detect_width)
        gray = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        min_side = max(20, int(min(gray.shape[:2]) * self.min_face_fraction))
        boxes, _, weights = self._cascade.detectMultiScale3(
            gray, scaleFactor=self.scale_factor, minNeighbors=5, minSize=(min_side, min_side), outputRejectLevels=True
        )
        if len(boxes) == 0:
            return Detections.empty()
        boxes = np.asarray(boxes, np.float32)
        xyxy = np.column_stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]]) / scale
        # Cascade level weights are unbounded; squash to (0, 1) so both detectors report alike.
        conf = 1.0 / (1.0 + np.exp(-np.asarray(weights, np.float32).reshape(-1)))
        return suppress_overlaps(Detections(xyxy.astype(np.float32), conf.astype(np.float32)))


class MtcnnDetector:
    """MTCNN (the `mtcnn` package): more robust to pose and light, ~10x slower than Haar."""

    name = "mtcnn"

    def __init__(self, detect_width: int = 480, min_face_fraction: float = 0.06, min_confidence: float = 0.95):
        from mtcnn import MTCNN  # imported lazily: it pulls in TensorFlow

        self.detect_width = detect_width
        self.min_face_fraction = min_face_fraction
        self.min_confidence = min_confidence
        self._mtcnn = MTCNN(stages="face_detection_only")

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        small, scale = _downscale(frame_bgr, self.detect_width)
        rgb = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB if small.ndim == 2 else cv2.COLOR_BGR2RGB)
        min_side = max(20, int(min(rgb.shape[:2]) * self.min_face_fraction))
        faces = self._mtcnn.detect_faces(rgb, min_face_size=min_side, box_format="xyxy")
        faces = [f for f in faces if f["confidence"] >= self.min_confidence]
        if not faces:
            return Detections.empty()
        xyxy = np.asarray([f["box"] for f in faces], np.float32) / scale
        conf = np.asarray([f["confidence"] for f in faces], np.float32)
        return suppress_overlaps(Detections(xyxy, conf))


class BlazeFaceDetector:
    """BlazeFace short-range (`model.blazeface`): boxes, scores and six keypoints per face; the default."""

    name = "blazeface"

    def __init__(self, threads: int = 1, min_score: float = MIN_SCORE):
        self._network = BlazeFace(threads, min_score)

    def detect(self, frame_bgr: np.ndarray, empty: EmptyWindows | None = None) -> Detections:
        """All faces of a frame: the discovery pyramid (`model.blazeface.pyramid`), less `empty`'s unchanged windows."""
        h, w = frame_bgr.shape[:2]
        return self.detect_in(frame_bgr, pyramid(w, h), empty)

    def detect_in(self, frame_bgr: np.ndarray, windows: list[Window], empty: EmptyWindows | None = None) -> Detections:
        """Faces found inside `windows` (one network call each, ~2 ms; see `model.blazeface.BlazeFace.find` for
        `empty`), merged by NMS, less parts of more confident faces (`without_parts`), in frame pixels."""
        return without_parts(Detections(*self._network.find(frame_bgr, windows, empty)))

    @property
    def windows_read(self) -> int:
        """128x128 windows the network has read so far (`model.blazeface.BlazeFace.windows_read`)."""
        return self._network.windows_read

    def discover(self, frame_bgr: np.ndarray, small_faces: bool = False, empty: EmptyWindows | None = None,
                 followed: list[Window] = (), source: SourcePixels | None = None) -> Detections:
        """All faces of a frame: the pyramid, with `small_faces` also `model.blazeface.small_face_windows` (~3x its
        cost), less `empty`'s unchanged windows; and the `followed` windows (around faces already followed). Given the
        frame's `source` picture `SOURCE_EDGES_SCALE` times larger or more, the edge windows read it instead."""
        h, w = frame_bgr.shape[:2]
        at_source = small_faces and source is not None and source.scale >= SOURCE_EDGES_SCALE
        windows = pyramid(w, h) + (small_face_windows(w, h, edges=not at_source) if small_faces else []) + list(followed)
        found = Detections(*self._network.find(frame_bgr, windows, empty))
        if at_source:
            picture = source.bgr()
            boxes, scores, points = self._network.find(picture, edge_windows(picture.shape[1], picture.shape[0]), empty)
            on_canvas = Detections(source.to_canvas(boxes.reshape(-1, 2, 2)).reshape(-1, 4).astype(np.float32),
                                   scores, source.to_canvas(points).astype(np.float32))
            found = suppress_overlaps(Detections.concat([found, on_canvas]), NMS_IOU)
        return without_parts(found)


DETECTORS = {"blazeface": BlazeFaceDetector, "haar": HaarDetector, "mtcnn": MtcnnDetector}
"""The default is `config.Settings.detector` (BlazeFace, chosen by measurement: see the README's
detector paragraph and `python -m tools.bench --compare-detectors`)."""


def detect_in(detector: FaceDetector, frame_bgr: np.ndarray, windows: list[Window]) -> Detections:
    """Faces inside `windows` (`model.blazeface.Window`s, frame pixels), in frame pixels.

    BlazeFace reads each window itself (one network call each: its graph fixes the batch at 1); other
    detectors search each window's crop (clipped to the frame) in turn.
    """
    if hasattr(detector, "detect_in"):
        return detector.detect_in(frame_bgr, windows)
    h, w = frame_bgr.shape[:2]
    found = []
    for win in windows:
        x0, y0 = max(0, int(win.x)), max(0, int(win.y))
        x1, y1 = min(w, int(np.ceil(win.x + win.side))), min(h, int(np.ceil(win.y + win.side)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        d = detector.detect(frame_bgr[y0:y1, x0:x1])
        found.append(Detections(d.xyxy + [x0, y0, x0, y0], d.confidence, d.keypoints + [x0, y0]))
    if not found:
        return Detections.empty()
    return suppress_overlaps(Detections.concat(found))


def discover(detector: FaceDetector, frame_bgr: np.ndarray, small_faces: bool = False,
             empty: EmptyWindows | None = None, followed: list[Window] = (),
             source: SourcePixels | None = None) -> Detections:
    """Every face of a frame; with `small_faces`, BlazeFace also searches for faces too small for its pyramid, with
    `empty` (one per call) it skips windows that show the picture they last found no face in
    (`model.blazeface.EmptyWindows`), and it reads the `followed` windows too (around faces already followed: a face
    under the pyramid's ~36 px, a thumbnail, must not go missing on a whole-frame search); `source`, the frame's picture
    at the recording's resolution, lets the small-face search read the edges there (`SOURCE_EDGES_SCALE`). Haar and
    MTCNN search every size they can on every call."""
    if not isinstance(detector, BlazeFaceDetector):
        return detector.detect(frame_bgr)
    return detector.discover(frame_bgr, small_faces, empty, followed, source)


def make_detector(name: str, **kwargs) -> FaceDetector:
    try:
        return DETECTORS[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown face detector {name!r}; choose one of {sorted(DETECTORS)}") from None


@lru_cache(maxsize=None)
def shared_detector(name: str) -> FaceDetector:
    """One detector per process and name: MTCNN takes seconds to build."""
    return make_detector(name)


#: Stills smaller than this (short side, px) are upscaled before detection.
STILL_MIN_SIDE = 160
#: Border added (fraction of the long side) when a tight crop leaves the cascade no context.
STILL_RETRY_BORDER = 0.25


def find_face_in_still(image: np.ndarray, detector: FaceDetector) -> Detections | None:
    """The largest face of a photo (one-row `Detections`, in `image` pixels, keypoints included), or None.

    Dataset photos are often tight crops, some under 60 px: both defeat a
    detector tuned for video frames, so small photos are upscaled and, on a miss,
    searched again with a replicated border that gives the face some context.
    """
    scale = max(1.0, STILL_MIN_SIDE / min(image.shape[:2]))
    work = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else image
    found = detector.detect(work).largest()
    offset = 0
    if len(found) == 0:
        offset = int(STILL_RETRY_BORDER * max(work.shape[:2]))
        padded = cv2.copyMakeBorder(work, offset, offset, offset, offset, cv2.BORDER_REPLICATE)
        found = detector.detect(padded).largest()
        if len(found) == 0:
            return None
    return Detections((found.xyxy - offset) / scale, found.confidence, (found.keypoints - offset) / scale)
