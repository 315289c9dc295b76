"""When a face, or a second of a timeline, is shown as "uncertain" instead of an emotion.

Two reasons, both named thresholds here and nowhere else:

* the face is poor (`face_quality`): too small in the analysed frame to hold an expression, or
  blurred (motion, focus, a heavily compressed or upscaled picture). The check takes the analysed
  frame's crop and box; a landmarks / head-pose check (turned away) belongs in the same function;
* the model is unsure: the calibrated top probability of the second (flip-TTA, averaged over its
  frames, 3-s smoothed) is below `MIN_TOP_PROBABILITY`.

An uncertain second keeps its probabilities (charts may draw them) but shows `config.UNCERTAIN`, never
a made-up emotion, and is left out of shifts, key moments and mood shares, like a second without a face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_TOP_PROBABILITY = 0.5
"""A second whose calibrated top probability is below this shows "uncertain": with calibrated percentages,
below 50% the named emotion is more likely wrong than right. Measured on the end-to-end video evaluation
(model/MODEL_CARD.md, 215 faces read, temperature 1.22): seconds at or above it were right 63% of the time
(62% of them), those below 39%; at 0.45, 60% and 39% with 70% shown; at 0.6, 70% and 41% with 45% shown."""
MIN_FACE_PX = 28.0
"""Face box side, in pixels of the analysed frame (decoded 640 px wide), below which a face is too small:
28 px at 640 is ~56 px in a 720p recording, the smallest face size the evaluation composes."""
MIN_SHARPNESS = 300.0
"""Variance of the Laplacian of the 48x48 grayscale crop below which a face is too blurred to read.
Measured: FER2013 val crops 1,682 at the 1st percentile (median 5,306); scikit-image's astronaut (face
120 px) 2,320 sharp, 677 / 174 / 70 after a Gaussian blur of sigma 2 / 4 / 6 px; the same face shrunk to
30 px and upscaled by the crop, 974."""
MAX_POOR_SHARE = 0.5
"""A second is uncertain when more than this share of its frames had a poor face."""


@dataclass(frozen=True)
class FaceQuality:
    """How readable one face crop is. `size_px`: box side in analysed-frame pixels; `sharpness`: variance
    of the Laplacian of the 48x48 crop (grey levels squared)."""

    size_px: float
    sharpness: float

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the face is poor ("small", "blurred"); empty when it is fine."""
        out = []
        if self.size_px < MIN_FACE_PX:
            out.append("small")
        if self.sharpness < MIN_SHARPNESS:
            out.append("blurred")
        return tuple(out)

    @property
    def poor(self) -> bool:
        return bool(self.reasons)


def face_quality(crop: np.ndarray, xyxy: np.ndarray) -> FaceQuality:
    """Quality of one face: `crop` is the (48, 48) uint8 crop the classifier reads, `xyxy` its box in the frame."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    sharpness = float(cv2.Laplacian(crop, cv2.CV_32F).var())
    return FaceQuality(size_px=min(x2 - x1, y2 - y1), sharpness=sharpness)


def uncertain_seconds(probs: np.ndarray, n_frames: np.ndarray, n_poor: np.ndarray) -> np.ndarray:
    """(n,) bool: seconds with probabilities whose top one is low or whose face was mostly poor.

    `probs` (n, 7) calibrated, NaN rows where nothing was classified (never uncertain: not read at all);
    `n_frames` (n,) frames the face was seen in; `n_poor` (n,) of those with a poor face.
    """
    classified = ~np.isnan(probs[:, 0])
    top = np.nan_to_num(probs, nan=0.0).max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        poor = np.where(n_frames > 0, n_poor / np.maximum(n_frames, 1), 0.0) > MAX_POOR_SHARE
    return classified & ((top < MIN_TOP_PROBABILITY) | poor)
