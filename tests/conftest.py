"""Shared fixtures: an isolated data folder and store per test, generated call videos per session."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
BRIGHTNESS_THRESHOLD = 125.0  # the hopper portrait crop averages ~111, the astronaut's ~138 (of 255)
NEUTRAL_BRIGHTNESS = 0.7
"""`Appearance.brightness` of one person's face that `brightness_model` reads neutral, where the same face unscaled
reads happy: a change of expression of one person (the astronaut's crop ~97 then). A switch to another portrait is
another person at that seat, a guest (`pipeline.people.distinct_people`)."""


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """Stops what a test started and left running (a test that failed halfway past its workers, servers or browser):
    a leftover keeps the suite's output open, so CI waits on it after the last test, and a worker would take later
    tests' jobs. Processes started by wider fixtures (a module's Redis server) were there before and stay."""
    import psutil

    me = psutil.Process()
    before = {child.pid for child in me.children(recursive=True)}
    yield
    left = [child for child in me.children(recursive=True) if child.pid not in before]
    for process in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(left, timeout=10)


@pytest.fixture(autouse=True)
def ordinary_scheduling_kept():
    """Fails a test that leaves this process under real-time scheduling (`tools.synthetic.ordinary_scheduling` says how
    SVT-AV1 did): every process started after it (a dashboard, Playwright's driver, Chromium) would inherit it, and a
    spinning real-time browser starves everything else on the machine, its watchdog included."""
    yield
    policy = os.sched_getscheduler(0)
    assert policy == os.SCHED_OTHER, (f"the test left this thread under real-time scheduling (policy {policy}, priority "
                                      f"{os.sched_getparam(0).sched_priority}): wrap what set it in "
                                      "tools.synthetic.ordinary_scheduling")


def _reset_caches() -> None:
    from config import get_settings
    from db.session import _session_factory, get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    _session_factory.cache_clear()


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    """A fresh data folder and SQLite store (migrated), used by everything in the test."""
    data = tmp_path / "data"
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(data))
    monkeypatch.setenv("RAPPORT_DB_URL", f"sqlite:///{data / 'rapport.db'}")
    monkeypatch.setenv("RAPPORT_REP_ANALYSIS", "on")  # a workspace that chose; tests of "off" say so
    _reset_caches()
    from db.session import init_db

    init_db()
    yield data
    _reset_caches()


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    """Call recordings composed of real face photos (scikit-image, matplotlib), made once per run."""
    from tools.synthetic import write_call_video

    folder = tmp_path_factory.mktemp("videos")
    return {name: write_call_video(folder / name, script) for name, script in video_scripts().items()}


def video_scripts() -> dict:
    """What each recording of the `videos` fixture shows (tests compare decoded frames with the drawn ones)."""
    from tools.synthetic import Appearance, CallScript

    return {
        "gallery.mp4": CallScript(duration_s=8),
        "gallery_right.mp4": CallScript(duration_s=6, rep_position="right"),
        "stacked.mkv": CallScript(duration_s=6, layout="stacked", rep_position="top"),
        "speaker.mov": CallScript(duration_s=6, layout="speaker"),
        "single.webm": CallScript(duration_s=5, layout="single"),
        "three.avi": CallScript(duration_s=6, layout="three"),
        "moving.mp4": CallScript(duration_s=8, motion_px=40),
        "away.mp4": CallScript(duration_s=12, prospect=(Appearance(0, "astronaut"), Appearance(4, None), Appearance(8, "astronaut"))),
        "switch.mp4": CallScript(duration_s=14, prospect=(Appearance(0, "astronaut"),
                                                          Appearance(7, "astronaut", brightness=NEUTRAL_BRIGHTNESS))),
        "takeover.mp4": CallScript(duration_s=14, prospect=(Appearance(0, "astronaut"), Appearance(7, "hopper"))),
        "nofaces.mp4": CallScript(duration_s=4, rep=(Appearance(0, None),), prospect=(Appearance(0, None),)),
        "ntsc.mp4": CallScript(duration_s=4, fps=29.97),
    }


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    """The shipped classifier; tests never train one (a fresh checkout always has it)."""
    from config import SHIPPED_MODEL_PATH

    assert SHIPPED_MODEL_PATH.is_file(), f"the shipped model {SHIPPED_MODEL_PATH} is missing"
    return SHIPPED_MODEL_PATH


@pytest.fixture(scope="session")
def classifier(model_path):
    from model.classifier import EmotionClassifier

    return EmotionClassifier(model_path)


@pytest.fixture(scope="session")
def brightness_model(tmp_path_factory) -> Path:
    """Keras model: mean pixel above the threshold -> happy, below -> neutral (all 7 outputs, softmax)."""
    import keras
    import numpy as np

    from config import EMOTIONS

    inputs = keras.Input((48, 48, 1))
    dense = keras.layers.Dense(len(EMOTIONS), activation="softmax")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    weights = np.zeros((1, len(EMOTIONS)), np.float32)
    bias = np.full(len(EMOTIONS), -10.0, np.float32)
    happy, neutral = EMOTIONS.index("happy"), EMOTIONS.index("neutral")
    weights[0, happy], bias[happy], bias[neutral] = 0.5, -0.5 * BRIGHTNESS_THRESHOLD, 0.0
    dense.set_weights([weights, bias])
    path = tmp_path_factory.mktemp("model") / "brightness.keras"
    model.save(path)
    return path
