"""How readable a detected face is: size, sharpness, head pose and detector score.

Owns the per-face quality measures stored per face-second (`track_seconds`), so later stages
can call a second "uncertain" instead of guessing: a face a few dozen pixels wide, blurred by
motion, turned far away or barely detected is read less reliably than the model card's figures.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.blazeface import LEFT_EYE, NOSE_TIP, RIGHT_EYE
from model.preprocess import NORMAL_FACE_STD

QUALITY_FIELDS = ("face_px", "sharpness", "roll_deg", "yaw_deg", "detector_score")
"""Column order of quality arrays (and the `track_seconds` columns of the same names)."""

NOSE_DEPTH_OF_EYE_DISTANCE = 0.5
"""How far the nose tip stands in front of the eyes, as a fraction of the distance between the
eyes (anthropometric average, ~32 of ~63 mm). A head turned by yaw y moves the nose tip, seen
from the front, by depth * sin(y) while the eyes close up to distance * cos(y), so
yaw = atan(nose offset / eye distance / this)."""


def face_quality(crop: np.ndarray, xyxy: np.ndarray, keypoints: np.ndarray, score: float, px_scale: float) -> np.ndarray:
    """Quality of one face as a (5,) float array in `QUALITY_FIELDS` order.

    crop: the 48x48 uint8 face the classifier reads; xyxy: its box, analysis-frame pixels;
    keypoints: (6, 2) analysis-frame pixels (`Detections` order; NaN if the detector gave none:
    pose is then NaN); score: detector confidence in [0, 1]; px_scale: source pixels per
    analysis-frame pixel.

    face_px: the box's longer side in source-video pixels. sharpness: variance of the Laplacian
    of the 48x48 crop at a typical face's contrast (higher is sharper; motion blur and out-of-focus
    faces score low), see `contrast_free_sharpness`. roll_deg:
    the eye line's angle (positive: the head leans to the image's right, clockwise). yaw_deg:
    head turn from the nose's offset from the eyes' midpoint (positive: the nose points to the
    image's right), see `NOSE_DEPTH_OF_EYE_DISTANCE`.
    """
    face_px = float(max(xyxy[2] - xyxy[0], xyxy[3] - xyxy[1])) * px_scale
    sharpness = contrast_free_sharpness(crop)
    roll = yaw = np.nan
    right, left, nose = keypoints[RIGHT_EYE], keypoints[LEFT_EYE], keypoints[NOSE_TIP]
    if np.isfinite(keypoints[[RIGHT_EYE, LEFT_EYE, NOSE_TIP]]).all():
        dx, dy = left - right
        distance = max(float(np.hypot(dx, dy)), 1e-6)
        roll = float(np.degrees(np.arctan2(dy, dx)))
        # the nose's offset along the eye line, from the eyes' midpoint
        along = float(np.dot(nose - (right + left) / 2, [dx / distance, dy / distance]))
        yaw = float(np.degrees(np.arctan(along / distance / NOSE_DEPTH_OF_EYE_DISTANCE)))
    return np.array([face_px, sharpness, roll, yaw, float(score)], np.float64)


def contrast_free_sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of a 48x48 uint8 face, scaled to the contrast of a typical face: times
    (`model.preprocess.NORMAL_FACE_STD` / the crop's standard deviation)^2.

    The Laplacian's variance grows with the square of contrast, so on its own it called darker skin, dim rooms
    and flat light "blurred": a new-user trial's 3x3 gallery showed an emotion on 21% of the seconds of its four
    dark-skinned people against 61% for the five others, all for "blurred face", and swapping only the skin tints
    swapped the gap. Measured on scikit-image's astronaut (102-px face, the pipeline's aligned crop) at full, 60%
    and 40% brightness: 1,741 / 625 / 278 unscaled, 1,076 / 1,075 / 1,077 scaled; after a Gaussian blur of
    sigma 2 / 3 / 4 px, 186-196 / 89-100 / 54-65 at every brightness. A crop of a typical face's contrast
    (standard deviation `NORMAL_FACE_STD`) keeps its unscaled value.
    """
    spread = max(float(crop.std()), 1.0)
    return float(cv2.Laplacian(crop, cv2.CV_32F).var()) * (NORMAL_FACE_STD / spread) ** 2
