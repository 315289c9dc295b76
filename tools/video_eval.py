"""End-to-end evaluation: labelled held-out faces composed into call recordings and read by the whole pipeline.

    python -m tools.video_eval RUN_DIR [--datasets ROOT] [--per-class N] [--seed N] [--weights PATH] [--json] [--record]
    python -m tools.video_eval RUN_DIR --data DIR [--data DIR ...]      # any <emotion>/<image> trees

It lives in tools/ (not model/) because it composes recordings and runs the whole pipeline, and model
never imports pipeline (tests/test_architecture.py).

Accuracy on 48x48 stills does not carry over to faces a call app downscaled, compressed and that our
own detector cropped. This module measures what a manager sees: each labelled face is pasted into a
tile of a call layout (gallery: two 16:9 tiles side by side; speaker: the prospect full frame and the
rep in a self-view thumbnail) at a face size a call has (`FACE_PX`), with slow head motion (drift, roll,
zoom), encoded with H.264 at a meeting tool's bit rate (`BIT_RATES`), then read back by
`pipeline.analyze.analyze_video` exactly as an upload is (probe, sampling, detection, tracking, crop,
classification with flip TTA, per-second timelines with smoothing). Each face holds its tile for
`HOLD_S` seconds; the timeline's second 2 of that hold is its end-to-end reading (what the review page shows). The same faces
are also read as stills (the classifier on the dataset's own 48x48 crop) for the comparison.

Roles come from the tiles, not from the analysis: a tile here shows ten different people one after
another, which the product rightly calls ten people (most of them guests, whose seconds are in no role's
timeline), so each track is given the role of the tile its face sits in and the timelines are rebuilt
with `pipeline.analyze.derive`, the product's own roles -> timelines step. This measures reading faces;
telling people and roles apart is tested in tests/test_people.py. (Until 2026-12-01 the eval read the
analysis' own roles: 150 of 356 faces, nearly all in the rep's tile, counted as "no face found".)

Faces come from the splits no training run sees for training: the held-out 10% test split of
facial_expressions (`model.data.stratified_split`) and FER2013's val (PublicTest), `per_class` of each
class from each source at most (seeded). FER2013 faces are 48x48 grayscale crops: they are upscaled
(bicubic, as a call app scales a small camera picture) to the face size drawn for their tile.

JSON fields (`run_video_eval` returns the same dict; it is also written to RUN_DIR/video_eval.json):
  model, temperature        the classifier's version and the temperature its probabilities use (None: raw)
  n_faces, n_calls, video_s  how much was composed; layouts, bit_rates_kbps, face_px, hold_s: how
  end_to_end                 `model.evaluate.score` of the pipeline's readings: accuracy, macro_f1,
                             baseline_accuracy, n_images, n_no_face (faces the pipeline never read:
                             counted wrong), per_class {precision, recall, f1, support}; plus
                             n_uncertain (seconds shown "uncertain"), uncertain_share,
                             accuracy_when_shown (accuracy over the seconds that show an emotion),
                             when_shown {emotion: {n, precision, often_truly}} (`when_shown`) and
                             uncertain_reasons {small face|blurred face|no clear expression: {n, accuracy
                             (of the top emotion the uncertain seconds hid)}} (`pipeline.uncertainty`)
  stills                     the same score for the same faces read as stills
  by_source                  {wild_test|fer2013_val|<folder>: {n, end_to_end_accuracy, stills_accuracy,
                             ece_end_to_end (None: none of its faces read)}}
  by_face_px                 {"60-90": {...}, ...}: end-to-end accuracy by the face size drawn
  ece                        {end_to_end, stills}: expected calibration error (15 bins) of the top probability
  timings_s                  compose, analyse (pipeline), total
Per-face rows (what was shown, what was read) go to RUN_DIR/video_eval_faces.csv.

`--record` also writes the end-to-end figure into the shipped model's card (`record_on_card`: `on_calls` in
model/model_card.json), which the dashboard and the reports lead their accuracy line with (`reports.facts`);
only a run of the shipped file itself can be recorded. `model.ship` writes a new card without it: run
`--record` again after shipping (see the model card's shipping rule).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from config import EMOTIONS, MODEL_CARD_PATH
from model.preprocess import crop_face

HOLD_S = 4
"""Seconds each face holds its tile. Second 2 of the hold is scored: its 3-s smoothing window (1-3) sees only
that face, and the detector (every 2 s) has found it by then, as it would a person who just joined."""
CALL_SLOTS = 10
"""Faces per tile in one call (a call of CALL_SLOTS * HOLD_S seconds)."""
CALL_SIZE = (1280, 720)
"""Width, height of the composed recordings: a 720p call recording."""
RECORDING_FPS = 25
"""Frame rate of the composed recordings (Zoom and Teams recordings are 25-30 fps)."""
BIT_RATES = (300_000, 600_000, 1_000_000, 1_500_000)
"""H.264 bit rates (bit/s), cycled over calls: a weak connection's 720p up to a good one's."""
LAYOUT_CYCLE = ("gallery", "speaker")
"""Layouts cycled over calls (see `tools.synthetic` for what each looks like)."""
FACE_PX = {"gallery": (90, 160), "speaker": (150, 250), "thumbnail": (60, 80)}
"""Face box side (pixels of the 1280x720 recording) drawn uniformly, by kind of tile, once per tile and call:
a tile's framing is its participant's camera set-up, so every face a tile shows keeps the size drawn (the
pipeline groups a tile's tracks into one seat by box overlap; a new size every few seconds broke that in a
first run, which no real call does)."""
FACE_CROP_MAX_SIDE = 64
"""A source image this small (short side, px) is already a face crop (FER2013's 48x48); larger ones are
photos whose face the pipeline's detector finds first, as `model.data.load_folder` does."""
FER_FACE_FRACTION = 0.8
"""Share of a FER2013 crop's side the face box spans (its crops include forehead and chin)."""
DRIFT = 0.08
"""Head motion: drift amplitude as a fraction of the face size (periods 5-9 s)."""
ROLL_DEG = 4.0
"""Head motion: roll amplitude, degrees."""
ZOOM = 0.04
"""Head motion: leaning in and out, as a fraction of the face size."""
SIZE_BUCKETS = (60, 90, 120, 160, 200, 251)
"""Edges of the face-size buckets in `by_face_px`."""


@dataclass(frozen=True)
class LabelledFace:
    """One held-out face: the picture to compose, where its face is, and its label."""

    image: np.ndarray  # BGR, any size
    box: np.ndarray  # xyxy of the face in `image` pixels
    label: int  # index into EMOTIONS
    still: np.ndarray  # (48, 48) uint8: the crop the stills evaluation reads
    source: str  # wild_test | fer2013_val | a folder's name
    path: str


@dataclass(frozen=True)
class Slot:
    """One face shown in one tile of one call for HOLD_S seconds from `t0`."""

    face: int  # index into the faces list
    call: int
    role: str  # rep | prospect
    t0: int
    face_px: int
    layout: str


def _read_face(path: Path, label: int, source: str, detector) -> LabelledFace | None:
    from model.detect import find_face_in_still

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    if min(image.shape[:2]) <= FACE_CROP_MAX_SIDE:  # a face crop: the whole image is the face
        h, w = image.shape[:2]
        inset = (1 - FER_FACE_FRACTION) / 2
        box = np.array([w * inset, h * inset, w * (1 - inset), h * (1 - inset)], np.float32)
        return LabelledFace(image, box, label, crop_face(image), source, str(path))
    found = find_face_in_still(image, detector)
    if found is None:
        return None
    box, eyes = found.xyxy[0].astype(np.float32), found.keypoints[0, :2]  # read as the pipeline reads it: eye-aligned
    return LabelledFace(image, box, label, crop_face(image, box, eyes), source, str(path))


def _pick(items: list[tuple[Path, int]], per_class: int, seed: int) -> list[tuple[Path, int]]:
    rng = np.random.default_rng(seed)
    out = []
    for label in range(len(EMOTIONS)):
        these = [item for item in items if item[1] == label]
        order = rng.permutation(len(these))[:per_class]
        out += [these[i] for i in sorted(order)]
    return out


def held_out_faces(datasets: Path, per_class: int, seed: int = 0) -> list[LabelledFace]:
    """Up to `per_class` faces per class from the wild test split and from FER2013 val (never training faces)."""
    from model.data import list_images, load_folder, stratified_split
    from model.train import FER_VAL, WILD, WILD_DETECTOR
    from model.detect import make_detector

    detector = make_detector(WILD_DETECTOR)
    wild_test = stratified_split(load_folder(datasets / WILD, detect_faces=True, detector=WILD_DETECTOR))[2]
    sources = {
        "wild_test": [(Path(p), int(l)) for p, l in zip(wild_test.paths, wild_test.labels)],
        "fer2013_val": list_images(datasets / FER_VAL),
    }
    faces = []
    for source, items in sources.items():
        for path, label in _pick(items, per_class, seed):
            face = _read_face(path, label, source, detector)
            if face is not None:
                faces.append(face)
    return faces


def folder_faces(folders: list[Path], per_class: int, seed: int = 0) -> list[LabelledFace]:
    """Faces from `<emotion>/<image>` trees (photos: the face is detected first; small crops are used whole)."""
    from config import get_settings
    from model.data import list_images
    from model.detect import make_detector

    detector = make_detector(get_settings().detector)
    faces = []
    for folder in folders:
        for path, label in _pick(list_images(folder), per_class, seed):
            face = _read_face(path, label, Path(folder).name, detector)
            if face is not None:
                faces.append(face)
    return faces


def plan_calls(faces: list[LabelledFace], seed: int = 0) -> list[list[Slot]]:
    """Shuffle the faces into calls: both tiles of every call show a new face every HOLD_S seconds."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(faces))
    per_call = 2 * CALL_SLOTS
    calls = []
    for c, start in enumerate(range(0, len(order), per_call)):
        chunk = order[start : start + per_call]
        layout = LAYOUT_CYCLE[c % len(LAYOUT_CYCLE)]
        sizes = {}
        for role in ("rep", "prospect"):
            low, high = FACE_PX["thumbnail" if (layout == "speaker" and role == "rep") else layout]
            sizes[role] = int(rng.integers(low, high + 1))
        slots = []
        for k, face in enumerate(chunk):
            role = ("rep", "prospect")[k % 2]
            slots.append(Slot(int(face), c, role, (k // 2) * HOLD_S, sizes[role], layout))
        calls.append(slots)
    return calls


def _tiles(layout: str) -> dict[str, tuple[int, int, int, int]]:
    """(x, y, w, h) of the rep's and the prospect's tile, from the synthetic calls' layouts (rep on the left)."""
    from tools.synthetic import CallScript, _layout

    return {tile.role: (tile.x, tile.y, tile.w, tile.h) for tile in _layout(CallScript(size=CALL_SIZE, layout=layout))}


class _TileView:
    """One face in one tile: a blurred background made once, the face warped per frame with head motion."""

    def __init__(self, face: LabelledFace, rect: tuple[int, int, int, int], face_px: int, rng: np.random.Generator):
        self.rect = rect
        x, y, w, h = rect
        self.image = face.image
        tiny = cv2.resize(face.image, (8, 6), interpolation=cv2.INTER_AREA)
        self.background = cv2.resize(tiny, (w, h), interpolation=cv2.INTER_CUBIC)
        x1, y1, x2, y2 = face.box
        self.centre = ((x1 + x2) / 2, (y1 + y2) / 2)
        self.scale = face_px / max(x2 - x1, y2 - y1)
        self.face_px = face_px
        self.target = (w / 2, h * 0.45)
        self.phase = rng.uniform(0, 2 * math.pi, 4)
        self.period = rng.uniform(5, 9, 4)
        # A call app scales the camera picture to the tile: bicubic up (small crops), area down.
        if self.scale > 1:
            self.image = cv2.resize(face.image, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_CUBIC)
        else:
            self.image = cv2.resize(face.image, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        self.centre = (self.centre[0] * self.scale, self.centre[1] * self.scale)

    def draw(self, canvas: np.ndarray, t: float) -> None:
        x, y, w, h = self.rect
        wave = [math.sin(2 * math.pi * t / p + ph) for p, ph in zip(self.period, self.phase)]
        zoom = 1 + ZOOM * wave[2]
        angle = ROLL_DEG * wave[3]
        dx = self.target[0] + DRIFT * self.face_px * wave[0]
        dy = self.target[1] + 0.5 * DRIFT * self.face_px * wave[1]
        m = cv2.getRotationMatrix2D(self.centre, angle, zoom)
        m[:, 2] += (dx - self.centre[0], dy - self.centre[1])
        tile = self.background.copy()
        cv2.warpAffine(self.image, m, (w, h), dst=tile, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
        canvas[y : y + h, x : x + w] = tile


def write_call(path: Path, slots: list[Slot], faces: list[LabelledFace], bit_rate: int, seed: int) -> Path:
    """Encode one composed call (H.264 in MP4 at `bit_rate` bit/s, B-frames as call recorders use them)."""
    rng = np.random.default_rng(seed)
    layout = slots[0].layout
    rects = _tiles(layout)
    duration = max(s.t0 for s in slots) + HOLD_S
    views = {(s.role, s.t0): _TileView(faces[s.face], rects[s.role], s.face_px, rng) for s in slots}
    backdrop = np.full((CALL_SIZE[1], CALL_SIZE[0], 3), (36, 33, 32), np.uint8)
    rate = Fraction(RECORDING_FPS)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate, options={"preset": "veryfast"})
        stream.width, stream.height = CALL_SIZE
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / rate
        stream.codec_context.bit_rate = bit_rate
        stream.codec_context.max_b_frames = 2
        for i in range(duration * RECORDING_FPS):
            t = i / RECORDING_FPS
            canvas = backdrop.copy()
            slot_t0 = int(t // HOLD_S) * HOLD_S
            for role in ("prospect", "rep"):  # the rep last: a speaker view's self-view thumbnail is on top
                view = views.get((role, slot_t0))
                if view is not None:
                    view.draw(canvas, t)
            frame = av.VideoFrame.from_ndarray(canvas, format="bgr24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _timelines_by_tile(result, tiles: dict[str, tuple[int, int, int, int]], min_shift_seconds: float) -> dict:
    """Per-role timelines of an analysis with each track given the role of the tile its mean box centre is in
    (`tiles`: role -> (x, y, w, h) recording pixels; the self-view thumbnail is drawn last, so it is tested first)."""
    from pipeline.analyze import derive

    roles = {}
    for rows in result.track_seconds:
        x1, y1, x2, y2 = rows.boxes.mean(axis=0) * [CALL_SIZE[0], CALL_SIZE[1], CALL_SIZE[0], CALL_SIZE[1]]
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        for role in ("rep", "prospect"):
            x, y, w, h = tiles[role]
            if x <= cx < x + w and y <= cy < y + h:
                roles[rows.track_id] = role
                break
    timelines, _ = derive(result.track_seconds, roles, result.info.n_seconds, min_shift_seconds, result.video_present)
    return timelines


def run_video_eval(faces: list[LabelledFace], run_dir: Path, classifier, seed: int = 0,
                   progress=print) -> dict:
    """Compose `faces` into calls under `run_dir`, analyse each with the pipeline, score; see the module doc."""
    from config import UNCERTAIN, get_settings
    from model.calibrate import expected_calibration_error
    from model.evaluate import NO_FACE, score
    from pipeline.analyze import AnalysisSettings, analyze_video
    from model.detect import shared_detector
    from pipeline.video import probe

    if not faces:
        raise ValueError("no labelled faces to compose")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = get_settings()
    analysis = AnalysisSettings(fps=settings.analysis_fps, detector=settings.detector,
                                rep_position="left", min_shift_seconds=settings.min_shift_seconds)
    detector = shared_detector(analysis.detector)
    calls = plan_calls(faces, seed)
    timings = {"compose": 0.0, "analyse": 0.0}
    readings: dict[tuple[int, str, int], tuple[np.ndarray | None, str | None, str | None]] = {}
    for c, slots in enumerate(calls):
        bit_rate = BIT_RATES[c % len(BIT_RATES)]
        path = run_dir / f"call-{c:03d}-{slots[0].layout}-{bit_rate // 1000}k.mp4"
        start = time.perf_counter()
        write_call(path, slots, faces, bit_rate, seed + c)
        timings["compose"] += time.perf_counter() - start
        start = time.perf_counter()
        result = analyze_video(probe(path), classifier, detector, analysis)
        timings["analyse"] += time.perf_counter() - start
        timelines = _timelines_by_tile(result, _tiles(slots[0].layout), analysis.min_shift_seconds)
        for slot in slots:
            second = slot.t0 + HOLD_S // 2
            timeline = timelines.get(slot.role)
            if timeline is None or second >= len(timeline) or not timeline.classified[second]:
                readings[c, slot.role, slot.t0] = (None, None, None)
            else:
                readings[c, slot.role, slot.t0] = (timeline.probs[second], timeline.shown[second],
                                                   timeline.uncertain_reason[second])
        progress(f"call {c + 1}/{len(calls)}: {path.name}")
    slots = [s for call in calls for s in call]
    labels = np.array([faces[s.face].label for s in slots])
    read = [readings[s.call, s.role, s.t0] for s in slots]
    found = np.array([p is not None for p, _, _ in read])
    video_probs = np.array([p for p, _, _ in read if p is not None]).reshape(-1, len(EMOTIONS))
    predicted = np.full(len(slots), NO_FACE)
    predicted[found] = video_probs.argmax(axis=1)
    shown = np.array([label if label is not None else "" for _, label, _ in read], dtype=object)
    why = np.array([reason or "" for _, _, reason in read], dtype=object)
    still_probs = classifier.predict(np.stack([faces[s.face].still for s in slots]), flip_tta=analysis.flip_tta)
    still_predicted = still_probs.argmax(axis=1)

    end_to_end = score(labels[found], predicted[found], labels[~found])
    uncertain = shown == UNCERTAIN
    showing = found & ~uncertain
    end_to_end.update({
        "n_uncertain": int(uncertain.sum()),
        "uncertain_share": float(uncertain.mean()),
        "accuracy_when_shown": float(np.mean(predicted[showing] == labels[showing])) if showing.any() else None,
        "when_shown": when_shown(shown[showing], labels[showing]),
        "uncertain_reasons": {reason: {"n": int((why == reason).sum()),
                                       "accuracy": float(np.mean(predicted[why == reason] == labels[why == reason]))}
                              for reason in sorted(set(why[uncertain]))},
    })
    face_px = np.array([s.face_px for s in slots])
    by_size = {}
    for low, high in zip(SIZE_BUCKETS[:-1], SIZE_BUCKETS[1:]):
        inside = (face_px >= low) & (face_px < high)
        if inside.any():
            by_size[f"{low}-{high - 1}"] = {
                "n": int(inside.sum()),
                "end_to_end_accuracy": float(np.mean(predicted[inside] == labels[inside])),
                "stills_accuracy": float(np.mean(still_predicted[inside] == labels[inside])),
                "no_face_share": float(np.mean(~found[inside])),
            }
    sources = np.array([faces[s.face].source for s in slots])
    report = {
        "model": classifier.version,
        "temperature": getattr(classifier, "temperature", None),
        "n_faces": len(slots),
        "n_calls": len(calls),
        "video_s": int(sum(max(s.t0 for s in call) + HOLD_S for call in calls)),
        "layouts": list(LAYOUT_CYCLE),
        "bit_rates_kbps": [b // 1000 for b in BIT_RATES],
        "face_px": [min(v[0] for v in FACE_PX.values()), max(v[1] for v in FACE_PX.values())],
        "hold_s": HOLD_S,
        "flip_tta": analysis.flip_tta,
        "end_to_end": end_to_end,
        "stills": score(labels, still_predicted),
        "by_source": {
            name: {"n": int((sources == name).sum()),
                   "end_to_end_accuracy": float(np.mean(predicted[sources == name] == labels[sources == name])),
                   "stills_accuracy": float(np.mean(still_predicted[sources == name] == labels[sources == name])),
                   "ece_end_to_end": (expected_calibration_error(video_probs[sources[found] == name],
                                                                 labels[found][sources[found] == name])
                                      if (sources[found] == name).any() else None)}
            for name in sorted(set(sources))
        },
        "by_face_px": by_size,
        "ece": {"end_to_end": expected_calibration_error(video_probs, labels[found]),
                "stills": expected_calibration_error(still_probs, labels)},
        "timings_s": {k: round(v, 1) for k, v in timings.items()} | {"total": round(sum(timings.values()), 1)},
    }
    (run_dir / "video_eval.json").write_text(json.dumps(report, indent=2) + "\n")
    np.savez_compressed(run_dir / "video_eval_probs.npz", labels=labels, found=found, video_probs=video_probs,
                        still_probs=still_probs, face_px=face_px)
    with (run_dir / "video_eval_faces.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["call", "role", "t0", "layout", "face_px", "source", "path", "label", "read", "shown",
                         "read_probability", "still", "still_probability"])
        j = 0
        for i, s in enumerate(slots):
            p = None
            if found[i]:
                p, j = video_probs[j], j + 1
            writer.writerow([s.call, s.role, s.t0, s.layout, s.face_px, sources[i], faces[s.face].path,
                             EMOTIONS[labels[i]], EMOTIONS[int(p.argmax())] if p is not None else "",
                             shown[i], round(float(p.max()), 4) if p is not None else "",
                             EMOTIONS[still_predicted[i]], round(float(still_probs[i].max()), 4)])
    return report


OFTEN_TRULY_SHARE = 0.25
"""`when_shown`'s often_truly names a true emotion that is at least this share of a label's wrong readings."""


def when_shown(shown: np.ndarray, labels: np.ndarray) -> dict:
    """The emotion names shown (N,) against the faces' true labels (N,) (indices into `EMOTIONS`) -> {emotion: {n
    (faces it was shown for), precision (the share of them whose face truly showed it), often_truly (the true emotions
    of the rest that are `OFTEN_TRULY_SHARE` of them or more, most frequent first, at most two)}}; emotions never shown
    are left out. This is what a manager reads off a label: a new-user trial (19) found "likely neutral" right 55% of
    the time it was shown, every other label 88-100%."""
    out = {}
    for emotion in EMOTIONS:
        truly = labels[shown == emotion]
        if len(truly):
            wrong = Counter(EMOTIONS[k] for k in truly if EMOTIONS[k] != emotion)
            out[emotion] = {"n": int(len(truly)), "precision": float(np.mean(truly == EMOTIONS.index(emotion))),
                            "often_truly": [name for name, count in wrong.most_common(2)
                                            if count >= OFTEN_TRULY_SHARE * sum(wrong.values())]}
    return out


def record_on_card(report: dict, card_path: Path | None = None) -> None:
    """Write `report`'s end-to-end figure into the model card as `on_calls` {model, measured_on, n_faces, n_calls,
    accuracy, macro_f1, accuracy_when_shown, uncertain_share, per_class_f1, per_class_recall, when_shown,
    temperature, ece {end_to_end, by_source {source: ece}}}.

    `card_path` defaults to the shipped model's card. Raises ValueError when `report` measured another file than
    the card's (the card describes the shipped file)."""
    card_path, card = _card_for(report["model"], card_path)
    e2e = report["end_to_end"]
    card["on_calls"] = {"model": report["model"], "measured_on": dt.date.today().isoformat(),
                        "n_faces": report["n_faces"], "n_calls": report["n_calls"], "accuracy": e2e["accuracy"],
                        "macro_f1": e2e["macro_f1"], "accuracy_when_shown": e2e["accuracy_when_shown"],
                        "uncertain_share": e2e["uncertain_share"],
                        "per_class_f1": {e: e2e["per_class"][e]["f1"] for e in EMOTIONS},
                        "per_class_recall": {e: e2e["per_class"][e]["recall"] for e in EMOTIONS},
                        "when_shown": e2e["when_shown"], "temperature": report["temperature"],
                        "ece": {"end_to_end": report["ece"]["end_to_end"],
                                "by_source": {name: v["ece_end_to_end"] for name, v in report["by_source"].items()}}}
    card_path.write_text(json.dumps(card, indent=2) + "\n")


def _card_for(version: str, card_path: Path | None = None) -> tuple[Path, dict]:
    """The model card (path, contents) a figure measured on `version` may be recorded on; ValueError if it
    describes another file."""
    card_path = card_path or MODEL_CARD_PATH
    card = json.loads(card_path.read_text())
    if version != card.get("version"):
        raise ValueError(f"this run reads {version}, but {card_path.name} describes {card.get('version')}: "
                         "only the shipped file's figure can be recorded")
    return card_path, card


def format_report(report: dict) -> str:
    from model.evaluate import format_table

    lines = [f"{report['n_faces']} faces in {report['n_calls']} calls ({report['video_s']} s of 720p H.264 at "
             f"{'/'.join(map(str, report['bit_rates_kbps']))} kbit/s; faces {report['face_px'][0]}-"
             f"{report['face_px'][1]} px), model {report['model']}",
             format_table(report["end_to_end"], "== end to end (the whole pipeline on the call recordings)"),
             f"shown uncertain {report['end_to_end']['n_uncertain']} ({report['end_to_end']['uncertain_share']:.1%}); "
             f"accuracy when an emotion is shown {report['end_to_end']['accuracy_when_shown']}; uncertain by reason "
             "(n, accuracy of the hidden top emotion): " + json.dumps(report["end_to_end"]["uncertain_reasons"]),
             format_table(report["stills"], "== the same faces as stills (classifier on the dataset's crop)"),
             f"ECE (15 bins): end to end {report['ece']['end_to_end']:.3f}, stills {report['ece']['stills']:.3f}",
             "by source: " + json.dumps(report["by_source"]),
             "by face size: " + json.dumps(report["by_face_px"])]
    return "\n\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from config import SHIPPED_MODEL_PATH
    from model.classifier import EmotionClassifier, ModelFileError

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="where the composed recordings and results go")
    parser.add_argument("--data", type=Path, action="append", default=[],
                        help="folder of <emotion>/<image> files (repeatable; default the held-out splits)")
    parser.add_argument("--datasets", type=Path, help="root holding fer2013/val and facial_expressions")
    parser.add_argument("--per-class", type=int, default=40, help="faces per class and source at most")
    parser.add_argument("--seed", type=int, default=0, help="which faces, sizes and motion")
    parser.add_argument("--weights", type=Path, default=SHIPPED_MODEL_PATH, help="a .tflite or .keras file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    parser.add_argument("--record", action="store_true",
                        help="also write the end-to-end figure into the shipped model's card (the shipped file only)")
    args = parser.parse_args(argv)
    try:
        classifier = EmotionClassifier(args.weights)
        if args.record:
            _card_for(classifier.version)  # refuse before the run, not after it
        if args.data:
            faces = folder_faces(args.data, args.per_class, args.seed)
        else:
            from model.train import DATASETS

            faces = held_out_faces(args.datasets or DATASETS, args.per_class, args.seed)
        report = run_video_eval(faces, args.run_dir, classifier, args.seed,
                                progress=(lambda line: print(line, file=sys.stderr)))
        if args.record:
            record_on_card(report)
    except (ModelFileError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
