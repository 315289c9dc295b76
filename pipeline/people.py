"""People: tracks that are one person each, tracks grouped into people, and faces that are no one.

Three jobs, in the order the analysis needs them:

1. **One person per track** (`IdentityWatch`, on every sampled frame right after the tracker). A
   tracker follows a position, and in "active speaker" layouts the big tile shows whoever talks, so
   a cut to another person in the same place would glue two people into one track. Each tracked face
   is embedded (`model.identity`) when its track is new, every `EMBED_EVERY_S` if its look changed since, and
   on the frame its look jumps (`_cut`: cheap 8×8 colour thumbnails of the box and its surroundings); an
   embedding further than `model.identity.SAME_PERSON_DISTANCE` from the track's own at a jump (`CHANGE_UNCUT`
   without one) starts a new track there.
2. **People** (`group_people`): tracks whose mean embeddings are within `SAME_PERSON_DISTANCE`
   (average linkage) are one person, unless they were on screen together for more than
   `TOGETHER_MAX_S` in tiles of one size (one person is not in two gallery tiles at once: this also keeps two
   look-alikes, or the same photo used twice in a test, apart); a big face and a thumbnail `COPY_SIZE_RATIO`
   smaller may be one person (a speaker view's filmstrip repeats the speaker). Tracks with no embedding (faces too small) are people of
   their own. Person numbers follow first appearance (1, 2, ...).
3. **Not people** (`TrackLook.still`, `TrackLook.faint`): a face on a shared slide is pixels that do not change. A
   camera tile always does: sensor noise and compression noise move every pixel a little on every
   frame even when the person sits still, and people breathe, blink and move. A track whose face
   region changes less than `STILL_CHANGE` of its own contrast from frame to frame (on three pictures in four,
   `STILL_PERCENTILE`) and from the picture `STILL_LAG_S` before (`STILL_LAGGED_CHANGE`, likewise: a very still
   person's sway adds up over a second), and whose box drifts (mostly) less than `STILL_SHIFT` face heights, for at
   least `STILL_MIN_S`, is shared content: never a participant, no role, no emotions. (A camera feed frozen for three
   quarters of a whole track would read the same, and its face is an old picture anyway; a freeze inside a live track
   is `FROZEN_MIN_S`'s.) A track split off by a
   detection that never once scored like a new face (`TrackLook.faint`) is no one either. Where a
   face sits (inside a large shared area or not) is not used: the pixels decide.

Measured on generated calls (`tools.synthetic`, 1280×720 H.264, analysed at 640 px, 4 frames/s), see
`STILL_CHANGE`; identity distances are in `model.identity`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.spatial.distance import cdist

from model.identity import DIFFERENT_PEOPLE_DISTANCE, MIN_FACE_PX, SAME_PERSON_DISTANCE, FaceEmbedder
from pipeline.roles import PROSPECT, REP, TOGETHER_MAX_S, TrackSummary, naming_seat_frames, place
from pipeline.timeline import TrackSecondRows, clock
from pipeline.track import FaceTracker, TrackedFaces
from pipeline.video import SourcePicture

EMBED_EVERY_S = 30.0
"""Seconds between embeddings of a track whose look does not jump but has changed (`RECHECK_CHANGE`; a missed cut
is found this late at most).
Measured with `analyze_video` on a generated 60-s 1280×720 gallery call (4 frames/s, load average 12 on 2
cores): embedding every 10 s, 12 embeddings took 5.9 s of a 22.9-s analysis; every 30 s, 4 took 2.6 s of 17.2 s
(15%). An active-speaker call with a cut every 5 s needs one per cut: 12 a minute, 5.2 s of 14.5 s."""
REFERENCE_SETTLE_S = 1.0
"""A track's first embedding is provisional: the face is embedded again this long after it, and that embedding
replaces it as the track's reference (no identity is compared; a jump of `CUT_CHANGE`, whatever the face's size, is
still a cut). A call's first
pictures are its worst: in a 300 kbit/s H.264 call (new-user trial 34) the rep's face embedded at 0 s lay 0.51-0.58
from the same face's embeddings from 1 s on (they lie 0.10-0.20 from each other; `SAME_PERSON_DISTANCE` 0.55), so the
`EMBED_EVERY_S` re-check at 30 s split the rep's track as someone new, who then took the prospect's role."""
CUT_CHANGE = 25.0
"""Mean absolute difference (0-255) of the box's 8×8 colour thumbnail, or of its surroundings' (`SURROUNDINGS`),
from the previous frame's that triggers an embedding now. Measured at 4 frames/s (2026-12-02): the same face
drifting 40 px (`motion_px`) 4-15 (surroundings 2-19); the bench's realistic call, faces drifting and rolling 20-25°,
a person leaving and coming back, up to 25 (surroundings up to 23); a cut between the two portraits in one
active-speaker tile 45-49 (surroundings 60-64). A new-user trial's speaker view (trial 23: two people before their own
backdrops taking turns in one 1000×592 tile, 300-px heads) cut between faces whose thumbnails changed only 22 at two
of four cuts, so the same track went on across the turn and each role's timeline showed the other person's face;
their surroundings changed 28-32 at every cut."""
CUT_CHANGE_LARGE = 16.0
"""`CUT_CHANGE` of the face's own thumbnail for a face at least `LARGE_FACE_PX` high: a large face's 8×8 thumbnail
hardly changes as it moves, so a cut between look-alikes before one backdrop, whose surroundings stay alike too, is
found by the face alone. New-user trial 21: a speaker view cutting between two grey-haired men before one backdrop
changed the 204-227-px big tile's thumbnail 17.2-23.2 (surroundings 10.1-13.0) at four of five cuts; between cuts it
changed 13.1 at most, so one track went on across every turn and the prospect's 36 s were the rep's. Small faces keep
`CUT_CHANGE`: the bench's realistic call's 52-60-px faces change 12-28 as they roll and drift (16 more embeddings in 2
minutes at this line). Measured with `/root/rapport-runs/s43/mouth/cuts2.py` (2026-12-06)."""
LARGE_FACE_PX = 120
"""Face height, analysis-frame pixels, from which `CUT_CHANGE_LARGE` applies (a speaker view's big tile: 200+)."""
CUT_JUMP_PX = 80
"""Face height, analysis-frame pixels, from which a `CUT_JUMP` gets the face embedded (a two-tile gallery's faces,
90-120 px at the 640-px analysis width; not thumbnails nor the bench's realistic 52-60-px faces, which change 12-28 as
they roll and drift), but under `LARGE_FACE_PX` it is no cut: the track splits only at `CHANGE_UNCUT` (surely someone
else), as one person's look jumps too (trials 44 and 46: a photo of the same person swapped at once, 0.60 apart, split
the prospect at `SAME_PERSON_DISTANCE`). New-user trial 47: a colleague took the prospect's tile and the prospect came
back (at once, or after 3 s of an empty tile) smiling, a 104-px face whose thumbnail changed 17.0-17.1 against a
recent median of 1.3-4.1 (under `CUT_CHANGE`), so her first 8-11 s back were the colleague's until the `EMBED_EVERY_S`
re-check: a guest had her turn to a smile, and hers came that much late."""
CUT_JUMP = 4.0
"""A large face's thumbnail that changed this many times its own usual change (the median over its last `CUT_HISTORY`
pictures), and at least `CUT_JUMP_MIN`, is a cut too (a gallery face's, from `CUT_JUMP_PX`, is embedded but no cut): a
still big tile hardly changes between pictures, so a cut to a look-alike before the same wall stands out against the
face's own motion, not against every face's. New-user trial 22 (two brothers, greyscale, one flat wall, 185-px faces):
the five cuts changed the thumbnail 13.5-15.0, **4.6-13.3 times** its recent median (1.1-3.3), between cuts at most
8.3 and 3.5 times; under `CUT_CHANGE_LARGE`, one track went across every turn (the prospect's seconds were the rep's,
the rep's talk share 0.83 against a true 0.43). Trial 21's speaker view (moving heads, 200-230 px) changed 2.8 times
at most between cuts, 4.0-9.5 at them. A jump found wrongly costs one embedding. Measured with
`/root/rapport-runs/s43/mouth/cuts2.py` and `/root/rapport-runs/s44/cuts/rel.py`; on 35 recordings of earlier trials
(`/root/rapport-runs/s44/corpus.py`) only trial 22's changed (people and roles), with 5 more embeddings in all."""
CUT_JUMP_MIN = 10.0
"""Smallest thumbnail change (0-255) `CUT_JUMP` counts: a nearly still face doubling a change of 1 is no cut."""
CUT_HISTORY = 8
"""Pictures of a face's own recent thumbnail changes `CUT_JUMP` compares with (2 s at 4 frames/s); fewer than half
of them and only the fixed lines apply."""
SURROUNDINGS = 2.0
"""The surroundings thumbnail is of the box grown this many times about its centre, eyes level like the face's: a
cut to another person changes the background too, one person moving or rolling their head hardly does."""
CHANGE_UNCUT = DIFFERENT_PEOPLE_DISTANCE
"""A face embedded without a cut (`_cut`: the `EMBED_EVERY_S` re-check, or a gallery face's `CUT_JUMP_PX` jump) starts
a new track only this far from its track's own (`model.identity.DIFFERENT_PEOPLE_DISTANCE`: surely someone else),
where at a cut `SAME_PERSON_DISTANCE` does: one person's face changes its expression, light or pose in place, while
someone else takes a tile at a cut, or after an absence whose return is a jump. Found by new-user trial 46: a
prospect's face that never left its gallery tile was re-checked at 31 s and 33.75 s, while she started or stopped
talking, 0.62-0.63 from her track's own, so she became two people and the call a "check roles" guess (three of its 17
calls)."""
RECHECK_CHANGE = 8.0
"""Mean absolute difference (0-255) of the box's 8×8 colour thumbnail from its look at the track's last embedding
below which the `EMBED_EVERY_S` re-check is skipped: the face still looks as it did when it was last embedded (a
cut to a look-alike that `CUT_CHANGE` missed differs more, as hair, skin and background all change).
Measured on the bench's realistic call (`tools.bench`): see `docs/speed-history.md`."""
STILL_MIN_S = 3.0
"""Shortest track that can be judged still (`FROZEN_MIN_S`, as a freeze): a shorter still face is a participant. At
8 s a new-user trial (32) found slides shown 5-8 s taken for people in every encoding: the headshot took the rep's
role (the rep became participant-1), or joined the prospect, whose seconds then read the slide. A live face changes
`STILL_CHANGE` or more on three pictures in four over any 3 s (twelve pictures at 4 frames/s)."""
STILL_CHANGE = 0.025
"""Change of the face region from one picture to the next, relative to its contrast (`TrackLook.relative_change`: mean
absolute difference of a 24×24 nearest-pixel grey sample of the previous picture's box, taken at that same place on
both, over the sample's standard deviation; a held frame of a low-frame-rate recording is no new picture) below
which, on `STILL_PERCENTILE`% of its pictures, a face is still pixels. A still picture decodes to nearly the same
pixels, but not always exactly: encoders go on refining a still area after a key frame. Relative, because a seated
person's sway moves edges in proportion to their contrast: in grey levels a face at 15% brightness changed 0.61-0.83
(75th percentile) and was taken for a slide (no one on the call, its person gone) once the line was 1.0.
Measured with `analyze_video` on generated 12-s calls (2026-12-04, `/root/rapport-runs/s27/contrast.py`, 4 frames/s;
cameras sway sub-pixel as a seated person does, `tools.synthetic._SWAY`), the 75th percentile over the median contrast:
a slide's headshot and a tile frozen from the start **0.000-0.013** (H.264 0.000, 2:1 anamorphic 0.001, H.264 300
kbit/s 0.005, VP8 300 kbit/s 0.004, VP9 300 kbit/s 0.006, VP9 frozen 0.009, MPEG-4 0.013; their contrast 53-55); camera
faces **0.045 or more** (0.045-0.11 at contrast 41-55; at 15% brightness, contrast 6-8, 0.076-0.135, also VP8 and H.264
at 300 kbit/s; 30% 0.12; backlit 0.065). The line sits between, about twice from each. Judged in grey levels on the
median at 0.05, as before session 26, VP9's and anamorphic H.264's slides were given the rep's role, and an anamorphic
720×1280 phone call's two cameras (without the sway: a photo plus noise the encoder smoothed away, 0.009-0.024 grey
levels) were both taken for content (new-user trial 31). (Measured on each frame's own box instead, the detector's box
jitter made a slide's headshot read 9-14 grey levels.)"""
MIN_CONTRAST = 1.0
"""Contrast (grey levels) a face region is taken to have at least, so a flat one divides by no less."""
STILL_PERCENTILE = 75
"""A still face changes less than `STILL_CHANGE` on this share of its pictures, not only on most: a person whose video
froze for half of their track (a bad connection) is still a person, while a slide's occasional key-frame jolts
(up to 7.5) stay in the other quarter."""
FROZEN_CHANGE = 0.025
"""A new picture whose face region changed less than this, relative to the region's contrast (`TrackLook.changes` over
the previous picture's `TrackLook.contrasts`, at least `MIN_CONTRAST`), shows the face unchanged. The face counts as
changed only when two new pictures in a row changed: a key frame re-encodes a frozen picture a little differently
(0.014-0.024 in generated H.264 and VP9 recordings), once, and VP8 refreshes a frozen picture with a jolt and a smaller
one after it (0.055, 0.027), which does restart a freeze. Relative, like `STILL_CHANGE`, because a face's change from
picture to picture, whether a live face's sway or a codec's noise on a frozen one, grows with its contrast: in grey
levels (a line at 0.5, until 2026-12-04) VP8's noise on a frozen face at a usual contrast (mean 0.25, 90th percentile
1.2) hid most of a freeze, MPEG-4's hid all of it, and a very still live face in a dark room (0.25-0.6 at contrast
5-11) read frozen for most of a call (new-user trial 34, and trial 35's VP8 WebM: 3 of 8 frozen seconds found).
Measured (2026-12-04, `/root/rapport-runs/s29/freeze_eval.py`, `sim.py`): 20 generated 24-60-s calls, two
generators, H.264 / VP8 / VP9 at 300 kbit/s, VP8 at 1 Mbit/s, MPEG-4; faces at 10-100% brightness, live ones swaying
0.3-3 px, 19 freezes of 4-12 s; per picture, frozen faces 0.000-0.026 (90th percentiles), live ones 0.018-0.064
(10th percentiles). At this line: no live second called frozen (217 before; a live face's longest unchanged stretch
1.25 s of the 3 s `FROZEN_MIN_S`), 142 of 167 frozen seconds flagged (130 before); the rest are a freeze's first
second, the seconds after a VP8 refresh, and one very still prospect (0.3 px) whose 12-s freeze made the whole track
read as shared content (`STILL_CHANGE`). Lines of 0.02 and 0.03 flagged 137 and 153 with the same zero false, but at
0.03 a dark live face's longest unchanged stretch reached 2.25 s."""
FROZEN_LAGGED_CHANGE = 0.025
"""A face unchanged from picture to picture (`FROZEN_CHANGE`) for `FROZEN_MIN_S` is still not frozen when, over the
last `FROZEN_MIN_S`, its median change from the picture `STILL_LAG_S` before (both pictures inside the unchanged
stretch) is at least this much of its contrast (at least `FROZEN_LAGGED_MIN_CONTRAST`): a person sitting very still
(0.3-0.5 px of sway) changes too little from one picture to the next, and such a prospect read "uncertain (frozen
video)" for 22-24 s of 24 once they were no longer taken for a slide (`STILL_LAGGED_CHANGE`). It is then taken to have
last changed when it last moved that much. Measured per picture on `/root/rapport-runs/s30/freeze_eval.py`'s 30 calls
(2026-12-04, `/root/rapport-runs/s31/freeze_lag.py`): those very still faces 1.4-1.9 grey levels (10th percentile,
contrast 55), while frozen faces' medians over a freeze are 0.00-0.64 (VP8 the highest); dark and backlit frozen faces
jump 0.67-0.84 grey levels for a second after each key frame (relative to their contrast of 5-11, 0.08-0.12: hence
the floor), and their live sway is caught from picture to picture anyway. On those calls: no live second frozen (91
before, all those very still people's), 94 of 120 frozen seconds found (97 when the very still faces read frozen
throughout); their two freezes are found 1-2 s after they began, and end up to 1.5 s late (uncertain a second longer:
the 3-s window must fill with the live pictures' sway first)."""
FROZEN_LAGGED_MIN_CONTRAST = 40.0
"""Contrast (grey levels) a face region is taken to have at least for `FROZEN_LAGGED_CHANGE`: 1.0 grey level for a dark
face, over its frozen stretches' medians (0.56 at most) and under a bright still person's sway."""
FROZEN_MIN_S = 3.0
"""A face unchanged (`FROZEN_CHANGE`) on every new picture, or on none (a held picture), for this long is frozen
(`TrackedFaces.frozen_since`): the person's video stopped (a bad connection) while the recording went on, and the face on
screen is an old one, so its seconds show "uncertain (frozen video)" (`pipeline.uncertainty.FROZEN_VIDEO`). A live face
changes more than that on most pictures, and never stays under it for long (at most 1.25 s measured). Found by a new-user trial (25): a
prospect's video frozen on a smile for 10 s mid-call read "happy" all along, counted in the mood shares, and the turn
back to neutral was placed where the picture came back. At 2 s, another (26) found false alarms on photos that stood
perfectly still for 4-6 s between 2-px moves, with ±1 grey level of noise, at 200-300 kbit/s (the encoder repeats such
blocks exactly): 1-4 s of 20-24; at 1 Mbit/s, or with half a pixel of breathing, none. A person is rarely that still
for 3 s (blinks, breathing); a frozen video usually stays frozen longer. Once it is confirmed, the seconds before are
frozen too, from the face's last change on (`pipeline.timeline.TrackSeconds.mark_frozen`): trial 32's video frozen
from 4.0 s showed seconds 4-6 "happy" and was uncertain from 7 s only."""
FREEZE_GAP_S = 1.0
"""A face away from the screen this long or longer (no sighting in between) starts its freeze clock (`FROZEN_MIN_S`)
afresh when it comes back: a freeze is a picture unchanged while it is watched, and the pictures before and after an
absence say nothing of the time between. Found by new-user trial 44: a prospect (a still photo swaying in whole pixels)
left the tile for a name card for 20 s and came back to the very same pixels, so the picture was "unchanged since"
the second before they left, and that second and the first one back read "uncertain (frozen video)". A face missed on
a tick or two (a detector's miss) keeps its clock."""
STILL_LAG_S = 1.0
"""How far back the second test of a still face looks (`STILL_LAGGED_CHANGE`): the newest earlier picture at least
this old, compared at that picture's box."""
STILL_LAGGED_CHANGE = 0.035
"""Change of the face region from the picture `STILL_LAG_S` before, relative to its contrast (as `STILL_CHANGE`'s), below
which, on `STILL_PERCENTILE`% of its pictures, a face is still pixels; a still face is under both lines. A person sitting very still
sways less than a pixel over seconds, and from one picture to the next that moves edges about as much as an encoder's
refinement moves a slide's: 0.018-0.025 (75th percentile) for a portrait swaying 0.3-0.5 px (`tools.synthetic` sway
0.001-0.0015, 51-58-px faces, H.264 / VP8 / VP9 at 300 kbit/s), under `STILL_CHANGE`, so the prospect of four such
calls in six vanished (session 30). Sway adds up over a second and noise does not. Measured (2026-12-04,
`/root/rapport-runs/s31/still_eval.py`, 75th percentiles over each track): slides' headshots and tiles frozen from the
start **0.000-0.0245** (H.264 at constant quality and 300 kbit/s, VP8 300 kbit/s, VP9 3 Mbit/s and 300 kbit/s, MPEG-4,
2:1 anamorphic; the highest, a frozen tile in H.264 at 300 kbit/s, from its key frames); those very still cameras
**0.052-0.074** (0.062-0.069 with a third of the track frozen); at 12% brightness or backlit 0.11-0.25. The line sits
between, 1.4-1.5 times from each. Medians separate more widely (content 0.013 at most, those cameras 0.042 or more) but
took a very still person whose video froze for half their track for a slide, where the 75th percentile, as for
`STILL_CHANGE`, needs three quarters. (Two seconds back separates less: VP8 drifts a still area, 0.021-0.039.)"""
STILL_SHIFT = 0.1
"""Largest drift (`TrackLook.drift`) of the box centre, in face heights, of a still face: the detector's own
jitter on identical pixels reaches 0.04-0.06 (a slide's headshot: 0.043)."""
DRIFT_PERCENTILE = 90
"""A track's drift is this percentile of its centres' distances from their median, not the largest distance from
the first box: one odd early detection (a new-user trial's slide headshot, boxed larger in its first second,
0.135 face heights from the rest) made a slide's face a participant with 25 s of emotions."""
COPY_SIZE_RATIO = 2.0
"""Two faces on screen together are still allowed to be one person (if their embeddings agree) when one is at least
this many times the other's height: call apps show the active speaker both in the big tile and in the filmstrip
of thumbnails (a new-user trial's speaker view with a strip, 32-37-px thumbnails beside 148-169-px big faces:
7 people instead of 3, the rep's own thumbnail a "participant", the prospect's big face's moment lost from the
prospect's timeline). Equal-sized tiles (a gallery) never hold one person twice; two different people closer than
`SAME_PERSON_DISTANCE` are rare (0.3% of pairs, `model.identity`)."""
COPY_MOUTH_MIN_S = 15
"""Seconds with both mouths measured (`model.mouth`) from which two faces' mouth motions can say they are two people
(`COPY_MOUTH_APART`)."""
COPY_MOUTH_APART = -0.2
"""Two faces `COPY_SIZE_RATIO` apart are no copy of one person when the correlation of their per-second mouth motion is
below this: one person's big tile and filmstrip thumbnail move their mouth at the same seconds, two people in a
conversation take turns. New-user trial 16: a speaker view's rep self-view, 40 px wide at analysis size, lay within
`SAME_PERSON_DISTANCE` of the prospect's 120-px face and was joined to it, so no rep was found and the rep's 16 s of talk
read as the prospect's; their mouths correlated -0.65 over 45 s. Two people of the stored trial calls (14-16, two to
three people talking in turns) correlated -0.29 to -0.79 over 11 to 960 s (one pair +0.06 over 11 s, under
`COPY_MOUTH_MIN_S`); a generated speaker view whose filmstrip repeats the talking prospect (`tools.synthetic`'s
"strip", a 65-px copy) +1.00, still one person."""
_THUMB = 8
_PATCH = 24


@dataclass
class TrackLook:
    """What one (output) track looked like: its embeddings and how much its face region moved and changed."""

    embeddings: list[np.ndarray] = field(default_factory=list)
    first_t: float = 0.0
    last_t: float = 0.0
    boxes: list[np.ndarray] = field(default_factory=list)  # per frame, its xyxy box (frame pixels)
    changes: list[float] = field(default_factory=list)  # per frame, vs the previous frame of this track
    contrasts: list[float] = field(default_factory=list)  # per change, the previous picture's face region's std
    lagged_changes: list[float] = field(default_factory=list)  # per new picture, vs the picture `STILL_LAG_S` before
    lagged_contrasts: list[float] = field(default_factory=list)  # per lagged change, that picture's region's std
    best_score: float = 0.0  # the highest detector score of its frames

    @property
    def embedding(self) -> np.ndarray | None:
        """The mean embedding, or None (never embedded: the face was too small)."""
        return np.mean(self.embeddings, axis=0) if self.embeddings else None

    @property
    def faint(self) -> bool:
        """Never once scored like a new face (`FaceTracker.birth_score`): a track split off by a detection
        the tracker only kept for a known face (a blurred background where a face was) is no one."""
        return self.best_score < FaceTracker.birth_score

    @property
    def still(self) -> bool:
        """Shared content: unchanged pixels in one place for at least `STILL_MIN_S` (see the module docstring)."""
        return (self.last_t - self.first_t >= STILL_MIN_S and bool(self.changes)
                and self.relative_change < STILL_CHANGE and self.lagged_change < STILL_LAGGED_CHANGE
                and self.drift < STILL_SHIFT)

    @property
    def relative_change(self) -> float:
        """The `STILL_PERCENTILE` of its picture-to-picture changes (grey levels) over its face region's median
        contrast (standard deviation, grey levels; at least `MIN_CONTRAST`); 0 for no changes."""
        if not self.changes:
            return 0.0
        return float(np.percentile(self.changes, STILL_PERCENTILE)) / max(float(np.median(self.contrasts)), MIN_CONTRAST)

    @property
    def lagged_change(self) -> float:
        """The `STILL_PERCENTILE` of its changes from the picture `STILL_LAG_S` before (grey levels) over their median
        contrast (at least `MIN_CONTRAST`); 0 for none (no picture that old yet)."""
        if not self.lagged_changes:
            return 0.0
        return (float(np.percentile(self.lagged_changes, STILL_PERCENTILE))
                / max(float(np.median(self.lagged_contrasts)), MIN_CONTRAST))

    @property
    def height(self) -> float:
        """The face's usual box height (median over its frames), analysis-frame pixels; 0 for no frames."""
        return float(np.median([box[3] - box[1] for box in self.boxes])) if self.boxes else 0.0

    @property
    def drift(self) -> float:
        """How far the box centre strays from its usual place, in face heights: the `DRIFT_PERCENTILE` of its
        distances from the median centre (0 for no frames)."""
        if not self.boxes:
            return 0.0
        boxes = np.array(self.boxes)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        distances = np.linalg.norm(centres - np.median(centres, axis=0), axis=1)
        return float(np.percentile(distances, DRIFT_PERCENTILE)) / max(self.height, 1.0)


@dataclass
class _Followed:
    """A tracker id's current output track and the last look of its face."""

    out_id: int
    last_embed_t: float
    reference: np.ndarray | None
    look: np.ndarray  # (2, 8, 8, 3): the face's and its surroundings' thumbnails (`_look`)
    # The face region on its latest new pictures, oldest first, back to the newest one at least `STILL_LAG_S` old:
    # (t, 24x24 grey patch, the box it was taken at; the next pictures are compared at that same place).
    pictures: list[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=list)
    picture_t: float | None = None  # when the latest of `pictures` was first shown
    # Over the last `FROZEN_MIN_S`, (t, change from the picture `STILL_LAG_S` before, its contrast) where both pictures
    # came after `changed_t`: whether a face unchanged from picture to picture moved all the same (`moved_t`).
    unchanged_lagged: list[tuple[float, float, float]] = field(default_factory=list)
    changed_t: float = 0.0  # when its face region last changed (`FROZEN_CHANGE`), or its track began
    last_changed: bool = True  # whether its previous new picture changed (`FROZEN_CHANGE`)
    embedded_look: np.ndarray | None = None  # `look` when it was last embedded
    thumbnail_changes: list[float] = field(default_factory=list)  # its last `CUT_HISTORY` new pictures' (`CUT_JUMP`)
    provisional: bool = False  # its reference is its first embedding only (`REFERENCE_SETTLE_S`)

    @property
    def moved_t(self) -> float | None:
        """Unchanged from picture to picture since `changed_t`, yet moved over `STILL_LAG_S` (a very still person):
        the last time it was seen moved; None when it did not move."""
        if not self.unchanged_lagged:
            return None
        times, changes, contrasts = np.array(self.unchanged_lagged).T
        line = FROZEN_LAGGED_CHANGE * max(float(np.median(contrasts)), FROZEN_LAGGED_MIN_CONTRAST)
        return float(times[changes >= line].max()) if float(np.median(changes)) >= line else None


def _crop(frame: np.ndarray, box: np.ndarray, size: int, interpolation: int) -> np.ndarray:
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = np.clip(np.round(box).astype(int), 0, [w - 1, h - 1, w, h])
    region = frame[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]
    return cv2.resize(region, (size, size), interpolation=interpolation).astype(np.float32)


def _thumbnail(frame_bgr: np.ndarray, box: np.ndarray, eyes: np.ndarray) -> np.ndarray:
    """The box's 8×8 colour thumbnail, turned so the eyes (2, 2) are level when they are known: a head that rolls
    is not a new look (measured on the bench's realistic call: a 20-25° tilt jumped the upright thumbnail by
    26-42, above `CUT_CHANGE`, and cost an embedding at every tilt)."""
    if not np.isfinite(eyes).all():
        return _crop(frame_bgr, box, _THUMB, cv2.INTER_AREA)
    face = _crop(frame_bgr, box, 4 * _THUMB, cv2.INTER_AREA)
    (dx, dy), centre = eyes[1] - eyes[0], (4 * _THUMB - 1) / 2
    level = cv2.getRotationMatrix2D((centre, centre), float(np.degrees(np.arctan2(dy, dx))), 1.0)
    face = cv2.warpAffine(face, level, face.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.resize(face, (_THUMB, _THUMB), interpolation=cv2.INTER_AREA)


def _look(frame_bgr: np.ndarray, box: np.ndarray, eyes: np.ndarray) -> np.ndarray:
    """(2, 8, 8, 3): the face's thumbnail and its surroundings' (the box grown `SURROUNDINGS` times)."""
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) * SURROUNDINGS / 2
    surroundings = np.concatenate([centre - half, centre + half])
    return np.stack([_thumbnail(frame_bgr, box, eyes), _thumbnail(frame_bgr, surroundings, eyes)])


def _change_at(gray: np.ndarray, patch: np.ndarray, box: np.ndarray) -> float:
    """How much the face region changed since `patch` (`_PATCH`² grey, nearest pixels) was taken at `box`: the mean
    absolute difference (grey levels) from this picture's same place."""
    return float(np.abs(_crop(gray, box, _PATCH, cv2.INTER_NEAREST) - patch).mean())


def _compare_new_picture(followed: _Followed, look: TrackLook, gray: np.ndarray, t: float, patch_now: np.ndarray,
                         box: np.ndarray) -> None:
    """A new picture of a followed face (`gray`, analysis size; its region `patch_now` at `box`): how much it changed
    from the previous picture and from the one `STILL_LAG_S` before (onto `look`), and when it last changed
    (`followed.changed_t`, for `FROZEN_MIN_S`)."""
    old = sum(t - then >= STILL_LAG_S for then, _, _ in followed.pictures)
    if followed.pictures:
        _, patch, patch_box = followed.pictures[-1]
        look.changes.append(_change_at(gray, patch, patch_box))
        look.contrasts.append(float(patch.std()))
        changed = look.changes[-1] >= FROZEN_CHANGE * max(look.contrasts[-1], MIN_CONTRAST)
        if old:
            then, patch, patch_box = followed.pictures[old - 1]
            look.lagged_changes.append(_change_at(gray, patch, patch_box))
            look.lagged_contrasts.append(float(patch.std()))
            if then >= followed.changed_t:  # both pictures unchanged since, from one to the next
                followed.unchanged_lagged = [*(x for x in followed.unchanged_lagged if t - x[0] < FROZEN_MIN_S),
                                             (t, look.lagged_changes[-1], look.lagged_contrasts[-1])]
        if changed and followed.last_changed:
            followed.changed_t, followed.unchanged_lagged = t, []
        followed.last_changed = changed
    if t - followed.changed_t >= FROZEN_MIN_S and (moved_t := followed.moved_t) is not None:
        followed.changed_t = moved_t
        followed.unchanged_lagged = [x for x in followed.unchanged_lagged if x[0] > moved_t]
    followed.pictures = [*followed.pictures[max(old - 1, 0):], (t, patch_now, box)]


def _cut(look: np.ndarray, before: np.ndarray, height: float, recent: list[float] | None = None,
         jump_px: float = LARGE_FACE_PX) -> bool:
    """Whether a face's look jumped as at a cut: its thumbnail or its surroundings' changed by `CUT_CHANGE`; when the
    face is `LARGE_FACE_PX` high or more, its thumbnail by `CUT_CHANGE_LARGE`; from `jump_px` (`LARGE_FACE_PX`, or
    `CUT_JUMP_PX` for a jump that is only looked at), by `CUT_JUMP` times its `recent` changes' median. `height`: the
    face box's, analysis pixels; `recent`: the face's last thumbnail changes."""
    face, surroundings = np.abs(look - before).mean(axis=(1, 2, 3))
    if max(face, surroundings) >= CUT_CHANGE or (height >= LARGE_FACE_PX and face >= CUT_CHANGE_LARGE):
        return True
    return (height >= jump_px and face >= CUT_JUMP_MIN and recent is not None
            and len(recent) >= CUT_HISTORY // 2 and face >= CUT_JUMP * float(np.median(recent)))


class IdentityWatch:
    """Re-labels tracked faces so that each output track is one person; keeps each output track's look.

    `update(frame, faces)` returns the same faces with output track ids (a tracker id keeps its output id
    until its face's embedding changes identity; then it gets a fresh one) and, for each frozen one (`FROZEN_MIN_S`),
    since when. `looks` holds a `TrackLook` per output id.
    """

    def __init__(self, embedder: FaceEmbedder):
        self._embedder = embedder
        self._followed: dict[int, _Followed] = {}
        self._next_id = 0
        self.looks: dict[int, TrackLook] = {}
        self.together_s: dict[tuple[int, int], float] = {}
        """(a, b) with a < b -> seconds output tracks a and b were on screen together."""
        self.n_embedded = 0
        self._last_t: float | None = None

    def _new_track(self, t: float) -> int:
        out_id, self._next_id = self._next_id, self._next_id + 1
        self.looks[out_id] = TrackLook(first_t=t, last_t=t)
        return out_id

    @staticmethod
    def _due(followed: _Followed | None, t: float, look: np.ndarray, jumped: bool) -> bool:
        """Embed this face now: its track is new or not embedded yet, its look `jumped` (`_cut`), or `EMBED_EVERY_S`
        passed and its face changed since (`RECHECK_CHANGE`)."""
        if followed is None or followed.reference is None or jumped:
            return True
        if followed.provisional:
            return t - followed.last_embed_t >= REFERENCE_SETTLE_S
        return (t - followed.last_embed_t >= EMBED_EVERY_S
                and float(np.abs(look[0] - followed.embedded_look[0]).mean()) >= RECHECK_CHANGE)

    def update(self, frame_bgr: np.ndarray, faces: TrackedFaces, picture_t: float | None = None,
               source: SourcePicture | None = None) -> TrackedFaces:
        """Faces of one frame (BGR, analysis size) with tracker ids -> the same faces with output track ids.

        `picture_t`: when this frame's picture was first shown (`SampledFrame.frame_t`): a picture seen before
        (a held frame of a low-frame-rate recording) says nothing about whether a face's pixels change.
        `source`: the same picture at the recording's resolution (`SampledFrame.source`): faces are embedded from
        it, so a filmstrip thumbnail too small to embed at analysis size (a 58-px face of a 720p call is 29 px
        there, under `model.identity.MIN_FACE_PX`) is still told apart and joined to its person's big tile."""
        t = faces.t
        looks = [_look(frame_bgr, box, points[:2]) for box, points in zip(faces.xyxy, faces.keypoints)]
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if len(faces) else None
        patches = [_crop(gray, box, _PATCH, cv2.INTER_NEAREST) for box in faces.xyxy]
        scale = source.scale if source is not None else 1.0  # source pixels per frame pixel
        cut, jumped = [], []  # a cut: `SAME_PERSON_DISTANCE` splits; a gallery face's jump: embedded, `CHANGE_UNCUT`
        for i, (tid, box) in enumerate(zip(faces.track_ids.tolist(), faces.xyxy)):
            followed = self._followed.get(tid)
            args = (looks[i], followed.look, box[3] - box[1], followed.thumbnail_changes) if followed else ()
            cut.append(bool(args) and _cut(*args))
            jumped.append(cut[-1] or (bool(args) and _cut(*args, jump_px=CUT_JUMP_PX)))
        due = [i for i, (tid, box) in enumerate(zip(faces.track_ids.tolist(), faces.xyxy))
               if (box[3] - box[1]) * scale >= MIN_FACE_PX
               and self._due(self._followed.get(tid), t, looks[i], jumped[i])]
        embeddings = {}
        if due:
            picture, boxes = (source.bgr(), source.to_source(faces.xyxy[due])) if source is not None else (
                frame_bgr, faces.xyxy[due])
            embeddings = dict(zip(due, self._embedder.embed(picture, boxes)))
        self.n_embedded += len(due)
        out_ids, frozen_since = [], []
        for i, (tid, box) in enumerate(zip(faces.track_ids.tolist(), faces.xyxy)):
            followed = self._followed.get(tid)
            embedding = embeddings.get(i)
            # settling: a large face's first pictures may change `CUT_CHANGE_LARGE` as the encoder warms up, so only
            # `CUT_CHANGE` (height 0) stops the provisional reference from settling (a code review)
            settling = (followed is not None and followed.provisional and embedding is not None
                        and not _cut(looks[i], followed.look, 0.0))
            changed = (not settling and followed is not None and embedding is not None and followed.reference is not None
                       and float(np.linalg.norm(embedding - followed.reference)) > (
                           SAME_PERSON_DISTANCE if cut[i] else CHANGE_UNCUT))
            begun = followed is None or changed
            if begun:
                followed = _Followed(self._new_track(t), t, None, looks[i], changed_t=t)
                self._followed[tid] = followed
            look = self.looks[followed.out_id]
            if embedding is not None:
                if settling:
                    look.embeddings.clear()  # the provisional first one
                followed.provisional = followed.reference is None
                look.embeddings.append(embedding)
                followed.reference, followed.last_embed_t, followed.embedded_look = look.embedding, t, looks[i]
            new_picture = picture_t is None or picture_t != followed.picture_t
            if not begun and t - look.last_t >= FREEZE_GAP_S:  # back after an absence
                followed.pictures, followed.unchanged_lagged, followed.changed_t = [], [], t
                followed.last_changed = True
            if new_picture:  # compare the same pixels
                _compare_new_picture(followed, look, gray, t, patches[i], box)
                followed.picture_t = picture_t
            look.boxes.append(np.asarray(box, np.float32))
            look.last_t = t
            look.best_score = max(look.best_score, float(faces.confidence[i]))
            if new_picture and not begun:  # a held picture's change of 0 would halve `CUT_JUMP`'s line (a code review)
                change = float(np.abs(looks[i][0] - followed.look[0]).mean())
                followed.thumbnail_changes = [*followed.thumbnail_changes[-(CUT_HISTORY - 1):], change]
            followed.look = looks[i]
            out_ids.append(followed.out_id)
            frozen_since.append(followed.changed_t if t - followed.changed_t >= FROZEN_MIN_S else np.nan)
        step = 0.0 if self._last_t is None else t - self._last_t
        self._last_t = t
        for a in out_ids:
            for b in out_ids:
                if a < b:
                    self.together_s[a, b] = self.together_s.get((a, b), 0.0) + step
        return TrackedFaces(t, np.array(out_ids, np.int64), faces.xyxy, faces.confidence, faces.keypoints,
                            np.array(frozen_since, np.float64))


def _copies(a: TrackLook, b: TrackLook) -> bool:
    """Whether two tracks on screen together may be one person shown twice: their faces differ in size by
    `COPY_SIZE_RATIO` or more (a speaker view's big tile and the same person's thumbnail in its filmstrip)."""
    small, large = sorted((a.height, b.height))
    return small > 0 and large >= COPY_SIZE_RATIO * small


def mouths_apart(rows: list[TrackSecondRows]) -> set[tuple[int, int]]:
    """Pairs of track ids (a < b) whose mouths moved against each other: a correlation of their per-second mouth motion
    below `COPY_MOUTH_APART` over `COPY_MOUTH_MIN_S` or more seconds where both were measured (two people taking turns,
    never one person shown twice)."""
    motions = {}
    for track in rows:
        if track.mouth_motion is not None:
            measured = np.isfinite(track.mouth_motion)
            motions[track.track_id] = dict(zip(track.seconds[measured].tolist(), track.mouth_motion[measured]))
    apart = set()
    for a, b in itertools.combinations(sorted(motions), 2):
        common = sorted(motions[a].keys() & motions[b].keys())
        if len(common) >= COPY_MOUTH_MIN_S:
            x, y = (np.array([motions[t][s] for s in common]) for t in (a, b))
            if x.std() > 0 and y.std() > 0 and np.corrcoef(x, y)[0, 1] < COPY_MOUTH_APART:
                apart.add((a, b))
    return apart


def person_embeddings(looks: dict[int, TrackLook], people: dict[int, int]) -> dict[int, np.ndarray]:
    """Person number (`people`: track id -> person) -> (128,) mean of all their tracks' embeddings; people never
    embedded (faces too small) are left out."""
    vectors: dict[int, list[np.ndarray]] = {}
    for track_id, person in people.items():
        if track_id in looks and looks[track_id].embeddings:
            vectors.setdefault(person, []).extend(looks[track_id].embeddings)
    return {person: np.mean(v, axis=0) for person, v in vectors.items()}


def distinct_people(looks: dict[int, TrackLook], people: dict[int, int]) -> set[tuple[int, int]]:
    """Pairs of people (a < b, person numbers of `people`: track id -> person) whose faces are surely different: their
    `person_embeddings` `DIFFERENT_PEOPLE_DISTANCE` or more apart (people never embedded are in no pair)."""
    means = person_embeddings(looks, people)
    return {(a, b) for a in means for b in means
            if a < b and float(np.linalg.norm(means[a] - means[b])) >= DIFFERENT_PEOPLE_DISTANCE}


def group_people(looks: dict[int, TrackLook], together_s: dict[tuple[int, int], float],
                 apart: set[tuple[int, int]] = frozenset()) -> dict[int, int]:
    """Track id -> person number (1, 2, ... by first appearance).

    `together_s[(a, b)]` (a < b) is how long tracks a and b were on screen at the same time, seconds.
    Average-linkage clustering of mean embeddings at `SAME_PERSON_DISTANCE` (Lance-Williams updates, so
    O(n²) memory and fast for the hundreds of tracks of an hour of active-speaker cuts); never joins
    groups that were on screen together for longer than `TOGETHER_MAX_S`, unless at sizes `COPY_SIZE_RATIO` apart and
    not `apart` (`mouths_apart`: pairs a < b whose mouths took turns).
    """
    ids = sorted(looks, key=lambda tid: (looks[tid].first_t, tid))
    n = len(ids)
    distance = np.full((n, n), np.inf)
    embedded = [k for k, tid in enumerate(ids) if looks[tid].embedding is not None]
    if embedded:
        vectors = np.stack([looks[ids[k]].embedding for k in embedded])
        distance[np.ix_(embedded, embedded)] = cdist(vectors, vectors)
    np.fill_diagonal(distance, np.inf)
    index = {tid: k for k, tid in enumerate(ids)}
    for (a, b), seconds in together_s.items():
        if seconds > TOGETHER_MAX_S and a in index and b in index and (not _copies(looks[a], looks[b]) or (a, b) in apart):
            # never one person; stays so once merged, as an average with inf is inf
            distance[index[a], index[b]] = distance[index[b], index[a]] = np.inf
    size, members = np.ones(n), [[k] for k in range(n)]
    while n:
        i, j = np.unravel_index(np.argmin(distance), distance.shape)
        if distance[i, j] > SAME_PERSON_DISTANCE:
            break
        i, j = min(i, j), max(i, j)
        distance[i] = distance[:, i] = (size[i] * distance[i] + size[j] * distance[j]) / (size[i] + size[j])
        distance[i, i] = np.inf
        distance[j] = distance[:, j] = np.inf
        size[i] += size[j]
        members[i], members[j] = members[i] + members[j], []
    groups = sorted((group for group in members if group), key=min)  # ids are in order of first appearance
    return {ids[k]: person for person, group in enumerate(groups, start=1) for k in group}


def set_aside_note(looks: dict[int, TrackLook], tracks: dict[int, TrackSummary], roles: dict[int, str]) -> str | None:
    """What the review page says, beside the roles, about faces set aside as still pictures (`TrackLook.still`): where
    (`pipeline.roles.place`, beside the people's faces) and when they were on screen; None when there were none.
    `tracks`: track id -> its summary (mean box, frames); `roles`: the people's tracks -> role (one person a role).
    A manager who saw a face must not find it silently missing: a new-user trial (31) had a prospect who sat very
    still set aside, and the page said only one person was seen. Where a person's card places them too (where they sat
    longest, `naming_seat_frames`) the note says so ("on the right like the prospect"): new-user trial 11 read "set aside a
    face on the right" as the prospect, whose tile was on the right too, beside a slide's headshot; trial 20 read "on
    the left like the rep" above the rep's card "at the top right" (the rep sat left 20 s, in the share's strip 30 s).
    Faint tracks (`TrackLook.faint`) are left out: never scored like a face, they are what a face left behind
    (new-user trial 33: a prospect's tile gone black, boxed at 0.60 for 6 s after the face, was "a face that stayed as
    still as a picture")."""
    still = sorted((tid for tid, look in looks.items() if look.still and not look.faint), key=lambda tid: looks[tid].first_t)
    if not still:
        return None
    seats = {}  # role -> the mean box of where that person sat longest
    for role in set(roles.values()):
        own = [tracks[tid] for tid, r in roles.items() if r == role and tid in tracks]
        others = [tracks[tid].mean_box for tid, r in roles.items() if r != role and tid in tracks]
        if own:
            at_seat = naming_seat_frames(np.array([t.mean_box for t in own]), np.array([t.n_frames for t in own]),
                                         np.array(others, np.float64).reshape(-1, 4))
            seats[role] = max(zip(at_seat, own), key=lambda s: (s[0], s[1].n_frames))[1].mean_box
    places = {place(box, [b for other, b in seats.items() if other != role]): role for role, box in seats.items()}

    def where(tid: int) -> str:
        said = place(tracks[tid].mean_box, list(seats.values()))
        role = places.get(said)
        return said if role is None else f"{said} like {'the ' + role if role in (REP, PROSPECT) else 'a guest'}"

    spans = "; ".join(f"{where(tid)}, {clock(looks[tid].first_t)}-{clock(looks[tid].last_t)}" for tid in still)
    faces = "a face" if len(still) == 1 else f"{len(still)} faces"
    return (f"Rapport set aside {faces} that stayed as still as a picture ({spans}): a slide's headshot, a photo, or a "
            "camera frozen or held very still. Set-aside faces are not people here and are not read.")
