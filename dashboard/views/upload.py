"""Upload: hand a recording to the analysis queue and watch it go (the page never analyses itself)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import streamlit as st

from config import VIDEO_EXTENSIONS, get_settings
from dashboard import data, ui
from pipeline.analyze import AnalysisSettings
from pipeline.errors import InputError
from pipeline.jobs import enqueue_call
from pipeline.roles import REP_POSITIONS

settings = get_settings()
st.title("Upload a call")
st.info("**Consent first.** Only upload calls where everyone on the call agreed to be recorded and to have their "
        "expressions analysed for coaching. The analysis gives likely emotions as coaching hints, not verdicts.",
        icon=":material/verified_user:")

with st.form("upload", clear_on_submit=True, border=True):
    upload = st.file_uploader("Call recording", type=[e.lstrip(".") for e in VIDEO_EXTENSIONS],
                              max_upload_size=settings.max_upload_mb,
                              help=f"mp4, mov, m4v, webm, mkv or avi, up to {settings.max_upload_mb / 1024:g} GB")
    left, right = st.columns(2)
    title = left.text_input("Title", placeholder="e.g. Acme renewal — pricing call (default: the file name)")
    call_date = right.date_input("Call date", value=dt.date.today(), format="YYYY-MM-DD")
    rep = left.selectbox("Rep", data.rep_names(), index=None, accept_new_options=True,
                         placeholder="Pick a rep or type a new name")
    position = right.selectbox("Where is the rep's tile?", REP_POSITIONS, index=REP_POSITIONS.index(settings.rep_position),
                               format_func=str.capitalize,
                               help="In gallery view, the side of the screen the rep appears on. "
                                    "Speaker view (prospect large, rep small) is recognised on its own.")
    prospect_name = left.text_input("Prospect's name")
    prospect_company = right.text_input("Prospect's company")
    consent = st.checkbox("Everyone on this call agreed to be recorded and analysed.")
    submitted = st.form_submit_button("Analyse call", type="primary", icon=":material/rocket_launch:")

if submitted:
    if upload is None:
        st.error("Choose a recording to upload.")
    elif not consent:
        st.error("Please confirm that everyone on the call agreed to be recorded and analysed.")
    else:
        incoming = settings.data_dir / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        # The upload's own name is display text only; the bytes go to a temp file with a name of our choosing.
        with tempfile.NamedTemporaryFile(dir=incoming, suffix=".upload", delete=True) as temp:
            shutil.copyfileobj(upload, temp)
            temp.flush()
            analysis = AnalysisSettings(fps=settings.analysis_fps, detector=settings.detector, rep_position=position,
                                        min_shift_seconds=settings.min_shift_seconds, rep_analysis=settings.rep_analysis)
            try:
                call_id, _ = enqueue_call(Path(temp.name), title=title.strip() or None, rep=rep, call_date=call_date,
                                          prospect_name=prospect_name.strip() or None,
                                          prospect_company=prospect_company.strip() or None,
                                          original_filename=upload.name, analysis=analysis)
            except InputError as error:
                message = str(error).replace(Path(temp.name).name, upload.name)  # name the file the manager chose
                st.error(f"**{upload.name}** can't be analysed: {message}", icon=":material/error:")
            else:
                st.session_state.setdefault("uploads", []).append(call_id)
                st.toast(f"{upload.name} is queued for analysis.", icon=":material/schedule:")

ui.queue_panel(st.session_state.get("uploads"))
st.caption("You can leave this page: analysis carries on in the background and finished calls appear under **Calls**.")
