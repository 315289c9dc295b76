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

from model.blazeface import MOUTH

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
MIN_CONTRAST = 4.0
"""A patch's grey-level spread below this (a flat, dark or blown-out region) still divides by this."""


def mouth_patch(image: np.ndarray, xyxy: np.ndarray, keypoints: np.ndarray) -> np.ndarray | None:
    """The mouth region of one face as a (20 + 2 * MAX_SHIFT, 32 + 2 * MAX_SHIFT) float32 patch (the margin is for
    `mouth_motion`'s shifts), zero mean, unit contrast; None if it is off the frame.

    image: the analysis frame (H, W, 3) BGR uint8; xyxy: the face box, frame pixels; keypoints: (6, 2) frame pixels in
    BlazeFace's order (NaN: the mouth is placed from the box, `MOUTH_FROM_BOX`).
    """
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    width = max(x2 - x1, 1.0)
    mouth = keypoints[MOUTH] if np.isfinite(keypoints[MOUTH]).all() else np.array([(x1 + x2) / 2, y1 + MOUTH_FROM_BOX * (y2 - y1)])
    span, top, bottom = MOUTH_REGION
    left, right = int(round(mouth[0] - span * width / 2)), int(round(mouth[0] + span * width / 2))
    upper, lower = int(round(mouth[1] + top * width)), int(round(mouth[1] + bottom * width))
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


def mouth_motion(previous: np.ndarray, current: np.ndarray) -> float:
    """Root-mean-square change between two `mouth_patch`es of one face, in units of the patch's contrast (0: still),
    at the shift (up to `MAX_SHIFT` each way) that makes it smallest."""
    m, (w, h) = MAX_SHIFT, MOUTH_PATCH
    squared = cv2.matchTemplate(previous, current[m:m + h, m:m + w], cv2.TM_SQDIFF)  # every shift at once
    return float(np.sqrt(max(float(squared.min()), 0.0) / (w * h)))
