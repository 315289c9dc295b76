"""Name tags: who is the rep, and who the prospect, by the names Zoom, Meet and Teams print on each camera tile.

Nothing in a gallery's layout says which tile is the rep's (the rep position is a hint a manager sets once), but the
call app prints every participant's display name on their tile, and the call's rep (and, when given, the prospect) is
named at upload. So, for a call whose people are known (`pipeline.people`), a few frames where the most people are on
screen together are read by OCR (`read_texts`), each text is given to the face above it (`tag_owners`), and a person whose
tag holds the rep's (the prospect's) name is named so (`read_name_tags`); `pipeline.roles.decide_roles` takes that over
the layout's votes, below a face recognised from enrolment.

| the tag, the name given at upload "Ken Walker" | `match_level` |
|---|---|
| "Ken Walker", "Ken Walker (Acme)", "ken walker (Host)" | 3: exact |
| "Ken W.", "Kenny W.", "Kenneth Walker" (`NICKNAME_LETTERS`), "Ken Watker" (an OCR slip: `WORD_SIMILARITY`) | 2: full |
| "Ken" (a first name alone) | 1: first name |
| "Ken Smith", "Ben Walker", "Acme", "Ken is presenting" (more words than the name and one more: a banner) | 0 |

The highest level found for a name decides; a name whose best tags sit under two people, or the same person for the rep
and the prospect, names no one (`_pick`). Measured on the 65 recordings of new-user trials 44-49 that carry name tags
(session 52, `/root/rapport-runs/s52/ocr_assoc2.py`, one frame each, faces by BlazeFace on it): the rep's name was read
and given to the rep's face in 63, to none in 2 (a screen share with no tag in view; a tag OCR missed), to another face
in none (the first rule, the nearest face by height, gave 3 to the neighbouring tile: `TILE_SLACK`).

OCR is RapidOCR (`rapidocr`, Apache-2.0) on ONNX Runtime with the PP-OCRv6 small detection and recognition models its
wheel ships (Apache-2.0, `MODEL_LICENSES.md` in its dist-info): given by path, so nothing is downloaded. Reading one
1280x720 frame costs ~0.6-0.9 s of CPU here (1 to `NAME_TAG_FRAMES` of them a call, after the frame loop).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

NAME_TAG_FRAMES = 3
"""Most frames read a call: chosen to show every person at least once, the most people together first (`tag_seconds`).
A second frame is chosen even when one shows everyone, as a tag can be hidden for a moment (a speaking indicator over it);
it is read only when the first did not show every name given in full (`name_people`)."""
MAX_OCR_WIDTH = 1280
"""Frames wider than this are shrunk to it before OCR: a 720p tile's tag is 14-20 px tall, enough for the recogniser,
and a 1080p frame costs ~2x more to read."""
WORD_SIMILARITY = 0.8
"""A word of the tag matches a word of the name at this `difflib.SequenceMatcher` ratio or above: one misread letter
in a 5-8 letter word ("Watker" for "Walker", 0.83) still matches; a different short name ("Ken"/"Ben", 0.67) does not."""
TAG_BELOW = 4.0
"""A tag belongs to a face above it: its top below the face's centre and at most this many face heights below the
face's bottom (a gallery tile's name sits at the tile's foot, 1-3 face heights below)."""
TILE_SLACK = 0.1
"""...and no further left of the face than a tile centred on the face could reach inside the frame: the tag's left end,
mirrored about the face's centre, at most this fraction of the frame's width past its right edge (call apps print the
name at a tile's bottom left, and centre the face in the tile; a tag's reach counted in face widths instead missed the
tags of 56-px faces in 636-px tiles, or, made wide enough for them, gave a tag to the neighbouring tile's face)..."""
TAG_RIGHT_REACH = 0.0
"""...and starting at most this many face widths right of the face's right edge (call apps print a tag at the tile's
left or under the face's middle, never beside the face: at 1.0, a prospect sitting at the right edge of the left tile
took the rep's tag from the tile beside, new-user trial 50). Of several such faces, the one nearest
the tag's top middle, in face sizes (`tag_owners`): the nearest by height alone gave a tag at the foot of a 640x360 gallery's
left tile to the larger face in the right tile, 3 of 65 trial recordings."""
NICKNAME_LETTERS = 3
"""A word of the tag that starts with a word of the name, or the other way round, matches from this many letters: the
short form of a first name ("Ken" for "Kenneth", "Kenny W." for Ken Walker: new-user trial 50, where a colleague's tag
"Ken" then named the rep); an initial ("W.") matches its word at any length."""
EXACT, FULL, FIRST_NAME = 3, 2, 1
"""`match_level`'s answers, the higher first: every word of the name, as spelt, and no other (but a parenthesis); every
word of the name (first and last at least), or a short form, an initial, one misread letter; the first name alone."""


@dataclass(frozen=True)
class CallNames:
    """The names a call was uploaded with: its rep's (`db.models.Rep.name`) and its prospect's, each None if not
    known. False when neither is: no name tag is then read."""
    rep: str | None = None
    prospect: str | None = None

    def __bool__(self) -> bool:
        return bool(self.rep or self.prospect)


@dataclass(frozen=True)
class TextBox:
    """One line of text OCR read: `text`, its `box` (4,) x1, y1, x2, y2 in pixels of the frame read, `score` 0-1."""
    text: str
    box: np.ndarray
    score: float


@dataclass(frozen=True)
class Tagged:
    """A person (`pipeline.people` number) whose tag read `text`, naming them at `level` (`match_level`)."""
    person: int
    text: str
    level: int = EXACT

    @property
    def what(self) -> str:
        """What of the name the tag showed, for a note: "name", or "first name"."""
        return "first name" if self.level == FIRST_NAME else "name"


@dataclass(frozen=True)
class NameTags:
    """What the tags told: the rep's and the prospect's person, each None when no tag named them surely."""
    rep: Tagged | None = None
    prospect: Tagged | None = None


def _words(text: str) -> list[str]:
    """Lower-case words without accents, parentheses' contents dropped ("Zoë Müller (Acme)" -> ["zoe", "muller"])."""
    text = re.sub(r"\([^)]*\)?", " ", text)
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return re.findall(r"\w+", folded)


def _found(word: str, tag_words: list[str]) -> bool:
    """Whether a word of a name is among the tag's words: spelt nearly alike (`WORD_SIMILARITY`), as its initial, or
    one the start of the other, three letters or more ("Kenny", "Kenneth" for "Ken", and "Ken" for "Kenneth")."""
    return any(SequenceMatcher(None, word, t).ratio() >= WORD_SIMILARITY or (len(t) == 1 and word.startswith(t))
               or (min(len(t), len(word)) >= NICKNAME_LETTERS and (t.startswith(word) or word.startswith(t)))
               for t in tag_words)


def match_level(name: str, text: str) -> int:
    """How well a tag's `text` names `name` (the module's table): `EXACT`, `FULL`, `FIRST_NAME` or 0."""
    name_words, tag_words = _words(name), _words(text)
    if not name_words or not tag_words or len(tag_words) > len(name_words) + 1 or not _found(name_words[0], tag_words):
        return 0
    if tag_words == name_words:
        return EXACT
    if _found(name_words[-1], tag_words):
        return FULL
    return FIRST_NAME if len(tag_words) == 1 else 0


def _away(box: np.ndarray, face: np.ndarray, width: int) -> float:
    """How far a text `box` sits from under a `face` (both (4,) x1, y1, x2, y2 pixels; `width`: the frame's): from the
    face's box to the text's top middle, across in face widths plus down in face heights; inf where it cannot be the
    face's tag (`TAG_BELOW`, `TILE_SLACK`, `TAG_RIGHT_REACH`)."""
    tx1, ty1, tx2, _ = box
    x1, y1, x2, y2 = face
    w, h = x2 - x1, y2 - y1
    if ty1 < (y1 + y2) / 2 or ty1 - y2 > TAG_BELOW * h:
        return np.inf
    if (x1 + x2) - tx1 > (1 + TILE_SLACK) * width or tx1 > x2 + TAG_RIGHT_REACH * w:
        return np.inf
    middle = (tx1 + tx2) / 2
    return max(0.0, x1 - middle, middle - x2) / w + max(0.0, ty1 - y2) / h


def tag_owners(boxes: list[np.ndarray], faces: dict[int, np.ndarray], width: int) -> list[int | None]:
    """For each text line's box, the person whose tag it is (`faces`: person -> (4,) x1, y1, x2, y2, pixels of the
    frame, `width` pixels wide): the face it sits nearest under (`_away`), if that face has no line nearer under it
    (the face's own tag): a name in a tile whose camera is off is then no one's, not the face's above it (new-user trial
    50: a rep's tag in an empty tile of a 2x2 grid named the guest in the tile above)."""
    away = np.array([[_away(box, face, width) for face in faces.values()] for box in boxes]).reshape(len(boxes), len(faces))
    people = list(faces)
    owners: list[int | None] = []
    for i in range(len(boxes)):
        j = int(np.argmin(away[i])) if len(people) else 0
        mine = len(people) and np.isfinite(away[i, j]) and int(np.argmin(away[:, j])) == i
        owners.append(people[j] if mine else None)
    return owners


def tag_seconds(on_screen: dict[int, dict[int, np.ndarray]], n: int = NAME_TAG_FRAMES) -> list[int]:
    """Up to `n` seconds to read (in time order): each shows someone not shown yet, the most such, then the most people,
    nearest the call's middle; then one more with the most people, furthest from those, if only one was needed.
    `on_screen`: second -> person -> face box."""
    seconds = sorted(on_screen)
    if not seconds:
        return []
    middle = (seconds[0] + seconds[-1]) / 2
    chosen: list[int] = []
    unseen = {p for faces in on_screen.values() for p in faces}
    while unseen and len(chosen) < n:
        best = max(seconds, key=lambda s: (len(unseen & on_screen[s].keys()), len(on_screen[s]), -abs(s - middle)))
        chosen.append(best)
        unseen -= on_screen[best].keys()
    if len(chosen) == 1 and n > 1:
        most = max(len(faces) for faces in on_screen.values())
        rest = [s for s in seconds if len(on_screen[s]) == most and s != chosen[0]]
        if rest:
            chosen.append(max(rest, key=lambda s: abs(s - chosen[0])))
    return sorted(chosen)


@lru_cache(maxsize=1)
def _engine():
    """RapidOCR on the models its wheel ships, given by path (no download), the angle classifier off (tags are level)."""
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    return rapidocr.RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False,
                            "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
                            "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx")})


def read_texts(image: np.ndarray) -> list[TextBox]:
    """Every line of text in a BGR frame (h, w, 3) uint8, boxes in its own pixels (read at most `MAX_OCR_WIDTH` wide)."""
    scale = 1.0
    if image.shape[1] > MAX_OCR_WIDTH:
        scale = image.shape[1] / MAX_OCR_WIDTH
        image = cv2.resize(image, (MAX_OCR_WIDTH, round(image.shape[0] / scale)), interpolation=cv2.INTER_AREA)
    result = _engine()(image)
    if result.boxes is None:
        return []
    return [TextBox(str(text), np.array([*np.min(quad, axis=0), *np.max(quad, axis=0)], np.float64) * scale, float(score))
            for quad, text, score in zip(result.boxes, result.txts, result.scores)]


def _pick(hits: list[tuple[int, int, str]]) -> Tagged | None:
    """The person most of a name's best-level tags (level, person, text) sat under, if over half did."""
    if not hits:
        return None
    best = max(level for level, _, _ in hits)
    counts: dict[int, int] = defaultdict(int)
    for level, person, _ in hits:
        if level == best:
            counts[person] += 1
    person = max(counts, key=counts.get)
    if 2 * counts[person] <= sum(counts.values()):
        return None
    return Tagged(person, next(text for level, p, text in hits if level == best and p == person), best)


def name_people(frames: Iterable[tuple[np.ndarray, dict[int, np.ndarray]]], rep_name: str | None,
                prospect_name: str | None) -> NameTags:
    """Who the tags name: `frames` yields (BGR frame, person -> face box in fractions of the frame (4,)); the rep's and
    the prospect's names as given at upload (None: not known). Frames are read until every name given was found in
    full on a tag (`FULL` or `EXACT`; a frame's tags are all weighed together), so a call whose first frame shows both
    tags costs one."""
    hits: dict[str, list[tuple[int, int, str]]] = {"rep": [], "prospect": []}
    wanted = [role for role, name in (("rep", rep_name), ("prospect", prospect_name)) if name]
    for image, faces in frames:
        if all(any(level >= FULL for level, _, _ in hits[role]) for role in wanted):
            break
        h, w = image.shape[:2]
        in_pixels = {p: np.asarray(box, np.float64) * (w, h, w, h) for p, box in faces.items()}
        lines = read_texts(image)
        owners = tag_owners([line.box for line in lines], in_pixels, w)
        for line, person in zip(lines, owners):
            for role, name in (("rep", rep_name), ("prospect", prospect_name)):
                level = match_level(name, line.text) if name else 0
                if level and person is not None:
                    hits[role].append((level, person, line.text))
    rep, prospect = _pick(hits["rep"]), _pick(hits["prospect"])
    if rep and prospect and rep.person == prospect.person:  # both names fit one tag ("Ken" for Ken and Kenneth)
        rep_level = max(level for level, p, _ in hits["rep"] if p == rep.person)
        prospect_level = max(level for level, p, _ in hits["prospect"] if p == prospect.person)
        rep, prospect = (rep, None) if rep_level > prospect_level else (None, prospect) if prospect_level > rep_level \
            else (None, None)
    return NameTags(rep, prospect)

