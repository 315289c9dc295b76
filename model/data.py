"""Load `<emotion>/<image>` folder trees into memory as 48x48 uint8 faces.

Any folder of images of any size, gray or colour, loads. Sources whose images
are whole photos (`detect_faces=True`) go through the pipeline's face detector
and the shared crop first; the result is cached under the data folder so the
detector runs once per image set, not once per training run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from config import EMOTIONS, get_settings
from model.preprocess import crop_face

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
SPLIT_FRACTIONS = (0.7, 0.2, 0.1)  # train / val / test for sources without a split
SPLIT_SEED = 1337


@dataclass
class FaceSet:
    """Faces (N, 48, 48) uint8 with labels (N,) int in `EMOTIONS` order."""

    faces: np.ndarray
    labels: np.ndarray
    paths: list[str]
    #: labels of the images where face detection found no face (not in `faces`)
    missed_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_no_face(self) -> int:
        return len(self.missed_labels)

    def subset(self, index: np.ndarray) -> "FaceSet":
        return FaceSet(self.faces[index], self.labels[index], [self.paths[i] for i in index])

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(EMOTIONS))
        return {name: int(c) for name, c in zip(EMOTIONS, counts)}

    @staticmethod
    def concat(sets: list["FaceSet"]) -> "FaceSet":
        return FaceSet(
            np.concatenate([s.faces for s in sets]),
            np.concatenate([s.labels for s in sets]),
            [p for s in sets for p in s.paths],
            np.concatenate([s.missed_labels for s in sets]),
        )


def list_images(root: Path) -> list[tuple[Path, int]]:
    """(path, label) for every image under `root/<emotion>/`; unknown folders are an error."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder not found: {root}")
    items = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name not in EMOTIONS:
            raise ValueError(f"{folder}: folder name must be one of {', '.join(EMOTIONS)}")
        label = EMOTIONS.index(folder.name)
        items += [(p, label) for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not items:
        raise ValueError(f"no images found under {root}/<emotion>/")
    return items


def _cache_path(items: list[tuple[Path, int]], detect_faces: bool, detector: str) -> Path:
    key = hashlib.sha1(f"v3{detect_faces}{detector}".encode())
    for path, label in items:
        key.update(f"{path}:{label}:{path.stat().st_size}".encode())
    return get_settings().data_dir / "cache" / f"faces-{key.hexdigest()[:16]}.npz"


def load_folder(root: Path, detect_faces: bool = False, detector: str | None = None, use_cache: bool = True) -> FaceSet:
    """Load every image under `root`; with `detect_faces`, keep the largest face or count a miss."""
    items = list_images(root)
    detector_name = detector or get_settings().detector
    cache = _cache_path(items, detect_faces, detector_name)
    if use_cache and cache.exists():
        z = np.load(cache, allow_pickle=False)
        return FaceSet(z["faces"], z["labels"], list(z["paths"]), z["missed_labels"])

    face_detector = None
    if detect_faces:
        from model.detect import find_face_in_still, make_detector

        face_detector = make_detector(detector_name)
    faces, labels, paths, misses = [], [], [], []
    for path, label in items:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path}: not a readable image")
        box = eyes = None
        if face_detector is not None:
            found = find_face_in_still(image, face_detector)
            if found is None:
                misses.append(label)
                continue
            box, eyes = found.xyxy[0], found.keypoints[0, :2]  # eyes are NaN (box crop) for Haar and MTCNN
        faces.append(crop_face(image, box, eyes))
        labels.append(label)
        paths.append(str(path))
    result = FaceSet(
        np.stack(faces) if faces else np.zeros((0, 48, 48), np.uint8),
        np.asarray(labels, np.int64),
        paths,
        np.asarray(misses, np.int64),
    )
    if use_cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, faces=result.faces, labels=result.labels, paths=np.asarray(paths), missed_labels=result.missed_labels)
    return result


def stratified_split(data: FaceSet, fractions=SPLIT_FRACTIONS, seed: int = SPLIT_SEED) -> tuple[FaceSet, ...]:
    """Split per class (70/20/10 by default), ordering each class by a seeded hash of its images' names.

    An image's place in that order depends on its own name only, so when a detector finds a face or two
    more or fewer (it does: another machine, same OpenCV, found 14 more in facial_expressions), only images
    at a split's boundary move. A seeded shuffle of the faces found replaced 41 of a 1,000-face class's
    100 test faces when it lost one.
    """
    keys = np.array([_split_key(path, seed) for path in data.paths], dtype=object)
    parts: list[list[int]] = [[] for _ in fractions]
    for label in range(len(EMOTIONS)):
        index = np.flatnonzero(data.labels == label)
        index = index[np.argsort(keys[index], kind="stable")]
        bounds = np.round(np.cumsum(fractions) * len(index)).astype(int)
        for i, chunk in enumerate(np.split(index, bounds[:-1])):
            parts[i] += chunk.tolist()
    return tuple(data.subset(np.sort(np.asarray(p, np.int64))) for p in parts)


def _split_key(path: str, seed: int) -> str:
    """The image's `<emotion>/<file>` name hashed with the seed: the same wherever the dataset lives."""
    name = "/".join(Path(path).parts[-2:])
    return hashlib.sha1(f"{seed}:{name}".encode()).hexdigest()
