"""The real CLI (`python -m pipeline ...`, a subprocess) when things go wrong: under `--json` every error is one JSON
object on stdout with the exit status it has without `--json`; a bad recording is refused before any model is
imported; odd but valid input (unicode and spaces in names, upper-case suffixes) works."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from config import REPO_ROOT
from tests.helpers import run_cli
from tests.test_cli import env_for, stored_files
from tools.synthetic import CallScript, write_call_video, write_corrupt_copy, write_not_a_video


def _png_renamed_mp4(path):
    import cv2

    cv2.imwrite(str(path.with_suffix(".png")), np.full((120, 160, 3), 128, np.uint8))
    path.with_suffix(".png").rename(path)
    return path


def _one_json_error(result) -> dict:
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    error = json.loads(lines[0])
    assert list(error) == ["error"] and set(error["error"]) == {"kind", "message"}, error
    return error["error"]


@pytest.fixture
def seeded_store(store):
    """A done call (1, Dana's, rep analysis off), another rep's done call (2), a failed call (3); the users of
    `tools.seed` (dana is a rep user who sees only Dana's calls)."""
    from db.models import CallStatus
    from tools.seed import seed_call, seed_users

    seed_call(title="Dana's call", rep="Dana Whitfield", duration_s=20, seed=1, rep_analysis=False)
    seed_call(title="Marcus's call", rep="Marcus Chen", duration_s=20, seed=2)
    seed_call(title="Broken", duration_s=20, seed=3, status=CallStatus.FAILED)
    seed_users()
    return store


def test_every_json_error_is_one_object_with_the_plain_exit_status(seeded_store, tmp_path):
    env = env_for(seeded_store)
    folder = tmp_path / "a folder"
    folder.mkdir()
    (tmp_path / "empty call.mov").write_bytes(b"")
    cases = [  # (arguments, kind, words the message must hold)
        (["analyze", str(tmp_path / "nowhere.mp4")], "no_such_file", "nowhere.mp4: no such file"),
        (["analyze", str(_png_renamed_mp4(tmp_path / "photo.mp4"))], "still_image", "photo.mp4: this is a still image"),
        (["analyze", str(folder)], "not_a_video", "a folder: is a folder, not a recording"),
        (["analyze", str(tmp_path / "empty call.mov")], "empty_file", "empty call.mov: the file is empty"),
        (["analyze", str(write_corrupt_copy(write_call_video(tmp_path / "call.mp4", CallScript(duration_s=2)),
                                            tmp_path / "cut.mp4"))],  # a video, cut off (trial 32: "not_a_video")
         "corrupt_video", "cut.mp4: the recording is incomplete"),
        (["analyze", str(tmp_path / "x.mp4"), "--date", "31/12/2026"], "usage", "is not a date: use YYYY-MM-DD"),
        (["enqueue", str(write_not_a_video(tmp_path / "notes.mp4")), "--fps", "0"], "bad_input", "--fps must be between"),
        (["enqueue", str(tmp_path / "notes.mp4")], "not_a_video", "notes.mp4: not a video file"),
        (["analyze", str(tmp_path / "notes.mp4"), "--consent-note", "said at the start"], "bad_input",
         "add --participants-told to confirm they were"),
        (["export", "99"], "not_found", "call 99 not found"),
        (["export", "2", "--as", "dana"], "not_found", "call 2 not found"),  # not hers: told it does not exist
        (["export", "1", "--as", "nobody"], "bad_input", "no active user 'nobody'"),
        (["export", "3"], "nothing_to_export", "call 3 has nothing to export: its analysis failed"),
        (["export", "1", "--out", "/dev/full"], "storage_full", "could not be written (No space left on device)"),
        (["reassign", "1", "--set", "99=rep"], "bad_input", "call 1 has no track 99"),
        (["reassign", "1", "--swap", "--as", "dana"], "not_allowed", "reps can read calls but not change them"),
        (["delete", "first"], "usage", "'first' is not a call id"),
        (["list", "everything"], "usage", "unrecognized arguments: everything"),
        (["jobs", "--state", "lost"], "usage", "invalid choice: 'lost'"),
        (["purge", "--dry-run", "now"], "usage", "unrecognized arguments: now"),
        (["set-password", "nobody", "--password-stdin"], "bad_input", "no active user 'nobody'"),  # before the password
        (["add-user", "eve", "--role", "boss"], "usage", "invalid choice: 'boss'"),
    ]
    before = stored_files(seeded_store)
    plain_too = {"no_such_file", "usage", "not_found", "nothing_to_export", "storage_full"}  # one each: same status
    for args, kind, words in cases:
        result = run_cli(*args, "--json", env_overrides=env)
        error = _one_json_error(result)
        assert (error["kind"], result.returncode) == (kind, 3 if kind == "not_found" else 2), (args, result.stdout)
        assert words in error["message"] and words in result.stderr, (args, error)
        assert str(tmp_path) not in error["message"] and str(seeded_store) not in error["message"], error
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        if kind in plain_too:
            plain_too.discard(kind)
            plain = run_cli(*args, env_overrides=env)
            assert plain.returncode == result.returncode and plain.stdout == "", (args, plain.stdout)
            assert words in plain.stderr
    assert not plain_too
    assert stored_files(seeded_store) == before  # nothing was stored or removed by any of them
    listed = json.loads(run_cli("list", "--json", env_overrides=env).stdout)
    assert sorted(c["title"] for c in listed) == ["Broken", "Dana's call", "Marcus's call"]


def test_every_command_but_the_worker_offers_json():
    from cli.main import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"analyze", "export", "list", "worker"} <= set(commands)
    for name, parser in commands.items():
        assert ("--json" in parser.format_help()) == (name != "worker"), name


def test_a_full_disk_while_storing_an_upload_is_a_json_storage_full_error(store, tmp_path):
    """The disk fills while the upload is copied in (injected: `shutil.copyfileobj` raises ENOSPC in the CLI's
    own process); the message names the user's file, nothing is kept, the exit status is 2 as without --json."""
    video = write_call_video(tmp_path / "Acme call.mp4", CallScript(duration_s=2, fps=10))
    full_disk = ("import errno, runpy, shutil, sys\n"
                 "def full(*args, **kwargs):\n"
                 "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
                 "shutil.copyfileobj = full\n"
                 "sys.argv = ['pipeline', *sys.argv[1:]]\n"
                 "runpy.run_module('pipeline', run_name='__main__', alter_sys=True)\n")
    for command in ("enqueue", "analyze"):
        result = subprocess.run([sys.executable, "-c", full_disk, command, str(video), "--json"], cwd=REPO_ROOT,
                                env={**os.environ, **env_for(store)}, capture_output=True, text=True, timeout=300)
        error = _one_json_error(result)
        assert result.returncode == 2 and error["kind"] == "storage_full", result.stderr
        assert error["message"].startswith("Acme call.mp4: could not be stored: the server's disk is full"), error
        assert str(store) not in error["message"] and "Traceback" not in result.stderr
    assert stored_files(store) == []
    assert json.loads(run_cli("list", "--json", env_overrides=env_for(store)).stdout) == []


@pytest.mark.parametrize("case", ["missing", "png renamed mp4", "folder"])
def test_a_bad_recording_is_refused_before_any_model_or_analysis_is_imported(store, tmp_path, case):
    path = {"missing": lambda: tmp_path / "Réunion – missing.mp4",
            "png renamed mp4": lambda: _png_renamed_mp4(tmp_path / "still.mp4"),
            "folder": lambda: tmp_path}[case]()
    result = run_cli("analyze", str(path), env_overrides={**env_for(store), "PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 2, result.stderr
    message = {"missing": "error: Réunion – missing.mp4: no such file",
               "png renamed mp4": "error: still.mp4: this is a still image, not a recording",
               "folder": f"error: {tmp_path.name}: is a folder, not a recording"}[case]
    assert message in result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "pipeline.video" in imported  # the probe ran (and the import log works)
    heavy = {"ai_edge_litert", "tensorflow", "keras", "pipeline.analyze", "pipeline.store", "calls.intake", "scipy"}
    assert not heavy & imported, heavy & imported


def test_listing_calls_starts_without_the_vision_stack(store):
    """`list` (like `delete`, `purge`, the readers of stored rows) needs the database only: it must not pay for
    importing the analysis (scipy, LiteRT, the tracker; ~0.8 s of every such command's start on this machine)."""
    result = run_cli("list", env_overrides={**env_for(store), "PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0 and result.stdout.startswith("no calls yet"), result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert {"calls.lifecycle", "pipeline.store"} <= imported  # the import log works; the store's readers came
    heavy = {"ai_edge_litert", "tensorflow", "keras", "pipeline.analyze", "pipeline.track", "scipy", "dlib"}
    assert not heavy & imported, heavy & imported


def test_unicode_spaces_and_upper_case_suffixes_are_fine(store, tmp_path):
    video = write_call_video(tmp_path / "Réunion Acme – café.MOV", CallScript(duration_s=2, fps=10))
    env = env_for(store)
    assert run_cli("list", env_overrides=env).stdout.startswith("no calls yet: add one with `analyze FILE`")
    done = run_cli("enqueue", str(video), "--rep", "  Zoë   Ünal ", "--json", env_overrides=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"call_id": 1, "job_id": 1}
    listed = json.loads(run_cli("list", "--json", env_overrides=env).stdout)
    assert [(c["title"], c["rep"], c["status"]) for c in listed] == [("Réunion Acme – café", "Zoë Ünal", "queued")]
    text = run_cli("list", env_overrides=env).stdout
    assert "Réunion Acme – café" in text and "Zoë Ünal" in text


def test_a_reader_that_stops_early_gets_no_traceback(store):
    """`export 1 | head`: the pipe's reader is gone before the CSV is written; the CLI stops quietly (status 1)."""
    from tools.seed import seed_call

    call_id = seed_call(duration_s=20, stages=False, notes=False).call_id
    for extra in ((), ("--json",)):
        reader_gone = subprocess.Popen([sys.executable, "-m", "pipeline", "export", str(call_id), *extra], cwd=REPO_ROOT,
                                       env={**os.environ, **env_for(store)}, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
        reader_gone.stdout.close()
        stderr = reader_gone.stderr.read()
        assert reader_gone.wait(timeout=300) == 1
        assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_an_upload_as_a_dashboard_user_records_their_consent_and_team_and_refuses_a_rep(store, tmp_path):
    """A CLI upload with `--as` is the Upload page's: the user's name on the consent (reports show it; trial 17 read
    "root (command line)"), their team for a new rep; a name that is no active user, or a rep's, is refused (exit 2,
    nothing stored), also on a store no command has opened yet (a review found a traceback there)."""
    video = write_call_video(tmp_path / "acme.mp4", CallScript(duration_s=2, fps=10))
    env = env_for(store)
    unknown = run_cli("enqueue", str(video), "--participants-told", "--as", "nobody", "--json", env_overrides=env)
    assert unknown.returncode == 2 and json.loads(unknown.stdout)["error"]["kind"] == "bad_input", unknown.stdout
    assert "no active user 'nobody'" in unknown.stderr and "Traceback" not in unknown.stderr

    def add(name: str, *role: str) -> None:
        added = subprocess.run([sys.executable, "-m", "pipeline", "add-user", name, *role, "--password-stdin"],
                               input="a long enough password\n", text=True, capture_output=True, cwd=REPO_ROOT,
                               env={**os.environ, **env})
        assert added.returncode == 0, added.stderr

    add("dana", "--role", "manager", "--team", "East")
    add("rita", "--role", "rep", "--rep", "Rita Reyes")
    rep = run_cli("enqueue", str(video), "--as", "rita", "--json", env_overrides=env)
    assert rep.returncode == 2 and json.loads(rep.stdout)["error"]["kind"] == "not_allowed"
    assert run_cli("list", env_overrides=env).stdout.startswith("no calls yet")

    done = run_cli("enqueue", str(video), "--rep", "Newt New", "--participants-told", "--as", "dana", env_overrides=env)
    assert done.returncode == 0, done.stderr
    shown = json.loads(run_cli("show", "1", "--json", env_overrides=env).stdout)
    assert shown["consent"].startswith("confirmed by dana on ") and "command line" not in shown["consent"]
    from db.models import Rep
    from db.session import session_scope
    from sqlalchemy import select

    with session_scope() as session:
        assert session.scalars(select(Rep).where(Rep.name == "Newt New")).one().team == "East"
