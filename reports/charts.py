"""Plotly figures for the dashboard and the HTML report (no Streamlit here, so the report can reuse them).

The timeline is the product's centrepiece: rep above prospect on one shared time
axis, each as the seven likely-emotion probabilities stacked to 100 %, a thin
band of the most likely emotion underneath, shaded gaps where the face was not
seen, shift markers coloured by direction and the manager's script stages, and (when the call's audio
was analysed) one band of who is talking under both.
Long calls are averaged into bins so the browser draws at most ~1,800 points per
line; an hour-long call stays as responsive as a five-minute one.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from config import EMOTIONS, UNCERTAIN
from pipeline.roles import PROSPECT, REP
from pipeline.speech import BOTH, NONE, OFF_CAMERA, OTHER, SPEAKING_LABELS, SPEAKING_VALUES, UNKNOWN
from pipeline.timeline import clock, counted, minutes
from reports.facts import CallTimeline, MarkedStage
from reports.summary import (FACE_NOT_SEEN, MIN_SECONDS_TO_COMPARE, NO_VIDEO, SHIFT_KINDS, second_statuses,
                             stored_uncertain_reasons)

EMOTION_COLOURS: dict[str, str] = {
    "angry": "#E4572E",
    "disgust": "#8A7A2E",
    "fear": "#7B5EA7",
    "happy": "#F2B134",
    "sad": "#3E7CB1",
    "surprise": "#17BEBB",
    "neutral": "#C9CED6",
}
DIRECTION_COLOURS: dict[str, str] = {"positive": "#1B9E4B", "negative": "#D7263D", "neutral": "#6C757D"}
DIRECTION_SYMBOLS: dict[str, str] = {"positive": "triangle-up", "negative": "triangle-down", "neutral": "circle"}
ROLE_COLOURS: dict[str, str] = {REP: "#288CEB", PROSPECT: "#3CB43C"}
GUEST_COLOUR = "#495057"
"""A guest's (role participant-N) name on their timeline."""
GAP_FILL = "rgba(108, 117, 125, 0.14)"
NO_VIDEO_COLOUR = "#495057"  # seconds with no picture at all (before a late video track, after a cut-off file)
UNCERTAIN_COLOUR = "#EADBC8"
"""The band's colour for an uncertain second (a face seen, no emotion shown): unlike every emotion's colour and unlike
the white or shaded "face not seen" (a new-user trial, 28, read the PDF's uncertain seconds, drawn white, as the camera
missing a face that was on screen all call)."""
BAND_CODES: dict[str, int] = {**{e: i for i, e in enumerate(EMOTIONS)}, UNCERTAIN: len(EMOTIONS)}
"""The band's colour index of each shown value (`dominant`): the emotions in order, then uncertain."""
BAND_COLOURS: list[str] = [EMOTION_COLOURS[e] for e in EMOTIONS] + [UNCERTAIN_COLOUR]
"""The band's colours, by `BAND_CODES` index (the page's heat map and the PDF's picture both draw from it)."""
NO_VIDEO_FILL = "rgba(73, 80, 87, 0.45)"
STAGE_FILL = "rgba(40, 140, 235, 0.07)"
SPEAKING_COLOURS: dict[str, str] = {REP: ROLE_COLOURS[REP], PROSPECT: ROLE_COLOURS[PROSPECT], BOTH: "#0B7285",
                                    NONE: "#F1F3F5", OFF_CAMERA: "#868E96", UNKNOWN: "#FFFFFF",
                                    OTHER: "#E377C2"}
"""Colours of the "who is talking" band under the timelines (`pipeline.speech.SPEAKING_VALUES`), each unlike every
emotion's (a guest talking was orange, read as happy right under the emotion bands: new-user trial 14; both talking
was purple beside fear's): both sides at once is a teal between the rep's blue and the prospect's green."""
SPEAKING_SHOWN = (REP, PROSPECT, BOTH, OTHER, OFF_CAMERA)
"""The speaking values the band's legend names (when the call has them)."""
MAX_POINTS = 1800
FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=12, color="#31333F")


def time_ticks(n_seconds: int, target: int = 10) -> tuple[list[int], list[str]]:
    """Round-number ticks (10 s ... 15 min apart) labelled as clock times."""
    steps = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)
    step = next((s for s in steps if n_seconds / s <= target), steps[-1])
    values = list(range(0, max(n_seconds, 1) + 1, step))
    return values, [clock(v) for v in values]


def binned(role_seconds: pd.DataFrame, bin_s: int) -> pd.DataFrame:
    """Average per-second rows of one role into `bin_s`-second bins (a bin is seen if any second was)."""
    if bin_s <= 1:
        return role_seconds.reset_index(drop=True)
    keys = role_seconds["second"].to_numpy() // bin_s
    grouped = role_seconds.groupby(keys)
    out = grouped[list(EMOTIONS)].mean()
    out["second"] = out.index * bin_s
    out["face_present"] = grouped["face_present"].any()
    if "video_present" in role_seconds:
        out["video_present"] = grouped["video_present"].any()
    probs = out[list(EMOTIONS)].to_numpy()
    seen = ~np.isnan(probs).any(axis=1)
    out["dominant"] = np.where(seen, np.array(EMOTIONS, dtype=object)[np.nan_to_num(probs).argmax(axis=1)], None)
    uncertain = grouped["dominant"].agg(lambda d: (d == UNCERTAIN).mean() > 0.5).to_numpy(bool)
    out["dominant"] = np.where(seen & uncertain, UNCERTAIN, out["dominant"])  # mostly unreadable stays uncertain
    if "uncertain_reason" in role_seconds:  # a bin's reason: its uncertain seconds' commonest
        out["uncertain_reason"] = grouped["uncertain_reason"].agg(lambda r: r.mode().iat[0] if r.notna().any() else None)
    out["confidence"] = np.where(seen, np.nan_to_num(probs).max(axis=1), np.nan)
    return out.reset_index(drop=True)


def gap_spans(seen: np.ndarray, seconds: np.ndarray, bin_s: int) -> list[tuple[int, int]]:
    """[start, end) second ranges where no emotion could be read."""
    spans, start = [], None
    for ok, second in zip(seen, seconds):
        if not ok and start is None:
            start = int(second)
        elif ok and start is not None:
            spans.append((start, int(second)))
            start = None
    if start is not None:
        spans.append((start, int(seconds[-1]) + bin_s))
    return spans


def shift_label(shift: pd.Series | dict) -> str:
    """One shift in words (page hover, CLI). Its strength is a rise in percentage points, and says so: "rose 83%" read
    as a relative rise (a new-user trial, 13)."""
    return (f"{shift['role'].capitalize()} at {clock(shift['t_s'])}: likely {shift['from_emotion']} → "
            f"{shift['to_emotion']} ({SHIFT_KINDS[shift['direction']]}, held {shift['duration_s']:.0f} s; the likelihood "
            f"of {shift['to_emotion']} rose {100 * shift['strength']:.0f} percentage points)")


def _bin_edges(starts: np.ndarray, bin_s: int) -> np.ndarray:
    """(n,) bin start seconds -> (n + 1,) edges: the starts and the last bin's end (steps and bands span their bins)."""
    return np.append(starts, starts[-1] + bin_s)


def timeline_figure(seconds: pd.DataFrame, shifts: pd.DataFrame, stages: Iterable[tuple[str, float, float]] = (),
                    height: int = 560, roles: Sequence[str] = (REP, PROSPECT),
                    labels: dict[str, str] | None = None) -> go.Figure:
    """Aligned timelines of `roles` (rep above prospect); each point carries its second in `customdata`. `labels`:
    each role's name on the chart (default: the role's, "Rep"), such as "Guest · person 3" for a participant-N."""
    labels = {role: (labels or {}).get(role, role.capitalize()) for role in roles}
    n_seconds = int(seconds["second"].max()) + 1 if len(seconds) else 1
    bin_s = max(1, math.ceil(n_seconds / MAX_POINTS))
    height = round(height * (0.2 + 0.4 * len(roles)))  # a lone timeline keeps its height, not the pair's
    talk = has_speaking(seconds)
    fig = make_subplots(rows=2 * len(roles) + talk, cols=1, shared_xaxes=True, vertical_spacing=0.035 * 2 / len(roles),
                        row_heights=[0.41, 0.05] * len(roles) + [0.05] * talk)
    for index, role in enumerate(roles):
        row = 1 + 2 * index
        data = binned(seconds[seconds["role"] == role], bin_s)
        if data.empty:
            continue
        x = data["second"].to_numpy()
        clocks = np.array([clock(v) for v in x], dtype=object)
        # an uncertain second draws no emotions (a trial's dim prospect, uncertain for 144 s, drew a stack of sad and
        # angry a manager read as a hostile call); the band under it says "uncertain" and why
        readable = data["dominant"] != UNCERTAIN
        # steps, as in the PDF: a second's reading holds until the next, and a gap starts where it starts (a trial's
        # web timeline sloped down into "face not seen" spans and drew a lone second as a spike); the last bin's value
        # is repeated at its end so it is drawn too
        steps_x, steps_clocks = _bin_edges(x, bin_s), np.append(clocks, clocks[-1])
        for emotion in EMOTIONS:
            values = data[emotion].where(readable).to_numpy()
            fig.add_trace(go.Scatter(
                x=steps_x, y=np.append(values, values[-1]), name=emotion, legendgroup=emotion, showlegend=index == 0,
                stackgroup=role, stackgaps="infer zero", mode="lines",
                line=dict(width=0.5, color=EMOTION_COLOURS[emotion], shape="hv"),
                fillcolor=EMOTION_COLOURS[emotion], customdata=steps_clocks,
                hovertemplate=f"{emotion} %{{y:.0%}}<extra>{html.escape(labels[role])} %{{customdata}}</extra>",
            ), row=row, col=1)
        codes = data["dominant"].map(BAND_CODES).astype(float).to_numpy()
        video = data["video_present"].to_numpy(bool) if "video_present" in data else np.ones(len(data), bool)
        statuses = second_statuses(data.assign(role=role, video_present=video))  # face not seen, no video, ...
        hover = [f"{c} · {UNCERTAIN} ({why})" if d == UNCERTAIN
                 else f"{c} · likely {d}, {p:.0%} (calibrated)" if isinstance(d, str)
                 else f"{c} · {status}"
                 for c, d, p, status, why in zip(clocks, data["dominant"], data["confidence"], statuses,
                                                 stored_uncertain_reasons(data))]
        fig.add_trace(go.Heatmap(  # x as the bins' edges: each cell spans its seconds, as the steps above do
            x=steps_x, y=[role], z=[codes], text=[hover], hoverinfo="text", zmin=-0.5, zmax=len(BAND_CODES) - 0.5,
            colorscale=_discrete_scale(), showscale=False, xgap=0, name=f"{role} most likely",
        ), row=row + 1, col=1)
        # face not seen (with a picture); an uncertain second has its own colour in the band, and is not a gap
        for start, end in gap_spans(data["dominant"].notna().to_numpy() | ~video, x, bin_s):
            fig.add_vrect(x0=start, x1=end, fillcolor=GAP_FILL, line_width=0, layer="below", row=row, col=1)
        for start, end in gap_spans(video, x, bin_s):
            fig.add_vrect(x0=start, x1=end, fillcolor=NO_VIDEO_FILL, line_width=0, layer="below", row=row, col=1)
        _add_shift_markers(fig, shifts[shifts["role"] == role] if len(shifts) else shifts, row)
        fig.update_yaxes(range=[0, 1.13], tickformat=".0%", tickvals=[0, 0.5, 1], row=row, col=1,
                         title=dict(text=f"<b>{html.escape(labels[role])}</b>",
                                    font=dict(color=ROLE_COLOURS.get(role, GUEST_COLOUR), size=14)))
        fig.update_yaxes(showticklabels=False, row=row + 1, col=1)
    shown = set(shifts.loc[shifts["role"].isin(roles), "direction"]) if len(shifts) else set()
    for direction in (d for d in DIRECTION_COLOURS if d in shown):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{direction} shift",  # whoever's it is
                                 legendgroup=f"shift-{direction}", marker=_shift_marker(direction)), row=1, col=1)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=UNCERTAIN,
                             marker=dict(symbol="square", size=12, color=UNCERTAIN_COLOUR)), row=1, col=1)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=FACE_NOT_SEEN,
                             marker=dict(symbol="square", size=12, color=GAP_FILL, line=dict(width=1, color="#adb5bd"))),
                  row=1, col=1)
    if "video_present" in seconds and not seconds["video_present"].all():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=NO_VIDEO,
                                 marker=dict(symbol="square", size=12, color=NO_VIDEO_FILL)), row=1, col=1)
    for name, start, end in stages:
        fig.add_vrect(x0=start, x1=end, fillcolor=STAGE_FILL, line=dict(color="rgba(40,140,235,0.35)", width=1),
                      layer="below", row="all", col=1)
        fig.add_annotation(x=(start + end) / 2, y=1.0, yref="paper", yanchor="bottom", text=f"<b>{html.escape(name)}</b>",
                           showarrow=False, font=dict(size=11, color="#1f5fa8"))
    if talk:
        _add_speaking_band(fig, seconds, 2 * len(roles) + 1, bin_s)
    ticks, labels = time_ticks(n_seconds)
    fig.update_xaxes(tickvals=ticks, ticktext=labels, range=[0, n_seconds], showgrid=False)
    fig.update_xaxes(title_text="call time", row=2 * len(roles) + talk, col=1)
    fig.update_layout(
        height=height, margin=dict(l=10, r=40, t=60, b=10), template="plotly_white", font=FONT,
        modebar=dict(orientation="v"),  # in the right margin: across the top it covered the legend (a trial, 34)
        legend=dict(orientation="h", yanchor="bottom", y=1.06, x=0, title_text=""),
        # "x unified": a click anywhere over a second is a click on it (with "closest", only near an area's top edge
        # was: a dashboard trial clicked the middle of a coloured area and nothing played)
        hovermode="x unified", clickmode="event+select", dragmode="select", selectdirection="h",
    )
    return fig


def has_speaking(seconds: pd.DataFrame) -> bool:
    """Whether the per-second rows say who was talking (calls analysed before it was measured do not)."""
    return "speaking" in seconds and bool(seconds["speaking"].notna().any())


def speaking_per_bin(seconds: pd.DataFrame, bin_s: int) -> tuple[np.ndarray, list[str]]:
    """(bin start seconds, who was talking in each: its most frequent value) from the per-second rows."""
    per_second = seconds.drop_duplicates("second").sort_values("second")
    values = per_second["speaking"].fillna(UNKNOWN)
    keys = per_second["second"].to_numpy() // bin_s
    grouped = values.groupby(keys).agg(lambda v: v.mode().iloc[0])
    return grouped.index.to_numpy() * bin_s, list(grouped)


def _add_speaking_band(fig: go.Figure, seconds: pd.DataFrame, row: int, bin_s: int) -> None:
    """The "who is talking" band under the timelines: one colour per `SPEAKING_VALUES`, one legend entry each."""
    x, speaking = speaking_per_bin(seconds, bin_s)
    codes = [SPEAKING_VALUES.index(v) for v in speaking]
    n = len(SPEAKING_VALUES)
    scale = []
    for i, value in enumerate(SPEAKING_VALUES):
        scale += [(i / n, SPEAKING_COLOURS[value]), ((i + 1) / n, SPEAKING_COLOURS[value])]
    hover = [f"{clock(t)} · talking: {SPEAKING_LABELS[v]}" for t, v in zip(x, speaking)]
    fig.add_trace(go.Heatmap(x=_bin_edges(x, bin_s), y=["talking"], z=[codes], text=[hover], hoverinfo="text",
                             zmin=-0.5, zmax=n - 0.5, colorscale=scale, showscale=False, xgap=0, name="who is talking"),
                  row=row, col=1)
    for value in SPEAKING_SHOWN:
        if value in speaking:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"talking: {SPEAKING_LABELS[value]}",
                                     marker=dict(symbol="square", size=12, color=SPEAKING_COLOURS[value])), row=1, col=1)
    fig.update_yaxes(showticklabels=True, tickfont=dict(size=10), row=row, col=1)


def _discrete_scale() -> list[tuple[float, str]]:
    """Plotly colour scale of the band: one flat step per `BAND_CODES` value."""
    n = len(BAND_COLOURS)
    scale = []
    for i, colour in enumerate(BAND_COLOURS):
        scale += [(i / n, colour), ((i + 1) / n, colour)]
    return scale


def _shift_marker(direction: str) -> dict:
    return dict(symbol=DIRECTION_SYMBOLS[direction], size=13, color=DIRECTION_COLOURS[direction],
                line=dict(width=1, color="white"))


def _add_shift_markers(fig: go.Figure, shifts: pd.DataFrame, row: int) -> None:
    """One role's shift markers (the legend's entries are `timeline_figure`'s, one per direction the call has: a
    role without shifts would otherwise give none, trial 33)."""
    for direction in DIRECTION_COLOURS:
        subset = shifts[shifts["direction"] == direction] if len(shifts) else shifts
        fig.add_trace(go.Scatter(
            x=subset["t_s"] if len(subset) else [], y=[1.07] * len(subset), mode="markers",
            name=f"{direction} shift", legendgroup=f"shift-{direction}", showlegend=False,
            marker=_shift_marker(direction),
            hovertext=[shift_label(s) for _, s in subset.iterrows()] if len(subset) else [], hoverinfo="text",
        ), row=row, col=1)


def shares_figure(shares: dict[str, dict[str, float]], seen_s: dict[str, int] | None = None,
                  height: int = 150) -> go.Figure:
    """Share of seen time in each likely emotion, one stacked bar per role, each part named inside it ("angry 50%";
    a narrow part only its share, under `SHARE_TEXT_MIN` nothing: its name and share are in its hover). `seen_s`:
    the seconds each role's face was read, written under its name, the sample behind the bar; a role read under
    `MIN_SECONDS_TO_COMPARE` seconds gets a hatched "too little read" bar instead of a mix (new-user trials 14 and 15:
    a rep read on 6 s of 45 drew a full "angry 100%" bar).

    No legend: the chart sits in a narrow column beside the talking points, where Plotly's legend became a scroll box
    showing 5 of the 7 emotions at 1024 px (a dashboard trial, 34), and the timelines' legend names the same colours."""
    fig = go.Figure()
    roles = [r for r in (PROSPECT, REP) if r in shares]
    labels = [r.capitalize() + (f"<br>{seen_s.get(r, 0)} s read" if seen_s is not None else "") for r in roles]
    little = [seen_s is not None and seen_s.get(r, 0) < MIN_SECONDS_TO_COMPARE for r in roles]
    for emotion in EMOTIONS:
        values = [0.0 if few else shares[r][emotion] for r, few in zip(roles, little)]
        fig.add_trace(go.Bar(y=labels, x=values, name=emotion, orientation="h",
                             marker_color=EMOTION_COLOURS[emotion],
                             text=[f"{emotion} {v:.0%}" if v >= SHARE_NAME_MIN else f"{v:.0%}" if v >= SHARE_TEXT_MIN
                                   else "" for v in values],
                             textposition="inside", insidetextanchor="middle", textangle=0,
                             hovertemplate=f"{emotion} %{{x:.0%}}<extra>%{{y}}</extra>"))
    if any(little):
        fig.add_trace(_too_little_bar([label for label, few in zip(labels, little) if few], orientation="h"))
    # a text that does not fit its part level at a readable size is left to the hover: Plotly turned it on its side
    # and shrank it ("surprise 25%" standing in a 14-px part at 1024 px: a dashboard trial, 13)
    fig.update_layout(barmode="stack", height=height, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
                      font=FONT, xaxis=dict(tickformat=".0%", range=[0, 1], showticklabels=False), showlegend=False,
                      uniformtext=dict(minsize=SHARE_TEXT_MIN_PX, mode="hide"))
    return fig


TOO_LITTLE_READ = f"too little read (under {MIN_SECONDS_TO_COMPARE} s)"
"""What a bar says where a face was read too briefly for its mix of emotions to mean anything."""


def _too_little_bar(labels: Sequence[str], orientation: str = "v") -> go.Bar:
    """A full, hatched, grey bar at each of `labels`, in place of a mix drawn from under `MIN_SECONDS_TO_COMPARE` s."""
    full = [1.0] * len(labels)
    axes = dict(y=labels, x=full) if orientation == "h" else dict(x=labels, y=full)
    # along the bar: a column is too narrow for the words across it
    return go.Bar(**axes, orientation=orientation, name=TOO_LITTLE_READ, text=[TOO_LITTLE_READ] * len(labels),
                  showlegend=False, textposition="inside", insidetextanchor="middle",
                  textangle=0 if orientation == "h" else -90, textfont=dict(color="#495057"),
                  marker=dict(color="rgba(0, 0, 0, 0)", line=dict(color="#ADB5BD", width=1),
                              pattern=dict(shape="/", fgcolor="#CED4DA", size=8)),
                  hovertemplate=f"%{{{'y' if orientation == 'h' else 'x'}}}: {TOO_LITTLE_READ}<extra></extra>")


SHARE_TEXT_MIN = 0.06
"""A part of a share bar narrower than this (of the whole) shows no text: it would not fit."""
SHARE_NAME_MIN = 0.2
"""A part at least this wide shows its emotion's name as well as its share."""
SHARE_TEXT_MIN_PX = 10
"""Font size (px) under which a part's text would have to shrink to fit: it is hidden instead (its hover keeps it)."""


def trend_figure(calls: pd.DataFrame, label_column: str, seen_column: str = "prospect_seen_s",
                 height: int = 300) -> go.Figure:
    """One rep's calls in the order of `calls` (time order), one point each, labelled by `label_column` (as the mix
    figure beside it) and the prospect's read seconds (`seen_column`): how positive their prospects likely looked.
    The line joins calls read at least `MIN_SECONDS_TO_COMPARE` s; a call read less is a hollow grey point off the
    line, one never read has none (new-user trial 15: a 23-s call plotted 100% like any other, a call with no prospect
    0%). Not on a date axis: a dashboard trial's three calls of one day sat on one vertical line, two hidden behind the
    third."""
    seen = calls[seen_column].fillna(0).astype(int)
    labels = calls[label_column] + "<br>" + seen.map(lambda s: f"{s} s read" if s else "not seen")  # two lines: level
    enough = seen >= MIN_SECONDS_TO_COMPARE
    little = (seen > 0) & ~enough
    titles = calls["title"].map(html.escape)
    fig = go.Figure(go.Scatter(
        x=labels, y=calls["prospect_positive"].where(enough), mode="lines+markers", connectgaps=True,
        line=dict(color=ROLE_COLOURS[PROSPECT], width=2), marker=dict(size=9), customdata=titles,
        name="prospect likely positive", hovertemplate="%{customdata}<br>%{x}: %{y:.0%} likely positive<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=labels, y=calls["prospect_positive"].where(little), mode="markers", customdata=titles,
        marker=dict(size=9, symbol="circle-open", color="#868E96", line=dict(width=2)), name=TOO_LITTLE_READ,
        hovertemplate=f"%{{customdata}}<br>%{{x}}: %{{y:.0%}} likely positive, {TOO_LITTLE_READ}<extra></extra>",
    ))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white", font=FONT,
                      xaxis=dict(type="category", categoryorder="array", categoryarray=list(labels)), showlegend=False,
                      yaxis=dict(tickformat=".0%", range=[0, 1.05]))  # a title was cut to "…pect likely positive"
                      # at every width (trial 14); the page's heading above the chart says what the points are
    return fig


def mix_figure(mix: pd.DataFrame, label_column: str, seen_column: str | None = None, height: int = 300) -> go.Figure:
    """Stacked likely-emotion shares, one bar per row of `mix` (a call, or a rep). `seen_column`: the read seconds
    behind each row; a row under `MIN_SECONDS_TO_COMPARE` gets a hatched "too little read" bar instead (new-user trial
    15: 6 s read drew a full "angry 100%" column)."""
    fig = go.Figure()
    little = (mix[seen_column] < MIN_SECONDS_TO_COMPARE) if seen_column else pd.Series(False, index=mix.index)
    for emotion in EMOTIONS:
        fig.add_trace(go.Bar(x=mix[label_column], y=mix[emotion].mask(little, 0.0), name=emotion,
                             marker_color=EMOTION_COLOURS[emotion],
                             hovertemplate=f"{emotion} %{{y:.0%}}<extra>%{{x}}</extra>"))
    if little.any():
        fig.add_trace(_too_little_bar(list(mix.loc[little, label_column])))
    # the legend in the order of the bars' parts and of `EMOTIONS` (Plotly reverses a stack's by default: a trial read
    # "neutral ... angry"), above the bars with room for two rows (at t=10 it covered the top of a full bar)
    fig.update_layout(barmode="stack", height=height, margin=dict(l=10, r=10, t=60, b=10), template="plotly_white",
                      font=FONT, yaxis=dict(tickformat=".0%", range=[0, 1]),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, traceorder="normal"))
    return fig


def _or_not_seen(value: float, form: str) -> str:
    """A bar's label: `value` in `form`, or "not seen" for a rep none of whose prospects' faces was read (NaN; a
    new-user trial, 13, found "nan%" on the bar)."""
    return "not seen" if pd.isna(value) else form.format(value)


def team_figure(team: pd.DataFrame, height: int = 320) -> go.Figure:
    """Reps side by side (`dashboard.data.team_table`): prospects' likely positive share of read time and negative
    shifts per 10 minutes of it; each name carries its sample, and reps with too little of it are drawn pale."""
    # two lines each: on one line the titles ran into each other at 1024 px (trial 14)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Prospect likely positive<br>(share of read time)",
                                                        "Prospect negative shifts<br>per 10 min read"))
    # Plotly reads tags in labels: the rep's name (user text) is escaped, the sample line is ours
    names: Sequence[str] = [f"{html.escape(r)}<br><sub>{counted(n, 'call')} · {minutes(m)} read</sub>"
                            for r, n, m in zip(team["rep"], team["calls"], team["seen_minutes"])]
    opacity = [1.0 if ok else 0.35 for ok in team["enough"]]
    fig.add_trace(go.Bar(x=names, y=team["prospect_positive"], marker=dict(color=ROLE_COLOURS[PROSPECT], opacity=opacity),
                         name="likely positive", text=[_or_not_seen(v, "{:.0%}") for v in team["prospect_positive"]],
                         textposition="outside", hovertemplate="%{x}: %{y:.0%}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=team["negative_shifts_per_10min"],
                         marker=dict(color=DIRECTION_COLOURS["negative"], opacity=opacity), name="negative shifts",
                         text=[_or_not_seen(v, "{:.1f}") for v in team["negative_shifts_per_10min"]], textposition="outside",
                         hovertemplate="%{x}: %{y:.1f} per 10 min<extra></extra>"), row=1, col=2)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.1], row=1, col=1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=60, b=10), template="plotly_white", font=FONT, showlegend=False)
    return fig


# ----------------------------------------------------------------------------- static (the PDF)
def timeline_png(timeline: CallTimeline, stages: Sequence[MarkedStage] = (), width_in: float = 10.0,
                 roles: Sequence[str] = (REP, PROSPECT)) -> bytes:
    """The roles' timelines as a static image for the PDF (matplotlib: no browser, no kaleido)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = max(1, timeline.n_seconds)
    talk = has_speaking(timeline.seconds)
    fig = Figure(figsize=(width_in, 2.3 * len(roles) + 0.3 * talk), dpi=150)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2 * len(roles) + talk, 1, height_ratios=[5, 0.5] * len(roles) + [0.5] * talk, hspace=0.25)
    for index, role in enumerate(roles):
        rows = timeline.seconds[timeline.seconds["role"] == role].sort_values("second")
        ax, band = fig.add_subplot(grid[2 * index]), fig.add_subplot(grid[2 * index + 1])
        if len(rows):
            x = rows["second"].to_numpy()
            readable = (rows["dominant"] != UNCERTAIN).to_numpy()
            probs = np.nan_to_num(rows[list(EMOTIONS)].to_numpy().T) * readable  # as the page: none drawn when uncertain
            ax.stackplot(x, probs, colors=[EMOTION_COLOURS[e] for e in EMOTIONS], labels=EMOTIONS, step="post", linewidth=0)
            codes = rows["dominant"].map(BAND_CODES).to_numpy(dtype=float)
            colours = np.array([_rgb(c) for c in BAND_COLOURS] + [(1.0, 1.0, 1.0), _rgb(NO_VIDEO_COLOUR)])
            codes = np.where(np.isnan(codes), len(BAND_CODES), codes)  # face not seen: white
            codes[~rows["video_present"].to_numpy(bool)] = len(BAND_CODES) + 1
            band.imshow(colours[codes.astype(int)][None], aspect="auto", extent=(0, n, 0, 1), interpolation="nearest")
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
        band.set_xticks(ticks, labels if index == len(roles) - 1 and not talk else [], fontsize=7)
    if talk:
        _speaking_band_png(fig.add_subplot(grid[2 * len(roles)]), timeline.seconds, n)
    fig.axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, 1.55), ncol=7, fontsize=7, frameon=False)
    out = io.BytesIO()
    fig.savefig(out, format="png", bbox_inches="tight")
    return out.getvalue()



def _speaking_band_png(band, seconds: pd.DataFrame, n: int) -> None:
    """The PDF's "who is talking" band, with its key."""
    from matplotlib.patches import Patch

    x, speaking = speaking_per_bin(seconds, 1)
    colours = np.ones((1, n, 3))
    for t, value in zip(x, speaking):
        if t < n:
            colours[0, int(t)] = _rgb(SPEAKING_COLOURS[value])
    band.imshow(colours, aspect="auto", extent=(0, n, 0, 1), interpolation="nearest")
    band.set_xlim(0, n)
    band.set_yticks([0.5], ["talking"], fontsize=7)
    ticks, labels = time_ticks(n)
    band.set_xticks(ticks, labels, fontsize=7)
    shown = [v for v in SPEAKING_SHOWN if v in speaking]
    band.legend(handles=[Patch(color=SPEAKING_COLOURS[v], label=SPEAKING_LABELS[v]) for v in shown], loc="upper center",
                bbox_to_anchor=(0.5, -0.9), ncol=len(shown) or 1, fontsize=7, frameon=False)


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]
