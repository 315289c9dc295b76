"""Each pipeline stage alone, on small hand-built inputs."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from config import EMOTIONS
from model.detect import Detections
from pipeline.analyze import AnalysisSettings, FaceReader
from pipeline.roles import TrackSummary, assign_roles, decide_roles
from pipeline.shifts import detect_shifts, strongest_moments
from pipeline.timeline import EmotionTimeline, TrackSecondRows, TrackSeconds, build_timelines, smooth
from model.blazeface import Window
from pipeline.track import ArrivalWatch, FaceTracker, iou_matrix
from tests.helpers import emotion_probs
from tools.synthetic import face_portrait


def timeline_of(sequence: list[str | None], role: str = "prospect") -> EmotionTimeline:
    frames = np.array([0 if s is None else 4 for s in sequence])
    return EmotionTimeline(role, emotion_probs(sequence), frames)


# ----------------------------------------------------------------------------- shifts
def test_neutral_to_happy_is_a_positive_shift_with_time_and_strength():
    shifts = detect_shifts(timeline_of(["neutral"] * 6 + ["happy"] * 5), min_seconds=3)
    assert len(shifts) == 1
    s = shifts[0]
    assert (s.t_s, s.from_emotion, s.to_emotion, s.direction, s.duration_s) == (6.0, "neutral", "happy", "positive", 5.0)
    assert s.strength == pytest.approx(0.8 - 0.2 / 6, abs=1e-3)


def test_flicker_shorter_than_the_minimum_is_ignored():
    sequence = ["neutral"] * 5 + ["angry"] * 2 + ["neutral"] * 5
    assert detect_shifts(timeline_of(sequence), min_seconds=3) == []
    assert [s.to_emotion for s in detect_shifts(timeline_of(sequence), min_seconds=2)] == ["angry", "neutral"]


@pytest.mark.parametrize("to", ["angry", "sad", "disgust", "fear"])
def test_turning_to_a_negative_emotion_is_negative(to):
    assert detect_shifts(timeline_of(["neutral"] * 4 + [to] * 4))[0].direction == "negative"


def test_unseen_seconds_neither_break_nor_make_a_run():
    sequence = ["neutral"] * 4 + [None] * 10 + ["neutral"] * 2 + ["happy"] * 4
    shifts = detect_shifts(timeline_of(sequence), min_seconds=3)
    assert [(s.t_s, s.from_emotion, s.to_emotion) for s in shifts] == [(16.0, "neutral", "happy")]


def test_strongest_moments_are_spaced_and_skip_neutral():
    sequence = ["neutral"] * 30
    probs = emotion_probs(sequence)
    probs[5, EMOTIONS.index("happy")] = 0.9
    probs[7, EMOTIONS.index("sad")] = 0.8
    probs[25, EMOTIONS.index("angry")] = 0.7
    timeline = EmotionTimeline("prospect", probs, np.full(30, 4))
    assert strongest_moments(timeline, count=3, min_gap_s=10) == [5, 25]


# ----------------------------------------------------------------------------- timeline
def test_timeline_has_a_row_per_second_for_rep_and_prospect_even_without_faces():
    timelines = build_timelines([], {}, n_seconds=7)
    assert set(timelines) == {"rep", "prospect"}
    assert all(len(t) == 7 and not t.face_present.any() for t in timelines.values())
    assert timelines["rep"].dominant == [None] * 7


def test_smoothing_damps_one_noisy_second_but_keeps_gaps():
    probs = emotion_probs(["neutral", "neutral", "neutral", "neutral", None, "neutral"], peak=0.7)
    probs[2] = emotion_probs(["angry"], peak=0.5)[0]  # one uncertain, noisy second
    out = smooth(probs)
    assert EMOTIONS[int(np.argmax(out[2]))] == "neutral"
    assert np.isnan(out[4]).all()
    assert np.allclose(out[~np.isnan(out[:, 0])].sum(axis=1), 1, atol=1e-5)


def test_track_seconds_average_frames_and_roles_merge_tracks():
    acc = TrackSeconds(n_seconds=4)
    happy, sad = np.eye(len(EMOTIONS))[EMOTIONS.index("happy")], np.eye(len(EMOTIONS))[EMOTIONS.index("sad")]
    box = np.array([0.1, 0.1, 0.3, 0.4])
    acc.add(1, 0.1, box, happy)
    acc.add(1, 0.6, box, sad)
    acc.add(2, 3.2, box, sad)  # the same person back after leaving: a new track
    rows = acc.rows()
    assert [r.track_id for r in rows] == [1, 2]
    assert rows[0].n_frames.tolist() == [2] and rows[0].probs[0, EMOTIONS.index("happy")] == pytest.approx(0.5)
    timelines = build_timelines(rows, {1: "prospect", 2: "prospect"}, 4)
    assert timelines["prospect"].face_present.tolist() == [True, False, False, True]
    assert timelines["prospect"].dominant[3] == "sad"


def test_a_role_on_screen_twice_is_read_from_its_largest_face_each_second():
    """The prospect in a speaker view's big tile (happy) and in its filmstrip (a small face read sad): seconds 0-2
    have both, second 3 only the thumbnail (the big tile cut to someone else)."""
    happy, sad = np.eye(len(EMOTIONS))[EMOTIONS.index("happy")], np.eye(len(EMOTIONS))[EMOTIONS.index("sad")]
    big = TrackSecondRows(1, np.arange(3), np.full(3, 4), np.tile(happy, (3, 1)).astype(np.float32),
                          np.tile([0.2, 0.2, 0.6, 0.9], (3, 1)))
    thumb = TrackSecondRows(2, np.arange(4), np.full(4, 4), np.tile(sad, (4, 1)).astype(np.float32),
                            np.tile([0.1, 0.0, 0.15, 0.08], (4, 1)))
    prospect = build_timelines([big, thumb], {1: "prospect", 2: "prospect"}, 4)["prospect"]
    assert prospect.dominant == ["happy", "happy", "happy", "sad"]
    assert prospect.n_frames.tolist() == [4, 4, 4, 4]  # one face's frames a second, not both


# ----------------------------------------------------------------------------- reading faces
class _Always:
    """A classifier that reads every face as `emotion`."""

    def __init__(self, emotion: str):
        self.row = np.eye(len(EMOTIONS))[EMOTIONS.index(emotion)]

    def predict(self, crops, flip_tta=False, flip_below=None):
        return np.tile(self.row, (len(crops), 1))


def test_each_second_is_read_at_its_middle_and_a_face_that_leaves_early_still_gets_a_read():
    """4 frames a second, one read a second: at 0.5 s (not 0.0 s: a new picture can arrive a frame into a second);
    the face leaves at 1.5 s, so second 1's first frame (1.0 s) is read in place of its middle."""
    read_at = []
    seconds = TrackSeconds(3)
    reader = FaceReader(_Always("happy"), AnalysisSettings(flip_tta=False), seconds)
    original = reader._record
    reader._record = lambda face, probs=None: (read_at.append(face.t) if probs is not None else None,
                                               original(face, probs))
    image = cv2.resize(face_portrait("astronaut"), (320, 320))
    box, eyes = np.array([60, 60, 260, 260], np.float32), np.full((6, 2), np.nan, np.float32)
    for t in (0.0, 0.25, 0.5, 0.75, 1.0, 1.25):
        reader.read(image, 7, t, box, eyes, 0.9, 2.0)
        reader.end_frame()
    reader.finish()
    assert sorted(read_at) == [0.5, 1.0]
    rows = seconds.rows()[0]
    assert rows.seconds.tolist() == [0, 1] and rows.n_frames.tolist() == [4, 2]  # every frame counted once
    assert np.isfinite(rows.probs).all()


def test_a_face_seen_in_a_second_only_in_the_picture_before_it_is_not_that_seconds():
    """A tick at a second's start can show the last picture of the second before (a skipped B-frame,
    `pipeline.video.sample_frames`): a face on that tick alone left as the second began (no presence, no read,
    new-user trial 41's "happy 0.90" on an empty tile); seen again later in the second (a held picture of a
    low-frame-rate recording), it is there."""
    seconds = TrackSeconds(4)
    reader = FaceReader(_Always("happy"), AnalysisSettings(flip_tta=False), seconds)
    image = cv2.resize(face_portrait("astronaut"), (320, 320))
    box, eyes = np.array([60, 60, 260, 260], np.float32), np.full((6, 2), np.nan, np.float32)
    for t in (0.0, 0.25, 0.5, 0.75):
        reader.read(image, 1, t, box, eyes, 0.9, 2.0, picture_t=t)
    reader.read(image, 1, 1.0, box, eyes, 0.9, 2.0, picture_t=31 / 32)  # the B-frame tick, then gone
    for t in (2.0, 2.25, 2.5, 2.75, 3.0, 3.25):  # a 0.5-frame/s picture from 2.0 s, held through second 3
        reader.read(image, 2, t, box, eyes, 0.9, 2.0, picture_t=2.0)
        reader.end_frame()
    reader.finish()
    rows = {r.track_id: r for r in seconds.rows()}
    assert rows[1].seconds.tolist() == [0] and rows[1].n_frames.tolist() == [4]  # nothing in second 1
    assert rows[2].seconds.tolist() == [2, 3] and rows[2].n_frames.tolist() == [4, 2]
    assert np.isfinite(rows[1].probs).all() and np.isfinite(rows[2].probs).all()


# ----------------------------------------------------------------------------- tracking
def dets(*boxes, score: float = 0.9) -> Detections:
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), score, np.float32))


def test_tracker_keeps_ids_through_motion_and_says_on_every_frame_who_is_there():
    tracker = FaceTracker()
    first = tracker.update(0.0, dets([100, 100, 200, 200], [400, 100, 500, 200]))
    assert first.track_ids.tolist() == [0, 1] and first.confidence.tolist() == pytest.approx([0.9, 0.9])
    windows = tracker.search_windows()  # one per known face, twice its size, centred on it
    assert [(w.x, w.y, w.side) for w in windows] == [(50, 50, 200), (350, 50, 200)]
    moved = tracker.update(0.25, dets([420, 110, 520, 210], [110, 105, 210, 205]))
    assert sorted(moved.track_ids.tolist()) == [0, 1]
    gone = tracker.update(0.5, dets([420, 110, 520, 210]))  # face 0 left: absent on this very frame, no carried box
    assert gone.track_ids.tolist() == [1]
    assert len(tracker.search_windows()) == 2  # ...but its place is still searched
    back = tracker.update(0.75, dets([112, 104, 212, 204], [420, 110, 520, 210]))
    assert sorted(back.track_ids.tolist()) == [0, 1]  # back on the next frame, same track


def test_tracker_searches_a_window_again_only_when_it_shows_a_new_picture():
    gray = cv2.cvtColor(face_portrait("astronaut"), cv2.COLOR_BGR2GRAY)
    face = cv2.resize(gray, (100, 100), interpolation=cv2.INTER_AREA)

    def frame(dx: int = 0, face_on: bool = True) -> np.ndarray:
        image = np.full((360, 640), 90, np.uint8)
        if face_on:
            image[100:200, 100 + dx : 200 + dx] = face
        return image

    tracker = FaceTracker()
    tracker.update(0.0, dets([120, 110, 180, 190]), frame())
    assert tracker.plan_search(frame(dx=3), 0.25) == [] and tracker.n_reused == 1  # moved 3 px: the same pixels
    kept = tracker.update(0.25, dets(), frame(dx=3))
    assert kept.track_ids.tolist() == [0] and kept.xyxy[0].tolist() == pytest.approx([123, 110, 183, 190], abs=1.0)
    assert len(tracker.plan_search(frame(dx=3), 0.5)) == 1  # searched again `reverify_s` after the detector's answer
    tracker.update(0.5, dets([123, 110, 183, 190]), frame(dx=3))
    assert len(tracker.plan_search(frame(face_on=False), 0.75)) == 1  # the face left: its window changed
    assert len(tracker.update(0.75, dets(), frame(face_on=False), from_windows=True)) == 0  # absent at once
    assert tracker.plan_search(frame(face_on=False), 1.0) == []  # the same empty picture: the same answer, unsearched
    assert len(tracker.update(1.0, dets(), frame(face_on=False), from_windows=True)) == 0
    noisy = frame(face_on=False) + np.random.default_rng(0).integers(0, 3, (360, 640), np.uint8)
    assert len(tracker.plan_search(noisy, 1.25)) == 1  # a camera's noise is a new picture: searched
    tracker.update(1.25, dets(), noisy, from_windows=True)
    assert tracker.plan_search(noisy, 1.5) == []  # ...and that picture, unchanged, is not searched again
    tracker.update(1.5, dets(), noisy, from_windows=True)
    assert len(tracker.plan_search(frame(), 1.75)) == 1  # the face came back: its place is searched at once
    assert tracker.update(1.75, dets([120, 110, 180, 190]), frame(), from_windows=True).track_ids.tolist() == [0]
    # A whole-frame search that misses the face (small faces: it can) says nothing about its place: searched next.
    tracker.update(2.0, dets(), frame())
    assert len(tracker.plan_search(frame(), 2.25)) == 1


def test_an_arrival_is_a_tile_sized_new_picture_away_from_the_known_faces():
    gray = cv2.cvtColor(face_portrait("astronaut"), cv2.COLOR_BGR2GRAY)
    face = cv2.resize(gray, (100, 120), interpolation=cv2.INTER_AREA)
    noise = np.random.default_rng(0)

    def frame(dx: int = 0, guest: bool = False) -> np.ndarray:
        image = np.full((360, 640), 60, np.uint8)
        image[100:220, 100 + dx : 200 + dx] = face  # a known face, moving
        if guest:
            image[100:220, 420:520] = face  # someone new in the empty right half
        return np.clip(image + noise.normal(0, 3, image.shape), 0, 255).astype(np.uint8)  # sensor noise

    known = [Window(70, 80, 160)]  # the known face's search window
    watch = ArrivalWatch()
    assert not watch.arrived(frame(guest=True), known)  # nothing to compare with before a whole-frame search
    watch.remember(frame())
    assert watch.changed_share(frame(dx=12), known) == 0.0  # noise, and the face moving inside and past its window
    assert watch.changed_share(frame(dx=12), []) < 0.01  # ...even unmasked: a move of up to a cell is no new picture
    assert watch.arrived(frame(guest=True), known)  # a face where no one was: 5% of the frame changed
    assert not watch.arrived(frame(guest=True), known + [Window(390, 80, 160)])  # ...unless that place is watched


def test_tracker_starts_tracks_only_from_confident_detections_and_keeps_them_on_weaker_ones():
    tracker = FaceTracker()
    assert len(tracker.update(0.0, dets([100, 100, 200, 200], score=0.6))) == 0  # a likely false alarm
    tracker.update(0.25, dets([100, 100, 200, 200], score=0.9))
    dim = tracker.update(0.5, dets([102, 100, 202, 200], score=0.6))  # the same face, dimmer
    assert dim.track_ids.tolist() == [0]
    assert len(tracker.update(0.75, dets())) == 0  # gone
    # Where it was, a weak detection (a camera-off card's initials circle) does not bring it back...
    assert len(tracker.update(1.0, dets([104, 108, 194, 198], score=0.55))) == 0
    assert len(tracker.update(1.25, dets([104, 108, 194, 198], score=0.55))) == 0
    # ...a face that scores like one does, as the same track.
    assert tracker.update(1.5, dets([101, 100, 201, 200], score=0.9)).track_ids.tolist() == [0]


def test_a_steady_small_face_its_window_scores_under_the_window_birth_score_is_tracked_after_four_frames():
    """Trial 18's 180-px self-view in a speaker view with cuts: 0.67 on the whole frame (a candidate), then 0.69-0.74
    in its window on every frame, under `window_birth_score` (0.8), so it was never tracked. Four window sightings in a
    row at `birth_score` or more make it a track; a broken run, or scores under `birth_score`, do not."""
    thumb = [576, 18, 601, 44]

    def followed(window_scores: list[float | None]) -> list[list[int]]:
        tracker = FaceTracker()
        tracker.update(0.0, Detections(
            np.array([[200, 80, 420, 300], thumb], np.float32), np.array([0.9, 0.67], np.float32)))
        shown = []
        for i, score in enumerate(window_scores, start=1):
            found = Detections(np.array([[200, 80, 420, 300]] + ([thumb] if score else []), np.float32),
                               np.array([0.9] + ([score] if score else []), np.float32))
            shown.append(tracker.update(0.25 * i, found, from_windows=True).track_ids.tolist())
        return shown

    steady = followed([0.70, 0.71, 0.71, 0.71, 0.74])
    assert steady[:3] == [[0]] * 3 and steady[3] == steady[4] == [0, 1]  # a track from the fourth sighting on
    assert followed([0.70, None, 0.71, 0.71, 0.71])[-1] == [0]  # a run broken by a miss starts again (3 of 4)
    assert followed([0.71, 0.71, None, 0.71, 0.71, 0.71, 0.71])[-1] == [0, 1]  # ...and is a track once it has 4
    assert followed([0.69, 0.66, 0.69, 0.69, 0.69])[-1] == [0]  # under `birth_score` once: not steady enough
    assert followed([0.85])[-1] == [0, 1]  # a confident window score is a track at once, as before
    assert followed([0.71, None] * 8)[-1] == [0]  # sighted on every other frame: never a track...

    tracker = FaceTracker()
    tracker.update(0.0, Detections(np.array([thumb], np.float32), np.array([0.67], np.float32)))
    for i in range(1, 9):  # ...nor watched for ever (`candidate_s` from when it was found, while no run goes on)
        tracker.update(0.25 * i, Detections(np.array([thumb] * (i % 2), np.float32), np.full(i % 2, 0.71, np.float32)),
                       from_windows=True)
    assert tracker.search_windows() == []

    # A held picture (a still thumbnail): a window that found the candidate is searched again on the next frame.
    held = np.random.default_rng(0).integers(0, 255, (360, 640)).astype(np.uint8)
    inside = [560, 250, 585, 276]  # its window lies inside the frame, so its picture is compared
    tracker = FaceTracker()
    tracker.update(0.0, Detections(np.array([inside], np.float32), np.array([0.67], np.float32)), held)
    for i in range(1, 5):
        assert len(tracker.plan_search(held, 0.25 * i)) == 1
        shown = tracker.update(0.25 * i, Detections(np.array([inside], np.float32), np.array([0.71], np.float32)), held,
                               from_windows=True)
    assert shown.track_ids.tolist() == [0]


def test_tracker_closes_a_track_after_watching_its_place_and_starts_a_new_one():
    tracker = FaceTracker(watch_s=2.0)
    tracker.update(0.0, dets([100, 100, 200, 200]))
    tracker.update(0.25, dets([100, 100, 200, 200]))
    tracker.update(1.0, dets())
    tracker.update(4.0, dets())
    assert tracker.search_windows() == []
    again = tracker.update(5.0, dets([100, 100, 200, 200]))
    assert again.track_ids.tolist() == [1]


def test_iou_matrix():
    m = iou_matrix(np.array([[0, 0, 10, 10]], float), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float))
    assert m[0].tolist() == pytest.approx([1.0, 1 / 3, 0.0])


# ----------------------------------------------------------------------------- roles
def summary(track_id, box, n_frames=40, n_detections=10, first=0.0, last=10.0) -> TrackSummary:
    return TrackSummary(track_id, first, last, n_frames, n_detections, np.array(box, float))


LEFT_TILE, RIGHT_TILE = [0.15, 0.3, 0.35, 0.7], [0.65, 0.3, 0.85, 0.7]


@pytest.mark.parametrize("position, rep_track", [("left", 0), ("right", 1)])
def test_gallery_rep_is_the_tile_toward_the_given_side(position, rep_track):
    roles = assign_roles([summary(0, LEFT_TILE), summary(1, RIGHT_TILE)], position)
    assert roles[rep_track] == "rep" and roles[1 - rep_track] == "prospect"


def test_stacked_gallery_uses_top_and_bottom():
    top, bottom = [0.4, 0.1, 0.6, 0.4], [0.4, 0.6, 0.6, 0.9]
    assert assign_roles([summary(0, top), summary(1, bottom)], "bottom") == {0: "prospect", 1: "rep"}


def test_speaker_view_large_face_is_the_prospect_and_the_thumbnail_the_rep():
    big, thumb = [0.3, 0.1, 0.7, 0.8], [0.82, 0.8, 0.9, 0.95]
    assert assign_roles([summary(0, thumb), summary(1, big)], "left") == {0: "rep", 1: "prospect"}


def test_a_phones_portrait_self_view_is_measured_against_the_frames_shorter_side():
    # trial 32: 720x1280, a 400-px close-up and the self-view's 61-px face (0.048 of the height, 0.085 of the width);
    # here a 40-px one (0.031 of the height, 0.056 of the width), as the least size fell to 0.035 (trial 43)
    big, thumb = [0.22, 0.3, 0.78, 0.62], [0.82, 0.06, 0.9, 0.091]
    landscape_sized = [summary(0, thumb), summary(1, big)]
    assert assign_roles(landscape_sized, "left") == {1: "prospect"}  # read as a share of the height: too small
    portrait = [replace(landscape_sized[0], face_size=0.031 * 1280 / 720), replace(landscape_sized[1], face_size=0.32 * 1280 / 720)]
    assert assign_roles(portrait, "left") == {0: "rep", 1: "prospect"}


def test_a_self_view_beside_a_still_speaker_is_the_rep_and_a_lone_speaker_is_noted():
    # trial 32: a very still speaker full screen was set aside as a picture; the self-view, alone, read as the prospect
    speaker, thumb = [0.3, 0.15, 0.7, 0.85], [0.82, 0.05, 0.92, 0.2]
    seconds = np.arange(10)
    presence = {0: (seconds, np.repeat([thumb], 10, axis=0)), 1: (seconds, np.repeat([speaker], 10, axis=0))}
    tracks = [summary(0, thumb), summary(1, speaker)]
    still = decide_roles(tracks, "left", presence=presence, content={1})
    assert still.roles == {0: "rep", 1: "prospect"} and still.frozen == {1}  # the speaker: there, never read
    assert decide_roles(tracks[:1], "left", presence=presence).roles == {0: "prospect"}  # no still speaker: the hint
    # a lone centred face (self-view hidden): the prospect, and the note says the rep never showed
    lone = decide_roles([summary(1, speaker)], "left")
    assert lone.roles == {1: "prospect"} and "the rep's own face never showed" in lone.note


def test_a_prospect_far_larger_than_a_third_face_is_no_guess():
    # trial 32: a handheld camera shook a framed photo on the wall with the background: a small third face all call
    rep, prospect, photo = LEFT_TILE, RIGHT_TILE, [0.80, 0.22, 0.84, 0.29]
    decision = decide_roles([summary(0, rep), summary(1, prospect), summary(2, photo)], "left")
    assert decision.roles == {0: "rep", 1: "prospect", 2: "participant-1"} and decision.note is None
    # three people of one size seen as long: the prospect is a guess, and the note says so
    beside = [0.42, 0.3, 0.58, 0.7]
    decision = decide_roles([summary(0, rep), summary(1, prospect), summary(2, beside)], "left")
    assert "Rapport guessed" in decision.note


def test_a_guest_split_in_two_at_one_seat_still_makes_the_prospect_a_guess():
    """New-user trial 42: in a 3-person gallery the prospect's picture changed at 0:30 and the identity check made her
    two guests of 30 s each at her tile, so the colleague on screen all 60 s was the prospect as a clear pick (no note,
    no guess) and the talk ratio read "rep 74%" (truth 50%). Taking turns at one seat, the two halves weigh as one."""
    top_left, top_right, bottom = [0.1, 0.05, 0.4, 0.45], [0.6, 0.05, 0.9, 0.45], [0.35, 0.55, 0.65, 0.95]
    tracks = [summary(0, top_left, 240, first=0, last=60), summary(1, top_right, 120, first=0, last=30),
              summary(2, bottom, 240, first=0, last=60), summary(3, top_right, 120, first=31, last=60)]
    split = decide_roles(tracks, "left", people={0: 0, 1: 1, 2: 2, 3: 3})
    assert split.roles[0] == "rep" and split.guessed and "Rapport guessed" in split.note
    assert not decide_roles(tracks[:3], "left", people={0: 0, 1: 1, 2: 2}).guessed  # half as present: a clear pick


def test_a_small_face_inside_the_speakers_picture_is_not_a_self_view():
    # trial 31: a flag's stars beside a portrait in its 640x360 gallery tile read as a 27-px face (0.35 of the frame
    # from the nearest edge); the person in the other tile was not found, and the "self-view" took the rep's role
    speaker, flag = [0.70, 0.42, 0.80, 0.60], [0.63, 0.35, 0.67, 0.42]
    decision = decide_roles([summary(0, flag), summary(1, speaker)], "left")
    assert decision.roles[0] != "rep" and decision.roles[1] != "rep"
    assert "does not show which person is the rep" in decision.note
    # the same two faces with the small one at the frame's edge: a speaker view and its self-view
    thumb = [0.80, 0.05, 0.86, 0.15]
    assert assign_roles([summary(0, thumb), summary(1, speaker)], "left") == {0: "rep", 1: "prospect"}


def test_a_meeting_room_beside_the_rep_is_a_gallery_and_a_filmstrip_is_not():
    rep_tile = [0.18, 0.33, 0.33, 0.63]  # a 190-px face in the left tile of a 720p gallery
    room = [[0.56, 0.41, 0.63, 0.53], [0.71, 0.42, 0.78, 0.53], [0.87, 0.40, 0.94, 0.52]]  # three 88-px faces, level
    decision = decide_roles([summary(0, rep_tile)] + [summary(i, box) for i, box in enumerate(room, 1)], "left")
    assert decision.roles[0] == "rep"
    assert sorted(decision.roles[i] for i in (1, 2, 3)) == ["participant-1", "participant-2", "prospect"]
    assert "guessed" in decision.note and "does not show which person is the rep" not in decision.note
    assert "tile of several people" not in decision.note  # the hint picked the person alone in their tile
    # the room on the rep position's side: its face furthest that way is taken as the rep, and the note says how
    mirrored = [[1 - b[2], b[1], 1 - b[0], b[3]] for b in [rep_tile] + room]
    decision = decide_roles([summary(i, box) for i, box in enumerate(mirrored)], "right")
    assert decision.roles[0] == "rep"
    decision = decide_roles([summary(i, box) for i, box in enumerate(mirrored)], "left")
    assert decision.roles[3] == "rep" and "points to a tile of several people" in decision.note
    # a speaker view: the speaker centred, its filmstrip above or in a column beside it: the rep position picks among
    # a row's thumbnails, a guess (new-user trial 36's Teams view); a column does not part on "left": no rep
    speaker = [0.38, 0.35, 0.62, 0.8]
    strip = [[0.3, 0.02, 0.36, 0.12], [0.47, 0.02, 0.53, 0.12], [0.64, 0.02, 0.7, 0.12]]
    column = [[0.88, 0.2, 0.94, 0.3], [0.88, 0.45, 0.94, 0.55], [0.88, 0.7, 0.94, 0.8]]
    decision = decide_roles([summary(0, speaker)] + [summary(i, box) for i, box in enumerate(strip, 1)], "left")
    assert decision.roles[1] == "rep" and decision.rep_guessed and "speaker view's strip of thumbnails" in decision.note
    decision = decide_roles([summary(0, speaker)] + [summary(i, box) for i, box in enumerate(column, 1)], "left")
    assert "rep" not in decision.roles.values() and "does not show which person is the rep" in decision.note
    # trial 38's Teams view: the speaker's face high on the stage (its centre 0.12 above the middle, its chin below
    # it), the rep's and a colleague's thumbnails in a row below: not a room below a person's tile
    teams = [[0.4163, 0.2301, 0.5811, 0.523], [0.3724, 0.7414, 0.4272, 0.8388], [0.5721, 0.7333, 0.6218, 0.8217]]
    decision = decide_roles([summary(i, box) for i, box in enumerate(teams)], "left")
    assert decision.roles == {0: "prospect", 1: "rep", 2: "participant-1"} and decision.rep_guessed


@pytest.mark.parametrize("swap_s", [20, 12, 28])
def test_a_gallery_whose_tiles_change_places_keeps_a_rep_as_a_guess(swap_s):
    """New-user trial 39: the two tiles changed places at 0:20 of 40 s (Zoom reorders a gallery): each person sat on
    the left 20 s with the other on screen, so no one was the rep, the rep's talk was a guest's and the note said no
    gallery was seen. Person 1 (tracks 0 and 3) sits on the left first, and is the rep however long (trial 40: at 0:12
    of 30 s the one there longer was the prospect)."""
    from pipeline.roles import SWAP_NOTE

    tracks = [summary(0, LEFT_TILE, first=0, last=swap_s - 1), summary(1, RIGHT_TILE, first=0, last=swap_s - 1),
              summary(2, LEFT_TILE, first=swap_s, last=39), summary(3, RIGHT_TILE, first=swap_s, last=39)]
    decision = decide_roles(tracks, "left", people={0: 1, 3: 1, 1: 2, 2: 2})
    assert decision.rep_guessed and decision.roles == {0: "rep", 3: "rep", 1: "prospect", 2: "prospect"}
    assert "Rapport guessed person 1, there first, is the rep" in decision.note
    assert f"person 1 sat furthest left for {swap_s} s and person 2 for {40 - swap_s} s" in decision.note
    assert SWAP_NOTE.split("{")[0] in decision.note
    # a person who leaves is no swap: the next face furthest left while they are gone takes no place of theirs
    left_away = [summary(0, LEFT_TILE, first=0, last=9), summary(0, LEFT_TILE, first=20, last=39),
                 summary(1, [0.42, 0.3, 0.58, 0.7], first=0, last=39), summary(2, RIGHT_TILE, first=0, last=39)]
    decision = decide_roles(left_away, "left", people={0: 1, 1: 2, 2: 3})
    assert decision.roles[0] == "rep" and "changed places" not in (decision.note or "")


def test_single_face_is_the_prospect_and_extra_faces_become_participants():
    assert assign_roles([summary(0, [0.4, 0.2, 0.6, 0.8])]) == {0: "prospect"}  # centred: speaker view
    # Issue 21: a lone face in the rep position's tile is the rep (the prospect's face was not found), one in
    # the other tile the prospect, with a note that the rep was never seen where the manager said.
    assert assign_roles([summary(0, LEFT_TILE)], "left") == {0: "rep"}
    alone_right = decide_roles([summary(0, RIGHT_TILE)], "left")
    assert alone_right.roles == {0: "prospect"} and "away from the rep position" in alone_right.note
    middle = [0.42, 0.3, 0.58, 0.7]
    roles = assign_roles([summary(0, LEFT_TILE), summary(1, middle, n_frames=50), summary(2, RIGHT_TILE, n_frames=30)], "left")
    assert roles == {0: "rep", 1: "prospect", 2: "participant-1"}


def test_flicker_and_tiny_faces_are_not_participants_and_returning_faces_keep_their_seat():
    tracks = [
        summary(0, LEFT_TILE, first=0, last=4),
        summary(1, RIGHT_TILE),
        summary(2, [0.5, 0.05, 0.52, 0.08]),  # tiny
        summary(3, [0.4, 0.4, 0.5, 0.5], n_detections=1),  # one detector hit
        summary(4, [0.16, 0.31, 0.36, 0.71], first=6, last=10),  # the rep came back
        summary(5, [0.34, 0.54, 0.5, 0.83], n_frames=4, n_detections=4, first=0, last=0.75),  # a call's first 0.75 s
    ]
    assert assign_roles(tracks, "left") == {0: "rep", 1: "prospect", 4: "rep"}
    # the first 0.75 s of a 300-kbit/s call, a blurred background read as a face: no one, however it scored; but in
    # a clip too short for more, someone (`MIN_PERSON_S` is not applied there)
    assert decide_roles([summary(5, RIGHT_TILE, first=0, last=0.75)], "left", min_person_s=0.0).roles == {5: "prospect"}


def test_unknown_rep_position_is_refused():
    with pytest.raises(ValueError, match="rep position"):
        assign_roles([], "middle")


def test_a_clearest_expression_beside_a_prospect_shift_gets_no_still_of_its_own():
    """A trial: a key moment at 0:21 showed the face of the happy -> angry shift at 0:20."""
    from pipeline.snapshots import still_moments

    sequence = ["happy"] * 20 + ["angry"] * 20
    probs = emotion_probs(sequence)
    probs[21, EMOTIONS.index("angry")] = 0.95  # the clearest, just after the turn
    probs[35, EMOTIONS.index("angry")] = 0.9  # clear, well after it
    timeline = EmotionTimeline("prospect", probs, np.full(40, 4))
    shifts = detect_shifts(timeline)
    assert [(s.t_s, s.to_emotion) for s in shifts] == [(20.0, "angry")]
    assert 21 in strongest_moments(timeline)
    moments = still_moments({"prospect": timeline}, shifts)
    assert [(t, kind) for t, _, kind, _ in moments] == [(0.0, "peak"), (20.0, "shift"), (35.0, "peak")]  # not 21


def test_the_prospects_clearest_expression_is_never_a_frame_where_they_talk():
    """New-user trial 12: a mouth open mid-word read "likely surprise", and two such frames became the call's key
    moments. A key moment comes from a second the prospect was not heard talking (rep talking or nobody)."""
    from pipeline.snapshots import still_moments
    from pipeline.speech import BOTH, NONE, TalkTimeline

    probs = emotion_probs(["neutral"] * 40)
    probs[8, EMOTIONS.index("surprise")] = 0.95  # mid-word
    probs[22, EMOTIONS.index("surprise")] = 0.9  # the same, while both talk
    probs[30, EMOTIONS.index("happy")] = 0.8  # a smile while the rep talks
    timeline = EmotionTimeline("prospect", probs, np.full(40, 4))
    speaking = [NONE] * 5 + ["prospect"] * 10 + ["rep"] * 5 + [BOTH] * 5 + ["rep"] * 15
    talk = TalkTimeline(np.full(40, 0.9), tuple(speaking))
    assert [t for t, *_ in still_moments({"prospect": timeline}, [])] == [8.0, 22.0]  # talk unknown: as before
    assert [(t, kind) for t, _, kind, _ in still_moments({"prospect": timeline}, [], talk)] == [(30.0, "peak")]


def test_a_shift_says_its_rise_in_percentage_points():
    """A new-user trial (13) read "the likelihood of happy rose 83%" as a relative rise."""
    from reports.charts import shift_label

    shift = {"role": "prospect", "t_s": 22.0, "from_emotion": "neutral", "to_emotion": "happy", "direction": "positive",
             "duration_s": 18.0, "strength": 0.854}
    assert shift_label(shift) == ("Prospect at 0:22: likely neutral → happy (positive shift, held 18 s; the likelihood "
                                  "of happy rose 85 percentage points)")
