"""Shifts: sustained changes of a role's dominant emotion, and the strongest moments.

Seconds are grouped into runs of the same shown emotion. Seconds without a face and uncertain
seconds (`EmotionTimeline.shown`) neither break nor extend a run: an absent or unreadable face says
nothing about the mood, so it is never counted as "not positive". Runs shorter than `min_seconds`
are flicker and ignored, except negative ones in a row (crying reads sad, fear and angry in turn: `NEGATIVE_SPELL`),
as is a short neutral dip inside a spell (`DIP_MAX_S`); each stable run
whose emotion differs from the previous stable one, and
whose emotion's likelihood rose by at least `MIN_RISE` over it, is a shift, so crying (sad) turning
into a smile (happy) over a few seconds, with unreadable seconds in between, is one positive shift.
Direction (`direction`) follows `config.VALENCE`, the product's one valence table, and names where
the mood went: a turn to happy is positive, a turn to angry/disgust/fear/sad is negative, anything
else (to neutral or surprise, or between two emotions of one valence) is neutral. So a smile that
fades (happy -> neutral) is a neutral shift, not "turned negative": a new-user trial (27) found
happy -> surprise counted among the prospect's negative shifts, as the valence difference alone
(1 -> 0) made it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from config import EMOTIONS, NEGATIVE_EMOTIONS, UNCERTAIN, VALENCE
from pipeline.timeline import EmotionTimeline


MIN_RISE = 0.3
"""A change of shown emotion is a shift only when the new emotion's mean calibrated probability over its run rose by
at least this much over the previous run's: a face near the border of two emotions flips between them with encoding
noise. Measured on the shifts stored by new-user trials 9-12 (2026-12-05, 24 shifts, `/root/rapport-runs/s37/
shift_probe.py`): every shift at a change of the truth rose 0.53-0.93; trial 12's "neutral -> happy" on a neutral face
read at happy 0.53 as a still rose 0.16, and appeared in one encoding of the call and not in the other."""


@dataclass(frozen=True)
class EmotionShift:
    role: str
    t_s: float  # first second of the new emotion
    from_emotion: str
    to_emotion: str
    direction: str  # positive | negative | neutral
    strength: float  # rise of the new emotion's mean probability, 0..1
    duration_s: float  # how long the new emotion held


@dataclass(frozen=True)
class _Run:
    emotion: str
    seconds: np.ndarray
    weighed: tuple[str, ...] = ()
    """The emotions whose summed probability measures the run's rise (`MIN_RISE`): () for its own emotion alone; every
    negative emotion for a negative spell (`NEGATIVE_SPELL`)."""

    def joined(self, other: "_Run") -> "_Run":
        """This run and `other` (of the same emotion) as one."""
        return _Run(self.emotion, np.concatenate([self.seconds, other.seconds]), self.weighed or other.weighed)

    def likelihood(self, probs: np.ndarray, seconds: np.ndarray) -> float:
        """Mean over `seconds` of the probability of this run's emotion (or of its `weighed` ones together)."""
        columns = [EMOTIONS.index(e) for e in (self.weighed or (self.emotion,))]
        return float(np.mean(probs[np.ix_(seconds, columns)].sum(axis=1)))


def _runs(timeline: EmotionTimeline) -> list[_Run]:
    runs: list[tuple[str, list[int]]] = []
    for second, emotion in enumerate(timeline.shown):
        if emotion is None or emotion == UNCERTAIN:
            continue
        if runs and runs[-1][0] == emotion:
            runs[-1][1].append(second)
        else:
            runs.append((emotion, [second]))
    return [_Run(e, np.array(s)) for e, s in runs]


NEGATIVE_SPELL = tuple(e for e in EMOTIONS if e in NEGATIVE_EMOTIONS)
"""Shorter runs of negative emotions one after another (uncertain and unseen seconds between them aside) that last
`min_seconds` in all are one stable run of their commonest emotion, its rise weighed on the negative emotions together:
a crying face reads sad, fear and angry in turn. New-user trial 41's crying prospect read sad 0 s, fear 3 s, angry 5-6
s, sad 10-11 s (and 9 uncertain seconds between), so no run was stable and the turn to a smile made no shift."""


def _stable(runs: list[_Run], min_seconds: float) -> list[_Run]:
    """The runs of at least `min_seconds`, and each negative spell (`NEGATIVE_SPELL`) as one run; other short runs go
    (flicker), and part a spell."""
    stable: list[_Run] = []
    spell: list[_Run] = []

    def close_spell() -> None:
        seconds = np.concatenate([run.seconds for run in spell]) if spell else np.zeros(0, int)
        if len(seconds) >= min_seconds:
            counts = {e: sum(len(run.seconds) for run in spell if run.emotion == e) for e in NEGATIVE_SPELL}
            stable.append(_Run(max(NEGATIVE_SPELL, key=lambda e: counts[e]), np.sort(seconds), NEGATIVE_SPELL))
        spell.clear()

    for run in runs:
        if len(run.seconds) < min_seconds and run.emotion in NEGATIVE_SPELL:
            spell.append(run)
            continue
        close_spell()
        if len(run.seconds) >= min_seconds:
            stable.append(run)
    close_spell()
    return stable


def direction(from_emotion: str, to_emotion: str) -> str:
    """"positive" for a turn to a positive emotion from one that was not, "negative" for a turn to a negative
    emotion from one that was not, else "neutral" (see the module docstring)."""
    before, after = VALENCE[from_emotion], VALENCE[to_emotion]
    if after > 0 and before <= 0:
        return "positive"
    if after < 0 and before >= 0:
        return "negative"
    return "neutral"


DIP_MAX_S = 5
"""A stable neutral run shorter than this many seconds between two runs of one other emotion, each at least as long as
it, is a dip inside one spell, not two shifts: a new-user trial (19) got one prospect's 20-s angry spell, read neutral
for 3 s in its middle, as "turned negative 2 times" (and the rep's negative shifts per 10 minutes counted it twice).
Only neutral dips: a 3-s smile inside a neutral stretch is a moment of its own."""


def _without_dips(runs: list[_Run]) -> list[_Run]:
    """Stable runs with runs of one emotion that only flicker parted joined, and each `DIP_MAX_S` neutral dip folded
    into the spell around it (its seconds left out of the spell), until none is left (a folded spell may make the dip
    before it one too)."""
    while True:
        out: list[_Run] = []
        for run in runs:
            if out and out[-1].emotion == run.emotion:  # the same emotion resumed after flicker
                out[-1] = out[-1].joined(run)
            elif (len(out) >= 2 and run.emotion != "neutral" and out[-2].emotion == run.emotion
                  and out[-1].emotion == "neutral" and len(out[-1].seconds) < DIP_MAX_S
                  and min(len(out[-2].seconds), len(run.seconds)) >= len(out[-1].seconds)):
                out[-2:] = [out[-2].joined(run)]
            else:
                out.append(run)
        if len(out) == len(runs):
            return out
        runs = out


def detect_shifts(timeline: EmotionTimeline, min_seconds: float = 3.0) -> list[EmotionShift]:
    stable = _without_dips(_stable(_runs(timeline), min_seconds))
    shifts = []
    previous: _Run | None = None
    for run in stable:
        if previous is not None and run.emotion != previous.emotion:
            before = run.likelihood(timeline.probs, previous.seconds)
            after = run.likelihood(timeline.probs, run.seconds)
            if after - before < MIN_RISE:  # the same mood read across a border: the reference run stays
                continue
            shifts.append(EmotionShift(
                role=timeline.role,
                t_s=float(run.seconds[0]),
                from_emotion=previous.emotion,
                to_emotion=run.emotion,
                direction=direction(previous.emotion, run.emotion),
                strength=round(after - before, 3),
                duration_s=float(run.seconds[-1] - run.seconds[0] + 1),
            ))
        if previous is None or run.emotion != previous.emotion:
            previous = run
        else:  # the same emotion resumed after flicker: extend the reference run
            previous = previous.joined(run)
    return shifts


def strongest_moments(timeline: EmotionTimeline, count: int = 3, min_gap_s: int = 10,
                      min_probability: float = 0.4, talking: np.ndarray | None = None) -> list[int]:
    """Seconds where a non-neutral emotion was most probable (>= `min_probability`), `min_gap_s` apart.

    Only a second shown with an emotion beside another shown second qualifies: uncertain seconds are never key
    moments, nor is one second read between seconds that were uncertain or not seen (a glimpse the face around it
    does not bear out: a new-user trial, 28, got a "clearest expression" still from one such second). Nor is a second
    `talking` ((n_seconds,) bool: the face's person talks in it): a mouth open mid-word reads as surprise (new-user
    trial 12: 5 of 180 talking seconds shown as surprise, none of 219 silent ones, and two key moments were such
    frames)."""
    non_neutral = np.nan_to_num(np.delete(timeline.probs, EMOTIONS.index("neutral"), axis=1), nan=0.0).max(axis=1)
    shown = timeline.classified & ~timeline.uncertain
    beside_shown = np.zeros_like(shown)
    beside_shown[1:] |= shown[:-1]
    beside_shown[:-1] |= shown[1:]
    non_neutral[~(shown & beside_shown)] = 0.0
    if talking is not None:
        non_neutral[talking] = 0.0
    chosen: list[int] = []
    for second in np.argsort(-non_neutral, kind="stable"):
        if non_neutral[second] < min_probability or len(chosen) == count:
            break
        if all(abs(int(second) - c) >= min_gap_s for c in chosen):
            chosen.append(int(second))
    return sorted(chosen)
