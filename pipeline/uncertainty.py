"""When a face, or a second of a timeline, is shown as "uncertain" instead of an emotion.

Two reasons, both named thresholds here and nowhere else:

* the face is poor: its video froze (`FROZEN_VIDEO`: the same pixels for seconds, found by
  `pipeline.people.IdentityWatch`), or (`poor_reason`, on the measures of `model.quality.face_quality`) too small
  in the analysed frame to hold an expression, turned away (head yaw from the landmarks), or blurred (motion,
  focus, a heavily compressed or upscaled picture);
* the reading is one a talking mouth makes: the person was talking in that second (`pipeline.speech`) and its likely
  emotion is one an open, moving mouth is read as (`READ_OFF_A_TALKING_MOUTH`: surprise);
* the model is unsure: the calibrated top probability of the second (flip-TTA, averaged over its
  frames, 3-s smoothed) is below `MIN_TOP_PROBABILITY`.

An uncertain second keeps its probabilities (charts may draw them) but shows `config.UNCERTAIN`, never
a made-up emotion, and is left out of shifts, key moments and mood shares, like a second without a face.
It also says why (`uncertain_reasons`: one of `POOR_REASONS`, `TALKING_MOUTH` or `NO_CLEAR_EXPRESSION`), stored with the
second and shown in the CSV, the timeline's hover and the talking points: "the face was too small" tells a manager
to record differently, "no clear expression" does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from config import EMOTIONS
from model.preprocess import FACE_SIZE
from model.quality import QUALITY_FIELDS

MIN_TOP_PROBABILITY = 0.5
"""A second whose calibrated top probability is below this shows "uncertain": with calibrated percentages,
below 50% the named emotion is more likely wrong than right. Measured on the end-to-end video evaluation
(model/MODEL_CARD.md; the top probability alone, before the face-quality gates): cnn-v5 (215 faces read, temperature
1.22): faces at or above it right 63% of the time (62% of them), those below 39%; at 0.45, 60% and 39% with 70% shown;
at 0.6, 70% and 41% with 45% shown. cnn-v17 (2026-12-03, 347 faces read, temperature 0.785, run
`pc30-s24-cnn-v17-record`): at or above 0.5 right 75% (78% of them), below 50%; at 0.45, 73% and 52% with 84%
shown; at 0.6, 78% and 48% with 69% shown: 0.5 still parts the faces at even odds."""
MIN_FACE_PX = 28.0
"""Face box side, in pixels of the analysed frame (decoded 640 px wide), below which a face is too small:
28 px at 640 is ~56 px in a 720p recording, the smallest face size the evaluation composes."""
MIN_SHARPNESS = 300.0
"""Sharpness (`model.quality.contrast_free_sharpness`: the variance of the 48x48 crop's Laplacian, or
`DIRECTIONAL_SCALE` times that of its least sharp direction's second difference if lower, at a typical face's
contrast, over the whole crop or, scaled, inside the face's outline, whichever is higher) below which a face is too
blurred to read. The interior (2026-12-05, `model.quality.FACE_INTERIOR`) keeps a backlit face sharp; the figures below
are the whole crop's. Measured (whole crop, scaled): FER2013 val crops 694 at the 1st percentile
on the Laplacian (median 2,067); scikit-image's astronaut (102-px face, aligned crop) 1,076 sharp at any brightness,
186-196 / 89-100 / 54-65 after a Gaussian blur of sigma 2 / 3 / 4 px; the same face shrunk to 30 px and enlarged by
the crop, 325. The direction (2026-12-02, `/root/rapport-runs/s22/blurprobe.py`): FER2013 val faces, flip TTA, the
shipped classifier, smeared in the 48-px crop at random angles by 3 / 5 / 7 / 9 px, read right 61 / 49 / 37 / 28%
(clean 68%); the Laplacian gate alone showed 53 / 26 / 12 / 8% of them, 75 / 68 / 54 / 36% right; with the least
direction too (at `DIRECTIONAL_SCALE` 5), 43 / 4 / 0 / 0%. Gaussian blurs (sigma 1 / 1.5 / 2 px in the crop) are gated
as before; of the clean faces 0.1% more are called blurred (3 of 3,589)."""
MAX_YAW_DEG = 40.0
"""Head turn (`model.quality` yaw from BlazeFace's eyes and nose, either way) from which a face is turned away: the
classifier learned mostly frontal faces. Measured (2026-12-02, `/root/rapport-runs/s22/yawprobe.py`: BlazeFace on the
photo, the pipeline's aligned crop, flip TTA, calibrated): FER2013 val faces (3,528 found) by |yaw| 0-10 / 10-20 /
20-30 / 30-40 / 40-50 / 50+ degrees read right 63 / 58 / 61 / 44 / 30 / 21%, and right when shown (top probability
>= `MIN_TOP_PROBABILITY`) 78 / 76 / 82 / 67 / 40 / 25%; held-out facial_expressions faces (3,658, 99% under 33°)
91 / 90 / 84 / 76 / 70% (none at 50+). From 40° a shown emotion is more often wrong than right; 2% of FER2013 val's
faces and 0.3% of the others are that far turned."""
ENLARGED_BELOW_PX = float(FACE_SIZE)
"""Face box side, in analysed-frame pixels, below which the crop enlarges the face to the classifier's 48x48: a
blurred face that small is called `SMALL_FACE`, as enlarging it is (part of) the blur and a bigger face in the
recording is the cure. Found by a new-user trial: a sharp photo shrunk to 64 px in a 720p gallery (32 px here)
measured 256-270 sharpness and read "blurred face", so the "record the prospect bigger" tip never came."""
MAX_POOR_SHARE = 0.5
"""A second is uncertain when more than this share of its frames had a poor face."""

# Why a second is uncertain, in the words the CSV's `uncertain_reason` column and the hover show.
FROZEN_VIDEO = "frozen video"
"""Most of the second's poor frames showed an old picture of the face: its pixels had not changed for
`pipeline.people.FROZEN_MIN_S` (the person's video froze, a bad connection; counted from the last change), or the
recording was damaged there and the player held its last good picture (`pipeline.video.SampledFrame.damaged`;
trial 32: a second lost to damage was read from the picture before it)."""
SMALL_FACE = "small face"
"""Most of the second's poor frames had a face under `MIN_FACE_PX`, or under `ENLARGED_BELOW_PX` and blurred."""
TURNED_AWAY = "turned away"
"""Most of the second's poor frames had a face big enough but turned `MAX_YAW_DEG` or more."""
BLURRED_FACE = "blurred face"
"""Most of the second's poor frames had a face big enough and not turned away, but under `MIN_SHARPNESS`."""
POOR_REASONS = (FROZEN_VIDEO, SMALL_FACE, TURNED_AWAY, BLURRED_FACE)
"""Why a face can be poor (`poor_reason`), in the order it tests them; a poor second takes the reason most of its poor
frames had, the earlier on a tie: a frozen picture says nothing of now whatever its quality, and the size of a face is
what a manager can change first."""
SMALL_OR_BLURRED_FACE = "small or blurred face"
"""A poor second of a call analysed before the reasons were counted apart (`track_seconds.n_small_frames` empty)."""
TALKING_MOUTH = "open mouth while talking"
"""The face was fine, but the person was talking in the second (`pipeline.speech.TalkTimeline.talking`) and its likely
emotion was one of `READ_OFF_A_TALKING_MOUTH`."""
READ_OFF_A_TALKING_MOUTH = frozenset({"surprise"})
"""Likely emotions not shown in a second the person talks: the classifier learned from stills, where an open mouth with
raised brows is surprise, and a talking mouth opens every syllable. Found by new-user trial 43 (2026-12-07, a 5-minute
gallery call of wild photos with opened, moving jaws while each person talks): 16 of 64 talking seconds of neutral faces
read "surprise" (calibrated 0.51-0.82; the other 48 neutral or uncertain), none of the 99 silent ones: two false
"neutral -> surprise -> neutral" shift pairs, and the phone call's surprise shift 7 s early (her talk before it read
surprise and joined its run). A true surprise while talking ("wow, really?") is shown uncertain too; read while the
person is silent, it is kept."""
NO_CLEAR_EXPRESSION = "no clear expression"
"""The face was fine but the calibrated top probability was under `MIN_TOP_PROBABILITY`."""


STEADY_FRAMES = 9
"""Size and sharpness judge a face on the median of its track's last this many frames (~2 s at 4 frames/s), not on one
frame: a thumbnail near a line flickered. Found by a new-user trial (32): a 62-px self-view in a 720p speaker view,
its crop's sharpness 263-327 from frame to frame about `MIN_SHARPNESS` 300, read "uncertain (small face)" and
"shown" in alternate runs of 1-6 seconds all call. Head turns stay per frame: a glance away is over in a second."""
_STEADY = [QUALITY_FIELDS.index("face_px"), QUALITY_FIELDS.index("sharpness")]


def steady_quality(recent: Sequence[np.ndarray]) -> np.ndarray:
    """The last of a track's recent (5,) quality measures (`model.quality.face_quality`), with its face size and
    sharpness the medians over `recent` (the caller keeps the last `STEADY_FRAMES`)."""
    steady = np.array(recent[-1], np.float64)
    steady[_STEADY] = np.median(np.stack(recent)[:, _STEADY], axis=0)
    return steady


def poor_reason(quality: np.ndarray, px_scale: float, frozen: bool = False) -> str | None:
    """Why one face is too poor to read (one of `POOR_REASONS`); None when it is fine.

    `quality`: the face's (5,) measures from `model.quality.face_quality` (`QUALITY_FIELDS` order: face_px in
    source pixels, sharpness of the 48x48 crop, roll and yaw in degrees (NaN: no landmarks, never turned away),
    detector score); `px_scale`: source pixels per analysed-frame pixel, so the size test is on the analysed frame
    the crop was cut from, or on the source where that is smaller (a picture enlarged to the analysis size holds no
    more detail than its own pixels); `frozen`: the face's picture is an old one (`FROZEN_VIDEO`).
    """
    if frozen:
        return FROZEN_VIDEO
    face_px = quality[QUALITY_FIELDS.index("face_px")] / max(px_scale, 1.0)
    blurred = quality[QUALITY_FIELDS.index("sharpness")] < MIN_SHARPNESS
    if face_px < MIN_FACE_PX or (blurred and face_px < ENLARGED_BELOW_PX):
        return SMALL_FACE
    if abs(quality[QUALITY_FIELDS.index("yaw_deg")]) >= MAX_YAW_DEG:
        return TURNED_AWAY
    return BLURRED_FACE if blurred else None


def uncertain_reasons(probs: np.ndarray, n_frames: np.ndarray, n_poor: np.ndarray,
                      poor_by_reason: np.ndarray | None = None, talking: np.ndarray | None = None) -> list[str | None]:
    """Per second: why it is uncertain, or None when it is not (read and trusted, or not read at all).

    A second is uncertain when its face was mostly poor (more than `MAX_POOR_SHARE` of its frames), for the reason
    of `POOR_REASONS` most of those poor frames had (the earlier on a tie; `SMALL_OR_BLURRED_FACE` where
    `poor_by_reason` is None: not counted apart); otherwise when the person talked and its likely emotion is one of
    `READ_OFF_A_TALKING_MOUTH`: `TALKING_MOUTH`; otherwise when its calibrated top probability is under
    `MIN_TOP_PROBABILITY`: `NO_CLEAR_EXPRESSION`. The face's quality comes first: it is what a manager can change.

    `probs` (n, 7) calibrated, NaN rows where nothing was classified (never uncertain: not read at all);
    `n_frames` (n,) frames the face was seen in; `n_poor` (n,) of those with a poor face; `poor_by_reason`
    (n, len(`POOR_REASONS`)) of those, how many for each reason; `talking` (n,) bool, the person talked in the
    second (None: not known, as in a call without audio).
    """
    classified = ~np.isnan(probs[:, 0])
    top = np.nan_to_num(probs, nan=0.0).max(axis=1)
    poor = n_poor > MAX_POOR_SHARE * n_frames
    commonest = None if poor_by_reason is None else np.argmax(poor_by_reason, axis=1)  # ties: the first
    mouth_read = np.zeros(len(probs), bool) if talking is None else np.asarray(talking, bool) & np.isin(
        np.nan_to_num(probs, nan=0.0).argmax(axis=1), [EMOTIONS.index(e) for e in READ_OFF_A_TALKING_MOUTH])
    reasons: list[str | None] = []
    for i in range(len(classified)):
        if not classified[i]:
            reasons.append(None)
        elif poor[i]:
            reasons.append(SMALL_OR_BLURRED_FACE if commonest is None else POOR_REASONS[commonest[i]])
        elif mouth_read[i]:
            reasons.append(TALKING_MOUTH)
        elif top[i] < MIN_TOP_PROBABILITY:
            reasons.append(NO_CLEAR_EXPRESSION)
        else:
            reasons.append(None)
    return reasons
