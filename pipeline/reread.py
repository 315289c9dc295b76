"""Re-read some tracks' faces of an analysed call: classify only them, where the analysis already found them.

With rep analysis off the analysis never classifies the rep's faces (`pipeline.analyze`, `HeldFaces`). When a
manager later says that person is the prospect, only their faces need reading: `reread_faces` decodes the
recording again but searches for a face only inside a window around each wanted track's stored box for that
second (`detect_in`, as the tracker's search windows do), takes the found face most like that box, and crops,
measures and classifies it exactly as the analysis does. Every other stored number of those tracks (frames,
boxes, quality, poor frames) is kept; only their probabilities are new.

    stored TrackSecondRows (no probs) -> sampled frames -> detect in windows -> aligned crop + quality
        -> classify (batched) -> TrackSecondRows with probs (NaN where no face was found in that second)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from model.blazeface import Window
from model.detect import FaceDetector, detect_in
from pipeline.analyze import AnalysisSettings, FaceReader, Progress
from pipeline.timeline import TrackSecondRows, TrackSeconds
from pipeline.track import FaceTracker, similarity
from pipeline.video import DecodeReport, VideoInfo, sample_frames

SEARCH_SCALE = FaceTracker.search_scale
"""A window's side is this many times the stored box's longer side: the tracker's own search window."""
MIN_SIMILARITY = FaceTracker.min_similarity
"""Least similarity (`pipeline.track.similarity`) between a found face and the stored box to be that track's face."""
PROGRESS_EVERY = 20
"""Sampled frames between two progress reports."""


def reread_faces(info: VideoInfo, classifier, detector: FaceDetector, settings: AnalysisSettings,
                 tracks: list[TrackSecondRows], progress: Progress | None = None) -> list[TrackSecondRows]:
    """`tracks` (the stored rows of the tracks to read) with probabilities from their faces in the recording.

    Boxes are frame fractions, as stored. A second whose face is not found again keeps NaN probabilities
    (read as "face not read"). Raises `InputError` for a recording that cannot be read any more.
    """
    report = progress or (lambda stage, fraction: None)
    boxes_at: dict[int, list[tuple[int, np.ndarray]]] = {}  # second -> [(track, stored box)]
    for rows in tracks:
        for second, box in zip(rows.seconds, rows.boxes):
            boxes_at.setdefault(int(second), []).append((rows.track_id, box))
    found = TrackSeconds(info.n_seconds)
    reader = FaceReader(classifier, settings, found)

    for frame in sample_frames(info, settings.fps, settings.analysis_width, DecodeReport()):
        if frame.index % PROGRESS_EVERY == 0:
            report("re-reading faces", min(1.0, frame.t / max(info.duration_s, 1e-6)) * 0.9)
        wanted = boxes_at.get(min(int(frame.t), info.n_seconds - 1))
        if not wanted:
            continue
        h, w = frame.image.shape[:2]
        scale = np.array([w, h, w, h], np.float64)
        stored = np.array([box for _, box in wanted]) * scale
        windows = []
        for x1, y1, x2, y2 in stored:
            side = SEARCH_SCALE * max(x2 - x1, y2 - y1)
            windows.append(Window((x1 + x2 - side) / 2, (y1 + y2 - side) / 2, side))
        faces = detect_in(detector, frame.image, windows)
        if not len(faces):
            continue
        match = similarity(stored, faces.xyxy)
        px_scale = frame.source.scale
        for k, (track_id, _) in enumerate(wanted):
            best = int(np.argmax(match[k]))
            if match[k, best] < MIN_SIMILARITY:
                continue
            box = faces.xyxy[best]
            reader.read(frame.image, track_id, frame.t, box, faces.keypoints[best],
                        faces.confidence[best], px_scale, picture_t=frame.frame_t)
        reader.end_frame()
    reader.finish()

    read = {rows.track_id: rows for rows in found.rows()}
    out = []
    for rows in tracks:
        probs = np.full((len(rows.seconds), rows.probs.shape[1]), np.nan, np.float32)
        new = read.get(rows.track_id)
        if new is not None:
            at = {int(s): i for i, s in enumerate(rows.seconds)}
            for second, p in zip(new.seconds, new.probs):
                if int(second) in at:
                    probs[at[int(second)]] = p
        out.append(replace(rows, probs=probs))
    return out
