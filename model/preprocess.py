"""The one preprocessing function shared by training, evaluation and the pipeline.

crop -> grayscale -> 48x48 uint8 -> contrast stretch of low-contrast (dark, backlit)
faces only. The crop is either aligned on the eyes (when the
detector gives them: rotated so the eyes are level, scaled and placed so they land where
they sit in the crops the model was trained on) or, without eyes, a square with margin
around the detector's box. Scaling to [0, 1] happens inside the network (a Rescaling
layer), so inference cannot drift from training.
"""

from __future__ import annotations

import cv2
import numpy as np

FACE_SIZE = 48
#: Extra context around a detector box, as a fraction of the box side. FER2013
#: crops include forehead and chin; detector boxes are tighter.
CROP_MARGIN = 0.15


#: Where aligned crops put the eyes, as fractions of the crop side: their distance apart and
#: their midpoint (x, y). Measured so aligned crops frame faces as the training crops do: the
#: medians over 253 facial_expressions photos of where BlazeFace's eyes fall in the Haar box
#: crop above (interquartile ranges 0.34-0.38, 0.49-0.52, 0.40-0.43).
ALIGNED_EYE_DISTANCE = 0.36
ALIGNED_EYE_CENTRE = (0.50, 0.41)

#: A 48x48 face whose gray levels spread less than this (standard deviation, of 255) is too dark
#: or washed out to read as is: it is stretched to `NORMAL_FACE_STD` around `NORMAL_FACE_MEAN`.
#: Below every training face (FER2013's crops spread 72-76; 99% of in-the-wild aligned crops
#: spread more than 26); a face at 15% brightness spreads ~7, a backlit one ~15.
LOW_CONTRAST_STD = 20.0
#: Spread and mean (of 255) of a typical in-the-wild training face: medians over 300 aligned
#: facial_expressions crops. On 400 held-out photos darkened to 15% the shipped model reads 3%
#: right as they are and 79.5% stretched (91.2% undarkened).
NORMAL_FACE_STD = 48.0
NORMAL_FACE_MEAN = 117.0


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


def eye_alignment(eyes: np.ndarray) -> np.ndarray:
    """The 2x3 affine map from image pixels to the 48x48 aligned crop, for `eyes` (2, 2):
    the subject's right eye (on the image's left), then the left eye, in image pixels.

    A similarity transform (rotation, scale, shift): the eye line becomes level, the eyes
    `ALIGNED_EYE_DISTANCE` of the crop apart around `ALIGNED_EYE_CENTRE`.
    """
    right, left = np.asarray(eyes, np.float64)
    dx, dy = left - right
    angle = np.degrees(np.arctan2(dy, dx))  # roll of the head; positive: clockwise in the image
    scale = ALIGNED_EYE_DISTANCE * FACE_SIZE / max(np.hypot(dx, dy), 1e-6)
    centre = (right + left) / 2
    warp = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), float(scale))
    warp[:, 2] += np.array(ALIGNED_EYE_CENTRE) * FACE_SIZE - centre
    return warp


def crop_face(image: np.ndarray, xyxy: np.ndarray | None = None, eyes: np.ndarray | None = None) -> np.ndarray:
    """Return the 48x48 uint8 grayscale face for `image`.

    `eyes` (2, 2) image pixels, the subject's right eye then left eye (`model.blazeface` order):
    the crop is aligned on them (see `eye_alignment`); NaN or None: the square around `xyxy`
    (N.B. the whole image if there is no box either). Where the crop leaves the image, edge
    pixels are repeated.
    """
    gray = to_gray(image)
    if eyes is not None and np.isfinite(eyes).all():
        eyes = np.asarray(eyes, np.float64)
        shrink = 2 * ALIGNED_EYE_DISTANCE * FACE_SIZE / max(float(np.linalg.norm(eyes[1] - eyes[0])), 1e-6)
        if shrink < 1:  # a warp samples without averaging: shrink by area first, so the warp scales by >= 1/2
            gray = cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
            eyes = eyes * [gray.shape[1] / image.shape[1], gray.shape[0] / image.shape[0]]
        return stretch_low_contrast(cv2.warpAffine(gray, eye_alignment(eyes), (FACE_SIZE, FACE_SIZE),
                                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
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
    return stretch_low_contrast(cv2.resize(gray, (FACE_SIZE, FACE_SIZE), interpolation=interp))


def stretch_low_contrast(face: np.ndarray) -> np.ndarray:
    """A 48x48 uint8 face as is, or, if its spread is under `LOW_CONTRAST_STD`, linearly stretched
    to a typical training face's mean and spread (a dark room, a bright window behind)."""
    std = float(face.std())
    if std >= LOW_CONTRAST_STD:
        return face
    stretched = (face.astype(np.float32) - float(face.mean())) * (NORMAL_FACE_STD / max(std, 1.0)) + NORMAL_FACE_MEAN
    return np.clip(stretched, 0, 255).astype(np.uint8)
