"""All of Rapport's settings in one place, read from the environment once.

Every module asks `get_settings()` instead of reading `os.environ` itself, so a
newcomer finds every knob here and tests can point the whole app at a temp folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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


def _env_bool(name: str, default: bool) -> bool:
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
    analysis_fps: float = 4.0
    detector: str = "haar"
    rep_position: str = "left"
    min_shift_seconds: float = 3.0
    rep_analysis: bool = True
    local_worker: bool = True  # the dashboard starts one worker of its own (off when workers run elsewhere)
    queue_url: str = ""  # empty: Huey's SQLite queue in the data folder; redis://... to scale out
    visibility_timeout_s: float = 60.0  # a running job whose worker is silent this long is re-queued
    heartbeat_s: float = 5.0  # how often a worker says it is alive (well under the timeout)
    session_idle_minutes: float = 60.0  # a dashboard session without a click this long is signed out

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    data_dir = Path(os.environ.get("RAPPORT_DATA_DIR", REPO_ROOT / "data")).expanduser().resolve()
    db_url = os.environ.get("RAPPORT_DB_URL") or f"sqlite:///{data_dir / 'rapport.db'}"
    return Settings(
        data_dir=data_dir,
        db_url=db_url,
        model_path=Path(os.environ.get("RAPPORT_MODEL_PATH", SHIPPED_MODEL_PATH)),
        max_upload_mb=int(os.environ.get("RAPPORT_MAX_UPLOAD_MB", "2048")),
        analysis_fps=float(os.environ.get("RAPPORT_ANALYSIS_FPS", "4")),
        detector=os.environ.get("RAPPORT_DETECTOR", "haar"),
        rep_position=os.environ.get("RAPPORT_REP_POSITION", "left"),
        min_shift_seconds=float(os.environ.get("RAPPORT_MIN_SHIFT_SECONDS", "3")),
        rep_analysis=_env_bool("RAPPORT_REP_ANALYSIS", True),
        local_worker=_env_bool("RAPPORT_LOCAL_WORKER", True),
        queue_url=os.environ.get("RAPPORT_QUEUE_URL", ""),
        visibility_timeout_s=float(os.environ.get("RAPPORT_VISIBILITY_TIMEOUT_S", "60")),
        heartbeat_s=float(os.environ.get("RAPPORT_HEARTBEAT_S", "5")),
        session_idle_minutes=float(os.environ.get("RAPPORT_SESSION_IDLE_MINUTES", "60")),
    )
