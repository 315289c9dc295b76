"""A call's coaching report: what it says (`summarize`) and the files a manager takes away (PDF, HTML).

The Call review page and both exports read through the same loaders and the same
`summarize_timeline`, so a number on screen is the number in the PDF. Every
emotion is worded as "likely" next to the model's measured accuracy: these are
coaching hints read from faces, not verdicts about people.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from config import EMOTIONS, MODEL_CARD_PATH, NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS, get_settings
from db.models import Call, CoachingNote, EmotionSecond, ScriptStage, Shift, Snapshot, Track
from db.session import session_scope
from pipeline.calls import NotFound, clock
from pipeline.roles import PROSPECT, REP

HINTS_NOT_VERDICTS = ("Emotions are the model's likely reading of facial expressions: coaching hints to discuss, "
                      "not verdicts about anyone.")
REP_ANALYSIS_WHY = "the EU AI Act prohibits inferring the emotions of people at their workplace"
REP_ANALYSIS_OFF = (f"The rep's emotions were not analysed on this call: rep analysis was off when it was uploaded "
                    f"({REP_ANALYSIS_WHY}).")
STAGE_NAMES = ("intro", "discovery", "demo", "pricing", "objections", "close")
MAX_REPORT_MOMENTS = 12
MIN_SECONDS_TO_COMPARE = 10  # read seconds a third of the call or a stage needs before its mood is compared or praised
SECOND_COLUMNS = ["second", "role", *EMOTIONS, "dominant", "confidence", "face_present"]


# ----------------------------------------------------------------------------- what is read
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

    @property
    def prospect(self) -> str:
        parts = [p for p in (self.prospect_name, self.prospect_company) if p]
        return ", ".join(parts) if parts else "prospect not named"

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles whose emotions this call has: charts, tables and summaries show only these."""
        return (REP, PROSPECT) if self.rep_analysis else (PROSPECT,)

    @property
    def consent(self) -> str:
        if not self.consent_confirmed_by or not self.consent_confirmed_at:
            return "not recorded (the call was not added through the upload form)"
        note = f" ({self.consent_note})" if self.consent_note else ""
        return f"confirmed by {self.consent_confirmed_by} on {self.consent_confirmed_at:%Y-%m-%d %H:%M} UTC{note}"


@dataclass(frozen=True)
class Timeline:
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
class Stage:
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
                         call.consent_confirmed_at, call.consent_note)


def load_timeline(call_id: int) -> Timeline:
    with session_scope() as session:
        connection = session.connection()
        seconds = pd.read_sql(select(*(getattr(EmotionSecond, c) for c in SECOND_COLUMNS))
                              .where(EmotionSecond.call_id == call_id).order_by(EmotionSecond.role, EmotionSecond.second),
                              connection)
        shifts = pd.read_sql(select(Shift.role, Shift.t_s, Shift.from_emotion, Shift.to_emotion, Shift.direction,
                                    Shift.strength, Shift.duration_s).where(Shift.call_id == call_id).order_by(Shift.t_s),
                             connection)
    seconds[list(EMOTIONS) + ["confidence"]] = seconds[list(EMOTIONS) + ["confidence"]].astype(float)
    seconds["face_present"] = seconds["face_present"].astype(bool)
    return Timeline(seconds, shifts)


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


def load_stages(call_id: int) -> list[Stage]:
    with session_scope() as session:
        rows = session.scalars(select(ScriptStage).where(ScriptStage.call_id == call_id).order_by(ScriptStage.start_s))
        return [Stage(s.id, s.name, s.start_s, s.end_s) for s in rows]


def load_notes(call_id: int) -> list[Note]:
    with session_scope() as session:
        rows = session.scalars(select(CoachingNote).where(CoachingNote.call_id == call_id)
                               .order_by(CoachingNote.t_s, CoachingNote.id))
        return [Note(n.id, n.t_s, n.text, n.author) for n in rows]


def load_tracks(call_id: int) -> list[dict]:
    """Face tracks with their role and thumbnail, longest first: what a manager checks when fixing roles."""
    data_dir = get_settings().data_dir
    with session_scope() as session:
        rows = session.scalars(select(Track).where(Track.call_id == call_id).order_by(Track.n_frames.desc()))
        return [{"track_no": t.track_no, "role": t.role, "role_source": t.role_source, "first_s": t.first_s,
                 "last_s": t.last_s, "thumbnail": data_dir / t.thumbnail_path if t.thumbnail_path else None}
                for t in rows]


def model_accuracy() -> str:
    """The shipped model's measured accuracy in words, and which emotions it reads best and worst (from its card)."""
    try:
        card = json.loads(MODEL_CARD_PATH.read_text())
        accuracy = float(card["fer2013_val_accuracy"])
    except (OSError, ValueError, KeyError, TypeError):
        return "Model accuracy not yet measured."
    words = f"Model accuracy: {accuracy:.0%} on FER2013 val faces (7 emotions)"
    per_class = card.get("splits", {}).get("fer2013_val_tta" if card.get("flip_tta") else "fer2013_val", {}).get("per_class")
    if per_class:
        ranked = sorted(EMOTIONS, key=lambda e: per_class[e]["f1"], reverse=True)
        words += f"; most reliable for {ranked[0]} and {ranked[1]}, least for {ranked[-2]} and {ranked[-1]}"
    return words + "."


# ----------------------------------------------------------------------------- what it says
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
    negative_shifts: dict[str, int]
    prospect_thirds: tuple[Mood, Mood]  # first third, last third
    stages: list[StageSummary]
    talking_points: list[str] = field(default_factory=list)


def readable(seconds: pd.DataFrame) -> pd.Series:
    """Which per-second rows count towards shares, moods and talking points: the face was seen and read.

    The one place that decides it (`READABLE` says the same to SQL for the calls table); a second whose
    reading is not trusted is to be excluded here too, and every number follows.
    """
    return seconds["dominant"].notna()


READABLE = EmotionSecond.dominant.is_not(None)  # `readable`, as a filter on stored rows


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


def _mood(rows: pd.DataFrame) -> Mood:
    return mood_of(_shares(rows), int(readable(rows).sum()))


def summarize_timeline(timeline: Timeline, stages: Sequence[Stage] = ()) -> CallSummary:
    seconds, shifts, n = timeline.seconds, timeline.shifts, max(1, timeline.n_seconds)
    by_role = {role: seconds[seconds["role"] == role] for role in (REP, PROSPECT)}
    shares = {role: _shares(rows) for role, rows in by_role.items()}
    prospect = by_role[PROSPECT]
    thirds = tuple(_mood(prospect[part]) for part in (prospect["second"] < n / 3, prospect["second"] >= 2 * n / 3))
    prospect_shifts = shifts[shifts["role"] == PROSPECT]
    positive = prospect_shifts[prospect_shifts["direction"] == "positive"]
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
        negative_shifts={role: int(((shifts["role"] == role) & (shifts["direction"] == "negative")).sum())
                         for role in (REP, PROSPECT)},
        prospect_thirds=thirds,  # type: ignore[arg-type]
        stages=stage_summaries,
    )
    return replace(summary, talking_points=talking_points(summary))


def summarize(call_id: int) -> CallSummary:
    """Share of time per likely emotion and role, first positive prospect shift, negative shifts, mood by thirds, stages."""
    return summarize_timeline(load_timeline(call_id), load_stages(call_id))


def talking_points(summary: CallSummary) -> list[str]:
    """A few data-driven, hedged prompts for the one-to-one (at most five)."""
    points = []
    if summary.seen[PROSPECT] < 0.05:
        return ["The prospect's face was hardly visible, so there is little to read from this call: "
                "check the recording layout, or whether their camera was off."]
    for stage in sorted(summary.stages, key=lambda s: -s.negative_shifts):
        if stage.negative_shifts:
            times = "once" if stage.negative_shifts == 1 else f"{stage.negative_shifts} times"
            points.append(f"The prospect likely turned negative {times} during {stage.name}: replay those moments together.")
            break
    first = summary.first_positive_shift
    if first is not None:
        points.append(f"The prospect's first likely positive turn came at {clock(first['t_s'])} "
                      f"({first['from_emotion']} → {first['to_emotion']}): what did the rep say just before?")
    else:
        points.append("The prospect showed no clear positive turn during the call: look for where they could have been won over.")
    start, end = summary.prospect_thirds
    change = end.balance - start.balance
    thirds = (f"likely positive {start.positive:.0%} of the {start.seconds} s read in the first third, "
              f"{end.positive:.0%} of the {end.seconds} s in the last")
    if not (start.comparable and end.comparable):
        missing = "first" if not start.comparable else "last"
        points.append(f"The prospect's face was hardly read in the {missing} third of the call "
                      f"({min(start.seconds, end.seconds)} s), so there is no telling whether they warmed up or cooled down.")
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
    if summary.seen[PROSPECT] < 0.7:
        points.append(f"The prospect's face was read only {summary.seen[PROSPECT]:.0%} of the call "
                      f"({summary.seen_seconds[PROSPECT]} s), so take these hints lightly.")
    return points[:5]


def key_moments(moments: Sequence[Moment], notes: Sequence[Note], limit: int = MAX_REPORT_MOMENTS) -> list[Moment]:
    """Moments for the report: those with notes first, then prospect shifts, then the strongest; shown in time order."""
    noted = {round(n.t_s) for n in notes}

    def rank(m: Moment) -> tuple:
        return (round(m.t_s) not in noted, m.kind != "shift" or m.role != PROSPECT, -(m.strength or 0))

    return sorted(sorted(moments, key=rank)[:limit], key=lambda m: m.t_s)


def still_labels(timeline: Timeline, t_s: float, roles: Sequence[str], k: int = 3) -> list[str]:
    """What a still's face labels say, as text: per role, its top `k` likely emotions at that second, or not read."""
    lines = []
    for role in roles:
        row = timeline.seconds[(timeline.seconds["role"] == role) & (timeline.seconds["second"] == int(t_s))]
        if row.empty or not readable(row).iloc[0]:
            lines.append(f"{role.capitalize()}: face not read")
            continue
        probs = row.iloc[0][list(EMOTIONS)].astype(float).sort_values(ascending=False, kind="stable")[:k]
        lines.append(f"{role.capitalize()}: " + ", ".join(
            f"{'likely ' if i == 0 else ''}{emotion} {p:.0%}" for i, (emotion, p) in enumerate(probs.items())))
    return lines


def notes_at(notes: Sequence[Note], t_s: float) -> list[Note]:
    return [n for n in notes if round(n.t_s) == round(t_s)]


# ----------------------------------------------------------------------------- PDF
def timeline_png(timeline: Timeline, stages: Sequence[Stage] = (), width_in: float = 10.0,
                 roles: Sequence[str] = (REP, PROSPECT)) -> bytes:
    """The roles' timelines as a static image for the PDF (matplotlib: no browser, no kaleido)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from dashboard.charts import DIRECTION_COLOURS, EMOTION_COLOURS, ROLE_COLOURS, time_ticks

    n = max(1, timeline.n_seconds)
    fig = Figure(figsize=(width_in, 2.3 * len(roles)), dpi=150)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2 * len(roles), 1, height_ratios=[5, 0.5] * len(roles), hspace=0.25)
    for index, role in enumerate(roles):
        rows = timeline.seconds[timeline.seconds["role"] == role].sort_values("second")
        ax, band = fig.add_subplot(grid[2 * index]), fig.add_subplot(grid[2 * index + 1])
        if len(rows):
            x = rows["second"].to_numpy()
            probs = np.nan_to_num(rows[list(EMOTIONS)].to_numpy().T)
            ax.stackplot(x, probs, colors=[EMOTION_COLOURS[e] for e in EMOTIONS], labels=EMOTIONS, step="post", linewidth=0)
            codes = rows["dominant"].map({e: i for i, e in enumerate(EMOTIONS)}).to_numpy(dtype=float)
            colours = np.array([_rgb(EMOTION_COLOURS[e]) for e in EMOTIONS] + [(1.0, 1.0, 1.0)])
            band.imshow(colours[np.where(np.isnan(codes), len(EMOTIONS), codes).astype(int)][None], aspect="auto",
                        extent=(0, n, 0, 1), interpolation="nearest")
        for shift in timeline.shifts[timeline.shifts["role"] == role].itertuples():
            marker = {"positive": "^", "negative": "v"}.get(shift.direction, "o")
            ax.plot(shift.t_s, 1.07, marker=marker, color=DIRECTION_COLOURS[shift.direction], markersize=7, clip_on=False)
        for stage in stages:
            ax.axvspan(stage.start_s, stage.end_s, color="#288CEB", alpha=0.06)
            if index == 0:
                ax.text((stage.start_s + stage.end_s) / 2, 1.2, stage.name, ha="center", fontsize=7, color="#1f5fa8")
        ax.set_xlim(0, n)
        ax.set_ylim(0, 1.12)
        ax.set_yticks([0, 0.5, 1], ["0%", "50%", "100%"], fontsize=7)
        ax.set_ylabel(role.capitalize(), fontsize=9, fontweight="bold", color=ROLE_COLOURS[role])
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_xticks([])
        band.set_xlim(0, n)
        band.set_yticks([])
        ticks, labels = time_ticks(n)
        band.set_xticks(ticks, labels if index == len(roles) - 1 else [], fontsize=7)
    fig.axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, 1.55), ncol=7, fontsize=7, frameon=False)
    out = io.BytesIO()
    fig.savefig(out, format="png", bbox_inches="tight")
    return out.getvalue()


def _png_aspect(png: bytes) -> float:
    """Height / width, from the PNG header."""
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return height / width


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _facts_rows(facts: CallFacts) -> list[tuple[str, str]]:
    return [
        ("Rep", facts.rep or "not set"),
        ("Prospect", facts.prospect),
        ("Call date", facts.call_date.isoformat() if facts.call_date else "not set"),
        ("Length", clock(facts.duration_s or 0)),
        ("Analysed", facts.analyzed_at.strftime("%Y-%m-%d %H:%M UTC") if facts.analyzed_at else "not yet"),
        ("Participants told", facts.consent),
    ]


def _headline_rows(summary: CallSummary, roles: Sequence[str]) -> list[tuple[str, str]]:
    start, end = summary.prospect_thirds
    first = summary.first_positive_shift
    return [
        ("Prospect likely positive", f"{summary.mood[PROSPECT].positive:.0%} of the {summary.seen_seconds[PROSPECT]} s "
                                     f"their face was read"),
        ("Prospect likely negative", f"{summary.mood[PROSPECT].negative:.0%} of those seconds"),
        ("First positive prospect shift", clock(first["t_s"]) if first else "none"),
        ("Negative shifts", ", ".join(f"{role} {summary.negative_shifts[role]}" for role in reversed(roles))),
        ("Prospect mood, first → last third", f"likely positive {_share_of(start)} → {_share_of(end)}"),
        ("Faces read", ", ".join(f"{role} {summary.seen[role]:.0%}" for role in roles) + " of the call"),
    ]


def _share_of(mood: Mood) -> str:
    """'40% of 52 s', or 'not read' when the face was not read at all."""
    return f"{mood.positive:.0%} of {mood.seconds} s" if mood.seconds else "not read"


def _stage_rows(summary: CallSummary) -> list[tuple[str, ...]]:
    return [(s.name, f"{clock(s.start_s)}–{clock(s.end_s)}", f"{s.mood.positive:.0%}", f"{s.mood.negative:.0%}",
             s.most_likely or "not seen", str(s.negative_shifts)) for s in summary.stages]


STAGE_HEADER = ("Stage", "Time", "Likely positive", "Likely negative", "Most likely", "Negative shifts")


def build_pdf(call_id: int) -> bytes:
    """The one-click coaching report for a one-to-one."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace
    from matplotlib import get_data_path

    facts, timeline, stages, notes = load_facts(call_id), load_timeline(call_id), load_stages(call_id), load_notes(call_id)
    summary = summarize_timeline(timeline, stages)
    fonts = Path(get_data_path()) / "fonts" / "ttf"
    pdf = FPDF(format="A4")
    pdf.set_title(f"Coaching report: {facts.title}")
    pdf.set_author("Rapport")
    pdf.add_font("DejaVu", "", fonts / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", fonts / "DejaVuSans-Bold.ttf")
    pdf.add_font("DejaVu", "I", fonts / "DejaVuSans-Oblique.ttf")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 12)
        pdf.set_text_color(31, 95, 168)
        pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(49, 51, 63)
        pdf.set_font("DejaVu", "", 9.5)

    def table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None, widths: Sequence[int] | None = None) -> None:
        pdf.set_font("DejaVu", "", 9)
        with pdf.table(col_widths=widths, first_row_as_headings=header is not None, line_height=5.5,
                       headings_style=FontFace(emphasis="BOLD", fill_color=(232, 240, 250))) as t:
            for row in ([header] if header else []) + list(rows):
                cells = t.row()
                for value in row:
                    cells.cell(value)
        pdf.set_font("DejaVu", "", 9.5)

    pdf.set_font("DejaVu", "B", 18)
    pdf.set_text_color(33, 37, 41)
    pdf.multi_cell(0, 9, f"Coaching report: {facts.title}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "I", 8.5)
    pdf.set_text_color(108, 117, 125)
    pdf.multi_cell(0, 4.5, f"{HINTS_NOT_VERDICTS} {model_accuracy()}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(49, 51, 63)
    heading("The call")
    table(_facts_rows(facts), widths=(1, 3))
    heading("Talking points")
    for point in summary.talking_points:
        pdf.multi_cell(0, 5.5, f"•  {point}", new_x="LMARGIN", new_y="NEXT")
    heading("Summary")
    if not facts.rep_analysis:
        pdf.multi_cell(0, 5.5, REP_ANALYSIS_OFF, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    table(_headline_rows(summary, facts.roles), widths=(2, 3))
    pdf.ln(2)
    share_rows = [(role.capitalize(), *(f"{summary.shares[role][e]:.0%}" for e in EMOTIONS)) for role in facts.roles]
    table(share_rows, header=("Likely share of time", *EMOTIONS))
    chart = timeline_png(timeline, stages, roles=facts.roles)
    if pdf.will_page_break(20 + width * _png_aspect(chart)):
        pdf.add_page()  # keep the heading with its chart
    heading("Timelines")
    if not facts.rep_analysis:
        pdf.multi_cell(0, 5.5, REP_ANALYSIS_OFF, new_x="LMARGIN", new_y="NEXT")
    pdf.image(io.BytesIO(chart), w=width)
    pdf.set_font("DejaVu", "I", 8)
    pdf.multi_cell(0, 4, "Stacked areas: likely emotion probabilities per second; band below: most likely emotion; "
                   "white: face not seen; ▲ positive / ▼ negative / ● neutral shifts.", new_x="LMARGIN", new_y="NEXT")
    if summary.stages:
        heading("Prospect by script stage")
        table(_stage_rows(summary), header=STAGE_HEADER, widths=(3, 3, 2, 2, 2, 2))
    moments = key_moments(load_moments(call_id), notes)
    if moments:
        pdf.add_page()
        heading("Key moments")
        for moment in moments:
            if pdf.will_page_break(48):
                pdf.add_page()
            top = pdf.get_y()
            if moment.image.is_file():
                pdf.image(moment.image, x=pdf.l_margin, y=top, w=70)
            pdf.set_xy(pdf.l_margin + 74, top)
            pdf.set_font("DejaVu", "B", 10)
            pdf.multi_cell(width - 74, 5.5, f"{clock(moment.t_s)}  {moment.text}", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVu", "", 9)
            for line in still_labels(timeline, moment.t_s, facts.roles):  # the still's own labels are small in print
                pdf.set_x(pdf.l_margin + 74)
                pdf.multi_cell(width - 74, 5, line, new_x="LMARGIN", new_y="NEXT")
            for note in notes_at(notes, moment.t_s):
                pdf.set_x(pdf.l_margin + 74)
                pdf.multi_cell(width - 74, 5, f"Note{f' ({note.author})' if note.author else ''}: {note.text}",
                               new_x="LMARGIN", new_y="NEXT")
            pdf.set_y(max(pdf.get_y(), top + 44))
    other = [n for n in notes if not any(round(m.t_s) == round(n.t_s) for m in moments)]
    if other:
        heading("Coaching notes")
        table([(clock(n.t_s), n.text, n.author or "") for n in other], header=("Time", "Note", "By"), widths=(1, 6, 2))
    return bytes(pdf.output())


# ----------------------------------------------------------------------------- HTML
def build_html(call_id: int) -> str:
    """The report as one standalone HTML file: interactive charts, stills embedded; it needs no network.

    plotly.js is inlined once, in the head, so every chart below it can draw (a chart placed before the
    library's script would stay blank: "Plotly is not defined").
    """
    from plotly.offline import get_plotlyjs

    from dashboard.charts import shares_figure, timeline_figure

    facts, timeline, stages, notes = load_facts(call_id), load_timeline(call_id), load_stages(call_id), load_notes(call_id)
    summary = summarize_timeline(timeline, stages)
    esc = html.escape
    chart = timeline_figure(timeline.seconds, timeline.shifts, [(s.name, s.start_s, s.end_s) for s in stages],
                            roles=facts.roles)
    chart.update_layout(dragmode="zoom")
    chart_html = chart.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    shares = {role: summary.shares[role] for role in facts.roles}
    shares_html = shares_figure(shares).to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    rep_off_html = "" if facts.rep_analysis else f'<p class="off">{esc(REP_ANALYSIS_OFF)}</p>'

    def rows_table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None) -> str:
        head = f"<thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in header)}</tr></thead>" if header else ""
        body = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>" for row in rows)
        return f"<table>{head}<tbody>{body}</tbody></table>"

    moment_blocks = []
    for moment in key_moments(load_moments(call_id), notes):
        image = (f'<img alt="still at {clock(moment.t_s)}" src="data:image/jpeg;base64,'
                 f'{base64.b64encode(moment.image.read_bytes()).decode()}">' if moment.image.is_file() else "")
        note_items = "".join(f"<li>{esc(n.text)}{f' <em>({esc(n.author)})</em>' if n.author else ''}</li>"
                             for n in notes_at(notes, moment.t_s))
        labels = "<br>".join(esc(line) for line in still_labels(timeline, moment.t_s, facts.roles))
        moment_blocks.append(f'<div class="moment">{image}<div><b>{clock(moment.t_s)}</b> {esc(moment.text)}'
                             f'<p class="hint">{labels}</p>{f"<ul>{note_items}</ul>" if note_items else ""}</div></div>')
    stage_html = rows_table(_stage_rows(summary), STAGE_HEADER) if summary.stages else "<p>No script stages marked.</p>"
    notes_html = rows_table([(clock(n.t_s), n.text, n.author or "") for n in notes], ("Time", "Note", "By")) if notes \
        else "<p>No coaching notes yet.</p>"
    points = "".join(f"<li>{esc(p)}</li>" for p in summary.talking_points)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Coaching report: {esc(facts.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: Inter, "Segoe UI", Helvetica, Arial, sans-serif; color: #31333F; max-width: 1100px;
       margin: 2rem auto; padding: 0 1rem; }}
h1 {{ margin-bottom: .2rem; }} h2 {{ color: #1f5fa8; margin-top: 2rem; }}
.hint {{ color: #6c757d; font-style: italic; font-size: .9rem; }}
table {{ border-collapse: collapse; margin: .5rem 0; }}
td, th {{ border: 1px solid #dee2e6; padding: .3rem .6rem; text-align: left; }}
th {{ background: #e8f0fa; }}
.moment {{ display: flex; gap: 1rem; margin: .8rem 0; align-items: flex-start; }}
.moment img {{ width: 320px; border-radius: 6px; }}
.off {{ border-left: 4px solid #6c757d; padding: .3rem .8rem; background: #f4f5f7; }}
</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body>
<h1>Coaching report: {esc(facts.title)}</h1>
<p class="hint">{esc(HINTS_NOT_VERDICTS)} {esc(model_accuracy())}</p>
<h2>The call</h2>{rows_table(_facts_rows(facts))}
<h2>Talking points</h2><ul>{points}</ul>
<h2>Summary</h2>{rep_off_html}{rows_table(_headline_rows(summary, facts.roles))}
{shares_html}
<h2>Timelines</h2>{rep_off_html}{chart_html}
<h2>Prospect by script stage</h2>{stage_html}
<h2>Key moments</h2>{"".join(moment_blocks) or "<p>No key moments.</p>"}
<h2>Coaching notes</h2>{notes_html}
<p class="hint">Made by Rapport on {dt.datetime.now().strftime("%Y-%m-%d %H:%M")}.</p>
</body></html>
"""
