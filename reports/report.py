"""A call's coaching report as the files a manager takes away: PDF (one click, for a one-to-one) and HTML.

Both print the same facts (`reports.facts`), the same summary (`reports.summary`) and the same talk metrics
(`reports.talk`) as the review page, with the timelines drawn by `reports.charts`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path

from config import EMOTIONS, UNCERTAIN
from pipeline.timeline import clock
from reports.charts import TOO_LITTLE_READ, shares_figure, timeline_figure, timeline_png
from reports.facts import load_facts, load_moments, load_notes, load_stages, load_timeline, model_accuracy
from reports.summary import (FACE_NOT_SEEN, MIN_SECONDS_TO_COMPARE, NO_VIDEO, HINTS_NOT_VERDICTS, STAGE_HEADER, facts_rows,
                             headline_rows, key_moments, key_moments_note, notes_at, rep_not_shown, shown_points, stage_rows,
                             still_labels, summarize_timeline, weak_label_note)
from reports.talk import (AUDIO_NOT_KEPT, TALK_HEADER, TALK_NOT_MEASURED, TALK_TIME_NOT_EMOTION, speaking_at, talk_metrics,
                          talk_table)


def _png_aspect(png: bytes) -> float:
    """Height / width, from the PNG header."""
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return height / width


def _talking_line(timeline, t_s: float) -> list[str]:
    """['Talking: rep'] at a key moment, or [] when who was talking was not measured."""
    who = speaking_at(timeline.seconds, t_s)
    return [f"Talking: {who}"] if who else []


MISSING_GLYPH = "\u25a1"
"""What the PDF shows for a character its font (DejaVu Sans, matplotlib's) has no glyph for: a white square, as a
browser's tofu. fpdf2 leaves such a character out without a mark: new-user trial 49's title "... Zoë 日本" printed
as "... Zoë" (the HTML report keeps the characters; a reader's fonts draw them)."""


def _pdf():
    """An A4 `fpdf.FPDF` whose text marks the characters its font lacks (`MISSING_GLYPH`)."""
    from fpdf import FPDF

    class ReportPdf(FPDF):
        def normalize_text(self, text: str) -> str:
            text = super().normalize_text(text)
            glyphs = getattr(self.current_font, "cmap", None)
            if not glyphs:
                return text
            return "".join(c if ord(c) in glyphs or c in "\n\r\t" else MISSING_GLYPH for c in text)

    return ReportPdf(format="A4")


def build_pdf(call_id: int) -> bytes:
    """The one-click coaching report for a one-to-one."""
    from fpdf.fonts import FontFace
    from matplotlib import get_data_path

    facts, timeline, stages, notes = load_facts(call_id), load_timeline(call_id), load_stages(call_id), load_notes(call_id)
    summary = summarize_timeline(timeline, stages)
    fonts = Path(get_data_path()) / "fonts" / "ttf"
    pdf = _pdf()
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

    def together(draw: Callable[[], None]) -> None:
        """Draw a section on one page: on the next when it would not fit on this one (a trial's report left one row
        of a table alone on a page). A section longer than a page still breaks where it must."""
        with pdf.offset_rendering() as trial:
            draw()
        if trial.page_break_triggered and pdf.get_y() > pdf.t_margin + 1:
            pdf.add_page()
        draw()

    pdf.set_font("DejaVu", "B", 18)
    pdf.set_text_color(33, 37, 41)
    pdf.multi_cell(0, 9, f"Coaching report: {facts.title}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "I", 8.5)
    pdf.set_text_color(108, 117, 125)
    pdf.multi_cell(0, 4.5, f"{HINTS_NOT_VERDICTS} {model_accuracy()}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(49, 51, 63)
    heading("The call")
    table(facts_rows(facts), widths=(1, 3))
    heading("Talking points")
    for point in shown_points(summary, facts):
        pdf.multi_cell(0, 5.5, f"•  {point}", new_x="LMARGIN", new_y="NEXT")
    heading("Summary")
    if no_rep := rep_not_shown(facts):
        pdf.multi_cell(0, 5.5, no_rep, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    table(headline_rows(summary, facts.roles), widths=(2, 3))
    pdf.ln(2)
    # each role's sample beside its shares; under MIN_SECONDS_TO_COMPARE no mix at all, as on the page's bars
    little = [role for role in facts.roles if summary.seen_seconds[role] < MIN_SECONDS_TO_COMPARE]
    share_rows = [(f"{role.capitalize()} · {summary.seen_seconds[role]} s read",
                   *("—" if role in little else f"{summary.shares[role][e]:.0%}" for e in EMOTIONS))
                  for role in facts.roles]
    table(share_rows, header=("Likely share of time", *EMOTIONS))
    below = ([f"—: {TOO_LITTLE_READ}, no mix of emotions shown."] if little else []) + [
        n for n in [weak_label_note(summary)] if n]
    if below:
        pdf.set_font("DejaVu", "I", 8)
        pdf.multi_cell(0, 4, " ".join(below), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9.5)
    chart = timeline_png(timeline, stages, roles=facts.roles)
    if pdf.will_page_break(20 + width * _png_aspect(chart)):
        pdf.add_page()  # keep the heading with its chart
    heading("Timelines")
    if no_rep:
        pdf.multi_cell(0, 5.5, no_rep, new_x="LMARGIN", new_y="NEXT")
    pdf.image(io.BytesIO(chart), w=width)
    pdf.set_font("DejaVu", "I", 8)
    pdf.multi_cell(0, 4, "Stacked areas: likely emotion probabilities per second; band below: most likely emotion; "
                   f"beige: {UNCERTAIN} (a face seen, no emotion shown); white: {FACE_NOT_SEEN}; dark grey: {NO_VIDEO} (nothing on screen); ▲ positive / ▼ negative shifts, ● other mood changes; "
                   "bottom band (when measured): who is talking.", new_x="LMARGIN", new_y="NEXT")
    talk = talk_metrics(timeline.seconds)

    def talk_section() -> None:
        heading("Who is talking")
        pdf.multi_cell(0, 5.5, f"{TALK_TIME_NOT_EMOTION} {AUDIO_NOT_KEPT}" if talk else TALK_NOT_MEASURED,
                       new_x="LMARGIN", new_y="NEXT")
        if talk:
            table(talk_table(talk), header=TALK_HEADER, widths=(2, 3, 4))

    together(talk_section)

    def stage_section() -> None:
        heading("Prospect by script stage")
        table(stage_rows(summary), header=STAGE_HEADER, widths=(3, 3, 2, 2, 2, 2))

    if summary.stages:
        together(stage_section)
    moments, left_out = _report_moments(call_id, notes)
    if moments:
        if pdf.will_page_break(75 if left_out else 60):  # the heading (and the note) with its first moment
            pdf.add_page()
        heading("Key moments")
        if left_out:
            pdf.set_font("DejaVu", "I", 9)
            pdf.multi_cell(0, 5, left_out, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVu", "", 10)
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
            for line in still_labels(timeline, moment.t_s, facts.roles) + _talking_line(timeline, moment.t_s):
                pdf.set_x(pdf.l_margin + 74)  # the still's own labels are small in print
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


def _report_moments(call_id: int, notes) -> tuple[list, str | None]:
    """The key moments a report lists (`key_moments`) and what it says of those it left out (`key_moments_note`)."""
    everything = load_moments(call_id)
    moments = key_moments(everything, notes)
    return moments, key_moments_note(len(moments), len(everything))


def build_html(call_id: int) -> str:
    """The report as one standalone HTML file: interactive charts, stills embedded; it needs no network.

    plotly.js is inlined once, in the head, so every chart below it can draw (a chart placed before the
    library's script would stay blank: "Plotly is not defined").
    """
    from plotly.offline import get_plotlyjs

    facts, timeline, stages, notes = load_facts(call_id), load_timeline(call_id), load_stages(call_id), load_notes(call_id)
    summary = summarize_timeline(timeline, stages)
    esc = html.escape
    chart = timeline_figure(timeline.seconds, timeline.shifts, [(s.name, s.start_s, s.end_s) for s in stages],
                            roles=facts.roles)
    chart.update_layout(dragmode="zoom")
    chart_html = chart.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    shares = {role: summary.shares[role] for role in facts.roles}
    shares_html = shares_figure(shares, summary.seen_seconds).to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    weak = weak_label_note(summary)
    shares_html += f'<p class="hint">{esc(weak)}</p>' if weak else ""
    no_rep = rep_not_shown(facts)
    no_rep_html = f'<p class="off">{esc(no_rep)}</p>' if no_rep else ""

    def rows_table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None) -> str:
        head = f"<thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in header)}</tr></thead>" if header else ""
        body = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>" for row in rows)
        return f"<table>{head}<tbody>{body}</tbody></table>"

    moments, left_out = _report_moments(call_id, notes)
    moment_blocks = [f'<p class="hint">{esc(left_out)}</p>'] if left_out else []
    for moment in moments:
        image = (f'<img alt="still at {clock(moment.t_s)}" src="data:image/jpeg;base64,'
                 f'{base64.b64encode(moment.image.read_bytes()).decode()}">' if moment.image.is_file() else "")
        note_items = "".join(f"<li>{esc(n.text)}{f' <em>({esc(n.author)})</em>' if n.author else ''}</li>"
                             for n in notes_at(notes, moment.t_s))
        labels = "<br>".join(esc(line) for line in still_labels(timeline, moment.t_s, facts.roles)
                             + _talking_line(timeline, moment.t_s))
        moment_blocks.append(f'<div class="moment">{image}<div><b>{clock(moment.t_s)}</b> {esc(moment.text)}'
                             f'<p class="hint">{labels}</p>{f"<ul>{note_items}</ul>" if note_items else ""}</div></div>')
    stage_html = rows_table(stage_rows(summary), STAGE_HEADER) if summary.stages else "<p>No script stages marked.</p>"
    notes_html = rows_table([(clock(n.t_s), n.text, n.author or "") for n in notes], ("Time", "Note", "By")) if notes \
        else "<p>No coaching notes yet.</p>"
    points = "".join(f"<li>{esc(p)}</li>" for p in shown_points(summary, facts))
    talk = talk_metrics(timeline.seconds)
    talk_html = (f'<p class="hint">{esc(TALK_TIME_NOT_EMOTION)} {esc(AUDIO_NOT_KEPT)}</p>'
                 f"{rows_table(talk_table(talk), TALK_HEADER)}" if talk else f"<p>{esc(TALK_NOT_MEASURED)}</p>")
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
<h2>The call</h2>{rows_table(facts_rows(facts))}
<h2>Talking points</h2><ul>{points}</ul>
<h2>Summary</h2>{no_rep_html}{rows_table(headline_rows(summary, facts.roles))}
{shares_html}
<h2>Timelines</h2>{no_rep_html}{chart_html}
<h2>Who is talking</h2>{talk_html}
<h2>Prospect by script stage</h2>{stage_html}
<h2>Key moments</h2>{"".join(moment_blocks) or "<p>No key moments.</p>"}
<h2>Coaching notes</h2>{notes_html}
<p class="hint">Made by Rapport on {dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}.</p>
</body></html>
"""
