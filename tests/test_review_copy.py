"""The playable copy made of uploads that browsers can't play (pipeline.review_copy), end to end."""

from __future__ import annotations

import datetime as dt

import av
import numpy as np
import pytest

from access import retention
from calls import intake
from config import review_copy_path
from db.models import Call
from db.session import session_scope
from dashboard import data as dashboard_data
from pipeline.review_copy import SHORT_SIDE, browser_plays, copy_suffix, write_review_copy
from pipeline.store import analyze_call
from pipeline.video import probe, read_frame_at, read_frames_at
from tests.helpers import write_phone_clip
from tools.synthetic import CallScript, write_call_video


@pytest.mark.parametrize(("name", "plays"), [("gallery.mp4", True), ("speaker.mov", True), ("single.webm", True),
                                             ("stacked.mkv", False), ("three.avi", False)])
def test_only_what_a_browser_cannot_play_needs_a_copy(videos, name, plays):
    """H.264 in MP4/QuickTime and VP9 in WebM play as they are; H.264 in Matroska and MPEG-4 in AVI do not."""
    assert browser_plays(probe(videos[name])) is plays


def test_a_recording_that_states_no_length_gets_a_remuxed_copy_whose_time_bar_ends(store, tmp_path, classifier):
    """A browser's live WebM (no Duration, no Cues) plays with an endless time bar (a new-user trial, 11). Its packets
    go as they are into a WebM that states the call's length: the same pictures at the same times, and the player
    gets that copy."""
    script = CallScript(duration_s=3, fps=10, size=(640, 360))
    live = probe(write_call_video(tmp_path / "chrome.webm", script, options={"live": "1"}))
    assert live.codec == "vp9" and not live.length_stated and not browser_plays(live)
    assert copy_suffix(live) == ".webm"
    copy = probe(write_review_copy(live, tmp_path / "review.webm"))
    assert (copy.codec, copy.width, copy.length_stated) == ("vp9", 640, True) and browser_plays(copy)
    assert copy.duration_s == pytest.approx(3.0, abs=0.15)
    for t in (0.5, 2.2):
        assert np.array_equal(read_frame_at(copy.path, t), read_frame_at(live.path, t))  # packets kept, not re-encoded
    call_id = intake.create_call(live.path, title="browser", rep="Dana")
    assert "review copy" in analyze_call(call_id, classifier).timings
    assert (store / review_copy_path(call_id, ".webm")).is_file() and not (store / review_copy_path(call_id)).exists()
    with session_scope() as s:
        source = s.get(Call, call_id).source_path
    player = dashboard_data.video(call_id, source)
    assert player.mime == "video/webm" and player.data == (store / review_copy_path(call_id, ".webm")).read_bytes()


@pytest.mark.parametrize(("codec", "family", "sound"), [("libx264", "mp4", "aac"), ("libvpx-vp9", "webm", "opus")])
def test_a_playable_picture_in_a_matroska_is_remuxed_with_its_sound_made_playable(tmp_path, codec, family, sound):
    """New-user trial 21: an H.264 MKV's copy was transcoded, 17.7 s of a 22.7-s analysis. A picture browsers play
    keeps its packets (the same pictures, at full size) in its family's container; AAC beside VP9 becomes Opus."""
    script = CallScript(duration_s=3, fps=10, size=(640, 360))
    upload = probe(write_call_video(tmp_path / "call.mkv", script, codec=codec, audio_s=3.0))
    assert upload.audio_codecs == ("aac",) and not browser_plays(upload) and copy_suffix(upload) == f".{family}"
    copy = probe(write_review_copy(upload, tmp_path / f"review.{family}"))
    assert (copy.codec, copy.width, copy.audio_codecs) == (upload.codec, 640, (sound,)) and browser_plays(copy)
    assert copy.duration_s == pytest.approx(3.0, abs=0.15)
    for t in (0.5, 2.2):
        assert np.array_equal(read_frame_at(copy.path, t), read_frame_at(upload.path, t))  # packets kept


@pytest.mark.parametrize(("name", "codec", "options", "family"), [
    ("call.mkv", "libsvtav1", {}, "webm"),  # AV1 (a code review: "libdav1d", the decoder's name, has no encoder)
    ("live.webm", "libsvtav1", {"live": "1"}, "webm"),  # a browser's AV1 recording, no stated length
])
def test_other_playable_pictures_keep_their_packets(tmp_path, name, codec, options, family):
    upload = probe(write_call_video(tmp_path / name, CallScript(duration_s=2, fps=10, size=(320, 180)), codec=codec,
                                   options=options))
    assert copy_suffix(upload) == f".{family}"
    copy = probe(write_review_copy(upload, tmp_path / f"review.{family}"))
    assert (copy.codec, copy.width, copy.length_stated) == (upload.codec, 320, True) and browser_plays(copy)
    assert np.array_equal(read_frame_at(copy.path, 1.2), read_frame_at(upload.path, 1.2))


@pytest.mark.parametrize(("name", "pix_fmt"), [("call.mkv", "yuv444p"), ("call.avi", "yuv420p")])
def test_a_playable_codec_is_transcoded_where_its_packets_would_not_play_right(tmp_path, name, pix_fmt):
    """A code review: an H.264 High 4:4:4 MKV was remuxed into an MP4 no browser decodes, and an H.264 AVI's copied
    packets came out a frame off (AVI keeps no presentation times; transcoded, its pictures' times came in decode
    order, and the MP4 refused them: `REORDER_FRAMES`)."""
    upload = probe(write_call_video(tmp_path / name, CallScript(duration_s=2, fps=10, size=(640, 360)),
                                    codec="libx264", pix_fmt=pix_fmt))
    assert (upload.codec, upload.pixel_format) == ("h264", pix_fmt) and copy_suffix(upload) == ".mp4"
    copy = probe(write_review_copy(upload, tmp_path / "review.mp4"))
    assert (copy.codec, copy.height, copy.pixel_format) == ("h264", SHORT_SIDE, "yuv420p")
    assert copy.duration_s == pytest.approx(2.0, abs=0.15)  # the AVI's pictures in order, at their times


def test_the_copy_is_h264_at_most_480_lines_with_the_same_pictures_and_length(videos, tmp_path):
    info = probe(videos["three.avi"])  # 1280x720 MPEG-4 part 2 in AVI
    copy = probe(write_review_copy(info, tmp_path / "review.mp4"))
    assert (copy.codec, copy.height, copy.width, copy.rotation) == ("h264", SHORT_SIDE, 854, 0)
    assert browser_plays(copy) and abs(copy.duration_s - info.duration_s) < 0.1
    assert not list(tmp_path.glob("*.partial*"))
    for t in (0.5, 3.2, 5.5):  # the same picture at the same time: the timestamps survived
        original = read_frame_at(info.path, t, width=854).astype(np.float32)
        assert np.abs(read_frame_at(copy.path, t).astype(np.float32) - original).mean() < 8


@pytest.mark.parametrize(("codec", "pix_fmt"), [("mjpeg", "yuvj420p"), ("mpeg4", "yuv420p")])
def test_a_damaged_stretch_is_skipped_quietly_and_the_rest_plays(tmp_path, capfd, codec, pix_fmt):
    """New-user trial 21: an MJPEG AVI with a corrupt middle got no copy at all (the first bad frame stopped it), with
    FFmpeg's "No JPEG data found in image" and a traceback on the terminal. Frames 15-24 of 40 are garbage here; MPEG-4
    is decoded on threads of its own, whose complaints (a code review: "header damaged") are kept off the terminal
    too."""
    info = probe(write_call_video(tmp_path / "damaged.avi", CallScript(duration_s=4, fps=10, size=(640, 360)),
                                  codec=codec, pix_fmt=pix_fmt, damaged_frames=range(15, 25)))
    copy = probe(write_review_copy(info, tmp_path / "review.mp4"))
    assert copy.codec == "h264" and copy.duration_s == pytest.approx(info.duration_s, abs=0.15)
    for t in (0.5, 3.2):  # before and after the damage: the same pictures at the same times
        original = read_frame_at(info.path, t, width=copy.width).astype(np.float32)
        assert np.abs(read_frame_at(copy.path, t).astype(np.float32) - original).mean() < 8
    assert len(list(read_frames_at(info.path, [1.0, 1.6, 2.2], 320))) == 3  # stills inside the damage: the last good one
    assert not capfd.readouterr().err


def test_a_phone_recording_is_turned_upright_and_keeps_its_sound(tmp_path):
    info = probe(write_phone_clip(tmp_path / "phone.mp4", seconds=2.0, tone_hz=440))
    copy = probe(write_review_copy(info, tmp_path / "review.mp4"))
    # portrait, 480 across (trial 14: 480 lines high made a phone call 270 px wide), nothing left to turn
    assert (copy.width, copy.height, copy.rotation) == (SHORT_SIDE, 640, 0)
    upright = read_frame_at(copy.path, 1.0)
    assert upright[-15:].mean() > 200 and upright[:-25].mean() < 30  # the band along the bottom, as displayed
    with av.open(str(copy.path)) as container:
        (audio,) = container.streams.audio
        assert audio.codec_context.name == "aac"
        sound = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio)])  # the left channel
    assert len(sound) / 48_000 == pytest.approx(2.0, abs=0.1) and np.sqrt(np.mean(sound**2)) > 0.2  # the tone is there


def test_analysing_an_avi_leaves_a_copy_for_the_player_that_retention_removes(store, videos, classifier):
    avi = intake.create_call(videos["three.avi"], title="avi", rep="Dana")
    mp4 = intake.create_call(videos["gallery.mp4"], title="mp4", rep="Dana")
    assert "review copy" in analyze_call(avi, classifier).timings
    assert "review copy" not in analyze_call(mp4, classifier).timings
    copy = store / review_copy_path(avi)
    assert probe(copy).codec == "h264" and not (store / review_copy_path(mp4)).exists()
    with session_scope() as s:
        s.get(Call, avi).created_at -= dt.timedelta(days=40)  # past video retention (30 days), within data retention
    assert retention.purge(username="test").videos_deleted == 1
    assert not copy.exists() and not copy.parent.exists()
    with session_scope() as s:
        assert s.get(Call, avi).source_path is None and s.get(Call, mp4).source_path is not None


def test_a_failed_review_copy_costs_the_player_not_the_results(store, videos, classifier, monkeypatch, caplog):
    """FFmpeg failing to write the copy is said in one line; the call is still analysed and done, and has no copy."""
    def broken_encoder(info, target):
        raise av.error.FFmpegError(-1, "encoder exploded")

    monkeypatch.setattr("pipeline.review_copy.write_review_copy", broken_encoder)
    avi = intake.create_call(videos["three.avi"], title="avi", rep="Dana")
    result = analyze_call(avi, classifier)
    assert result.faces_found >= 2 and "review copy" in result.timings
    with session_scope() as s:
        call = s.get(Call, avi)
        assert (call.status, call.error) == ("done", None)
    # one line naming the user's file (trial 21: a traceback and the stored file's name reached the terminal)
    assert (f"call {avi}: no copy of three.avi the browser can play (encoder exploded); the results stand" in caplog.text
            and "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records))
    assert not (store / review_copy_path(avi)).exists()
