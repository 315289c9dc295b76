"""Annotated review stills: a box around each face, its role, its likely emotions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from config import EMOTIONS, UNCERTAIN

ROLE_COLOURS = {"rep": (235, 140, 40), "prospect": (60, 180, 60)}  # BGR
OTHER_COLOUR = (170, 170, 170)


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
    image = frame_bgr.copy()
    h, w = image.shape[:2]
    scale = max(0.45, h / 1100)
    thick = max(1, round(h / 400))
    for face in faces:
        colour = ROLE_COLOURS.get(face.role, OTHER_COLOUR)
        x1, y1, x2, y2 = (face.box * [w, h, w, h]).astype(int)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, thick + 1)
        lines = [face.role.capitalize()]
        if face.uncertain:
            lines.append(UNCERTAIN)
        elif face.probs is not None:
            lines += [f"likely {name} {p:.0%}" if i == 0 else f"{name} {p:.0%}"
                      for i, (name, p) in enumerate(top_emotions(face.probs))]
        else:
            lines.append("emotions not analysed")
        _label(image, lines, (x1, y2 + 4), colour, scale, thick)
    if caption:
        _label(image, [caption], (8, 8), (40, 40, 40), scale * 1.1, thick)
    return image


def _label(image: np.ndarray, lines: list[str], origin: tuple[int, int], colour, scale: float, thick: int) -> None:
    """Text lines on a filled box, kept inside the frame."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    sizes = [cv2.getTextSize(line, font, scale, thick)[0] for line in lines]
    line_h = max(s[1] for s in sizes) + int(10 * scale)
    box_w = max(s[0] for s in sizes) + 12
    box_h = line_h * len(lines) + 6
    h, w = image.shape[:2]
    x = int(np.clip(origin[0], 0, max(0, w - box_w)))
    y = int(np.clip(origin[1], 0, max(0, h - box_h)))
    cv2.rectangle(image, (x, y), (x + box_w, y + box_h), colour, -1)
    for i, line in enumerate(lines):
        cv2.putText(image, line, (x + 6, y + (i + 1) * line_h), font, scale, (255, 255, 255), thick, cv2.LINE_AA)


def save_jpeg(image: np.ndarray, path: Path, quality: int = 88) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"could not write {path}")
    return path
