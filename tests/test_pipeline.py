"""The video pipeline end to end on generated calls of real faces: probe, sample, detect, analyse, store."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from calls import intake
from calls import lifecycle
from calls.roles import reassign_roles
from config import EMOTIONS, UNCERTAIN
from db.models import Call, EmotionSecond, Shift, Snapshot, Track, TrackSecond
from db.session import session_scope
from model.detect import HaarDetector, MtcnnDetector
from pipeline import errors
from pipeline.analyze import AnalysisSettings
from pipeline.store import analyze_call
from pipeline.uncertainty import MIN_TOP_PROBABILITY
from pipeline.video import probe, read_frame_at, read_frames_at, sample_frames
from reports import csv_export
from tests.conftest import video_scripts
from tests.helpers import write_phone_clip
from tools.synthetic import render_frame


# ----------------------------------------------------------------------------- video source
@pytest.mark.parametrize("name", ["gallery.mp4", "stacked.mkv", "speaker.mov", "single.webm", "three.avi"])
def test_every_container_probes_and_samples_at_the_analysis_rate(videos, name):
    info = probe(videos[name])
    assert (info.width, info.height, info.rotation) == (1280, 720, 0)
    assert info.fps == pytest.approx(30.0)
    frames = list(sample_frames(info, rate=4.0, width=640))
    ticks = np.arange(round(info.duration_s * 4)) * 0.25
    assert np.allclose([f.t for f in frames], ticks)  # every tick of the player's clock
    # Each tick shows the last frame presented by then (reference frames only, so up to 3 frames before it).
    shown = np.array([f.frame_t for f in frames])
    assert np.all(shown <= ticks + 1 / 60) and np.all(ticks - shown < 0.11)
    assert np.allclose(shown * 30, np.round(shown * 30), atol=0.05)  # on the frame grid (webm stores ms)
    assert frames[0].image.shape == (360, 640, 3) and frames[0].image.dtype == np.uint8


def test_ntsc_frame_rate_stays_fractional(videos):
    info = probe(videos["ntsc.mp4"])
    assert info.fps == pytest.approx(30000 / 1001, abs=1e-6)
    assert info.duration_s == pytest.approx(4.0, abs=0.05)
    assert info.n_seconds == 4


def test_read_frame_at_returns_the_frame_shown_at_that_time(videos):
    """Compared with the frames as drawn (faces drift, the prospect leaves at 4 s): the frame at the asked
    time matches, frames a second away or at 0 s do not; the batch reader used for stills agrees."""
    script = video_scripts()["moving.mp4"]

    def error(frame, index):  # mean absolute difference, grey levels
        return float(np.abs(frame.astype(np.float32) - render_frame(script, index).astype(np.float32)).mean())

    for t in (0.5, 3.2, 6.9):
        frame = read_frame_at(videos["moving.mp4"], t)
        assert frame.shape == (720, 1280, 3)
        index = int(t * script.fps + 1e-6)
        right = error(frame, index)
        assert right < 3.0, (t, right)
        for other in (0, index - int(script.fps), index + int(script.fps)):
            if 0 <= other < script.duration_s * script.fps and abs(other - index) >= script.fps / 2:
                assert error(frame, other) > 2 * right + 1.0, (t, other)
    times = [0.5, 0.6, 3.2, 6.9, 1.0]  # read on (0.1 s, 2.6 s, 3.7 s after the previous), then a seek back
    for t, frame in zip(times, read_frames_at(videos["moving.mp4"], times), strict=True):
        assert error(frame, int(t * script.fps + 1e-6)) < 3.0, t
    away = video_scripts()["away.mp4"]  # the prospect's camera shows a face, then none from 4 s, then the face
    with_face, without = render_frame(away, 75), render_frame(away, 165)
    at_2_5, at_5_5 = read_frames_at(videos["away.mp4"], [2.5, 5.5])
    assert error_between(at_2_5, with_face) < 3.0 < 10.0 < error_between(at_2_5, without)
    assert error_between(at_5_5, without) < 3.0 < 10.0 < error_between(at_5_5, with_face)


def error_between(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


# ----------------------------------------------------------------------------- detectors
def test_both_detectors_find_the_faces_of_a_gallery_frame(videos):
    frame = read_frame_at(videos["gallery.mp4"], 2.0, width=640)
    mtcnn = MtcnnDetector().detect(frame)
    assert len(mtcnn) == 2
    assert sorted(((mtcnn.xyxy[:, 0] + mtcnn.xyxy[:, 2]) / 2 < 320).tolist()) == [False, True]
    haar = HaarDetector().detect(frame)
    assert len(haar) == 2
    assert np.allclose(np.sort(haar.xyxy[:, 0]), np.sort(mtcnn.xyxy[:, 0]), atol=12)  # same faces, same place


# ----------------------------------------------------------------------------- analysis + store
def analyse(videos, name, **settings):
    call_id = intake.create_call(videos[name], title=name, rep="Dana Rep", analysis=AnalysisSettings(**settings))
    return call_id


def role_boxes(call_id) -> dict[str, list]:
    with session_scope() as s:
        return {t.role: t.mean_box for t in s.scalars(select(Track).where(Track.call_id == call_id))}


def timeline_rows(call_id, role):
    with session_scope() as s:
        return s.scalars(select(EmotionSecond).where(EmotionSecond.call_id == call_id, EmotionSecond.role == role)
                         .order_by(EmotionSecond.second)).all()


def test_gallery_call_end_to_end_writes_rows_for_every_second_and_role(store, videos, classifier):
    call_id = analyse(videos, "gallery.mp4")
    result = analyze_call(call_id, classifier)
    assert result.faces_found == 2
    boxes = role_boxes(call_id)
    assert boxes["rep"][0] < 0.5 < boxes["prospect"][0]  # rep tile on the left (the default)
    for role in ("rep", "prospect"):
        rows = timeline_rows(call_id, role)
        assert [r.second for r in rows] == list(range(8))
        assert sum(r.face_present for r in rows) >= 7
        seen = [r for r in rows if r.face_present]
        probs = np.array([[getattr(r, e) for e in EMOTIONS] for r in seen])
        assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
        # what is shown: the likely emotion, or "uncertain" below the calibrated confidence threshold
        assert all(r.dominant in (EMOTIONS[int(np.argmax(p))], UNCERTAIN) for r, p in zip(seen, probs))
        assert all(r.dominant == UNCERTAIN for r in seen if r.confidence < MIN_TOP_PROBABILITY)
        assert all(r.confidence == pytest.approx(p.max(), abs=1e-4) for r, p in zip(seen, probs))
    with session_scope() as s:
        call = s.get(Call, call_id)
        assert call.status == "done" and call.model_version == classifier.version
        assert call.settings["fps"] == 4.0 and call.faces_found == 2
        assert s.scalar(select(func.count()).select_from(TrackSecond)) > 0
        thumbs = [t.thumbnail_path for t in s.scalars(select(Track).where(Track.call_id == call_id))]
    assert all((store / t).is_file() for t in thumbs)


@pytest.mark.parametrize("name, position, rep_side", [
    ("gallery_right.mp4", "right", lambda b: b[0] > 0.5),
    ("stacked.mkv", "top", lambda b: b[1] < 0.5),
])
def test_rep_tile_position(store, videos, classifier, name, position, rep_side):
    call_id = analyse(videos, name, rep_position=position)
    analyze_call(call_id, classifier)
    boxes = role_boxes(call_id)
    assert rep_side(boxes["rep"]) and not rep_side(boxes["prospect"])


def test_speaker_view_large_face_is_the_prospect(store, videos, classifier):
    call_id = analyse(videos, "speaker.mov")
    analyze_call(call_id, classifier)
    boxes = role_boxes(call_id)
    area = {r: (b[2] - b[0]) * (b[3] - b[1]) for r, b in boxes.items()}
    assert area["prospect"] > 3 * area["rep"]


def test_single_face_is_the_prospect_and_rep_rows_say_not_seen(store, videos, classifier):
    call_id = analyse(videos, "single.webm")
    analyze_call(call_id, classifier)
    assert set(role_boxes(call_id)) == {"prospect"}
    rep = timeline_rows(call_id, "rep")
    assert len(rep) == 5 and not any(r.face_present for r in rep) and all(r.happy is None for r in rep)


def test_a_third_face_is_kept_as_a_participant(store, videos, classifier):
    call_id = analyse(videos, "three.avi")
    analyze_call(call_id, classifier)
    assert set(role_boxes(call_id)) == {"rep", "prospect", "participant-1"}
    assert "participant-1" in csv_export.export_csv(call_id)


def test_someone_else_taking_the_prospects_seat_is_a_guest_not_the_prospect(store, videos, classifier):
    """At 7 s another person's face takes the prospect's tile (a colleague at the prospect's camera, or a speaker
    view's stage turning to another guest): never on screen with the prospect, but surely another face
    (`pipeline.people.distinct_people`), so a participant; the prospect's timeline is theirs alone, and absent after."""
    call_id = analyse(videos, "takeover.mp4")
    analyze_call(call_id, classifier)
    boxes = role_boxes(call_id)
    assert set(boxes) == {"rep", "prospect", "participant-1"}
    assert boxes["prospect"][0] > 0.5 and boxes["participant-1"][0] > 0.5
    present = [r.face_present for r in timeline_rows(call_id, "prospect")]
    assert all(present[:6]) and not any(present[8:])
    with session_scope() as s:
        assert "never on screen together" not in (s.get(Call, call_id).roles_note or "")


def test_moving_faces_keep_one_track_each(store, videos, classifier):
    call_id = analyse(videos, "moving.mp4")
    result = analyze_call(call_id, classifier)
    assert sorted(result.roles.values()) == ["prospect", "rep"]


def test_a_face_that_leaves_and_comes_back_keeps_its_role(store, videos, classifier):
    call_id = analyse(videos, "away.mp4")
    analyze_call(call_id, classifier)
    present = [r.face_present for r in timeline_rows(call_id, "prospect")]
    assert all(present[:4]) and not any(present[5:8]) and all(present[9:])
    with session_scope() as s:
        prospect_tracks = s.scalars(select(Track).where(Track.call_id == call_id, Track.role == "prospect")).all()
    assert len(prospect_tracks) >= 1 and all(t.mean_box[0] > 0.5 for t in prospect_tracks)


def test_no_faces_completes_with_a_no_faces_result(store, videos, classifier):
    call_id = analyse(videos, "nofaces.mp4")
    result = analyze_call(call_id, classifier)
    assert result.faces_found == 0
    with session_scope() as s:
        call = s.get(Call, call_id)
        assert call.status == "done" and call.error == "no faces found in the recording"
    assert len(timeline_rows(call_id, "prospect")) == 4


def test_rep_analysis_off_stores_no_rep_emotions(store, videos, classifier, monkeypatch):
    monkeypatch.setenv("RAPPORT_REP_ANALYSIS", "off")
    from config import get_settings

    get_settings.cache_clear()
    call_id = analyse(videos, "gallery.mp4")
    analyze_call(call_id, classifier)
    rep, prospect = timeline_rows(call_id, "rep"), timeline_rows(call_id, "prospect")
    assert sum(r.face_present for r in rep) >= 7
    assert all(getattr(r, e) is None for r in rep for e in EMOTIONS) and all(r.dominant is None for r in rep)
    assert all(r.dominant is not None for r in prospect if r.face_present)
    with session_scope() as s:
        rep_track = s.scalars(select(Track).where(Track.call_id == call_id, Track.role == "rep")).one()
        assert all(ts.probs is None for ts in s.scalars(select(TrackSecond).where(TrackSecond.track_id == rep_track.id)))


def test_shift_and_snapshot_when_the_prospect_changes(store, videos, brightness_model):
    """The prospect's face dims at 7 s (`NEUTRAL_BRIGHTNESS`: one person's change of expression to `brightness_model`).

    A deterministic stand-in classifier (brightness decides happy vs neutral) makes the
    expected shift known, so this tests shift detection and snapshots, not the model's opinion.
    """
    from model.classifier import EmotionClassifier

    call_id = analyse(videos, "switch.mp4", min_shift_seconds=2)
    analyze_call(call_id, EmotionClassifier(brightness_model))
    rows = timeline_rows(call_id, "prospect")
    assert {r.dominant for r in rows[1:6]} == {"happy"}
    assert {r.dominant for r in rows[9:13]} == {"neutral"}
    with session_scope() as s:
        shifts = s.scalars(select(Shift).where(Shift.call_id == call_id, Shift.role == "prospect")).all()
        snaps = s.scalars(select(Snapshot).where(Snapshot.call_id == call_id, Snapshot.kind == "shift")).all()
    assert [(sh.from_emotion, sh.to_emotion) for sh in shifts] == [("happy", "neutral")]
    assert 6 <= shifts[0].t_s <= 9
    assert snaps and all((store / sn.path).is_file() for sn in snaps)


def test_reassign_swaps_roles_without_the_video_analysis(store, videos, classifier, monkeypatch):
    call_id = analyse(videos, "gallery.mp4")
    analyze_call(call_id, classifier)
    before = csv_export.export_csv(call_id)
    # Any re-analysis samples frames through pipeline.analyze's own name, whoever holds `analyze_video`.
    monkeypatch.setattr("pipeline.analyze.sample_frames", lambda *a, **k: pytest.fail("video re-analysed"))
    reassign_roles(call_id, swap=True)
    boxes = role_boxes(call_id)
    assert boxes["rep"][0] > 0.5
    swapped = csv_export.export_csv(call_id)

    def probs(text, role):
        return np.array([[float(v) for v in line.split(",")[2:9]] for line in text.splitlines() if f",{role}," in line])

    assert np.allclose(probs(before, "rep"), probs(swapped, "prospect"), atol=2e-4)  # stored to 5 decimals
    assert np.allclose(probs(before, "prospect"), probs(swapped, "rep"), atol=2e-4)


def test_failed_write_leaves_nothing_half_written_and_other_calls_untouched(store, videos, classifier, monkeypatch):
    good = analyse(videos, "gallery.mp4")
    analyze_call(good, classifier)
    good_csv = csv_export.export_csv(good)
    bad = analyse(videos, "gallery_right.mp4")

    def explode(*args, **kwargs):
        raise RuntimeError("disk full while writing shifts")

    monkeypatch.setattr("pipeline.store.write_derived", explode)
    with pytest.raises(RuntimeError):
        analyze_call(bad, classifier)
    with session_scope() as s:
        call = s.get(Call, bad)
        assert call.status == "failed" and "disk full" in call.error
        for model in (Track, EmotionSecond, Shift, Snapshot):
            assert s.scalar(select(func.count()).select_from(model).where(model.call_id == bad)) == 0
    assert not (store / "snapshots" / str(bad)).exists() or not any((store / "snapshots" / str(bad)).rglob("*.jpg"))
    assert csv_export.export_csv(good) == good_csv


def test_delete_removes_every_row_and_file(store, videos, classifier):
    call_id = analyse(videos, "gallery.mp4")
    analyze_call(call_id, classifier)
    files_before = {p for p in store.rglob("*") if p.is_file() and p.suffix != ".db" and "-wal" not in p.name and "-shm" not in p.name}
    assert any("uploads" in str(p) for p in files_before) and any(p.suffix == ".jpg" for p in files_before)
    lifecycle.delete_call(call_id)
    files_after = {p for p in store.rglob("*") if p.is_file() and p.suffix not in (".db",) and "-wal" not in p.name and "-shm" not in p.name}
    assert files_after == set()
    with session_scope() as s:
        for model in (Call, Track, EmotionSecond, Shift, Snapshot, TrackSecond):
            assert s.scalar(select(func.count()).select_from(model)) == 0
    with pytest.raises(errors.NotFound):
        csv_export.export_csv(call_id)


def test_phone_rotation_is_applied(tmp_path):
    """A portrait phone recording stores landscape pixels plus a display rotation: frames come out upright."""
    info = probe(write_phone_clip(tmp_path / "rotated.mp4"))
    assert (info.width, info.height, info.rotation) == (240, 320, 90)
    frame = next(iter(sample_frames(info, rate=4.0, width=120)))
    assert frame.image.shape == (160, 120, 3)
    assert frame.image[-15:].mean() > 200 and frame.image[:-25].mean() < 30  # the band is now along the bottom
