"""The per-second CSV: one row per second and role, emotions in `EMOTIONS` order (CLI and dashboard alike).

`status` (right after `dominant`) says what the row shows and why its emotion columns may be empty, in the words of
`reports.summary.second_statuses`. Access checks and auditing are the caller's (`reports.exports.export`).
"""

from __future__ import annotations

import csv
import io

import pandas as pd
from sqlalchemy import select

from config import EMOTIONS
from db.models import EmotionSecond
from db.session import session_scope
from pipeline.roles import PROSPECT, REP
from pipeline.store import get_call
from reports.facts import load_facts
from reports.summary import second_statuses, stored_uncertain_reasons


CSV_COLUMNS = ["second", "role", *EMOTIONS, "dominant", "status", "uncertain_reason", "face_present", "video_present",
               "speaking"]
"""`status`: why a row shows what it shows (`reports.summary.second_statuses`); `uncertain_reason`: on "uncertain"
rows, why (`reports.summary.stored_uncertain_reasons`: frozen video, small face, turned away, blurred face, open mouth while talking, no clear expression); `speaking`: who is talking in that
second (`pipeline.speech.SPEAKING_VALUES`: rep, prospect, both, none, other (a guest on screen), off-camera,
unknown), the same on every role's row; empty for calls analysed before it was measured."""



def export_csv(call_id: int) -> str:
    """The per-second CSV: one row per second and role (the dashboard's download is this same text)."""
    with session_scope() as session:
        call = get_call(session, call_id)
        rows = session.scalars(select(EmotionSecond).where(EmotionSecond.call_id == call.id)).all()
    order = {REP: 0, PROSPECT: 1}
    rows = sorted(rows, key=lambda r: (r.second, order.get(r.role, 2), r.role))
    table = pd.DataFrame({
        "role": [r.role for r in rows], "dominant": [r.dominant for r in rows],
        "face_present": [r.face_present for r in rows], "video_present": [r.video_present for r in rows],
        "uncertain_reason": [r.uncertain_reason for r in rows],
    }, columns=["role", "dominant", "face_present", "video_present", "uncertain_reason"])
    facts = load_facts(call_id)
    statuses = second_statuses(table, facts.rep_analysis, facts.rep_identified)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r, status, why in zip(rows, statuses, stored_uncertain_reasons(table)):
        writer.writerow([r.second, r.role, *("" if getattr(r, e) is None else f"{getattr(r, e):.4f}" for e in EMOTIONS),
                         r.dominant or "", status, why or "", int(r.face_present), int(r.video_present), r.speaking or ""])
    return out.getvalue()
