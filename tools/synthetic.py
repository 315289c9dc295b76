"""Synthetic video-call recordings made of real face photos, for tests, demos and benchmarks.

Why synthetic: tests and the throughput benchmark need calls with real, detectable
faces in the layouts and containers that users upload, without shipping or
downloading any video. The faces are two public-domain portraits that already ship
inside installed packages (scikit-image's astronaut, matplotlib's Grace Hopper).

Frames are cheap to make (~0.6 ms at 720p; the encoder dominates): the backdrop
(canvas plus empty tiles) is drawn once per call, each tile's portrait and blurred
camera background once per face, and each frame only pastes them (the portrait at
a drifting offset when `motion_px` > 0), draws the name tags and adds sensor noise
from a small precomputed bank. Frames stream to the encoder, so memory stays flat
for hour-long calls.

Calls can talk: `CallScript.speech` places `Utterance`s (text said by the rep, the prospect or the
guest from a given second), synthesised with eSpeak NG (libespeak-ng and its voice data ship in the
`espeakng-loader` wheel; nothing is downloaded) into the recording's audio track, and the speaker's
mouth opens and closes with the loudness of their own voice (`speech_turns` gives the ground truth).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import av
import cv2
import numpy as np

FACE_KEYS = ("astronaut", "hopper")
LAYOUTS = ("gallery", "stacked", "speaker", "strip", "single", "three", "active", "active-self", "share", "share-active",
           "blank")

# Head-and-shoulders crops (x0, y0, x1, y1) of the source photos, checked by eye:
# the face is ~35% of the crop height, so it stays large in small tiles.
_CROPS = {"astronaut": (112, 10, 336, 290), "hopper": (26, 0, 506, 600)}
_BACKDROP = (36, 33, 32)  # BGR of #202124, the call app's canvas
_TILE_GREY = (67, 64, 60)  # BGR of #3c4043, an empty tile
_LABELS = {"rep": "Rep", "prospect": "Prospect", "extra": "Guest"}
_PORTRAIT_HEIGHT = 0.92  # portrait height / tile height in a normal tile
_THUMB_ZOOM = 1.9  # self-view thumbnail is zoomed in so Haar still finds the face at 640 px
_NOISE_LEVEL = 3  # +-luma steps of sensor noise
# A seated person's head is never pixel-still: breathing and posture sway move it this fraction of the portrait's
# height (1.3 px in a 720p gallery tile) with these periods (x, y), sub-pixel. Without it a camera tile was a photo
# plus noise, and where the encoder smooths the noise away (a 2:1 anamorphic picture, a phone's 720x1280 stacked
# view) it changed no more than a shared slide does, so its person was taken for content. The fraction is resampled
# bicubic: bilinear blurred every face a little, and a 2:1 anamorphic face read "blurred face" 2 seconds of 6.
_SWAY = 0.004
_SWAY_PERIODS_S = (6.3, 4.1)
_NOISE_BANK = 8  # noise frames cycled, instead of fresh random numbers per frame
_BACKLIGHT_WINDOW = (245, 248, 250)  # BGR of the bright window behind a backlit face
_BACKLIT_FACE = 0.35  # a backlit face keeps this fraction of its brightness (the camera exposes for the window)
# Where a surgical mask sits on each portrait (x0, y0, x1, y1 as fractions of the crop): from just under the
# eyes to below the chin, ear to ear, placed on BlazeFace's keypoints of the portrait (nose, mouth, ears, box).
_MASKS = {"astronaut": (0.30, 0.40, 0.71, 0.63), "hopper": (0.33, 0.35, 0.71, 0.59)}
_MASK_BLUE = (228, 200, 170)  # BGR of a light-blue surgical mask
_MASK_PLEATS = 3  # horizontal folds drawn across it
# Where BlazeFace finds each portrait's mouth centre (x, y as fractions of the crop) and the face box's width
# (a fraction of the crop's width): the talking mouth is drawn there (hopper's a little lower than 0.449, on her lips).
_MOUTHS = {"astronaut": (0.485, 0.495, 0.453), "hopper": (0.509, 0.462, 0.395)}
_MOUTH_OPEN = (0.30, 0.18)  # a fully open mouth's (width, height) as fractions of the face box's width
_MOUTH_INSIDE = (22, 14, 40)  # BGR of the inside of an open mouth
SPEECH_RATE = 16_000  # Hz: sample rate of a talking call's audio track (what pipeline.speech analyses)
_VOICES = {"rep": "en-US", "prospect": "en+f3", "extra": "en-GB-x-rp"}  # eSpeak NG voices, one per seat
_ENVELOPE_HZ = 100  # loudness values per second that drive the mouth
_SLIDE_WHITE = (250, 250, 250)  # BGR of a shared slide's page
_SLIDE_INK = (90, 60, 40)  # BGR of its title and text lines
_SLIDE_HEADSHOT = 0.45  # the slide's headshot height / slide height ("meet our team" slides)
_STRIP = 0.3  # width of the camera-thumbnail strip beside a shared screen / frame width


@lru_cache(maxsize=None)
def face_portrait(key: str) -> np.ndarray:
    """BGR head-and-shoulders portrait for `key` (read-only: it is shared by the cache)."""
    if key == "astronaut":
        import skimage.data

        bgr = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    elif key == "hopper":
        from matplotlib.cbook import get_sample_data

        with get_sample_data("grace_hopper.jpg") as f:
            bgr = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)
    else:
        raise ValueError(f"unknown face {key!r}; choose one of {FACE_KEYS}")
    x0, y0, x1, y1 = _CROPS[key]
    portrait = np.ascontiguousarray(bgr[y0:y1, x0:x1])
    portrait.flags.writeable = False
    return portrait


@dataclass(frozen=True)
class Appearance:
    """Which portrait a tile shows from t_start (seconds) on; None = the person is away (empty tile).

    The rest is how the camera sees them (hard cases for detectors): `tilt_deg` turns the head
    (positive: counter-clockwise, toward the image's left), `brightness` scales the picture
    (0.15: a dark room), `backlit` puts a bright window behind a dim face, `scale` shrinks the
    portrait inside its tile, `masked` covers nose, mouth and chin with a surgical mask, `frozen` holds the tile's
    picture as it was at t_start, pixel for pixel (the person's video froze on a bad connection).
    """

    t_start: float
    face: str | None
    tilt_deg: float = 0.0
    brightness: float = 1.0
    backlit: bool = False
    scale: float = 1.0
    masked: bool = False
    frozen: bool = False


@dataclass(frozen=True)
class Utterance:
    """`who` ("rep", "prospect" or "extra") says `text` from `start_s` seconds of the call on."""

    who: str
    start_s: float
    text: str


@dataclass(frozen=True)
class CallScript:
    """Everything that defines one synthetic call; the same script always gives the same video."""

    duration_s: float = 10.0
    fps: float = 30.0
    size: tuple[int, int] = (1280, 720)  # width, height
    # "gallery" (two tiles side by side), "stacked" (top/bottom), "speaker" (prospect full
    # frame, rep self-view thumbnail bottom-right), "strip" (speaker, and the filmstrip's copy of the prospect as a
    # thumbnail top-left: one person shown twice), "single" (prospect only), "three" (a row of 3),
    # "active" (one full-frame tile showing whoever `turns` says talks: active speaker view), "active-self" (active,
    # and the rep's self-view thumbnail bottom-right: Zoom's speaker view as the rep's own recording shows it),
    # "share" (a shared slide with a still headshot `slide_face` on it, and a strip of camera
    # thumbnails beside it, rep first when rep_position is left/top), "share-active" (the slide across the whole
    # frame, one thumbnail of whoever `turns` says talks floating over its top-right corner: Zoom's recording of a
    # screen share with the active speaker), "blank" (a black picture: what recorders
    # write before anyone's video is on)
    layout: str = "gallery"
    layout_changes: tuple[tuple[float, str], ...] = ()  # (t_start, layout): the layout from then on
    turns: tuple[tuple[float, str], ...] = ((0.0, "prospect"),)  # (t_start, "rep"/"prospect"): who talks
    slide_face: str | None = "astronaut"  # the headshot on the shared slide ("share" layout)
    rep: tuple[Appearance, ...] = (Appearance(0, "hopper"),)
    prospect: tuple[Appearance, ...] = (Appearance(0, "astronaut"),)
    extra: tuple[Appearance, ...] = (Appearance(0, "astronaut"),)  # third participant, layout "three" only
    rep_position: str = "left"  # left/right (gallery, three) or top/bottom (stacked); left == top
    motion_px: float = 0.0  # amplitude of a slow drift of faces inside their tiles, output pixels
    sway: float = _SWAY  # a seated head's sub-pixel sway, fraction of the portrait's height (0.0015: a very still person)
    seed: int = 0
    speech: tuple[Utterance, ...] = ()  # what is said when: a voice track plus mouths that move (see module doc)
    names: tuple[tuple[str, str], ...] = ()  # (role, name tag): what a tile's tag reads instead of "Rep", "Prospect"...

    def __post_init__(self) -> None:
        for layout in (self.layout, *(name for _, name in self.layout_changes)):
            if layout not in LAYOUTS:
                raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
        if self.rep_position not in ("left", "right", "top", "bottom"):
            raise ValueError(f"rep_position must be left/right/top/bottom, not {self.rep_position!r}")
        width, height = self.size
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"size must be positive and even (yuv420p), not {self.size}")
        if self.duration_s <= 0 or self.fps <= 0:
            raise ValueError("duration_s and fps must be positive")
        if any(role not in ("rep", "prospect") for _, role in self.turns):
            raise ValueError(f"turns name who talks: rep or prospect, not {self.turns}")
        if self.slide_face is not None and self.slide_face not in FACE_KEYS:
            raise ValueError(f"unknown face {self.slide_face!r}; choose one of {FACE_KEYS}")
        for appearance in self.rep + self.prospect + self.extra:
            if appearance.face is not None and appearance.face not in FACE_KEYS:
                raise ValueError(f"unknown face {appearance.face!r}; choose one of {FACE_KEYS}")
        for utterance in self.speech:
            if utterance.who not in _VOICES:
                raise ValueError(f"unknown speaker {utterance.who!r}; choose one of {sorted(_VOICES)}")


    def layout_at(self, t: float) -> str:
        """The layout on screen at time t (seconds)."""
        started = [change for change in (*self.layout_changes, (0.0, self.layout)) if change[0] <= t]
        return max(started, key=lambda change: change[0])[1] if started else self.layout

    def speaking(self, t: float) -> str:
        """Who talks at time t ("rep" or "prospect"): the one an active-speaker tile shows."""
        return max((turn for turn in self.turns if turn[0] <= t), key=lambda turn: turn[0], default=(0.0, "prospect"))[1]


@dataclass(frozen=True)
class _Tile:
    role: str  # "rep", "prospect", "extra" (the CallScript field that says who is shown) or "active" (who talks)
    x: int
    y: int
    w: int
    h: int
    zoom: float = _PORTRAIT_HEIGHT  # portrait height / tile height


def _strip(n: int, aspect: float, size: tuple[int, int], vertical: bool) -> list[tuple[int, int, int, int]]:
    """n tiles of width/height `aspect` in a centred row (or column), as large as the frame allows."""
    width, height = size
    gap = max(4, round(0.015 * min(size)))
    along, across = (height, width) if vertical else (width, height)
    ratio = 1 / aspect if vertical else aspect  # tile length along the strip / across it
    t_across = min(across - 2 * gap, (along - (n + 1) * gap) / n / ratio)
    t_along = t_across * ratio
    start = (along - n * t_along - (n - 1) * gap) / 2
    offset = (across - t_across) / 2
    boxes = [(start + i * (t_along + gap), offset, t_along, t_across) for i in range(n)]
    if vertical:
        boxes = [(o, s, ta, tl) for s, o, tl, ta in boxes]
    return [tuple(round(v) for v in box) for box in boxes]


def _self_view(script: CallScript) -> _Tile:
    """The rep's self-view thumbnail, bottom-right: a fifth of the frame's width."""
    width, height = script.size
    w = width // 5
    h = w * 9 // 16
    margin = max(8, round(0.03 * min(script.size)))
    return _Tile("rep", width - w - margin, height - h - margin, w, h, _THUMB_ZOOM)


def _layout(script: CallScript, layout: str | None = None) -> list[_Tile]:
    """Tile rectangles and who appears in each, in output pixels (camera tiles only: a shared slide is
    drawn into the backdrop, see `_slide`), for `layout` (default: the script's first)."""
    width, height = script.size
    layout = layout or script.layout
    rep_first = script.rep_position in ("left", "top")
    if layout == "blank":  # black: what recorders write before anyone's video is on
        return []
    if layout in ("active", "active-self"):
        return [_Tile("active", *_strip(1, width / height, script.size, False)[0])] + (
            [_self_view(script)] if layout == "active-self" else [])
    if layout == "share-active":
        thumb = _self_view(script)
        return [_Tile("active", thumb.x, height - thumb.y - thumb.h, thumb.w, thumb.h, thumb.zoom)]
    if layout == "share":
        strip_w = round(_STRIP * width)
        gap = max(4, round(0.015 * min(script.size)))
        w, h = strip_w - 2 * gap, (strip_w - 2 * gap) * 3 // 4
        roles = ["rep", "prospect"] if rep_first else ["prospect", "rep"]
        return [_Tile(role, width - strip_w + gap, gap + i * (h + gap), w, h) for i, role in enumerate(roles)]
    if layout in ("single", "speaker", "strip"):
        tiles = [_Tile("prospect", *_strip(1, width / height, script.size, False)[0])]
        if layout in ("speaker", "strip"):
            tiles.append(_self_view(script))
            if layout == "strip":
                thumb = tiles[-1]
                tiles.append(_Tile("prospect", width - thumb.x - thumb.w, height - thumb.y - thumb.h, thumb.w, thumb.h,
                                   _THUMB_ZOOM))
        return tiles
    if layout == "three":
        roles = ["rep", "prospect", "extra"] if rep_first else ["prospect", "extra", "rep"]
        boxes = _strip(3, 4 / 3, script.size, False)
    else:
        roles = ["rep", "prospect"] if rep_first else ["prospect", "rep"]
        boxes = _strip(2, 16 / 9, script.size, layout == "stacked")
    return [_Tile(role, *box) for role, box in zip(roles, boxes)]


def _face_at(timeline: tuple[Appearance, ...], t: float) -> Appearance | None:
    """What a tile shows at time t: the latest appearance that has started; None = away."""
    started = [a for a in timeline if a.t_start <= t]
    look = max(started, key=lambda a: a.t_start) if started else None
    return look if look is not None and look.face is not None else None


def _rounded_rect(img: np.ndarray, x: int, y: int, w: int, h: int, colour: tuple[int, int, int]) -> None:
    r = max(2, min(w, h) // 40)
    cv2.rectangle(img, (x + r, y), (x + w - 1 - r, y + h - 1), colour, -1)
    cv2.rectangle(img, (x, y + r), (x + w - 1, y + h - 1 - r), colour, -1)
    for cx, cy in ((x + r, y + r), (x + w - 1 - r, y + r), (x + r, y + h - 1 - r), (x + w - 1 - r, y + h - 1 - r)):
        cv2.circle(img, (cx, cy), r, colour, -1, cv2.LINE_AA)


def _paste(canvas: np.ndarray, img: np.ndarray, x: int, y: int, tile: _Tile) -> None:
    """Copy img to (x, y), clipped to the tile so a drifting face never spills out."""
    x0, y0 = max(x, tile.x), max(y, tile.y)
    x1, y1 = min(x + img.shape[1], tile.x + tile.w), min(y + img.shape[0], tile.y + tile.h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = img[y0 - y : y1 - y, x0 - x : x1 - x]


def _with_mask(portrait: np.ndarray, face: str) -> np.ndarray:
    """The portrait with a surgical mask over nose, mouth and chin (`_MASKS`): a rounded light-blue shape with folds."""
    h, w = portrait.shape[:2]
    x0, y0, x1, y1 = (round(v * n) for v, n in zip(_MASKS[face], (w, h, w, h)))
    out = portrait.copy()
    centre, axes = ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2, (y1 - y0) // 2)
    cv2.ellipse(out, centre, axes, 0, 0, 360, _MASK_BLUE, -1, cv2.LINE_AA)
    cv2.rectangle(out, (x0, y0), (x1, centre[1]), _MASK_BLUE, -1)  # a straight top edge under the eyes
    for k in range(1, _MASK_PLEATS + 1):
        y = y0 + k * (y1 - y0) // (_MASK_PLEATS + 2)
        cv2.line(out, (x0 + (x1 - x0) // 8, y), (x1 - (x1 - x0) // 8, y), (200, 170, 140), max(1, h // 150), cv2.LINE_AA)
    return out


@lru_cache(maxsize=None)
def _espeak():
    """libespeak-ng from the `espeakng-loader` wheel, started for synchronous synthesis: (library, its sample rate)."""
    import ctypes

    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    rate = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)  # 2: AUDIO_OUTPUT_SYNCHRONOUS
    if rate <= 0:
        raise RuntimeError("eSpeak NG did not start")
    return lib, rate


@lru_cache(maxsize=64)
def synthesize(text: str, voice: str = "en") -> np.ndarray:
    """`text` said by the eSpeak NG `voice`, silence trimmed: (n,) float32 samples in [-1, 1] at `SPEECH_RATE` Hz."""
    import ctypes

    from scipy.signal import resample_poly

    lib, rate = _espeak()
    chunks: list[np.ndarray] = []

    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
    def collect(wav, n, _events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        return 0

    lib.espeak_SetSynthCallback(collect)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        raise ValueError(f"eSpeak NG has no voice {voice!r}")
    data = text.encode()
    lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0, None, None)
    lib.espeak_Synchronize()
    samples = np.concatenate(chunks).astype(np.float32) / 32768 if chunks else np.zeros(0, np.float32)
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    samples = samples[loud[0]:loud[-1] + 1] if len(loud) else samples[:0]
    step = math.gcd(SPEECH_RATE, rate)
    return resample_poly(samples, SPEECH_RATE // step, rate // step).astype(np.float32)


@dataclass(frozen=True)
class _Voices:
    """A talking call's audio track and how open each seat's mouth is."""

    samples: np.ndarray  # (n,) float32 at SPEECH_RATE
    openness: dict[str, np.ndarray]  # seat -> (m,) 0..1 at _ENVELOPE_HZ


def speech_turns(script: CallScript) -> list[tuple[str, float, float]]:
    """Ground truth: (who, start_s, end_s) of each utterance, from its first to its last audible sample."""
    return [(u.who, u.start_s, u.start_s + len(synthesize(u.text, _VOICES[u.who])) / SPEECH_RATE) for u in script.speech]


def _voices(script: CallScript) -> _Voices:
    samples = np.zeros(round(script.duration_s * SPEECH_RATE), np.float32)
    window = SPEECH_RATE // _ENVELOPE_HZ
    openness = {}
    for who in {u.who for u in script.speech}:
        own = np.zeros_like(samples)
        for u in script.speech:
            if u.who == who:
                said = synthesize(u.text, _VOICES[who])
                start = round(u.start_s * SPEECH_RATE)
                said = said[:max(0, len(own) - start)]
                own[start:start + len(said)] += said
        rms = np.sqrt(np.mean(own[:len(own) // window * window].reshape(-1, window) ** 2, axis=1))
        loud = np.percentile(rms[rms > 0], 95) if (rms > 0).any() else 1.0
        openness[who] = np.clip(np.convolve(rms / loud, np.ones(5) / 5, "same"), 0.0, 1.0)  # 50 ms smoothing
        samples += own
    return _Voices(np.clip(samples, -1, 1), openness)


def _open_mouth(portrait: np.ndarray, face: str, openness: float) -> np.ndarray:
    """The portrait with its mouth open by `openness` (0..1): a dark opening drawn at BlazeFace's mouth point."""
    h, w = portrait.shape[:2]
    mx, my, face_w = _MOUTHS[face]
    width, height = (round(f * face_w * w / 2) for f in _MOUTH_OPEN)
    out = portrait.copy()
    axes = (width, max(1, round(height * openness)))
    cv2.ellipse(out, (round(mx * w), round(my * h)), axes, 0, 0, 360, _MOUTH_INSIDE, -1, cv2.LINE_AA)
    return out


def _slide(canvas: np.ndarray, script: CallScript, beside_strip: bool = True) -> None:
    """A shared slide left of the thumbnail strip (or across the frame): white page, a title, text lines, and a still
    headshot (`script.slide_face`): shared content, drawn without camera noise and never moving."""
    height, width = canvas.shape[:2]
    gap = max(4, round(0.015 * min(script.size)))
    x0, x1 = gap, width - (round(_STRIP * width) if beside_strip else 0) - gap
    page_h = min(height - 2 * gap, (x1 - x0) * 9 // 16)
    y0 = (height - page_h) // 2
    canvas[y0 : y0 + page_h, x0:x1] = _SLIDE_WHITE
    ink = max(2, page_h // 40)
    cv2.rectangle(canvas, (x0 + page_h // 12, y0 + page_h // 10), (x0 + (x1 - x0) // 2, y0 + page_h // 10 + 2 * ink), _SLIDE_INK, -1)
    for k in range(4):
        y = y0 + page_h * (4 + k) // 10
        cv2.rectangle(canvas, (x0 + page_h // 12, y), (x0 + (x1 - x0) // 2, y + ink), _SLIDE_INK, -1)
    if script.slide_face is not None:
        src = face_portrait(script.slide_face)
        h = round(_SLIDE_HEADSHOT * page_h)
        headshot = cv2.resize(src, (round(src.shape[1] * h / src.shape[0]), h), interpolation=cv2.INTER_AREA)
        x, y = x1 - headshot.shape[1] - page_h // 10, y0 + (page_h - h) // 2
        canvas[y : y + h, x : x + headshot.shape[1]] = headshot


class _Renderer:
    """Draws the frames of one script as I420 (yuv420p) arrays, reusing everything it can."""

    def __init__(self, script: CallScript, voices: _Voices | None = None):
        self.script = script
        self.voices = voices
        width, height = script.size
        self._screens: dict[str, tuple[list[_Tile], np.ndarray]] = {}  # layout -> (camera tiles, backdrop)
        for layout in (script.layout, *(name for _, name in script.layout_changes)):
            tiles = _layout(script, layout)
            backdrop = np.full((height, width, 3), 0 if layout == "blank" else _BACKDROP, np.uint8)
            if layout in ("share", "share-active"):
                _slide(backdrop, script, beside_strip=layout == "share")
            for tile in tiles:
                _rounded_rect(backdrop, tile.x, tile.y, tile.w, tile.h, _TILE_GREY)
            self._screens[layout] = tiles, backdrop
        self._camera: dict[tuple[_Tile, Appearance], tuple[np.ndarray, np.ndarray]] = {}
        rng = np.random.default_rng(script.seed)
        self._phases = rng.uniform(0, 2 * math.pi, (3, 2))  # per tile of a layout (at most three)
        self._noise = rng.integers(0, 2 * _NOISE_LEVEL + 1, (_NOISE_BANK, height, width), np.uint8)

    def _camera_view(self, tile: _Tile, look: Appearance, backdrop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(tile background, scaled portrait) for one tile, made once per (tile, appearance).

        The background is the portrait stretched and blurred, like a call app's background
        blur: a camera tile is never a flat colour, and a flat grey beside the portrait
        would dominate the histogram that detectors equalise.
        """
        if (tile, look) not in self._camera:
            src = face_portrait(look.face)
            h = round(tile.h * tile.zoom * look.scale)
            portrait = cv2.resize(src, (round(src.shape[1] * h / src.shape[0]), h), interpolation=cv2.INTER_AREA)
            if look.masked:
                portrait = _with_mask(portrait, look.face)
            if look.tilt_deg:
                turn = cv2.getRotationMatrix2D((portrait.shape[1] / 2, portrait.shape[0] * 0.4), look.tilt_deg, 1.0)
                portrait = cv2.warpAffine(portrait, turn, portrait.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
            tiny = cv2.resize(src, (8, 6), interpolation=cv2.INTER_AREA)
            background = cv2.resize(tiny, (tile.w, tile.h), interpolation=cv2.INTER_CUBIC)
            if look.backlit:
                background[:] = _BACKLIGHT_WINDOW
            gain = look.brightness * (_BACKLIT_FACE if look.backlit else 1.0)
            if gain != 1.0:
                portrait = cv2.convertScaleAbs(portrait, alpha=gain)
                if not look.backlit:
                    background = cv2.convertScaleAbs(background, alpha=gain)
            canvas = backdrop[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w]
            background = np.where(canvas == _TILE_GREY, background, canvas)  # keep the rounded corners
            self._camera[tile, look] = background, portrait
        return self._camera[tile, look]

    def frame(self, i: int, t: float) -> np.ndarray:
        tiles, backdrop = self._screens[self.script.layout_at(t)]
        canvas = backdrop.copy()
        amplitude = self.script.motion_px
        cameras_on = []
        for index, tile in enumerate(tiles):
            role = self.script.speaking(t) if tile.role == "active" else tile.role
            look = _face_at(getattr(self.script, role), t)
            if look is not None:
                seen_t = look.t_start if look.frozen else t  # a frozen picture: as at its start, without new noise
                background, img = self._camera_view(tile, look, backdrop)
                opening = self.voices.openness.get(role) if self.voices else None
                if opening is not None and not look.masked and look.tilt_deg == 0 and look.scale == 1.0:
                    level = float(opening[min(len(opening) - 1, int(seen_t * _ENVELOPE_HZ))])
                    if level > 0.05:
                        img = _open_mouth(img, look.face, level)
                canvas[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w] = background
                # Face sits a little above the tile centre; bottom of the portrait may be cut off.
                x = tile.x + (tile.w - img.shape[1]) // 2
                y = tile.y + tile.h // 2 - round(0.42 * img.shape[0])
                phase_x, phase_y = self._phases[index]
                sway = self.script.sway * img.shape[0]
                dx = amplitude * math.sin(2 * math.pi * seen_t / 7.0 + phase_x) + sway * math.sin(
                    2 * math.pi * seen_t / _SWAY_PERIODS_S[0] + phase_y)
                dy = 0.4 * amplitude * math.sin(2 * math.pi * seen_t / 11.0 + phase_y) + sway * math.sin(
                    2 * math.pi * seen_t / _SWAY_PERIODS_S[1] + phase_x)
                whole_x, whole_y = math.floor(dx), math.floor(dy)
                if (dx, dy) != (whole_x, whole_y):  # the fraction of a pixel, resampled
                    shift = np.float32([[1, 0, dx - whole_x], [0, 1, dy - whole_y]])
                    img = cv2.warpAffine(img, shift, img.shape[1::-1], flags=cv2.INTER_CUBIC,
                                         borderMode=cv2.BORDER_REPLICATE)
                _paste(canvas, img, x + whole_x, y + whole_y, tile)
                if not look.frozen:
                    cameras_on.append(tile)
            self._label(canvas, tile, dict(self.script.names).get(role, _LABELS[role]))
        yuv = cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420)
        noise = self._noise[i % _NOISE_BANK]
        for tile in cameras_on:  # sensor noise only where a camera is; the app's UI is clean
            rows, cols = slice(tile.y, tile.y + tile.h), slice(tile.x, tile.x + tile.w)
            luma = yuv[rows, cols]
            cv2.add(luma, noise[rows, cols], dst=luma)
            cv2.subtract(luma, _NOISE_LEVEL, dst=luma)
        return yuv

    @staticmethod
    def _label(canvas: np.ndarray, tile: _Tile, text: str) -> None:
        scale = min(canvas.shape[0] / 1440, tile.h / 300)  # small, like a call app's name tag
        thickness = max(1, round(scale * 1.5))
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        pad = max(3, th // 3)
        x, y = tile.x + 2 * pad, tile.y + tile.h - 2 * pad
        cv2.rectangle(canvas, (x - pad, y - th - pad), (x + tw + pad, y + base), _BACKDROP, -1)
        cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def render_frame(script: CallScript, index: int) -> np.ndarray:
    """The BGR frame number `index` of `script` as `write_call_video` draws it before encoding (ground truth
    for tests of decoding at a time: frame `index` is shown from `index / fps` s)."""
    return cv2.cvtColor(_Renderer(script).frame(index, index / script.fps), cv2.COLOR_YUV2BGR_I420)


_CODECS = {".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9", ".avi": "mpeg4"}
_CODEC_OPTIONS = {"libx264": {"preset": "ultrafast"}, "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "row-mt": "1"}}


def _frame_rate(fps: float) -> Fraction:
    """Exact rate: NTSC-style rates (29.97, 59.94, 23.976) become N*1000/1001, others the nearest simple fraction."""
    ntsc = round(fps * 1.001)
    if abs(fps * 1.001 - ntsc) < 1e-3 and abs(fps - ntsc) > 1e-3:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


_GARBAGE_HEAD = b"\x08"
"""A damaged packet's first byte: no VP9 frame starts so (frame marker 00, not 10), so every decoder rejects it, yet
the WebM muxer's superframe filter reads it as a shown frame (show_existing_frame 1) and keeps it a packet of its own.
Random first bytes were hidden frames half the time, merged into the next packet (a keyframe, once), so which
pictures were lost hung on the content (a camera's sway moved a test's damage from 3.9-4.0 s to 4.0-4.03 s)."""


@contextmanager
def ordinary_scheduling() -> Iterator[None]:
    """Runs its block, then puts the calling thread back under the scheduling it had. SVT-AV1's encoder
    (`libsvtav1`, libSvtAv1Enc 4.1 in PyAV's wheel), run as root, moves the thread that opens it, and every thread it
    starts, to real-time scheduling (SCHED_FIFO, priority 99) and leaves it there (measured: `os.sched_getscheduler`
    before and after one encode). Every process that thread starts afterwards inherits it: in the test suite Playwright's
    driver and Chromium then ran real-time, spun at 95% of both cores (the kernel's real-time share) and starved the
    watchdog meant to kill them, of the same priority: the browser-test hangs of sessions 27, 50 and 51 and CI stop 39
    (a run's monitor showed pytest, node and chromium `FF 99`, from the minute the AV1 tests ran)."""
    policy, priority = os.sched_getscheduler(0), os.sched_getparam(0).sched_priority
    try:
        yield
    finally:
        if (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority) != (policy, priority):
            os.sched_setscheduler(0, policy, os.sched_param(priority))


def write_call_video(path: str | Path, script: CallScript, codec: str | None = None, gop: int | None = None, *,
                     frame_times: Sequence[float] | None = None, video_start_s: float = 0.0, audio_s: float | None = None,
                     damaged_frames: Sequence[int] = (), pix_fmt: str = "yuv420p", max_b_frames: int | None = None,
                     options: dict[str, str] | None = None,
                     picture_sizes: Sequence[tuple[float, tuple[int, int]]] = (),
                     turned: tuple[float, CallScript] | None = None, pixel_aspect: Fraction | None = None,
                     bit_rate: int | None = None) -> Path:
    """Encode `script` to `path`; the codec follows the suffix unless `codec` is given, `gop` sets the keyframe interval.

    The rest shape the recording as real recorders write them: `frame_times` (seconds, rounded to the
    frame grid) writes frames only at those presentation times, each held on screen until the next
    (screen recorders, slideshows); `video_start_s` starts the video track that late on the container's
    clock, behind `audio_s` seconds of audio from 0 (silence, AAC or Opus); `damaged_frames` replaces
    those packets (encode order) by as many bytes: 0x08, then random ones (`_GARBAGE_HEAD`); `options` go to the muxer (e.g.
    {"live": "1"}: a WebM without Duration or Cues; {"movflags": "faststart"}: the MP4 index in front);
    `picture_sizes` ((from_s, (width, height)), ...) sends the picture at that size from then on, each change a new
    keyframe in the same track, as a WebRTC recording whose resolution follows the bandwidth (VP8/VP9 in WebM);
    `turned` (from_s, script) sends that script's picture (its size and layouts) from then on, the same way: a phone
    turned mid-call (portrait "stacked" to landscape "gallery"); `pixel_aspect` stores the picture that many times
    narrower with that sample aspect ratio, as anamorphic video does (DV, some broadcast and camera files);
    `bit_rate` (bits/s) encodes at that rate, as meeting tools do (300_000: a congested call), instead of the codec's
    default (H.264: constant quality; the others 3 Mbit/s).
    """
    path = Path(path)
    codec = codec or _CODECS.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"no default codec for suffix {path.suffix!r}; pass codec= or use one of {sorted(_CODECS)}")
    rate = _frame_rate(script.fps)
    if frame_times is None:
        frame_times = [i / rate for i in range(max(1, round(script.duration_s * rate)))]
    voices = _voices(script) if script.speech else None
    renderer = _Renderer(script, voices)
    turned_renderer = _Renderer(turned[1]) if turned else None
    rng = np.random.default_rng(script.seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with ordinary_scheduling(), av.open(str(path), mode="w", options=options or {}) as container:
        stream = container.add_stream(codec, rate=rate, options=_CODEC_OPTIONS.get(codec, {}))
        stream.width, stream.height = stored = _squeezed(script.size, pixel_aspect)
        if pixel_aspect:
            stream.codec_context.sample_aspect_ratio = pixel_aspect
        stream.pix_fmt = pix_fmt
        stream.codec_context.time_base = 1 / rate  # frame i has pts i: exact, also for 30000/1001
        stream.time_base = 1 / rate  # a hint; muxers may pick a finer one (mp4, webm)
        if codec == "libx264":
            stream.codec_context.max_b_frames = 2  # "ultrafast" turns B-frames off; call recorders use them
        if bit_rate or codec != "libx264":
            stream.codec_context.bit_rate = bit_rate or 3_000_000  # the ~200 kb/s default (mpeg4, vp9) smears faces
        if max_b_frames is not None:
            stream.codec_context.max_b_frames = max_b_frames
        if gop is not None:
            stream.codec_context.gop_size = gop
        audio = _add_audio(container, path) if audio_s or voices else None
        damaged, written = set(damaged_frames), 0

        def mux(packets) -> None:
            nonlocal written
            for packet in packets:
                if written in damaged and packet.size:
                    garbage = av.Packet(_GARBAGE_HEAD + rng.integers(0, 256, packet.size - 1, dtype=np.uint8).tobytes())
                    garbage.pts, garbage.dts, garbage.duration = packet.pts, packet.dts, packet.duration
                    garbage.time_base, garbage.stream = packet.time_base, packet.stream
                    packet = garbage
                written += 1
                container.mux(packet)

        offset = round(video_start_s * rate)
        last_pts = -1
        encoder, size = stream, stored

        def sized(packets):  # packets of a resized picture's own encoder, sent in the stream
            for packet in packets:
                packet.stream, packet.time_base = stream, 1 / rate
                yield packet

        for i, t in enumerate(frame_times):
            pts = max(last_pts + 1, round(t * rate))
            now_turned = turned is not None and t >= turned[0]
            drawn = (turned_renderer if now_turned else renderer).frame(i, float(video_start_s + pts / rate))
            frame = av.VideoFrame.from_ndarray(drawn, format="yuv420p")
            wanted = turned[1].size if now_turned else next((s for from_s, s in reversed(picture_sizes) if from_s <= t),
                                                            stored)
            if wanted != size:
                mux(sized(encoder.encode(None)) if encoder is not stream else stream.encode(None))
                encoder, size = av.CodecContext.create(codec, "w"), wanted
                encoder.options = dict(_CODEC_OPTIONS.get(codec, {}))
                encoder.width, encoder.height, encoder.pix_fmt = *size, pix_fmt
                encoder.time_base, encoder.framerate = 1 / rate, rate
                if stream.codec_context.bit_rate:  # libx264 runs at its constant quality (no bit rate set)
                    encoder.bit_rate = stream.codec_context.bit_rate
            if size != (frame.width, frame.height):
                frame = frame.reformat(*size)
            if pix_fmt != "yuv420p":
                frame = frame.reformat(format=pix_fmt)
            frame.pts, frame.time_base = offset + pts, 1 / rate
            last_pts = pts
            mux(stream.encode(frame) if encoder is stream else sized(encoder.encode(frame)))
        mux(stream.encode(None) if encoder is stream else sized(encoder.encode(None)))
        if voices is not None:
            _write_samples(container, audio, voices.samples)
        elif audio is not None:
            _write_samples(container, audio, np.zeros(round(audio_s * SPEECH_RATE), np.float32))
    return path


def _squeezed(size: tuple[int, int], pixel_aspect: Fraction | None) -> tuple[int, int]:
    """The stored (width, height) of a picture displayed at `size` whose pixels are `pixel_aspect` times as wide."""
    return (round(size[0] / pixel_aspect / 2) * 2, size[1]) if pixel_aspect else size


def _add_audio(container, path: Path):
    codec, rate = ("libopus", 48_000) if path.suffix.lower() == ".webm" else ("aac", SPEECH_RATE)
    return container.add_stream(codec, rate=rate, layout="mono")


def _write_samples(container, audio, samples: np.ndarray) -> None:
    """Encode mono float32 `samples` at SPEECH_RATE (resampled to the stream's rate) into `audio`."""
    rate, chunk = audio.codec_context.sample_rate, 960
    if rate != SPEECH_RATE:
        from scipy.signal import resample_poly

        step = math.gcd(rate, SPEECH_RATE)
        samples = resample_poly(samples, rate // step, SPEECH_RATE // step).astype(np.float32)
    samples = np.concatenate([samples, np.zeros(-len(samples) % chunk, np.float32)])
    for start in range(0, len(samples), chunk):
        frame = av.AudioFrame.from_ndarray(samples[None, start:start + chunk], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for packet in audio.encode(frame):
            container.mux(packet)
    for packet in audio.encode(None):
        container.mux(packet)


def write_corrupt_copy(src: Path, dst: Path, keep_fraction: float = 0.3) -> Path:
    """Copy only the first `keep_fraction` of `src`: a truncated upload (an .mp4 loses its index and won't open)."""
    if not 0 <= keep_fraction < 1:
        raise ValueError("keep_fraction must be in [0, 1)")
    src, dst = Path(src), Path(dst)
    with src.open("rb") as f:
        head = f.read(int(src.stat().st_size * keep_fraction))
    dst.write_bytes(head)
    return dst


def write_not_a_video(dst: Path) -> Path:
    """Write plain text under a video name (pass e.g. 'notes.mp4'): an upload that must be rejected."""
    dst = Path(dst)
    dst.write_text("This is a text file, not a video recording.\n")
    return dst


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Write a synthetic video-call recording.")
    parser.add_argument("out", type=Path, help="output file; the suffix picks the container and codec")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--layout", choices=LAYOUTS, default="gallery")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT, both even")
    parser.add_argument("--motion", type=float, default=0.0, help="face drift amplitude in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    script = CallScript(args.duration, args.fps, (width, height), args.layout, motion_px=args.motion, seed=args.seed)
    print(write_call_video(args.out, script))
