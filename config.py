"""All of Rapport's settings in one place, read from the environment once.

Every module asks `get_settings()` instead of reading `os.environ` itself, so a
newcomer finds every knob here and tests can point the whole app at a temp folder.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent

#: The one label order used everywhere: model outputs, database columns, CSV, charts.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: What a second shows when its face was seen but cannot be read with confidence (see pipeline.uncertainty).
UNCERTAIN = "uncertain"

#: The product's one valence table: +1 positive, 0 neutral, -1 negative. Shift directions, mood shares,
#: reports and charts all read it (directly or through POSITIVE_EMOTIONS / NEGATIVE_EMOTIONS below).
#: Surprise is 0, not +1: a surprised face is as often bad news (a price, a missed deadline) as good, so
#: counting it as positive told managers a prospect warmed up when the face only said "that was
#: unexpected"; and the classifier confuses fear with surprise (model/MODEL_CARD.md), so a +1 would turn
#: a frightened face into a positive moment. Neutral is 0; happy is the only clearly positive expression.
VALENCE: dict[str, int] = {"angry": -1, "disgust": -1, "fear": -1, "happy": 1, "sad": -1, "surprise": 0, "neutral": 0}
POSITIVE_EMOTIONS = frozenset(e for e, v in VALENCE.items() if v > 0)
NEGATIVE_EMOTIONS = frozenset(e for e, v in VALENCE.items() if v < 0)

#: The shipped classifier: one file, committed under model/.
SHIPPED_MODEL_PATH = REPO_ROOT / "model" / "emotion_cnn.tflite"
MODEL_CARD_PATH = SHIPPED_MODEL_PATH.with_name("model_card.json")  # its measured figures, written by model.ship

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")
#: The same, as the Upload page and the messages for a file that is no video name them: "mp4, m4v, ... or avi".
VIDEO_EXTENSIONS_WORDS = ", ".join(e[1:] for e in VIDEO_EXTENSIONS[:-1]) + " or " + VIDEO_EXTENSIONS[-1][1:]


def _code_version() -> str | None:
    """The git commit this checkout held when the process started (short hash, "+changes" when tracked files differ
    from it); None outside a git checkout or without git. Read once, at import: a worker left running keeps the code
    it loaded, and a call must say which code analysed it (new-user trial 17: two analyses of one file disagreed, by a
    commit that landed between them, with nothing on the page to say why)."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    try:
        commit = git("rev-parse", "--short=7", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+changes" if changed else "")


#: Which code this process runs (`_code_version`), stored on each analysed call (`Call.code_version`).
CODE_VERSION = _code_version()

# The data folder's layout, relative to `Settings.data_dir` (the store keeps these relative paths, so a
# data folder can move). Intake, analysis, retention and deletion all build their paths from here.
UPLOADS = Path("uploads")  # stored recordings: one file per call, named by a random hex id, never by the upload
SNAPSHOTS = Path("snapshots")  # snapshots/<call id>/<analysis token>/: annotated stills and track thumbnails
RENDERS = Path("renders")  # renders/<call id>/review.mp4 or .webm: the copy a browser can play, when the upload is not one
REVIEW_COPY_SUFFIXES = (".mp4", ".webm")  # a transcode or an MP4 remuxed; a WebM remuxed (pipeline.review_copy)
QUEUE_FILE = "queue.db"  # the embedded (SQLite) job queue, when RAPPORT_QUEUE_URL is unset
SESSION_KEY_FILE = Path("secrets") / "session.key"  # signs the session cookie when RAPPORT_SESSION_SECRET is unset


def snapshot_folder(call_id: int, token: str) -> Path:
    """One analysis's stills: a fresh folder per analysis (or role change), swapped in when its rows commit."""
    return SNAPSHOTS / str(call_id) / token


def review_copy_path(call_id: int, suffix: str = ".mp4") -> Path:
    """Where a call's browser-playable copy of type `suffix` (one of REVIEW_COPY_SUFFIXES) lives, relative to the
    data folder (deleted with its media)."""
    return RENDERS / str(call_id) / f"review{suffix}"


def review_copy_paths(call_id: int) -> tuple[Path, ...]:
    """Every path a call's playable copy may have (it has one at most)."""
    return tuple(review_copy_path(call_id, suffix) for suffix in REVIEW_COPY_SUFFIXES)


def call_media_folders(call_id: int) -> tuple[Path, ...]:
    """Every per-call folder of derived media (stills, thumbnails, the playable copy); the upload is apart."""
    return SNAPSHOTS / str(call_id), RENDERS / str(call_id)


_READ: set[str] = set()  # the names of the environment variables `get_settings` reads


def _env(name: str, default, cast=str):
    """`cast(os.environ[name])`, or `default` when unset: every default is written once, in `Settings`."""
    _READ.add(name)
    raw = os.environ.get(name)
    return default if raw is None else cast(raw)


def _env_bool(name: str, default: bool) -> bool:
    _READ.add(name)
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "on", "yes"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str
    model_path: Path
    max_upload_mb: int = 2048
    max_frame_pixels: int = 7680 * 4320  # 8K UHD; larger pictures are refused before decoding (memory grows with it)
    max_call_minutes: float = 240.0  # longer recordings are refused before analysis
    # The analysis defaults (written here once; `pipeline.analyze.AnalysisSettings` takes them from here):
    analysis_fps: float = 4.0  # frames analysed per second of call
    detector: str = "blazeface"  # face detector, see model.detect.DETECTORS (BlazeFace, see the README)
    rep_position: str = "left"  # where the rep's tile is in gallery view, see pipeline.roles.REP_POSITIONS
    min_shift_seconds: float = 3.0  # a new dominant emotion must hold this long to count as a shift
    rep_analysis: bool = True
    local_worker: bool = True  # the dashboard starts one worker of its own (off when workers run elsewhere)
    queue_url: str = ""  # empty: Huey's SQLite queue in the data folder; redis://... to scale out
    visibility_timeout_s: float = 60.0  # a running job whose worker is silent this long is re-queued
    heartbeat_s: float = 5.0  # how often a worker says it is alive (well under the timeout)
    session_idle_minutes: float = 60.0  # a dashboard session without a click this long is signed out
    session_secret: str = field(default="", repr=False)  # signs the session cookie; empty: SESSION_KEY_FILE, made once



@lru_cache(maxsize=1)
def get_settings() -> Settings:
    data_dir = Path(_env("RAPPORT_DATA_DIR", REPO_ROOT / "data")).expanduser().resolve()
    db_url = _env("RAPPORT_DB_URL", "") or f"sqlite:///{data_dir / 'rapport.db'}"
    return Settings(
        data_dir=data_dir,
        db_url=db_url,
        model_path=Path(_env("RAPPORT_MODEL_PATH", SHIPPED_MODEL_PATH)),
        max_upload_mb=_env("RAPPORT_MAX_UPLOAD_MB", Settings.max_upload_mb, int),
        max_frame_pixels=_env("RAPPORT_MAX_FRAME_PIXELS", Settings.max_frame_pixels, int),
        max_call_minutes=_env("RAPPORT_MAX_CALL_MINUTES", Settings.max_call_minutes, float),
        analysis_fps=_env("RAPPORT_ANALYSIS_FPS", Settings.analysis_fps, float),
        detector=_env("RAPPORT_DETECTOR", Settings.detector),
        rep_position=_env("RAPPORT_REP_POSITION", Settings.rep_position),
        min_shift_seconds=_env("RAPPORT_MIN_SHIFT_SECONDS", Settings.min_shift_seconds, float),
        rep_analysis=_env_bool("RAPPORT_REP_ANALYSIS", Settings.rep_analysis),
        local_worker=_env_bool("RAPPORT_LOCAL_WORKER", Settings.local_worker),
        queue_url=_env("RAPPORT_QUEUE_URL", Settings.queue_url),
        visibility_timeout_s=_env("RAPPORT_VISIBILITY_TIMEOUT_S", Settings.visibility_timeout_s, float),
        heartbeat_s=_env("RAPPORT_HEARTBEAT_S", Settings.heartbeat_s, float),
        session_idle_minutes=_env("RAPPORT_SESSION_IDLE_MINUTES", Settings.session_idle_minutes, float),
        session_secret=_env("RAPPORT_SESSION_SECRET", Settings.session_secret),
    )


def unknown_settings() -> list[tuple[str, str | None]]:
    """(name, the closest setting's name or None) of every `RAPPORT_` environment variable that is no setting: a
    misspelt one is otherwise ignored without a word (a new-user trial, 29, set `RAPPORT_DATABASE_URL` and its calls
    went to the default store)."""
    get_settings()
    known = sorted(_READ)
    return [(name, next(iter(difflib.get_close_matches(name, known, 1)), None))
            for name in sorted(os.environ) if name.startswith("RAPPORT_") and name not in _READ]
