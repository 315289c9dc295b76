"""Small pieces every page shares: the "likely" caption, links to a call, the live analysis queue, privacy wording."""

from __future__ import annotations

import re
import unicodedata

import streamlit as st

from access.policy import Principal, can_change, without_team
from dashboard import data
from db.models import CallStatus
from reports.facts import model_accuracy_parts
from reports.summary import HINTS_NOT_VERDICTS

REVIEW_PAGE = "views/review.py"
CALLS_PAGE = "views/calls.py"
POLL_S = 2.0
PROSPECT_POSITIVE_HELP = ("Share of the time the prospect's face was read that their most likely emotion was happy "
                          "(uncertain seconds, and seconds their face was not seen, not counted).")
"""What "Prospect likely positive" means, wherever a page shows it for a call (a trial read "share of the call" on the
Calls list beside 100% for a prospect away a third of the call)."""
# What means something to Streamlit's markdown (CommonMark + GFM: emphasis, code, links, images, autolinks, HTML,
# entities, tables, strikethrough; Streamlit's :icon: and :colour[...] directives and $math$) anywhere in a line;
# list, heading and quote markers only at a line's start; a dot only inside a word (www.host, a@b.c autolinks).
# Quotes, commas, sentence-final dots and hyphens inside words mean nothing and stay as typed.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\](){}<>!&~$:|#@])")
_MARKDOWN_LINE_START = re.compile(r"(?m)^(\s*)([-+=]|\d+\.)")
_MARKDOWN_WORD_DOT = re.compile(r"(?<=\w)\.(?=\w)")
# Streamlit also links bare addresses after parsing (GFM autolink literals: http://, www., a@b.c), escapes or not:
# an invisible WORD JOINER after the scheme, before "www."'s dot and before "@" keeps them plain text.
_AUTOLINK_START = re.compile(r"(?i)\b(https?|ftp|mailto|www|xmpp)(?=\\[:.])|(?=\\@)")
WORD_JOINER = "\u2060"
QUEUE_KEY = "analysis-queue"  # the queue panel's container (CSS class st-key-analysis-queue)
SCROLL_WAIT_MS = 3000  # how long scroll_into_view waits for its element to be drawn
STATUS_LABELS = {CallStatus.QUEUED: "Queued", CallStatus.RUNNING: "Analysing", CallStatus.DONE: "Done",
                 CallStatus.FAILED: "Failed"}
REP_ANALYSIS_EXPLAINED = (
    "Since 2 February 2025 the **EU AI Act** (Art. 5(1)(f)) prohibits inferring the emotions of people **at their "
    "workplace**; the Commission's guidelines name webcam emotion reading of call-centre agents as an example. "
    "If your reps work in the EU, keep rep analysis **off**: the rep's face is still found (to tell who is who) but "
    "never classified, and no rep emotions are stored. The prospect is not at their workplace in that sense, but "
    "everyone on a call must be **told** their expressions are analysed (Art. 50(3)): the upload form asks for that.")
REP_RECOGNITION_EXPLAINED = (
    "Off by default. When on, a manager may **enrol** a rep who agreed to it: on a call's review page (Fix roles) "
    "they pick the rep among the people and record the rep's own consent statement. Rapport then stores, per "
    "enrolled rep, a **face signature of 128 numbers** (never a photo), with who recorded the consent and when, "
    "and finds that rep on their later calls in any layout, before the rep position. The signature is deleted when "
    "consent is withdrawn (here or `python -m pipeline withdraw-rep REP_ID`, any time), when the rep is deleted, and "
    "by the retention purge once it is older than the per-second results are kept. Turning this off stops every "
    "use of the stored signatures and every new enrolment; withdraw them to delete them.")
REP_ANALYSIS_CHOICES = {
    False: "Off: read the prospect only; the rep's face is found but never classified (required for reps in the EU)",
    True: "On: read the rep's likely emotions too (only where the law allows emotion inference at work)",
}


NO_TEAM = ("You are not in a team yet, so no calls are shown here: a manager sees the calls of their own team's reps "
           "only. Ask an admin to give you a team.")


def no_team_notice(viewer: Principal) -> bool:
    """Say why a manager without a team sees nothing; True when it did (the page then stops)."""
    if without_team(viewer):
        st.info(NO_TEAM, icon=":material/group_off:")
        return True
    return False


def no_calls_yet(viewer: Principal) -> str:
    """What the Calls and Reps pages say when `viewer` may see no call: a manager sees only their team's reps' calls,
    so "No calls yet" beside calls they knew of (for reps in no team yet) read as lost (a new-user trial, 13)."""
    if viewer.role == "manager":
        return (f"No calls for your team ({literal(viewer.team)}) yet: you see the calls of its reps. Upload a call for "
                "one of them; an admin puts reps in teams under Settings.")
    if can_change(viewer):
        return "No calls yet. Upload a recording to get started."
    return "No calls of yours yet: they appear here once your manager uploads them."


def file_slug(text: str) -> str:
    """`text` as part of a download's file name: lower-case ASCII letters and digits joined by hyphens, accents folded
    ("Réunion client – Zoë" -> "reunion-client-zoe"; new-user trial 49 got "r-union-client-zo"); "" if none is left."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def literal(text: object) -> str:
    """User text (titles, names, notes, consent notes, file names, error messages naming files) made safe to put in
    any Streamlit text that renders markdown (st.markdown, captions, titles, alerts, progress and toast text): every
    character that would mean markdown there is backslash-escaped (CommonMark), so no image, link, HTML, icon or
    colour directive in it is interpreted; the reader sees the characters typed. The one place this is done."""
    escaped = _MARKDOWN_WORD_DOT.sub(r"\\.", _MARKDOWN_INLINE.sub(r"\\\1", str(text)))
    escaped = _AUTOLINK_START.sub(lambda m: (m[1] or "") + WORD_JOINER, escaped)
    return _MARKDOWN_LINE_START.sub(lambda m: m[1] + (m[2][:-1] + "\\." if m[2].endswith(".") else "\\" + m[2]),
                                    escaped)


def action_words(action: str) -> str:
    """An audit action as the log shows it: "call_view" -> "Call view" (the stored code is what filters match)."""
    return action.replace("_", " ").capitalize()


def percent_column(label: str, help: str | None = None):
    """A 0-100 progress bar column with a whole-number label (shares are stored as 0-1: multiply first)."""
    # rounded, as the charts beside it: "%d" cut 44.9 to 44 under a chart's 45% (trial 16)
    return st.column_config.ProgressColumn(label, format="%.0f%%", min_value=0, max_value=100, help=help)


def hints_caption() -> None:
    """Hints, not verdicts, and the model's headline accuracy with its weakest label; how far to trust a reading (the
    labels right most often, the faces missed most, what a percentage means) a click away."""
    headline, details = model_accuracy_parts()
    st.caption(f":material/info: {HINTS_NOT_VERDICTS} {headline}.")
    if details:
        with st.expander("How far to trust a reading", icon=":material/rule:"):
            st.caption(details)


def open_review_button(call_id: int, key: str) -> None:
    """A button, not a link: pages also run on their own (tests), outside the navigation that links need."""
    if st.button("Open review", key=key, icon=":material/play_circle:", type="primary"):
        st.session_state.call_id = call_id
        st.switch_page(REVIEW_PAGE, query_params={"call": str(call_id)})


def selected_call_id() -> int | None:
    """The call the review page shows: `?call=ID` in the address (shareable), else this session's last one.
    Raises LookupError for an address whose call is not a number (a mistyped link shows "not found", never
    some other call)."""
    raw = st.query_params.get("call")
    if raw is not None:
        if not raw.isdigit():
            raise LookupError(f"no call {raw!r}")
        st.session_state.call_id = int(raw)
    return st.session_state.get("call_id")


def queue_panel(viewer: Principal, call_ids: list[int] | None = None) -> None:
    """Live progress of the queued or running analyses `viewer` may see, and of `call_ids` (this session's uploads)."""
    items = data.progress(viewer, call_ids)
    if not items:
        return
    active = any(i.status in (CallStatus.QUEUED, CallStatus.RUNNING) for i in items)
    st.fragment(_queue, run_every=POLL_S if active else None)(viewer, call_ids)


def _queue(viewer: Principal, call_ids: list[int] | None) -> None:
    items = data.progress(viewer, call_ids)
    active = {i.call_id for i in items if i.status in (CallStatus.QUEUED, CallStatus.RUNNING)}
    finished = st.session_state.get("_active_calls", set()) - active
    st.session_state._active_calls = active
    if finished:
        st.rerun(scope="app")  # tables and links elsewhere on the page catch up
    with st.container(border=True, key=QUEUE_KEY):
        st.markdown("**Analysis queue**")
        for item in items:
            if item.status == CallStatus.QUEUED:
                st.progress(0.0, text=f"**{literal(item.title)}** · waiting for a worker")
            elif item.status == CallStatus.RUNNING:
                st.progress(min(1.0, item.progress / 100), text=f"**{literal(item.title)}** · {item.stage or 'starting'} · "
                                                                f"{item.progress:.0f}%")
            elif item.status == CallStatus.DONE:
                left, right = st.columns([3, 1], vertical_alignment="center")
                if item.partial:  # a cut-off download: analysed as far as it goes, and said so where it is seen first
                    left.warning(f"**{literal(item.title)}** is analysed, in part: {literal(item.partial)}.",
                                 icon=":material/content_cut:")
                else:
                    left.success(f"**{literal(item.title)}** is analysed.", icon="✅")
                with right:
                    open_review_button(item.call_id, key=f"queue-open-{item.call_id}")
            else:
                st.error(f"**{literal(item.title)}** could not be analysed: {literal(item.error or 'unknown error')}", icon="⚠️")


def confirmed(state_key: str, message: str, yes_label: str) -> bool:
    """The box under a pending destructive action: a warning, Yes and Cancel. True once the user said yes."""
    with st.container(border=True):
        st.warning(message, icon=":material/warning:")
        yes, no, _ = st.columns([1, 1, 4])
        if no.button("Cancel", key=f"cancel-{state_key}"):
            del st.session_state[state_key]
            st.rerun()
        return yes.button(yes_label, type="primary")


def parse_clock(text: str) -> float:
    """'3:20', '1:02:03' or '200' (seconds) -> seconds; ValueError with a readable message otherwise."""
    parts = text.strip().split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"write times as m:ss, e.g. 3:20 (not {text!r})") from None
    if not 1 <= len(values) <= 3 or any(v < 0 for v in values):
        raise ValueError(f"write times as m:ss, e.g. 3:20 (not {text!r})")
    seconds = 0.0
    for value in values:
        seconds = seconds * 60 + value
    return seconds


_SCROLL_JS = """
export default function({ data }) {
  const done = (window.__rapportScrolled = window.__rapportScrolled || new Set());
  if (!data || !data.selector || done.has(data.token)) return;
  done.add(data.token);
  const started = Date.now();
  const timer = setInterval(() => {
    const target = document.querySelector(data.selector);
    if (target || Date.now() - started > %d) {
      clearInterval(timer);
      if (target) target.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  }, 100);
}
""" % SCROLL_WAIT_MS
_scroll = st.components.v2.component("rapport_scroll_into_view", js=_SCROLL_JS)


def scroll_into_view(selector: str, token: int | str) -> None:
    """Scroll the element matching CSS `selector` to the middle of the screen, once per `token` per browser tab."""
    _scroll(data={"selector": selector, "token": str(token)}, height=0, key=f"scroll-{selector}")
