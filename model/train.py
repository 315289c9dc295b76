"""Train Rapport's emotion CNN: one recipe, top to bottom.

    python -m model.train --run-dir runs/cnn-v1            # start a run
    python -m model.train --run-dir runs/cnn-v1 --resume   # continue after an interruption
    python -m model.train --run-dir runs/kd --teacher runs/a/best.keras --teacher runs/b/best.keras
    python -m model.train --run-dir runs/ft --init model/emotion_cnn.tflite --teacher model/emotion_cnn.tflite
    python -m model.train --run-dir runs/wide --init model/emotion_cnn.tflite --width-multiplier 1.4 --teacher ...

Two stages, as the reference project planned and never finished:
  1. a narrow net on the combined data (FER2013 train + 70% of facial_expressions)
     with light augmentation and a cosine learning-rate schedule;
  2. the same net grown wider (its last two blocks doubled, starting from exactly
     the function stage 1 learned: Net2WiderNet), fine-tuned with stronger
     augmentation and a lower learning rate.
Both stages also degrade training faces the way a video call does (`degrade`: a low-resolution source,
blur, compression, low light, backlight, a hand over the mouth), stage 2 more often than stage 1.
Or, with `--init FILE.tflite`, one short stage (3) fine-tunes a shipped file for the call domain: its
weights recovered from the file (`model.net.from_tflite`), most training faces degraded; with
`--width-multiplier` as well, the file is first widened (Net2WiderNet) so the fine-tune adds capacity.
Every stage selects its best epoch on data none trained on (FER2013 val + 20% of
facial_expressions); the last 10% of facial_expressions is the test split.

With `--teacher` (once or more) the run distils: each training target is the label blended with
the teachers' mean flip-averaged probabilities for that face (computed once, kept in the run folder),
so an ensemble's knowledge can be trained into one net of the shipped size and speed.

Every epoch writes `last.keras` (weights + optimizer) and `state.json`, so
`--resume` picks up at the next epoch, on this machine or another. The same
command runs on any Keras backend (batches are built in numpy and cv2: `make_dataset`):
TensorFlow here, `KERAS_BACKEND=jax` on a GPU machine without TensorFlow. It uses a GPU
if the backend sees one, and computes in bfloat16 where the hardware runs it natively
(a GPU, or a CPU with AVX512-BF16).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from config import EMOTIONS, REPO_ROOT
from model.data import FaceSet, load_folder, stratified_split
from model.net import BASE_WIDTHS, DROPOUT, block_widths, build_model, conv_layers, from_tflite, rebuilt
from model.preprocess import FACE_SIZE

# ----------------------------------------------------------------------------- recipe
DATASETS = REPO_ROOT.parent / "shared" / "datasets"  # fer2013/{train,val}, facial_expressions/train
FER_TRAIN = "fer2013/train"
FER_VAL = "fer2013/val"
WILD = "facial_expressions/train"  # whole photos: detect faces first
WILD_DETECTOR = "haar"  # pinned so a resumed run never changes its data; boxes agree with MTCNN's (see model card)

BATCH_SIZE = 128
LABEL_SMOOTHING = 0.1
WEIGHT_DECAY = 1e-4
PATIENCE = 8  # epochs without the stage bettering its own best val macro-F1 before it stops
# ...counted only in the second half of a stage: a cosine schedule's gains come as the rate decays, and
# run cnn-v5 (30-epoch stage 2) stopped at epoch 12 after 8 flat epochs near the peak rate.
PATIENCE_FROM = 0.5
CLASS_WEIGHT_POWER = 0.5  # 0 = ignore imbalance, 1 = fully balanced; sqrt is the middle road
DISTILL_SHARE = 0.5  # with --teacher: the share of each training target that is the teachers' probabilities
BN_CALIBRATION_FACES = 4096  # clean training faces used to recompute BatchNorm statistics each epoch
DATA_WORKERS = min(8, os.cpu_count() or 1)
"""Threads building training batches where a step is slow (a CPU: 0.86 s a step, a batch 10-17 ms on one thread)."""
BF16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}  # CPUs whose oneDNN kernels run bfloat16 natively


# Call-domain degradations (`degrade`). A call's face is 60-250 px in the frame, H.264-compressed, often
# blurred, badly lit or half-covered, and the pipeline's crop then resizes it to 48 px; FER2013's faces are
# clean studio-like 48-px crops. Ranges below are for a 48-px face; each applies to a face with its stage's
# probability (`Degradations`), independently of the others, in the order a call applies them.
SOURCE_SIZE = (12, 48)  # px: the face's effective resolution (down with area averaging, back up bilinearly)
GAUSSIAN_SIGMA = (0.5, 1.5)  # px: defocus / a soft webcam lens
MOTION_LENGTH = (3, 7)  # px: a straight motion-blur streak at a random angle (head moving during exposure)
MOTION_SHARE = 0.5  # of blurred faces, the share with motion blur rather than Gaussian blur
JPEG_QUALITY = (20, 60)  # cv2.imencode quality: 8x8 blocking and ringing as at meeting-tool bit rates
LOW_LIGHT_GAMMA = (1.5, 3.0)  # out = 255 * (in / 255) ** gamma: mid-grey 128 falls to 91-32
LOW_LIGHT_NOISE = (3.0, 12.0)  # std (grey levels) of the sensor noise a dark webcam adds at its gain
BACKLIGHT_FACE_GAIN = (0.45, 0.8)  # the face under-exposed by the camera metering on a bright window...
BACKLIGHT_HALO = (0.5, 0.9)  # ...and a halo from one side or corner brightening the rest towards white by this share
BACKLIGHT_HALO_RADIUS = (0.3, 0.5)  # halo radius (Gaussian sigma) as a fraction of the face side
HAND_WIDTH = (0.3, 0.55)  # a hand over the lower face: its extent as fractions of the face side...
HAND_HEIGHT = (0.2, 0.4)
HAND_CENTRE_Y = (0.65, 0.9)  # ...centred on the mouth or chin
HAND_CENTRE_X = (0.3, 0.7)
HAND_BRIGHTNESS = (0.9, 1.3)  # skin lit like the face: the face's mean grey level times this
HAND_FINGER_CONTRAST = 0.15  # depth of the shading between fingers, relative to the hand's grey level


@dataclass(frozen=True)
class Degradations:
    """The probability that a training face gets each degradation (0 = never)."""
    resolution: float = 0.0  # SOURCE_SIZE
    blur: float = 0.0  # GAUSSIAN_SIGMA or MOTION_LENGTH
    compression: float = 0.0  # JPEG_QUALITY
    low_light: float = 0.0  # LOW_LIGHT_GAMMA + LOW_LIGHT_NOISE
    backlight: float = 0.0  # BACKLIGHT_*
    hand: float = 0.0  # HAND_*


# Stage 1 learns the faces from mostly clean ones (62% see no degradation); stage 2, where the net
# grows, sees the call's domain more often (33% clean). Added in run cnn-v12.
LIGHT_DEGRADATIONS = Degradations(resolution=0.1, blur=0.1, compression=0.1, low_light=0.05, backlight=0.05, hand=0.05)
STRONG_DEGRADATIONS = Degradations(resolution=0.25, blur=0.2, compression=0.25, low_light=0.1, backlight=0.1, hand=0.1)


@dataclass(frozen=True)
class TrainingStage:
    epochs: int
    learning_rate: float
    warmup_epochs: int
    rotation: float  # fraction of a full turn
    shift: float
    zoom: float
    brightness: float
    contrast: float
    erase_probability: float
    widths: tuple[int, ...] = BASE_WIDTHS
    degradations: Degradations = field(default_factory=Degradations)


# Stage 2 was first a plain fine-tune (run cnn-v2), then stochastic weight averaging at a constant lr (cnn-v3):
# neither beat stage 1, and train and val accuracy stayed within a point of each other, so the net was short of
# capacity, not of regularisation. Stage 2 now widens the blocks at 12 and 6 px, where the parameters are and
# the multiply-adds are cheap (1.9x the training time per epoch for 3.6x the parameters, measured here).
# Run cnn-v4 ran 12 epochs of it and was still improving when its schedule ended, hence 30 (run cnn-v5).
# Tried and not kept (run cnn-v6): a stage 3 growing cnn-v5's blocks at 48 and 24 px to 48/96 channels (1,200
# int8 faces/s against 1,429) on a cosine restart from 5e-4. Train accuracy rose from 77.7% to 80.8% while val
# stayed at 74.4-75.6%; its best (epoch 8, macro-F1 0.6709 against 0.6695) is within noise and costs 16% speed.
# Tried and not kept (run cnn-v8): mixup (alpha 0.2) in this stage 2, from the same stage 1. It trailed cnn-v5 at
# every late epoch (macro-F1 0.6591 at epoch 24 against 0.6626; stopped after 25) and its best scored FER2013 val
# 66.1% against 67.4%. At this size and schedule, mixup held the net back rather than helping it generalise.
STAGES = {
    1: TrainingStage(epochs=30, learning_rate=2e-3, warmup_epochs=1, rotation=0.03, shift=0.08, zoom=0.1,
                     brightness=0.1, contrast=0.1, erase_probability=0.0, degradations=LIGHT_DEGRADATIONS),
    2: TrainingStage(epochs=30, learning_rate=1e-3, warmup_epochs=1, rotation=0.035, shift=0.1, zoom=0.12,
                     brightness=0.15, contrast=0.15, erase_probability=0.25, widths=(32, 64, 256, 512),
                     degradations=STRONG_DEGRADATIONS),
}
# Fine-tuning a shipped file for the call domain (`--init FILE.tflite`, from run cnn-v13). The full recipe takes
# 3.7 h or more on these 2 cores, and its checkpoints died with their machines (cnn-v9, cnn-v11, cnn-v12,
# cnn-v14); the shipped file is what survives. This stage starts from it (`model.net.from_tflite`: BatchNorm
# folded into the convolutions and frozen), at stage 2's widths, augmentation and degradation rates (a third of
# the faces clean: cnn-v13 degraded three in four and lost disgust, see the model card) and, with `--teacher`
# the same file, learns to read a degraded face as the file reads its clean one, on one short cosine schedule
# from a tenth of stage 2's peak rate.
FINE_TUNE_STAGE = 3
FINE_TUNE = replace(STAGES[2], epochs=6, learning_rate=1e-4, warmup_epochs=0)
WIDEN_NOISE = 0.01  # std of the noise, relative to each kernel's std, that lets copied channels learn apart


# ----------------------------------------------------------------------------- call-domain degradations
def degrade(faces: np.ndarray, degradations: Degradations, rng: np.random.Generator) -> np.ndarray:
    """Faces (N, 48, 48) uint8 as a video call might deliver them: a new (N, 48, 48) uint8 array.

    Each degradation applies to each face with its probability in `degradations`, in the order a call
    applies them: a hand in the scene, the lighting, the lens and motion blur, the sensor's darkness and
    noise, the face's low resolution in the frame, the codec. `faces` is left unchanged; the same `rng`
    state gives the same result.
    """
    out = faces.copy()
    for name, apply in (("hand", hand_over_face), ("backlight", backlight), ("blur", blur),
                        ("low_light", low_light), ("resolution", lower_resolution), ("compression", compress)):
        chosen = rng.random(len(out)) < getattr(degradations, name)
        if chosen.any():
            out[chosen] = apply(out[chosen], rng)
    return out


def _per_face(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> np.ndarray:
    """One uniform draw per face, shaped (n, 1, 1) to broadcast over its pixels."""
    return rng.uniform(*bounds, size=(n, 1, 1))


def _pixel_centres() -> np.ndarray:
    """Pixel centres along one side of a face, as fractions of the side (0..1)."""
    return (np.arange(FACE_SIZE) + 0.5) / FACE_SIZE


def lower_resolution(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each face down to SOURCE_SIZE px (area averaging, as the pipeline's crop downscales), then back up
    bilinearly (as the crop upscales a small face)."""
    sizes = rng.integers(*SOURCE_SIZE, size=len(faces))
    return np.stack([
        cv2.resize(cv2.resize(face, (int(size), int(size)), interpolation=cv2.INTER_AREA), (FACE_SIZE, FACE_SIZE),
                   interpolation=cv2.INTER_LINEAR)
        for face, size in zip(faces, sizes)])


def motion_kernel(length: int, degrees: float) -> np.ndarray:
    """A normalised straight streak `length` px long through the kernel's centre at `degrees`."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1
    centre = ((length - 1) / 2, (length - 1) / 2)
    kernel = cv2.warpAffine(kernel, cv2.getRotationMatrix2D(centre, degrees, 1.0), (length, length))
    return kernel / kernel.sum()


def blur(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur (GAUSSIAN_SIGMA) or, for MOTION_SHARE of the faces, motion blur (MOTION_LENGTH)."""
    n = len(faces)
    motion = rng.random(n) < MOTION_SHARE
    sigmas = rng.uniform(*GAUSSIAN_SIGMA, size=n)
    lengths = rng.integers(MOTION_LENGTH[0], MOTION_LENGTH[1] + 1, size=n)
    angles = rng.uniform(0, 180, size=n)
    return np.stack([
        cv2.filter2D(face, -1, motion_kernel(int(length), angle), borderType=cv2.BORDER_REFLECT) if moving
        else cv2.GaussianBlur(face, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        for face, moving, sigma, length, angle in zip(faces, motion, sigmas, lengths, angles)])


def compress(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A JPEG round trip at JPEG_QUALITY: the 8x8 blocking and ringing of a low-bit-rate video codec."""
    qualities = rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1, size=len(faces))
    return np.stack([
        cv2.imdecode(cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])[1], cv2.IMREAD_GRAYSCALE)
        for face, quality in zip(faces, qualities)])


def low_light(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Darkened by a gamma curve (LOW_LIGHT_GAMMA), then Gaussian sensor noise (LOW_LIGHT_NOISE)."""
    n = len(faces)
    gamma, noise = _per_face(rng, LOW_LIGHT_GAMMA, n), _per_face(rng, LOW_LIGHT_NOISE, n)
    dark = 255 * (faces / 255.0) ** gamma + noise * rng.standard_normal(faces.shape, dtype=np.float32)
    return np.clip(np.rint(dark), 0, 255).astype(np.uint8)


def backlight(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A bright window behind the speaker: the face under-exposed (BACKLIGHT_FACE_GAIN) and a halo centred
    just outside one side or corner brightening the face towards white (BACKLIGHT_HALO, BACKLIGHT_HALO_RADIUS)."""
    n = len(faces)
    direction = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    cy, cx = 0.5 + 0.55 * np.sin(direction), 0.5 + 0.55 * np.cos(direction)
    radius, strength = _per_face(rng, BACKLIGHT_HALO_RADIUS, n), _per_face(rng, BACKLIGHT_HALO, n)
    grid = _pixel_centres()
    distance2 = (grid[None, :, None] - cy) ** 2 + (grid[None, None, :] - cx) ** 2
    halo = strength * np.exp(-distance2 / (2 * radius**2))
    face = faces * _per_face(rng, BACKLIGHT_FACE_GAIN, n)
    return np.clip(np.rint(face + (255 - face) * halo), 0, 255).astype(np.uint8)


def hand_over_face(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An elliptical, hand-sized patch (HAND_WIDTH x HAND_HEIGHT) over the mouth or chin (HAND_CENTRE_*),
    skin lit like the face (HAND_BRIGHTNESS), shaded in finger-wide bands at a random angle."""
    n = len(faces)
    half_w, half_h = _per_face(rng, HAND_WIDTH, n) / 2, _per_face(rng, HAND_HEIGHT, n) / 2
    cy, cx = _per_face(rng, HAND_CENTRE_Y, n), _per_face(rng, HAND_CENTRE_X, n)
    angle = _per_face(rng, (0, np.pi), n)
    grid = _pixel_centres()
    dy, dx = grid[None, :, None] - cy, grid[None, None, :] - cx
    inside = (dx / half_w) ** 2 + (dy / half_h) ** 2 <= 1
    level = faces.mean(axis=(1, 2), keepdims=True) * _per_face(rng, HAND_BRIGHTNESS, n)
    finger_width = 2 * half_w / 4  # four fingers across the hand
    across = (dx * np.cos(angle) + dy * np.sin(angle)) / finger_width
    skin = level * (1 - HAND_FINGER_CONTRAST * (0.5 - 0.5 * np.cos(2 * np.pi * across)))
    return np.where(inside, np.clip(np.rint(skin), 0, 255), faces).astype(np.uint8)


# ----------------------------------------------------------------------------- data
def load_splits(datasets: Path = DATASETS) -> dict[str, FaceSet]:
    """The splits from the dataset folders, or from a file `pack_splits` wrote (a `.npz`)."""
    if datasets.suffix == ".npz":
        return load_packed(datasets)
    fer_train, fer_val = load_folder(datasets / FER_TRAIN), load_folder(datasets / FER_VAL)
    wild = load_folder(datasets / WILD, detect_faces=True, detector=WILD_DETECTOR)
    wild_train, wild_val, wild_test = stratified_split(wild)
    return _splits(FaceSet.concat([fer_train, wild_train]), fer_val, wild_val, wild_test)


def _splits(train: FaceSet, fer_val: FaceSet, wild_val: FaceSet, wild_test: FaceSet) -> dict[str, FaceSet]:
    return {"train": train, "val": FaceSet.concat([fer_val, wild_val]), "fer2013_val": fer_val, "wild_val": wild_val,
            "wild_test": wild_test}


# A GPU machine lent for a session cannot reach ../shared, and what travels there is at most 64 MiB with the
# repository: the splits' 44,000 faces are 100 MB raw, 95 MB zlib-compressed, 81 MB as PNG. Packed as JPEG
# mosaics (faces side by side, on the 8x8 block grid, so no block mixes two faces) at quality 90 they are 47.6 MB.
PACKED_SPLITS = ("train", "fer2013_val", "wild_val", "wild_test")
PACK_JPEG_QUALITY = 90
PACK_ROW = 64  # faces per mosaic row


def pack_splits(splits: dict[str, FaceSet], path: Path) -> dict[str, float]:
    """Write `PACKED_SPLITS` to one `.npz` that `load_splits(path)` reads back as the same splits (faces through a
    JPEG round trip); returns its size in MB and the mean absolute error of the faces in grey levels."""
    arrays, errors = {}, []
    for name in PACKED_SPLITS:
        faces = splits[name].faces
        rows = -(-len(faces) // PACK_ROW)
        mosaic = np.zeros((rows * PACK_ROW, FACE_SIZE, FACE_SIZE), np.uint8)
        mosaic[: len(faces)] = faces
        mosaic = mosaic.reshape(rows, PACK_ROW, FACE_SIZE, FACE_SIZE).transpose(0, 2, 1, 3).reshape(
            rows * FACE_SIZE, PACK_ROW * FACE_SIZE)
        arrays[f"{name}_jpeg"] = cv2.imencode(".jpg", mosaic, [cv2.IMWRITE_JPEG_QUALITY, PACK_JPEG_QUALITY])[1]
        arrays[f"{name}_labels"] = splits[name].labels.astype(np.int8)
        arrays[f"{name}_paths"] = np.frombuffer("\n".join(splits[name].paths).encode(), np.uint8)
        errors.append(np.abs(_unpack_faces(arrays[f"{name}_jpeg"], len(faces)).astype(np.int16) - faces).mean())
    np.savez_compressed(path, **arrays)  # (the paths compress; the JPEGs do not)
    return {"mb": path.stat().st_size / 1e6, "mean_abs_error": float(np.mean(errors))}


def _unpack_faces(jpeg: np.ndarray, n: int) -> np.ndarray:
    mosaic = cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)
    rows = mosaic.shape[0] // FACE_SIZE
    faces = mosaic.reshape(rows, FACE_SIZE, PACK_ROW, FACE_SIZE).transpose(0, 2, 1, 3).reshape(-1, FACE_SIZE, FACE_SIZE)
    return np.ascontiguousarray(faces[:n])


def load_packed(path: Path) -> dict[str, FaceSet]:
    with np.load(path) as packed:
        sets = [FaceSet(_unpack_faces(packed[f"{name}_jpeg"], len(packed[f"{name}_labels"])),
                        packed[f"{name}_labels"].astype(np.int64), packed[f"{name}_paths"].tobytes().decode().split("\n"))
                for name in PACKED_SPLITS]
    return _splits(*sets)


def class_weights(labels: np.ndarray) -> np.ndarray:
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(np.float64)
    weights = (counts.sum() / (len(EMOTIONS) * np.maximum(counts, 1))) ** CLASS_WEIGHT_POWER
    return (weights / np.sum(weights * counts / counts.sum())).astype(np.float32)  # mean sample weight 1


def make_dataset(data: FaceSet, stage: TrainingStage, weights: np.ndarray, seed: int = 0, batch_size: int = BATCH_SIZE,
                 teacher_probs: np.ndarray | None = None, workers: int = DATA_WORKERS, processes: bool = False):
    """Training batches of in-memory faces for `model.fit` on any Keras backend: a `keras.utils.PyDataset` in
    numpy and cv2 only (no tf.data), so the same recipe trains on TensorFlow here and on JAX on a GPU machine.

    Each step yields (faces (B, 48, 48, 1) float32 0-255, targets (B, 7), sample weights (B,)). Each epoch visits
    the faces in a new order (whole batches; the remainder waits for the next epoch), and batch `i` of epoch `e`
    is the same whichever of the `workers` threads (`processes`: processes, forked by Keras at each epoch's start)
    builds it: its random draws come from (seed, e, i). Per face:
    `degrade` (the call's degradations), then `augment` (the stage's geometry, lighting and erasing).
    `teacher_probs` (one row per face) turns each one-hot target into a blend with the teachers' view.
    """
    import keras

    targets = np.eye(len(EMOTIONS), dtype=np.float32)[data.labels]
    if teacher_probs is not None:
        targets = ((1 - DISTILL_SHARE) * targets + DISTILL_SHARE * teacher_probs).astype(np.float32)
    sample_weights = weights[data.labels].astype(np.float32)

    class FaceBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=workers, use_multiprocessing=processes)
            self.epoch, self.order = 0, np.random.default_rng([seed, 0]).permutation(len(data))

        def __len__(self) -> int:
            return len(data) // batch_size

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.order = np.random.default_rng([seed, self.epoch]).permutation(len(data))

        def __getitem__(self, index: int):
            chosen = self.order[index * batch_size : (index + 1) * batch_size]
            rng = np.random.default_rng([seed, self.epoch, index])
            faces = augment(degrade(data.faces[chosen], stage.degradations, rng), stage, rng)
            return faces[..., None], targets[chosen], sample_weights[chosen]

    return FaceBatches()


def augment(faces: np.ndarray, stage: TrainingStage, rng: np.random.Generator) -> np.ndarray:
    """(N, 48, 48) uint8 -> (N, 48, 48) float32 in 0-255: per face a horizontal flip (half of them), a rotation,
    shift and zoom about the centre, contrast and brightness about the face's mean, and random erasing (one grey
    rectangle, `stage.erase_probability`). Ranges as Keras's preprocessing layers read them: rotation a fraction
    of a full turn either way, shift a fraction of the side either way, zoom a relative scale change either way,
    brightness a fraction of 255.

    Nearest-neighbour resampling, edges repeated, on purpose: bilinear blurs every 48-px training face, which
    cut the first layer's activation variance by a quarter; BatchNorm's moving statistics then no longer matched
    sharp faces at inference (measured: 28% accuracy with moving statistics against 55% with batch statistics on
    the same faces, run cnn-v1, epoch 4).
    """
    n = len(faces)
    flip = rng.random(n) < 0.5
    angles = rng.uniform(-stage.rotation, stage.rotation, n) * 360.0
    scales = 1.0 / rng.uniform(1 - stage.zoom, 1 + stage.zoom, n)
    shifts = rng.uniform(-stage.shift, stage.shift, (n, 2)) * FACE_SIZE
    centre = ((FACE_SIZE - 1) / 2, (FACE_SIZE - 1) / 2)
    out = np.empty((n, FACE_SIZE, FACE_SIZE), np.float32)
    for i, face in enumerate(faces):
        matrix = cv2.getRotationMatrix2D(centre, float(angles[i]), float(scales[i]))
        matrix[:, 2] += shifts[i]
        moved = cv2.warpAffine(face[:, ::-1] if flip[i] else face, matrix, (FACE_SIZE, FACE_SIZE),
                               flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        out[i] = moved
    gain = rng.uniform(1 - stage.contrast, 1 + stage.contrast, (n, 1, 1))
    offset = rng.uniform(-stage.brightness, stage.brightness, (n, 1, 1)) * 255
    mean = out.mean(axis=(1, 2), keepdims=True)
    out = (out - mean) * gain + mean + offset
    if stage.erase_probability > 0:
        size = rng.uniform(0.15, 0.4, (n, 1, 1)) * FACE_SIZE
        cy, cx = rng.uniform(0, FACE_SIZE, (n, 1, 1)), rng.uniform(0, FACE_SIZE, (n, 1, 1))
        grid = np.arange(FACE_SIZE, dtype=np.float32)
        inside = (np.abs(grid[None, :, None] - cy) < size / 2) & (np.abs(grid[None, None, :] - cx) < size / 2)
        chosen = rng.random((n, 1, 1)) < stage.erase_probability
        out = np.where(inside & chosen, 128.0, out)
    return np.clip(out, 0, 255).astype(np.float32)


# ----------------------------------------------------------------------------- network
@dataclass(frozen=True)
class Precision:
    """How this machine trains: bfloat16 compute (float32 weights) where the hardware runs it natively.

    On this project's 2-core CPU (avx512_bf16) one stage-2 step takes 0.86 s in bfloat16 against 1.71 s
    in float32 (batch 128, measured); XLA gains nothing there in bfloat16, so it is kept for float32 and GPUs.
    """
    policy: str  # a Keras dtype policy: "mixed_bfloat16" or "float32"
    jit_compile: bool
    batch_processes: int = 0
    """Processes building training batches (`make_dataset`), one per core on a GPU machine; 0: `DATA_WORKERS`
    threads. Measured on a lent H200 (16 cores, model card, "Where a step's time goes"): a stage-2 step computes in
    5.6 ms, but a `fit` step took 25 ms waiting for batches, and 8 threads built them only 1.1-1.5x as fast as
    one (per-face numpy and cv2 calls on 48x48 faces hold the GIL most of the time)."""

    @staticmethod
    def for_this_machine(policy: str = "auto") -> Precision:
        gpu = any(device.startswith("gpu") for device in devices())
        if policy != "auto":
            return Precision(policy, jit_compile=gpu or policy == "float32", batch_processes=(os.cpu_count() or 1) * gpu)
        if gpu:
            return Precision("mixed_bfloat16", jit_compile=True, batch_processes=os.cpu_count() or 1)
        cpuinfo = Path("/proc/cpuinfo")
        flags = set(cpuinfo.read_text().split()) if cpuinfo.exists() else set()
        return Precision("mixed_bfloat16", False) if flags & BF16_CPU_FLAGS else Precision("float32", True)


def devices() -> list[str]:
    """What the Keras backend computes on, lower case, "type:index" first (e.g. ["cpu:0"], ["cpu:0", "gpu:0"] on
    TensorFlow, ["gpu:0 nvidia h200"] on JAX): `Precision` trains in bfloat16 when one starts with "gpu".
    The recipe runs on TensorFlow (here) and JAX (a lent GPU machine); other backends raise SystemExit."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name.split("physical_device:")[-1].lower() for d in tf.config.list_physical_devices()]
    if backend == "jax":
        import jax

        return [f"{'gpu' if d.platform in ('gpu', 'cuda', 'rocm') else d.platform}:{d.id} {d.device_kind}".lower()
                for d in jax.devices()]
    raise SystemExit(f"KERAS_BACKEND={backend}: train with tensorflow or jax")


def scaled_widths(widths: tuple[int, ...], multiplier: float) -> tuple[int, ...]:
    """Each block's channels times `multiplier`, rounded to a multiple of 8 (XNNPACK's SIMD width for int8
    convolutions); the widths themselves at 1."""
    return widths if multiplier == 1 else tuple(max(8, 8 * round(w * multiplier / 8)) for w in widths)


def widen(model, widths: tuple[int, ...], rng: np.random.Generator):
    """Net2WiderNet (Chen et al., 2016): the same function in a net with more channels per block.

    Each new channel copies a random existing one (its kernel and BatchNorm), and the layer that
    reads them divides that channel's incoming weights among its copies, so the wider net starts
    with the narrow net's outputs. A little noise on the divided weights lets the copies learn apart.
    """
    import keras

    wide = build_model(widths, conv_layers(model)[0].dtype_policy.name)
    if [l.filters for l in conv_layers(wide)] == [l.filters for l in conv_layers(model)]:
        return model
    batchnorms = [[l for l in m.layers if isinstance(l, keras.layers.BatchNormalization)] for m in (model, wide)]
    denses = [[l for l in m.layers if isinstance(l, keras.layers.Dense)] for m in (model, wide)]

    def split_inputs(kernel: np.ndarray, axis: int, copies_of: np.ndarray) -> np.ndarray:
        """One input per new channel (`copies_of[i]` is the old channel new channel i copies), each old
        input's weights divided among its copies, plus the noise on those that were divided."""
        shares = np.bincount(copies_of)[copies_of].astype(np.float32)
        shares = np.expand_dims(shares, tuple(range(1, kernel.ndim - axis)))  # broadcast along `axis`
        kernel = np.take(kernel, copies_of, axis=axis) / shares
        noise = rng.normal(0, WIDEN_NOISE * kernel.std(), kernel.shape) * (shares > 1)
        return (kernel + noise).astype(np.float32)

    copies_of = np.arange(1)  # the grayscale input channel
    for old, new, old_bn, new_bn in zip(conv_layers(model), conv_layers(wide), *batchnorms):
        kernel = split_inputs(old.get_weights()[0], 2, copies_of)
        copies_of = np.concatenate([np.arange(old.filters), rng.integers(0, old.filters, new.filters - old.filters)])
        new.set_weights([kernel[..., copies_of]])
        new_bn.set_weights([w[copies_of] for w in old_bn.get_weights()])
        new_bn.trainable = old_bn.trainable  # a shipped file's folded BatchNorm stays frozen (`from_tflite`)
    (old_hidden, old_head), (new_hidden, new_head) = denses
    hidden_kernel, hidden_bias = old_hidden.get_weights()
    new_hidden.set_weights([split_inputs(hidden_kernel, 0, copies_of), hidden_bias])  # global pooling keeps channels apart
    new_head.set_weights(old_head.get_weights())
    return wide


def teacher_probabilities(teachers: list[Path], faces: np.ndarray) -> np.ndarray:
    """The teachers' mean probabilities on clean faces, each averaged with its mirror image (flip TTA).

    Computed once per run rather than on every augmented batch (three teachers would triple the cost
    of a step), so each augmented copy the student sees gets its clean face's targets. A teacher is
    anything the pipeline's classifier loads: a run's Keras checkpoint or a shipped TFLite file.
    """
    from model.classifier import EmotionClassifier

    total = sum(EmotionClassifier(teacher).predict(faces, flip_tta=True) for teacher in teachers)
    return (total / total.sum(axis=1, keepdims=True)).astype(np.float32)


def distillation_targets(run_dir: Path, teachers: list[str], train_set: FaceSet) -> np.ndarray | None:
    """`teacher_probabilities` for each training face, computed at a run's first start and kept in
    `teacher_probs.npy` so that a resume trains on the same targets; None when the run has no teachers."""
    if not teachers:
        return None
    cached = run_dir / "teacher_probs.npy"
    if not cached.exists():
        np.save(cached, teacher_probabilities([Path(t) for t in teachers], train_set.faces))
    probs = np.load(cached)
    if len(probs) != len(train_set):
        raise SystemExit(f"{cached} holds {len(probs)} faces, the training split {len(train_set)}")
    return probs


def compile_model(model, stage: TrainingStage, steps_per_epoch: int, jit_compile: bool) -> None:
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=stage.learning_rate / 10 if stage.warmup_epochs else stage.learning_rate,
        decay_steps=max(1, (stage.epochs - stage.warmup_epochs) * steps_per_epoch),
        warmup_target=stage.learning_rate if stage.warmup_epochs else None,
        warmup_steps=stage.warmup_epochs * steps_per_epoch,
        alpha=0.01,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=WEIGHT_DECAY),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=LABEL_SMOOTHING),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )


def resumed(checkpoint: Path, stage: TrainingStage, steps_per_epoch: int, precision: Precision):
    """`last.keras` rebuilt in this machine's precision, with its optimizer's state (moments and step
    count, which drives the learning-rate schedule) carried over."""
    import keras

    saved = keras.models.load_model(checkpoint)
    model = rebuilt(saved, precision.policy)
    compile_model(model, stage, steps_per_epoch, precision.jit_compile)
    model.optimizer.build(model.trainable_variables)
    for mine, theirs in zip(model.optimizer.variables, saved.optimizer.variables, strict=True):
        mine.assign(theirs)
    return model


# ----------------------------------------------------------------------------- run bookkeeping
class RunState:
    """`state.json`: which stage and epoch finished last, and the best score so far."""

    def __init__(self, run_dir: Path, first_stage: int = 1):
        self.path = run_dir / "state.json"
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {
            "stage": first_stage, "epochs_done": 0, "best_macro_f1": -1.0, "stage_best_macro_f1": -1.0, "epochs_since_best": 0,
            "finished": False, "teachers": []}

    def record_epoch(self, epoch: int, macro_f1: float, stage_epochs: int) -> bool:
        """Note a finished epoch (1-based) of the current stage; True when it is the best of all stages.

        Patience counts against the stage's own best, so a stage that climbs steadily from below the
        previous stage's best is not cut short, and only in the stage's second half (PATIENCE_FROM).
        """
        d = self.data
        d["epochs_done"] = epoch
        best_overall = macro_f1 > d["best_macro_f1"]
        d["best_macro_f1"] = max(d["best_macro_f1"], macro_f1)
        if macro_f1 > d["stage_best_macro_f1"]:
            d["stage_best_macro_f1"], d["epochs_since_best"] = macro_f1, 0
        elif epoch > stage_epochs * PATIENCE_FROM:
            d["epochs_since_best"] += 1
        return best_overall

    @property
    def out_of_patience(self) -> bool:
        return self.data["epochs_since_best"] >= PATIENCE

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2))
        tmp.replace(self.path)


def batchnorm_probes(model) -> list:
    """One probe per trainable BatchNorm layer of `model`, in order: (layer, a Keras model from the net's input to
    the per-face, per-channel mean and mean square of that layer's input, each (N, C)). Built once per stage and
    reused every epoch, so a backend that compiles (JAX) compiles each probe once; the reduction happens inside,
    so the activations (up to 48×48×C per face) never leave the device."""
    import keras

    probes = []
    for layer in [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization) and l.trainable]:
        acts = keras.ops.cast(layer.input, "float32")
        axes = tuple(range(1, len(acts.shape) - 1))
        outputs = [keras.ops.mean(acts, axis=axes), keras.ops.mean(keras.ops.square(acts), axis=axes)]
        probes.append((layer, keras.Model(model.input, outputs)))
    return probes


def recalibrate_batchnorm(probes: list, faces: np.ndarray, batch_size: int = 256) -> None:
    """"Precise BatchNorm": set each BN layer's moving statistics to the true statistics of its
    input on clean (un-augmented) training faces, layer by layer with the weights fixed
    (`probes` from `batchnorm_probes`).

    Keras keeps exponential moving averages of *augmented* batches taken while the weights were
    still moving; at a high learning rate they lagged far enough behind that inference-mode
    accuracy fell to 30% while the same weights with batch statistics scored 53% (run cnn-v2,
    epoch 3). Recomputing them once per epoch costs a few seconds and removes the gap. Frozen layers
    (a fine-tune's folded BatchNorm, `model.net.from_tflite`) keep theirs.
    """
    x = faces.astype(np.float32)[..., None]
    for layer, probe in probes:
        means, squares = (np.asarray(a, np.float64) for a in probe.predict(x, batch_size=batch_size, verbose=0))
        mean = means.mean(axis=0)
        layer.moving_mean.assign(mean.astype(np.float32))
        layer.moving_variance.assign(np.maximum(squares.mean(axis=0) - mean**2, 0).astype(np.float32))


def validation_scores(model, faces: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """One pass over val faces (N, 48, 48) uint8: plain cross-entropy, accuracy and macro-F1 (the selection metric)."""
    from sklearn.metrics import f1_score

    probs = np.clip(model.predict(faces.astype(np.float32)[..., None], batch_size=512, verbose=0), 1e-7, 1.0)
    predicted = np.argmax(probs, axis=1)
    return {
        "val_loss": float(-np.mean(np.log(probs[np.arange(len(labels)), labels]))),
        "val_accuracy": float(np.mean(predicted == labels)),
        "val_macro_f1": float(f1_score(labels, predicted, average="macro", labels=range(len(EMOTIONS)), zero_division=0)),
    }


def make_epoch_callback(run_dir: Path, state: RunState, stage: TrainingStage, val: FaceSet, calibration_faces: np.ndarray):
    import keras

    class EpochEnd(keras.callbacks.Callback):
        """Recalibrate BatchNorm, score val, save last/best, log a CSV row, stop when out of patience
        (`RunState.record_epoch`). `best.keras` is the best over all stages."""

        def on_train_begin(self, logs=None):
            self.probes = batchnorm_probes(self.model)

        def on_epoch_end(self, epoch, logs=None):
            recalibrate_batchnorm(self.probes, calibration_faces)
            logs = {**(logs or {}), **validation_scores(self.model, val.faces, val.labels)}
            logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            if state.record_epoch(epoch + 1, logs["val_macro_f1"], stage.epochs):
                save_whole(self.model, run_dir / "best.keras")
            save_whole(self.model, run_dir / "last.keras")
            append_log(run_dir, {"stage": state.data["stage"], "epoch": epoch + 1, **logs})
            state.save()
            print(f"stage {state.data['stage']} epoch {epoch + 1}: " + ", ".join(f"{k}={v:.4f}" for k, v in logs.items()),
                  flush=True)
            self.model.stop_training = state.out_of_patience

    return EpochEnd()


def save_whole(model, path: Path) -> None:
    """`model.save(path)` through a temporary file: a run stopped while saving keeps the previous file whole."""
    tmp = path.with_name(f"{path.stem}.partial.keras")
    model.save(tmp)
    tmp.replace(path)


def append_log(run_dir: Path, row: dict) -> None:
    path = run_dir / "training_log.csv"
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
    plot_curves(run_dir)


def plot_curves(run_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    log = pd.read_csv(run_dir / "training_log.csv")
    x = np.arange(1, len(log) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].plot(x, log["loss"], label="train loss")
    axes[0].plot(x, log["val_loss"], label="val loss")
    axes[1].plot(x, log["accuracy"], label="train accuracy")
    axes[1].plot(x, log["val_accuracy"], label="val accuracy")
    axes[1].plot(x, log["val_macro_f1"], label="val macro-F1")
    for ax in axes:
        ax.set_xlabel("epoch (both stages)")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(run_dir / "curves.png", dpi=100)
    plt.close(fig)


# ----------------------------------------------------------------------------- main
def train(run_dir: Path, resume: bool, datasets: Path = DATASETS, epochs_override: int | None = None,
          batch_size: int = BATCH_SIZE, policy: str = "auto", teachers: list[Path] | None = None,
          init: Path | None = None, width_multiplier: float | None = None) -> Path:
    import keras

    precision = Precision.for_this_machine(policy)
    print(f"training on {keras.backend.backend()} {devices()} in {precision.policy}, "
          f"XLA {'on' if precision.jit_compile else 'off'}, batches built by "
          f"{f'{precision.batch_processes} processes' if precision.batch_processes else f'{DATA_WORKERS} threads'}", flush=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume and (run_dir / "state.json").exists():
        raise SystemExit(f"{run_dir} already holds a run; pass --resume to continue it or pick a new --run-dir")
    state = RunState(run_dir, FINE_TUNE_STAGE if init else 1)
    init = str(init.resolve()) if init else state.data.get("init")
    if init and not resume and not Path(init).is_file():
        raise SystemExit(f"--init {init}: no such model file")
    state.data["init"] = init
    teachers = [str(t.resolve()) for t in teachers or []]
    if teachers and state.data.get("teachers") and teachers != state.data["teachers"]:
        raise SystemExit(f"{run_dir} distils from {state.data['teachers']}; resume it with those teachers or none")
    state.data["teachers"] = teachers or state.data.get("teachers", [])
    known = state.data.get("width_multiplier", 1)
    if width_multiplier and resume and width_multiplier != known:
        raise SystemExit(f"{run_dir} trains widths x{known}; resume it with that --width-multiplier or none")
    multiplier = width_multiplier or known
    state.data["width_multiplier"] = multiplier
    plan = {FINE_TUNE_STAGE: FINE_TUNE} if init else STAGES
    stages = {k: replace(s, epochs=epochs_override or s.epochs, widths=scaled_widths(s.widths, multiplier))
              for k, s in plan.items()}

    splits = load_splits(datasets)
    weights = class_weights(splits["train"].labels)
    if not state.data["finished"]:  # (a finished run keeps the record of the machine that trained it)
        (run_dir / "hparams.json").write_text(json.dumps({
            "batch_size": batch_size, "datasets": str(datasets), "label_smoothing": LABEL_SMOOTHING, "weight_decay": WEIGHT_DECAY,
            "dropout": DROPOUT, "widen_noise": WIDEN_NOISE, "patience": PATIENCE, "patience_from": PATIENCE_FROM,
            "class_weight_power": CLASS_WEIGHT_POWER, "class_weights": dict(zip(EMOTIONS, weights.tolist())),
            "stages": {k: asdict(s) for k, s in stages.items()},
            "backend": keras.backend.backend(), "devices": devices(), "precision": asdict(precision),
            "class_counts": {name: s.class_counts() for name, s in splits.items()},
            "init": init, "width_multiplier": multiplier, "teachers": state.data["teachers"], "distill_share": DISTILL_SHARE if state.data["teachers"] else 0.0,
        }, indent=2))
    teacher_probs = None if state.data["finished"] else distillation_targets(run_dir, state.data["teachers"], splits["train"])
    steps = len(splits["train"]) // batch_size
    calibration = splits["train"].faces[np.random.default_rng(0).permutation(len(splits["train"]))[:BN_CALIBRATION_FACES]]

    while not state.data["finished"]:
        number = state.data["stage"]
        stage = stages[number]
        if state.data["epochs_done"] > 0:  # resuming inside a stage
            model = resumed(run_dir / "last.keras", stage, steps, precision)
        elif number == FINE_TUNE_STAGE:  # a fine-tune starts from the shipped file, widened if asked
            shipped = from_tflite(init, precision.policy)
            model = shipped if multiplier == 1 else widen(
                shipped, scaled_widths(block_widths(shipped), multiplier), np.random.default_rng(number))
            compile_model(model, stage, steps, precision.jit_compile)
        else:  # stage 1 starts from scratch; a later stage from the previous stage's best, with a fresh optimizer
            model = build_model(stage.widths, precision.policy) if number == 1 else widen(
                rebuilt(keras.models.load_model(run_dir / "best.keras"), precision.policy), stage.widths,
                np.random.default_rng(number))
            compile_model(model, stage, steps, precision.jit_compile)
        if state.data["epochs_done"] < stage.epochs and not state.out_of_patience:
            start = time.time()
            # Seeded by where the stage starts: a resumed run must not replay the shuffle and augmentation
            # of the stage's first epochs (with seed=stage it did, and training accuracy jumped 1.8 points,
            # most likely on batches the net had already seen: run cnn-v3, stage 2 epoch 5).
            seed = 1000 * number + state.data["epochs_done"]
            model.fit(
                make_dataset(splits["train"], stage, weights, seed=seed, batch_size=batch_size, teacher_probs=teacher_probs,
                             workers=precision.batch_processes or DATA_WORKERS, processes=precision.batch_processes > 0),
                epochs=stage.epochs,
                initial_epoch=state.data["epochs_done"],
                callbacks=[make_epoch_callback(run_dir, state, stage, splits["val"], calibration)],
                verbose=2,
            )
            print(f"stage {number} ran {time.time() - start:.0f} s", flush=True)
        if number < max(stages):
            state.data.update(stage=number + 1, epochs_done=0, stage_best_macro_f1=-1.0, epochs_since_best=0)
        else:
            state.data["finished"] = True
        state.save()

    if keras.backend.backend() != "tensorflow":  # the report exports a TFLite file: TensorFlow's converter
        print(f"the int8 export and report need TensorFlow: where it is installed, run "
              f"`python -m model.train --run-dir {run_dir} --resume` (a finished run only writes them)", flush=True)
        return run_dir / "best.keras"
    from model.evaluate import write_run_report  # after training: the report of the best checkpoint

    write_run_report(run_dir, splits)
    return run_dir / "best.keras"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, help="folder for checkpoints, logs and the report")
    parser.add_argument("--pack", type=Path, metavar="FILE.npz",
                        help="instead of training: write the splits of --datasets to FILE.npz for a machine without "
                             "them (--datasets FILE.npz there), with --teacher also the teachers' probabilities of its "
                             "training faces to FILE.teacher_probs.npy (a run's teacher_probs.npy)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help=f"root holding {FER_TRAIN}, {FER_VAL}, {WILD}")
    parser.add_argument("--epochs", type=int, help="override the epochs of every stage (smoke runs)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--precision", choices=["auto", "float32", "mixed_bfloat16"], default="auto",
                        help="auto: bfloat16 compute on a GPU or a CPU with native bfloat16, else float32")
    parser.add_argument("--init", type=Path, metavar="MODEL.tflite",
                        help="fine-tune this shipped file for the call domain (stage 3 only) instead of training from "
                             "scratch; kept for --resume")
    parser.add_argument("--teacher", type=Path, action="append", default=[], metavar="MODEL",
                        help="a .keras checkpoint or .tflite file to distil from (repeat for an ensemble); "
                             "kept for --resume")
    parser.add_argument("--width-multiplier", type=float, metavar="X",
                        help="every stage's channel widths times X (rounded to multiples of 8): 2 makes a teacher too "
                             "big to ship, for a later run's --teacher; with --init the shipped file is widened "
                             "(Net2WiderNet) before its fine-tune; kept for --resume")
    args = parser.parse_args(argv)
    for teacher in args.teacher:
        if not teacher.is_file():
            parser.error(f"--teacher {teacher}: no such model file")
    if args.pack:
        splits = load_splits(args.datasets)
        figures = pack_splits(splits, args.pack)
        print(f"{args.pack}: {figures['mb']:.1f} MB, faces within {figures['mean_abs_error']:.2f} grey levels (mean)")
        if args.teacher:
            probs = args.pack.with_suffix(".teacher_probs.npy")
            np.save(probs, teacher_probabilities(args.teacher, splits["train"].faces))
            print(f"{probs}: the teachers' probabilities of its {len(splits['train'])} training faces")
        return
    if args.run_dir is None:
        parser.error("--run-dir is required (or --pack)")
    best = train(args.run_dir, args.resume, args.datasets, args.epochs, args.batch_size, args.precision, args.teacher,
                 args.init, args.width_multiplier)
    print(f"best checkpoint: {best}")


if __name__ == "__main__":
    main()
