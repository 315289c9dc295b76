"""Upload: hand a recording to the analysis queue and watch it go (the page never analyses itself).

Managers and admins only. The uploader confirms the participants were told the call is analysed; their
username and the time are stored on the call. The file's name is display text only, its type is probed from
its content (`create_call`), and nothing typed here reaches a shell or a path.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import streamlit as st

from config import VIDEO_EXTENSIONS, VIDEO_EXTENSIONS_WORDS, get_settings
from calls.intake import write_upload
from dashboard import auth, data, ui
from jobs.queue import enqueue_call
from pipeline.analyze import AnalysisSettings
from pipeline.errors import InputError, StorageFull
from pipeline.roles import REP_POSITIONS
from reports.summary import REP_ANALYSIS_WHY

CONSENT_LABEL = "Everyone on this call was told it is recorded and that their expressions are analysed."

viewer = auth.require_user()
settings = get_settings()
st.title("Upload a call")
if not viewer.can_change:
    st.info("Uploading is for managers and admins: ask your manager to upload a call.", icon=":material/lock:")
    st.stop()
if ui.no_team_notice(viewer):  # a call they uploaded would belong to no team: they could not see it
    st.stop()
st.info("**Consent first.** Only upload calls where everyone on the call was told it is recorded and that their "
        "expressions are analysed for coaching. The analysis gives likely emotions as coaching hints, not verdicts.",
        icon=":material/verified_user:")
if not data.rep_analysis_on():
    st.caption(f":material/visibility_off: Rep analysis is off: only the prospect's likely emotions are read "
               f"({REP_ANALYSIS_WHY}).")

if toast := st.session_state.pop("_queued_toast", None):
    st.toast(toast, icon=":material/schedule:")
# A failed submission keeps every field and the file (the form is not cleared); a queued call empties it by
# giving the form, and so every widget in it, a new identity.
form_no = st.session_state.setdefault("upload_form_no", 0)
# (file id, its warning) when the chosen file's bytes were uploaded before: shown, with a box to go on, until another
# file is chosen (a new-user trial, 28, uploaded one recording twice and then deleted the original by mistake)
uploaded_before = st.session_state.get("upload_uploaded_before")
with st.form(f"upload-{form_no}", border=True):
    upload = st.file_uploader("Call recording", type=[e.lstrip(".") for e in VIDEO_EXTENSIONS],
                              max_upload_size=settings.max_upload_mb,
                              help=f"{VIDEO_EXTENSIONS_WORDS}, up to {settings.max_upload_mb / 1024:g} GB")
    file_message = st.empty()
    again = False
    if uploaded_before and upload is not None and upload.file_id == uploaded_before[0]:
        file_message.warning(uploaded_before[1], icon=":material/content_copy:")
        again = st.checkbox("Analyse it again anyway (a second call of the same recording)")
    left, right = st.columns(2)
    title = left.text_input("Title", placeholder="e.g. Acme renewal — pricing call (default: the file name)")
    call_date = right.date_input("Call date", value=dt.date.today(), format="YYYY-MM-DD")
    rep = left.selectbox("Rep", data.rep_names(viewer), index=None, accept_new_options=True,
                         placeholder="Pick a rep or type a new name",
                         help="Pick from the list; a typed name that matches a rep (ignoring case and spaces) is that rep.")
    rep_message = left.empty()
    position = right.selectbox("Where is the rep's tile?", REP_POSITIONS, index=REP_POSITIONS.index(settings.rep_position),
                               format_func=str.capitalize,
                               help="In gallery view, the side of the screen the rep appears on. "
                                    "Speaker view (prospect large, rep small) is recognised on its own.")
    prospect_name = left.text_input("Prospect's name")
    prospect_company = right.text_input("Prospect's company")
    consent = st.checkbox(CONSENT_LABEL)
    consent_message = st.empty()
    consent_note = st.text_input("How they were told (optional)", max_chars=500,
                                 placeholder="e.g. notice in the invite, said at the start of the call")
    submitted = st.form_submit_button("Analyse call", type="primary", icon=":material/rocket_launch:")

queued = None
if submitted:
    # Every problem at once, each next to its field.
    problems = False
    if upload is None:
        file_message.error("Choose a recording to upload.", icon=":material/error:")
        problems = True
    if not consent:
        consent_message.error("Please confirm that everyone on the call was told it is recorded and analysed.",
                              icon=":material/error:")
        problems = True
    if not rep and not viewer.is_admin:
        rep_message.error("Pick the rep on this call: you see the calls of your team's reps only.", icon=":material/error:")
        problems = True
    elif rep and data.rep_elsewhere(viewer, rep):
        rep_message.error(f"**{ui.literal(rep)}** is a rep of another team: pick one of your reps, or ask an admin.",
                          icon=":material/error:")
        problems = True
    if not problems:
        incoming = settings.data_dir / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        # The upload's own name is display text only; the bytes go to a temp file with a name of our choosing.
        with tempfile.NamedTemporaryFile(dir=incoming, suffix=".upload", delete=True) as temp:
            analysis = AnalysisSettings(fps=settings.analysis_fps, detector=settings.detector, rep_position=position,
                                        min_shift_seconds=settings.min_shift_seconds)  # rep analysis: the workspace's
            try:
                upload.seek(0)  # a kept file may have been read by an earlier attempt
                digest = write_upload(upload, temp, upload.name)  # a full disk: StorageFull, and the temp file goes
                earlier = [] if again else data.earlier_uploads(viewer, digest, upload.size)
                if earlier:
                    st.session_state.upload_uploaded_before = (upload.file_id, (
                        f"**{ui.literal(upload.name)}** was uploaded before, as {ui.literal(', '.join(earlier))} "
                        f"(under **Calls**). Nothing new was queued: tick the box below and press *Analyse call* to "
                        f"analyse it again."))
                    st.rerun()
                queued, _ = enqueue_call(Path(temp.name), title=title.strip() or None, rep=rep, call_date=call_date,
                                         prospect_name=prospect_name.strip() or None,
                                         prospect_company=prospect_company.strip() or None,
                                         original_filename=upload.name, analysis=analysis, team=viewer.team,
                                         consent_confirmed_by=viewer.username, consent_note=consent_note)
            except StorageFull as error:  # names the upload; nothing of it was kept
                file_message.error(ui.literal(error), icon=":material/hard_drive:")
            except InputError as error:  # names upload.name (passed as original_filename), as the CLI does
                file_message.error(ui.literal(error), icon=":material/error:")
    if queued is not None:
        st.session_state.pop("upload_uploaded_before", None)
        st.session_state.setdefault("uploads", []).append(queued)
        st.session_state.upload_form_no = form_no + 1  # an empty form for the next call
        st.session_state._queued_toast = f"{ui.literal(upload.name)} is queued for analysis."
        st.rerun()

ui.queue_panel(viewer, st.session_state.get("uploads"))
if st.session_state.get("uploads"):  # after "Analyse call" the user looks where they clicked: bring the queue there
    ui.scroll_into_view(f".st-key-{ui.QUEUE_KEY}", token=st.session_state["uploads"][-1])
st.caption("You can leave this page: analysis carries on in the background and finished calls appear under **Calls**.")
