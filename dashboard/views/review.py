"""Call review: watch the call next to how rep and prospect likely came across, mark stages, take notes, export.

Access: a call the signed-in user may not see is "Call not found", exactly like a
missing id, and nothing of it (title, picker label, downloads) reaches the page.
Reps read; stages, notes and roles are for managers and admins. Opening a call and
downloading a file are audited.

A click on a chart point or a shift marker plays the call from there in the browser
(`dashboard.player` listens to the chart). Every other jump (a moment card, a note)
goes through `_jump`, which sets the player's start time and hands the player bridge
a new seek: the player moves there, plays and scrolls into view. Where the user pauses
(or the last jump) fills in the coaching note's time; a box drawn across the chart
fills in the stage form. The tabs keep their place across edits (stable labels,
one key), and a saved stage or note empties its form. Heavy data comes from `dashboard.data` caches, so a rerun after the
first load only re-reads the small, editable rows.
"""

from __future__ import annotations

from functools import partial
from typing import NoReturn

import pandas as pd
import streamlit as st

from access.audit import record
from calls.annotations import add_note, add_stage, delete_note, delete_stage
from calls.details import CallDetails, update_call_details
from calls.enrolment import RECOGNITION_OFF, enrol_rep
from calls.roles import ONE_PERSON_TOGETHER_MAX_S, confirm_roles, pick_people, reassign_roles, seating_order
from config import UNCERTAIN
from dashboard import auth, data, ui
from dashboard.player import Seek, player_bridge
from db.models import CallStatus
from jobs.queue import queue_reanalysis, queue_reread
from model.detect import DETECTORS
from pipeline.analyze import AnalysisSettings
from pipeline.errors import InputError
from pipeline.roles import PROSPECT, REP, REP_POSITIONS
from pipeline.timeline import clock, counted, minutes
from reports.charts import shares_figure
from reports.exports import export
from reports.facts import STAGE_NAMES, load_moments, load_notes, load_stages
from reports.summary import (CLEAREST_EXPRESSION, FACE_NOT_SEEN, NO_VIDEO, SHIFT_KINDS, first_positive, notes_at,
                             prospect_positive, rep_not_shown, shown_points, weak_label_note)
from reports.talk import (DEFINITIONS, GUESSED_ROLES_TALK, TALK_NOT_MEASURED, TALK_TIME_NOT_EMOTION, TalkMetrics,
                          speaking_at, talk_rows)

TAB_LABELS = ("Key moments", "Script stages", "Coaching notes")
BADGE_COLOURS = {"positive": "green", "negative": "red", "neutral": "gray"}
DOWNLOADS = (  # (format, label, file name ending, mime type, icon)
    ("pdf", "PDF report", "coaching-report.pdf", "application/pdf", ":material/picture_as_pdf:"),
    ("html", "HTML report", "coaching-report.html", "text/html", ":material/code:"),
    ("csv", "Per-second CSV", "emotions.csv", "text/csv", ":material/table:"),
)


# ----------------------------------------------------------------------------- which call
def _choose() -> None:
    pick = st.session_state.get("review_pick")  # gone when the change arrives with a sign-out
    if pick is not None:
        st.query_params["call"] = str(pick)


def _not_found() -> NoReturn:
    """Missing, deleted, or not this user's to see: all three look exactly the same, and the sidebar offers the calls
    they may see (a new-user trial, sent an old link, had nowhere to go from here)."""
    st.session_state.pop("call_id", None)
    st.session_state.pop("review_pick", None)
    st.title("Call review")
    st.error("Call not found.", icon=":material/search_off:")
    if calls:
        names = dict(calls)
        st.sidebar.selectbox("Call", list(names), index=None, placeholder="Choose a call", format_func=names.get,
                             key="review_pick", on_change=_choose)
        st.caption("It may have been deleted, or the link mistyped. Choose one of your calls in the sidebar.")
    st.stop()


viewer = auth.require_user()
calls = data.done_calls(viewer)
try:
    call_id = ui.selected_call_id()
except LookupError:
    _not_found()
if call_id is None and calls:
    call_id = calls[0][0]
if call_id is None:
    st.title("Call review")
    st.info("No analysed calls yet. Upload a recording; it appears here once its analysis is done.", icon=":material/upload:")
    st.stop()
facts = data.call_facts(viewer, call_id)
if facts is None:
    _not_found()
auth.record_view(viewer, call_id)
labels = dict(calls)
if call_id not in labels:  # still queued, running or failed: reachable by its link, not listed
    labels = {call_id: data.call_label(call_id, f"{facts.title} (not analysed yet)"), **labels}


st.session_state.call_id = st.session_state.review_pick = call_id
st.sidebar.selectbox("Call", list(labels), format_func=labels.get, key="review_pick", on_change=_choose)
st.query_params["call"] = str(call_id)

if st.session_state.get("video_at", (None, 0))[0] != call_id:  # another call: start at its beginning
    st.session_state.video_at = (call_id, 0)
    st.session_state.note_at = clock(0)


def _jump(t_s: float) -> None:
    """Play from `t_s`: the player seeks, plays and comes into view; a new note defaults to this second."""
    second = max(0, int(t_s))
    st.session_state.video_at = (call_id, second)
    st.session_state.seek_seq = st.session_state.get("seek_seq", 0) + 1
    st.session_state.note_at = clock(second)


player_key, chart_key = f"player-{call_id}", f"timeline-{call_id}"
ROLES_NOTE = f"roles-note-{call_id}"  # what the last role fix or re-analysis did, shown after its rerun


def _fix_roles(done: str, *, rep: int | None = None, prospect: int | None = None, swap: bool = False,
               also_prospect: tuple[int, ...] = (), guest: tuple[tuple[int, ...], str] | None = None) -> None:
    """Apply a role fix (audited; access checked again), queue a re-read when one is needed, say what happened.
    `also_prospect`: track numbers of a person who is the prospect too (one person split in two, e.g. across a camera
    turned off and on: new-user trial 16 could join them only with the CLI's `reassign --set`); `guest`: (track
    numbers, participant-N) of one of two prospects who is someone else (trial 17 could undo "Also the prospect" only
    with the CLI)."""
    try:
        with st.spinner("Rebuilding timelines, shifts and stills…"):
            if swap:
                change = reassign_roles(call_id, swap=True, user=viewer, username=viewer.username)
            elif also_prospect or guest:
                assignments = dict.fromkeys(also_prospect, PROSPECT) if also_prospect else dict.fromkeys(*guest)
                change = reassign_roles(call_id, assignments=assignments, user=viewer, username=viewer.username)
            else:
                change = pick_people(call_id, rep, prospect, user=viewer, username=viewer.username)
            reread = queue_reread(call_id, change)
    except (ValueError, LookupError, PermissionError) as error:
        st.error(ui.literal(error))
        return
    st.session_state[ROLES_NOTE] = done + (" Reading the faces not read yet…" if reread else "")
    st.rerun()


def _on_pause() -> None:
    """The user paused (or scrubbed while paused): a new note defaults to that second."""
    position = st.session_state[player_key].get("position")
    if position is not None:
        st.session_state.note_at = clock(position)


# ----------------------------------------------------------------------------- header
st.title(ui.literal(facts.title))
# the Calls list dates a call without a date by its upload: say so here rather than "date not set" beside its "6 Dec"
when = data.day(facts.call_date) if facts.call_date else f"uploaded {data.day(facts.created_at)} (call date not set)"
named = facts.prospect_name or facts.prospect_company  # "prospect not named (prospect)" said it twice (trial 16)
st.caption(f"**{ui.literal(facts.rep or 'Rep not set')}** (rep) · "
           + (f"**{ui.literal(facts.prospect)}** (prospect)" if named else facts.prospect) + f" · {when} · "
           f"{clock(facts.duration_s or 0)} long")
st.caption(f":material/verified_user: Participants told the call is analysed: {ui.literal(facts.consent)}")
if viewer.can_change:
    with st.expander("Edit call details", icon=":material/edit:"):
        with st.form(f"call-details-{call_id}", border=False):
            left, right = st.columns(2)
            new_title = left.text_input("Title", value=facts.title)
            new_date = right.date_input("Call date", value=facts.call_date, format="YYYY-MM-DD")
            rep_options = data.rep_names(viewer)
            new_rep = left.selectbox("Rep", rep_options, index=rep_options.index(facts.rep) if facts.rep in rep_options
                                     else None, accept_new_options=True, placeholder="Pick a rep or type a new name")
            new_prospect = right.text_input("Prospect's name", value=facts.prospect_name or "")
            new_company = right.text_input("Prospect's company", value=facts.prospect_company or "")
            if st.form_submit_button("Save details", icon=":material/save:"):
                if new_rep and data.rep_elsewhere(viewer, new_rep):
                    st.error(f"**{ui.literal(new_rep)}** is a rep of another team: pick one of your reps, or ask an admin.")
                elif not new_rep and not viewer.is_admin:
                    st.error("Pick the rep on this call: you see the calls of your team's reps only.")
                else:
                    try:
                        changed = update_call_details(call_id, CallDetails(new_title, new_rep, new_prospect,
                                                                           new_company, new_date), team=viewer.team)
                    except ValueError as error:
                        st.error(ui.literal(f"{str(error)[:1].upper()}{str(error)[1:]}."))
                    else:
                        if changed:
                            record(viewer.username, "call_edit", f"call {call_id}",
                                   **{k: f"{old} → {new}" for k, (old, new) in changed.items()})
                        st.rerun()
if viewer.can_change and facts.status not in (CallStatus.QUEUED, CallStatus.RUNNING):
    with st.expander("Re-analyse with other settings", icon=":material/refresh:"):
        if facts.analyzed_at:  # which code and model wrote these readings: a re-analysis by newer code may differ
            st.caption(f"This analysis: {data.day(facts.analyzed_at)} {facts.analyzed_at:%H:%M} UTC, Rapport "
                       f"{facts.code_version or 'version not recorded'}, model {facts.model_version or 'not recorded'}.")
        with st.form(f"reanalyse-{call_id}", border=False):
            left, right = st.columns(2)
            used = AnalysisSettings(**(facts.analysis or {}))
            position = left.selectbox("Where is the rep's tile?", REP_POSITIONS, format_func=str.capitalize,
                                      index=REP_POSITIONS.index(used.rep_position), key=f"reanalyse-position-{call_id}")
            detector = right.selectbox("Face detector", sorted(DETECTORS), index=sorted(DETECTORS).index(used.detector),
                                       key=f"reanalyse-detector-{call_id}")
            st.caption("The video is read again with these settings. The current results stay until the new ones "
                       "are ready.")
            if st.form_submit_button("Re-analyse", icon=":material/refresh:"):
                try:
                    queue_reanalysis(call_id, user=viewer, username=viewer.username, rep_position=position,
                                     detector=detector)
                except (ValueError, LookupError, PermissionError, InputError) as error:
                    st.error(ui.literal(error))
                else:
                    st.session_state[ROLES_NOTE] = (f"Analysing the call again (rep's tile: {position}). The current "
                                                    "results stay until the new ones are ready.")
                    st.rerun()
if ROLES_NOTE in st.session_state:
    st.success(st.session_state.pop(ROLES_NOTE), icon=":material/check_circle:")
if facts.status != CallStatus.DONE:
    if facts.status == CallStatus.FAILED:
        st.error(f"The analysis of this call failed: {ui.literal(facts.error or 'unknown error')}. Retry it from **Calls**.")
    ui.queue_panel(viewer, [call_id])
    st.stop()

people_cards = data.people(viewer, call_id)  # read once: the roles warning, the guests line and Fix roles show them

if facts.partial_note:
    st.warning(f"Partial recording: {facts.partial_note}. The readable part was analysed.", icon=":material/warning:")

if facts.roles_guessed:  # the prospect may be someone else: the Calls list and the Reps page wait for a person's word
    st.warning(f"Roles: {facts.roles_note or 'who the prospect is was only guessed.'} Until the roles are confirmed or "
               "fixed, this call's prospect figures are left out of the Calls list and the Reps page.",
               icon=":material/group:")
    # the faces being kept, beside the button: with rep analysis off nothing is read yet to judge by, and keeping a wrong
    # guess has the rep's face read as the prospect's (new-user trial 15)
    kept_faces = sorted((c for c in people_cards if c.person.role in (REP, PROSPECT)), key=lambda c: c.person.role != REP)
    if viewer.can_change and kept_faces:
        with st.container(horizontal=True):
            for card in kept_faces:
                with st.container(border=True, width=170):
                    if card.picture is not None and card.picture.is_file():
                        st.image(str(card.picture), width=120)
                    st.caption(f"**{card.person.role.capitalize()}** · person {card.person.number} · {card.where}")
    if viewer.can_change and facts.rep_identified and st.button(
            "These roles are right", icon=":material/how_to_reg:",
            help="Keep the roles as analysed (the faces above); the call's figures then count everywhere."):
        try:
            kept = confirm_roles(call_id, user=viewer, username=viewer.username)
            reread = queue_reread(call_id, kept) if kept else None
        except (ValueError, LookupError, PermissionError) as error:
            st.error(ui.literal(error))
        else:
            st.session_state[ROLES_NOTE] = "Roles confirmed as they are." + (
                " Reading the faces not read yet…" if reread else "")
            st.rerun()
elif facts.roles_note:
    st.info(f"Roles: {facts.roles_note}", icon=":material/group:")

slug = ui.file_slug(facts.title) or f"call-{call_id}"
with st.container(horizontal=True):  # each button as wide as its label, wrapping on a narrow window
    for fmt, label, ending, mime, icon in DOWNLOADS:
        # Built when clicked (deferred), by `export`: it checks access again and audits the download.
        st.download_button(label, data=partial(export, call_id, fmt, viewer.username, via="dashboard"),
                           file_name=f"{slug}-{ending}", mime=mime, icon=icon, on_click="ignore", width="content",
                           type="primary" if fmt == "pdf" else "secondary")
ui.hints_caption()
if facts.error:
    st.warning(ui.literal(facts.error), icon=":material/visibility_off:")

version = data.call_version(viewer, call_id)
if version is None:  # deleted since the facts were read
    _not_found()
stages = tuple(load_stages(call_id))
notes = load_notes(call_id)
moments = load_moments(call_id)
summary = data.summary(call_id, version, stages)

# ----------------------------------------------------------------------------- headline numbers
start, end = summary.prospect_thirds
first, first_note = first_positive(summary)
m1, m2, m3, m4 = st.columns(4, border=True)
positive, positive_note = prospect_positive(summary)  # an absent face is not "not positive"; what the share is of,
# under it (trial 12: "96%" of 26 s read of a 50-s call was taken for the call's), and what it leaves out
m1.metric("Prospect likely positive", positive, delta=positive_note, delta_color="off", delta_arrow="off",
          help=ui.PROSPECT_POSITIVE_HELP)
thirds_read = f"Read {start.seconds} s of the prospect's face in the first third, {end.seconds} s in the last."
if summary.thirds_not_compared is None:
    m2.metric("Prospect mood, first → last third", f"{start.positive:.0%} → {end.positive:.0%}",
              delta=f"{(end.positive - start.positive) * 100:+.0f} pts likely positive", help=thirds_read)
else:  # an absent face is not "not positive", and seconds are no trend; the reason in small type under a dash (as
    # the value, "call too short" wrapped to three lines of large type and stretched every card at 1024 px: a trial)
    m2.metric("Prospect mood, first → last third", "—", delta=summary.thirds_not_compared, delta_color="off",
              delta_arrow="off", help=thirds_read)
m3.metric("First positive prospect shift", first, delta=first_note, delta_color="off", delta_arrow="off",
          help="When the prospect's most likely emotion first turned positive and held for a few seconds.")
m4.metric("Negative shifts · " + ", ".join(reversed(facts.roles)),
          " · ".join(str(summary.negative_shifts[role]) for role in reversed(facts.roles)),
          help="Times the most likely emotion turned to anger, disgust, fear or sadness (e.g. neutral → sad) and held; a smile that fades is not one.")
st.caption(f"Shares count only the seconds a face was seen and read: the prospect's "
           f"{summary.seen_seconds[PROSPECT]} s of {summary.n_seconds} s"
           + (f", the rep's {summary.seen_seconds[REP]} s." if REP in facts.roles else "."))
if no_rep := rep_not_shown(facts):
    st.info(no_rep, icon=":material/visibility_off:")

# ----------------------------------------------------------------------------- player and talking points
player_col, points_col = st.columns([3, 2])
with player_col:
    recording = data.video(call_id, facts.source_path)
    if recording is not None:
        st.video(recording.data, format=recording.mime, start_time=st.session_state.video_at[1])
        seq = st.session_state.get("seek_seq", 0)
        player_bridge(st.session_state.video_at[1], Seek(st.session_state.video_at[1], seq) if seq else None,
                      player_key, _on_pause,
                      charts=f".st-key-{chart_key}")
        st.caption(f"Playing from {clock(st.session_state.video_at[1])} · click a chart point, a shift marker or a "
                   "moment to play from there; pause to pin a coaching note at that second.")
    else:
        st.info("The recording can't be played here (retention removed it, or no playable copy could be made); "
                "every chart, still and number below still applies.", icon=":material/videocam_off:")
with points_col:
    with st.container(border=True):
        st.markdown("**Talking points for the one-to-one**")
        st.markdown("\n".join(f"- {ui.literal(p)}" for p in shown_points(summary, facts)))
    with st.container(border=True):
        st.markdown("**Share of time in each likely emotion**")
        st.plotly_chart(shares_figure({role: summary.shares[role] for role in facts.roles}, summary.seen_seconds),
                        config={"displayModeBar": False}, key="shares")
        # a guest's readings count in no figure (they may be the prospect after all): say who, and where they are
        # charted (new-user trial 14: a prospect's colleague's emotions were in the CSV and on no page)
        guests = [card for card in people_cards if card.person.role not in (REP, PROSPECT)]
        if guests:
            st.caption("Also on the call: " + "; ".join(f"person {c.person.number} ({c.where}, {c.person.seen})"
                                                        for c in guests)
                       + ". Their likely emotions are charted under the timelines and in the CSV, and count in no "
                       "figure here; if one is the prospect, pick them in Fix roles.")
        if weak := weak_label_note(summary):  # trial 20: the doubt beside the share it is about, not only in the box
            st.caption(f":material/warning: {weak}")

# ----------------------------------------------------------------------------- timelines


def _on_chart_select() -> None:
    selection = st.session_state[chart_key].selection
    if selection.box:
        x0, x1 = sorted(selection.box[0]["x"])
        st.session_state.stage_from, st.session_state.stage_to = clock(max(0, x0)), clock(x1)
    elif selection.points:
        _jump(selection.points[0]["x"])


st.subheader("Timelines")
st.plotly_chart(data.timeline_chart(call_id, version, stages, facts.roles), key=chart_key, on_select=_on_chart_select,
                selection_mode=("points", "box"), config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"]})
st.caption("Click a point or a ▲▼● shift marker to play the call from there. Drag across the chart to select a span "
           f"for a script stage. Beige in the band under a timeline: {UNCERTAIN} (a face seen, no emotion shown); light grey "
           f"shading: {FACE_NOT_SEEN}; dark shading: {NO_VIDEO} (nothing on screen).")
guest_labels = tuple((c.person.role, f"Guest · person {c.person.number}") for c in guests)
if guest_labels:  # others on the call, apart from the two; open where one turned negative (a second stakeholder)
    turns = data.timeline(call_id, version).shifts
    turns = turns[turns["role"].isin([role for role, _ in guest_labels]) & (turns["direction"] == "negative")]
    with st.expander("Guests' likely emotions: " + ", ".join(f"person {c.person.number}" for c in guests)
                     + (f" · likely turned negative at {', '.join(clock(t) for t in turns['t_s'])}" if len(turns) else ""),
                     expanded=bool(len(turns)), icon=":material/group:"):
        st.plotly_chart(data.timeline_chart(call_id, version, (), tuple(role for role, _ in guest_labels), guest_labels),
                        key="guest-timelines", config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"]})
        st.caption("Someone else on the call (a colleague, a second stakeholder): their readings count in no share or "
                   "figure; only a turn to negative is named in the talking points. If one of them is the prospect, "
                   "pick them in Fix roles.")


# ----------------------------------------------------------------------------- who is talking (reports.talk)
def _talk_section(metrics: TalkMetrics | None) -> None:
    """Talk metrics with their definitions, under the timelines (whose bottom band shows who is talking)."""
    st.subheader("Who is talking")
    if metrics is None:
        st.caption(TALK_NOT_MEASURED)
        return
    if facts.roles_guessed:
        st.warning(GUESSED_ROLES_TALK, icon=":material/help:")
    rows = talk_rows(metrics)  # one box per row, three to a line (a call without audio has one: no empty boxes)
    columns = [c for start in range(0, len(rows), 3) for c in st.columns(min(3, len(rows) - start), border=True)]
    for column, (name, value) in zip(columns, rows):
        with column:
            st.markdown(f"**{name}**")
            st.markdown(value)
            if name in DEFINITIONS:
                st.caption(DEFINITIONS[name])
    st.caption(f"The band under the timelines shows who is talking each second. {TALK_TIME_NOT_EMOTION}")


def _speaking_words(t_s: float) -> str:
    """' · rep talking' (who was talking at a moment), or '' when not measured."""
    who = speaking_at(data.timeline(call_id, version).seconds, t_s)
    return f" · {who} talking" if who else ""


_talk_section(data.talk(call_id, version))

# ----------------------------------------------------------------------------- details
editor = viewer.can_change  # reps read: no stage, note or role editing
# Stable labels and a key: the open tab survives adding a stage or note and swapping roles (counts would rename it).
tabs = st.tabs(list(TAB_LABELS) + (["Fix roles"] if editor else []), key="review_tab", on_change="rerun")
moments_tab, stages_tab, notes_tab = tabs[:3]

with moments_tab:
    st.caption(f"{counted(len(moments), 'key moment')} · {counted(len(stages), 'script stage')} · "
               f"{counted(len(notes), 'coaching note')}")
    if not moments:
        st.info("No key moments: neither face showed a sustained change of likely emotion.")
    for index, moment in enumerate(moments):
        if index % 3 == 0:  # a row of three at a time: columns stack on a narrow screen (and read one after the other),
            row = st.columns(3)  # and one column of every third moment read 0:30, 1:30, 3:36, 0:45... (a trial, 13)
        with row[index % 3].container(border=True):
            label = f"likely {moment.emotion}" if moment.emotion else "face not read"
            kind = SHIFT_KINDS[moment.direction] if moment.direction else CLEAREST_EXPRESSION
            # A badge is one line, cut with "…" where the column ends (a trial at 1024 px, three cards in 560 px:
            # "0:10 · Prospect · likel…"): only the time in it, who and what beside it as text that wraps; the kind of
            # moment and who was talking on a line of their own.
            # a guest by the name the page gives them everywhere ("Guest · person 3"), not their role participant-N
            who = dict(guest_labels).get(moment.role, (moment.role or "").capitalize())
            st.markdown(f":{BADGE_COLOURS.get(moment.direction, 'blue')}-badge[{clock(moment.t_s)}] **{who}** · {label}")
            st.caption(f"{kind.capitalize()}{_speaking_words(moment.t_s)}")
            if moment.image.is_file():
                st.image(str(moment.image), width="stretch")
            st.markdown(moment.text.replace(f"{(moment.role or '').capitalize()}: ", f"{who}: ", 1))
            for note in notes_at(notes, moment.t_s):
                st.markdown(f":material/sticky_note_2: {ui.literal(note.text)}"
                            + (f" — *{ui.literal(note.author)}*" if note.author else ""))
            st.button(f"Play from {clock(moment.t_s)}", key=f"moment-{index}", icon=":material/play_arrow:",
                      on_click=_jump, args=(moment.t_s,))

with stages_tab:
    if summary.stages:
        table = pd.DataFrame({
            "Stage": [s.name for s in summary.stages],
            "Time": [f"{clock(s.start_s)}–{clock(s.end_s)}" for s in summary.stages],
            "Prospect likely positive": [100 * s.mood.positive for s in summary.stages],
            "Prospect likely negative": [100 * s.mood.negative for s in summary.stages],
            "Most likely emotion": [s.most_likely or "not seen" for s in summary.stages],
            "Negative shifts": [s.negative_shifts for s in summary.stages],
        })
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "Prospect likely positive": ui.percent_column("Prospect likely positive"),
            "Prospect likely negative": ui.percent_column("Prospect likely negative")})
    elif editor:
        st.caption("No stages yet: mark where the intro, discovery, demo, pricing and close happened to see the "
                   "prospect's likely emotions per stage.")
    else:
        st.caption("No script stages marked on this call.")

if editor:
    if st.session_state.pop("_stage_saved", False):  # an empty form for the next stage
        st.session_state.stage_from = st.session_state.stage_to = ""
        st.session_state.stage_name = STAGE_NAMES[0]
    add_col, remove_col = stages_tab.columns([3, 2])
    with add_col.form("add-stage", border=True):
        st.markdown("**Mark a stage**")
        name = st.selectbox("Stage", STAGE_NAMES, accept_new_options=True, key="stage_name")
        a, b = st.columns(2)
        a.text_input("From (m:ss)", key="stage_from", placeholder="0:00")
        b.text_input("To (m:ss)", key="stage_to", placeholder=clock(facts.duration_s or 0))
        if st.form_submit_button("Add stage", icon=":material/add:"):
            try:
                add_stage(call_id, name or "", ui.parse_clock(st.session_state.stage_from or "0"),
                          ui.parse_clock(st.session_state.stage_to or str(facts.duration_s or 0)))
            except ValueError as error:
                st.error(ui.literal(error))
            else:
                st.session_state._stage_saved = True
                st.rerun()
    if stages:
        with remove_col.container(border=True):
            st.markdown("**Remove a stage**")
            doomed = st.selectbox("Stage to remove", stages,
                                  format_func=lambda s: f"{s.name} ({clock(s.start_s)}–{clock(s.end_s)})")
            if st.button("Remove", icon=":material/delete:"):
                delete_stage(doomed.id)
                st.rerun()

with notes_tab:
    if editor:
        if st.session_state.pop("_note_saved", False):  # an empty note for the next one; the time stays
            st.session_state.note_text = ""
        with st.form("add-note", border=True):
            st.markdown(f"**Add a coaching note** as {ui.literal(viewer.display_name)}")
            at_col, text_col = st.columns([1, 5])
            at_col.text_input("At (m:ss)", key="note_at",
                              help="Where the player was last paused, or the moment you last jumped to; any second.")
            text_col.text_area("Note", key="note_text",
                               placeholder="What should the rep keep doing, or try differently here?")
            if st.form_submit_button("Save note", icon=":material/sticky_note_2:"):
                try:
                    add_note(call_id, ui.parse_clock(st.session_state.note_at or "0"), st.session_state.note_text,
                             viewer.display_name)
                except ValueError as error:
                    st.error(ui.literal(error))
                else:
                    st.session_state._note_saved = True
                    st.rerun()
    elif not notes:
        st.caption("No coaching notes on this call yet.")
    for note in notes:
        time_col, text_col, play_col, delete_col = st.columns([1, 6, 1, 1], vertical_alignment="center")
        time_col.markdown(f"**{clock(note.t_s)}**")
        text_col.markdown(ui.literal(note.text) + (f" — *{ui.literal(note.author)}*" if note.author else ""))
        play_col.button("", key=f"play-note-{note.id}", icon=":material/play_arrow:", on_click=_jump, args=(note.t_s,),
                        help="Play from here")
        if editor and delete_col.button("", key=f"delete-note-{note.id}", icon=":material/delete:",
                                        help="Delete this note"):
            delete_note(note.id)
            st.rerun()

if editor:
    with tabs[3]:
        seat = {p.number: index for index, p in enumerate(seating_order([card.person for card in people_cards]))}
        cards = sorted(people_cards, key=lambda card: seat[card.person.number])  # as they sit: left to right, top down
        if not cards:
            st.info("No faces were found, so there are no roles to fix.")
        else:
            st.markdown("**Who is the rep?**")
            how = ("Rapport could only guess who is who (the note above says why)." if facts.roles_guessed else
                   "Who is who was set by hand (the cards marked \"set by hand\")."
                   if any(card.person.role_source == "manual" for card in cards) else  # trial 20: "from the layout"
                   "Who is who was decided as the note above says." if facts.roles_note else
                   "Who is who was decided from the screen layout.")
            st.caption(how + " If it is wrong, click the rep"
                       + (" (and the prospect)" if len(cards) > 2 else "") + ": the timelines, shifts and stills are "
                       "rebuilt from the stored analysis." + ("" if facts.rep_analysis else
                       " Rep analysis is off: the new rep's emotions are deleted, and the new prospect's face is "
                       "read again if it never was."))
            columns = st.columns(min(len(cards), 6))
            for index, card in enumerate(cards):
                person = card.person
                with columns[index % len(columns)].container(border=True, key=f"person-{person.number}"):
                    if card.picture is not None and card.picture.is_file():
                        st.image(str(card.picture), width=120)
                    elif facts.media_purged:
                        st.caption(":material/hide_image: Face picture removed by retention")
                    # "person N" as the roles note names them (a trial: the note's "Person 1" had no card to match)
                    # a guest is "Guest", not "Participant-2" beside "person 1": two numbers for one face confused a trial
                    role = person.role.capitalize() if person.role in (REP, PROSPECT) else "Guest"
                    st.markdown(f"**{role}** · person {person.number} · {card.where}")
                    st.caption(f"Seen {person.seen}"
                               + (" · set by hand" if person.role_source == "manual" else "")
                               + ("" if person.read or person.role == REP else " · face not read"))
                    if st.button("This is the rep", key=f"pick-rep-{version}-{person.number}",
                                 disabled=person.role == REP, icon=":material/badge:"):
                        _fix_roles(f"Rep is now the person {card.where}.", rep=person.number)
                    if len(cards) != 2 and st.button("This is the prospect", key=f"pick-prospect-{version}-{person.number}",
                                                     disabled=person.role == PROSPECT, icon=":material/person:"):
                        rep = next((c.person.number for c in cards if c.person.role == REP and c.person is not person), None)
                        _fix_roles(f"Prospect is now the person {card.where}.", rep=rep, prospect=person.number)
                    prospects = [c.person for c in cards if c.person.role == PROSPECT and c.person is not person]
                    beside = next((p for p in prospects if not person.may_be_one_with(p)), None)
                    together = max((person.seen_together_s(p) for p in prospects), default=0)
                    together_words = minutes(together / 60) if together >= 120 else f"{together} s"
                    if person.role not in (REP, PROSPECT) and beside is not None:
                        # trials 17 and 20: a second stakeholder beside the prospect all call was merged into them
                        # (`calls.roles.ONE_PERSON_TOGETHER_MAX_S`); the button is for one person seen apart only
                        st.caption(f"On screen at the same time as the prospect for {together_words}: someone else."
                                   + (" If this is the prospect, click *This is the prospect*." if len(cards) != 2
                                      else ""))
                    elif (person.role not in (REP, PROSPECT) and prospects
                          and st.button("Also the prospect", key=f"also-prospect-{version}-{person.number}",
                                        icon=":material/group_add:", help="The same person as the prospect, seen apart "
                                        "(a camera turned off and on, a new tile) or twice (a thumbnail): both count "
                                        "as the prospect.")):
                        _fix_roles(f"Person {person.number} is now the prospect too.",
                                   also_prospect=tuple(person.track_nos))
                    if person.role not in (REP, PROSPECT) and beside is None and any(
                            person.copy_sized(p) and person.together_run_s(p) > ONE_PERSON_TOGETHER_MAX_S
                            for p in prospects):  # a thumbnail beside a big tile: their copy, or someone in a filmstrip
                        st.caption(f":material/warning: On screen at the same time as the prospect for {together_words}, "
                                   "at half their size or less: the prospect's own thumbnail, or someone else.")
                    if (person.role == PROSPECT and prospects
                            and st.button("Not the prospect", key=f"not-prospect-{version}-{person.number}",
                                          icon=":material/group_remove:", help="Someone else on the call: a guest, "
                                          "counted in no figure.")):
                        taken = {c.person.role for c in cards}
                        free = next(f"participant-{k}" for k in range(1, len(cards) + 1) if f"participant-{k}" not in taken)
                        _fix_roles(f"Person {person.number} is a guest now.", guest=(tuple(person.track_nos), free))
            if facts.rep_identified and st.button("Swap rep and prospect", icon=":material/swap_horiz:"):
                _fix_roles("Rep and prospect swapped.", swap=True)
            with st.expander("Recognise this rep on their later calls (with their consent)", icon=":material/face:"):
                if not data.workspace().rep_recognition:
                    st.caption(RECOGNITION_OFF)
                elif not facts.rep:
                    st.caption("Set the call's rep first (Edit call details).")
                else:
                    place = {c.person.number: c.where for c in cards}
                    numbers = list(place)
                    current = next((i for i, c in enumerate(cards) if c.person.role == REP), 0)
                    with st.form(f"enrol-{call_id}", border=False):
                        enrolled = st.selectbox(f"Which person is {ui.literal(facts.rep)}?", numbers, index=current,
                                                format_func=lambda n: f"Person {n} ({place[n]})")
                        consent = st.text_area(f"{ui.literal(facts.rep)}'s consent, in their own words",
                                               placeholder="I agree that Rapport keeps my face signature to find me "
                                                           "on my calls.")
                        st.caption("Stored: a face signature of 128 numbers taken from a few frames of this person "
                                   "(never a photo), with your name and the time. Withdrawn any time in Settings.")
                        if st.form_submit_button("Enrol the rep", icon=":material/how_to_reg:"):
                            try:
                                with st.spinner("Reading a few frames of this person…"):
                                    enrol_rep(call_id, enrolled, consent, user=viewer, username=viewer.username)
                            except (ValueError, LookupError, PermissionError, InputError) as error:
                                st.error(ui.literal(error))
                            else:
                                st.success(f"{ui.literal(facts.rep)} is enrolled: their later calls find them in any "
                                           "layout.", icon=":material/how_to_reg:")
