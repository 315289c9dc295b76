"""Mouth movement: how much the region around a face's mouth changed between two sampled frames.

Owns the cheap lip-motion signal that `pipeline.speech` combines with the audio's speech activity
to say who is talking. BlazeFace gives the mouth centre but not how open the mouth is, so each
face's mouth region (placed on the mouth keypoint, sized by the face box: head movement and face
size cancel out) is cut out at a fixed small size, and the signal is the root-mean-square change of
that patch since the same track's previous sampled frame, in units of the patch's own contrast
(lighting and skin tone cancel out). A talking mouth opens and closes several times a second, so at
the analysis rate (4 frames a second) consecutive patches differ; a listening face's barely do.
Chosen over the 468-point face mesh by cost: see the README's "Who is talking" figures.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.blazeface import LEFT_EYE, MOUTH, RIGHT_EYE

MOUTH_PATCH = (32, 20)
"""(width, height) in pixels of the mouth patch compared between frames."""
MOUTH_REGION = (0.60, -0.18, 0.30)
"""The patch around the mouth keypoint, in face-box widths: its width, and its top and bottom relative to
the keypoint (the jaw drops below it when the mouth opens)."""
MOUTH_FROM_BOX = 0.75
"""Where the mouth sits down the face box (a fraction of its height) when the detector gave no keypoints."""
MAX_SHIFT = 2
"""The motion is the smallest change over shifts of up to this many patch pixels each way: the mouth
keypoint jitters by a pixel or two from frame to frame, and a moved patch is not a moving mouth."""
BLUR_SIGMA = 0.8
"""Gaussian blur of the patch (patch pixels) before comparing: sensor noise is not motion."""
EYES_REGION = (0.60, -0.08, 0.40)
"""The patch of `eyes_patch` about the eyes' midpoint, in face-box widths: its width, top and bottom (eyes, cheeks and
nose, no mouth)."""
WHOLE_FACE_CHANGE = 0.35
"""A change between two sampled frames whose eyes-and-cheeks patch (`eyes_patch`) moved at least this much
(`mouth_motion`'s units) is the whole face changing, a new expression, a head turn or a cut, not a talking mouth, and
its mouth motion does not count (`pipeline.analyze`). Measured (2026-12-05, `/root/rapport-runs/s35/eyes_probe.py`,
new-user trials 8 and 9: expressions swapped at once): those changes moved the eyes 0.57-1.07 with the mouth
0.84-1.22; over all 1,274 frame pairs of two calls the eyes moved 0.09-0.11 (median), 0.19 at the 99th percentile,
and 0.04-0.12 on every pair whose talking mouth moved 0.45 or more. A trial's prospect turning angry while the rep
spoke read as the prospect talking; another's sales engineer's smile counted as 11 s of talk."""
MIN_CONTRAST = 4.0
"""A patch's grey-level spread below this (a flat, dark or blown-out region) still divides by this."""


def _patch(image: np.ndarray, xyxy: np.ndarray, centre: np.ndarray, region: tuple[float, float, float]
           ) -> np.ndarray | None:
    """The `region` (width, top, bottom in face-box widths, about `centre`) of a face as a zero-mean, unit-contrast
    grey patch of `MOUTH_PATCH` plus a `MAX_SHIFT` margin each way; None if it is off the frame."""
    x1, _, x2, _ = (float(v) for v in xyxy)
    width = max(x2 - x1, 1.0)
    span, top, bottom = region
    left, right = int(round(centre[0] - span * width / 2)), int(round(centre[0] + span * width / 2))
    upper, lower = int(round(centre[1] + top * width)), int(round(centre[1] + bottom * width))
    h, w = image.shape[:2]
    left, upper, right, lower = max(0, left), max(0, upper), min(w, right), min(h, lower)
    if right - left < 4 or lower - upper < 4:
        return None
    size = (MOUTH_PATCH[0] + 2 * MAX_SHIFT, MOUTH_PATCH[1] + 2 * MAX_SHIFT)
    gray = cv2.cvtColor(image[upper:lower, left:right], cv2.COLOR_BGR2GRAY)
    patch = cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    patch = cv2.GaussianBlur(patch, (0, 0), BLUR_SIGMA)
    patch -= patch.mean()
    return patch / max(float(patch.std()), MIN_CONTRAST)


def mouth_patch(image: np.ndarray, xyxy: np.ndarray, keypoints: np.ndarray) -> np.ndarray | None:
    """The mouth region of one face as a (20 + 2 * MAX_SHIFT, 32 + 2 * MAX_SHIFT) float32 patch (the margin is for
    `mouth_motion`'s shifts), zero mean, unit contrast; None if it is off the frame.

    image: the analysis frame (H, W, 3) BGR uint8; xyxy: the face box, frame pixels; keypoints: (6, 2) frame pixels in
    BlazeFace's order (NaN: the mouth is placed from the box, `MOUTH_FROM_BOX`).
    """
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    mouth = keypoints[MOUTH] if np.isfinite(keypoints[MOUTH]).all() else np.array([(x1 + x2) / 2, y1 + MOUTH_FROM_BOX * (y2 - y1)])
    return _patch(image, xyxy, mouth, MOUTH_REGION)


def eyes_patch(image: np.ndarray, xyxy: np.ndarray, keypoints: np.ndarray) -> np.ndarray | None:
    """The eyes and cheeks of one face (`EYES_REGION`, about the eyes' midpoint) as a patch like `mouth_patch`'s, to
    compare with `mouth_motion` (`WHOLE_FACE_CHANGE`); None if it is off the frame or the eyes were not given."""
    eyes = (keypoints[RIGHT_EYE] + keypoints[LEFT_EYE]) / 2
    return _patch(image, xyxy, eyes, EYES_REGION) if np.isfinite(eyes).all() else None


def mouth_motion(previous: np.ndarray, current: np.ndarray) -> float:
    """Root-mean-square change between two `mouth_patch`es of one face, in units of the patch's contrast (0: still),
    at the shift (up to `MAX_SHIFT` each way) that makes it smallest."""
    m, (w, h) = MAX_SHIFT, MOUTH_PATCH
    squared = cv2.matchTemplate(previous, current[m:m + h, m:m + w], cv2.TM_SQDIFF)  # every shift at once
    return float(np.sqrt(max(float(squared.min()), 0.0) / (w * h)))
