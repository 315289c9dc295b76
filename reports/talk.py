"""Talk metrics of a call: who talked how much, the rep's longest monologue, interruptions, and how the
prospect likely looked while listening, while speaking and just after each rep monologue.

Read from the per-second `speaking` values (`pipeline.speech`) and the prospect's likely emotion per
second (`reports.facts.load_timeline`), so the review page and both reports show the same numbers.
Talk time is not emotion recognition: the rep's talk time is measured even when rep analysis is off.
The definitions are written once, in `DEFINITIONS`, and shown wherever the numbers are.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.roles import PROSPECT, REP
from pipeline.speech import BOTH, NONE, OFF_CAMERA, OTHER, SPEAKING_LABELS, UNKNOWN
from pipeline.timeline import clock
from reports.summary import Mood, _mood, readable  # _mood: the one mood-of-rows computation

MONOLOGUE_PAUSE_S = 2
"""A rep pause (nobody talking) of up to this many seconds does not end a monologue (breaths, slides)."""
MONOLOGUE_MIN_S = 5
"""Rep runs of talk at least this long count as monologues for the prospect's reaction after them."""
REACTION_WINDOW_S = 5
"""Seconds after a monologue ends in which the prospect's reaction is read."""
INTERRUPTION_MIN_OVERLAP_S = 2
"""An overlap is an interruption when it lasts at least this many seconds, or when the one talking before it talks on
after it (they were talked over). One second of both at a change of turn is a handover: a second holds the end of one
turn and the start of the next even with a pause between them (new-user trial 17: "rep cut in 3x" on a call whose turns
were 0.5-0.8 s apart)."""
TALK_RATIO_MIN_S = 10
"""Seconds of the rep's and the prospect's talk together below which no talk ratio is given (their seconds are):
a new-user trial's 50-s call showed "rep 0%, prospect 100%" as a headline from 4 s of talk (46 s of its speech came
from someone off camera)."""
UNPLACED_MAX_SHARE = 0.5
"""Seconds of speech placed on neither face while the rep's and the prospect's were both on screen (theirs, unplaced:
`TalkMetrics.off_camera_both_seen_s`) over this share of their placed talking seconds leave no talk ratio: placed
either way they could move it by more than a third. New-user trial 38: a gallery whose rep's mouth moved little read
"rep 18%" (4 s placed against the prospect's 18, 22 s unplaced; truth 52%)."""

UNPLACED_NOTE_SHARE = 0.2
"""Speech placed on no face (`OFF_CAMERA` seconds) of at least this share of the rep's and the prospect's talking seconds
is said beside a given talk ratio, on the same line: placed either way it could move the ratio by a sixth or more.
New-user trial 44: "rep 60%, prospect 40% (30 s and 20 s)" against a truth of 41/59, the prospect's other 20 s of talk
heard while no mouth moved, which only the "Others talking" row said further down."""


def ratio_withheld(rep_s: float, prospect_s: float, off_camera_s: float, rep_on_screen_s: float,
                   guest_s: float = 0.0, unplaced_s: float = 0.0) -> str | None:
    """Why no talk ratio is given, the first that holds of: "no rep" (no face on screen was the rep's,
    `rep_on_screen_s` 0: trial 13's active-speaker call took the rep for the prospect and the prospect for a guest, and
    read "rep 0%"), "too little" (under `TALK_RATIO_MIN_S` of the rep's and the prospect's talking seconds together),
    "more unplaced" (more seconds of speech came from someone off camera, `off_camera_s`: heard while no mouth on
    screen moved, than from the two of them; trial 12: a rep whose turns went to "someone off camera" was headlined
    "rep 0%, prospect 100%"), "too much unplaced" (over `UNPLACED_MAX_SHARE` of their seconds again heard with both
    their faces on screen and placed on neither, `unplaced_s`), "silent side" (the face taken for the rep or the
    prospect never talked while a guest on screen did, `guest_s`: trial 36's Teams speaker view took a silent guest's
    thumbnail for the rep and read "rep 0%" of a rep who talked half the call; trial 39 a silent colleague for the
    prospect, "rep 100%"); None when a ratio is given."""
    both = rep_s + prospect_s
    if not rep_on_screen_s:
        return "no rep"
    if both < TALK_RATIO_MIN_S:
        return "too little"
    if off_camera_s > both:
        return "more unplaced"
    if unplaced_s > UNPLACED_MAX_SHARE * both:
        return "too much unplaced"
    if guest_s and not (rep_s and prospect_s):
        return "silent side"
    return None


def talk_ratio(rep_s: float, prospect_s: float, off_camera_s: float, rep_on_screen_s: float,
               guest_s: float = 0.0, unplaced_s: float = 0.0) -> float | None:
    """The rep's share of the rep's and the prospect's talking seconds, `rep_s / (rep_s + prospect_s)`; None where
    `ratio_withheld` gives a reason."""
    withheld = ratio_withheld(rep_s, prospect_s, off_camera_s, rep_on_screen_s, guest_s, unplaced_s)
    return None if withheld else rep_s / (rep_s + prospect_s)


TALK_TIME_NOT_EMOTION = ("Talk time comes from the audio and mouth movement, not from emotion recognition: it is "
                         "measured for the rep even when rep analysis is off.")
AUDIO_NOT_KEPT = ("The audio is read from the uploaded recording only: no audio is stored apart from it, and it goes "
                  "with the recording under retention.")

DEFINITIONS = {
    "Talk ratio": "the rep's talking seconds as a share of the rep's and the prospect's together (a second both "
                  "talk counts for both; in a call of the two alone, a voice heard while one has their camera off and "
                  "the other's mouth is still counts for the one off camera); a guest's talk and speech from someone "
                  f"off camera are counted apart, in neither side. Not given from fewer than {TALK_RATIO_MIN_S} s of "
                  "their talk, when more speech came from someone off camera than from the two of them, or speech "
                  f"with both their faces on screen and no mouth moving came to over {UNPLACED_MAX_SHARE:.0%} of "
                  "theirs, when no face on screen was taken for the rep, or when the rep's or the prospect's face "
                  "never talked while a guest's did; called rough where such speech came to "
                  f"{UNPLACED_NOTE_SHARE:.0%} or more of theirs.",
    "Longest rep monologue": f"the longest stretch of seconds only the rep talks, pauses of up to "
                             f"{MONOLOGUE_PAUSE_S} s included.",
    "Interruptions": "overlaps (both talking) that the other side started and that lasted "
                     f"{INTERRUPTION_MIN_OVERLAP_S} s or more, or after which the first talker went on: the prospect "
                     "cutting in while the rep talks, or the rep while the prospect talks. A single second of both "
                     "at a change of turn is a handover, not an interruption. Overlaps are found only where both "
                     "mouths read as moving together, so a count is a floor.",
    "Prospect while listening / speaking": "the prospect's likely mood in the seconds the rep talks / the prospect "
                                           "talks (shares of the seconds their face was read).",
    "After each monologue": f"the prospect's most likely emotion in the {REACTION_WINDOW_S} s after each rep "
                            f"monologue of {MONOLOGUE_MIN_S} s or more ends.",
    "Others talking": "seconds of speech from a guest on screen (neither the rep nor the prospect: their mouth moves) "
                      "and speech while no mouth on screen moves and nothing says whose: someone off camera (nobody on "
                      "screen, or a guest on the call), or the rep and the prospect on screen with mouths that moved too "
                      "little to tell.",
}


@dataclass(frozen=True)
class Reaction:
    """The prospect in the seconds after one rep monologue."""

    start_s: int  # the monologue's first second
    end_s: int  # the second after its last
    emotion: str | None  # the prospect's most likely emotion in REACTION_WINDOW_S after it; None: face not read


@dataclass(frozen=True)
class TalkMetrics:
    seconds: dict[str, int]  # speaking value -> seconds (pipeline.speech.SPEAKING_VALUES)
    longest_monologue: tuple[int, int] | None  # (start, end) seconds of the rep's longest monologue
    interruptions: dict[str, int]  # who started the overlap -> count
    listening: Mood  # the prospect while the rep talks
    speaking: Mood  # the prospect while they talk
    reactions: list[Reaction]
    audio: bool  # False: the recording had no audio (everything unknown)
    rep_on_screen_s: int  # seconds a face taken for the rep was on screen (0: no face was)
    off_camera_both_seen_s: int = 0
    """Seconds of speech placed on no face ("someone off camera") in which the rep's and the prospect's faces were both on
    screen: their mouths moved too little to tell whose it was (new-user trial 38: a gallery of the two, on screen every
    second, read "38 s ... someone off camera")."""

    @property
    def rep_talk_s(self) -> int:
        """Seconds the rep talks (alone or with the prospect)."""
        return self.seconds[REP] + self.seconds[BOTH]

    @property
    def prospect_talk_s(self) -> int:
        """Seconds the prospect talks (alone or with the rep)."""
        return self.seconds[PROSPECT] + self.seconds[BOTH]

    @property
    def withheld(self) -> str | None:
        """Why no talk ratio is given (`ratio_withheld`); None: one is."""
        return ratio_withheld(self.rep_talk_s, self.prospect_talk_s, self.seconds[OFF_CAMERA], self.rep_on_screen_s,
                              self.seconds[OTHER], self.off_camera_both_seen_s)

    @property
    def talk_ratio(self) -> float | None:
        """rep / (rep + prospect) talking seconds (`talk_ratio`); None: not given (`withheld` says why)."""
        return None if self.withheld else self.rep_talk_s / (self.rep_talk_s + self.prospect_talk_s)

    @property
    def longest_monologue_s(self) -> int:
        return self.longest_monologue[1] - self.longest_monologue[0] if self.longest_monologue else 0


def _runs(values: list[str], wanted: set[str], bridge: set[str] = frozenset(), max_gap: int = 0) -> list[tuple[int, int]]:
    """(start, end) of runs of `wanted` values; gaps of up to `max_gap` `bridge` values inside a run are kept."""
    runs, start, last = [], None, None
    for s, value in enumerate(values):
        if value in wanted:
            if start is None:
                start = s
            elif s - last - 1 > max_gap or any(v not in bridge for v in values[last + 1:s]):
                runs.append((start, last + 1))
                start = s
            last = s
    if start is not None:
        runs.append((start, last + 1))
    return runs


def talk_metrics(seconds: pd.DataFrame) -> TalkMetrics | None:
    """The call's talk metrics from its per-second rows (`reports.facts.SECOND_COLUMNS`); None if who was talking
    was never measured (a call analysed before it was)."""
    if "speaking" not in seconds or not len(seconds):
        return None
    per_second = seconds.drop_duplicates("second").sort_values("second")
    if per_second["speaking"].isna().all():
        return None
    speaking = [v if isinstance(v, str) else UNKNOWN for v in per_second["speaking"]]
    counts = {v: speaking.count(v) for v in SPEAKING_LABELS}
    monologues = _runs(speaking, {REP}, {NONE}, MONOLOGUE_PAUSE_S)
    interruptions = {REP: 0, PROSPECT: 0}
    for start, end in _runs(speaking, {BOTH}):
        before = next((v for v in reversed(speaking[:start]) if v != NONE), None)
        after = next((v for v in speaking[end:] if v != NONE), None)
        # the one who was not talking started the overlap, and held it or was talked over
        if before in (REP, PROSPECT) and (end - start >= INTERRUPTION_MIN_OVERLAP_S or after == before):
            interruptions[PROSPECT if before == REP else REP] += 1
    prospect = seconds[seconds["role"] == PROSPECT].set_index("second")
    said = pd.Series(speaking, index=per_second["second"].to_numpy())
    listening = prospect[said.reindex(prospect.index).isin([REP]).to_numpy()]
    talking = prospect[said.reindex(prospect.index).isin([PROSPECT]).to_numpy()]
    reactions = []
    for start, end in monologues:
        if end - start >= MONOLOGUE_MIN_S:
            after = prospect[(prospect.index >= end) & (prospect.index < end + REACTION_WINDOW_S)]
            read = after["dominant"][readable(after)]
            reactions.append(Reaction(start, end, read.mode().iloc[0] if len(read) else None))
    present = seconds.assign(present=seconds["face_present"].fillna(False).astype(bool))
    rep_on_screen_s = int(present.loc[present["role"] == REP, "present"].sum())
    both_seen = present[present["role"].isin([REP, PROSPECT])].groupby("second")["present"].sum() == 2
    off_camera_both_seen_s = int(sum(said == OFF_CAMERA and both_seen.get(second, False)
                                     for second, said in zip(per_second["second"], speaking)))
    return TalkMetrics(counts, max(monologues, key=lambda r: r[1] - r[0]) if monologues else None, interruptions,
                       _mood(listening), _mood(talking), reactions, counts[UNKNOWN] < len(speaking), rep_on_screen_s,
                       off_camera_both_seen_s)


def _mood_words(mood: Mood, talk_s: int, talker: str, both_s: int = 0) -> str:
    """The prospect's mood in the `talk_s` seconds `talker` ("the rep was", "they were") was heard talking alone;
    `both_s`: seconds both sides talked at once (new-user trial 45: "they were never heard talking" beside a talk ratio
    that gave the prospect 45 s, every one of them at once with the rep)."""
    if not talk_s and both_s:
        return f"{talker} heard only at once with the other side ({both_s} s)"
    if not talk_s:  # not "face not read": there was nothing to read (trial 33); not "the rep never heard talking",
        return f"{talker} never heard talking"  # which read as the rep heard no one (trial 34)
    if not mood.seconds:
        return "face not read"
    return f"likely positive {mood.positive:.0%}, likely negative {mood.negative:.0%} of {mood.seconds} s read"


def talk_rows(metrics: TalkMetrics) -> list[tuple[str, str]]:
    """(name, value) rows the review page and the reports print (names are `DEFINITIONS`' keys)."""
    if not metrics.audio:
        return [("Talk ratio", "unknown: the recording has no audio")]
    start_end = metrics.longest_monologue
    rep_s, prospect_s, off_camera_s = metrics.rep_talk_s, metrics.prospect_talk_s, metrics.seconds[OFF_CAMERA]
    seen = metrics.off_camera_both_seen_s
    unplaced = ("the rep and the prospect were both on screen: their mouths moved too little to tell whose"
                if 2 * seen >= off_camera_s else "someone off camera")
    withheld = metrics.withheld
    if withheld is None:
        both = metrics.seconds[BOTH]  # counted on each side: said, or the two add up to more than the call (trials 39-40)
        ratio = (f"rep {metrics.talk_ratio:.0%}, prospect {1 - metrics.talk_ratio:.0%} ({rep_s} s and {prospect_s} s"
                 + (f", {both} s of them both at once)" if both else ")"))
        if off_camera_s >= UNPLACED_NOTE_SHARE * (rep_s + prospect_s):
            ratio += f"; rough: {off_camera_s} s more speech came with no mouth moving on screen ({unplaced})"
    elif withheld == "no rep":
        ratio = "not given: no face on screen was taken for the rep (check the roles under Fix roles)"
    elif withheld == "too little":
        ratio = f"too little talk seen to compare: rep {rep_s} s, prospect {prospect_s} s" + (
            f"; {off_camera_s} s more came with no mouth moving on screen ({unplaced})" if off_camera_s else "")
        # trial 20: "rep 0 s, prospect 0 s" on a call with 27 s of speech, none of it placed on a face
    elif withheld in ("more unplaced", "too much unplaced"):
        ratio = (f"not given: {'more' if withheld == 'more unplaced' else 'too much'} speech came with no mouth moving on screen ({off_camera_s} s; "
                 f"{unplaced}) against the rep's {rep_s} s and the prospect's {prospect_s} s")
    else:  # "silent side"
        ratio = (f"not given: the face taken for the {'rep' if not rep_s else 'prospect'} never talked, while a guest "
                 f"on screen talked {metrics.seconds[OTHER]} s (check the roles under Fix roles)")
    # no rep on screen: not "the rep was never heard talking" (trial 36: said of a rep who talked half the call)
    listening = (_mood_words(metrics.listening, metrics.seconds[REP], "the rep was", metrics.seconds[BOTH])
                 if metrics.rep_on_screen_s
                 else "not known: no face was taken for the rep")
    return [
        ("Talk ratio", ratio),
        ("Longest rep monologue", f"{metrics.longest_monologue_s} s from {clock(start_end[0])}" if start_end else "none"),
        ("Interruptions", f"prospect cut in {metrics.interruptions[PROSPECT]}×, rep cut in {metrics.interruptions[REP]}×"),
        ("Prospect while listening / speaking",
         f"{listening} / {_mood_words(metrics.speaking, metrics.seconds[PROSPECT], 'they were', metrics.seconds[BOTH])}"),
        ("After each monologue", "; ".join(f"{clock(r.end_s)}: {('likely ' + r.emotion) if r.emotion else 'not read'}"
                                           for r in metrics.reactions) or f"no rep monologue of {MONOLOGUE_MIN_S} s or more"),
        ("Others talking", f"{SPEAKING_LABELS[OTHER]} on screen {metrics.seconds[OTHER]} s, "
                           + (f"speech with no mouth seen moving {off_camera_s} s (the rep and the prospect both on "
                              f"screen in {seen} s of them: their mouths moved too little to tell whose)" if seen else
                              f"{SPEAKING_LABELS[OFF_CAMERA]} {off_camera_s} s")),
    ]


GUESSED_ROLES_TALK = "Who is who was guessed, so the talk below may be someone else's: check Fix roles."
"""Beside a call's talk rows while its roles are a guess (`Call.roles_guessed`), on the review page and in `show`
(new-user trial 18: a stakeholder guessed as the prospect headlined "rep 77%", truth 53%; trial 42: `show` printed
"rep 74%" of a split prospect's call, truth 50%)."""
TALK_NOT_MEASURED = "Not measured: this call was analysed before Rapport measured who is talking; re-analyse it."
TALK_HEADER = ("Talk", "This call", "Definition")


def talk_table(metrics: TalkMetrics | None) -> list[tuple[str, str, str]]:
    """The reports' "Who is talking" table: `talk_rows` with each row's definition (empty: not measured)."""
    return [(name, value, DEFINITIONS.get(name, "")) for name, value in talk_rows(metrics)] if metrics else []


def speaking_at(seconds: pd.DataFrame, t_s: float) -> str | None:
    """Who was talking at `t_s` in words (`SPEAKING_LABELS`), or None if not measured or unknown (no audio: a key
    moment's label said "unknown (no audio) talking", and was cut off for it, in a new-user trial, 28)."""
    if "speaking" not in seconds:
        return None
    value = seconds.loc[seconds["second"] == int(t_s), "speaking"].dropna()
    return SPEAKING_LABELS.get(value.iloc[0]) if len(value) and value.iloc[0] != UNKNOWN else None
