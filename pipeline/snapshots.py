"""Annotated review stills: a box around each face, its role, its likely emotions; which moments get one.

`render_snapshots` draws every shift (strongest first, at most `MAX_SNAPSHOTS`) and the prospect's strongest
moments, each cropped to its faces when they sit together in a small part of the frame (`framed`); `render_thumbnails` crops one face per track so a manager can tell who is who when fixing roles.
Paths returned are relative to the data folder (see `config.snapshot_folder`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from config import EMOTIONS, UNCERTAIN
from model.detect import iou_matrix
from pipeline.analyze import CallAnalysis
from pipeline.roles import PROSPECT
from pipeline.shifts import strongest_moments
from pipeline.speech import BOTH, TalkTimeline
from pipeline.timeline import EmotionTimeline, TrackSecondRows, clock
from pipeline.video import read_frames_at

ROLE_COLOURS = {"rep": (235, 140, 40), "prospect": (60, 180, 60)}  # BGR
OTHER_COLOUR = (170, 170, 170)
MAX_SNAPSHOTS = 24
PEAK_BESIDE_SHIFT_S = 5
"""A prospect's clearest expression this close (seconds, either way) to one of their shifts gets no still of its own:
it shows the face the shift's still shows (a trial: a key moment at 0:21 under the happy -> angry shift at 0:20)."""


STILL_MAX_CROP = 0.5
"""A still is cropped to its faces (`framed`) when that crop, `STILL_MARGIN` face heights around them at the frame's
aspect ratio, is at most this fraction of the frame's width: new-user trial 48's screen share stills showed the whole
slide with the prospect as a ~100-px thumbnail in a corner, a speck at the card's size; cropped, the face is twice as
large and the slide beside it stays in view."""
STILL_MARGIN = 1.0
"""Face heights of the picture kept around the faces of a cropped still (`framed`)."""


@dataclass(frozen=True)
class FaceAnnotation:
    role: str
    box: np.ndarray  # xyxy as fractions of the frame
    probs: np.ndarray | None  # 7 probabilities, or None when not classified (e.g. rep analysis off)
    uncertain: bool = False  # read, but shown as "uncertain" (pipeline.uncertainty): no emotion is named


def top_emotions(probs: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
    order = np.argsort(-probs)[:k]
    return [(EMOTIONS[i], float(probs[i])) for i in order]


def annotate(frame_bgr: np.ndarray, faces: list[FaceAnnotation], caption: str = "") -> np.ndarray:
    """The frame with a box around each face and, beside it, its role and likely emotions (or why none), placed by
    `_label_place` so no label covers a face; `caption` in the top-left corner."""
    image = frame_bgr.copy()
    h, w = image.shape[:2]
    side = min(h, w)  # a portrait phone call's text sized by its width (by its height, its caption ran off the frame)
    scale = max(0.45, side / 1100)
    thick = max(1, round(side / 400))
    boxes = [tuple(int(v) for v in face.box * [w, h, w, h]) for face in faces]
    taken = list(boxes)  # faces, then each label as it is placed
    if caption:
        taken.append(_label(image, _wrapped(caption, w - 16, scale * 1.1, thick), (8, 8), (40, 40, 40), scale * 1.1,
                            thick))
    for face, box in zip(faces, boxes):
        colour = ROLE_COLOURS.get(face.role, OTHER_COLOUR)
        cv2.rectangle(image, box[:2], box[2:], colour, thick + 1)
        lines = [face.role.capitalize()]
        if face.uncertain:
            lines.append(UNCERTAIN)
        elif face.probs is not None:
            lines += [f"likely {name} {p:.0%}" if i == 0 else f"{name} {p:.0%}"
                      for i, (name, p) in enumerate(top_emotions(face.probs))]
        else:
            lines.append("emotions not analysed")
        size = _label_size(lines, scale, thick)
        taken.append(_label(image, lines, _label_place(box, size, (w, h), taken), colour, scale, thick))
    return image


def framed(frame_bgr: np.ndarray, faces: list[FaceAnnotation]) -> tuple[np.ndarray, list[FaceAnnotation]]:
    """The part of the frame a still shows, and its faces with boxes as fractions of that part: the frame cropped to
    the faces (`STILL_MARGIN`, `STILL_MAX_CROP`) when they sit together in a small part of it, else the whole frame."""
    if not faces:
        return frame_bgr, faces
    h, w = frame_bgr.shape[:2]
    boxes = np.stack([face.box for face in faces]) * [w, h, w, h]
    margin = STILL_MARGIN * float((boxes[:, 3] - boxes[:, 1]).max())
    x1, y1 = boxes[:, :2].min(axis=0) - margin
    x2, y2 = boxes[:, 2:].max(axis=0) + margin
    crop_h = max(y2 - y1, (x2 - x1) * h / w)  # the frame's aspect ratio, around the faces
    crop_w = crop_h * w / h
    if crop_w > STILL_MAX_CROP * w:
        return frame_bgr, faces
    left = int(np.clip((x1 + x2 - crop_w) / 2, 0, w - crop_w))
    top = int(np.clip((y1 + y2 - crop_h) / 2, 0, h - crop_h))
    width, height = int(round(crop_w)), int(round(crop_h))
    scale = np.array([w / width, h / height, w / width, h / height])
    shift = np.array([left / w, top / h, left / w, top / h])
    return (frame_bgr[top:top + height, left:left + width],
            [FaceAnnotation(face.role, (face.box - shift) * scale, face.probs, face.uncertain) for face in faces])


def _wrapped(text: str, width: int, scale: float, thick: int) -> list[str]:
    """`text` as lines, broken between words, each at most `width` pixels wide in `_label` (a word longer than that
    keeps a line of its own)."""
    lines: list[str] = []
    for word in text.split():
        wider = f"{lines[-1]} {word}" if lines else word
        if lines and _label_size([wider], scale, thick)[0] <= width:
            lines[-1] = wider
        else:
            lines.append(word)
    return lines or [text]


def _label_size(lines: list[str], scale: float, thick: int) -> tuple[int, int, int]:
    """(width, height, line height) in pixels of `_label`'s box for `lines`."""
    sizes = [cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0] for line in lines]
    line_h = max(s[1] for s in sizes) + int(10 * scale)
    return max(s[0] for s in sizes) + 12, line_h * len(lines) + 6, line_h


def _label_place(box: tuple[int, ...], size: tuple[int, int, int], frame: tuple[int, int],
                 taken: list[tuple[int, ...]]) -> tuple[int, int]:
    """Top-left corner for a face's label: under its box, else above, left or right of it, whichever (kept inside the
    frame) covers least of the `taken` xyxy rectangles (faces and labels placed so far), the earlier on a tie.
    Always under the box, a rep's label in a screen share's camera strip covered the prospect's face below
    (a new-user trial, 34)."""
    x1, y1, x2, y2 = box
    box_w, box_h, _ = size
    w, h = frame
    candidates = [(x1, y2 + 4), (x1, y1 - 4 - box_h), (x1 - 4 - box_w, y1), (x2 + 4, y1)]

    def inside(xy: tuple[int, int]) -> tuple[int, int]:
        return int(np.clip(xy[0], 0, max(0, w - box_w))), int(np.clip(xy[1], 0, max(0, h - box_h)))

    def covered(xy: tuple[int, int]) -> int:
        x, y = xy
        return sum(max(0, min(x + box_w, r[2]) - max(x, r[0])) * max(0, min(y + box_h, r[3]) - max(y, r[1]))
                   for r in taken)

    return min((inside(xy) for xy in candidates), key=covered)  # min keeps the first of equals


def _label(image: np.ndarray, lines: list[str], origin: tuple[int, int], colour, scale: float, thick: int
           ) -> tuple[int, int, int, int]:
    """Text lines on a filled box at `origin`, kept inside the frame; returns the box (xyxy pixels)."""
    box_w, box_h, line_h = _label_size(lines, scale, thick)
    h, w = image.shape[:2]
    x = int(np.clip(origin[0], 0, max(0, w - box_w)))
    y = int(np.clip(origin[1], 0, max(0, h - box_h)))
    cv2.rectangle(image, (x, y), (x + box_w, y + box_h), colour, -1)
    for i, line in enumerate(lines):
        cv2.putText(image, line, (x + 6, y + (i + 1) * line_h), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                    cv2.LINE_AA)
    return x, y, x + box_w, y + box_h


def save_jpeg(image: np.ndarray, path: Path, quality: int = 88) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"could not write {path}")
    return path


SAME_PLACE_IOU = 0.5
"""Two faces of one second whose boxes overlap this much (intersection over union) sit in one place: a cut between two
people in one tile. The still labels only the one seen on more of the second's frames (new-user trial 16: a cut at
0:11.7 gave second 11 to both, and the still drew "Rep likely sad" and "Prospect likely surprise" on one face)."""


def faces_at(second: int, timelines: dict[str, EmotionTimeline], track_seconds: list[TrackSecondRows],
             roles: dict[int, str]) -> list[FaceAnnotation]:
    """The faces a still of `second` labels: each track seen that second, at its mean box, with its role's reading;
    of two in one place (`SAME_PLACE_IOU`) only the one seen on more of the second's frames."""
    seen = []  # (frames that second, face), the most seen first
    for rows in track_seconds:
        hit = np.flatnonzero(rows.seconds == second)
        if len(hit):
            role = roles[rows.track_id]
            probs = timelines[role].probs[second]
            seen.append((int(rows.n_frames[hit[0]]), FaceAnnotation(
                role, rows.boxes[hit[0]], None if np.isnan(probs[0]) else probs, bool(timelines[role].uncertain[second]))))
    faces: list[FaceAnnotation] = []
    for _, face in sorted(seen, key=lambda item: -item[0]):
        if not faces or iou_matrix(face.box[None], np.stack([kept.box for kept in faces])).max() < SAME_PLACE_IOU:
            faces.append(face)
    return faces


def still_moments(timelines: dict[str, EmotionTimeline], shifts, talk: TalkTimeline | None = None
                  ) -> list[tuple[float, str, str, tuple | None]]:
    """The moments that get a still, in time order, as (t_s, caption, kind, shift key): every shift (strongest first,
    at most `MAX_SNAPSHOTS`; kind "shift", key (role, t_s)) and the prospect's strongest moments (kind "peak"; none while
    `talk` has them talking) but those at a shift's second or within `PEAK_BESIDE_SHIFT_S` of one of the prospect's
    shifts."""
    moments = [(s.t_s, f"{s.role.capitalize()}: likely {s.from_emotion} -> {s.to_emotion} at {clock(s.t_s)}",
                "shift", (s.role, s.t_s)) for s in sorted(shifts, key=lambda s: -s.strength)[:MAX_SNAPSHOTS]]
    shift_seconds = {int(m[0]) for m in moments}  # anyone's: the same frame
    prospect_shifts = [s.t_s for s in shifts if s.role == PROSPECT]
    if PROSPECT in timelines:
        talking = None if talk is None else np.isin(talk.speaking, (PROSPECT, BOTH))
        for second in strongest_moments(timelines[PROSPECT], talking=talking):
            if second not in shift_seconds and all(abs(second - t) > PEAK_BESIDE_SHIFT_S for t in prospect_shifts):
                moments.append((float(second), f"Prospect's clearest expression at {clock(second)}", "peak", None))
    return sorted(moments, key=lambda m: m[0])


def render_snapshots(source: Path, timelines, track_seconds, roles, shifts, talk: TalkTimeline | None, data_dir: Path,
                     folder: Path, display_name: str | None = None) -> list[dict]:
    """Annotated stills for `still_moments`; errors name `display_name` (the upload's name)."""
    moments = still_moments(timelines, shifts, talk)
    out = []
    frames = read_frames_at(source, [int(m[0]) + 0.5 for m in moments], display_name=display_name) if moments else iter(())
    for (t_s, caption, kind, key), frame in zip(moments, frames):
        second = int(t_s)
        image = annotate(*framed(frame, faces_at(second, timelines, track_seconds, roles)), caption)
        relative = folder / f"{kind}-{second:05d}-{len(out)}.jpg"
        save_jpeg(image, data_dir / relative)
        out.append({"t_s": float(second), "kind": kind, "caption": caption, "path": str(relative), "shift_key": key})
    return out



def render_thumbnails(source: Path, result: CallAnalysis, data_dir: Path, folder: Path, limit: int = 12) -> dict[int, str]:
    """One face crop per track, so a manager can see who is who when fixing roles; errors name the upload
    (`result.info.name`)."""
    out = {}
    by_track = {r.track_id: r for r in result.track_seconds}
    chosen = [(s.track_id, by_track[s.track_id], len(by_track[s.track_id].seconds) // 2)
              for s in sorted(result.tracks, key=lambda s: -s.n_frames)[:limit]]
    chosen.sort(key=lambda c: c[1].seconds[c[2]])  # in time order: `read_frames_at` decodes on instead of seeking back
    frames = read_frames_at(source, [rows.seconds[middle] + 0.5 for _, rows, middle in chosen],
                            display_name=result.info.name) if chosen else iter(())
    for (track_id, rows, middle), frame in zip(chosen, frames):
        h, w = frame.shape[:2]
        x1, y1, x2, y2 = (rows.boxes[middle] * [w, h, w, h]).astype(int)
        pad = (x2 - x1) // 4
        crop = frame[max(0, y1 - pad): y2 + pad, max(0, x1 - pad): x2 + pad]
        relative = folder / f"track-{track_id}.jpg"
        save_jpeg(crop, data_dir / relative)
        out[track_id] = str(relative)
    return out
