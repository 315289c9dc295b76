"""Recordings as real recorders write them: held frames, low frame rates, short clips, late video tracks,
live WebM, cover art, stills, oversize files, cut-off and damaged files. Each kind is generated here (real
faces from scikit-image and matplotlib, small and short), analysed for real, and checked on its values:
rows per second, face_present / video_present, duration, shift time, status, partial note, message."""

from __future__ import annotations

import csv
import io
import re

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from calls.intake import create_call
from config import get_settings
from db.models import Call, EmotionSecond, Shift
from db.session import session_scope
from model.detect import HaarDetector
from pipeline.analyze import AnalysisSettings
from pipeline.errors import FileTooLarge, InputError, NotAVideo, StillImage, TooLong
from pipeline.store import analyze_call
from pipeline.video import DecodeReport, probe, sample_frames
from reports.csv_export import export_csv
from tests.conftest import NEUTRAL_BRIGHTNESS
from tests.helpers import run_cli
from tools.synthetic import Appearance, CallScript, write_call_video, write_corrupt_copy
from tests.test_dashboard_pages import seeded  # noqa: F401  (a fixture: a signed-in dashboard on a seeded store)

SMALL = (640, 360)  # the analysis width: nothing is scaled, faces stay big enough for Haar


def gallery(seconds: float, fps: float = 30.0, **kwargs) -> CallScript:
    return CallScript(duration_s=seconds, fps=fps, size=SMALL, **kwargs)


def rows_of(call_id: int, role: str) -> list[EmotionSecond]:
    with session_scope() as s:
        return s.scalars(select(EmotionSecond).where(EmotionSecond.call_id == call_id, EmotionSecond.role == role)
                         .order_by(EmotionSecond.second)).all()


def the_call(call_id: int) -> Call:
    with session_scope() as s:
        call = s.get(Call, call_id)
        s.expunge(call)
        return call


def analysed(path, classifier, name: str | None = None, **settings) -> int:
    call_id = create_call(path, original_filename=name, analysis=AnalysisSettings(**settings))
    analyze_call(call_id, classifier)
    return call_id


def presence(call_id: int, role: str) -> tuple[list[int], list[int]]:
    rows = rows_of(call_id, role)
    assert [r.second for r in rows] == list(range(len(rows)))
    return [int(r.face_present) for r in rows], [int(r.video_present) for r in rows]


def stored_nothing(store) -> bool:
    with session_scope() as s:
        calls_stored = s.scalar(select(func.count()).select_from(Call))
    uploads = store / "uploads"
    return calls_stored == 0 and (not uploads.exists() or not any(uploads.iterdir()))


# ----------------------------------------------------------------------------- time: the player's clock
def test_held_frames_keep_the_face_on_screen_for_every_second(store, tmp_path, classifier):
    """A screen recorder writes no frame while the picture is still: 0-2 s at 30 fps, one frame held 2-10 s, 10-12 s."""
    times = [i / 30 for i in range(60)] + [2.0] + [10 + i / 30 for i in range(60)]
    path = write_call_video(tmp_path / "held.mp4", gallery(12), frame_times=times)
    frames = list(sample_frames(probe(path), rate=4.0, width=640))
    assert [f.t for f in frames] == pytest.approx([k / 4 for k in range(48)])  # every tick of the player's clock
    held = [f for f in frames if 2.0 <= f.t < 10.0]
    assert len(held) == 32 and all(f.frame_t == pytest.approx(2.0) for f in held)
    call_id = analysed(path, classifier)
    for role in ("rep", "prospect"):
        assert presence(call_id, role) == ([1] * 12, [1] * 12)


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_a_tick_never_shows_a_frame_before_the_player_does(tmp_path, suffix):
    """At 1 frame/s each picture is on screen for a whole second: the ticks at 2.25-2.75 s show the frame of 2 s,
    not the one of 3 s (a new-user trial's returning face was present, and read, half a second early)."""
    path = write_call_video(tmp_path / f"one_fps{suffix}", gallery(6, fps=1.0))
    frames = list(sample_frames(probe(path), rate=4.0, width=320))
    assert [f.t for f in frames] == pytest.approx([k / 4 for k in range(24)])
    assert [f.frame_t for f in frames] == pytest.approx([k // 4 for k in range(24)])


@pytest.mark.parametrize("fps, seconds, suffix", [(1.0, 6, ".mkv"), (0.5, 20, ".mp4")])
def test_low_frame_rate_has_faces_on_every_second_of_its_duration(store, tmp_path, classifier, fps, seconds, suffix):
    path = write_call_video(tmp_path / f"slides{suffix}", gallery(seconds, fps=fps))
    info = probe(path)
    assert info.duration_s == pytest.approx(seconds, abs=0.05) and info.n_seconds == seconds
    call_id = analysed(path, classifier)
    assert the_call(call_id).faces_found == 2
    assert the_call(call_id).source_path.endswith(suffix)  # an .mkv is kept as .mkv (trial 9: it became .webm)
    for role in ("rep", "prospect"):
        assert presence(call_id, role) == ([1] * seconds, [1] * seconds)


@pytest.mark.parametrize("seconds, rows", [(1 / 30, 1), (0.3, 1), (1.9, 2)])
def test_very_short_clips_are_analysed(store, tmp_path, classifier, seconds, rows):
    path = write_call_video(tmp_path / "short.mp4", gallery(seconds))
    call_id = analysed(path, classifier)
    call = the_call(call_id)
    assert (call.status, call.error, call.faces_found) == ("done", None, 2)
    for role in ("rep", "prospect"):
        assert presence(call_id, role) == ([1] * rows, [1] * rows)


@pytest.mark.parametrize("suffix, muxer", [(".mp4", None), (".mkv", None),
                                           (".webm", {"live": "1", "max_interleave_delta": "1"}),
                                           (".webm", {"max_interleave_delta": "1"}),
                                           (".mkv", {"max_interleave_delta": "1"})])
def test_video_starting_after_the_audio_is_placed_on_the_players_clock(store, tmp_path, brightness_model, suffix,
                                                                        muxer):
    """Audio from 0 s, video from 3 s to 13 s; the prospect changes (the face dims: happy -> neutral to `brightness_model`) at 8 s on the
    player.
    The WebMs and one MKV are not interleaved (every video packet before the first audio one, past FFmpeg's probe):
    the audio's start is found by reading on, or the video's start became the origin and it was shown from 0 s (a
    live WebM, whose audio start FFmpeg leaves unknown; a finished WebM or MKV, where it takes the video's: a
    new-user trial, 29, found every second 2.5 s early and the complete file called cut off)."""
    from model.classifier import EmotionClassifier

    dims = Appearance(8, "astronaut", brightness=NEUTRAL_BRIGHTNESS)
    script = gallery(10, fps=10, prospect=(Appearance(0, "astronaut"), dims))
    path = write_call_video(tmp_path / f"late{suffix}", script, video_start_s=3.0, audio_s=13.0, options=muxer)
    if muxer:
        with av.open(str(path)) as container:
            assert [packet.stream.type for packet in container.demux() if packet.size][:90] == ["video"] * 90
    info = probe(path)
    assert info.duration_s == pytest.approx(13.0, abs=0.1) and info.video_start_s == pytest.approx(3.0, abs=0.01)
    call_id = analysed(path, EmotionClassifier(brightness_model), min_shift_seconds=2)
    assert the_call(call_id).duration_s == pytest.approx(13.0, abs=0.1)
    face, video = presence(call_id, "prospect")
    assert video == [0] * 3 + [1] * 10 and face == [0] * 3 + [1] * 10
    dominant = [r.dominant for r in rows_of(call_id, "prospect")]
    assert set(dominant[4:7]) == {"happy"} and set(dominant[9:13]) == {"neutral"}
    with session_scope() as s:
        shifts = s.scalars(select(Shift).where(Shift.call_id == call_id, Shift.role == "prospect")).all()
    assert [(sh.from_emotion, sh.to_emotion) for sh in shifts] == [("happy", "neutral")]
    assert 7 <= shifts[0].t_s <= 9  # where the player shows it, not 3 s early
    table = list(csv.DictReader(io.StringIO(export_csv(call_id))))
    assert list(table[0])[-3:] == ["face_present", "video_present", "speaking"]
    assert {r["speaking"] for r in table} == {"none"}  # 13 s of silent audio: nobody talks, from 0 s on
    prospect = [(r["face_present"], r["video_present"], r["dominant"]) for r in table if r["role"] == "prospect"]
    assert prospect[:3] == [("0", "0", "")] * 3 and all(p[:2] == ("1", "1") for p in prospect[3:])


def test_a_black_picture_is_no_video_and_a_dark_face_is_not(store, tmp_path, classifier):
    """A recorder writes black until someone's video is on: nothing is on screen, so "no video" (a new-user trial,
    29: 12 s of black read "face not seen"). A face at 15% brightness is on screen, so its seconds have video."""
    script = gallery(8, fps=10, layout="blank", layout_changes=((3, "gallery"),),
                     prospect=(Appearance(0, "astronaut"), Appearance(6, "astronaut", brightness=0.15)))
    call_id = analysed(write_call_video(tmp_path / "late join.mp4", script), classifier)
    face, video = presence(call_id, "rep")
    assert video == [0] * 3 + [1] * 5
    assert face[:3] == [0] * 3 and face[5:] == [1] * 3  # a first face is found within `detect_every_s` (2 s)
    assert presence(call_id, "prospect")[1] == [0] * 3 + [1] * 5
    table = list(csv.DictReader(io.StringIO(export_csv(call_id))))
    assert [r["status"] for r in table if r["role"] == "rep"][:3] == ["no video"] * 3


def test_live_webm_without_duration_or_cues_is_measured_by_reading_it(store, tmp_path, classifier):
    path = write_call_video(tmp_path / "browser.webm", gallery(4, fps=15), options={"live": "1"})
    with av.open(str(path)) as container:
        assert container.duration is None  # as MediaRecorder writes it: no Duration, no Cues
    info = probe(path)
    assert info.duration_s == pytest.approx(4.0, abs=0.1) and info.n_seconds == 4
    call_id = analysed(path, classifier)
    assert presence(call_id, "prospect") == ([1] * 4, [1] * 4)


def test_readers_that_stop_after_the_first_frame_never_hang(tmp_path):
    """A decoder freed with frames still in FFmpeg's frame threads waited for them holding the GIL while one of them,
    logging, waited for the GIL: a full test run hung so (PyAV issues #751, #909). Unfixed, 10-48 such early stops
    hung this loop on a loaded 2-core host; run in a child process, so that a hang fails the test, not the run."""
    import subprocess
    import sys

    from config import REPO_ROOT

    path = write_call_video(tmp_path / "call.mp4", gallery(4, fps=30))
    loop = ("import sys; from pipeline.video import probe, sample_frames; info = probe(sys.argv[1])\n"
            "for _ in range(150):\n    next(iter(sample_frames(info, rate=4.0, width=120)))")
    done = subprocess.run([sys.executable, "-c", loop, str(path)], cwd=REPO_ROOT, timeout=120, capture_output=True)
    assert done.returncode == 0, done.stderr[-2000:]


# ----------------------------------------------------------------------------- streams and shapes
@pytest.mark.parametrize("suffix, fmt, codec", [(".m4a", "mp4", "aac"), (".mp3", "mp3", "mp3")])
def test_audio_with_cover_art_is_refused_like_audio(store, tmp_path, suffix, fmt, codec):
    path = tmp_path / f"podcast{suffix}"
    with av.open(str(path), "w", format=fmt) as container:
        audio = container.add_stream(codec, rate=44_100, layout="mono")
        cover = container.add_stream("mjpeg")
        cover.width, cover.height, cover.pix_fmt = 64, 48, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24").reformat(format="yuvj420p")
        picture.pts = 0
        for packet in [*cover.encode(picture), *cover.encode(None)]:
            container.mux(packet)
        for start in range(0, 44_100 * 2, 1152):
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1152), np.float32), format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 44_100, start
            for packet in audio.encode(chunk):
                container.mux(packet)
    with pytest.raises(NotAVideo, match=rf"^podcast{suffix}: the file has no video stream \(audio-only"):
        create_call(path)
    assert stored_nothing(store)


def test_anamorphic_pixels_are_shown_and_read_at_their_displayed_width(store, tmp_path, classifier):
    """A picture stored 320x360 with 2:1 pixels is shown 640x360 by every player. Read squeezed (a new-user trial,
    30), the rep's neutral face was "fear" 15 of 20 seconds and the prospect's smile "uncertain"; now the frames,
    the readings and the browser copy are those of the same call with square pixels."""
    from fractions import Fraction

    from pipeline.review_copy import write_review_copy

    script = gallery(6, fps=10)
    square = write_call_video(tmp_path / "square.mp4", script)
    squeezed = write_call_video(tmp_path / "anamorphic.mkv", script, pixel_aspect=Fraction(2))
    info = probe(squeezed)
    assert (info.width, info.height, info.pixel_aspect) == (640, 360, 2.0)
    for shown, truth in zip(sample_frames(info, 1.0, 640), sample_frames(probe(square), 1.0, 640), strict=True):
        assert shown.image.shape == (360, 640, 3) and np.abs(shown.image.astype(int) - truth.image).mean() < 8
    copy = probe(write_review_copy(info, tmp_path / "review.mp4"))
    assert (copy.width, copy.height, copy.pixel_aspect) == (854, 480, 1.0)
    readings = [[r.dominant for r in rows_of(analysed(path, classifier), "prospect")] for path in (squeezed, square)]
    assert sum(a == b for a, b in zip(*readings)) >= 5 and "uncertain" not in readings[0]


def test_a_still_image_renamed_mp4_is_called_a_still_image_by_its_upload_name(store, tmp_path):
    ok, png = cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))
    stored = tmp_path / "3f2a9c.upload"  # the server's temp name: never shown
    stored.write_bytes(png.tobytes())
    with pytest.raises(StillImage) as error:
        create_call(stored, original_filename="holiday.mp4")
    assert str(error.value) == "holiday.mp4: this is a still image, not a recording"
    assert stored_nothing(store)


@pytest.mark.parametrize("name", ["readme.txt", "notes.nfo", "call-notes.asc"])
def test_a_text_file_is_refused_by_its_name_before_anything_is_stored(store, tmp_path, name):
    """FFmpeg renders text files as a picture of the text (its `tty` demuxer): not a recording."""
    path = tmp_path / name
    path.write_text("# Call notes\n\nProspect asked about pricing twice.\n" * 40)
    with pytest.raises(NotAVideo, match=rf"^{name}: this is a text file, not a recording$"):
        create_call(path)
    assert stored_nothing(store)
    refused = run_cli("analyze", str(path), env_overrides={"RAPPORT_DATA_DIR": str(store),
                                                          "RAPPORT_DB_URL": f"sqlite:///{store / 'rapport.db'}"})
    assert refused.returncode != 0 and f"{name}: this is a text file, not a recording" in refused.stderr
    assert "Traceback" not in refused.stderr and str(tmp_path) not in refused.stderr
    assert stored_nothing(store)


def test_resolution_and_length_limits_refuse_before_decoding(store, tmp_path, monkeypatch):
    from config import get_settings

    path = write_call_video(tmp_path / "big.mp4", gallery(3, fps=10))
    monkeypatch.setenv("RAPPORT_MAX_FRAME_PIXELS", str(320 * 180))
    get_settings.cache_clear()
    decoded = []
    with monkeypatch.context() as patch:
        patch.setattr(av.container.InputContainer, "decode", lambda *a, **k: decoded.append(1) or iter(()))
        with pytest.raises(FileTooLarge, match=r"^big\.mp4: its picture is 640×360, larger than Rapport analyses "
                                               r"\(0\.1 megapixels at most, e\.g\. 320×180\)$"):  # the example fits
            create_call(path)
    assert decoded == [] and stored_nothing(store)
    monkeypatch.delenv("RAPPORT_MAX_FRAME_PIXELS")
    monkeypatch.setenv("RAPPORT_MAX_CALL_MINUTES", "0.02")  # 1.2 s
    get_settings.cache_clear()
    with pytest.raises(TooLong, match=r"^big\.mp4: it is 3 s long; Rapport analyses calls up to 1 s"):
        create_call(path)
    assert stored_nothing(store)


def test_default_limits_admit_4k_and_refuse_16000_square():
    from config import get_settings

    settings = get_settings()
    assert 3840 * 2160 <= settings.max_frame_pixels < 16000 * 16000 and settings.max_call_minutes >= 120


# ----------------------------------------------------------------------------- damage
def test_mp4_cut_off_while_written_is_analysed_up_to_where_it_ends(store, tmp_path, classifier):
    whole = write_call_video(tmp_path / "whole.mp4", gallery(10, fps=10), gop=10, options={"movflags": "faststart"})
    cut = write_corrupt_copy(whole, tmp_path / "cut.mp4", keep_fraction=0.6)
    call_id = analysed(cut, classifier, name="Acme call.mp4")
    call = the_call(call_id)
    end = int(call.partial_note.split("ends at 0:")[1][:2])
    assert 3 <= end <= 8 and call.partial_note == f"the file ends at 0:{end:02d} of 0:10"
    env = {"RAPPORT_DATA_DIR": str(store), "RAPPORT_DB_URL": f"sqlite:///{store / 'rapport.db'}"}
    listed = run_cli("list", env_overrides=env)
    assert f"[partial: the file ends at 0:{end:02d} of 0:10]" in listed.stdout
    # the CLI's speed line counts the seconds the file holds, not its stated length (new-user trial 49: a file cut off
    # at 0:28 of 1:15 read "75.0 s ... 17.9x real time")
    again = run_cli("analyze", str(cut), env_overrides=env)
    readable = re.search(r"analysed: 10\.0 s \(([\d.]+) s readable\)", again.stdout)
    assert again.returncode == 0 and readable and end <= float(readable.group(1)) <= end + 1, again.stdout
    assert (call.status, call.duration_s) == ("done", pytest.approx(10.0, abs=0.1))
    face, video = presence(call_id, "prospect")
    assert video == [1] * end + [0] * (10 - end) or video == [1] * (end + 1) + [0] * (9 - end)
    assert face == video  # the face is there whenever there is a picture; the lost part is "no video"


def test_webm_whose_last_third_is_gone_is_analysed_and_marked_partial(store, tmp_path, classifier):
    whole = write_call_video(tmp_path / "whole.webm", gallery(9, fps=10))
    cut = write_corrupt_copy(whole, tmp_path / "cut.webm", keep_fraction=0.66)
    call_id = analysed(cut, classifier)
    call = the_call(call_id)
    assert call.status == "done" and call.partial_note.startswith("the file ends at 0:0") and call.partial_note.endswith("of 0:09")
    face, video = presence(call_id, "rep")
    assert len(video) == 9 and 4 <= sum(video) <= 7 and video == sorted(video, reverse=True) and face == video


def test_live_webm_cut_off_while_uploading_is_marked_partial_though_it_states_no_length(store, tmp_path, classifier):
    """A browser recording (no stored length) of which only the first two thirds arrived: its length is what could be
    read, so only the demuxer's "ended prematurely" tells it was cut (a new-user trial: shown as a complete call)."""
    whole = write_call_video(tmp_path / "browser.webm", gallery(9, fps=10), options={"live": "1"})
    cut = write_corrupt_copy(whole, tmp_path / "cut.webm", keep_fraction=0.66)
    call_id = analysed(cut, classifier)
    call = the_call(call_id)
    assert call.status == "done" and 4 <= call.duration_s <= 7.5
    assert call.partial_note.startswith("the file is cut off at 0:0") and "unknown time" in call.partial_note
    assert analysed(whole, classifier) and the_call(call_id + 1).partial_note is None  # the whole file is not partial
    # the CLI says so in its own words; FFmpeg's lines (its frame threads' too) stay off the user's screen
    cli = run_cli("analyze", str(cut), env_overrides={"RAPPORT_DATA_DIR": str(store),
                                                      "RAPPORT_DB_URL": f"sqlite:///{store / 'rapport.db'}"})
    assert cli.returncode == 0 and "partial recording: the file is cut off" in cli.stdout
    assert "prematurely" not in cli.stderr + cli.stdout, cli.stderr


def test_fragmented_mp4_cut_off_says_it_went_on_for_an_unknown_time(store, tmp_path, classifier):
    """A fragmented MP4 (browser recorders, OBS) states no length: FFmpeg's is what its fragments reach, so a cut
    file said "ends at 0:05 of 0:06" (a new-user trial: 8 s of 20 were lost, not one)."""
    whole = write_call_video(tmp_path / "obs.mp4", gallery(12, fps=10), gop=10,
                             options={"movflags": "frag_keyframe+empty_moov"})
    cut = write_corrupt_copy(whole, tmp_path / "cut.mp4", keep_fraction=0.5)
    assert not probe(whole).length_stated and not probe(cut).length_stated
    call_id = analysed(cut, classifier)
    call = the_call(call_id)
    assert call.status == "done" and call.duration_s < 9
    assert call.partial_note.startswith("the file is cut off at 0:0") and "unknown time" in call.partial_note
    assert analysed(whole, classifier) and the_call(call_id + 1).partial_note is None  # the whole file is not partial
    assert probe(write_call_video(tmp_path / "plain.mp4", gallery(1, fps=10))).length_stated  # a sample table


def test_a_recording_whose_picture_size_changes_is_read_on_one_canvas_throughout(store, tmp_path, classifier):
    """WebRTC recordings (a browser's MediaRecorder, an SFU's) start small while the bandwidth is estimated and drop
    when the network degrades. A new-user trial (29): a 320x180 start ramping to 720p crashed the analysis while it
    saved the stills; a 720p call dropping to 320x180 for 10 s gave the rep's face to the prospect and the prospect's
    to a made-up third person. Every picture is now fitted on the first one's canvas at the analysis width."""
    from db.models import Snapshot, Track

    script = gallery(12, fps=15, prospect=(Appearance(0, "astronaut"), Appearance(6, None), Appearance(9, "astronaut")))
    sizes = ((0, (320, 180)), (2, (640, 360)), (4, (1280, 720)), (7, (320, 180)), (10, (1280, 720)))
    video = write_call_video(tmp_path / "webrtc.webm", script, picture_sizes=sizes)
    info = probe(video)
    assert (info.width, info.height) == (320, 180)
    frames = list(sample_frames(info, 1.0, 640))
    assert {f.image.shape for f in frames} == {(360, 640, 3)}
    assert [f.source.scale for f in frames] == [0.5, 0.5, 1, 1, 2, 2, 2, 0.5, 0.5, 0.5, 2, 2]  # each picture's own
    call_id = analysed(video, classifier)
    call = the_call(call_id)
    assert (call.status, call.faces_found) == ("done", 2) and "changed shape" not in (call.roles_note or "")
    assert presence(call_id, "rep") == ([1] * 12, [1] * 12)
    assert presence(call_id, "prospect") == ([1] * 6 + [0] * 3 + [1] * 3, [1] * 12)
    with session_scope() as session:
        assert sorted(session.scalars(select(Track.role).where(Track.call_id == call_id))) == ["prospect", "rep"]
        stills = session.scalars(select(Snapshot.path).where(Snapshot.call_id == call_id)).all()
    assert stills and all((get_settings().data_dir / path).is_file() for path in stills)


def test_a_call_that_starts_small_and_switches_to_speaker_view_keeps_two_people(store, tmp_path, classifier):
    """A new-user trial (30): a WebRTC call at 320x180 (gallery faces ~28 px), at 720p in speaker view from 5 s. The
    small faces were too small to embed, so the rep's first track joined no one and became a third participant,
    her first 5 s "face not seen"; faces from 24 px are embedded now (`model.identity.MIN_FACE_PX`)."""
    from db.models import Track

    script = gallery(10, fps=10, layout_changes=((5, "speaker"),))
    video = write_call_video(tmp_path / "ramp.webm", script, picture_sizes=((0, (320, 180)), (5, (1280, 720))))
    call_id = analysed(video, classifier)
    assert presence(call_id, "rep") == ([1] * 10, [1] * 10)
    assert presence(call_id, "prospect") == ([1] * 10, [1] * 10)
    with session_scope() as session:
        people = session.execute(select(Track.person_no, Track.role).where(Track.call_id == call_id)).all()
    assert {role for _, role in people} == {"rep", "prospect"} and len({person for person, _ in people}) == 2


def test_a_phone_turned_mid_call_is_read_on_a_canvas_of_its_new_shape(store, tmp_path, classifier):
    """A new-user trial (29): a phone's WebRTC track, portrait (stacked, rep on top) until 5 s, then turned landscape
    (gallery). Fitted inside the portrait canvas the landscape picture was a third of its size, and both faces were
    lost from the turn on; a picture of another shape now gets a canvas of its own, and the tracks start again."""
    from dataclasses import replace

    portrait = CallScript(duration_s=12, fps=15, size=(360, 640), layout="stacked", rep_position="top",
                          prospect=(Appearance(0, "astronaut"), Appearance(8, None), Appearance(10, "astronaut")))
    landscape = replace(portrait, size=SMALL, layout="gallery", rep_position="left")
    video = write_call_video(tmp_path / "turned.webm", portrait, turned=(5, landscape))
    frames = list(sample_frames(probe(video), 1.0, 640))
    assert [f.image.shape[:2] for f in frames] == [(1138, 640)] * 5 + [(360, 640)] * 7
    call_id = analysed(video, classifier, rep_position="top")
    assert the_call(call_id).status == "done"
    assert "changed shape during the call" in the_call(call_id).roles_note  # "top" describes one layout only
    assert presence(call_id, "rep") == ([1] * 12, [1] * 12)
    assert presence(call_id, "prospect") == ([1] * 8 + [0] * 2 + [1] * 2, [1] * 12)


def test_damaged_packets_are_skipped_and_reported(store, tmp_path, classifier):
    """Three VP9 packets around 4 s are garbage: a player skips them; so does the analysis."""
    path = write_call_video(tmp_path / "damaged.webm", gallery(8), gop=30, damaged_frames=(117, 118, 119))
    report = DecodeReport()
    assert len(list(sample_frames(probe(path), 4.0, 640, report))) == 32
    [(start, end)] = report.damaged  # one stretch of three frames (the decoder's frame threads report a bad packet up to two late)
    assert 3.85 <= start <= 4.0 and end - start == pytest.approx(0.1, abs=0.005) and report.data_end_s is None
    call_id = analysed(path, classifier)
    call = the_call(call_id)
    assert (call.status, call.partial_note, call.faces_found) == ("done", "damaged at 0:03 for 0.1 s", 2)
    assert presence(call_id, "prospect") == ([1] * 8, [1] * 8)


def test_a_second_lost_to_damage_shows_uncertain_frozen_video_not_the_picture_before(store, tmp_path, classifier):
    """Trial 32: "damaged at 0:05 for 1.0 s" was noted, but second 5 showed an emotion for both roles, read from the
    last good picture the player held. Every frame of second 5 is garbage here (keyframes each second)."""
    from pipeline.uncertainty import FROZEN_VIDEO

    path = write_call_video(tmp_path / "damaged.webm", gallery(8), gop=30, damaged_frames=range(150, 180))
    call_id = analysed(path, classifier)
    assert the_call(call_id).partial_note == "damaged at 0:05 for 1.0 s"
    for role in ("rep", "prospect"):
        rows = rows_of(call_id, role)
        assert [r.uncertain_reason == FROZEN_VIDEO for r in rows] == [False] * 5 + [True] + [False] * 2, role
        assert all(r.face_present and r.video_present for r in rows)  # the face is on screen: an old picture of it
    # A still inside the damage (trial 34: "no frame at 11.5 s" failed a whole call at its last step) is the picture
    # held before it, as in the player, reached by decoding on or by a seek (to the keyframe before the damage).
    from pipeline.video import read_frames_at

    def closer_to(picture, a, b) -> bool:
        return np.abs(picture.astype(int) - a.astype(int)).mean() < np.abs(picture.astype(int) - b.astype(int)).mean()

    before, held, after = read_frames_at(path, [4.75, 5.5, 6.25])
    [sought] = read_frames_at(path, [5.5])
    assert closer_to(held, before, after) and closer_to(sought, before, after)


# ----------------------------------------------------------------------------- messages
def test_an_analysis_error_names_the_upload_never_the_stored_file(store, tmp_path, classifier):
    path = write_call_video(tmp_path / "ok.mp4", gallery(2, fps=10))
    call_id = create_call(path, original_filename="Pricing call.mp4")
    call = the_call(call_id)
    (store / call.source_path).write_bytes(b"overwritten " * 100)
    with pytest.raises(InputError):
        analyze_call(call_id, classifier)
    error = the_call(call_id).error
    assert error.startswith("Pricing call.mp4: ") and call.source_path.split("/")[-1] not in error and str(store) not in error


def test_cli_and_upload_page_give_the_same_message(seeded, tmp_path):
    from tests.test_dashboard_pages import page

    ok, png = cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))
    path = tmp_path / "holiday.mp4"
    path.write_bytes(png.tobytes())
    store = get_settings().data_dir
    env = {"RAPPORT_DATA_DIR": str(store), "RAPPORT_DB_URL": get_settings().db_url}
    cli = run_cli("analyze", str(path), env_overrides=env)
    assert cli.returncode == 2
    at = page("upload")
    at.file_uploader[0].upload("holiday.mp4", png.tobytes(), "video/mp4")
    next(s for s in at.selectbox if s.label == "Rep").set_value("Dana Whitfield")
    at.checkbox[0].set_value(True)
    at = next(b for b in at.button if b.label == "Analyse call").click().run()
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in at.error]  # as the reader sees it: user text is markdown-escaped
    assert shown == ["holiday.mp4: this is a still image, not a recording"]
    assert cli.stderr.strip().splitlines()[-1] == f"error: {shown[0]}"


def test_export_of_a_failed_or_running_call_says_why_and_exits_non_zero(store, tmp_path):
    path = write_call_video(tmp_path / "ok.mp4", gallery(2, fps=10))
    env = {"RAPPORT_DATA_DIR": str(store), "RAPPORT_DB_URL": f"sqlite:///{store / 'rapport.db'}"}
    queued = create_call(path)
    failed = create_call(path)
    with session_scope() as s:
        call = s.get(Call, failed)
        call.status, call.error = "failed", "ok.mp4: the recording holds no timed frames"
    result = run_cli("export", str(failed), "--format", "csv", env_overrides=env)
    assert result.returncode == 2 and result.stdout == ""
    assert f"call {failed} has nothing to export: its analysis failed (ok.mp4: the recording holds no timed frames)" in result.stderr
    result = run_cli("export", str(queued), env_overrides=env)
    assert result.returncode == 2 and result.stdout == ""
    assert f"call {queued} has nothing to export yet: it is queued" in result.stderr


# ----------------------------------------------------------------------------- what already worked stays working
@pytest.mark.parametrize("name, codec, pix_fmt, size, expect", [
    ("phone.MOV", "libx265", "yuv420p10le", SMALL, "hevc"),
    ("browser.mp4", "libsvtav1", "yuv420p", SMALL, "av1"),
    ("legacy.avi", "mpeg4", "yuv420p", SMALL, "mpeg4"),
    ("uhd.mp4", "libx264", "yuv420p", (3840, 2160), "h264"),
])
def test_codecs_and_sizes_that_worked_still_sample_and_show_both_faces(tmp_path, name, codec, pix_fmt, size, expect):
    script = CallScript(duration_s=1.0, fps=10, size=size)
    path = write_call_video(tmp_path / name, script, codec=codec, pix_fmt=pix_fmt,
                            max_b_frames=2 if codec == "mpeg4" else None)
    info = probe(path)
    assert (info.codec, info.width, info.height, info.n_seconds) == (expect, *size, 1)
    frames = list(sample_frames(info, rate=4.0, width=640))
    assert [f.t for f in frames] == [0.0, 0.25, 0.5, 0.75]
    assert len(HaarDetector().detect(frames[-1].image)) == 2


# ----------------------------------------------------------------------------- "no video" and "partial" where managers read
def test_no_video_and_partial_are_shown_in_the_review_page_chart_and_reports(seeded):
    from sqlalchemy import update

    from reports.charts import timeline_figure
    from reports.facts import load_timeline
    from reports.report import build_html
    from tests.test_dashboard_pages import page, texts

    call_id = seeded["bare"].call_id  # 90 s
    with session_scope() as s:
        s.get(Call, call_id).partial_note = "the file ends at 1:00 of 1:30"
        s.execute(update(EmotionSecond).where(EmotionSecond.call_id == call_id, EmotionSecond.second >= 60)
                  .values(video_present=False, face_present=False, n_frames=0, dominant=None, happy=None))
    review = page("review", call_id=call_id)
    assert not review.exception
    assert "Partial recording: the file ends at 1:00 of 1:30. The readable part was analysed." in texts(review)
    assert "dark shading: no video" in texts(review)
    timeline = load_timeline(call_id)
    figure = timeline_figure(timeline.seconds, timeline.shifts)
    assert "no video" in [trace.name for trace in figure.data]
    hovers = [text for trace in figure.data if trace.type == "heatmap" for text in trace.text[0]]
    assert sum(h.endswith("· no video") for h in hovers) == 2 * 30
    assert "partial: the file ends at 1:00 of 1:30" in build_html(call_id)
    table = list(csv.DictReader(io.StringIO(export_csv(call_id))))
    assert {r["video_present"] for r in table if int(r["second"]) >= 60} == {"0"}
    assert {r["video_present"] for r in table if int(r["second"]) < 60} == {"1"}
