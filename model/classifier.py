"""The one emotion classifier the pipeline, the evaluator and the dashboard use.

`EmotionClassifier(path)` loads either the shipped TFLite file (fast CPU
inference through LiteRT + XNNPACK) or a Keras checkpoint from a training run,
and maps (N, 48, 48) uint8 faces from `model.preprocess.crop_face` to (N, 7)
probabilities in `config.EMOTIONS` order. Callers never care which it loaded.

Probabilities are calibrated: a model file may have a calibration sidecar
(`<name>.calibration.json` beside it, written by `python -m model.calibrate`) holding
a temperature fitted on validation faces for that very file (its digest must match);
`predict` divides the log-probabilities by it, so "84%" means right about 84% of the
time on faces like the validation set's. Without a matching sidecar the raw
probabilities are returned (`temperature` is None).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
import os
from pathlib import Path

import numpy as np

from config import EMOTIONS
from model.preprocess import FACE_SIZE

#: Most faces per interpreter call; larger inputs are split into chunks of this size. The pipeline
#: also collects this many crops before each `predict` call.
BATCH = 64
#: A rest of fewer than `BATCH` faces (more than one) is read in chunks of this size, the last padded, so three
#: planned graphs (1, 8, 64 faces) serve every batch size callers use and memory stays flat (flip TTA's
#: unsure subsets come in any size: one graph per size added 40 MB on a 2-minute call).
SMALL_BATCH = 8
#: Average each face's probabilities with its mirror image by default in analysis: about a point more
#: accurate (see model/MODEL_CARD.md) for twice the classifier time, which is small beside detection.
FLIP_TTA = True
#: In analysis, flip TTA reads the mirror image only of faces whose un-flipped (calibrated) top probability is
#: below this: a confident read rarely changes. Measured on 1,500 FER2013 val faces (`predict(flip_below=...)`):
#: 59% of faces read twice, accuracy 69.33% (every face twice: 69.40%, none: 67.47%); at 0.6, 45% and 69.27%.
FLIP_TTA_BELOW = 0.7
#: Probabilities are clipped to this before taking logs (an int8 softmax outputs exact zeros).
MIN_PROBABILITY = 1e-6


def calibration_path(model_path: str | os.PathLike) -> Path:
    """Where the calibration sidecar of a model file lives: `emotion_cnn.tflite` -> `emotion_cnn.calibration.json`."""
    path = Path(model_path)
    return path.with_name(f"{path.stem}.calibration.json")


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """(N, 7) probabilities -> softmax(log(p) / T): the same ranking, confidence scaled by the temperature."""
    logits = np.log(np.clip(probs, MIN_PROBABILITY, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)


class ModelFileError(RuntimeError):
    """The weights file is missing or not a model this classifier can load."""


class EmotionClassifier:
    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"emotion model not found: {self.path}")
        self.digest = _file_digest(self.path)
        self.version = f"{self.path.name}:{self.digest}"
        self.temperature = _read_temperature(self.path, self.digest)
        self.faces_read = 0
        """Faces the network has read so far, mirrored reads included: the classifier's work, for `tools.bench`."""
        if self.path.suffix == ".tflite":
            self._predict = _tflite_predictor(self.path, threads or min(2, os.cpu_count() or 1))
        elif self.path.suffix in {".keras", ".h5"}:
            self._predict = _keras_predictor(self.path)
        else:
            raise ModelFileError(f"{self.path}: expected a .tflite or .keras file")

    def predict(self, faces: np.ndarray, flip_tta: bool = False, calibrated: bool = True,
                flip_below: float | None = None) -> np.ndarray:
        """(N, 48, 48) uint8 faces -> (N, 7) float32 probabilities; `flip_tta` averages with the mirror.

        With `calibrated` (the default) and a temperature shipped with the file, the probabilities are
        temperature-scaled (the mean of both views first, as the temperature was fitted); `calibrated=False`
        gives the network's raw softmax (for fitting a temperature). With `flip_tta` and `flip_below`, only
        faces whose un-flipped top probability (calibrated, if the file has a temperature) is below
        `flip_below` are read mirrored too (see `FLIP_TTA_BELOW`).
        """
        faces = np.asarray(faces)
        if faces.ndim != 3 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise ValueError(f"expected faces shaped (N, {FACE_SIZE}, {FACE_SIZE}), got {faces.shape}")
        if len(faces) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        x = faces.astype(np.float32)[..., None]
        probs = self._predict(x)
        self.faces_read += len(x)
        if flip_tta:
            unsure = np.arange(len(x))
            if flip_below is not None:
                first = apply_temperature(probs, self.temperature) if self.temperature is not None else probs
                unsure = np.flatnonzero(first.max(axis=1) < flip_below)
            if len(unsure):  # (a Keras model refuses an empty batch)
                probs[unsure] = (probs[unsure] + self._predict(x[unsure, :, ::-1])) / 2
                self.faces_read += len(unsure)
        if calibrated and self.temperature is not None:
            probs = apply_temperature(probs, self.temperature)
        return probs


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def read_calibration(path: str | os.PathLike, digest: str | None = None) -> dict | None:
    """The calibration sidecar of the model file at `path` (see `model.calibrate`) if it was fitted for this
    very file (its digest matches), else None: a stale sidecar is ignored, a broken one is an error."""
    path = Path(path)
    sidecar = calibration_path(path)
    if not sidecar.is_file() or not path.is_file():
        return None
    try:
        data = json.loads(sidecar.read_text())
        temperature = float(data["temperature"])
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"{sidecar}: not a calibration file ({error})") from error
    if data.get("model_digest") != (digest or _file_digest(path)) or not temperature > 0:
        return None
    return data


def _read_temperature(path: Path, digest: str) -> float | None:
    calibration = read_calibration(path, digest)
    return None if calibration is None else float(calibration["temperature"])


def _tflite_predictor(path: Path, threads: int):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # platforms without the LiteRT wheel fall back to TensorFlow's copy
        from tensorflow.lite import Interpreter

    interpreters: dict[int, object] = {}  # one planned graph per batch size: 1, SMALL_BATCH and BATCH

    def interpreter_for(batch: int):
        if batch not in interpreters:
            try:
                interpreter = Interpreter(model_path=str(path), num_threads=threads)
                index = interpreter.get_input_details()[0]["index"]
                interpreter.resize_tensor_input(index, [batch, FACE_SIZE, FACE_SIZE, 1])
                interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as error:
                raise ModelFileError(f"{path}: not a loadable TFLite model ({error})") from error
            interpreters[batch] = interpreter
        return interpreters[batch]

    interpreter_for(1)  # fail at load time, not at the first face

    def predict(x: np.ndarray) -> np.ndarray:
        out = np.empty((len(x), len(EMOTIONS)), np.float32)
        start = 0
        while start < len(x):
            left = len(x) - start
            size = BATCH if left >= BATCH else 1 if left == 1 else SMALL_BATCH  # three graphs serve any batch
            chunk = x[start : start + size]
            n = len(chunk)
            padded = np.zeros((size, *chunk.shape[1:]), np.float32)
            padded[:n] = chunk
            interpreter = interpreter_for(size)
            interpreter.set_tensor(interpreter.get_input_details()[0]["index"], padded)
            interpreter.invoke()
            out[start : start + n] = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[:n]
            start += n
        return out / out.sum(axis=1, keepdims=True)  # an int8 softmax sums to 1 only within 1/256

    return predict


def _keras_predictor(path: Path):
    import keras

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # keras raises many types for a bad file
        raise ModelFileError(f"{path}: not a loadable Keras model ({error})") from error

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(x, batch_size=256, verbose=0), np.float32)

    return predict


@lru_cache(maxsize=2)
def load_classifier(path: str | None = None) -> EmotionClassifier:
    """The configured classifier (RAPPORT_MODEL_PATH, else the shipped file), loaded once per process."""
    from config import get_settings

    return EmotionClassifier(path or get_settings().model_path)
