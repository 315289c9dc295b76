"""Face identity: a 128-number embedding per face, so the tracks of one person can be told from another's.

The model is dlib's ResNet face recogniser (`dlib_face_recognition_resnet_model_v1.dat`, 99.38% on
LFW at distance 0.6 by its author) with dlib's 5-point landmark model for the face chip; both files ship
inside the `face_recognition_models` package (CC0 1.0, Davis King), dlib itself as the prebuilt
`dlib-bin` wheel. The network runs from the same weights converted to LiteRT (`model/weights/face_embedding.tflite.xz`,
`.xz`, `tools.convert_face_embedder`): dlib's own code reads a face in 86 ms on this project's 2-core CPU (its wheel has
no BLAS), LiteRT in ~4 ms, and the embeddings differ by under 0.001. Nothing downloads at run time. The analysis embeds faces from the recording's own picture
(`pipeline.video.SourcePicture`), at the detector's box scaled up from the analysis frame (640 px wide): a
filmstrip thumbnail of a 720p call is 58 px there, 29 px at analysis size (enrolment embeds at analysis size).

Measured here (2026-12-01, this 2-core machine under load from other jobs), Euclidean distance between
embeddings:

| pairs | n | distance |
|---|---|---|
| same portrait (astronaut, Grace Hopper), face 36-110 px, tilted ±20°, at 40% brightness, vs its 110-px upright face | 50 | 0.00-0.43 (median 0.18) |
| the two portraits against each other, same conditions | 50 | 0.63-0.76 |
| 160 in-the-wild photos of (almost all) different people (`shared/facial_expressions`, measuring only) | 12,720 | 1st percentile 0.59, median 0.80; 0.3% below 0.50 (some are the same celebrity) |

| tracks of one person on generated calls (gallery tile vs active-speaker tile; self-view thumbnail vs gallery tile) | 6 | 0.06-0.20 |
| tracks of the two people on those calls | 12 | 0.65-0.69 |

`SAME_PERSON_DISTANCE` sits between the two: above every same-person distance seen, below 99% of
different-person pairs. One embedding cost 140-500 ms in dlib on this 2-core machine under load averages of
8-13 (other jobs), so the analysis embeds sparsely (`pipeline.people.EMBED_EVERY_S`); on LiteRT it costs ~4 ms.
"""

from __future__ import annotations

import lzma
import threading
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

WEIGHTS = Path(__file__).parent / "weights" / "face_embedding.tflite.xz"
"""dlib's face recognition ResNet as LiteRT, float16 weights, xz-compressed (11.3 MB as LiteRT, 9.4 MB in git;
`tools.convert_face_embedder`; CC0 1.0, see `weights/README.md`)."""
CHIP_SIZE, CHIP_PADDING = 150, 0.25
"""The face chip the network reads: dlib's `get_face_chip` at the size and padding its `compute_face_descriptor` uses."""
EMBEDDING_SIZE = 128
SAME_PERSON_DISTANCE = 0.55
"""Embeddings closer than this are one person (the table above: same <= 0.43, different >= 0.59 for 99% of pairs)."""
DIFFERENT_PEOPLE_DISTANCE = 0.65
"""People whose mean embeddings are this far apart are surely two, where a rule would take them for one person seen
twice (`pipeline.roles`: someone who took the prospect's place): one person's photos taken apart (new-user trials
42-43's same-person wild photos, expressions and days apart) came 0.38-0.64 from each other, two people 0.68-0.83; the
generated portraits 0.63-0.76 (the table above)."""
MIN_FACE_PX = 24
"""Smallest face box height (pixels of the picture embedded) embedded. Measured (2026-12-03,
`/root/rapport-runs/s25/small_embed.py`, `small_embed_wild.py`): the two portraits shrunk to 24 / 28 / 32 px were
0.37-0.43 / 0.29-0.37 / 0.23-0.34 from their own 110-px face and 0.62-0.69 from the other's (at 20 px 0.42-0.47 and
0.65-0.69, at 16 px 0.49-0.51: too close); 120 in-the-wild photos of different people (7,140 pairs) fell under
`SAME_PERSON_DISTANCE` in 0.25% of pairs at 60 px, 0.53% at 30 px, 0.91% at 24 px. It was 30: a new-user trial's
(30) WebRTC call that started at 320x180 (faces ~28 px) and switched to speaker view at 720p could not join its
first tracks to anyone, and the rep's gallery face became a made-up third participant."""


class FaceEmbedder:
    """dlib's face recogniser on LiteRT: `embed(frame_bgr, xyxy)` -> (N, 128) float32 embeddings.

    dlib finds the 5 landmarks and cuts the aligned face chip (`dlib.get_face_chips`, 150 px, padding 0.25, as
    its `compute_face_descriptor` does); the network runs from `weights` (`model/weights/face_embedding.tflite.xz`,
    dlib's weights converted by `tools.convert_face_embedder`: within 0.001 of dlib's own embeddings, ~4 ms a
    face instead of dlib's 86 ms on this project's CPU).
    """

    def __init__(self, weights: Path = WEIGHTS, threads: int = 1):
        import dlib
        import face_recognition_models as models

        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # platforms without the LiteRT wheel fall back to TensorFlow's copy
            from tensorflow.lite import Interpreter
        self._landmarks = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
        self._rectangle = dlib.rectangle
        self._shapes = dlib.full_object_detections
        self._face_chips = dlib.get_face_chips
        model = weights.read_bytes()  # 0.3-0.6 s to decompress, once per process (`shared_embedder`)
        model = lzma.decompress(model) if weights.suffix == ".xz" else model
        self._interpreter = Interpreter(model_content=model, num_threads=threads)
        self._interpreter.allocate_tensors()  # one chip per call: the graph's batch is 1
        self._lock = threading.Lock()  # one interpreter per process (`shared_embedder`): the dashboard's enrolments
        # may run in two sessions' threads at once, and an interpreter is not safe to share between threads
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]

    def embed(self, frame_bgr: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """(N, 4) boxes in `frame_bgr`'s pixels -> (N, 128) float32, one embedding per box."""
        if len(xyxy) == 0:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        rgb = np.ascontiguousarray(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
        shapes = self._shapes()
        for x1, y1, x2, y2 in np.asarray(xyxy, np.float64):
            shapes.append(self._landmarks(rgb, self._rectangle(int(round(x1)), int(round(y1)), int(round(x2)), int(round(y2)))))
        return self.embed_chips(np.array(self._face_chips(rgb, shapes, size=CHIP_SIZE, padding=CHIP_PADDING)))

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """(N, 150, 150, 3) uint8 RGB face chips, cut as `dlib.get_face_chip` cuts them -> (N, 128) float32."""
        embeddings = np.zeros((len(chips), EMBEDDING_SIZE), np.float32)
        with self._lock:
            for i, chip in enumerate(chips):
                self._interpreter.set_tensor(self._input, chip[None].astype(np.float32))
                self._interpreter.invoke()
                embeddings[i] = self._interpreter.get_tensor(self._output)[0]
        return embeddings


@lru_cache(maxsize=1)
def shared_embedder() -> FaceEmbedder:
    """One embedder per process (the models take ~0.5 s and 30 MB to load)."""
    return FaceEmbedder()


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two (128,) embeddings."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))
