"""What a report reads of a call: its facts, per-second rows, stills, script stages, notes.

Each loader is one read of the store, returned as plain values (DataFrames for the per-second rows in
`SECOND_COLUMNS` order) so the review page, the PDF and the HTML report show the same numbers.
A call that does not exist is `NotFound`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import exists, select

from config import EMOTIONS, MODEL_CARD_PATH, UNCERTAIN, get_settings
from db.models import Call, CoachingNote, EmotionSecond, ScriptStage, Shift, Snapshot, Track
from db.session import session_scope
from pipeline.errors import NotFound
from pipeline.roles import PROSPECT, REP
from pipeline.uncertainty import MIN_TOP_PROBABILITY


#: Stage names the review page offers (a manager may type another).
STAGE_NAMES = ("intro", "discovery", "demo", "pricing", "objections", "close")
#: The per-second DataFrame's columns: what `load_timeline` reads, in this order.
SECOND_COLUMNS = ["second", "role", *EMOTIONS, "dominant", "confidence", "uncertain_reason", "face_present",
                  "video_present", "speaking"]


@dataclass(frozen=True)
class CallFacts:
    id: int
    title: str
    rep: str | None
    prospect_name: str | None
    prospect_company: str | None
    call_date: dt.date | None
    duration_s: float | None
    status: str
    error: str | None
    source_path: str | None
    original_filename: str | None
    created_at: dt.datetime
    analyzed_at: dt.datetime | None
    model_version: str | None
    rep_analysis: bool  # False: the rep's face was tracked but never classified (the workspace's choice at upload)
    consent_confirmed_by: str | None
    consent_confirmed_at: dt.datetime | None
    consent_note: str | None
    partial_note: str | None = None  # what the recording lacked (cut off, damaged); None: read whole
    media_purged_at: dt.datetime | None = None  # retention removed the recording, stills and face pictures
    analysis: dict | None = None  # the analysis settings of its latest analysis (`pipeline.analyze.AnalysisSettings`)
    roles_note: str | None = None  # the analysis's doubt about the roles (`pipeline.roles.RoleDecision.note`)
    roles_guessed: bool = False  # who the prospect is rests on a guess, not yet confirmed or fixed (`Call.roles_guessed`)
    rep_identified: bool = True  # False: no face holds the rep's role (the analysis could not tell; Fix roles picks one)
    code_version: str | None = None  # which code analysed it (`config.CODE_VERSION`); None: not recorded

    @property
    def media_purged(self) -> bool:
        return self.media_purged_at is not None

    @property
    def prospect(self) -> str:
        parts = [p for p in (self.prospect_name, self.prospect_company) if p]
        return ", ".join(parts) if parts else "prospect not named"

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles whose emotions this call has: charts, tables and summaries show only these (not the rep's when
        they were not read, or when no one was identified as the rep: a timeline of "face not seen" would say they
        were off camera)."""
        return (REP, PROSPECT) if self.rep_analysis and self.rep_identified else (PROSPECT,)

    @property
    def consent(self) -> str:
        if not self.consent_confirmed_by or not self.consent_confirmed_at:
            return "not recorded (the call was added without confirming that the participants were told)"
        note = f" ({self.consent_note})" if self.consent_note else ""
        return f"confirmed by {self.consent_confirmed_by} on {self.consent_confirmed_at:%Y-%m-%d %H:%M} UTC{note}"


@dataclass(frozen=True)
class CallTimeline:
    """Per-second rows of both roles (`SECOND_COLUMNS`) and the shifts, as the store holds them."""

    seconds: pd.DataFrame
    shifts: pd.DataFrame

    @property
    def n_seconds(self) -> int:
        return int(self.seconds["second"].max()) + 1 if len(self.seconds) else 0


@dataclass(frozen=True)
class Moment:
    """A key moment with its annotated still: a shift (with direction) or a strong prospect moment."""

    t_s: float
    kind: str
    caption: str
    image: Path
    role: str | None = None
    direction: str | None = None
    strength: float | None = None
    emotion: str | None = None  # the role's most likely emotion from this moment on (a shift's "to"); None: not read

    @property
    def text(self) -> str:
        """The caption as people read it (the stills are drawn with ASCII arrows)."""
        return self.caption.replace("->", "→")


@dataclass(frozen=True)
class MarkedStage:
    id: int
    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Note:
    id: int
    t_s: float
    text: str
    author: str | None


def load_facts(call_id: int) -> CallFacts:
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            raise NotFound(f"call {call_id} not found")
        return CallFacts(call.id, call.title, call.rep.name if call.rep else None, call.prospect_name,
                         call.prospect_company, call.call_date, call.duration_s, call.status, call.error, call.source_path,
                         call.original_filename, call.created_at, call.analyzed_at, call.model_version,
                         (call.settings or {}).get("rep_analysis", True) is not False, call.consent_confirmed_by,
                         call.consent_confirmed_at, call.consent_note, call.partial_note,
                         media_purged_at=call.media_purged_at, analysis=dict(call.settings or {}),
                         roles_note=call.roles_note, roles_guessed=call.roles_guessed,
                         rep_identified=session.scalar(select(exists().where(Track.call_id == call.id, Track.role == REP))),
                         code_version=call.code_version)


def _read_shifts(connection, call_id: int) -> pd.DataFrame:
    return pd.read_sql(select(Shift.role, Shift.t_s, Shift.from_emotion, Shift.to_emotion, Shift.direction,
                              Shift.strength, Shift.duration_s).where(Shift.call_id == call_id).order_by(Shift.t_s),
                       connection)


def load_shifts(call_id: int) -> pd.DataFrame:
    """The call's stored shifts in time order (`CallTimeline.shifts`), without its per-second rows."""
    with session_scope() as session:
        return _read_shifts(session.connection(), call_id)


def load_timeline(call_id: int) -> CallTimeline:
    with session_scope() as session:
        connection = session.connection()
        seconds = pd.read_sql(select(*(getattr(EmotionSecond, c) for c in SECOND_COLUMNS))
                              .where(EmotionSecond.call_id == call_id).order_by(EmotionSecond.role, EmotionSecond.second),
                              connection)
        shifts = _read_shifts(connection, call_id)
    seconds[list(EMOTIONS) + ["confidence"]] = seconds[list(EMOTIONS) + ["confidence"]].astype(float)
    seconds[["face_present", "video_present"]] = seconds[["face_present", "video_present"]].astype(bool)
    return CallTimeline(seconds, shifts)


def load_moments(call_id: int) -> list[Moment]:
    """The call's stills in time order, each naming the likely emotion it shows (a shift's new one, else that second's)."""
    data_dir = get_settings().data_dir
    with session_scope() as session:
        rows = session.execute(select(Snapshot, Shift).outerjoin(Shift, Snapshot.shift_id == Shift.id)
                               .where(Snapshot.call_id == call_id).order_by(Snapshot.t_s)).all()
        dominant = dict(((role, second), emotion) for role, second, emotion in session.execute(
            select(EmotionSecond.role, EmotionSecond.second, EmotionSecond.dominant).where(
                EmotionSecond.call_id == call_id, EmotionSecond.second.in_({int(snap.t_s) for snap, _ in rows}))))
        return [Moment(snap.t_s, snap.kind, snap.caption, data_dir / snap.path, shift.role if shift else PROSPECT,
                       shift.direction if shift else None, shift.strength if shift else None,
                       shift.to_emotion if shift else dominant.get((PROSPECT, int(snap.t_s))))
                for snap, shift in rows]


def load_stages(call_id: int) -> list[MarkedStage]:
    with session_scope() as session:
        rows = session.scalars(select(ScriptStage).where(ScriptStage.call_id == call_id).order_by(ScriptStage.start_s))
        return [MarkedStage(s.id, s.name, s.start_s, s.end_s) for s in rows]


def load_notes(call_id: int) -> list[Note]:
    with session_scope() as session:
        rows = session.scalars(select(CoachingNote).where(CoachingNote.call_id == call_id)
                               .order_by(CoachingNote.t_s, CoachingNote.id))
        return [Note(n.id, n.t_s, n.text, n.author) for n in rows]


def model_accuracy() -> str:
    """`model_accuracy_parts` in one text (the reports print it whole)."""
    headline, details = model_accuracy_parts()
    return f"{headline}. {details}" if details else f"{headline}."


def model_accuracy_parts() -> tuple[str, str]:
    """The shipped model's measured accuracy in words, and which emotions it reads best and worst (from its card), as
    (the headline sentence without its full stop, the sentences that say how far to trust a reading): the dashboard
    shows the headline on every page and the rest a click away (new-user trial 20: over 100 words on every page).

    With an end-to-end figure measured on this very file (`on_calls`, `tools.video_eval --record`), the words are what
    a manager reads off a label: which shown labels were right most often and which least (`when_shown`), and which
    emotions' faces were missed most (recall). F1 ranks the emotions only on older cards and on FER2013 stills: a
    new-user recheck (session 41) read "least reliable for disgust" beside disgust right 90% of the times it was shown
    (F1 mixes being right when shown with being missed)."""
    card = _card()
    try:
        accuracy = float(card["fer2013_val_accuracy"])
    except (KeyError, TypeError, ValueError):
        return "Model accuracy not yet measured", ""
    words = f"Model accuracy: {accuracy:.0%} on FER2013 val faces (7 emotions)"
    per_class = card.get("splits", {}).get("fer2013_val_tta" if card.get("flip_tta") else "fer2013_val", {}).get("per_class")
    f1 = {e: per_class[e]["f1"] for e in EMOTIONS} if per_class else None
    on_calls = shipped_on_calls(card)
    if on_calls:
        words = (f"Model accuracy: on test call recordings {on_calls['accuracy']:.0%} of faces read right, and "
                 f"{on_calls['accuracy_when_shown']:.0%} of the emotions it shows ({on_calls['n_faces']} labelled faces "
                 f"in {on_calls['n_calls']} generated calls); {accuracy:.0%} on FER2013 val faces (7 emotions)")
        f1 = on_calls["per_class_f1"]
    details = []
    if on_calls and on_calls.get("when_shown") and on_calls.get("per_class_recall"):
        details.append(_label_words(on_calls))
    elif f1:
        ranked = sorted(EMOTIONS, key=lambda e: f1[e], reverse=True)
        words += f"; most reliable for {ranked[0]} and {ranked[1]}, least for {ranked[-2]} and {ranked[-1]}"
    weak = weakest_label(on_calls) if on_calls else None
    if weak:  # where a manager needs it, so in the headline
        words += ". " + _weak_label_words(*weak)
    return words, ". ".join([*details, confidence_words(on_calls)])


def _card() -> dict:
    """The shipped model's card (`model/model_card.json`); {} when missing or unreadable."""
    try:
        card = json.loads(MODEL_CARD_PATH.read_text())
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def shipped_on_calls(card: dict | None = None) -> dict | None:
    """The card's (default: the shipped model's) end-to-end figure (`tools.video_eval --record`) if it was measured on
    this very file, else None."""
    card = _card() if card is None else card
    on_calls = card.get("on_calls")
    return on_calls if on_calls and on_calls.get("model") == card.get("version") else None


def _label_words(on_calls: dict) -> str:
    """Which shown labels were right most often (of those shown at least `WEAK_LABEL_MIN_SHARE` of the time) and the
    two emotions whose faces were missed most (recall)."""
    shown = on_calls["when_shown"]
    total = sum(v["n"] for v in shown.values())
    common = sorted((e for e, v in shown.items() if v["n"] >= WEAK_LABEL_MIN_SHARE * total),
                    key=lambda e: shown[e]["precision"], reverse=True)
    sentences = []
    if len(common) >= 2:
        best = [f"{e} ({shown[e]['precision']:.0%})" for e in common[:2]]
        sentences.append(f"Shown emotions were right most often for {best[0]} and {best[1]}")
    recall = on_calls["per_class_recall"]
    missed = sorted(EMOTIONS, key=lambda e: recall[e])[:2]
    sentences.append(f"Missed most often: {missed[0]} and {missed[1]} faces, read as such "
                     f"{recall[missed[0]]:.0%} and {recall[missed[1]]:.0%} of the time")
    return ". ".join(sentences)


def _weak_label_words(emotion: str, shown: dict) -> str:
    return (f"A \"likely {emotion}\" was right {shown['precision']:.0%} of the times it was shown: "
            f"{' and '.join(shown['often_truly'])} faces are often read as {emotion}")


WEAK_LABEL_GAP = 0.1
"""A label shown on test calls (`on_calls.when_shown`) whose precision falls this far or more under the emotions shown
overall (`accuracy_when_shown`) is named on every screen: a new-user trial (19) found "likely neutral" right 55% of the
time it was shown, every other label 88-100%, while the accuracy line named only the emotions read best and worst (by
F1, which hides where the misread faces go)."""
WEAK_LABEL_MIN_SHARE = 0.05
"""...if it was at least this share of the seconds shown (a label shown a few times says little)."""


def weakest_label(on_calls: dict) -> tuple[str, dict] | None:
    """(emotion, {n, precision, often_truly}) of the label least often right when shown, if `WEAK_LABEL_GAP` under the
    shown emotions' accuracy; else None (also for a card recorded before `when_shown` was)."""
    shown = on_calls.get("when_shown") or {}
    total = sum(v["n"] for v in shown.values())
    candidates = [(e, v) for e, v in shown.items() if v["n"] >= WEAK_LABEL_MIN_SHARE * total and v["often_truly"]]
    if not candidates or on_calls.get("accuracy_when_shown") is None:
        return None
    emotion, worst = min(candidates, key=lambda item: item[1]["precision"])
    return (emotion, worst) if worst["precision"] <= on_calls["accuracy_when_shown"] - WEAK_LABEL_GAP else None


SOURCE_WORDS = {"wild_test": "in-the-wild faces", "fer2013_val": "FER2013 faces"}
"""How the confidence words name a face source of the end-to-end figure (`tools.video_eval`'s `by_source`)."""
SOURCE_GAP = 0.02
"""A source whose calibration error is this much (2 points) or more above the whole figure's is named beside it."""


def confidence_words(on_calls: dict | None = None) -> str:
    """What a shown percentage means: calibrated (when the running model has a matching temperature) or not.

    How far off the percentages were is the end-to-end figure's ECE on this very file at this temperature
    (`on_calls["ece"]`, with the worst face source named when `SOURCE_GAP` above it) where the card has one; else the
    calibration's own held-out figure. In percentage points: a new-user recheck (session 41) read "off by 13%" on the screens and ECE 0.047 on
    the card, measured on different faces, and could not tell which held."""
    from model.classifier import ModelFileError, read_calibration

    try:
        calibration = read_calibration(get_settings().model_path)
    except ModelFileError:
        calibration = None
    if calibration is None:
        return "Percentages are the model's raw scores, not calibrated: read them as a ranking."
    on_calls = on_calls or {}
    measured_here = (on_calls.get("model") == calibration.get("model")
                     and on_calls.get("temperature") == calibration["temperature"])  # the same file, the same fit
    ece = on_calls.get("ece") if measured_here else None
    if ece:
        where = "test call recordings"
        gap = f" (off by {ece['end_to_end'] * 100:.0f} points on average"
        sources = {name: v for name, v in ece.get("by_source", {}).items() if v is not None}
        if sources:
            name, worst = max(sources.items(), key=lambda item: item[1])
            if worst >= ece["end_to_end"] + SOURCE_GAP:
                gap += f"; by {worst * 100:.0f} on {SOURCE_WORDS.get(name, name)}"
        gap += ")"
    else:
        shown_as = calibration.get("shown_as", {})
        where = shown_as.get("measured_on", "validation faces")
        gap = (f" (off by {shown_as['ece_after'] * 100:.0f} points on average)"
               if shown_as.get("ece_after") is not None else "")
    return (f"Percentages are calibrated: when it says about 80%, it was right about 80% of the time on {where}{gap}; "
            f"below {MIN_TOP_PROBABILITY:.0%}, or when the face is frozen, small, turned away or blurred, it shows "
            f"\"{UNCERTAIN}\".")
