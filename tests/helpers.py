"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

import os


def run_cli(*args: str, env_overrides: dict | None = None, timeout: float = 300):
    """Run `python -m pipeline ...` for real, in a subprocess, with the test's environment."""
    import subprocess
    import sys

    from config import REPO_ROOT

    env = {**os.environ, **(env_overrides or {})}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def write_phone_clip(path, seconds: float = 1.0, tone_hz: float | None = None):
    """A portrait phone recording as phones store it: 320x240 pixels plus a 90° display rotation, a white
    band along the stored picture's left edge (the bottom once upright), and optionally a sine tone."""
    import av
    import numpy as np

    fps, rate = 30, 48_000
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        video.set_display_rotation(90)  # counter-clockwise, as FFmpeg reports it
        audio = container.add_stream("aac", rate=rate, layout="mono") if tone_hz else None
        for i in range(round(seconds * fps)):
            image = np.zeros((240, 320, 3), np.uint8)
            image[:, :40] = 255
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            t = np.arange(round(seconds * rate)) / rate
            samples = (0.5 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
            for start in range(0, len(samples), 1024):
                chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = rate, start
                container.mux(audio.encode(chunk))
            container.mux(audio.encode())
    return path


def emotion_probs(sequence, peak: float = 0.8):
    """(n, 7) per-second probabilities, EMOTIONS order: `peak` on the named emotion, the rest spread evenly;
    a None second is a NaN row (no face)."""
    import numpy as np

    from config import EMOTIONS

    probs = np.full((len(sequence), len(EMOTIONS)), np.nan, np.float32)
    for i, name in enumerate(sequence):
        if name is not None:
            probs[i] = (1 - peak) / (len(EMOTIONS) - 1)
            probs[i, EMOTIONS.index(name)] = peak
    return probs


def moment_kind_lines(at) -> list[str]:
    """The review page's caption lines that say what each key moment is (`reports.summary.SHIFT_KINDS` or
    `CLEAREST_EXPRESSION`, capitalised), one under each key moment's badge."""
    from reports.summary import CLEAREST_EXPRESSION, SHIFT_KINDS

    kinds = tuple(k.capitalize() for k in (*SHIFT_KINDS.values(), CLEAREST_EXPRESSION))
    return [c.value for c in at.caption if c.value.startswith(kinds)]
