"""Reps: one rep over time (how their prospects likely reacted, their own expression mix) and the team side by side
(with each rep's talk ratio, `reports.talk`).

Only the reps whose calls the user may see appear. The rep's own expressions come only from calls where rep
analysis was on; where it was off for all of them, one line says why instead.
"""

from __future__ import annotations


import pandas as pd
import streamlit as st

from access.audit import record
from config import EMOTIONS
from dashboard import auth, data, ui
from db.models import CallStatus
from pipeline.timeline import counted, minutes
from reports.charts import mix_figure, team_figure, trend_figure
from reports.summary import MIN_SECONDS_TO_COMPARE, REP_ANALYSIS_WHY
from reports.talk import DEFINITIONS, TALK_TIME_NOT_EMOTION

viewer = auth.require_user()
st.title("Reps")
ui.hints_caption()
if ui.no_team_notice(viewer):
    st.stop()


def rep_analysis_off_note() -> None:
    st.info(f"The rep's own expressions are not shown: rep analysis was off for these calls ({REP_ANALYSIS_WHY}).",
            icon=":material/visibility_off:")


def download_csv(table: pd.DataFrame, what: str, target: str) -> None:
    """A table as shown, for a one-to-one pack (a trial, 19: the figures could only be screenshotted); percentages as
    numbers 0-100, rounded to one decimal. Built when clicked, and audited then as an export of `target`, as a call's
    exports are (`reports.exports`)."""
    def content() -> bytes:
        record(viewer.username, "export", target, format="csv", via="dashboard")
        return table.round(1).to_csv(index=False).encode()

    slug = ui.file_slug(target)
    st.download_button(f"Download {what} (CSV)", content, file_name=f"rapport-{slug}.csv", mime="text/csv",
                       icon=":material/download:", on_click="ignore", key=f"download-{slug}")


calls = data.call_stats(data.store_version(), viewer)
done = calls[(calls["status"] == CallStatus.DONE) & calls["rep"].notna()] if not calls.empty else calls
done, repeated = data.latest_analyses(done)
if len(repeated):
    st.info("Counted once, as its latest analysis: " + ", ".join(
        f"{data.call_label(i, t, w)} is an earlier analysis of the same recording as "
        f"#{done.loc[done['content_sha256'] == digest, 'id'].iloc[0]}"
        for i, t, w, digest in zip(repeated["id"], repeated["title"], repeated["when"], repeated["content_sha256"]))
        + ".", icon=":material/content_copy:")
# A call whose prospect was only guessed counts nowhere here until a person confirms or fixes its roles (new-user trial
# 13: the rep's own smile, taken for the prospect's, pulled their team figure down)
held = done[done["roles_guessed"].astype(bool)] if not done.empty else done
done = done.drop(held.index)
if len(held):
    st.warning(f"Left out of every figure here until their roles are checked on the review page (who the prospect is "
               f"was only guessed): {', '.join(data.call_label(i, t, w) for i, t, w in zip(held['id'], held['title'], held['when']))}.",
               icon=":material/group:")
if done.empty:
    st.info(ui.no_calls_yet(viewer) if calls.empty else
            "No analysed calls with a rep yet. Upload a call and name its rep to see trends here.", icon=":material/groups:")
    st.stop()

one_tab, team_tab = st.tabs(["One rep over time", "Team side by side"])

with one_tab:
    names = sorted(done["rep"].unique())
    # the rep asked for in the address (?rep=), else the one viewed last in this session, else the first: a trial (19)
    # came back from fixing a rep's call to another rep's figures
    asked = st.query_params.get("rep") or st.session_state.get("reps_last")
    rep = st.selectbox("Rep", names, index=names.index(asked) if asked in names else 0, key="reps_pick")
    st.session_state["reps_last"] = st.query_params["rep"] = rep
    mine = done[done["rep"] == rep].sort_values(["when", "id"])
    mine = mine.assign(call=mine["when"].dt.strftime("%d %b") + " #" + mine["id"].astype(str))  # one label per call
    c1, c2, c3, c4 = st.columns(4, border=True)
    c1.metric("Calls analysed", len(mine))
    me = data.team_table(mine).iloc[0]
    if not me.enough:  # the team tab's rule, for one rep too (a new-user trial, 28: 11.8 a 10 min from 1.7 minutes)
        st.warning(f"Little to go on: {minutes(me.seen_minutes)} of the prospects' faces read on {rep}'s calls, under "
                   f"{data.MIN_SEEN_MINUTES_TO_COMPARE:g}: negative shifts are counted, not rated per 10 minutes, and "
                   "shares swing widely on so little; judge on more calls.", icon=":material/warning:")
    read = bool(me.seen_minutes)  # nothing read is "not seen", not "nan%" (new-user trial 13)
    c2.metric("Prospect likely positive", f"{me.prospect_positive:.0%}" if read else "not seen",
              help=f"Share of the {minutes(me.seen_minutes)} the prospects' faces were read on this rep's calls.")
    if read and not me.enough:  # a count, not a rate (new-user trial 21: one late shift in 22 s read "27.3 per 10 min")
        c3.metric("Prospect negative shifts", int(mine["negative_shifts"].sum()),
                  delta=f"in {minutes(me.seen_minutes)} read: too little for a rate", delta_color="off",
                  delta_arrow="off", help=f"Rates per 10 minutes of read prospect time are shown from "
                                          f"{data.MIN_SEEN_MINUTES_TO_COMPARE:g} minutes read on.")
    else:
        c3.metric("Prospect negative shifts per 10 min", f"{me.negative_shifts_per_10min:.1f}" if read else "not seen",
                  help=f"Per 10 minutes of read prospect time ({minutes(me.seen_minutes)} on "
                       f"{counted(me.calls, 'call')}).")
    rep_read = mine[mine["rep_analysis"] & (mine["rep_seen_s"] > 0)]
    c4.metric("Rep likely happy", f"{me.happy:.0%}" if me.rep_seen_minutes else
              "not analysed" if not mine["rep_analysis"].any() else "not seen",
              help=f"Share of the {minutes(me.rep_seen_minutes)} the rep's face was read (calls with rep analysis on) "
                   "in which their most likely emotion was happy.")
    trend_col, mix_col = st.columns(2)
    with trend_col:
        st.markdown("**How positive their prospects likely looked, call by call**")
        st.plotly_chart(trend_figure(mine, "call"), config={"displayModeBar": False}, key="trend")
    with mix_col:
        st.markdown("**The rep's own likely expressions, call by call**")
        if rep_read.empty:
            rep_analysis_off_note()
        else:
            # each call's column names its sample (trial 14: 6 s read drew a full "angry 100%" column)
            labelled = rep_read.assign(call=rep_read["call"] + "<br>" + rep_read["rep_seen_s"].astype(int).astype(str) + " s read")
            st.plotly_chart(mix_figure(labelled.rename(columns={f"rep_{e}": e for e in EMOTIONS}), "call", "rep_seen_s"),
                            config={"displayModeBar": False}, key="mix")
    st.markdown("**Their calls**")
    # the readings first, as on the Calls page (at 1024 px a trial had them off-screen)
    their_calls = pd.DataFrame({"Call": mine["title"],  # blank where read too little, as on the Calls page
                                "Prospect likely positive": (100 * mine["prospect_positive"]).where(
                                    mine["prospect_seen_s"] >= MIN_SECONDS_TO_COMPARE),
                                "Prospect negative shifts": mine["negative_shifts"],
                                "Rep talk ratio": 100 * data.calls_talk_ratio(mine),
                                "Date": mine["when"].dt.date, "Prospect": mine["prospect"].fillna("—")}).iloc[::-1]
    st.dataframe(their_calls, hide_index=True, width="stretch", column_config={
                     "Prospect likely positive": ui.percent_column(
                         "Prospect likely positive", f"Blank: their face was read under {MIN_SECONDS_TO_COMPARE} s."),
                     "Rep talk ratio": ui.percent_column("Rep talk ratio", help=f"{DEFINITIONS['Talk ratio']} Empty: "
                                                         "not given (the call's review page says why)."),
                     "Date": st.column_config.DateColumn(format="D MMM YYYY")})
    download_csv(their_calls, f"{rep}'s calls", f"rep {rep}")

with team_tab:
    team = data.team_table(done)
    few = team[~team["enough"]]
    if len(few):
        st.warning(f"Too little to compare for {', '.join(few['rep'])}: under {data.MIN_SEEN_MINUTES_TO_COMPARE:g} "
                   f"minutes of the prospect's face read. Their bars are pale; judge them on more calls.",
                   icon=":material/warning:")
    st.plotly_chart(team_figure(team), config={"displayModeBar": False}, key="team")
    st.caption("Rates are per 10 minutes of the time the prospect's face was read, so long and short calls compare "
               "fairly; under each name: calls and read minutes (the sample).")
    st.markdown("**Each rep's own likely expressions (share of the time their face was read, on calls with rep "
                "analysis on)**")
    read = team.dropna(subset=list(EMOTIONS))
    if read.empty:
        rep_analysis_off_note()
    else:
        st.plotly_chart(mix_figure(read.assign(rep_seen_s=60 * read["rep_seen_minutes"]), "rep", "rep_seen_s", height=260),
                        config={"displayModeBar": False}, key="team-mix")
    side_by_side = pd.DataFrame({"Rep": team["rep"], "Prospect likely positive": 100 * team["prospect_positive"],
                                 # blank under the sample a rate needs, as on the rep's own card (trial 21)
                                 "Prospect negative shifts per 10 min": team["negative_shifts_per_10min"].where(
                                     team["enough"]),
                                 "Rep talk ratio": 100 * team["talk_ratio"], "Calls": team["calls"],
                                 "Calls with a talk ratio": team["talk_ratio_calls"],
                                 "Prospect minutes read": team["seen_minutes"],
                                 "Enough to compare": team["enough"]})
    st.dataframe(side_by_side, hide_index=True, width="stretch",
                 column_config={"Prospect likely positive": ui.percent_column("Prospect likely positive"),
                                "Rep talk ratio": ui.percent_column("Rep talk ratio", help="Over the calls that "
                                                                    "give one (Calls with a talk ratio)."),
                                "Prospect minutes read": st.column_config.NumberColumn(format="%.1f"),
                                "Prospect negative shifts per 10 min": st.column_config.NumberColumn(
                                    format="%.1f", help=f"Blank under {data.MIN_SEEN_MINUTES_TO_COMPARE:g} prospect "
                                                        "minutes read: too little for a rate.")})
    # under the table that holds it: above, beside the charts, it named a figure no chart showed (trial 16)
    st.caption(f"Rep talk ratio: {DEFINITIONS['Talk ratio']} {TALK_TIME_NOT_EMOTION}")
    download_csv(side_by_side, "the team table", "team table")
