"""The training recipe's call-domain degradations (`model.train.degrade`): each keeps a 48x48 uint8 face and
does what its name says to a real face, and the whole chain is reproducible from a seed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model.preprocess import FACE_SIZE, crop_face
from model.train import (HAND_CENTRE_Y, HAND_HEIGHT, STAGES, Degradations, backlight, blur, compress, degrade,
                         hand_over_face, low_light, lower_resolution)
from tools.synthetic import face_portrait


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """Sixteen real 48-px face crops: the astronaut's face under boxes shifted and scaled as a detector's would be."""
    portrait = np.ascontiguousarray(face_portrait("astronaut"))
    boxes = [np.array([75 + dx, 60 + dy, 160 + dx + grow, 160 + dy + grow], np.float32)
             for dx in (-6, 0, 6, 12) for dy, grow in ((-6, 0), (0, 10), (6, -8), (10, 4))]
    return np.stack([crop_face(portrait, box) for box in boxes])


def sharpness(faces: np.ndarray) -> np.ndarray:
    """Variance of the Laplacian per face: falls as a face loses fine detail."""
    return np.array([cv2.Laplacian(face, cv2.CV_64F).var() for face in faces])


def blockiness(faces: np.ndarray) -> np.ndarray:
    """Mean step across JPEG's 8-px block edges over the mean step elsewhere, per face (1 = no blocking)."""
    steps = np.abs(np.diff(faces.astype(np.float64), axis=2)).mean(axis=1)  # (N, 47): between columns i and i+1
    edges = np.zeros(FACE_SIZE - 1, bool)
    edges[7::8] = True
    return steps[:, edges].mean(axis=1) / steps[:, ~edges].mean(axis=1)


def check_face_batch(before: np.ndarray, after: np.ndarray) -> None:
    assert after.shape == before.shape == (16, FACE_SIZE, FACE_SIZE) and after.dtype == np.uint8
    assert all(not np.array_equal(a, b) for a, b in zip(after, before))


def test_lower_resolution_and_blur_remove_fine_detail(faces):
    for apply in (lower_resolution, blur):
        out = apply(faces, np.random.default_rng(0))
        check_face_batch(faces, out)
        assert np.all(sharpness(out) < 0.8 * sharpness(faces)), apply.__name__
        assert abs(out.mean() - faces.mean()) < 3  # detail goes, brightness stays


def test_compression_adds_jpeg_blocking(faces):
    out = compress(faces, np.random.default_rng(0))
    check_face_batch(faces, out)
    assert np.all(blockiness(out) > blockiness(faces) + 0.05)
    assert 1 < np.abs(out.astype(int) - faces).mean() < 15  # artefacts, not a different picture


def test_low_light_darkens_and_adds_noise(faces):
    out = low_light(faces, np.random.default_rng(0))
    check_face_batch(faces, out)
    assert np.all(out.mean(axis=(1, 2)) < 0.9 * faces.mean(axis=(1, 2)))
    clean_dark = (255 * (faces / 255.0) ** 2.0).astype(np.float64)  # the same darkening without noise...
    assert np.mean(sharpness(out)) > np.mean(sharpness(clean_dark.astype(np.uint8)))  # ...has less pixel-level grain


def test_backlight_brightens_one_side_and_washes_out_the_face(faces):
    out = backlight(faces, np.random.default_rng(0))
    check_face_batch(faces, out)

    def sides(x):  # mean grey level of the 8-px strips along the top, bottom, left and right edges
        x = x.astype(np.float64)
        return np.stack([x[:, :8].mean((1, 2)), x[:, -8:].mean((1, 2)), x[:, :, :8].mean((1, 2)), x[:, :, -8:].mean((1, 2))])

    change = sides(out) - sides(faces)
    assert np.all(change.max(axis=0) - change.min(axis=0) > 25)  # the halo's side brightened against the far side
    centre = (slice(None), slice(12, 36), slice(12, 36))
    assert np.all(out[centre].std(axis=(1, 2)) < 0.95 * faces[centre].std(axis=(1, 2)))  # a washed-out face


def test_a_hand_covers_part_of_the_lower_face_only(faces):
    out = hand_over_face(faces, np.random.default_rng(0))
    check_face_batch(faces, out)
    changed = out != faces
    top = int((HAND_CENTRE_Y[0] - HAND_HEIGHT[1] / 2) * FACE_SIZE)  # the highest a hand's edge can reach
    assert not changed[:, :top].any()
    covered = changed.mean(axis=(1, 2))
    assert np.all((covered > 0.03) & (covered < 0.25))


def test_degrade_is_reproducible_from_a_seed_and_applies_each_degradation_with_its_probability(faces):
    strong = STAGES[2].degradations
    first = degrade(faces, strong, np.random.default_rng(7))
    assert np.array_equal(first, degrade(faces, strong, np.random.default_rng(7)))
    assert not np.array_equal(first, degrade(faces, strong, np.random.default_rng(8)))
    assert np.array_equal(degrade(faces, Degradations(), np.random.default_rng(7)), faces)  # nothing chosen

    many = np.repeat(faces, 25, axis=0)  # 400 faces, half of them blurred
    out = degrade(many, Degradations(blur=0.5), np.random.default_rng(0))
    assert 0.4 < np.mean([not np.array_equal(a, b) for a, b in zip(out, many)]) < 0.6
    stage_1, stage_2 = STAGES[1].degradations, STAGES[2].degradations
    assert all(getattr(stage_2, name) >= getattr(stage_1, name) > 0 for name in vars(stage_1))
