"""Roles from name tags: a gallery whose rep sits away from the rep position is read right by the names on its tiles.

The end-to-end case is a generated 720p gallery (`tools.synthetic`, real portraits) whose tiles carry the names a call
app prints; the rep sits on the right, the rep position stays at its default, "left".
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.name_tags import EXACT, FIRST_NAME, FULL, NameTags, Tagged, match_level, tag_owners, tag_seconds
from pipeline.roles import PROSPECT, REP, TrackSummary, decide_roles
from tests.helpers import run_cli
from tools.synthetic import CallScript, write_call_video

REP_NAME, PROSPECT_NAME = "Ken Walker", "María López"


@pytest.mark.parametrize("text, level", [
    ("Ken Walker", EXACT), ("ken walker (Host)", EXACT), ("Ken Walker (Acme)", EXACT), ("Ken W.", FULL),
    ("Ken Watker", FULL),  # one letter misread by OCR
    ("Kenny W.", FULL), ("Kenneth Walker", FULL),  # a first name's long or short form
    ("Ken", FIRST_NAME), ("Kenny", FIRST_NAME),
    ("Ken Smith", 0), ("Ben Walker", 0), ("Acme", 0), ("Walker", 0),
    ("Ken is presenting", 0),  # a banner, not a tag
])
def test_how_well_a_tag_names_the_rep(text, level):
    assert match_level(REP_NAME, text) == level


def test_accents_and_case_do_not_matter():
    assert match_level(PROSPECT_NAME, "MARIA LOPEZ") == EXACT
    assert match_level("Zoë", "Zoe (External)") == EXACT
    # new-user trial 50: "Dan Kim" (the rep) beside "Dana Kim": the tag as spelt outranks the one a letter away
    assert match_level("Dan Kim", "Dan Kim") == EXACT and match_level("Dan Kim", "Dana Kim") == FULL


def test_a_tag_belongs_to_the_face_of_its_own_tile():
    """New-user trial 44's 640x360 gallery: the left tile's tag ("Dana", at its foot) sat nearer the larger face of the
    right tile by height; it is the left face's. With the left face gone, it is no one's."""
    left, right = np.array([93, 116, 217, 240.0]), np.array([391, 114, 537, 260.0])
    dana, pat = np.array([10, 336, 44, 350.0]), np.array([329, 335, 355, 351.0])
    assert tag_owners([dana, pat], {1: left, 2: right}, 640) == [1, 2]
    assert tag_owners([dana], {2: right}, 640) == [None]
    # a 56-px face centred in a 636-px tile of a 1280-px frame: its tag, at the tile's foot, 240 px left of the face
    small = {1: np.array([284, 323, 340, 379.0]), 2: np.array([931, 325, 983, 377.0])}
    assert tag_owners([np.array([5, 511, 43, 534.0])], small, 1280) == [1]
    assert tag_owners([np.array([5, 100, 43, 120.0])], small, 1280) == [None]  # above the faces


def test_a_name_in_a_tile_whose_camera_is_off_is_no_ones():
    """New-user trial 50: a 2x2 grid whose bottom-right tile (the rep, camera off) shows only its tag; the tag is not
    the guest's above it, whose own tag sits nearer under their face."""
    guest = np.array([860, 120, 960, 240.0])
    guest_tag, rep_tag = np.array([655, 330, 760, 348.0]), np.array([655, 630, 760, 648.0])
    assert tag_owners([guest_tag, rep_tag], {3: guest}, 1280) == [3, None]


def test_the_frames_read_show_everyone():
    box = np.zeros(4)
    on_screen = {s: {1: box, 2: box} for s in range(10)} | {s: {3: box} for s in range(10, 20)}
    seconds = tag_seconds(on_screen)
    assert len(seconds) == 2 and {p for s in seconds for p in on_screen[s]} == {1, 2, 3}
    together = {s: {1: box, 2: box} for s in range(30)}
    assert len(set(tag_seconds(together))) == 2  # one frame would show both; a second one in case a tag was hidden


LEFT, RIGHT = np.array([0.15, 0.3, 0.35, 0.65]), np.array([0.65, 0.3, 0.85, 0.65])


def gallery(*boxes: np.ndarray) -> list[TrackSummary]:
    """A 60-s gallery: person n+1 is track n at `boxes[n]` the whole call."""
    return [TrackSummary(n, 0.0, 60.0, 240, 240, box) for n, box in enumerate(boxes)]


def test_a_tag_outranks_the_rep_position_and_a_prospect_tag_rules_its_person_out_as_the_rep():
    tracks = gallery(LEFT, RIGHT)
    assert decide_roles(tracks, "left").roles == {0: REP, 1: PROSPECT}  # the layout's pick
    by_rep = decide_roles(tracks, "left", name_tags=NameTags(rep=Tagged(2, "Ken Walker (Acme)")))
    assert by_rep.roles == {0: PROSPECT, 1: REP} and not by_rep.guessed
    assert by_rep.note.startswith("Person 2's name tag read \u201cKen Walker (Acme)\u201d, the rep's name")
    by_prospect = decide_roles(tracks, "left", name_tags=NameTags(prospect=Tagged(1, "Maria", FIRST_NAME)))
    assert by_prospect.roles == {0: PROSPECT, 1: REP} and not by_prospect.guessed
    assert by_prospect.note.startswith("Person 1's name tag read \u201cMaria\u201d, the prospect's first name, so person 2, "
                                       "the one other person on screen at their size, was taken as the rep")
    # enrolment, a consented face signature, outranks a tag
    assert decide_roles(tracks, "left", recognised_rep=1, name_tags=NameTags(rep=Tagged(2, "Ken"))).roles == {
        0: REP, 1: PROSPECT}


def test_in_a_grid_the_prospect_tag_picks_the_prospect_among_the_guests():
    top_right, bottom_left = np.array([0.65, 0.1, 0.8, 0.4]), np.array([0.15, 0.6, 0.3, 0.9])
    tracks = gallery(np.array([0.15, 0.1, 0.3, 0.4]), top_right, bottom_left, np.array([0.65, 0.6, 0.8, 0.9]))
    decision = decide_roles(tracks, "left", name_tags=NameTags(rep=Tagged(4, "Ken"), prospect=Tagged(3, "Maria")))
    assert decision.roles[3] == REP and decision.roles[2] == PROSPECT and not decision.guessed
    assert {decision.roles[0], decision.roles[1]} == {"participant-1", "participant-2"}


@pytest.fixture(scope="module")
def tagged_gallery(tmp_path_factory):
    """6 s of a 720p gallery, the rep (Grace Hopper) on the right, each tile's name tag at its bottom left."""
    script = CallScript(duration_s=6, rep_position="right", motion_px=8,
                        names=(("rep", REP_NAME), ("prospect", "Maria Lopez")))
    return write_call_video(tmp_path_factory.mktemp("tags") / "tagged gallery.mp4", script)


def people_of(call_id: int, env: dict) -> dict[str, str]:
    done = run_cli("people", str(call_id), "--json", env_overrides=env)
    assert done.returncode == 0, done.stderr
    return {person["role"]: person["where"] for person in json.loads(done.stdout)}


def test_the_rep_is_found_by_their_name_tag_where_the_rep_position_points_elsewhere(store, tagged_gallery):
    env = {"RAPPORT_REP_ANALYSIS": "on"}
    done = run_cli("analyze", str(tagged_gallery), "--rep", REP_NAME, "--prospect", PROSPECT_NAME, "--json",
                   env_overrides=env)
    assert done.returncode == 0, done.stderr
    assert people_of(1, env) == {"rep": "on the right", "prospect": "on the left"}
    shown = run_cli("show", "1", "--json", env_overrides=env)
    call = json.loads(shown.stdout)
    assert "name tag read \u201cKen Walker\u201d, the rep's name" in call["roles_note"]
    assert "the prospect's name" in call["roles_note"] and not call["roles_guessed"]
    assert 0 < json.loads(done.stdout)["timings_s"]["name tags"] < 30

    # Without the names the rep position decides: the person on the left, as before
    done = run_cli("analyze", str(tagged_gallery), "--rep", "Someone Else", env_overrides=env)
    assert done.returncode == 0, done.stderr
    assert people_of(2, env) == {"rep": "on the left", "prospect": "on the right"}

