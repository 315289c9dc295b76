"""Roles: which person is the rep, which the prospect, who else is on the call; roles belong to people.

A person is one or more tracks (`pipeline.people` groups them by appearance; without appearance, the
tracks of one screen position, a *seat*, are one person). Faces of shared content (a headshot on a
slide, `pipeline.people.TrackLook.still`), tiny or short-lived tracks (false detections) and people seen for under
`MIN_PERSON_S` in all are no one.

Layouts change through a call, so the evidence is gathered second by second, from the faces on screen
in that second, and each second votes:

| faces on screen in that second | layout it shows | vote |
|---|---|---|
| one, centred (`CENTRED`) | speaker view with self-view hidden (the other side), or an active speaker (either side) | none |
| one, near an edge (`SELF_VIEW_EDGE`), beside a set-aside still face `SPEAKER_VIEW_AREA_RATIO` times larger and centred | speaker view whose speaker's camera shows a still picture (frozen, or a listener held very still) | the lone face (self-view) is the rep; with no other prospect, the still face is the prospect, every second frozen video (`RoleDecision.frozen`) |
| one, off-centre | a gallery with the other tile empty or unseen (or an active speaker sitting off-centre: noted) | the hint: toward `rep_position` = rep, away = not |
| two, level with each other and mirrored about the centre (`GALLERY_LEVEL`, `GALLERY_MIRROR`), whatever their sizes | a gallery, one person sitting back | the hint, as below |
| two, one `SPEAKER_VIEW_AREA_RATIO` times larger, the small one near an edge of the frame (`SELF_VIEW_EDGE`) and not in a row beside the big face's own thumbnail (a strip's, `_in_a_row`) | speaker view with self-view (or a gallery whose faces sit at different heights: noted when the big face sat toward `rep_position`) | the small one (self-view) is the rep, the big one not |
| two, one `SPEAKER_VIEW_AREA_RATIO` times larger, the small one further in | a face inside the speaker's own picture (a photo, a poster, a flag's pattern) | none |
| three or more: exactly one `SPEAKER_VIEW_AREA_RATIO` times smaller than the largest, in a corner (`SELF_VIEW_CORNER`), the others a gallery (two equal tiles, or a grid: `_a_gallery`) | a gallery with the recorder's own picture floating at its edge (Meet, Teams) | the small one (self-view) is the rep, the tiles not |
| three or more, one much larger and off-centre, the others level with it across the centre (`_room_beside`) | a gallery whose other tile holds several people (a meeting room) | the hint, over all of them |
| three or more, one much larger, the others a column at a side of the frame, the large face centred in the rest of the frame (`_strip_beside`); or one `STRIP_LARGER` times larger anywhere beside a column hugging the side (`STRIP_EDGE`) | a shared screen (or a sidebar view's speaker) beside the call's camera strip | the hint, over the strip's faces only; the large face is noted and ranks after them for the prospect (`_Votes.beside_strip`) |
| three or more, one much larger and centred across (otherwise) | speaker view with a filmstrip (Teams: a row of thumbnails below the speaker) | the hint, over the thumbnails only, on its own axis, in a ballot of its own that decides only where nothing else did (`FILMSTRIP_GUESS`) |
| three or more, one much larger off-centre (otherwise) | a gallery with one person close to their camera | none |
| one or two, the smaller in a corner at a place where, over the call, two or more people surely different by face took turns (`speaker_thumbnails`) | a screen share with the active speaker's thumbnail over it (Zoom's recording) | none; the other face is the shared screen's: noted, and ranks after the others for the prospect (`_Votes.beside_speaker`) |
| similar sizes (gallery, stacked, camera thumbnails beside a shared screen) | gallery | the hint: the face furthest toward `rep_position` (if `MIN_SEPARATION` ahead) = rep, the others not |

`rep_position` is a hint for the layouts it names (galleries: side by side, stacked, thumbnail strips), never a
rule for the others. It is read on its own axis ("left": across the frame); only a call whose faces never
separate on that axis for `NOTE_MIN_S` seconds is read on the other one too (`_toward`: "left" reads as "top" in a
stacked-only call, and picks the top-left face of a grid). A phone turned mid-call (portrait stacked, rep on top,
then landscape side by side) is so read on "top" in its stacked part only: the side-by-side part would have
voted for whoever sat left (a new-user trial, 30), and the rep is followed across the turn by their face.
Each person's score is (rep votes - votes against); then:

* the rep = the person recognised from enrolment (`recognised_rep`, `pipeline.enrolment`: a consented face
  signature of the call's rep matched this person's embedding), which outranks every vote above; else the
  person whose name tag reads the rep's name (`name_tags`, `pipeline.name_tags`: what Zoom, Meet and Teams print on each
  tile), which outranks every vote above too; else the person with the highest positive score (none positive: no rep;
  the note says so);
* the prospect = the person whose name tag reads the prospect's name; else the most present other person (in a call that is mostly a filmstrip speaker view, the one longest on
  its stage: `_Votes.stage_s`); with a rep, where others were on screen with them nearly as long at nearly their
  size (`PROSPECT_CLEAR`: a coin toss, as two tiles of a Meet gallery), the one of those who talked most, by
  `TALK_TIE_BREAK` (`pipeline.speech.talk_by_person`, `_by_talk`), still a guess the note states; when there is a rep,
  other people never on screen with the
  prospect for more than `TOGETHER_MAX_S` (someone who took the prospect's place), unless their faces are surely
  another person's (`pipeline.people.distinct_people`), are the prospect too (with no rep,
  such a person is as likely the rep: an active speaker view shows the two in turns, never together, and both were
  the prospect, so the prospect's timeline read the rep's face half the call);
* no rep told, and exactly two people of one size, never on screen together (taking turns in one tile: an
  active-speaker recording): the one on screen longer is the rep (reps usually talk more) and the other the prospect, a
  guess (`RoleDecision.rep_guessed`) the note states and a manager keeps or swaps in one click (new-user trials 13 and
  14: the other person was left a "guest", the rep "never heard talking");
* everyone else -> participant-1, participant-2, ... (never dropped).

When two layouts point at different reps for at least `NOTE_MIN_S` seconds each (the rep position names
one person, the self-view another), the layout with more seconds wins and
`RoleDecision.note` says so, for the review page; also when no rep could be told, when the only
person seen sits away from `rep_position`, or when they were the only person seen and no rep showed (a hidden
self-view). The note also says when a pick is a guess or rests on one rule only:

| what decided | note |
|---|---|
| the prospect, with another person (on screen with them, so a participant) seen nearly as long and their face not far smaller (`PROSPECT_CLEAR`; guests who took turns at one seat counted together, `_guests_by_seat`) | "Three people on this call: Rapport guessed person N is the prospect (person M was on screen nearly as long; they talked 20 s and 31 s); check Fix roles", or "..., who talked more (31 s against person M's 6 s), ..." (`TALK_TIE_BREAK`) |
| the rep, recognised from enrolment | "Person N was recognised from enrolment as the rep ..." (no other rep note) |
| the rep, by their name tag | "Person N's name tag read “Ken Walker (Acme)”, the rep's name, so they are the rep; ..." (no other rep note) |
| the prospect, by their name tag | "Person N's name tag read “Maria”, the prospect's name, so they are the prospect." (with no rep told otherwise, and one other person of their size: "..., so person M, the one other person on screen at their size, was taken as the rep.") |
| the rep, a guess between two people taking turns in one tile | "The video does not show which person is the rep: ... Rapport guessed person N is the rep and person M the prospect; if it is the other way round, swap them in Fix roles." |
| the rep, by the self-view rule only (fewer than `NOTE_MIN_S` seconds of gallery hint for them) | "The rep was taken to be the self-view thumbnail (the person recording); ..." |
| the rep, by the self-view rule, while the big face sat off-centre toward `rep_position` (`_Votes.hint_unheeded`) | "Person N was taken as the rep, as the self-view thumbnail of a speaker view, but person M's face sat toward the rep position (right) ...: if this was a gallery, ..." |
| the rep, by the hint pointing into a meeting room's tile (`_room_beside`) for most of their hint seconds | "The rep position (left) points to a tile of several people; ... if the rep is the person in the other tile, ..." |
| the rep, by the hint on a face alone on screen (off-centre), never `NOTE_MIN_S` seconds beside a second face | "Person N was taken as the rep because their face sat toward the rep position while alone on screen; ..." |
| a person seen mostly (over half their seconds) as the large face beside a camera strip or an active speaker's thumbnail, while another is the prospect | "Person N's larger face sat beside a strip of camera thumbnails ..." (or "... beside one camera thumbnail that showed persons 1 and 2 in turns ...") "... taken for shared content (a video on a shared screen) or a third person ..." |
| the prospect's role, given to two or more people never on screen together (`TOOK_TURNS_NOTE`): a guess | "Rapport took persons 2 and 3 for the prospect, as they were never on screen together: ..." |
| the rep, by the hint among a speaker view's filmstrip thumbnails (`FILMSTRIP_GUESS`): a guess (`RoleDecision.rep_guessed`) | "Person N's thumbnail sat furthest right in the speaker view's strip of thumbnails, so Rapport guessed they are the rep ..." |
| the rep, by the hint read across (no face ever sat clearly furthest toward `rep_position`) | "No face sat clearly furthest right of the others, so person N, furthest bottom-right, was taken as the rep; ..."; from a column of thumbnails by a side (`_Votes.aside_for`), a guess (`RoleDecision.rep_guessed`): "... so Rapport guessed person N, furthest top-left, is the rep (the call app orders faces one above the other, in a strip of thumbnails or a grid); ..." |
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.detect import iou_matrix
from pipeline.name_tags import NameTags

REP, PROSPECT = "rep", "prospect"
REP_POSITIONS = ("left", "right", "top", "bottom")

MIN_DETECTIONS = 2
"""A track needs this many detector hits to be a participant: flicker never is."""
MIN_FACE_HEIGHT = 0.035
"""...and a mean face height of at least this fraction of the frame's shorter side (`TrackSummary.face_size`): its
height in a landscape frame (25 px at 720p, 38 px at 1080p), its width in a phone's portrait one: the smallest face the
detector's edge windows find (`model.blazeface.EDGE_WINDOW`: 13 px at 640x360). Found by new-user trials: (32) a
720x1280 portrait recording's self-view face (61 px, 0.048 of the frame's height) was no one, and the call had no rep;
(43) a 1080p screen share's column of camera thumbnails (faces 48-54 px, 0.044-0.050, tracked all call at 5%) were no
one, and the call read "its only faces were still pictures"."""
MIN_PERSON_S = 1.0
"""A person whose tracks together span less than this (seconds from each one's first to its last frame) is no one: a
false detection that outlived the tracker's checks, or someone passing, too little to coach from. Generated calls
(session 31, 300 kbit/s H.264): a blurred background read as a 105-px face (scores 0.72-0.74) for a call's first
0.75 s, its worst pictures, and became participant-1. Not applied to clips shorter than twice this."""
SEAT_IOU = 0.3
"""Mean boxes overlapping this much (and not on screen at once) are the same seat."""
SPEAKER_VIEW_AREA_RATIO = 3.0
"""A face this many times larger than every other one on screen means speaker view (synthetic and Zoom/Meet
speaker views: 6-15x; gallery tiles of one call differ by < 1.5x)."""
CENTRED = 0.12
"""A lone face whose centre is within this (fraction of the frame) of the frame's centre is centred: a
two-tile gallery puts faces 0.25 from it, a speaker view within 0.05."""
MIN_SEPARATION = 0.1
"""The face furthest toward `rep_position` must be this much further (fraction of the frame) than the next
for the hint to pick it: faces level with each other (a stacked layout for "left") are read on the other axis."""
GALLERY_LEVEL = 0.1
"""Two faces whose centres differ by less than this (fraction of the frame) on one axis and mirror each other about
the centre on the other (within `GALLERY_MIRROR`), each at least `CENTRED` from it, are in equal gallery tiles (side by
side, or stacked), however different their sizes: a speaker view's self-view is in a corner, and a filmstrip thumbnail above a
speaker sits further from the centre than the speaker's face (trial18's A_speaker: 0.41 above against 0.15 below,
which "opposite sides" alone took for a stacked gallery). Found by a
new-user trial: a prospect leaning back (a 64-px face beside a 150-px one for 8 s of a gallery) was read as a
self-view, and the review page said the rep position and "the self-view in speaker view" disagreed."""
GALLERY_MIRROR = 0.2
"""How far (fraction of the frame) two gallery faces' distances from the centre may differ on the axis across their
tiles: each person sits anywhere in their own tile, up to a fifth of its width off its middle (a tenth of the frame)
each way. Found by a new-user trial (25): a prospect sitting back at the left of their tile (face 0.15 right of the
centre, the rep's 0.26 left of it, the rep's face 3.9 times larger) was 0.11 off the mirror of the rep's face, so the
two were read as a speaker view with a self-view: rep and prospect swapped all call, and with rep analysis off the
rep's face was read as the prospect's. A speaker view's thumbnail is further off (trial18's filmstrip above a
speaker: 0.26)."""
SELF_VIEW_EDGE = 0.25
"""A speaker view's self-view thumbnail has its centre within this fraction of the frame from one of the frame's edges:
Zoom, Meet and Teams put it in a corner or along an edge (generated speaker views: 0.12; a phone's portrait close-up
~0.15). A small face further in sits inside the speaker's own picture. Found by a new-user trial (31): the stars of a
flag behind a portrait read as a 27-px face (BlazeFace scores 0.70-0.84) 0.35 of the frame from the nearest edge, and
as the "self-view" it took the rep's role."""
STILL_SPEAKER_NOTE = ("The prospect's face in the big tile stayed as still as a picture all call (a frozen camera, or "
                      "someone sitting very still): their seconds say \"frozen video\" and no emotion of theirs is shown.")
"""Said when a set-aside still face becomes the prospect as the speaker beside the rep's self-view
(`RoleDecision.frozen`). Found by new-user trials (32, 33): a very still, soft speaker (sway 0.2-0.3 px) in speaker view
was set aside as a picture, and the prospect's rows said "face not seen" all call."""
SELF_VIEW_CORNER = 0.2
"""A self-view floating over a gallery (Meet, Teams: the recorder's own picture, small, beside two or more equal tiles)
has its centre within this fraction of the frame from a side and from the top or bottom: Meet's sits at ~0.1 and ~0.12
from the bottom-right corner (new-user trial 43). A small face elsewhere beside a gallery is more likely in a tile: a
framed photo on the wall above a prospect (trial 32: centre 0.18 from the side, 0.255 from the top) is no one's
self-view."""
HINT_VOTE = 1.0
"""Weight of a second of a gallery (or off-centre lone face) for the face the hint points at."""
SELF_VIEW_VOTE = 1.0
"""Weight of a second of speaker view with one thumbnail (the recording's own self-view) for that thumbnail."""
TOGETHER_MAX_S = 0.5
"""Tracks (or people) on screen together for longer than this (seconds of sampled frames) are different people
and different sides: one face is present on one frame as one track only, so the same person overlaps itself
only by a duplicate box (two frames at 4 frames/s at most)."""
NOTE_MIN_S = 3
"""Seconds of evidence a layout needs before its disagreement with another is noted."""
FILMSTRIP_GUESS = NOTE_MIN_S
"""Seconds of a speaker view with a filmstrip whose thumbnails parted on the rep position's axis that the filmstrip
ballot needs to pick the rep, and only when the galleries, self-views and strips gave fewer than `NOTE_MIN_S` seconds
of evidence: the strip's order is the call app's (Teams puts the user's own tile last, or floating in a corner), so the
pick is a guess (`RoleDecision.rep_guessed`) the note states. Found by a new-user trial (36): in a Teams speaker view
with a row of thumbnails below the speaker no rep was found whatever the rep position said, the rep's own thumbnail
took the prospect's role and the talk ratio was not given."""
SWAP_NOTE = ("The gallery's tiles changed places: person {rep} sat furthest {position} for {rep_s:.0f} s and person "
             "{other} for {other_s:.0f} s, each while the other was on screen. Rapport guessed person {rep}, there "
             "first, is the rep; if it is the other way round, swap them in Fix roles.")
"""The roles note when the rep position picked two people, each for `NOTE_MIN_S` or more while the other was on screen
(a gallery reordered, as Zoom does when someone joins or speaks): the one there first is taken as the rep (the layout a
manager saw when they named the rep position), a guess. New-user trial 39: tiles swapped at 0:20 of 40 s left no rep
at all, the rep's talk a guest's, and a note saying no gallery was seen; trial 40: with the swap at 0:12 of 30 s, the
one there longer (18 s) was the prospect, and the rep there first was taken for them."""
STAGE_SHARE = 0.5
"""Share of the seconds with two or more faces a call must show as a filmstrip speaker view (`_Votes.stage_s`) for the
prospect to be who was on its stage longest rather than the most present: a gallery with a few seconds of speaker view
keeps its most present prospect (a code review: a guest's 3 s on stage took the role, silently)."""
PROSPECT_CLEAR = 1.5
"""The prospect (the most present person other than the rep) is a clear pick when seen at least this many times
as many frames as every other person on screen with them, or with a face `SPEAKER_VIEW_AREA_RATIO` times larger than
each of theirs (new-user trial 32: a framed photo on the wall behind the prospect, shaken with the background by a
handheld camera, was a 30-60-px participant all call, and the note called the 130-px prospect a guess); closer (three
people in a gallery all call long: 1.0) is a guess and the note says so."""
TALK_TIE_BREAK = 1.5
"""Of people a gallery shows alike beside the rep (on screen with the most present one, seen at least 1/`PROSPECT_CLEAR`
as much, faces within `SPEAKER_VIEW_AREA_RATIO` of each other's size: `_by_talk`), the prospect is the one who talked
most when that is this many times as long as the most present one and `NOTE_MIN_S` seconds more: the person a rep sells
to speaks for their side, a colleague brought along mostly listens. Found by new-user trial 43: a Meet call's two equal
tiles, the prospect talking 29 s and the colleague 6.5 s, gave the role to the colleague (the more present by frames, a
coin toss): the prospect's timeline read the colleague's face, and the talk ratio was the colleague's. Re-analysed
(2026-12-07, `/root/rapport-runs/s47/run43.sh`): that call, and trial 42's 3-person gallery, 2x2 gallery and 10-minute
3-person call (the prospect split in two at photo changes; a colleague taken for them each time) all pick the prospect
now: talk ratios 42/58, 54/46, 66/34 and 67/33 against truths of 42/58, 50/50, 50/50 and 57/43 (before: the colleague
as the prospect each time; 74/26 and 85/15 on the galleries). Trial 9's 2x2 gallery (session 35, recording lost) had
the mouths give the prospect 6 s of their 20 when a tie-break by talk was first measured and not adopted (who is
talking has been reworked since): the pick stays a guess the note states, with both people's seconds."""
TOOK_TURNS_NOTE = ("Rapport took {people} for the prospect, as they were never on screen together: one person seen twice "
                   "(a new camera or light), or people taking turns in one tile (a speaker view); if {others} someone "
                   "else, give them their own role in Fix roles.")
"""Said, and the prospect a guess (`RoleDecision.guessed`), when the prospect's role went to more than one person by the
rule for someone who took the prospect's place (the module docstring). New-user trial 45: a speaker view whose stage
cut between the prospect and their colleague gave both the role, unnoted and unflagged, and 24 s of the colleague's
face were read as the prospect's."""

SIDE_MARGIN = 0.4
"""A face whose centre is within this fraction of the frame from an edge is "on the left" (right, top, bottom): how the
page, the CLI and the roles note name where someone was (`place`)."""
CORNER_MARGIN = 0.3
"""A face whose centre is within this fraction of the frame from two edges is in a corner ("at the bottom right";
a thumbnail beside a big tile: "in the self-view corner, bottom right")."""

_SECOND_AXIS = {"left": "top", "right": "bottom", "top": "left", "bottom": "right"}
"""Where `_toward` looks next when the faces never part on the rep position's own axis."""
_ACROSS_WORDS = {"left": "top-left", "right": "bottom-right", "top": "top-left", "bottom": "bottom-right"}
"""`_toward`'s direction in words."""
_NUMBER_WORDS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine"}


@dataclass(frozen=True)
class TrackSummary:
    track_id: int
    first_t: float
    last_t: float
    n_frames: int
    n_detections: int
    mean_box: np.ndarray  # xyxy as fractions of the frame (0..1)
    face_size: float | None = None
    """Mean face height as a fraction of the frame's shorter side; None: the box's height fraction (a landscape frame)."""

    @property
    def area(self) -> float:
        return float((self.mean_box[2] - self.mean_box[0]) * (self.mean_box[3] - self.mean_box[1]))

    @property
    def center(self) -> np.ndarray:
        return np.array([(self.mean_box[0] + self.mean_box[2]) / 2, (self.mean_box[1] + self.mean_box[3]) / 2])


@dataclass
class Seat:
    tracks: list[TrackSummary]

    @property
    def frames(self) -> int:
        return sum(t.n_frames for t in self.tracks)

    @property
    def box(self) -> np.ndarray:
        weights = np.array([t.n_frames for t in self.tracks], np.float64)
        return np.average(np.stack([t.mean_box for t in self.tracks]), axis=0, weights=weights)

    @property
    def area(self) -> float:
        b = self.box
        return float((b[2] - b[0]) * (b[3] - b[1]))

    def overlaps_in_time(self, track: TrackSummary) -> bool:
        return any(t.first_t < track.last_t and track.first_t < t.last_t for t in self.tracks)


def is_participant(track: TrackSummary, min_detections: int = MIN_DETECTIONS) -> bool:
    size = track.face_size if track.face_size is not None else track.mean_box[3] - track.mean_box[1]
    return track.n_detections >= min_detections and size >= MIN_FACE_HEIGHT


def group_seats(tracks: list[TrackSummary]) -> list[Seat]:
    seats: list[Seat] = []
    for track in sorted(tracks, key=lambda t: -t.n_frames):
        for seat in seats:
            same_place = iou_matrix(seat.box[None], track.mean_box[None])[0, 0] >= SEAT_IOU
            if same_place and not seat.overlaps_in_time(track):
                seat.tracks.append(track)
                break
        else:
            seats.append(Seat([track]))
    return seats


def _along(box: np.ndarray, rep_position: str) -> float:
    """How far a box's centre sits toward `rep_position` from the frame's centre on the hint's own axis only
    (fraction of the frame)."""
    dx, dy = (box[0] + box[2]) / 2 - 0.5, (box[1] + box[3]) / 2 - 0.5
    return {"left": -dx, "right": dx, "top": -dy, "bottom": dy}[rep_position]


def _toward(box: np.ndarray, rep_position: str) -> float:
    """`_along`, plus half of it on the other axis (`_SECOND_AXIS`: left reads as top, right as bottom): for calls
    whose faces never separate on the hint's own axis."""
    return _along(box, rep_position) + _along(box, _SECOND_AXIS[rep_position]) / 2


def _tiles_apart(a: np.ndarray, b: np.ndarray) -> bool:
    """Two face boxes level on one axis (`GALLERY_LEVEL`) and mirrored about the centre on the other (`GALLERY_MIRROR`),
    each at least `CENTRED` from it."""
    (ax, ay), (bx, by) = ((box[:2] + box[2:]) / 2 - 0.5 for box in (a, b))
    side_by_side = abs(ay - by) < GALLERY_LEVEL and abs(ax + bx) < GALLERY_MIRROR and min(abs(ax), abs(bx)) >= CENTRED
    stacked = abs(ax - bx) < GALLERY_LEVEL and abs(ay + by) < GALLERY_MIRROR and min(abs(ay), abs(by)) >= CENTRED
    return bool(side_by_side or stacked)


def _a_gallery(boxes: list[np.ndarray]) -> bool:
    """Two faces in equal gallery tiles (`_tiles_apart`), or three or more whose sizes differ less than
    `SPEAKER_VIEW_AREA_RATIO` times (a grid)."""
    if len(boxes) == 2:
        return _tiles_apart(*boxes)
    areas = [box_area(box) for box in boxes]
    return len(boxes) > 2 and max(areas) < SPEAKER_VIEW_AREA_RATIO * min(areas)


def _room_beside(large: np.ndarray, others: list[np.ndarray]) -> bool:
    """A person's tile beside a tile of several smaller faces (a meeting room), not a speaker view: the large face
    sits at least `CENTRED` off the frame's centre and every other face is level with it (`GALLERY_LEVEL`) on
    the centre's other side, each face wholly on its own side of the frame's middle (two tiles of a gallery split the
    frame there, and no face crosses into the other's tile). A speaker view centres the large face, with its filmstrip
    above, below or in a column beside it. Found by a new-user trial: a meeting room of three 88-px faces beside the
    rep's 190-px face was read as a speaker view, so no second voted, the rep became the prospect and the note said
    the video showed no gallery. And the other way round (trial 38): a Teams speaker's face high on its stage (centre
    0.12 above the middle, its chin below it) over a row of two thumbnails was read as a room below a person's tile,
    and the speaker was taken for the rep."""
    lx, ly = (large[:2] + large[2:]) / 2 - 0.5
    centres = [(box[:2] + box[2:]) / 2 - 0.5 for box in others]

    def apart(axis: int) -> bool:  # every face wholly on its own side of the middle along `axis` (0: x, 1: y)
        return all(box[axis] >= 0.5 or box[axis + 2] <= 0.5 for box in (large, *others))

    row = abs(lx) >= CENTRED and apart(0) and all(abs(y - ly) < GALLERY_LEVEL and x * lx < 0 for x, y in centres)
    column = abs(ly) >= CENTRED and apart(1) and all(abs(x - lx) < GALLERY_LEVEL and y * ly < 0 for x, y in centres)
    return bool(row or column)


def _strip_beside(large: np.ndarray, others: list[np.ndarray], anywhere: bool = False) -> bool:
    """Two or more faces in a column near a side of the frame (centres within `GALLERY_LEVEL` of each other across,
    within `SELF_VIEW_EDGE` of the edge) beside a larger face centred in the rest of the frame rather than in the frame:
    the camera strip of a screen share or of a sidebar view, which moved the main picture aside. A speaker view's
    filmstrip column beside a speaker centred in the frame is not one (it lies over the speaker's picture). One
    person's two pictures (a speaker and their own thumbnail) are one face here, so a 2-person speaker view never shows
    such a strip. With `anywhere` (the large face is under `SPEAKER_VIEW_AREA_RATIO` times larger, so no speaker view),
    the large face may sit anywhere out of a column that hugs a side, or a row that hugs the top or bottom
    (`STRIP_EDGE`; Zoom's screen share puts its thumbnails in a row at the top): a video played on the shared slide."""
    if len(others) < 2 or not all(_near_edge(box) for box in others):
        return False
    for axis in (0, 1) if anywhere else ():  # a column hugging a side, or a row hugging the top or bottom
        line = [_centre(box)[axis] for box in others]
        if (max(line) - min(line) < GALLERY_LEVEL and min(np.mean(line), 1 - np.mean(line)) <= STRIP_EDGE
                and abs(_centre(large)[axis] - np.mean(line)) >= GALLERY_LEVEL):
            return True
    xs = [_centre(box)[0] for box in others]
    if max(xs) - min(xs) >= GALLERY_LEVEL:
        return False
    on_right = np.mean(xs) > 0.5  # (then the large face, nearer the rest's centre than the frame's, is left of 0.5)
    x = _centre(large)[0]
    rest_centre = (min(box[0] for box in others) / 2 if on_right else (max(box[2] for box in others) + 1) / 2)
    return bool(abs(x - rest_centre) < abs(x - 0.5))


STRIP_EDGE = 0.15
"""A column of camera thumbnails hugging a side of the frame (a row hugging the top or bottom) has its centres within
this fraction of the frame from that side (new-user trial 46's screen share: 0.08; trial 47's Zoom-style row along the
top: 0.09); a gallery's outer column of two or three sits 0.17-0.25 from it. Trial 47's row made the video's face a
"nearly as long" rival of the prospect, and the call a "check roles" guess."""
STRIP_LARGER = 1.5
"""Beside such a column, a face this many times a thumbnail's area (each one's), out of the column, is the shared
screen's or a sidebar speaker's, though under `SPEAKER_VIEW_AREA_RATIO` times larger (`_strip_beside` with
`anywhere`). Found by new-user trial 46: a testimonial video played on a shared slide, its face 2.6-3.0 times a
thumbnail's and off-centre in the slide, was the furthest left of three faces of "similar size" for 24 s, so the rep
position voted it the rep: the real rep became a guest (and, with the video silent, every role was wrong)."""


def speaker_thumbnails(on_screen: dict[int, dict[int, np.ndarray]],
                        distinct: set[tuple[int, int]] | frozenset[tuple[int, int]]) -> dict[int, int]:
    """Second -> the person then shown in an active speaker's thumbnail: a thumbnail in a corner (`_in_a_corner`),
    alone or beside one face `STRIP_LARGER` times its area, at one place (`SEAT_IOU`) where two or more people surely
    different by face (`distinct`: pairs a < b) were each shown `NOTE_MIN_S` seconds or more over the call. `on_screen`
    is second -> person -> box (fractions of the frame).

    A self-view shows one person all call, so a corner thumbnail that shows one person, then another, then the first
    again is the call app's active speaker: Zoom's recording of a screen share puts it over the top-right corner of the
    slide. Its place says nothing of who is the rep, and a face beside it is the shared screen's (`beside_speaker`).
    Found by new-user trial 47: a testimonial video played on the slide (a 200-px face beside the 110-px thumbnail)
    sat left of it, so the rep position voted the video the rep for 38 s, the real rep (in the thumbnail while they
    talked) was taken for the prospect, and the prospect for a guest."""
    seats: list[tuple[np.ndarray, dict[int, list[int]]]] = []  # (the first box seen there, person -> seconds)
    for second, faces in sorted(on_screen.items()):
        if len(faces) > 2:
            continue
        small, large = min(faces, key=lambda p: box_area(faces[p])), max(faces, key=lambda p: box_area(faces[p]))
        if not _in_a_corner(faces[small]) or (large != small and
                                              box_area(faces[large]) < STRIP_LARGER * box_area(faces[small])):
            continue
        for box, shown in seats:
            if iou_matrix(box[None], faces[small][None])[0, 0] >= SEAT_IOU:
                shown[small].append(second)
                break
        else:
            seats.append((faces[small], defaultdict(list, {small: [second]})))
    relay: dict[int, int] = {}
    for _, shown in seats:
        long = [p for p, seconds in shown.items() if len(seconds) >= NOTE_MIN_S]
        if any((a, b) in distinct for a in long for b in long):
            relay |= {second: p for p, seconds in shown.items() for second in seconds}
    return relay


STRIP_SPACING = 3.0
"""Two thumbnails are neighbours in one strip (`_in_a_row`) when level with each other (centres within half a box on
one axis) and at most this many box widths (heights, for a column) apart on the other: a floating self-view and a copy
of the speaker in another corner are not (tools.synthetic's "strip": 6-9 widths apart)."""


def _in_a_row(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether thumbnails `a` and `b` (xyxy frame fractions) sit side by side in a row or one above the other in a
    column of thumbnails (`STRIP_SPACING`)."""
    (ax, ay), (bx, by) = _centre(a), _centre(b)
    w, h = max(a[2] - a[0], b[2] - b[0]), max(a[3] - a[1], b[3] - b[1])
    return bool((abs(ay - by) < h / 2 and abs(ax - bx) <= STRIP_SPACING * w)
                or (abs(ax - bx) < w / 2 and abs(ay - by) <= STRIP_SPACING * h))


def seat_frames(boxes: np.ndarray, n_frames: np.ndarray) -> np.ndarray:
    """(k,) frames one person spent at each of their tracks' seats: the frames of all their tracks whose mean boxes
    (k, 4, xyxy frame fractions) overlap it by `SEAT_IOU`. The largest is where they sat longest, what the review page
    and the roles note name them by (a trial's rep sat left for 50 s in two tracks around a 40-s screen share, whose
    strip track was their longest: the card said "on the right", under a 30-px face)."""
    return (iou_matrix(boxes, boxes) >= SEAT_IOU) @ np.asarray(n_frames, np.float64)


def naming_seat_frames(boxes: np.ndarray, n_frames: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(k,) `seat_frames` of one person's tracks, for picking the seat that names them: -1 for a seat someone else held
    too (one of `others`, (m, 4) the other people's tracks' mean boxes, overlaps it by `SEAT_IOU`) unless every seat of
    theirs was shared. A corner thumbnail that showed two people in turns (a screen share's active speaker) names
    neither: new-user trial 48 read "at the top right" for both a rep and a prospect who sat left and right in the
    gallery before and after the share, where each spent less time than in the thumbnail."""
    frames = seat_frames(boxes, n_frames)
    if not len(others):
        return frames
    shared = (iou_matrix(boxes, np.asarray(others, np.float64)) >= SEAT_IOU).any(axis=1)
    return frames if shared.all() else np.where(shared, -1.0, frames)


def place(box: np.ndarray, others: list[np.ndarray]) -> str:
    """Where a face was on screen, in words: "on the left", "in the big tile", "at the bottom right", "in the self-view
    corner, bottom right" (a thumbnail in a corner beside someone's big tile: speaker view; "in the corner thumbnail,
    top right" when another face held that very seat in turns: a screen share's active speaker), "in the strip of
    thumbnails at the bottom, 1st of 2 from the left" (one of several thumbnails in a row or a column beside a big
    tile: a filmstrip, a screen share's or a sidebar's camera strip; new-user trial 5 called a rep at the top of a
    strip of two "in the self-view corner", trial 38 two thumbnails of one row "on the left" and "at the bottom"), ...
    `box` is its mean xyxy box and `others` the other faces' mean boxes, all as fractions of the frame. A face much
    larger than the others but on one side is "on the left" (a new-user trial: a rep in a gallery tile beside a
    prospect sitting back was "in the big tile")."""
    same_seat = [bool(iou_matrix(box[None], other[None])[0, 0] >= SEAT_IOU) for other in others]  # held in turns
    in_turns, others = any(same_seat), [other for other, same in zip(others, same_seat) if not same]  # neighbours
    area = box_area(box)
    other_areas = [box_area(other) for other in others]
    centre = _centre(box)
    cx, cy = centre
    # much the largest face, across the middle: a speaker view's tile (a gallery's larger face sits on its side)
    if other_areas and area >= SPEAKER_VIEW_AREA_RATIO * max(other_areas) and SIDE_MARGIN <= cx <= 1 - SIDE_MARGIN:
        return "in the big tile"
    beside_big_tile = bool(other_areas) and max(other_areas) >= SPEAKER_VIEW_AREA_RATIO * area
    fellows = [_centre(o) for o, a in zip(others, other_areas) if a < SPEAKER_VIEW_AREA_RATIO * area]  # thumbnails too
    if beside_big_tile and fellows:
        for axis, along, side in ((1, 0, ("at the top", "at the bottom", "from the left")),
                                  (0, 1, ("on the left", "on the right", "from the top"))):
            if all(abs(f[axis] - centre[axis]) < GALLERY_LEVEL for f in fellows):  # one row (one column)
                rank = 1 + sum(f[along] < centre[along] for f in fellows)
                where = side[0] if centre[axis] < 0.5 else side[1]
                return f"in the strip of thumbnails {where}, {ordinal(rank)} of {len(fellows) + 1} {side[2]}"
    if min(cx, 1 - cx) < CORNER_MARGIN and min(cy, 1 - cy) < CORNER_MARGIN:
        corner = f"{'top' if cy < 0.5 else 'bottom'} {'left' if cx < 0.5 else 'right'}"
        if not beside_big_tile:
            return f"at the {corner}"
        if fellows:
            return f"among the thumbnails, {corner}"
        return f"in the corner thumbnail, {corner}" if in_turns else f"in the self-view corner, {corner}"
    for centre, low, high in ((cx, "on the left", "on the right"), (cy, "at the top", "at the bottom")):
        if centre < SIDE_MARGIN:
            return low
        if centre > 1 - SIDE_MARGIN:
            return high
    return "in the middle"


def ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _centred(box: np.ndarray) -> bool:
    """Whether a box's centre is within `CENTRED` of the frame's centre on both axes (fractions of the frame)."""
    return bool(np.all(np.abs(_centre(box) - 0.5) < CENTRED))


def _near_edge(box: np.ndarray) -> bool:
    """Whether a box's centre is within `SELF_VIEW_EDGE` of an edge of the frame (box in fractions of the frame)."""
    cx, cy = _centre(box)
    return min(cx, cy, 1 - cx, 1 - cy) <= SELF_VIEW_EDGE


def _in_a_corner(box: np.ndarray) -> bool:
    """Whether a box's centre is within `SELF_VIEW_CORNER` of a side and of the top or bottom of the frame."""
    cx, cy = _centre(box)
    return min(cx, 1 - cx) <= SELF_VIEW_CORNER and min(cy, 1 - cy) <= SELF_VIEW_CORNER


def _centre(box: np.ndarray) -> np.ndarray:
    """(x, y) of an xyxy box's centre."""
    return (np.asarray(box[:2]) + np.asarray(box[2:])) / 2


def box_area(box: np.ndarray) -> float:
    """The area of an xyxy box, in the square of its units (fractions of the frame: a fraction of its area)."""
    return float((box[2] - box[0]) * (box[3] - box[1]))


@dataclass(frozen=True)
class RoleDecision:
    """Roles per track (every track of a person has its person's role) and what the review page should say."""

    roles: dict[int, str]
    note: str | None = None
    frozen: frozenset[int] = frozenset()
    """Tracks of set-aside still faces given the prospect's role as the speaker beside the rep's self-view: the
    prospect's video showed a still picture (frozen, or someone held very still), so their every second is frozen
    video (`pipeline.timeline.TrackSeconds.freeze_whole`), there but not read, rather than "not seen"."""
    guessed: bool = False
    """Who the prospect is rests on a guess (`prospect_guessed`), so every prospect figure may describe someone else:
    the Calls list and the Reps page hold the call's figures back until a manager confirms or fixes the roles."""
    rep_guessed: bool = False
    """The rep is a guess too (`guessed` is then set): two people took turns in one tile at one size (an active-speaker
    recording) and nothing told them apart, so the one on screen longer was taken for the rep and the other for the
    prospect; or the rep position picked among the thumbnails of a column by a side of the frame (read across,
    `_Votes.aside_for`) or of a speaker view's filmstrip (`FILMSTRIP_GUESS`), whose order is the call app's. With rep
    analysis off no face is read until a manager confirms or fixes the roles (`never_classified`)."""


@dataclass
class _Votes:
    hint_for: float = 0.0
    hint_against: float = 0.0
    self_view_for: float = 0.0
    self_view_against: float = 0.0
    room_for: float = 0.0
    """Of `hint_for`, the seconds the hint picked one of a meeting room's faces (`_room_beside`) over a lone one."""
    alone_for: float = 0.0
    """Of `hint_for`, the seconds this face was alone on screen (off-centre): a gallery whose other tile is empty, or
    an active-speaker view of someone sitting off-centre in their own camera. Only a second face beside it tells the two
    apart (a new-user trial: an active-speaker recording gave the rep to whoever sat left of their camera, unnoted); once it
    was seen beside one for `NOTE_MIN_S`, the layout is a gallery however long the other tile is empty after (trial 35:
    the prospect left after 10 s of 24, and the note said the rep never had a second face beside them)."""

    beside_strip: float = 0.0
    """Seconds this face was the large one beside a camera strip (`_strip_beside`): the cameras of a screen share (or
    a sidebar view) sit in the strip, so this face is most likely the shared screen's (a video, a slide) or a third
    person's. Found by a new-user trial (33): a testimonial video shared beside the two cameras' thumbnails took the
    prospect's role, the real prospect became a participant and no rep was found."""
    beside_speaker: float = 0.0
    """Seconds this face was beside an active speaker's thumbnail (`speaker_thumbnails`): the call's camera sits in
    that thumbnail, so this face, like `beside_strip`'s, is most likely the shared screen's (new-user trial 47)."""
    stage_s: float = 0.0
    """Seconds this face was the speaker of a speaker view with a filmstrip (a centred face much larger than two or
    more others): the call app puts whoever talks there, so in a call that is mostly such a view (`STAGE_SHARE`) the
    person there longest of those who are not the rep talked most and is taken for the prospect before the more
    present (in trial 36's Teams view every thumbnail was on screen all call, and the prospect's pick fell to a silent
    guest)."""
    aside_for: float = 0.0
    """Of `hint_for` in the across ballot (`_toward`), the seconds this face sat off-centre on the hint's own axis (a
    column of camera thumbnails by a side of the frame for "left"), not in a stacked gallery's middle: such an order is
    the call app's, so a rep picked this way is a guess (`RoleDecision.rep_guessed`; trial 36's screen-share strip with
    the prospect on top swapped the roles silently)."""
    hint_unheeded: float = 0.0
    """Seconds this face, the big one of a speaker view beside a self-view, sat at least `CENTRED` off the centre toward
    `rep_position` and `MIN_SEPARATION` ahead of the thumbnail: it may be a gallery whose faces sit at different heights
    (one person close to their camera, the other sitting back and high in their tile), which the self-view rule cannot
    tell from a speaker sitting off-centre. Found by a new-user trial (33): with the rep position on the right, the
    big face on the right lost the rep's role to the small face on the left, and the note spoke only of a self-view."""

    @property
    def score(self) -> float:
        return self.hint_for - self.hint_against + self.self_view_for - self.self_view_against

    def add_hints(self, other: _Votes) -> None:
        """Count `other`'s hint votes (not its self-view ones) as this one's."""
        self.hint_for += other.hint_for
        self.hint_against += other.hint_against
        self.room_for += other.room_for
        self.alone_for += other.alone_for


def _vote(faces: dict[int, np.ndarray], votes: dict[int, _Votes], across: dict[int, _Votes],
          filmstrip: dict[int, _Votes], rep_position: str, stills: dict[int, np.ndarray] | None = None,
          smallest: dict[int, np.ndarray] | None = None) -> int | None:
    """One second's votes (the decision table above); `faces` is person -> box (fractions of the frame; their largest
    when they show twice), `smallest` person -> their smallest box (the speaker's own filmstrip thumbnail, or the
    self-view of a rep on stage), `stills` track id -> box of the set-aside still faces on screen then (no one: they
    only shape the layout). The hint's votes go to `votes` when the faces separate on its own axis (`_along`), else to
    `across` (`_toward`); a filmstrip's to `filmstrip` (`FILMSTRIP_GUESS`). Returns the still face this second showed
    as the speaker beside a self-view, if any."""
    ballots = ((votes, _along), (across, _toward))
    if len(faces) == 1:
        (person, box), = faces.items()
        for track_id, still in (stills or {}).items() if _near_edge(box) else ():
            if box_area(still) >= SPEAKER_VIEW_AREA_RATIO * box_area(box) and _centred(still):
                votes[person].self_view_for += SELF_VIEW_VOTE  # trial 32: read as the prospect, rep analysis off too
                return track_id
        for ballot, toward in ballots:
            distance = toward(box, rep_position)
            if distance >= CENTRED:
                ballot[person].hint_for += HINT_VOTE
                ballot[person].alone_for += HINT_VOTE
                return
            if distance <= -CENTRED:
                ballot[person].hint_against += HINT_VOTE
                return
        return
    largest = max(faces, key=lambda p: box_area(faces[p]))
    others = [p for p in faces if p != largest]
    small = [p for p in others if box_area(faces[largest]) >= SPEAKER_VIEW_AREA_RATIO * box_area(faces[p])]
    tiles = [p for p in faces if p not in small]
    if len(small) == 1 and _in_a_corner(faces[small[0]]) and _a_gallery([faces[p] for p in tiles]):
        # a gallery with the recorder's own picture floating at its edge (Meet, Teams): the self-view (new-user trial
        # 43: Meet's two remote tiles and the rep's self-view; the rep position named the right-hand tile's colleague as
        # the rep, no note said, and the talk ratio read "rep 18%", truth 42%)
        votes[small[0]].self_view_for += SELF_VIEW_VOTE
        for p in tiles:
            votes[p].self_view_against += SELF_VIEW_VOTE
        return
    gallery = (_tiles_apart(faces[largest], faces[others[0]]) if len(others) == 1
               else _room_beside(faces[largest], [faces[p] for p in others]))
    strip = False
    own = (smallest or {}).get(largest)  # the speaker's own thumbnail in a strip, if it shows
    own_thumb = own is not None and box_area(faces[largest]) >= SPEAKER_VIEW_AREA_RATIO * box_area(own)
    own_in_strip = own_thumb and len(others) == 1 and _in_a_row(own, faces[others[0]])
    if not gallery and all(box_area(faces[largest]) >= SPEAKER_VIEW_AREA_RATIO * box_area(faces[p]) for p in others):
        # one thumbnail beside the speaker is a self-view; beside the speaker's own thumbnail it is a strip's (new-user
        # trial 42: the colleague's thumbnail, beside the prospect's while the prospect spoke, was taken for the self-view)
        if len(others) == 1 and not own_in_strip and _near_edge(faces[others[0]]):
            votes[others[0]].self_view_for += SELF_VIEW_VOTE
            votes[largest].self_view_against += SELF_VIEW_VOTE
            ahead = _along(faces[largest], rep_position)
            if ahead >= CENTRED and ahead - _along(faces[others[0]], rep_position) >= MIN_SEPARATION:
                votes[largest].hint_unheeded += 1
        strip = _strip_beside(faces[largest], [faces[p] for p in others])
        if not strip:
            if (len(others) > 1 or own_in_strip) and abs(_centre(faces[largest])[0] - 0.5) < CENTRED:  # a filmstrip
                # (`FILMSTRIP_GUESS`)
                votes[largest].stage_s += 1
                thumbs = {p: faces[p] for p in others}
                if own_thumb:
                    thumbs[largest] = own
                ranked = sorted(thumbs, key=lambda p: -_along(thumbs[p], rep_position))
                if _along(thumbs[ranked[0]], rep_position) - _along(thumbs[ranked[1]], rep_position) >= MIN_SEPARATION:
                    filmstrip[ranked[0]].hint_for += HINT_VOTE
                    for p in ranked[1:]:
                        filmstrip[p].hint_against += HINT_VOTE
            return
        votes[largest].beside_strip += 1
    elif not gallery and all(box_area(faces[largest]) >= STRIP_LARGER * box_area(faces[p]) for p in others):
        strip = _strip_beside(faces[largest], [faces[p] for p in others], anywhere=True)
        if strip:
            votes[largest].beside_strip += 1
    principal = (others if strip else
                 [p for p in faces
                  if gallery or box_area(faces[p]) * SPEAKER_VIEW_AREA_RATIO >= box_area(faces[largest])])
    for ballot, toward in ballots:
        ranked = sorted(principal, key=lambda p: -toward(faces[p], rep_position))
        if toward(faces[ranked[0]], rep_position) - toward(faces[ranked[1]], rep_position) >= MIN_SEPARATION:
            ballot[ranked[0]].hint_for += HINT_VOTE
            if ballot is across and abs(_along(faces[ranked[0]], rep_position)) >= CENTRED:
                ballot[ranked[0]].aside_for += HINT_VOTE
            if len(others) > 1 and gallery and ranked[0] != largest:
                ballot[ranked[0]].room_for += HINT_VOTE
            for p in ranked[1:]:
                ballot[p].hint_against += HINT_VOTE
            return


def faces_by_second(presence: dict[int, tuple[np.ndarray, np.ndarray]], people: dict[int, int], track_ids: list[int],
                    largest: bool = True) -> dict[int, dict[int, np.ndarray]]:
    """second -> person -> their largest (`largest`) or smallest face box that second, as fractions of the frame, from
    `presence` (track id -> ((k,) seconds, (k, 4) mean boxes)) of `track_ids`, people by `people` (track id -> person)."""
    by_second: dict[int, dict[int, np.ndarray]] = defaultdict(dict)
    sign = 1 if largest else -1
    for track_id in track_ids:
        seconds, boxes = presence.get(track_id, (np.zeros(0, np.int64), np.zeros((0, 4))))
        for second, box in zip(np.asarray(seconds).tolist(), boxes):
            known = by_second[second].get(people[track_id])
            if known is None or sign * box_area(box) > sign * box_area(known):
                by_second[second][people[track_id]] = np.asarray(box, np.float64)
    return by_second


def decide_roles(tracks: list[TrackSummary], rep_position: str = "left", min_detections: int = MIN_DETECTIONS,
                 people: dict[int, int] | None = None,
                 presence: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
                 content: frozenset[int] | set[int] = frozenset(),
                 together_s: dict[tuple[int, int], float] | None = None,
                 recognised_rep: int | None = None, min_person_s: float = MIN_PERSON_S,
                 talked_s: dict[int, int] | None = None, distinct: set[tuple[int, int]] = frozenset(),
                 name_tags: NameTags = NameTags()) -> RoleDecision:
    """Roles for every track of a real participant (the module docstring's table).

    `people` maps track id -> person number (default: one person per seat); `presence` maps track id ->
    ((k,) seconds, (k, 4) mean boxes as fractions of the frame) for the seconds it was seen (default: its
    mean box from its first to its last second); `content` are track ids of shared content (no role; their `presence`, where given, shapes the layout: a still speaker beside a self-view);
    `together_s[(a, b)]` (track ids, a < b) is how long two tracks were on screen on the same frames (default:
    the seconds both were seen in).
    `recognised_rep` is the person recognised from enrolment (`pipeline.enrolment.recognised_person`), if any.
    `min_detections` is lowered only for clips so short the detector ran fewer times than `MIN_DETECTIONS`, and
    `min_person_s` (`MIN_PERSON_S`) to 0 for clips shorter than twice it.
    `talked_s` maps person -> seconds they talked (`pipeline.speech.talk_by_person`; None: not known): the prospect's
    tie-break (`TALK_TIE_BREAK`). `distinct` holds pairs of people (a < b) surely different by face
    (`pipeline.people.distinct_people`): never one prospect as someone who took the other's place.
    `name_tags`: the people whose name tags read the rep's and the prospect's names (`pipeline.name_tags`): the rep
    unless one was recognised from enrolment, the prospect before anyone else.
    """
    if rep_position not in REP_POSITIONS:
        raise ValueError(f"rep position must be one of {', '.join(REP_POSITIONS)}, not {rep_position!r}")
    participants = [t for t in tracks if is_participant(t, min_detections) and t.track_id not in content]
    if not participants:
        return RoleDecision({})
    if people is None:
        people = {t.track_id: n for n, seat in enumerate(group_seats(participants), start=1) for t in seat.tracks}
    spans: dict[int, float] = defaultdict(float)
    for t in participants:
        spans[people[t.track_id]] += t.last_t - t.first_t
    participants = [t for t in participants if spans[people[t.track_id]] >= min_person_s]
    if not participants:
        return RoleDecision({})
    if presence is None:
        presence = {t.track_id: (np.arange(int(t.first_t), int(t.last_t) + 1),
                                 np.repeat(t.mean_box[None], int(t.last_t) - int(t.first_t) + 1, axis=0))
                    for t in participants}
    on_screen = faces_by_second(presence, people, [t.track_id for t in participants])
    smallest = faces_by_second(presence, people, [t.track_id for t in participants], largest=False)
    persons = sorted({people[t.track_id] for t in participants})
    frames = {p: sum(t.n_frames for t in participants if people[t.track_id] == p) for p in persons}
    votes = {p: _Votes() for p in persons}
    across = {p: _Votes() for p in persons}
    filmstrip = {p: _Votes() for p in persons}
    together: dict[tuple[int, int], float] = defaultdict(float)  # people
    stills_on_screen: dict[int, dict[int, np.ndarray]] = defaultdict(dict)  # second -> still track -> its box
    for track_id in content:
        for second, box in zip(*(np.asarray(a) for a in presence.get(track_id, ((), ())))):
            stills_on_screen[int(second)][track_id] = np.asarray(box, np.float64)
    still_speakers: set[int] = set()  # set-aside still faces a self-view sat beside, as a speaker view's speaker
    relay = speaker_thumbnails(on_screen, distinct)
    ahead: dict[tuple[int, int], int] = defaultdict(int)  # (p, q): seconds the hint picked p with q on screen too
    first_ahead: dict[int, int] = {}  # person -> the first such second
    for second, faces in on_screen.items():
        before = {p: votes[p].hint_for for p in faces}
        if second in relay:  # an active speaker's thumbnail: no vote, and any face beside it is the shared screen's
            for p in faces.keys() - {relay[second]}:
                votes[p].beside_speaker += 1
        else:
            speaker = _vote(faces, votes, across, filmstrip, rep_position, stills_on_screen.get(second),
                            smallest[second])
            if speaker is not None:
                still_speakers.add(speaker)
        picked = [p for p in faces if votes[p].hint_for > before[p]] if len(faces) > 1 else []
        for p in picked:
            first_ahead[p] = min(second, first_ahead.get(p, second))
            for q in faces.keys() - {p}:
                ahead[p, q] += 1
        if together_s is None:
            for a in faces:
                for b in faces:
                    if a < b:
                        together[a, b] += 1
    for (a, b), seconds in (together_s or {}).items():
        if a in people and b in people and people[a] != people[b]:
            together[min(people[a], people[b]), max(people[a], people[b])] += seconds

    read_across = sum(v.hint_for for v in votes.values()) < NOTE_MIN_S  # faces never apart on the hint's own axis
    if read_across:
        for p in persons:
            votes[p].add_hints(across[p])
    by_filmstrip = (sum(v.hint_for + v.self_view_for for v in votes.values()) < NOTE_MIN_S
                    and sum(v.hint_for for v in filmstrip.values()) >= FILMSTRIP_GUESS)  # nothing else told the rep
    if by_filmstrip:
        for p in persons:
            votes[p].add_hints(filmstrip[p])

    def with_(a: int, b: int) -> float:
        return together[min(a, b), max(a, b)]

    tag_rep = name_tags.rep.person if name_tags.rep and name_tags.rep.person in persons else None
    told_rep = recognised_rep if recognised_rep in persons else tag_rep  # by face, else by name: not the layout's
    tag_prospect = name_tags.prospect.person if (name_tags.prospect and name_tags.prospect.person in persons
                                                 and name_tags.prospect.person != told_rep) else None
    candidates = [p for p in persons if p != tag_prospect]  # a tag naming the prospect rules them out as the rep
    best = max(candidates, key=lambda p: (votes[p].score, frames[p])) if candidates else None
    rep = best if best is not None and votes[best].score > 0 else None
    # the hint picked two people, each while the other was on screen: the gallery's tiles changed places (`SWAP_NOTE`)
    swapped = sorted({p for (p, q), n in ahead.items() if n >= NOTE_MIN_S and ahead.get((q, p), 0) >= NOTE_MIN_S
                      and tag_prospect not in (p, q)}, key=lambda p: first_ahead[p])
    if swapped and told_rep is None and (rep is None or rep in swapped):
        rep = swapped[0]  # there first
    if told_rep is not None:
        rep = told_rep
    area = {p: max(t.area for t in participants if people[t.track_id] == p) for p in persons}
    seen_s = {p: sum(p in faces for faces in on_screen.values()) for p in persons}
    presenters = {p for p in persons  # mostly beside a camera strip or an active speaker's thumbnail
                  if 2 * (votes[p].beside_strip + votes[p].beside_speaker) > seen_s[p]}
    on_stage = sum(v.stage_s for v in votes.values()) >= STAGE_SHARE * sum(len(f) > 1 for f in on_screen.values())
    others = sorted((p for p in persons if p != rep), key=lambda p: (
        p != tag_prospect, p in presenters, -votes[p].stage_s if on_stage else 0, -frames[p], -area[p]))
    seat_box = {p: max((t for t in participants if people[t.track_id] == p), key=lambda t: t.n_frames).mean_box
                for p in persons}
    talk_pick = None
    if rep is not None and talked_s and tag_prospect is None:
        others, talk_pick = _by_talk(others, frames, area, with_, talked_s, seat_box)
    named: dict[int, str] = {}
    if rep is not None:
        named[rep] = REP
    for p in others:  # the most present first; then, the rep known, whoever took a prospect's place (never beside one,
        # nor the shared screen's: new-user trial 48's video on a slide, played while the share's thumbnail showed the
        # rep, was never on screen with the prospect, whose mean face, over three looks, was not surely another's)
        prospects = [q for q, role in named.items() if role == PROSPECT]
        if not prospects or (rep is not None and p not in presenters and all(
                with_(p, q) <= TOGETHER_MAX_S and (min(p, q), max(p, q)) not in distinct for q in prospects)):
            named[p] = PROSPECT
    rep_guessed = rep_beside_tag = False
    prospect = next((p for p in others if named.get(p) == PROSPECT), None)
    if rep is None and prospect is not None:  # an active-speaker recording: the one other person of the prospect's size
        rivals = [p for p in others if p != prospect and SPEAKER_VIEW_AREA_RATIO * area[p] > area[prospect]]
        if len(rivals) == 1 and prospect == tag_prospect:  # the other one of the two (in turns, or a gallery whose rep
            rep = rivals[0]  # position pointed at the prospect), the prospect named by their tag
            named[rep], rep_beside_tag = REP, True
        elif len(rivals) == 1 and with_(rivals[0], prospect) <= TOGETHER_MAX_S:
            # An active-speaker view shows whoever talks, so the one on screen longer talked more: most likely the rep.
            # Sales-call studies (Gong Labs) find the average rep talks well over half the time, and in new-user trials
            # 13 and 15 the rep was on screen longer (36 s against 35; 56% against 44%; trial 14: 34 against 35). Taking
            # the more present for the prospect, as before, got trials 13 and 15 wrong, and with rep analysis off a
            # manager who kept those roles had the rep's face read as the prospect's (trial 15). A guess either way:
            # the note says so, and the call's figures wait for a manager (`RoleDecision.guessed`).
            rep, prospect, rep_guessed = prospect, rivals[0], True
            named[rep], named[prospect] = REP, PROSPECT
    rest = [p for p in others if p not in named]
    named.update({p: f"participant-{i}" for i, p in enumerate(rest, start=1)})
    frozen = frozenset(still_speakers) if rep is not None and PROSPECT not in named.values() else frozenset()
    if rep is not None and rep == recognised_rep:
        rep_note = (f"Person {rep} was recognised from enrolment as the rep (their stored face signature); "
                    "the rep position and the self-view were not used.")
    elif rep is not None and rep == tag_rep:
        rep_note = (f"Person {rep}'s name tag read \u201c{name_tags.rep.text}\u201d, the rep's {name_tags.rep.what}, so they "
                    "are the rep; "
                    "the rep position and the self-view were not used.")
    elif rep_beside_tag:
        rep_note = (f"Person {prospect}'s name tag read \u201c{name_tags.prospect.text}\u201d, the prospect's "
                    f"{name_tags.prospect.what}, so "
                    f"person {rep}, the one other person on screen at their size, was taken as the rep.")
    elif rep_guessed:
        rep_note = (f"The video does not show which person is the rep: one face at a time, at one size (an active-speaker "
                    f"recording), with no gallery, self-view or enrolled face to tell by. Rapport guessed person {rep}, on "
                    f"screen longer (reps usually talk more), is the rep and person {prospect} the prospect; if it is the "
                    "other way round, swap them in Fix roles.")
    elif rep in swapped:
        rep_guessed = True
        rep_note = SWAP_NOTE.format(position=rep_position, rep=rep, rep_s=votes[rep].hint_for, other=swapped[1],
                                    other_s=votes[swapped[1]].hint_for)
    else:
        rep_note = _note(votes, persons, rep, rep_position)
    filmstrip_note = None
    if rep is not None and rep != told_rep and by_filmstrip:
        rep_guessed = True  # the strip's order is the call app's (`FILMSTRIP_GUESS`)
        filmstrip_note = (f"Person {rep}'s thumbnail sat furthest {rep_position} in the speaker view's strip of "
                          f"thumbnails for {filmstrip[rep].hint_for:.0f} s, so Rapport guessed they are the rep (the "
                          "call app orders the strip); if the rep is someone else, pick them in Fix roles, or enrol the "
                          "rep in Settings to have them recognised.")
    across_note = None
    if rep is not None and rep != told_rep and read_across and across[rep].hint_for >= NOTE_MIN_S:
        aside = 2 * across[rep].aside_for > across[rep].hint_for  # a column of thumbnails by a side: a guess
        rep_guessed = rep_guessed or aside
        order = "one above the other" if rep_position in ("left", "right") else "side by side"
        across_note = (f"No face sat clearly furthest {rep_position} of the others, so "
                       + (f"Rapport guessed person {rep}, furthest {_ACROSS_WORDS[rep_position]}, is the rep (the call "
                          f"app orders faces {order}, in a strip of thumbnails or a grid)" if aside else
                          f"person {rep}, furthest {_ACROSS_WORDS[rep_position]}, was taken as the rep")
                       + "; if the rep is someone else, pick them in Fix roles.")
    beside = [p for p in others if p in presenters and named[p] != PROSPECT and PROSPECT in named.values()]
    prospect_note = None
    if tag_prospect is not None and named.get(tag_prospect) == PROSPECT and not rep_beside_tag:
        prospect_note = (f"Person {tag_prospect}'s name tag read \u201c{name_tags.prospect.text}\u201d, the prospect's "
                         f"{name_tags.prospect.what}, so they are the prospect.")
    strip_note = None
    if beside:
        shown = votes[beside[0]]
        where = (f"a strip of camera thumbnails for {shown.beside_strip:.0f} s (a screen share, or a sidebar view)"
                 if shown.beside_strip >= shown.beside_speaker else
                 f"one camera thumbnail that showed {_persons(sorted(set(relay.values())))} in turns for "
                 f"{shown.beside_speaker:.0f} s (a screen share's active-speaker thumbnail)")
        strip_note = (f"Person {beside[0]}'s larger face sat beside {where}, so it was taken for shared content (a "
                      "video on a shared screen) or a third person, not the prospect; if it is the prospect, pick them "
                      "in Fix roles.")
    by_seat = _guests_by_seat(named, frames, seat_box, with_)
    prospects = [p for p in others if named[p] == PROSPECT]
    took_turns = None if len(prospects) < 2 else TOOK_TURNS_NOTE.format(
        people=_persons(prospects), others=_persons(prospects[1:]) + (" is" if len(prospects) == 2 else " are"))
    prospect_told = bool(beside) or prospect_note is not None
    notes = [rep_note, prospect_note, filmstrip_note, across_note, strip_note,
             _guess_note(named, by_seat, area, votes, None if rep == told_rep else rep, self_view_told=rep_note is not None,
                         prospect_told=prospect_told, talk_pick=talk_pick, talked_s=talked_s),
             took_turns, STILL_SPEAKER_NOTE if frozen else None]
    note = " ".join(n for n in notes if n) or None
    roles = {t.track_id: named[people[t.track_id]] for t in participants} | {track_id: PROSPECT for track_id in frozen}
    guessed = bool(took_turns) or rep_guessed or prospect_guessed(
        named, by_seat, area, votes, rep, prospect_told=prospect_told, rep_recognised=rep is not None and rep == told_rep)
    return RoleDecision(roles, note, frozen, guessed, rep_guessed)


def prospect_guessed(named: dict[int, str], frames: dict[int, int], area: dict[int, float], votes: dict[int, _Votes],
                     rep: int | None, prospect_told: bool = False, rep_recognised: bool = False) -> bool:
    """Whether the prospect's pick is a guess a manager must check before their figures are counted:

    | evidence | why the prospect may be someone else |
    |---|---|
    | no rep told, and another person's face not `SPEAKER_VIEW_AREA_RATIO` times smaller than the prospect's | an active-speaker view shows rep and prospect in turns, never together, at one size: which of them is which is a guess (new-user trial 13: the one taken for the prospect was the rep, and the Calls list showed the rep's smile as "Prospect likely positive 57%"); a far smaller face (a photo on the wall behind a lone prospect) is no rival |
    | another person on screen with the prospect seen nearly as long, their face not far smaller (`_prospect_close`) | three people in a gallery: the most present is a coin toss |
    | the rep position and the self-view named different reps for `NOTE_MIN_S` seconds each, the rep not recognised from enrolment nor named by their tag | whichever lost may be the rep, and the prospect then someone else |

    `prospect_told`: the camera-strip note, or their name tag, explained the prospect (a rule, not a guess);
    `rep_recognised`: the rep was recognised from enrolment or named by their tag."""
    prospect = next((p for p, role in named.items() if role == PROSPECT), None)
    if prospect is None or len(named) < 2:
        return False
    if rep is None:
        return any(SPEAKER_VIEW_AREA_RATIO * area[p] > area[prospect] for p in named if p != prospect)
    close = not prospect_told and _prospect_close(named, frames, area)
    return close or (not rep_recognised and _layouts_disagree(votes, list(named)) is not None)


def _guests_by_seat(named: dict[int, str], frames: dict[int, int], boxes: dict[int, np.ndarray],
                    together: Callable[[int, int], float]) -> dict[int, int]:
    """`frames` with each guest's counting those of every other guest at their seat (mean `boxes` overlapping by
    `SEAT_IOU`, never on screen together: `together(a, b)` seconds at most `TOGETHER_MAX_S`). One person the identity
    check split in two still weighs as one beside the prospect (`_prospect_close`): new-user trial 42's prospect, her
    picture changed at 0:30, was two guests of 30 s each at one tile, so a colleague on screen all 60 s was taken for the
    prospect as a clear pick, no guess said, and the talk ratio read "rep 74%" (truth 50%)."""
    guests = [p for p, role in named.items() if role.startswith("participant-")]
    return frames | {p: frames[p] + sum(frames[q] for q in guests
                                        if q != p and _took_turns_at_a_seat(p, q, boxes, together))
                     for p in guests}


def _took_turns_at_a_seat(p: int, q: int, boxes: dict[int, np.ndarray], together: Callable[[int, int], float]) -> bool:
    """Whether people `p` and `q` sat at one seat (mean `boxes` overlapping by `SEAT_IOU`) and were never on screen
    together (`together(p, q)` seconds at most `TOGETHER_MAX_S`): possibly one person the identity check split."""
    return together(p, q) <= TOGETHER_MAX_S and iou_matrix(boxes[p][None], boxes[q][None])[0, 0] >= SEAT_IOU


def _prospect_close(named: dict[int, str], frames: dict[int, int], area: dict[int, float]) -> bool:
    """A guest was on screen nearly as long as the prospect (under `PROSPECT_CLEAR` times fewer frames) and their face
    was not far smaller (under `SPEAKER_VIEW_AREA_RATIO` times): the prospect is only the more present of the two."""
    prospects = [p for p, role in named.items() if role == PROSPECT]
    participants = [p for p, role in named.items() if role.startswith("participant-")]
    return (bool(prospects) and bool(participants)
            and frames[prospects[0]] < PROSPECT_CLEAR * max(frames[p] for p in participants)
            and area[prospects[0]] < SPEAKER_VIEW_AREA_RATIO * max(area[p] for p in participants))


def _persons(persons: list[int]) -> str:
    """ "person 3", "persons 2 and 4", "persons 2, 4 and 5"."""
    numbers = [str(p) for p in persons]
    return f"person {numbers[0]}" if len(numbers) == 1 else f"persons {', '.join(numbers[:-1])} and {numbers[-1]}"


def _by_talk(others: list[int], frames: dict[int, int], area: dict[int, float], together: Callable[[int, int], float],
             talked_s: dict[int, int], seat_box: dict[int, np.ndarray]) -> tuple[list[int], tuple[int, int, int] | None]:
    """`others` (the prospect's candidates, the likeliest first) after the talk tie-break (`TALK_TIE_BREAK`), and what
    the note says of it: (the new prospect's seconds of talk, the person passed over, theirs); None where the pick stands.

    Candidates count with the people at their seat never on screen with them (one person the identity check split at a
    change of picture, as `_guests_by_seat`: new-user trial 42's prospect, two guests of 30 s each, lost the role to a
    colleague on screen all 60 s). Of those alike to the first (on screen with them, under `PROSPECT_CLEAR` times
    fewer frames, faces within `SPEAKER_VIEW_AREA_RATIO` of each other's size), the one who talked most."""
    groups: list[list[int]] = []
    for p in others:
        if not any(p in group for group in groups):
            groups.append([q for q in others if q == p or _took_turns_at_a_seat(p, q, seat_box, together)])
    if len(groups) < 2:
        return others, None
    def talk(group: list[int]) -> int:
        return sum(talked_s.get(p, 0) for p in group)

    a, first_frames, first_s = others[0], sum(frames[p] for p in groups[0]), talk(groups[0])
    alike = [group for group in groups[1:]
             if first_frames < PROSPECT_CLEAR * sum(frames[p] for p in group) and together(a, group[0]) > TOGETHER_MAX_S
             and max(area[a], area[group[0]]) < SPEAKER_VIEW_AREA_RATIO * min(area[a], area[group[0]])]
    best = max(alike, key=talk, default=None)
    if best is None or talk(best) < max(TALK_TIE_BREAK * first_s, first_s + NOTE_MIN_S):
        return others, None
    return [p for p in others if p in best] + [p for p in others if p not in best], (talk(best), a, first_s)


def _layouts_disagree(votes: dict[int, _Votes], persons: list[int]) -> tuple[int, int] | None:
    """(the person the rep position points to, the self-view's person) when each had `NOTE_MIN_S` seconds and they
    differ; else None."""
    by_hint = max(persons, key=lambda p: votes[p].hint_for)
    by_self_view = max(persons, key=lambda p: votes[p].self_view_for)
    if (votes[by_hint].hint_for >= NOTE_MIN_S and votes[by_self_view].self_view_for >= NOTE_MIN_S
            and by_hint != by_self_view):
        return by_hint, by_self_view
    return None


def never_classified(roles: dict[int, str], people: dict[int, int], rep_guessed: bool = False) -> set[int]:
    """With rep analysis off, the tracks whose faces must never be classified: the rep's; and, when no one was
    told to be the rep while more than one person was seen (or the rep is only a guess, `RoleDecision.rep_guessed`),
    everyone's, since any of them may be the rep (a new-user trial's screen share with one thumbnail had the rep's face
    read as the prospect's for 16 s). The manager's pick (or confirmation) of the rep then has the others' faces read
    (`pipeline.reread`)."""
    rep_tracks = {tid for tid, role in roles.items() if role == REP}
    if (rep_guessed or not rep_tracks) and len({people[tid] for tid in roles}) > 1:
        return set(roles)
    return rep_tracks


def _note(votes: dict[int, _Votes], persons: list[int], rep: int | None, rep_position: str) -> str | None:
    """What the review page should say when the video and the rep position disagree, or tell no rep."""
    disagree = _layouts_disagree(votes, persons)
    if disagree is not None:
        by_hint, by_self_view = disagree
        # said of the seconds, not of "gallery parts" and "speaker view": a trial's call that never changed layout (a big
        # speaker tile beside a self-view, uploaded with the wrong rep position) read as both, second by second
        return (f"The rep position ({rep_position}) points to person {by_hint}, whose face sat toward it for "
                f"{votes[by_hint].hint_for:.0f} s, but person {by_self_view}'s face sat where a self-view thumbnail "
                f"does for {votes[by_self_view].self_view_for:.0f} s; person {rep} was taken as the rep. Check the "
                "roles.")
    unheeded = max(persons, key=lambda p: votes[p].hint_unheeded)
    if rep is not None and unheeded != rep and votes[unheeded].hint_unheeded >= NOTE_MIN_S:
        return (f"Person {rep} was taken as the rep, as the self-view thumbnail of a speaker view, but person "
                f"{unheeded}'s face sat toward the rep position ({rep_position}) for "
                f"{votes[unheeded].hint_unheeded:.0f} s: if this was a gallery, the rep is person {unheeded}; "
                "pick them in Fix roles.")
    if rep is None and len(persons) > 1:
        return ("The video does not show which person is the rep (no gallery or self-view seen for "
                f"{NOTE_MIN_S} s or more to go by); pick the rep on the review page.")
    if rep is None and persons and votes[persons[0]].hint_against >= NOTE_MIN_S:
        return (f"Only one person was seen, away from the rep position ({rep_position}); they were taken as the "
                "prospect. If they are the rep, fix the roles.")
    if rep is None and len(persons) == 1:
        return ("Only one person was seen, taken as the prospect: the rep's own face never showed (a hidden self-view, "
                "or the rep's camera off), so the rep's timeline is empty. If this person is the rep, fix the roles.")
    return None


def _guess_note(named: dict[int, str], frames: dict[int, int], area: dict[int, float], votes: dict[int, _Votes],
                rep: int | None, self_view_told: bool = False, prospect_told: bool = False,
                talk_pick: tuple[int, int, int] | None = None, talked_s: dict[int, int] | None = None) -> str | None:
    """What the review page should say when a pick rests on a guess or on one rule only (the second table above);
    `self_view_told`: the disagreement note already named the self-view; `prospect_told`: the camera-strip note
    already said why the prospect is who they are; `talk_pick`: the prospect was picked as the one who talked more
    (`_by_talk`: their seconds of talk, the person passed over, theirs); `talked_s`: person -> seconds they talked
    (`pipeline.speech.talk_by_person`), said of the prospect and the guest seen longest beside them otherwise (new-user
    trial 45: "Rapport guessed person 1 is the prospect" gave a manager nothing to check it by)."""
    notes = []
    if not prospect_told and _prospect_close(named, frames, area):
        prospect = next(p for p, role in named.items() if role == PROSPECT)
        count = _NUMBER_WORDS.get(len(named), str(len(named)))
        if talk_pick is not None:
            talked, other, other_talked = talk_pick
            notes.append(f"{count} people on this call: Rapport guessed person {prospect}, who talked more "
                         f"({talked} s against person {other}'s {other_talked} s), is the prospect; check Fix roles.")
        else:
            runner = max((p for p, role in named.items() if role.startswith("participant-")), key=lambda p: frames[p])
            talk = (f"; they talked {talked_s.get(prospect, 0)} s and {talked_s.get(runner, 0)} s"
                    if talked_s and any(talked_s.values()) else "")  # none heard: no audio, say nothing
            notes.append(f"{count} people on this call: Rapport guessed person {prospect} is the prospect (person "
                         f"{runner} was on screen nearly as long{talk}); check Fix roles.")
    if rep is not None and not self_view_told and votes[rep].self_view_for > 0 and votes[rep].hint_for < NOTE_MIN_S:
        notes.append("The rep was taken to be the self-view thumbnail (the person recording); if the rep is the "
                     "big tile, pick them in Fix roles.")
    if rep is not None and votes[rep].room_for >= NOTE_MIN_S and votes[rep].room_for * 2 > votes[rep].hint_for:
        notes.append(f"The rep position points to a tile of several people, so person {rep}, the one furthest that "
                     "way, was taken as the rep; if the rep is the person in the other tile, pick them in Fix roles.")
    if rep is not None and votes[rep].alone_for >= NOTE_MIN_S and votes[rep].hint_for - votes[rep].alone_for < NOTE_MIN_S:
        notes.append(f"Person {rep} was taken as the rep because their face sat toward the rep position while alone on "
                     "screen, with no second face beside it; if the recording shows one speaker at a time, check the "
                     "rep in Fix roles.")
    return " ".join(notes) or None


def assign_roles(tracks: list[TrackSummary], rep_position: str = "left", min_detections: int = MIN_DETECTIONS) -> dict[int, str]:
    """Map track id -> role for every track that is a real participant, one person per seat (`decide_roles`)."""
    return decide_roles(tracks, rep_position, min_detections).roles
