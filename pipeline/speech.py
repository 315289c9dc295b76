"""Who is talking: speech activity from the recording's audio, combined with each face's mouth movement.

Speech activity: the first audio stream is decoded with PyAV (the decoder the video already uses),
resampled to 16 kHz mono 16-bit, and WebRTC's voice activity detector (`webrtcvad-wheels`: Google's
GMM detector, compiled into the wheel, no model file, no download) says per 30 ms frame whether it holds
speech. The audio is read from the upload and never stored: only the per-second speech fraction is
kept. A recording without an audio track still analyses; its seconds are "unknown".

Who speaks, per second of the call (`who_speaks`, a decision table):

| audio for the second? | speech (fraction ≥ SPEECH_MIN_FRACTION)? | mouths moving (lift ≥ MOUTH_MOVING_LIFT) | speaking |
|---|---|---|---|
| no                    | -                                        | -                                        | unknown |
| yes                   | no                                       | -                                        | none |
| yes                   | yes                                      | rep and prospect, the weaker's strength ≥ BOTH_RATIO of the stronger's | both |
| yes                   | yes                                      | several, else                            | the strongest: rep / prospect / other |
| yes                   | yes                                      | only the rep / only the prospect         | rep / prospect |
| yes                   | yes                                      | only a guest (participant-N)             | other |
| yes                   | yes                                      | nobody's, but one mouth at LEAD_LIFT or more leads every other face measured by LEAD_RATIO (`_leading`) | that person: rep / prospect / other |
| yes                   | yes                                      | nobody's, in a recording of turns (`shows_turns`, thumbnails left out; or an active speaker's thumbnail alone on screen, `speaker_thumbnail_roles`), one person on screen most of the second | that person: rep / prospect / other |
| yes                   | yes                                      | nobody's, in a call that is no recording of turns, the rep's or the prospect's camera off (`cameras_off`; not beside an active speaker's thumbnail, `speaker_thumbnail_roles`) and everyone else seen on the call on screen with a still mouth (each seen moving when they talk) | the one whose camera is off: rep / prospect |
| yes                   | yes                                      | nobody's (no face on screen, or still)   | off-camera |

A camera off's run of at most PAUSE_MAX_S seconds inside one run of speech, between seconds of the other one's moving
mouth, is that other one's pause (`_pauses_kept`).

A face's *lift* is its mouth motion (`model.mouth.mouth_motion`, the second's peak, smoothed over its neighbouring
seconds of speech: `_smooth`) over the person's quiet baseline (`quiet_baseline`: the upper level of their motion in
quiet seconds, the seconds they listened to someone else first (`listening_seconds`), pooled over all their tracks: an
active-speaker recording cuts a face to its turns), so a face
whose still mouth already shows some motion (beard, glasses, compression noise) is not taken for a talker. A person's
*strength* in a second is their lift over their own talking lift (`talking_lift`: the median of their moving seconds),
so two faces whose mouths lift by different amounts (a grainy portrait 2x, a sharp one 5x) compare fairly when both
talk at once.
"other" is someone else on screen talking: a guest (role participant-N) whose mouth moves while no rep or
prospect mouth moves as much; it counts for neither side's talk time.
A recording *of turns* is an active-speaker view: the call app shows whoever talks, one person at a time, so the face on
screen while a voice is heard is the talker's even when their mouth reads still (a person seen mostly while talking has
few quiet seconds to learn their still mouth from). Thumbnails (a self-view, a filmstrip: THUMBNAIL_SHARE) are left
out of that question, so Zoom's speaker view with the rep's self-view beside the big tile is a recording of turns too.
A *camera off*: speech heard while the rep's or the prospect's camera is off (off screen for a stretch of
CAMERA_OFF_MIN_S or more, in at most CAMERA_OFF_MAX_STRETCHES such stretches: one who leaves at every turn is cut away
by an active-speaker view) and everyone else on the call then (a guest from the first second they showed) is on
screen with a still mouth (each seen moving when they talked: CAMERA_OFF_MIN_TALK_S) is the one whose camera is off.
New-user trial 16 (the prospect's camera off for part of a gallery call) read talk ratio 62/38 against a truth of 49/51
while such speech stayed "someone off camera"; trial 36 (the same with a guest who joined late) 61/39 against 45/55,
when the rule still needed a call of two.
"off-camera" is speech heard while no mouth moves on screen and nothing above says whose it is: nobody on screen, a
guest on the call (a dialled-in voice could be anyone's), a cut second, a mouth not measured (the face turned away). It
is stored as such (the review page says "someone off camera").

Speaking follows the person: `who_speaks` reads the per-track mouth motion and the roles, so
reassigning roles (`calls.roles`) re-derives it from the stored speech fractions and track seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from pipeline.roles import PROSPECT, REP, box_area, speaker_thumbnails
from pipeline.timeline import TrackSecondRows

VAD_RATE = 16_000
"""Hz: the sample rate the detector reads (it accepts 8, 16, 32 or 48 kHz)."""
VAD_FRAME_S = 0.03
"""Seconds per speech/no-speech decision (the detector takes 10, 20 or 30 ms frames; 30 ms is the steadiest)."""
VAD_AGGRESSIVENESS = 2
"""0 (keeps most audio as speech) to 3 (drops the most): 2 keeps soft speech while dropping steady noise."""
SPEECH_MIN_FRACTION = 0.3
"""A second with at least this fraction of speech frames is a second with speech (~0.3 s of talk)."""
EDGE_WEIGHTS = (2.0, 1.0)
"""Weights of a second and its one neighbour of speech when the other neighbour has none (see `_smooth`)."""
MOUTH_MOVING_LIFT = 1.7
"""A mouth moves in a second when its motion is at least this many times the face's quiet baseline."""
LEAD_LIFT = 1.3
"""...and while no mouth reaches MOUTH_MOVING_LIFT, one that reaches this lift and leads every other face measured in
the second by LEAD_RATIO is the talker's (`_leading`): a soft or small face's talking mouth moves less over its quiet
level than a sharp one's. New-user trial 42's two-person galleries (soft, upscaled photos as prospects, jaws that drop
as they talk): the prospects' talking lifts were 1.3-1.7 against listening ones of 0.6-1.1 (the reps' 1.7-5), so their
talk was "someone off camera" and the talk ratio withheld on 3 of 4 calls. Replayed on the trial's 5 stored two-person
analyses (`/root/rapport-runs/s47/talk/eval2.py`, 247 seconds of talk), with the listened seconds first in
`quiet_baseline`: 108 -> 191 seconds right, the wrong person named 1 -> 1 (presence 24 -> 44 of 49, hard 30 -> 59 of
72, hard_neutral 29 -> 61 of 72, mouth_strong 25 -> 27 of 27; jaw-only mouth_weak 0 of 27 either way); this rule alone
108 -> 180. Listening lifts there reach 1.1 (1.2 at most): LEAD_LIFT stays above them."""
LEAD_RATIO = 1.4
"""How many times the next face's lift the leading mouth's must be (`LEAD_LIFT`)."""
BOTH_RATIO = 0.6
"""Both talk (an overlap) when the weaker mouth's strength (lift over the person's own talking lift) is at least
this fraction of the stronger's."""
QUIET_PERCENTILE = 75
"""A person's quiet baseline is this percentile of their motion over their seconds without speech: the upper level
of a still mouth, not its median. A still mouth's per-second peak motion is two-level (head drift between sampled
frames 3 or 4 video frames apart: 0.07 or 0.13-0.16 on the talking test calls), so a median of few quiet seconds
fell on the lower level and the other level read as a mouth moving at lift 2 (a rep "both" talking in a guest's
turn). Measured with `who_speaks` on the same analyses (2026-12-01): three-people call 10 -> 13 of 13 seconds right
(false "both" 2 -> 0); 60-s gallery call with overlaps, grainy Grace Hopper as rep, 56 of 60 either way; the
bench's realistic call, 1 min, 58 of 60 either way."""
QUIET_ANCHOR_PERCENTILE = 10
"""A person's stillest level: this percentile of their motion over all their measured seconds (everyone listens for
more than a tenth of a call)."""
QUIET_OUTLIER_FACTOR = 2.5
"""Seconds whose motion is over this many times the stillest level are no quiet level: a mouth still closing in the
silent second after a turn's last word (the frames sampled in it sit just after the second's start), or a talking one.
2.5 keeps a still mouth's two levels (0.07 and 0.13-0.16, see QUIET_PERCENTILE) together."""
MIN_QUIET_SECONDS = 3
"""A person's quiet baseline is taken over the quiet seconds they listened (`listening_seconds`) when they have at least
this many, else over their quiet seconds without speech, else over both, else over all their quiet seconds
(`quiet_baseline`)."""
BASELINE_FLOOR = 0.03
"""The smallest quiet baseline (a perfectly still, clean picture would otherwise make any change a talker)."""

CAMERA_OFF_MIN_S = 3
"""A person's camera is taken to be off (`cameras_off`) only in a stretch of at least this many seconds off screen..."""
CAMERA_OFF_MAX_STRETCHES = 2
"""...of which the call holds at most this many for them (a camera turned on late and off again early is two). A
person who leaves the screen at every turn of the other's is cut away by an active-speaker view, not off camera: there
the one off screen is the listener (new-user trial 17: Zoom's speaker view with the rep's self-view gave the rep's
turns to the prospect, "rep 10%, prospect 90%" against a truth of 45/55)."""
PAUSE_MAX_S = 3
"""A run of at most this many seconds that the camera-off rule gives to the one off screen, inside one run of speech
between seconds the other one talked with a moving mouth, is a pause in that other one's talk (`_pauses_kept`): a
mouth stills mid-sentence, and nobody's voice takes over without a break. New-user trial 46: a prospect who left their
tile for 15 s was credited 3 s of the rep's talk in the middle of the rep's sentence (rep 59% shown, 66% true)."""
CAMERA_OFF_MIN_TALK_S = 3
"""A still mouth on screen says its person is not the one talking (`_camera_off`) only once their mouth was seen moving
with speech in at least this many seconds: a face whose mouth never reads as moving (a drawn portrait, a mouth too
small or too blurred to measure) may be talking with a still-reading mouth."""

THUMBNAIL_SHARE = 0.5
"""A face whose track is on average narrower than this share of the widest track's face is a thumbnail (a self-view, a
filmstrip) and is left out when asking whether a recording shows its people in turns (`main_stage`): Zoom's speaker
view keeps the rep's self-view on screen beside whoever talks in the big tile (trial 17: 110-px thumbnail faces
against 300-420 px in the big tile)."""

TURNS_MAX_TOGETHER = 0.1
"""A recording shows its people in turns (`shows_turns`) when two or more people were seen and at most this fraction of
the seconds with a face show two people together. A cut between two speakers puts both in one second (their frames
split the second's samples, so they do not count as together); a gallery or a self-view shows them together nearly
every second."""
TURNS_MIN_CUTS = 2
"""...and the screen cut from one person alone to another at least this many times. A gallery whose rep kept their
camera off until the prospect left (the prospect alone, then the rep alone: one cut) or a guest who only ever sat
beside the prospect is no active-speaker view, and a rep talking with their camera off there stays "someone off
camera"; a conversation in an active-speaker view cuts at every turn. Two cuts since new-user trial 46: a speaker
view whose stage showed the prospect, a colleague for 20 s, then the prospect again (thumbnails left out) was no
recording of turns at 3, and 29 s of the stage's talk, the colleague's only quiet second being before his turn,
read "someone off camera" (rep 43% shown, 30% true); at 2, 61 of 61 talk seconds right (was 32), and 29 other trial
recordings (trials 43-46, `/root/rapport-runs/s49/share/turns.txt`) gave the same 1,311 seconds right."""

TURN_CUT_DELAY_S = 2
"""An active-speaker view cuts to a new talker about a second after they start (trial 17's recordings: 0.8 s), so the
first second of a turn still shows the last talker, still-mouthed. In a recording of turns, a run of speech that starts
after a silence on one face and cuts to another person within this many seconds of its start is that person's from
its start; a cut second (two faces split it) is the next face's, the app having cut to whoever talks; and so is the
second just before a cut, even inside a run of speech (a quick handover leaves no silence: trial 18)."""

SPEAKING_VALUES = (REP, PROSPECT, "both", "none", "off-camera", "unknown", "other")
"""What `speaking` holds per second (database, CSV): see the decision table above."""
BOTH, NONE, OFF_CAMERA, UNKNOWN, OTHER = SPEAKING_VALUES[2:]
SPEAKING_LABELS = {REP: "rep", PROSPECT: "prospect", BOTH: "both", NONE: "nobody", OFF_CAMERA: "someone off camera",
                   UNKNOWN: "unknown (no audio)", OTHER: "a guest"}
"""How pages and reports say each value."""


@dataclass(frozen=True)
class SpeechActivity:
    """Speech per 30 ms frame of the call's audio."""

    is_speech: np.ndarray  # (n_frames,) bool, frame i covers [start_s + i * VAD_FRAME_S, ... + VAD_FRAME_S)
    start_s: float = 0.0  # call-clock time of the first frame

    def per_second(self, n_seconds: int) -> np.ndarray:
        """(n_seconds,) float: the fraction of each second's frames that hold speech; NaN where no audio covers it."""
        out = np.full(n_seconds, np.nan)
        if not len(self.is_speech):
            return out
        second = np.floor(self.start_s + (np.arange(len(self.is_speech)) + 0.5) * VAD_FRAME_S).astype(np.int64)
        keep = (second >= 0) & (second < n_seconds)
        counts = np.bincount(second[keep], minlength=n_seconds)
        speech = np.bincount(second[keep], weights=self.is_speech[keep].astype(float), minlength=n_seconds)
        covered = counts > 0
        out[covered] = speech[covered] / counts[covered]
        return out


def detect_speech(path: str | Path, clock_origin_s: float = 0.0) -> SpeechActivity | None:
    """Speech activity of the first audio stream of `path`; None if it has no audio stream.

    Times are on the call clock (stream time - `clock_origin_s`, see `pipeline.video.VideoInfo`). Audio
    packets that do not decode are skipped (their frames count as no audio, not as silence).
    """
    import webrtcvad

    vad = webrtcvad.Vad(VAD_AGGRESSIVENESS)
    frame_samples = round(VAD_RATE * VAD_FRAME_S)
    decisions: list[bool] = []
    pending = np.zeros(0, np.int16)  # samples not yet a whole frame: memory stays flat for hour-long calls

    def judge(samples: np.ndarray) -> None:
        nonlocal pending
        pending = np.concatenate([pending, samples.reshape(-1).astype(np.int16)])
        whole = len(pending) // frame_samples * frame_samples
        for start in range(0, whole, frame_samples):
            decisions.append(vad.is_speech(pending[start:start + frame_samples].tobytes(), VAD_RATE))
        pending = pending[whole:]

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio or container.streams.audio[0].codec_context is None:
            return None  # no audio, or none FFmpeg can decode
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=VAD_RATE)
        start_s: float | None = None
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                continue
            for frame in frames:
                if start_s is None and frame.pts is not None:
                    start_s = float(frame.pts * frame.time_base) - clock_origin_s
                for out in resampler.resample(frame):
                    judge(out.to_ndarray())
        for out in resampler.resample(None):
            judge(out.to_ndarray())
    return SpeechActivity(np.array(decisions, bool), max(0.0, start_s or 0.0))


@dataclass(frozen=True)
class TalkTimeline:
    """Who is talking in every second of the call."""

    speech: np.ndarray  # (n_seconds,) float: fraction of the second holding speech; NaN: no audio
    speaking: tuple[str, ...]  # (n_seconds,) one of SPEAKING_VALUES

    def __len__(self) -> int:
        return len(self.speaking)

    def talking(self, role: str) -> np.ndarray:
        """(n_seconds,) bool: the seconds `role` talked, alone or, for the rep and the prospect, at once ("both"); for a
        guest (a participant-N role), the seconds a guest on screen talked ("other": which guest is not kept, so every
        guest's likely surprise in them is uncertain, `pipeline.uncertainty.TALKING_MOUTH`: new-user trial 49's talking
        guest read "surprise" off her open mouth and got a chart shift the prospect's talk would not have made)."""
        if role in (REP, PROSPECT):
            return np.isin(np.array(self.speaking), (role, BOTH))
        return np.array(self.speaking) == OTHER


def _smooth(values: np.ndarray) -> np.ndarray:
    """(n,) -> (n,): each second's median with its two neighbours where both have a value; where one has, the
    weighted average `EDGE_WEIGHTS` of the second and that neighbour; else its own value (NaN stays NaN).

    A median, not an average, inside a run: a dip inside a turn is filled from both sides, but the next talker's
    opening mouth never spills into the second before their turn. At a run's edge (the silence before a turn, a face
    cut in by an active-speaker view) its one neighbour props up the turn's first, often partly silent, second."""
    known = np.isfinite(values)
    out = np.array(values, np.float64)
    own, neighbour = EDGE_WEIGHTS
    for shift in (1, -1):  # a neighbour on one side only
        other = np.roll(values, shift)
        other_known = np.roll(known, shift)
        other_known[0 if shift == 1 else -1] = False
        opposite_known = np.roll(known, -shift)
        opposite_known[-1 if shift == 1 else 0] = False
        edge = known & other_known & ~opposite_known
        out[edge] = (own * values[edge] + neighbour * other[edge]) / (own + neighbour)
    if len(values) >= 3:
        window = np.stack([values[:-2], values[1:-1], values[2:]])
        inner = np.isfinite(window).all(axis=0)
        out[1:-1][inner] = np.median(window[:, inner], axis=0)
    return out


def _motion(track: TrackSecondRows, n_seconds: int) -> np.ndarray:
    """(n_seconds,) one track's peak mouth motion per second; NaN where its mouth was not measured."""
    motion = np.full(n_seconds, np.nan)
    if track.mouth_motion is not None:
        inside = track.seconds < n_seconds
        motion[track.seconds[inside]] = track.mouth_motion[inside]
    return motion


def quiet_baseline(motions: list[np.ndarray], speech: np.ndarray, listening: np.ndarray | None = None) -> float | None:
    """One person's quiet mouth motion, from all their tracks' (n_seconds,) motion (`_motion`); None if never measured.

    The QUIET_PERCENTILE of their quiet seconds they listened (`listening`: (n_seconds,) bool, `listening_seconds`), a
    second being quiet when its motion is at most QUIET_OUTLIER_FACTOR times their stillest level
    (QUIET_ANCHOR_PERCENTILE), or at most the median of their seconds without speech (of the seconds they listened, when
    fewer than MIN_QUIET_SECONDS are without speech); when fewer than MIN_QUIET_SECONDS quiet seconds were listened, of
    their quiet seconds without speech; when those are fewer too, of both together, or of all their quiet seconds when
    those are fewer still.

    The median's floor came with new-user trial 45 (2026-12-07): a still mouth's low level can be a fifth of a person's
    seconds and 3-4x under its usual one (a small self-view whose pixels the encoder repeats exactly from one sampled
    frame to the next, a head moving in whole pixels: 0.00-0.05 against 0.13-0.17), so the stillest level put the usual
    one above the outlier line and every second of speech lifted the silent face 3x. Its speaker views (the stage
    following whichever guest talks, the rep's 90-px self-view beside it) had the rep talking in 47-53 seconds they did
    not (52 of 52 in the call where they never talked): "rep 61-78%" against 0-29%. On the trial's stored calls
    (`/root/rapport-runs/s48/talk/eval45.py`): false rep seconds 240 -> 87 (those three calls 0 each), the rep's talk
    found 140 -> 134 of 177 seconds, the prospect's 263 -> 277 of 381; trial 42's five two-person calls
    (`/root/rapport-runs/s47/talk/eval2.py`) 191 of 247 either way, and trials 43-44's stored calls give the same seconds.
    (A floor at the 35th percentile of all seconds did as well for the rep, but took a prospect who talked two thirds of
    a call for quiet: their 35th percentile is talk.)

    Pooled over the person's tracks: in an active-speaker recording a face is cut to only while it talks, so one
    track alone may hold no quiet second, while the same person's other tracks (a gallery part, their tile after
    the last turn) do.

    Measured with `who_speaks` on the stored analyses of new-user trials 11 and 12 (2026-12-05, 13 calls with mouths
    that move with the voice, 636 seconds with a truth; `/root/rapport-runs/s37/compare.py`): 420 seconds right with the
    75th percentile of all silent seconds, 551 with quiet seconds only. Trial 11's MP4 whose video starts 2.5 s late had
    3 turn ends among its rep's 7 silent seconds (1.05, 0.89, 0.60 against 0.11-0.16): baseline 0.75, the rep never
    talked (10 of 50 seconds right, now 36). Trial 12's calls with few pauses, each at a turn's end: late camera 18 ->
    45 of 50 (its on-time control 18 -> 48), phone 17 -> 37 of 40, three people 29 -> 40 of 43; no call lost more than a
    second. Trials 9 and 10 (7 calls, drawn mouths that barely move): 275 -> 333 of 554.

    The listened seconds are taken first (when there are MIN_QUIET_SECONDS of them) since new-user trial 42
    (2026-12-07): silent seconds include a turn's last, whose mouth is still closing, and for a soft face whose talking
    mouth moves only ~2x its still one QUIET_OUTLIER_FACTOR cannot tell them apart (a prospect's baseline 0.26 from
    such seconds against a listening level of 0.15-0.24; their talk at 0.43 then lifted 1.6, under MOUTH_MOVING_LIFT).
    Measured with `LEAD_LIFT` on the trial's five two-person analyses: 180 -> 191 of 247 seconds right, no call worse.

    The listened seconds came with new-user trial 38 (2026-12-07): in its two-person galleries whose turns had no pause
    between them, a talking mouth moved 1.8-2.1x a listening one, so "all quiet seconds" held half the person's talk
    and lifted their baseline over it (the rep's 0.325 against a listening level of ~0.25): 0 of 40 and 1 of 45
    seconds right, "someone off camera" 38 and 44 s. Over the trial's 8 stored analyses (`/root/rapport-runs/s45/talk/`)
    111 -> 143 of 321 seconds right (g_left 0 -> 12, leave_return 1 -> 17, teams_strip 18 -> 21, g_right 24 -> 25; none
    worse).
    """
    measured = [np.isfinite(m) for m in motions]
    if not any(known.any() for known in measured):
        return None
    motion = np.concatenate([m[known] for m, known in zip(motions, measured)])
    silent = np.concatenate([~(speech[known] >= SPEECH_MIN_FRACTION) for known in measured])
    listened = (np.concatenate([listening[known] for known in measured]) if listening is not None
                else np.zeros(len(motion), bool))
    line = QUIET_OUTLIER_FACTOR * np.percentile(motion, QUIET_ANCHOR_PERCENTILE)
    for pool in (silent, listened):  # never under a usual level of the mouth while nobody, or someone else, talks
        if pool.sum() >= MIN_QUIET_SECONDS:
            line = max(line, float(np.median(motion[pool])))
            break
    quiet = motion <= line
    for seconds in (quiet & listened, quiet & silent, quiet & (silent | listened)):
        if seconds.sum() >= MIN_QUIET_SECONDS:
            break
    else:
        seconds = quiet
    return max(BASELINE_FLOOR, float(np.percentile(motion[seconds], QUIET_PERCENTILE)))


def listening_seconds(motion: dict[str, np.ndarray], speech: np.ndarray) -> dict[str, np.ndarray]:
    """Role -> (n_seconds,) bool: the seconds of speech in which someone else's mouth moved more than theirs, each
    mouth's motion over its own median (so a grainy face's noise and a sharp one's talk compare fairly): the seconds
    they were likely listening. `motion` is role -> (n_seconds,) their peak mouth motion, NaN where not measured. In
    a conversation whose turns follow each other without a pause these are a person's only quiet seconds that are not
    their own talk (`quiet_baseline`)."""
    relative = {role: m / np.nanmedian(m) if np.isfinite(m).any() else m for role, m in motion.items()}
    heard = speech >= SPEECH_MIN_FRACTION
    listening = {}
    for role, own in relative.items():
        others = [m for other, m in relative.items() if other != role]
        louder = np.fmax.reduce(others) > own if others else np.zeros(len(speech), bool)  # NaN compares False
        listening[role] = heard & louder
    return listening


def mouth_lift(track: TrackSecondRows, n_seconds: int, speech: np.ndarray, baseline: float | None = None) -> np.ndarray:
    """(n_seconds,) one track's smoothed mouth motion over its quiet baseline; NaN where its mouth was not measured.

    baseline: the person's `quiet_baseline` over all their tracks; None: this track's own.
    """
    motion = _motion(track, n_seconds)
    quiet = np.isfinite(motion) & ~(speech >= SPEECH_MIN_FRACTION)
    # smoothed over neighbouring seconds of speech only: a turn's first second is not diluted by the silence before it
    smoothed = _smooth(np.where(quiet, np.nan, motion))
    if baseline is None:
        baseline = quiet_baseline([motion], speech)
    return motion if baseline is None else smoothed / baseline


def talking_lift(lift: np.ndarray, speech: np.ndarray) -> float:
    """One person's usual lift while they talk: the median of their (n_seconds,) `mouth_lift` over the seconds of
    speech where it is at least MOUTH_MOVING_LIFT (MOUTH_MOVING_LIFT if there are none)."""
    moving = lift[(speech >= SPEECH_MIN_FRACTION) & (lift >= MOUTH_MOVING_LIFT)]
    return float(np.median(moving)) if len(moving) else MOUTH_MOVING_LIFT


def _frames_on_screen(tracks: list[TrackSecondRows], roles: dict[int, str], n_seconds: int) -> dict[str, np.ndarray]:
    """Role -> (n_seconds,) int: the sampled frames of the second that showed the person's face (their most seen track)."""
    frames: dict[str, np.ndarray] = {}
    for track in tracks:
        role = roles.get(track.track_id)
        if role is None:
            continue
        inside = track.seconds < n_seconds
        own = np.zeros(n_seconds, np.int64)
        own[track.seconds[inside]] = track.n_frames[inside]
        frames[role] = np.maximum(frames.get(role, own), own)
    return frames


def shows_turns(frames: dict[str, np.ndarray]) -> bool:
    """Whether the recording shows its people in turns, one at a time (an active-speaker view): see TURNS_MAX_TOGETHER
    and TURNS_MIN_CUTS.

    frames: `_frames_on_screen`. Two people are together in a second when their frames add up to more than the
    recording samples in a second (the median, over seconds with a face, of the most frames any person had); a person
    is alone in a second where no one else is on screen.
    """
    if len(frames) < 2:
        return False
    stacked = np.stack(list(frames.values()))  # (people, n_seconds)
    counts = np.sort(stacked, axis=0)  # ascending per second
    seen = counts[-1] > 0
    if not seen.any():
        return False
    per_second = np.median(counts[-1][seen])
    together = counts[-1] + counts[-2] > per_second
    alone = seen & (counts[-2] == 0)
    sequence = stacked.argmax(axis=0)[alone]  # who is alone on screen, second after second
    cuts = int(np.count_nonzero(sequence[1:] != sequence[:-1]))
    return bool(together[seen].mean() <= TURNS_MAX_TOGETHER and cuts >= TURNS_MIN_CUTS)


def main_stage(tracks: list[TrackSecondRows]) -> list[TrackSecondRows]:
    """The tracks that are no thumbnail (see THUMBNAIL_SHARE): each track's median face width against the widest."""
    widths = [float(np.median(t.boxes[:, 2] - t.boxes[:, 0])) if len(t.seconds) else 0.0 for t in tracks]
    widest = max(widths, default=0.0)
    return [t for t, w in zip(tracks, widths) if w >= THUMBNAIL_SHARE * widest]


def cameras_off(frames: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Role -> (n_seconds,) bool: the seconds the rep's or the prospect's camera is taken to be off: inside a stretch
    off screen of CAMERA_OFF_MIN_S or more, for a person with at most CAMERA_OFF_MAX_STRETCHES of them. Empty when one
    of the two was never seen.

    frames: `_frames_on_screen` (every track, thumbnails included)."""
    if REP not in frames or PROSPECT not in frames:
        return {}
    off = {}
    for role in (REP, PROSPECT):
        away = np.concatenate([[False], frames[role] == 0, [False]])
        starts, ends = np.flatnonzero(away[1:] & ~away[:-1]), np.flatnonzero(~away[1:] & away[:-1])
        stretches = [(a, b) for a, b in zip(starts, ends) if b - a >= CAMERA_OFF_MIN_S]
        off[role] = np.zeros(len(frames[role]), bool)
        if len(stretches) <= CAMERA_OFF_MAX_STRETCHES:
            for a, b in stretches:
                off[role][a:b] = True
    return off


def speaker_thumbnail_roles(tracks: list[TrackSecondRows], roles: dict[int, str]) -> dict[int, str]:
    """Second -> the role an active speaker's thumbnail showed then (`pipeline.roles.speaker_thumbnails`, each role a
    different person): the call app shows whoever talks there, so while it is the only face on screen it is a recording
    of turns (`who_speaks`), and the one it does not show is no camera off. New-user trial 47: a screen share's
    thumbnail showed the rep, so the prospect was off screen, and the voice of a video on the slide and 3 s of the rep's
    talk were the prospect's "camera off"; trial 48: between a gallery's stretches, the rep's talk in the thumbnail,
    his the only face on screen, was "someone off camera" (13 s: rep 39% shown, 57% true)."""
    on_screen: dict[int, dict[str, np.ndarray]] = {}
    for track in tracks:
        role = roles.get(track.track_id)
        for second, box in zip(track.seconds.tolist(), track.boxes) if role is not None else ():
            known = on_screen.setdefault(second, {}).get(role)
            if known is None or box_area(box) > box_area(known):
                on_screen[second][role] = np.asarray(box, np.float64)
    everyone = set(roles.values())
    return speaker_thumbnails(on_screen, {(a, b) for a in everyone for b in everyone if a != b})


def _camera_off(off: dict[str, np.ndarray], frames: dict[str, np.ndarray], measured: dict[str, np.ndarray],
                talked_s: dict[str, int], s: int, joined: dict[str, int]) -> str | None:
    """The rep or the prospect whose camera is off in second `s` (`cameras_off`), while everyone else seen on the call
    is on screen with a measured (and, as the caller found, still) mouth that was seen moving when they talked; None
    otherwise (see the module's decision table and CAMERA_OFF_MIN_TALK_S).

    frames: `_frames_on_screen`; measured: role -> (n_seconds,) bool, whether any of the person's tracks measured
    their mouth in the second; talked_s: role -> seconds of speech in which their mouth moved; joined: role -> the
    first second they were on screen: a guest not there yet is no one to ask (a code review: trial 36's late joiner
    kept the rule off until they came), while one gone since may only have turned their camera off."""
    for away in (REP, PROSPECT):
        if away in off and off[away][s] and all(
                frames[role][s] > 0 and measured[role][s] and talked_s[role] >= CAMERA_OFF_MIN_TALK_S
                for role in frames if role != away and (role in (REP, PROSPECT) or joined[role] <= s)):
            return away
    return None


def on_stage(stage: dict[str, np.ndarray], speech: np.ndarray) -> list[str | None]:
    """Per second of a recording of turns, who the talker shown is: the person filling most of the second on the main
    stage (`main_stage`'s `_frames_on_screen`), moved to the next person the view cuts to within TURN_CUT_DELAY_S of a
    run of speech's start, or at a cut second; None where nobody fills the second (a cut with no face after it)."""
    n = len(speech)
    talking = speech >= SPEECH_MIN_FRACTION
    shown: list[str | None] = []
    on_screen = np.sum(list(stage.values()), axis=0)
    for s in range(n):
        role = max(stage, key=lambda r: stage[r][s])
        shown.append(role if 2 * stage[role][s] > on_screen[s] else None)
    out = list(shown)
    start = 0  # where the run of speech holding second s started
    for s in range(n):
        if s == 0 or not talking[s - 1]:
            start = s
        if not talking[s] or (shown[s] is None and not on_screen[s]):  # silence, or no face: nothing cut to
            continue
        ahead = range(s + 1, min(n, (s + 1) if shown[s] is None else (start + TURN_CUT_DELAY_S)) + 1)
        for t in ahead:
            if t >= n or not talking[t]:
                break
            if shown[t] is not None and shown[t] != shown[s]:
                out[s] = shown[t]
                break
    for t in range(1, n):  # the second before a cut holds the new talker's start (the app cuts ~1 s after it)
        if shown[t] is not None and shown[t - 1] is not None and shown[t] != shown[t - 1] and talking[t - 1]:
            out[t - 1] = shown[t]
    return out


def talk_by_person(speech: np.ndarray, tracks: list[TrackSecondRows], people: dict[int, int]) -> dict[int, int]:
    """Person -> seconds they talked, before anyone has a role (`pipeline.roles.decide_roles` breaks a tie for the
    prospect with it): each person read by `who_speaks` as the prospect among guests, their seconds those it gives to
    the prospect. `speech` (n_seconds,) as for `who_speaks`; `people`: track id -> person (tracks not in it left out)."""
    tracks = [track for track in tracks if track.track_id in people]
    return {person: who_speaks(speech, tracks, {track.track_id: PROSPECT if people[track.track_id] == person
                                                else f"participant-{people[track.track_id]}" for track in tracks}
                               ).speaking.count(PROSPECT)
            for person in sorted(set(people.values()))}


def who_speaks(speech: np.ndarray, tracks: list[TrackSecondRows], roles: dict[int, str]) -> TalkTimeline:
    """Speaking per second from the speech fractions (`SpeechActivity.per_second`) and each person's mouths.

    speech: (n_seconds,) float, NaN where the call has no audio; tracks: per-track seconds with `mouth_motion`;
    roles: track id -> role (rep, prospect, participant-N: one person's tracks share a role). See the module's
    decision table.
    """
    n = len(speech)
    lift: dict[str, np.ndarray] = {}
    measured: dict[str, np.ndarray] = {}  # role -> (n,) bool: their mouth was measured in the second
    own = {role: [track for track in tracks if roles.get(track.track_id) == role] for role in sorted(set(roles.values()))}
    motions = {role: [_motion(track, n) for track in theirs] for role, theirs in own.items()}
    with np.errstate(all="ignore"):  # (seconds no track of a person measured: NaN)
        listening = listening_seconds({role: np.fmax.reduce(m) if m else np.full(n, np.nan)
                                       for role, m in motions.items()}, speech)
    for role, theirs in own.items():
        baseline = quiet_baseline(motions[role], speech, listening[role])
        measured[role] = np.isfinite(np.stack(motions[role])).any(axis=0) if theirs else np.zeros(n, bool)
        lift[role] = np.zeros(n)
        for track in theirs:
            lift[role] = np.fmax(lift[role], np.nan_to_num(mouth_lift(track, n, speech, baseline)))
    strength = {role: values / talking_lift(values, speech) for role, values in lift.items()}
    talked_s = {role: int(np.count_nonzero((speech >= SPEECH_MIN_FRACTION) & (values >= MOUTH_MOVING_LIFT)))
                for role, values in lift.items()}
    frames = _frames_on_screen(tracks, roles, n)
    stage = _frames_on_screen(main_stage(tracks), roles, n)
    turns = shows_turns(stage)
    off = {} if turns else cameras_off(frames)  # in a recording of turns, the one off screen is the listener
    relay = {s: role for s, role in speaker_thumbnail_roles(tracks, roles).items() if s < n}
    for seconds in off.values():  # beside an active speaker's thumbnail, the one it does not show is no camera off
        seconds[list(relay)] = False
    joined = {role: int(np.argmax(count > 0)) if count.any() else n for role, count in frames.items()}
    # the seconds an active speaker's thumbnail is the only face on screen are a recording of turns too
    alone = {s for s, role in relay.items() if all(frames[other][s] == 0 for other in frames if other != role)}
    if turns:
        shown = on_stage(stage, speech)
    elif alone:
        shown = on_stage({role: np.where([s in alone and relay[s] == role for s in range(n)], count, 0)
                          for role, count in frames.items()}, speech)
    else:
        shown = [None] * n
    speaking = []
    by_camera_off: list[int] = []  # seconds given to a camera off
    for s in range(n):
        if not np.isfinite(speech[s]):
            speaking.append(UNKNOWN)
            continue
        if speech[s] < SPEECH_MIN_FRACTION:
            speaking.append(NONE)
            continue
        moving = {role: strength[role][s] for role in lift if lift[role][s] >= MOUTH_MOVING_LIFT}
        if not moving:
            leader = _leading(lift, measured, s)
            if leader is not None:
                speaking.append(leader if leader in (REP, PROSPECT) else OTHER)
            elif shown[s] is not None:  # a recording of turns: the talker is on screen
                speaking.append(shown[s] if shown[s] in (REP, PROSPECT) else OTHER)
            else:  # no face, or not a recording of turns: only a camera off says who
                away = _camera_off(off, frames, measured, talked_s, s, joined)
                if away is not None:
                    by_camera_off.append(s)
                speaking.append(away or OFF_CAMERA)
            continue
        strongest = max(moving, key=moving.get)
        if REP in moving and PROSPECT in moving and min(moving[REP], moving[PROSPECT]) >= BOTH_RATIO * moving[strongest]:
            speaking.append(BOTH)
        else:
            speaking.append(strongest if strongest in (REP, PROSPECT) else OTHER)
    return TalkTimeline(np.asarray(speech, np.float64), tuple(_pauses_kept(speaking, by_camera_off, speech)))


def _pauses_kept(speaking: list[str], by_camera_off: list[int], speech: np.ndarray) -> list[str]:
    """`speaking` with each run of at most `PAUSE_MAX_S` seconds given to a camera off (`_camera_off`: seconds
    `by_camera_off`) inside one run of speech, between seconds that one other person (the rep or the prospect) talked
    with a moving mouth, given back to that person: their mouth stilled mid-sentence."""
    talking = speech >= SPEECH_MIN_FRACTION
    out = list(speaking)
    gap = sorted(by_camera_off)
    runs = [[s] for s in gap[:1]]
    for s in gap[1:]:
        if s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    for run in runs:
        before, after = run[0] - 1, run[-1] + 1
        if (len(run) <= PAUSE_MAX_S and before >= 0 and after < len(out) and talking[before] and talking[after]
                and out[before] == out[after] in (REP, PROSPECT) and out[before] != out[run[0]]):
            out[run[0]:run[-1] + 1] = [out[before]] * len(run)
    return out


def _leading(lift: dict[str, np.ndarray], measured: dict[str, np.ndarray], s: int) -> str | None:
    """The role whose mouth clearly leads in second `s` (`LEAD_LIFT`, `LEAD_RATIO`) among two or more faces measured
    then, or None. `lift`: role -> (n,) lift (0 where not measured); `measured`: role -> (n,) bool."""
    seen = sorted(((float(lift[role][s]), role) for role in lift if measured[role][s]), reverse=True)
    if len(seen) < 2:
        return None
    (top, role), (runner_up, _) = seen[0], seen[1]
    return role if top >= LEAD_LIFT and top >= LEAD_RATIO * runner_up else None


def no_audio(n_seconds: int) -> np.ndarray:
    """(n_seconds,) speech fractions of a call without audio: all unknown."""
    return np.full(n_seconds, np.nan)
