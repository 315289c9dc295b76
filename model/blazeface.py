"""BlazeFace short-range: a 2-ms face detector with six landmarks per face, run on LiteRT.

Owns: the shipped BlazeFace weights, their anchor decoding, and the windows the network reads
(`BlazeFace.find`): a whole frame is a small pyramid of windows (`pyramid`, to discover faces
of 40-360 px at 640x360, plus `small_face_windows` now and then for faces from 24 px, from 13 px along the edges); a few given windows (e.g. one around each tracked face) check on every sampled
frame whether that face is still there. `model.detect.BlazeFaceDetector` serves these as the
default `FaceDetector` (`detect` and `detect_in`, returning `Detections`).

Weights: `model/weights/face_detection_short_range.tflite`, copied from the mediapipe 0.10.21
wheel (Apache-2.0, `model/weights/LICENSE-mediapipe`; see `model/weights/README.md`).

Why the decoding is written here: the one kept library that decodes this model, MediaPipe's
Tasks `FaceDetector` (mediapipe 1.2.3 runs it, given the file, in ~2.5 ms), requires
`opencv-contrib-python`, which installs over our pinned `opencv-python-headless` (the same
`cv2` module), plus `sounddevice`/PortAudio and 130 MB; mediapipe 0.10.x pins numpy < 2.
The decoder below is the SSD anchor decoding that mediapipe's graph
`mediapipe/modules/face_detection/face_detection_short_range.pbtxt` configures
(`SsdAnchorsCalculator` + `TensorsToDetectionsCalculator`); its constants are copied from
there by name. Non-maximum suppression is OpenCV's (`cv2.dnn.NMSBoxes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

WEIGHTS = Path(__file__).resolve().parent / "weights" / "face_detection_short_range.tflite"

# --- Constants of face_detection_short_range.pbtxt (mediapipe 0.10.21) -----------------------
INPUT_SIZE = 128
"""The network reads 128x128 RGB, scaled to [-1, 1] (ImageToTensorCalculator)."""
ANCHOR_STRIDES = (8, 16, 16, 16)
"""SsdAnchorsCalculator.strides: layers of equal stride share one feature map."""
ANCHORS_PER_LAYER = 2
"""aspect_ratios [1.0] plus the interpolated scale: two anchors per cell per layer (fixed size 1x1)."""
ANCHOR_OFFSET = 0.5
"""Anchor centres sit in the middle of their cell."""
COORD_SCALE = 128.0
"""TensorsToDetectionsCalculator x/y/w/h_scale: raw offsets are in input pixels."""
SCORE_CLIP = 100.0
"""score_clipping_thresh: logits are clipped before the sigmoid."""
N_KEYPOINTS = 6
"""Keypoints per face, in this order (the subject's right eye is on the image's left)."""
RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH, RIGHT_EAR, LEFT_EAR = range(N_KEYPOINTS)

# --- Rapport's choices -----------------------------------------------------------------------
MIN_SCORE = 0.5
"""Least face score kept (mediapipe's default min_detection_confidence)."""
NMS_IOU = 0.3
"""Boxes overlapping more than this are one face (mediapipe's min_suppression_threshold)."""
MIN_FACE_OF_WINDOW = 0.2
"""Faces narrower than this fraction of a window are unreliable in it (measured: a 120-px face in a
640-px frame, 0.19 of it, was found in 3 of 20 thumbnails); the pyramid's finer windows find them."""
PYRAMID_WINDOWS = (1.0, 0.5)
"""Discovery windows, as fractions of the frame's shorter side, each laid over the frame with
half-window overlap, after one pass on the whole (letterboxed) frame. At 640x360: 1 + 3 + 18
windows, faces from ~36 px (a 0.5 window is 180 px) to the full height."""
WINDOW_OVERLAP = 0.5
"""Overlap of neighbouring pyramid windows: a face cut by one window's edge is whole in the next."""
SMALL_FACE_WINDOW = 1 / 3
"""Side of the small-face windows (`small_face_windows`), as a fraction of the frame's shorter side: 120 px
at 640x360 (5 x 10 = 50 windows), faces from 24 px (`MIN_FACE_OF_WINDOW`), i.e. 48 px in a 720p source.
Measured on 40 in-the-wild photos pasted into JPEG-compressed 1280x720 frames and read at 640 px: faces 60
and 70 px wide in the source found in 98% (the pyramid alone: 2% and 35%), 40 px in 10% (windows of 1/4:
82%, for 123 windows instead of 75); see the README's detector paragraph."""
EDGE_WINDOW = 0.18
"""Side of the edge windows (`edge_windows`), as a fraction of the frame's shorter side: 65 px at 640x360, laid along
the frame's four edges, where meeting tools put their strips of thumbnails (Zoom's speaker view at the top, Teams' at
the bottom, Meet's and screen shares' on the right) and a phone its self-view; faces from 13 px (`MIN_FACE_OF_WINDOW`),
i.e. 26 px in a 720p source, 39 px in a 1080p one. A new-user trial (42) recorded a 720p speaker view whose strip of
thumbnails held faces of 40-66 px: at 640 px the rep's (20-22 px) was under the 1/3 windows' 24 px and never found, so
the rep's colleague, in the big tile, became the rep; trial 43's 1080p Zoom strip and screen-share column held 15-19-px
faces at 640 px: windows of 90 px found 2-3 of 4, of 64 px all (0.84-0.94). Along the edges only: 56 windows at
640x360, where a tiling of the whole frame at this size would add ~200 (see `small_face_windows`); the README has the
measured recall."""


SAME_PICTURE_RMS = 0.5
"""RMS difference (grey levels) of two `cells` samples under which they are the same picture: a held frame, a still
tile or an empty wall decode (nearly) identically, and the detector gives the same answer on the same pixels."""
CELLS = 24
"""A window is compared at this many area-averaged cells a side (`cells`)."""


@dataclass(frozen=True)
class Window:
    """A square region of a frame, in frame pixels (may reach past the frame's edges: padded black)."""

    x: float
    y: float
    side: float


def cells(frame_gray: np.ndarray, x: float, y: float, side: float, n: int = CELLS) -> np.ndarray | None:
    """The square (x, y, side) of a grey frame area-averaged to (n, n) float32; None unless it lies inside the frame."""
    h, w = frame_gray.shape[:2]
    x0, y0, x1, y1 = int(round(x)), int(round(y)), int(round(x + side)), int(round(y + side))
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h or x1 - x0 < n:
        return None
    return cv2.resize(frame_gray[y0:y1, x0:x1], (n, n), interpolation=cv2.INTER_AREA).astype(np.float32)


def same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two `cells` samples show the same picture (`SAME_PICTURE_RMS`)."""
    return float(np.sqrt(np.mean(np.square(a - b)))) < SAME_PICTURE_RMS


class EmptyWindows:
    """The discovery windows (`pyramid`, `small_face_windows`) whose latest reading found no face, with the picture
    they showed then (`cells`), for one call: a window that shows that same picture again (`same_picture`) is not read
    again, as the same pixels give the same answer. A new face changes its windows' pictures, so they are read. Most of
    a whole-frame search reads empty windows (83-88% on the benchmark's calls); those over a still background, an
    empty tile or a camera-off card are skipped. Windows partly outside the frame (the letterboxed whole frame) are
    always read."""

    def __init__(self):
        self._pictures: dict[Window, np.ndarray] = {}

    def unchanged(self, frame_gray: np.ndarray, window: Window) -> bool:
        """Whether `window` last found no face, and shows the same picture now."""
        before = self._pictures.get(window)
        now = cells(frame_gray, window.x, window.y, window.side) if before is not None else None
        return now is not None and same_picture(now, before)

    def remember(self, frame_gray: np.ndarray, window: Window, found_any: bool) -> None:
        """Whether the latest reading of `window` found any face (a score of `MIN_SCORE` or more, even one then dropped
        as too small for the window): only a window that found none is remembered, with its picture."""
        picture = None if found_any else cells(frame_gray, window.x, window.y, window.side)
        if picture is None:
            self._pictures.pop(window, None)
        else:
            self._pictures[window] = picture

    def clear(self) -> None:
        """Forget every window (the frame changed shape)."""
        self._pictures.clear()


def anchor_centres() -> np.ndarray:
    """(896, 2) anchor centres (x, y) in [0, 1], in the network's output order."""
    centres = []
    strides = list(ANCHOR_STRIDES)
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        cells = INPUT_SIZE // strides[i]
        per_cell = ANCHORS_PER_LAYER * (j - i)
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = (np.stack([xs.ravel(), ys.ravel()], 1) + ANCHOR_OFFSET) / cells
        centres.append(np.repeat(grid, per_cell, axis=0))
        i = j
    return np.concatenate(centres).astype(np.float32)


ANCHORS = anchor_centres()


def decode(regressors: np.ndarray, logits: np.ndarray, min_score: float = MIN_SCORE
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One window's raw outputs -> (boxes (K, 4) xyxy, scores (K,), keypoints (K, 6, 2)) in [0, 1] of the window.

    `regressors` is (896, 16): box centre x, y, width, height, then six (x, y) keypoints, as
    offsets in input pixels from the anchor centre; `logits` is (896,).
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
    keep = np.flatnonzero(scores >= min_score)
    raw, anchors = regressors[keep] / COORD_SCALE, ANCHORS[keep]
    centre = raw[:, :2] + anchors
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], 1)
    keypoints = raw[:, 4:].reshape(-1, N_KEYPOINTS, 2) + anchors[:, None, :]
    return boxes, scores[keep], keypoints


def pyramid(width: int, height: int) -> list[Window]:
    """The discovery windows for a frame: the whole frame, then `PYRAMID_WINDOWS` tilings."""
    windows = [Window((width - max(width, height)) / 2, (height - max(width, height)) / 2, max(width, height))]
    for fraction in PYRAMID_WINDOWS:
        windows += _tiling(width, height, fraction)
    return windows


def small_face_windows(width: int, height: int, edges: bool = True) -> list[Window]:
    """The windows that find faces too small for the pyramid (24-36 px at 640x360): a `SMALL_FACE_WINDOW` tiling, and
    (`edges`) faces from 13 px along the frame's edges (`edge_windows`)."""
    return _tiling(width, height, SMALL_FACE_WINDOW) + (edge_windows(width, height) if edges else [])


def edge_windows(width: int, height: int) -> list[Window]:
    """`EDGE_WINDOW` squares along the frame's four edges, with `WINDOW_OVERLAP`, each once."""
    side = EDGE_WINDOW * min(width, height)
    step = side * (1 - WINDOW_OVERLAP)
    xs, ys = _positions(width, side, step), _positions(height, side, step)
    edges = [(x, y) for x in xs for y in (ys[0], ys[-1])] + [(x, y) for y in ys for x in (xs[0], xs[-1])]
    return [Window(x, y, side) for x, y in dict.fromkeys(edges)]


def _tiling(width: int, height: int, fraction: float) -> list[Window]:
    """Square windows `fraction` of the shorter side, laid over the frame with `WINDOW_OVERLAP`."""
    side = fraction * min(width, height)
    step = side * (1 - WINDOW_OVERLAP)
    return [Window(x, y, side) for y in _positions(height, side, step) for x in _positions(width, side, step)]


def _positions(length: float, side: float, step: float) -> list[float]:
    n = max(1, int(np.ceil((length - side) / step - 1e-6)) + 1)
    return list(np.linspace(0, max(0.0, length - side), n))


class BlazeFace:
    """The BlazeFace short-range network on LiteRT (`model.detect.BlazeFaceDetector` serves it as a detector).

    See the module docstring.
    """

    def __init__(self, threads: int = 1, min_score: float = MIN_SCORE):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # platforms without the LiteRT wheel fall back to TensorFlow's copy
            from tensorflow.lite import Interpreter
        self.min_score = min_score
        self.windows_read = 0
        """Network calls so far (one per window): the detector's work, counted for `tools.bench`."""
        self._interpreter = Interpreter(model_path=str(WEIGHTS), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._regressors, self._classificators = outputs["regressors"], outputs["classificators"]

    def _run(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(896, 16) regressors and (896,) logits of one (128, 128, 3) float32 input.

        One window per call: the graph's reshapes fix its batch at 1 (a resized batch gives wrong outputs).
        """
        interpreter = self._interpreter
        interpreter.set_tensor(self._input, window[None])
        interpreter.invoke()
        return interpreter.get_tensor(self._regressors)[0], interpreter.get_tensor(self._classificators)[0, :, 0]

    def find(self, frame_bgr: np.ndarray, windows: list[Window], empty: EmptyWindows | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces found inside `windows` (one network call each, ~2 ms), merged by NMS, in frame pixels; with `empty`,
        windows that still show the picture they last found no face in are not read (and what each read finds is
        remembered there).

        Returns (boxes (K, 4) xyxy, scores (K,), keypoints (K, 6, 2)), float32.
        """
        boxes, scores, points = [np.zeros((0, 4))], [np.zeros(0)], [np.zeros((0, N_KEYPOINTS, 2))]
        bgr = frame_bgr if frame_bgr.ndim == 3 else cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2BGR)
        if empty is not None:
            gray = frame_bgr if frame_bgr.ndim == 2 else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
            windows = [win for win in windows if not empty.unchanged(gray, win)]
        self.windows_read += len(windows)
        for win in windows:
            s = INPUT_SIZE / win.side
            warp = np.float32([[s, 0, -win.x * s], [0, s, -win.y * s]])
            pixels = cv2.warpAffine(bgr, warp, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR)  # outside the frame: black
            pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB).astype(np.float32) * (2.0 / 255.0) - 1.0
            b, sc, kp = decode(*self._run(pixels), self.min_score)
            if empty is not None:
                empty.remember(gray, win, found_any=len(b) > 0)
            if len(b) and win.side < max(frame_bgr.shape[:2]):  # pyramid tiles: drop faces too small for this window
                ok = (b[:, 2] - b[:, 0]) >= MIN_FACE_OF_WINDOW
                b, sc, kp = b[ok], sc[ok], kp[ok]
            boxes.append(b * win.side + [win.x, win.y, win.x, win.y])
            scores.append(sc)
            points.append(kp * win.side + [win.x, win.y])
        boxes, scores, points = np.concatenate(boxes), np.concatenate(scores), np.concatenate(points)
        keep = np.zeros(0, np.int64)
        if len(boxes):
            xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
            keep = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), self.min_score, NMS_IOU), np.int64).reshape(-1)
        return boxes[keep].astype(np.float32), scores[keep].astype(np.float32), points[keep].astype(np.float32)
