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

    face_px: the box's longer side in source-video pixels. sharpness: variance of the Laplacian of the
    48x48 crop, or of its second difference along its least sharp direction if that is lower (scaled), at
    a typical face's contrast (higher is sharper; motion blur and out-of-focus faces score low), see
    `contrast_free_sharpness`. roll_deg:
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


_SECOND_DIFFERENCES = tuple(np.array(k, np.float32) / norm for k, norm in (
    ([[0, 0, 0], [1, -2, 1], [0, 0, 0]], 1),  # across: x
    ([[0, 1, 0], [0, -2, 0], [0, 1, 0]], 1),  # down: y
    ([[1, 0, 0], [0, -2, 0], [0, 0, 1]], 2),  # the diagonals, per pixel of distance squared
    ([[0, 0, 1], [0, -2, 0], [1, 0, 0]], 2),
))
"""Second differences along 0, 90, 45 and 135 degrees: motion blur smooths the face along one of them only."""
DIRECTIONAL_SCALE = 5.0
"""The least directional variance of `_SECOND_DIFFERENCES` is read at this many times its value, on the Laplacian's
scale, so one threshold (`pipeline.uncertainty.MIN_SHARPNESS`) tests both: a sharp face's Laplacian variance is
about seven times its least directional one (FER2013 val medians 2,097 and 299, over the whole crop). At 5 the directional gate sits at 60,
under all but 0.1% of FER2013 val faces (1st percentile 103) and over 92% of those smeared 5 px of 48 (read right 49%):
at 7.5 (a gate at 40) a new-user trial's prospect smeared 30 px of a 200-px face by a head shake (trial 25) measured
at the threshold, half of its frames passed, and its angry face read "surprise" for four seconds."""


FACE_INTERIOR = (slice(8, 44), slice(9, 39))
"""(rows, columns) of a 48x48 aligned crop that `contrast_free_sharpness` also measures: the face inside its outline,
not the crop's corners. Over the whole crop a bright window behind a dark face (a backlit call) sets the contrast: a
new-user trial's (9) backlit prospect, read right (happy 0.94), measured 92-670 and showed "uncertain: blurred face"
for all 44 of her seconds (the same call without the window: 912-2,023); inside, 843-1,646 (1,478-2,406)."""
INTERIOR_SCALE = 2 / 3
"""The interior's measure is read at this fraction of its value, on the whole crop's scale: faces measure ~1.45 times
more inside (1,500 FER2013 val faces, medians 2,184 and 1,501), and at 2/3 the interior alone gates blur as the whole
crop does (`pipeline.uncertainty.MIN_SHARPNESS`). The interior alone (session 35, first try) called 22 more of
`tools.video_eval`'s 450 faces "small face" (enlarged thumbnails, smooth inside, whose edges carry their detail), their
hidden readings right 73%; so a face is sharp when either measure says so. Either-or gates FER2013 val faces (1,500,
`/root/rapport-runs/s35/sharp_cal2.py`): clean 0.0%, Gaussian sigma 1 px 90% (the whole crop alone 94%), smeared
3 / 5 / 7 / 9 px 18 / 86 / 98 / 99% (28 / 92 / 99 / 100%)."""


def contrast_free_sharpness(crop: np.ndarray) -> float:
    """Sharpness of a 48x48 uint8 face at a typical face's contrast: the least of the variance of its Laplacian and
    `DIRECTIONAL_SCALE` times the variance of its second difference along its least sharp direction
    (`_SECOND_DIFFERENCES`), times (`model.preprocess.NORMAL_FACE_STD` / the standard deviation)^2, over the whole crop
    (border pixels left out of the directions) or over its interior (`FACE_INTERIOR`, times `INTERIOR_SCALE`), whichever is higher.

    Why a direction too: a head moving while the camera exposes smears the face along the motion only, and the
    Laplacian (the across and down differences summed) stays high from the other direction. Measured on FER2013
    val faces smeared 5 px of 48 at random angles (read 49% right): the Laplacian alone passed 54% of them as sharp,
    with the least direction 8% (`MIN_SHARPNESS` has the figures). A face blurred evenly (out of focus, enlarged)
    still fails on the Laplacian, which falls faster there.
    Why the contrast: a second difference's variance grows with the square of contrast, so unscaled it called
    darker skin, dim rooms and flat light "blurred": a new-user trial's 3x3 gallery showed an emotion on 21% of the
    seconds of its four dark-skinned people against 61% for the five others, and swapping only the skin tints
    swapped the gap. A crop of a typical face's contrast (standard deviation `NORMAL_FACE_STD`) keeps its unscaled
    value.
    """
    face = crop.astype(np.float32)
    laplacian = cv2.Laplacian(face, cv2.CV_32F)
    directions = [cv2.filter2D(face, -1, kernel) for kernel in _SECOND_DIFFERENCES]

    def measured(region: tuple[slice, slice], inner: tuple[slice, slice]) -> float:  # inner: the directions' pixels
        spread = max(float(face[region].std()), 1.0)
        least = min(float(d[inner].var()) for d in directions)
        return min(float(laplacian[region].var()), DIRECTIONAL_SCALE * least) * (NORMAL_FACE_STD / spread) ** 2

    whole = (slice(None), slice(None))
    return max(measured(whole, (slice(1, -1), slice(1, -1))), INTERIOR_SCALE * measured(FACE_INTERIOR, FACE_INTERIOR))
