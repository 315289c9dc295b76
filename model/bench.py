"""Inference speed of the emotion classifier: prints figures, asserts nothing.

    python -m model.bench [--weights model/emotion_cnn.tflite] [--keras runs/NAME/best.keras]

Batched throughput (faces per second, batches of 64 as the pipeline sends them)
and single-face latency, for the TFLite file (plain and with flip TTA, the way the
pipeline classifies) and optionally the Keras checkpoint it came from, measured in
the same run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from config import SHIPPED_MODEL_PATH
from model.classifier import EmotionClassifier


def measure(classifier: EmotionClassifier, flip_tta: bool = False, n_faces: int = 2048,
            n_single: int = 200) -> tuple[float, float]:
    faces = np.random.default_rng(0).integers(0, 255, (n_faces, 48, 48), dtype=np.uint8)
    classifier.predict(faces[:128], flip_tta=flip_tta)
    classifier.predict(faces[:1], flip_tta=flip_tta)
    start = time.perf_counter()
    classifier.predict(faces, flip_tta=flip_tta)
    batched = n_faces / (time.perf_counter() - start)
    latencies = []
    for i in range(n_single):
        t0 = time.perf_counter()
        classifier.predict(faces[i : i + 1], flip_tta=flip_tta)
        latencies.append(time.perf_counter() - t0)
    return batched, float(np.median(latencies) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=SHIPPED_MODEL_PATH)
    parser.add_argument("--keras", type=Path, help="also time this Keras checkpoint")
    args = parser.parse_args()
    print(f"{'model':<52} {'batched faces/s':>16} {'one face, median ms':>20}")
    runs = [(args.weights, False), (args.weights, True)] + ([(args.keras, False)] if args.keras else [])
    for path, flip_tta in runs:
        batched, single = measure(EmotionClassifier(path), flip_tta)
        label = f"{path}{' + flip TTA' if flip_tta else ''}"
        print(f"{label:<52} {batched:>16.0f} {single:>20.2f}", flush=True)


if __name__ == "__main__":
    main()
