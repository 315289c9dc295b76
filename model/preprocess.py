"""The one preprocessing function shared by training, evaluation and the pipeline.

crop (square, with margin around the detector's box) -> grayscale -> 48x48 uint8.
Scaling to [0, 1] happens inside the network (a Rescaling layer), so inference
cannot drift from training.
"""

from __future__ import annotations

import cv2
import numpy as np

FACE_SIZE = 48
#: Extra context around a detector box, as a fraction of the box side. FER2013
#: crops include forehead and chin; detector boxes are tighter.
CROP_MARGIN = 0.15


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def square_box(xyxy: np.ndarray, margin: float = CROP_MARGIN) -> np.ndarray:
    """Grow a face box to a square with `margin` context on each side."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], np.float32)


def crop_face(image: np.ndarray, xyxy: np.ndarray | None = None) -> np.ndarray:
    """Return the 48x48 uint8 grayscale face for `image` (whole image if no box)."""
    gray = to_gray(image)
    if xyxy is not None:
        h, w = gray.shape
        x1, y1, x2, y2 = square_box(xyxy)
        # Pad with edge pixels where the square leaves the frame, so faces at the
        # border keep their aspect ratio instead of being squashed.
        pad = int(np.ceil(max(0.0, -x1, -y1, x2 - w, y2 - h)))
        if pad > 0:
            pad += 1
            gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            x1, y1, x2, y2 = x1 + pad, y1 + pad, x2 + pad, y2 + pad
        gray = gray[int(round(y1)) : int(round(y2)), int(round(x1)) : int(round(x2))]
    interp = cv2.INTER_AREA if gray.shape[0] > FACE_SIZE else cv2.INTER_LINEAR
    return cv2.resize(gray, (FACE_SIZE, FACE_SIZE), interpolation=interp)
