"""The real CLI (`python -m pipeline ...`) in a subprocess, and every bad input it must refuse clearly."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config import EMOTIONS
from db.models import AuditEvent
from db.session import session_scope
from tests.helpers import run_cli
from tools.synthetic import write_corrupt_copy, write_not_a_video


def env_for(store) -> dict:
    return {"RAPPORT_DATA_DIR": str(store), "RAPPORT_DB_URL": f"sqlite:///{store / 'rapport.db'}"}


def stored_files(store) -> list:
    return sorted(p.relative_to(store) for p in store.rglob("*") if p.is_file() and "rapport.db" not in p.name)


def test_analyze_export_list_reassign_delete(store, videos):
    env = env_for(store)
    done = run_cli("analyze", str(videos["gallery.mp4"]), "--title", "Acme discovery", "--rep", "Dana", "--json",
                   "--participants-told", "--consent-note", "notice in the invite", env_overrides=env)
    assert done.returncode == 0, done.stderr
    assert "consent not recorded" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["duration_s"] == pytest.approx(8.0) and summary["faces_found"] == 2
    assert 0 < summary["timings_s"]["decode"] < summary["wall_s"]  # the whole analysis, and its stages inside it
    assert isinstance(summary["shifts"], list) and summary["call_id"] == 1
    assert "analysing frames" in done.stderr  # progress goes to stderr

    exported = run_cli("export", "1", "--format", "csv", env_overrides=env)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert list(rows[0]) == ["second", "role", *EMOTIONS, "dominant", "status", "uncertain_reason", "face_present",
                            "video_present", "speaking"]
    assert {r["speaking"] for r in rows} == {"unknown"}  # the recording has no audio track
    assert {r["video_present"] for r in rows} == {"1"}
    assert all(r["status"] == ("shown" if r["dominant"] in EMOTIONS else r["dominant"] or "face not seen") for r in rows)
    assert len(rows) == 8 * 2 and {r["role"] for r in rows} == {"rep", "prospect"}
    seen = [r for r in rows if r["face_present"] == "1"]
    assert seen and all(abs(sum(float(r[e]) for e in EMOTIONS) - 1) < 2e-3 for r in seen)

    out_file = store / "export.csv"
    assert run_cli("export", "1", "--out", str(out_file), env_overrides=env).returncode == 0
    assert out_file.read_text() == exported.stdout

    listed = run_cli("list", env_overrides=env)
    assert "Acme discovery" in listed.stdout and "Dana" in listed.stdout and "done" in listed.stdout
    shown = json.loads(run_cli("show", "1", "--json", env_overrides=env).stdout)  # the numbers `reassign` takes
    assert {str(t): p["role"] for p in shown["people"] for t in p["tracks"]} == summary["roles"]
    assert (summary["roles_guessed"], summary["roles_note"]) == (False, shown["roles_note"])  # a plain gallery
    assert (shown["title"], shown["rep"], shown["file"], shown["status"]) == ("Acme discovery", "Dana", "gallery.mp4", "done")
    assert shown["consent"].startswith("confirmed by ") and shown["consent"].endswith(" UTC (notice in the invite)")
    assert "(command line) on " in shown["consent"]
    from config import CODE_VERSION  # which code analysed it (trial 17: two analyses disagreed with nothing saying why)
    assert CODE_VERSION and shown["code"] == CODE_VERSION and re.fullmatch(r"[0-9a-f]{7,}(\+changes)?", CODE_VERSION)
    text = run_cli("show", "1", env_overrides=env).stdout
    assert all(f"person {p['person']}: {p['role']}" in text for p in shown["people"])
    assert shown["talk"]["Talk ratio"] == "unknown: the recording has no audio" and "  Talk ratio: unknown" in text
    assert all(f"track #{p['tracks'][0]}" in text for p in shown["people"] if len(p["tracks"]) == 1)  # a number, not a count
    # the shifts the analysis printed stay readable afterwards
    assert [(x["role"], x["t_s"], x["to"]) for x in shown["shifts"]] == [(x["role"], x["t_s"], x["to"]) for x in summary["shifts"]]
    assert "shifts" in text and text.count("shift, held") == len(summary["shifts"])

    swapped = run_cli("reassign", "1", "--swap", env_overrides=env)
    assert swapped.returncode == 0 and sorted(l.split(": ")[1] for l in swapped.stdout.splitlines()) == ["prospect", "rep"]
    after = list(csv.DictReader(io.StringIO(run_cli("export", "1", env_overrides=env).stdout)))
    def happy(table, role):
        return [float(r["happy"] or "nan") for r in table if r["role"] == role]

    assert happy(after, "rep") == pytest.approx(happy(rows, "prospect"), abs=2e-4, nan_ok=True)  # smoothing as per role
    assert happy(after, "prospect") == pytest.approx(happy(rows, "rep"), abs=2e-4, nan_ok=True)
    bad_role = run_cli("reassign", "1", "--set", "0=boss", env_overrides=env)
    assert bad_role.returncode == 2 and "role must be" in bad_role.stderr
    # --set puts each track back where it was: the rows are the first analysis's again
    now = dict(line.removeprefix("track ").split(": ") for line in swapped.stdout.splitlines())
    back = [f"{track}={'rep' if role == 'prospect' else 'prospect'}" for track, role in now.items()]
    restored = run_cli("reassign", "1", *(arg for item in back for arg in ("--set", item)), env_overrides=env)
    assert restored.returncode == 0, restored.stderr
    assert sorted(restored.stdout.splitlines()) == sorted(f"track {item.replace('=', ': ')}" for item in back)
    # the analysis derived its rows from the values as stored, so there and back is exact (new-user trial 13: 66 rows
    # differed in the 4th decimal)
    assert run_cli("export", "1", env_overrides=env).stdout == exported.stdout
    unknown_track = run_cli("reassign", "1", "--set", "99=rep", env_overrides=env)
    assert unknown_track.returncode == 2 and "has no track 99" in unknown_track.stderr
    assert shown["roles_guessed"] is False  # a plain gallery; a guessed prospect is kept as analysed with --confirm
    confirmed = run_cli("reassign", "1", "--confirm", "--json", env_overrides=env)
    assert confirmed.returncode == 0 and json.loads(confirmed.stdout) == {
        "call_id": 1, "roles_guessed": False, "confirmed": False, "reread_job_id": None}  # nothing was a guess
    both = run_cli("reassign", "1", "--confirm", "--swap", env_overrides=env)
    assert both.returncode == 2 and "one way" in both.stderr

    out_file.unlink()
    assert run_cli("delete", "1", env_overrides=env).returncode == 0
    assert stored_files(store) == []
    missing = run_cli("export", "1", env_overrides=env)
    assert missing.returncode == 3 and "call 1 not found" in missing.stderr


def test_no_faces_is_a_result_not_a_crash(store, videos):
    done = run_cli("analyze", str(videos["nofaces.mp4"]), env_overrides=env_for(store))
    assert done.returncode == 0, done.stderr
    assert "no faces found" in done.stdout
    assert re.search(r"analysed: [\d.]+ s, 0 face track\(s\), 0 shift\(s\), in [\d.]+ s \([\d.]+x real time\)", done.stdout)
    assert "consent not recorded: pass --participants-told" in done.stderr  # the upload form's box, asked for here
    shown = run_cli("show", "1", env_overrides=env_for(store)).stdout
    assert "consent    not recorded (the call was added without confirming that the participants were told)" in shown
    people = run_cli("people", "1", env_overrides=env_for(store))
    assert people.returncode == 0 and "call 1: no people: no faces found in the recording" in people.stdout


def test_a_misspelt_setting_is_named_not_silently_ignored(store):
    """A new-user trial (29) set RAPPORT_DATABASE_URL; its calls went to the default store without a word."""
    listed = run_cli("list", env_overrides={**env_for(store), "RAPPORT_DATABASE_URL": "sqlite:////tmp/elsewhere.db"})
    assert listed.returncode == 0
    assert ("warning: RAPPORT_DATABASE_URL is not a Rapport setting and is ignored; did you mean RAPPORT_DB_URL?"
            in listed.stderr)
    assert "warning" not in run_cli("list", env_overrides=env_for(store)).stderr


def test_a_recording_analysed_again_is_named_as_the_earlier_call(store, videos, tmp_path):
    env = env_for(store)
    first = run_cli("analyze", str(videos["nofaces.mp4"]), env_overrides=env)
    assert first.returncode == 0 and "stored before" not in first.stderr
    again = run_cli("analyze", str(shutil.copy(videos["nofaces.mp4"], tmp_path / "renamed.mp4")), env_overrides=env)
    assert again.returncode == 0, again.stderr
    assert "note: renamed.mp4 was stored before, as call 1: call 2 is another analysis of the same recording" in again.stderr


def _avi_with_unknown_codec(src, dst):
    """Rewrite the codec tags of an AVI so no decoder claims it (an 'unsupported codec' upload)."""
    data = bytearray(src.read_bytes())
    for tag in (b"FMP4", b"fmp4", b"mp4v", b"MP4V", b"DIVX", b"XVID", b"xvid"):
        start = 0
        while (i := data.find(tag, start)) != -1:
            data[i:i + 4] = b"QZ9X"
            start = i + 4
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def kept_call(tmp_path_factory, videos) -> Path:
    """A data folder (SQLite store and files) holding one call titled "kept", analysed by the real CLI once for
    the module: each bad-input case starts from a copy of it."""
    data = tmp_path_factory.mktemp("kept") / "data"
    done = run_cli("analyze", str(videos["gallery.mp4"]), "--title", "kept",
                   env_overrides={**env_for(data), "RAPPORT_REP_ANALYSIS": "on"})
    assert done.returncode == 0, done.stderr
    return data


@pytest.mark.parametrize("case, message", [
    ("not_a_video", "notes.mp4: not a video file Rapport can read: another kind of file, or a recording cut off before its "
                    "video began. Upload the recording as the call app saved it (mp4, m4v, mov, webm, mkv or avi)."),
    ("truncated", "cut.mp4: the recording is incomplete: its index, which the app writes when recording stops, is "
                  "missing"),
    ("empty", "the file is empty (0 bytes)"),
    ("too_large", "over the 1 MB upload limit"),
    ("unknown_codec", "cannot decode"),
    ("missing", "no such file"),
    ("folder", "is a folder, not a recording"),
])
def test_bad_input_gets_a_specific_message_and_nothing_is_lost(store, kept_call, videos, tmp_path, case, message):
    env = env_for(store)
    shutil.copytree(kept_call, store, dirs_exist_ok=True)  # the fresh store, now holding the analysed "kept" call
    before_files, before_csv = stored_files(store), run_cli("export", "1", env_overrides=env).stdout
    bad = {
        "not_a_video": lambda: write_not_a_video(tmp_path / "notes.mp4"),
        "truncated": lambda: write_corrupt_copy(videos["gallery.mp4"], tmp_path / "cut.mp4"),
        "empty": lambda: (tmp_path / "empty.mov").write_bytes(b"") or tmp_path / "empty.mov",
        "too_large": lambda: videos["switch.mp4"],
        "unknown_codec": lambda: _avi_with_unknown_codec(videos["three.avi"], tmp_path / "odd.avi"),
        "missing": lambda: tmp_path / "nowhere.mp4",
        "folder": lambda: tmp_path,
    }[case]()
    extra_env = {"RAPPORT_MAX_UPLOAD_MB": "1"} if case == "too_large" else {}
    result = run_cli("analyze", str(bad), env_overrides={**env, **extra_env})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert stored_files(store) == before_files
    assert run_cli("export", "1", env_overrides=env).stdout == before_csv
    listed = run_cli("list", "--json", env_overrides=env)
    assert [c["title"] for c in json.loads(listed.stdout)] == ["kept"]


def test_export_to_a_folder_or_a_missing_folder_says_so_and_exports_nothing(store, videos, tmp_path):
    env = env_for(store)
    assert run_cli("analyze", str(videos["gallery.mp4"]), env_overrides=env).returncode == 0
    for out, message in ((tmp_path, "is a folder; give a file name"),
                         (tmp_path / "nowhere" / "call.csv", "does not exist")):
        result = run_cli("export", "1", "--out", str(out), env_overrides=env)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "nowhere").exists()
    with session_scope(env["RAPPORT_DB_URL"]) as session:  # nothing was exported, so no export is audited
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")) == 0


def test_bad_options_are_refused(store, videos):
    result = run_cli("analyze", str(videos["gallery.mp4"]), "--fps", "0", env_overrides=env_for(store))
    assert result.returncode == 2 and "--fps must be between" in result.stderr
    result = run_cli("analyze", str(videos["gallery.mp4"]), "--rep-position", "middle", env_overrides=env_for(store))
    assert result.returncode == 2 and "invalid choice" in result.stderr
    result = run_cli("analyze", str(videos["gallery.mp4"]), "--date", "31/12/2026", env_overrides=env_for(store))
    assert result.returncode == 2 and "'31/12/2026' is not a date: use YYYY-MM-DD" in result.stderr


def test_show_says_beside_the_talk_when_who_is_who_was_guessed(store):
    """New-user trial 42: `show` printed "Talk ratio: rep 74%" of a call whose prospect was a guess (truth 50%); the
    review page said "who is who was guessed" beside it, the command line did not."""
    from sqlalchemy import update

    from db.models import Call
    from reports.talk import GUESSED_ROLES_TALK
    from tools.seed import seed_call

    call_id = seed_call(duration_s=40).call_id
    plain = run_cli("show", str(call_id), env_overrides=env_for(store)).stdout
    assert "  Talk ratio: " in plain and GUESSED_ROLES_TALK not in plain
    with session_scope() as session:
        session.execute(update(Call).where(Call.id == call_id).values(roles_guessed=True))
    guessed = run_cli("show", str(call_id), env_overrides=env_for(store)).stdout
    assert f"talk:\n  ({GUESSED_ROLES_TALK})\n  Talk ratio: " in guessed


def test_csv_status_says_why_each_row_shows_no_emotion(store):
    """Each of the six states, on a stored call edited to hold them all, through the real `export`; the review
    timeline's hover says the same words."""
    from sqlalchemy import update

    from config import UNCERTAIN
    from db.models import EmotionSecond
    from tools.seed import seed_call

    call_id = seed_call(duration_s=40, rep_analysis=False).call_id
    with session_scope() as session:
        rows = EmotionSecond.__table__.c
        session.execute(update(EmotionSecond).where(rows.call_id == call_id, rows.role == "prospect", rows.second < 3)
                        .values(dominant=UNCERTAIN))  # seen, reading not trusted (probabilities kept)
        session.execute(update(EmotionSecond).where(rows.call_id == call_id, rows.role == "prospect",
                                                    rows.second.between(3, 5))  # seen, not read: no rep was known
                        .values(face_present=True, dominant=None, **{e: None for e in EMOTIONS}))
        session.execute(update(EmotionSecond).where(rows.call_id == call_id, rows.second >= 35)  # a cut-off file's tail
                        .values(video_present=False, face_present=False, n_frames=0, dominant=None,
                                **{e: None for e in EMOTIONS}))
    result = run_cli("export", str(call_id), env_overrides=env_for(store))
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    for row in table:
        expected = ("no video" if row["video_present"] == "0"
                    else "not analysed (rep analysis off)" if row["role"] == "rep"
                    else "not read until the rep is known (rep analysis off)" if 3 <= int(row["second"]) <= 5
                    else "uncertain" if row["dominant"] == "uncertain"
                    else "shown" if row["dominant"] in EMOTIONS
                    else "face not seen")
        assert row["status"] == expected, row
        assert (row["status"] == "shown") == (row["happy"] != "" and row["dominant"] in EMOTIONS), row
    statuses = {(r["role"], r["status"]) for r in table}
    assert statuses == {("rep", "not analysed (rep analysis off)"), ("rep", "no video"), ("prospect", "shown"),
                        ("prospect", "uncertain"), ("prospect", "face not seen"), ("prospect", "no video"),
                        ("prospect", "not read until the rep is known (rep analysis off)")}
    from reports.charts import timeline_figure
    from reports.facts import load_timeline

    timeline = load_timeline(call_id)
    figure = timeline_figure(timeline.seconds, timeline.shifts, roles=("prospect",))
    hovers = [text.split(" · ", 1)[1] for trace in figure.data if trace.type == "heatmap" for text in trace.text[0]]
    prospect = [r for r in table if r["role"] == "prospect"]
    assert [h for h, r in zip(hovers, prospect) if r["status"] not in ("uncertain", "shown")] == \
        [r["status"] for r in prospect if r["status"] not in ("uncertain", "shown")]
