"""Calls: every recording the user may see with its headline numbers; filter, open; managers retry and delete."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from access.audit import record
from calls.lifecycle import delete_call
from dashboard import auth, data, ui
from db.models import CallStatus
from jobs.queue import retry_call
from pipeline.errors import NotFound
from pipeline.timeline import clock
from reports.summary import MIN_SECONDS_TO_COMPARE

viewer = auth.require_user()
st.title("Calls")
ui.hints_caption()
ui.queue_panel(viewer)
if ui.no_team_notice(viewer):
    st.stop()

calls = data.call_stats(data.store_version(), viewer)
if calls.empty:
    st.info(ui.no_calls_yet(viewer), icon=":material/upload:")
    st.stop()

left, middle, right = st.columns([2, 2, 1])
reps = left.multiselect("Rep", sorted(calls["rep"].dropna().unique()), placeholder="All reps")
first, last = calls["when"].min().date(), calls["when"].max().date()
period = middle.date_input("Call date", value=(first, last), format="YYYY-MM-DD")
statuses = right.multiselect("Status", list(ui.STATUS_LABELS), format_func=ui.STATUS_LABELS.get, placeholder="Any")

shown = calls
if reps:
    shown = shown[shown["rep"].isin(reps)]
if isinstance(period, tuple) and len(period) == 2:
    shown = shown[(shown["when"].dt.date >= period[0]) & (shown["when"].dt.date <= period[1])]
if statuses:
    shown = shown[shown["status"].isin(statuses)]

done = shown["status"] == CallStatus.DONE
guessed = done & shown["roles_guessed"].fillna(False).astype(bool)  # the prospect may be someone else: no figure yet
# What a manager scans for first comes first: at 1024 px the table shows five or six columns before it scrolls (a
# trial: with the readings last, the positive share, the shifts and the status were all off-screen). The status
# comes before the readings: it says why one is blank ("check roles") or rests on part of the call ("partial").
table = pd.DataFrame({
    "Call": shown["title"],
    "Rep": shown["rep"].fillna("—"),
    "Status": [ui.STATUS_LABELS[status] + (" · partial" if isinstance(partial, str) else "")
               + (" · check roles" if guess else "")
               for status, partial, guess in zip(shown["status"], shown["partial_note"], guessed)],
    # a call whose prospect was never read has no share: blank, not "0%" (a trial's backlit prospect); nor one read a
    # few seconds (trial 15: "100%" from 6 s beside calls read for minutes)
    "Prospect likely positive": (100 * shown["prospect_positive"]).where(
        done & ~guessed & (shown["prospect_seen_s"] >= MIN_SECONDS_TO_COMPARE)),
    "Negative shifts": [str(int(n)) if ok else "—" for n, ok in zip(shown["negative_shifts"].fillna(0), done & ~guessed)],
    "Date": shown["when"].dt.date,
    "Length": [clock(d) if pd.notna(d) else "—" for d in shown["duration_s"]],
    "Prospect": [", ".join(p for p in (n, c) if isinstance(p, str)) or "—" for n, c in zip(shown["prospect"], shown["company"])],
})


def _pick_from_table() -> None:
    rows = st.session_state.calls_table.selection.rows
    if rows:
        st.session_state.calls_pick = int(shown.iloc[rows[0]]["id"])


st.dataframe(table, hide_index=True, width="stretch", on_select=_pick_from_table, selection_mode="single-row",
             key="calls_table", column_config={
                 "Prospect likely positive": ui.percent_column(
                     "Prospect likely positive", f"{ui.PROSPECT_POSITIVE_HELP} Blank: their face was read under "
                     f"{MIN_SECONDS_TO_COMPARE} s, or their roles are to be checked."),
                 "Length": st.column_config.TextColumn(width="small"),
                 "Status": st.column_config.TextColumn(width=130, help="Partial: the recording was cut off or damaged, and the "
                                                       "figures cover the part read. Check roles: who the prospect is "
                                                       "was only guessed; their figures wait until the roles are "
                                                       "confirmed or fixed on the review page."),
                 "Negative shifts": st.column_config.TextColumn(help="Times the prospect likely turned to anger, disgust, "
                                                                "fear or sadness"),
                 "Date": st.column_config.DateColumn(format="D MMM YYYY"),
             })
st.caption(f"{len(shown)} of {len(calls)} calls · click a row to act on it.")

labels = {i: data.call_label(i, title, when) for i, title, when in zip(shown["id"], shown["title"], shown["when"])}
if not labels:
    st.stop()
if st.session_state.get("calls_pick") not in labels:
    st.session_state.calls_pick = next(iter(labels))
call_id = st.selectbox("Selected call", list(labels), format_func=labels.get, key="calls_pick")
call = calls[calls["id"] == call_id].iloc[0]

if call["status"] == CallStatus.FAILED:
    st.warning(f"Analysis failed: {ui.literal(call['error'] or 'unknown error')}", icon=":material/error:")
with st.container(horizontal=True):
    if call["status"] == CallStatus.DONE:
        ui.open_review_button(call_id, key="calls-open")
    if not viewer.can_change:
        st.stop()  # reps read: no retry, no delete
    if call["status"] == CallStatus.FAILED and st.button("Retry analysis", icon=":material/refresh:"):
        try:
            retry_call(call_id)
        except (ValueError, NotFound) as error:
            st.error(ui.literal(error))
        else:
            st.rerun()
    if st.button("Delete…", icon=":material/delete:"):
        st.session_state.confirm_delete = call_id

if st.session_state.get("confirm_delete") == call_id and ui.confirmed(
        "confirm_delete", f"Delete **{ui.literal(labels[call_id])}** for good? The recording, every result, still, stage and "
        "coaching note of this call go with it"
        + ("; its analysis is stopped first." if call["status"] in (CallStatus.QUEUED, CallStatus.RUNNING) else "."),
        "Yes, delete"):
    try:
        delete_call(call_id)
    except NotFound:
        pass  # someone else deleted it meanwhile: the outcome is the same
    else:
        record(viewer.username, "call_delete", f"call {call_id}")
    data.forget_cached()
    del st.session_state.confirm_delete
    del st.session_state.calls_pick
    st.toast(f"Deleted {ui.literal(call['title'])}.", icon=":material/delete:")
    st.rerun()
