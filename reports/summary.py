"""What a report says: shares of likely emotions, mood, shifts per stage, talking points, key moments.

`summarize_timeline` is the one computation behind the review page's numbers and both exports, and the
table rows here (`facts_rows`, `headline_rows`, `stage_rows`) are what the PDF and the HTML print.
Every emotion is worded as "likely": coaching hints read from faces, not verdicts about people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from config import EMOTIONS, NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS, UNCERTAIN, VALENCE
from db.models import EmotionSecond
from pipeline.roles import PROSPECT, REP
from pipeline.timeline import clock
from pipeline.uncertainty import NO_CLEAR_EXPRESSION, SMALL_FACE
from reports.facts import (CallFacts, CallTimeline, MarkedStage, Moment, Note, load_stages, load_timeline, shipped_on_calls,
                           weakest_label)


HINTS_NOT_VERDICTS = ("Emotions are the model's likely reading of facial expressions: coaching hints to discuss, "
                      "not verdicts about anyone.")
REP_ANALYSIS_WHY = "the EU AI Act prohibits inferring the emotions of people at their workplace"


REP_ANALYSIS_OFF = (f"The rep's emotions were not analysed on this call: rep analysis was off when it was uploaded "
                    f"({REP_ANALYSIS_WHY}).")
REP_NOT_IDENTIFIED = ("No one on this call was identified as the rep: Rapport found no gallery, self-view or enrolled "
                      "face to tell by, for long enough (a self-view whose face is under about 40 px wide in a 720p "
                      "recording, a small picture-in-picture, is not found), so only the prospect is shown. If the "
                      "rep is on screen, pick them in the Fix roles tab of the call's review page.")
"""Trial 32: a 240x135 picture-in-picture self-view (a 40-px face in 1280x720) was never found, and the words then said
the recording showed no self-view. The size is `model.blazeface.EDGE_WINDOW`'s measurement (self-views sit at the
picture's edge): faces of 42 px in a 720p source found there in 90-93% of photos, 38 px in 63-68%, 34 px in 27-38%."""


def rep_not_shown(facts: CallFacts) -> str | None:
    """Why the call's pages and reports show no rep (`REP_ANALYSIS_OFF`, `REP_NOT_IDENTIFIED`), or None."""
    return REP_ANALYSIS_OFF if not facts.rep_analysis else None if facts.rep_identified else REP_NOT_IDENTIFIED


MAX_REPORT_MOMENTS = 12
MIN_SECONDS_TO_COMPARE = 10  # read seconds a third of the call or a stage needs before its mood is compared or praised
MIN_CALL_S_FOR_THIRDS = 180
"""Shortest call (seconds) whose first and last thirds are compared, a minute each: a mood trend is a matter of minutes.
A new-user trial (28) had three 40-s calls, each neutral at both ends around one 15-s happy stretch, told "warmed up"
(+40, +50 points) or "cooled down" (-33) by where that stretch fell."""
TOO_SHORT = "call too short"
TOO_LITTLE_SEEN = "too little seen"


@dataclass(frozen=True)
class Mood:
    """Shares (0-1) of the read seconds whose most likely emotion was positive / negative, and how many were read."""

    positive: float
    negative: float
    seconds: int = 0  # read seconds behind the shares (see `readable`); 0: nothing to say

    @property
    def balance(self) -> float:
        return self.positive - self.negative

    @property
    def comparable(self) -> bool:
        return self.seconds >= MIN_SECONDS_TO_COMPARE


@dataclass(frozen=True)
class StageSummary:
    name: str
    start_s: float
    end_s: float
    seen: float
    shares: dict[str, float]
    mood: Mood
    negative_shifts: int
    positive_shifts: int

    @property
    def most_likely(self) -> str | None:
        return max(self.shares, key=self.shares.get) if self.seen else None


@dataclass(frozen=True)
class CallSummary:
    n_seconds: int
    seen: dict[str, float]  # share of the call each role's face was read
    seen_seconds: dict[str, int]  # how many seconds that was (the shares' sample)
    shares: dict[str, dict[str, float]]  # role -> emotion -> share of seen time
    mood: dict[str, Mood]  # role -> whole-call mood
    first_positive_shift: dict | None  # the prospect's
    first_negative_shift: dict | None  # the prospect's
    negative_shifts: dict[str, int]
    prospect_thirds: tuple[Mood, Mood]  # first third, last third
    stages: list[StageSummary]
    prospect_small_seconds: int = 0  # seconds the prospect's face was on screen but too small to read
    prospect_uncertain: tuple[int, str | None] = (0, None)
    """Seconds the prospect's face was on screen but "uncertain", and the commonest reason why."""
    no_video_seconds: int = 0  # seconds with no picture at all (a video that starts late, a recording cut off)
    first_positive_s: int | None = None
    """The prospect's first read second whose likely emotion was positive: where their mood showed, shift or not."""
    guest_negative_shift: dict | None = None
    """The first negative shift of anyone else on the call (a role participant-N: a colleague, a second stakeholder)."""
    prospect_unclear: tuple[int, tuple[str, ...]] = (0, ())
    """Seconds the prospect's face showed "no clear expression" (uncertain, the face itself fine), and the emotions they
    leaned to: the one most of them read highest (below `pipeline.uncertainty.MIN_TOP_PROBABILITY`) among those of the
    commonest valence, then a runner-up of another valence (`RUNNER_UP_LEAN`), if any; see `unclear_lean`."""
    talking_points: list[str] = field(default_factory=list)

    @property
    def thirds_not_compared(self) -> str | None:
        """Why the prospect's first and last thirds are not compared (`TOO_SHORT`: under `MIN_CALL_S_FOR_THIRDS`;
        `TOO_LITTLE_SEEN`: a third with under `MIN_SECONDS_TO_COMPARE` read seconds), or None: they are. The page,
        the reports and the talking points all ask this."""
        if self.n_seconds < MIN_CALL_S_FOR_THIRDS:
            return TOO_SHORT
        start, end = self.prospect_thirds
        return None if start.comparable and end.comparable else TOO_LITTLE_SEEN


def readable(seconds: pd.DataFrame) -> pd.Series:
    """Which per-second rows count towards shares, moods and talking points: the face was seen and read, and the
    reading is trusted (not "uncertain", see `pipeline.uncertainty`).

    The one place that decides it (`READABLE` says the same to SQL for the calls table), and every number follows.
    """
    return seconds["dominant"].notna() & (seconds["dominant"] != UNCERTAIN)


READABLE = EmotionSecond.dominant.is_not(None) & (EmotionSecond.dominant != UNCERTAIN)  # `readable`, on stored rows


# What a per-second row of a role shows, in the words of the CSV's `status` column and the timeline's hover.
SHOWN = "shown"  # a likely emotion is shown (`readable`)
FACE_NOT_SEEN = "face not seen"  # a picture, but this role's face was not found in it
CLEAREST_EXPRESSION = "clearest expression"
"""What a key moment that is no shift is (the prospect's strongest likely emotion, `pipeline.shifts.strongest_moments`)."""
SHIFT_KINDS = {"positive": "positive shift", "negative": "negative shift", "neutral": "mood change"}
"""How a shift of each `pipeline.shifts.direction` is named on pages and in reports: a turn to neither a positive nor
a negative emotion (to neutral or surprise) is a "mood change", as "neutral shift" read as "went back to neutral" to a
new-user trial (28) for a turn to surprise."""
NO_VIDEO = "no video"  # nothing on screen (before a late video track, after a cut-off or damaged part)
NOT_ANALYSED = "not analysed (rep analysis off)"  # the rep's face was tracked but, by the workspace's choice, never read
REP_UNKNOWN = "rep not identified"
"""The rep's rows of a call on which no one was identified as the rep (`REP_NOT_IDENTIFIED`): the rep may well be on
screen, under another role, until the manager picks them."""
AWAITING_REP = "not read until the rep is known (rep analysis off)"
"""Another person's face, seen on a call analysed with rep analysis off on which no rep was identified among several
people (`pipeline.roles.never_classified`): nobody is read until the manager picks the rep on the call's page, which
queues the re-read."""
UNCERTAIN_WHY = "small or blurred face, or no clear expression"
"""Why a second is `UNCERTAIN`, for rows stored before the reason was (migration 0014; `stored_uncertain_reasons`)."""
SMALL_FACE_SHARE = 0.2
"""A talking point says the prospect's face was too small to read when it was, for at least this share of the
seconds it was on screen (and `SMALL_FACE_MIN_S`): the cure is the recording's layout, not the rep."""
SMALL_FACE_MIN_S = 10
"""...and for at least this many seconds."""


def stored_uncertain_reasons(seconds: pd.DataFrame) -> pd.Series:
    """Per row of `seconds` (columns dominant, uncertain_reason): why it is `UNCERTAIN` (`pipeline.uncertainty`:
    frozen video, small face, turned away, blurred face, open mouth while talking, no clear expression;
    `UNCERTAIN_WHY` for rows stored before it was kept), else None."""
    stored = seconds["uncertain_reason"] if "uncertain_reason" in seconds else [None] * len(seconds)
    return pd.Series([(why if isinstance(why, str) else UNCERTAIN_WHY) if shown == UNCERTAIN else None
                      for shown, why in zip(seconds["dominant"], stored)], index=seconds.index, dtype=object)


def second_statuses(seconds: pd.DataFrame, rep_analysis: bool = True, rep_identified: bool = True) -> pd.Series:
    """Per row of `seconds` (columns role, dominant, face_present, video_present): what it shows, in the words above.

    First that applies: `SHOWN` (`readable`); `UNCERTAIN` (face seen, reading not trusted: `pipeline.uncertainty`);
    `NO_VIDEO`; `REP_UNKNOWN` (the rep's rows on a call with no one identified as the rep, `rep_identified=False`);
    `NOT_ANALYSED` (the rep's rows on a call analysed with rep analysis off, `rep_analysis=False`); `AWAITING_REP`
    (anyone else's face seen but never classified, which only such a call has); else `FACE_NOT_SEEN`.
    """
    rep = seconds["role"] == REP
    seen = seconds["face_present"].astype(bool)
    conditions = [readable(seconds), seconds["dominant"] == UNCERTAIN, ~seconds["video_present"].astype(bool),
                  rep & (not rep_identified), rep & (not rep_analysis or seen), seen]
    return pd.Series(np.select(conditions, [SHOWN, UNCERTAIN, NO_VIDEO, REP_UNKNOWN, NOT_ANALYSED, AWAITING_REP],
                               FACE_NOT_SEEN), index=seconds.index, dtype=object)


def shares_from_counts(counts: Mapping[str, int]) -> dict[str, float]:
    """Share of read seconds per likely emotion; the calls table and the summary both count this way."""
    total = sum(counts.get(e, 0) for e in EMOTIONS)
    return {e: counts.get(e, 0) / total if total else 0.0 for e in EMOTIONS}


def mood_of(shares: Mapping[str, float], seconds: int = 0) -> Mood:
    return Mood(sum(shares[e] for e in POSITIVE_EMOTIONS), sum(shares[e] for e in NEGATIVE_EMOTIONS), seconds)


def _counts(rows: pd.DataFrame) -> dict[str, int]:
    return rows["dominant"][readable(rows)].value_counts().to_dict()


def _shares(rows: pd.DataFrame) -> dict[str, float]:
    return shares_from_counts(_counts(rows))


def _first_second(rows: pd.DataFrame) -> int | None:
    return int(rows["second"].min()) if len(rows) else None


def _mood(rows: pd.DataFrame) -> Mood:
    return mood_of(_shares(rows), int(readable(rows).sum()))


def summarize_timeline(timeline: CallTimeline, stages: Sequence[MarkedStage] = ()) -> CallSummary:
    seconds, shifts, n = timeline.seconds, timeline.shifts, max(1, timeline.n_seconds)
    by_role = {role: seconds[seconds["role"] == role] for role in (REP, PROSPECT)}
    shares = {role: _shares(rows) for role, rows in by_role.items()}
    prospect = by_role[PROSPECT]
    thirds = tuple(_mood(prospect[part]) for part in (prospect["second"] < n / 3, prospect["second"] >= 2 * n / 3))
    prospect_shifts = shifts[shifts["role"] == PROSPECT]
    positive = prospect_shifts[prospect_shifts["direction"] == "positive"]
    negative = prospect_shifts[prospect_shifts["direction"] == "negative"]
    stage_summaries = []
    for stage in stages:
        inside = prospect[(prospect["second"] >= stage.start_s) & (prospect["second"] < stage.end_s)]
        stage_shifts = prospect_shifts[(prospect_shifts["t_s"] >= stage.start_s) & (prospect_shifts["t_s"] < stage.end_s)]
        stage_summaries.append(StageSummary(
            stage.name, stage.start_s, stage.end_s, float(readable(inside).mean()) if len(inside) else 0.0,
            _shares(inside), _mood(inside), int((stage_shifts["direction"] == "negative").sum()),
            int((stage_shifts["direction"] == "positive").sum())))
    summary = CallSummary(
        n_seconds=timeline.n_seconds,
        seen={role: float(readable(rows).mean()) if len(rows) else 0.0 for role, rows in by_role.items()},
        seen_seconds={role: int(readable(rows).sum()) for role, rows in by_role.items()},
        shares=shares,
        mood={role: _mood(rows) for role, rows in by_role.items()},
        first_positive_shift=positive.iloc[0].to_dict() if len(positive) else None,
        first_negative_shift=negative.iloc[0].to_dict() if len(negative) else None,
        negative_shifts={role: int(((shifts["role"] == role) & (shifts["direction"] == "negative")).sum())
                         for role in (REP, PROSPECT)},
        prospect_thirds=thirds,  # type: ignore[arg-type]
        stages=stage_summaries,
        prospect_small_seconds=int((stored_uncertain_reasons(prospect) == SMALL_FACE).sum()),
        prospect_uncertain=_uncertain(stored_uncertain_reasons(prospect)),
        no_video_seconds=int((~prospect["video_present"]).sum()) if "video_present" in prospect else 0,
        first_positive_s=_first_second(prospect[readable(prospect) & prospect["dominant"].isin(POSITIVE_EMOTIONS)]),
        prospect_unclear=_unclear(prospect),
        guest_negative_shift=next((shift.to_dict() for _, shift in shifts.sort_values("t_s").iterrows()
                                   if shift["role"] not in (REP, PROSPECT) and shift["direction"] == "negative"), None),
    )
    return replace(summary, talking_points=talking_points(summary))


RUNNER_UP_LEAN = 0.5
"""Unclear seconds lean to a second emotion too ("leaning neutral or sad") when it is of another valence and either the
seconds leaning to its valence are at least this share of the first valence's, or its mean probability over them all is
at least this share of the first's. New-user trial 20's sad stretch (p neutral 0.32-0.50, sad 0.19-0.27, angry
0.17-0.25) read "leaning neutral", which a manager took for "nothing bad happened"; trial 41's crying prospect (9
unclear seconds leaning sad or fear) who then smiled (7 leaning happy, 3 neutral) read "leaning happy or neutral"."""


def _unclear(rows: pd.DataFrame) -> tuple[int, tuple[str, ...]]:
    """(seconds of "no clear expression", the emotion they leaned to and a runner-up of another valence
    (`RUNNER_UP_LEAN`), if any) of one role's rows. The first is the commonest most-likely emotion among the seconds
    of the commonest valence (negative first on a tie): seconds leaning sad and fear outweigh fewer leaning happy."""
    unclear = rows[stored_uncertain_reasons(rows) == NO_CLEAR_EXPRESSION]
    probs = unclear[list(EMOTIONS)].to_numpy(float)
    probs = probs[np.isfinite(probs).all(axis=1)]
    if not len(probs):
        return len(unclear), ()
    by_valence: dict[int, list[int]] = {}
    for k in probs.argmax(axis=1):
        by_valence.setdefault(VALENCE[EMOTIONS[k]], []).append(int(k))
    groups = sorted(by_valence.items(), key=lambda item: (-len(item[1]), item[0]))
    first, *rest = [int(np.bincount(leans).argmax()) for _, leans in groups]
    if rest and len(groups[1][1]) >= RUNNER_UP_LEAN * len(groups[0][1]):
        return len(unclear), (EMOTIONS[first], EMOTIONS[rest[0]])
    mean = probs.mean(axis=0)
    others = [k for k in np.argsort(-mean) if VALENCE[EMOTIONS[k]] != VALENCE[EMOTIONS[first]]]
    runner = [EMOTIONS[others[0]]] if others and mean[others[0]] >= RUNNER_UP_LEAN * mean[first] else []
    return len(unclear), (EMOTIONS[first], *runner)


def _uncertain(reasons: pd.Series) -> tuple[int, str | None]:
    """(seconds with a reason, the commonest reason) of `stored_uncertain_reasons`."""
    counts = reasons.dropna().value_counts()
    return (int(counts.sum()), str(counts.index[0])) if len(counts) else (0, None)


def summarize(call_id: int) -> CallSummary:
    """Share of time per likely emotion and role, first positive prospect shift, negative shifts, mood by thirds, stages."""
    return summarize_timeline(load_timeline(call_id), load_stages(call_id))


def talking_points(summary: CallSummary) -> list[str]:
    """A few data-driven, hedged prompts for the one-to-one (at most five)."""
    points = []
    small = summary.prospect_small_seconds
    small_note = ""
    if small >= SMALL_FACE_MIN_S and small >= SMALL_FACE_SHARE * (small + summary.seen_seconds[PROSPECT]):
        small_note = (f"for {small} s it was on screen but too small to read: record with the prospect pinned or in "
                      "speaker view next time")
    unread, why = summary.prospect_uncertain
    if summary.seen[PROSPECT] < 0.05:
        if small_note:
            return [f"The prospect's face was hardly read: {small_note}."]
        if unread >= SMALL_FACE_MIN_S and unread >= SMALL_FACE_SHARE * (unread + summary.seen_seconds[PROSPECT]):
            # seen but not readable is not "hardly visible" (a trial's backlit prospect read "blurred face" all call)
            return [f"The prospect's face was on screen but hardly read: for {unread} s its reading was uncertain "
                    f"(mostly: {why}), so there is little to read from this call."]
        return ["The prospect's face was hardly visible, so there is little to read from this call: "
                "check the recording layout, or whether their camera was off."]
    read = summary.seen_seconds[PROSPECT]
    if read < MIN_SECONDS_TO_COMPARE:  # a share of a few seconds is no mood (new-user trial 16: "likely positive 100%"
        # from 7 s came first, the caveat fourth)
        return [f"The prospect's face was read only {read} s ({summary.seen[PROSPECT]:.0%} of the call): too little to "
                "tell how they looked" + (f"; {small_note}" if small_note else "") + "."]
    unclear, leaning = summary.prospect_unclear
    leans = bool(unclear_lean(summary)) and any(VALENCE[e] for e in leaning)
    for stage in sorted(summary.stages, key=lambda s: -s.negative_shifts):
        if stage.negative_shifts:
            times = "once" if stage.negative_shifts == 1 else f"{stage.negative_shifts} times"
            points.append(f"The prospect likely turned negative {times} during {stage.name}: replay those moments together.")
            break
    else:  # no stage holds one (or none marked): the turn itself (a new-user trial, 34: happy -> angry went unsaid)
        turn = summary.first_negative_shift
        if turn is not None:
            n = summary.negative_shifts[PROSPECT]
            when = f"at {clock(turn['t_s'])}" if n == 1 else f"{n} times, first at {clock(turn['t_s'])}"
            points.append(f"The prospect likely turned negative {when} ({turn['from_emotion']} → {turn['to_emotion']}): "
                          "replay it together: what was said just before?")
    if (guest := summary.guest_negative_shift) is not None:  # trial 16: a second stakeholder's anger was one key moment
        points.append(f"Someone else on the call likely turned negative at {clock(guest['t_s'])} ({guest['from_emotion']} "
                      f"→ {guest['to_emotion']}): another stakeholder? Replay it: what was said just before?")
    first = summary.first_positive_shift
    if first is not None:
        points.append(f"The prospect's first likely positive turn came at {clock(first['t_s'])} "
                      f"({first['from_emotion']} → {first['to_emotion']}): what did the rep say just before?")
    elif summary.mood[PROSPECT].positive > 0:  # positive, but from their first clear reading on: no turn to mark
        # when it first showed, so a manager can replay it (trial 14: a phone prospect turned happy at 0:21 exactly, after
        # seconds read "turned away", and the page said only "no shift")
        points.append(f"The prospect likely looked positive {summary.mood[PROSPECT].positive:.0%} of the seconds read, "
                      f"first at {clock(summary.first_positive_s or 0)}, but without a clear turn to it (no shift to "
                      "happy: the seconds before showed no clear reading, or one already positive): replay from there to "
                      "see where that mood began.")
    else:
        with_video = summary.n_seconds - summary.no_video_seconds
        read = summary.mood[PROSPECT].seconds
        during = (f"in the {read} s their face was read (of {with_video} s with video)" if read < with_video / 2 else
                  # trial 20: "no clear positive turn during the call" beside a face read a third of it, smiling unread
                  f"in the {with_video} s with video" if summary.no_video_seconds
                  else "during the call")  # a dashboard trial (33): a cut-off file's lost half is not the rep's
        points.append(f"The prospect showed no clear positive turn {during}: look for where they could have been won over.")
    start, end = summary.prospect_thirds
    change = end.balance - start.balance
    # the trend is read from the balance (positive less negative), so the text names what moved: "warmed up ... 0%, 0%"
    # over a prospect whose sadness went away read as a contradiction (new-user trial 14)
    moved = [f"likely positive {start.positive:.0%} → {end.positive:.0%}"] + (
        [f"likely negative {start.negative:.0%} → {end.negative:.0%}"] if start.negative or end.negative else [])
    thirds = (f"{' and '.join(moved)} (of the {start.seconds} s read in the first third and the {end.seconds} s in the "
              "last)")
    if summary.thirds_not_compared == TOO_SHORT:  # no thirds worth comparing, however well read
        points.append(f"The call is too short ({clock(summary.n_seconds)}) to compare the prospect's mood from its "
                      "first to its last third.")
    elif summary.thirds_not_compared == TOO_LITTLE_SEEN:  # (a trial's 20-s call, read throughout, was "hardly read")
        short = [(name, third.seconds) for name, third in (("first", start), ("last", end)) if not third.comparable]
        where = " and ".join(f"the {name} third ({seconds} s)" for name, seconds in short)
        points.append(f"The prospect's face was hardly read in {where} of the call, so there is no telling whether "
                      "they warmed up or cooled down.")
    elif abs(change) >= 0.1:
        trend = "warmed up" if change > 0 else "cooled down"
        points.append(f"The prospect likely {trend} over the call: {thirds}.")
    else:
        points.append(f"The prospect's mood stayed about the same from the first to the last third ({thirds}).")
    best = max((s for s in summary.stages if s.seen > 0.3 and s.mood.comparable), key=lambda s: s.mood.balance,
               default=None)
    if best is not None and len(summary.stages) > 1 and best.mood.positive > 0 and best.mood.balance > 0:
        points.append(f"The prospect looked most positive during {best.name} (likely positive {best.mood.positive:.0%} "
                      f"of the {best.mood.seconds} s their face was read): a strength to build on.")
    if summary.seen[REP] > 0.3:
        rep_happy = summary.shares[REP]["happy"]
        if rep_happy < 0.1:
            points.append(f"The rep likely smiled little ({rep_happy:.0%} of the {summary.seen_seconds[REP]} s they were "
                          f"read): "
                          "warmth on camera tends to be returned.")
        elif summary.mood[REP].negative > 0.25:
            points.append(f"The rep likely looked tense or negative {summary.mood[REP].negative:.0%} of the time.")
    if small_note:  # the cure is known: it goes before the rep's points
        points.insert(min(len(points), 3), f"The prospect's face was read only {summary.seen[PROSPECT]:.0%} of the "
                      f"call ({summary.seen_seconds[PROSPECT]} s): {small_note}.")
    elif summary.seen[PROSPECT] < 0.7 and not leans:  # "read": a likely emotion shown (a trial, 28, took it for "on
        # screen"); where the unclear seconds lean somewhere, the first point below says more
        points.append(f"The prospect's face was read only {summary.seen[PROSPECT]:.0%} of the call "
                      f"({summary.seen_seconds[PROSPECT]} s; the rest uncertain or not seen"
                      + (f", {summary.no_video_seconds} s of it with no video" if summary.no_video_seconds else "")
                      + "), so take these hints lightly.")
    if leans:  # first: what the figures above leave out (`UNCLEAR_LEAN_SHARE`)
        points.insert(0, f"For {unclear} s the prospect's expression was not clear enough to name (shown as uncertain), "
                         f"and those seconds leaned {' or '.join(leaning)}: the shares and shifts cover only the {read} s read clearly. "
                         "Replay the unclear stretch before drawing conclusions.")
    return points[:5]


def key_moments(moments: Sequence[Moment], notes: Sequence[Note], limit: int = MAX_REPORT_MOMENTS) -> list[Moment]:
    """Moments for the report, at most `limit`: those with notes first, then the positive and negative shifts the
    summary counts (the prospect's, then the rep's, then guests'), then other mood changes, then the strongest; in time
    order."""
    noted = {round(n.t_s) for n in notes}

    def rank(m: Moment) -> tuple:
        counted = m.kind == "shift" and m.direction in ("positive", "negative")
        return (round(m.t_s) not in noted, not counted, m.kind != "shift", m.role != PROSPECT, m.role != REP,
                -(m.strength or 0))

    return sorted(sorted(moments, key=rank)[:limit], key=lambda m: m.t_s)


def key_moments_note(shown: int, total: int) -> str | None:
    """What a report says when `key_moments` left moments out (a new-user trial, 19: a 12-minute call's report listed
    12 of its 20 with nothing saying so, beside a summary counting shifts it did not list); None when all are shown."""
    if shown >= total:
        return None
    return (f"{shown} of {total} key moments: those with coaching notes first, then the positive and negative shifts "
            f"(the prospect's, then the rep's), then other mood changes; the review page lists all {total}, and the "
            "timeline marks every shift.")


def still_labels(timeline: CallTimeline, t_s: float, roles: Sequence[str], k: int = 3) -> list[str]:
    """What a still's face labels say, as text: per role, its top `k` likely emotions at that second, or what the
    second shows instead (`second_statuses`: uncertain and why, face not seen, ...; a trial's report said "face not
    read" for a face seen but blurred)."""
    lines = []
    for role in roles:
        row = timeline.seconds[(timeline.seconds["role"] == role) & (timeline.seconds["second"] == int(t_s))]
        if row.empty:
            lines.append(f"{role.capitalize()}: {FACE_NOT_SEEN}")
            continue
        if not readable(row).iloc[0]:
            status, why = second_statuses(row).iloc[0], stored_uncertain_reasons(row).iloc[0]
            lines.append(f"{role.capitalize()}: {status}" + (f" ({why})" if why else ""))
            continue
        probs = row.iloc[0][list(EMOTIONS)].astype(float).sort_values(ascending=False, kind="stable")[:k]
        lines.append(f"{role.capitalize()}: " + ", ".join(
            f"{'likely ' if i == 0 else ''}{emotion} {p:.0%}" for i, (emotion, p) in enumerate(probs.items())))
    return lines


def notes_at(notes: Sequence[Note], t_s: float) -> list[Note]:
    return [n for n in notes if round(n.t_s) == round(t_s)]


GUESSED_ROLES_POINT = ("Who is who was only guessed, not yet checked in Fix roles: each point below about \"the "
                       "prospect\" may be about someone else.")


def shown_points(summary: CallSummary, facts: CallFacts) -> list[str]:
    """The talking points as the review page and the reports show them: led by `GUESSED_ROLES_POINT` while the roles
    are a guess (new-user trial 42: "The prospect showed no clear positive turn" said flatly of a colleague taken for
    the prospect, whose turn to a smile at 0:30 went to a guest)."""
    return ([GUESSED_ROLES_POINT] if facts.roles_guessed else []) + summary.talking_points


def facts_rows(facts: CallFacts) -> list[tuple[str, str]]:
    return [
        ("Rep", facts.rep or "not set"),
        ("Prospect", facts.prospect),
        ("Call date", facts.call_date.isoformat() if facts.call_date else "not set"),
        ("Length", clock(facts.duration_s or 0)),
        *([("Recording", f"partial: {facts.partial_note}")] if facts.partial_note else []),
        # a guessed prospect: every prospect figure below may be someone else's (new-user trial 13)
        *([("Roles", f"only guessed, not yet checked: {facts.roles_note or 'who the prospect is was a guess.'}")]
          if facts.roles_guessed else []),
        ("Analysed", facts.analyzed_at.strftime("%Y-%m-%d %H:%M UTC") if facts.analyzed_at else "not yet"),
        ("Participants told", facts.consent),
    ]


UNCLEAR_LEAN_SHARE = 0.2
"""The prospect's "no clear expression" seconds are worth a word when they are at least this share of their seconds
read or unclear (and `MIN_SECONDS_TO_COMPARE` of them): the shares cover only the clear seconds, and the unclear ones
may lean elsewhere. New-user trial 16: a sad prospect's 35 s all read "no clear expression" (their most likely emotion
sad in 34), beside 35 s of clear smiles: "likely positive 100%", and no turn from sad to happy."""


def unclear_lean(summary: CallSummary) -> str | None:
    """"35 s more unclear, leaning sad" where the prospect's unclear seconds count (`UNCLEAR_LEAN_SHARE`), else None."""
    unclear, lean = summary.prospect_unclear
    read = summary.seen_seconds[PROSPECT]
    if not lean or unclear < MIN_SECONDS_TO_COMPARE or unclear < UNCLEAR_LEAN_SHARE * (unclear + read):
        return None
    return f"{unclear} s more unclear, leaning {' or '.join(lean)}"


UNCLEAR_CARD_SHARE = 0.4
"""From this share of the prospect's seconds read or unclear being unclear, the "Prospect likely positive" card shows
"unclear" in large type, the share of the clear seconds only in its caption (`prospect_positive`). New-user trial 46:
"Prospect likely positive 100%" in large type for a prospect whose hand was over her mouth for 24 of her 50 s (those
leaning sad), "of the 26 s their face was read; 24 s more unclear" in small print under it."""
WEAK_LABEL_NOTE_SHARE = 0.5
"""The prospect's share of the label least often right (of their seconds read) from which `weak_label_note` stands
beside their shares."""


def weak_label_note(summary: CallSummary) -> str | None:
    """What the prospect's shares need beside them (the page, the reports) when most of their seconds read were the
    label least often right on test calls (`weakest_label`, at least `WEAK_LABEL_NOTE_SHARE` of them); None otherwise,
    or when too few seconds were read (`MIN_SECONDS_TO_COMPARE`).
    New-user trial 20: an angry then surprised prospect read "likely neutral" every second at 83-91% (no uncertainty),
    and a sad stretch "leaning neutral": the warning that neutral is often sad or angry was only in the accuracy box."""
    on_calls = shipped_on_calls()
    weak = weakest_label(on_calls) if on_calls else None
    read, shares = summary.seen_seconds[PROSPECT], summary.shares[PROSPECT]
    if weak is None or read < MIN_SECONDS_TO_COMPARE or shares[weak[0]] < WEAK_LABEL_NOTE_SHARE:
        return None
    emotion, shown = weak
    return (f"The prospect was likely {emotion} {shares[emotion]:.0%} of the {read} s read, and on test calls a "
            f"\"likely {emotion}\" was right only {shown['precision']:.0%} of the times it was shown "
            f"({' and '.join(shown['often_truly'])} faces were often read as {emotion}): replay their longest "
            f"{emotion} stretch before relying on it.")


def prospect_positive(summary: CallSummary) -> tuple[str, str | None]:
    """The "Prospect likely positive" figure and what it rests on (the page's card, the reports' facts): the share of
    the seconds read, or a dash and "too little read" under `MIN_SECONDS_TO_COMPARE` of them (new-user trial 16: "100%"
    from 7 s in large type, its sample in small), "unclear" when `UNCLEAR_CARD_SHARE` of their seconds were, "not read"
    for a face on screen but never read, "not seen". "Read clearly", not "of their face": a trial (41) took
    "only 8 s of their face" for a face on screen 8 s, where it was on screen 22 s and read with an emotion in 8."""
    read, lean = summary.seen_seconds[PROSPECT], unclear_lean(summary)
    also = f"; {lean}" if lean else ""
    if not read:
        return ("not read", f"on screen {summary.prospect_uncertain[0]} s, uncertain{also}") \
            if summary.prospect_uncertain[0] else ("not seen", None)
    if read < MIN_SECONDS_TO_COMPARE:  # a dash, the reason under it: as the thirds' card ("call too short")
        return "—", f"too little read: only {read} s read clearly{also}"
    share = f"{summary.mood[PROSPECT].positive:.0%}"
    unclear, leaning = summary.prospect_unclear
    if unclear >= UNCLEAR_CARD_SHARE * (unclear + read):
        lean = f", leaning {' or '.join(leaning)}" if leaning else ""
        return "unclear", f"{unclear} of {unclear + read} s unclear{lean}; likely positive {share} of the {read} s read clearly"
    return share, f"of the {read} s their face was read{also}"


def first_positive(summary: CallSummary) -> tuple[str, str | None]:
    """The "First positive prospect shift" figure (its time, or "none") and, where there was no shift but the prospect
    did look positive, when that first showed (new-user trials 14 and 15: a prospect turned happy at 0:21 exactly, after
    seconds with no clear reading, and the card said only "none")."""
    first = summary.first_positive_shift
    if first is not None:
        return clock(first["t_s"]), None
    if summary.first_positive_s is not None:
        return "none", f"first likely positive at {clock(summary.first_positive_s)}, with no turn to it"
    return "none", None


def headline_rows(summary: CallSummary, roles: Sequence[str]) -> list[tuple[str, str]]:
    start, end = summary.prospect_thirds
    first, first_note = first_positive(summary)
    positive, positive_note = prospect_positive(summary)
    enough = summary.seen_seconds[PROSPECT] >= MIN_SECONDS_TO_COMPARE
    return [
        ("Prospect likely positive", positive if not positive_note else positive_note if positive == "—"
         else f"{positive} {positive_note}" if positive.endswith("%") else f"{positive}: {positive_note}"),
        ("Prospect likely negative", f"{summary.mood[PROSPECT].negative:.0%} of those seconds" if enough else "—"),
        ("First positive prospect shift", first + (f" ({first_note})" if first_note else "")),
        ("Negative shifts", ", ".join(f"{role} {summary.negative_shifts[role]}" for role in reversed(roles))),
        ("Prospect mood, first → last third", summary.thirds_not_compared
         or f"likely positive {_share_of(start)} → {_share_of(end)}"),
        ("Faces read", ", ".join(f"{role} {summary.seen[role]:.0%}" for role in roles) + " of the call"),
    ]


def _share_of(mood: Mood) -> str:
    """'40% of 52 s', or 'not read' when the face was not read at all."""
    return f"{mood.positive:.0%} of {mood.seconds} s" if mood.seconds else "not read"


def stage_rows(summary: CallSummary) -> list[tuple[str, ...]]:
    return [(s.name, f"{clock(s.start_s)}–{clock(s.end_s)}", f"{s.mood.positive:.0%}", f"{s.mood.negative:.0%}",
             s.most_likely or "not seen", str(s.negative_shifts)) for s in summary.stages]


STAGE_HEADER = ("Stage", "Time", "Likely positive", "Likely negative", "Most likely", "Negative shifts")
