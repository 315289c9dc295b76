"""The emotion model: preprocessing, label order, a tiny real training run with resume, evaluation CLI, shipped file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from config import EMOTIONS, REPO_ROOT, SHIPPED_MODEL_PATH
from model.classifier import EmotionClassifier, ModelFileError
from model.data import FaceSet, list_images, load_folder, stratified_split
from model.preprocess import FACE_SIZE, LOW_CONTRAST_STD, NORMAL_FACE_MEAN, NORMAL_FACE_STD, crop_face, square_box, stretch_low_contrast
from tools.synthetic import face_portrait


def smiling_face() -> np.ndarray:
    """Eileen Collins in scikit-image's `astronaut` photo, cropped where the detector finds her: a broad smile."""
    return crop_face(np.ascontiguousarray(face_portrait("astronaut")), np.array([75, 60, 160, 160], np.float32))


def test_label_order_is_the_order_the_model_and_training_data_use(classifier, tmp_path):
    """`EMOTIONS` indexes the model's outputs (a smiling face scores highest at "happy"'s index) and
    the training labels (an image in a folder named for an emotion gets that emotion's index).
    The CSV's columns and the charts' traces are checked in tests/test_report.py."""
    assert EMOTIONS[int(classifier.predict(smiling_face()[None])[0].argmax())] == "happy"
    for emotion in ("sad", "surprise"):
        (tmp_path / emotion).mkdir()
        cv2.imwrite(str(tmp_path / emotion / "face.png"), smiling_face())
    data = load_folder(tmp_path)
    assert {path.split("/")[-2]: EMOTIONS[label] for label, path in zip(data.labels, map(str, data.paths))} \
        == {"sad": "sad", "surprise": "surprise"}


def test_crop_face_gives_48x48_uint8_gray_for_any_input():
    portrait = np.ascontiguousarray(face_portrait("astronaut"))
    for image in (portrait, cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY), cv2.cvtColor(portrait, cv2.COLOR_BGR2BGRA)):
        face = crop_face(image, np.array([60, 40, 160, 150], np.float32))
        assert face.shape == (FACE_SIZE, FACE_SIZE) and face.dtype == np.uint8
        assert 0 <= face.min() and face.max() <= 255 and face.std() > 10
    corner = crop_face(portrait, np.array([-20, -20, 40, 40], np.float32))  # box leaves the frame
    assert corner.shape == (FACE_SIZE, FACE_SIZE)
    small = crop_face(np.full((20, 30), 128, np.uint8))  # whole image, upscaled (flat: nothing to stretch but the level)
    assert small.shape == (FACE_SIZE, FACE_SIZE) and (small == small[0, 0]).all()


def test_dark_faces_are_stretched_to_a_normal_contrast_and_normal_faces_left_alone():
    portrait = np.ascontiguousarray(face_portrait("astronaut"))
    box = np.array([175, 75, 275, 175], np.float32)
    normal = crop_face(portrait, box)
    assert np.array_equal(normal, stretch_low_contrast(normal))  # a normal face is not touched
    dark = crop_face(cv2.convertScaleAbs(portrait, alpha=0.15), box)
    assert crop_face(portrait, box).std() > LOW_CONTRAST_STD > cv2.convertScaleAbs(normal, alpha=0.15).std()
    assert 0.7 * NORMAL_FACE_STD < dark.std() <= NORMAL_FACE_STD and dark.mean() == pytest.approx(NORMAL_FACE_MEAN, abs=10)
    assert np.corrcoef(dark.ravel(), normal.ravel())[0, 1] > 0.95  # the same face, readable again


def test_square_box_adds_margin_around_the_centre():
    box = square_box(np.array([10, 20, 50, 100], np.float32), margin=0.25)
    assert box[2] - box[0] == pytest.approx(120) and box[3] - box[1] == pytest.approx(120)
    assert (box[0] + box[2]) / 2 == pytest.approx(30) and (box[1] + box[3]) / 2 == pytest.approx(60)


def write_faces(root, per_class: int, whole_photos: bool = False, seed: int = 0):
    """An `<emotion>/<image>` tree: real portrait crops, varied per image so classes are learnable-ish."""
    rng = np.random.default_rng(seed)
    portrait = cv2.cvtColor(np.ascontiguousarray(face_portrait("astronaut")), cv2.COLOR_BGR2GRAY)
    for k, emotion in enumerate(EMOTIONS):
        folder = root / emotion
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = portrait if whole_photos else cv2.resize(portrait[40:200, 30:190], (48, 48))
            image = np.clip(image.astype(np.int16) + rng.integers(-8, 8, image.shape) + 12 * k, 0, 255).astype(np.uint8)
            cv2.imwrite(str(folder / f"{emotion}_{i}.png"), image)


def test_data_loading_and_stratified_split(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path / "data"))
    from config import get_settings

    get_settings.cache_clear()
    write_faces(tmp_path / "set", per_class=10)
    (tmp_path / "set" / "neutral" / "notes.txt").write_text("ignored: not an image")
    data = load_folder(tmp_path / "set")
    assert len(data) == 70 and data.faces.shape == (70, 48, 48) and data.class_counts() == {e: 10 for e in EMOTIONS}
    train, val, test = stratified_split(data)
    assert (len(train), len(val), len(test)) == (49, 14, 7)
    assert train.class_counts() == {e: 7 for e in EMOTIONS}
    assert not set(train.paths) & set(val.paths) and not set(val.paths) & set(test.paths)
    (tmp_path / "set" / "bored").mkdir()
    with pytest.raises(ValueError, match="folder name must be one of"):
        list_images(tmp_path / "set")
    get_settings.cache_clear()


def test_split_moves_only_boundary_images_when_a_detector_finds_one_face_fewer():
    """Another machine's detector finds a face or two more or fewer; the test split must not reshuffle."""
    labels = np.repeat(np.arange(len(EMOTIONS)), 1000)
    paths = [f"/data/{EMOTIONS[label]}/{i:05d}.jpg" for i, label in enumerate(labels)]
    full = FaceSet(np.zeros((len(labels), 1, 1), np.uint8), labels, paths)
    fewer = full.subset(np.delete(np.arange(len(full)), 3500))  # one happy face lost in the middle
    for before, after in zip(stratified_split(full), stratified_split(fewer)):
        moved = set(before.paths) ^ set(after.paths)
        assert len(moved) <= 3 and all("/happy/" in path for path in moved)
    relocated = FaceSet(full.faces, labels, [path.replace("/data/", "/elsewhere/") for path in paths])
    assert [len(s) for s in stratified_split(relocated)] == [4900, 1400, 700]
    assert stratified_split(relocated)[2].paths == [p.replace("/data/", "/elsewhere/") for p in stratified_split(full)[2].paths]


def run_module(module: str, *args: str, env: dict | None = None, timeout: float = 600):
    import os

    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


def tiny_run(tmp_path: Path, run: Path, fer_per_class: int, batch_size: int) -> tuple[Path, dict, list[str]]:
    """Tiny datasets (FER2013-like folders and whole photos), the run's environment and its `model.train` arguments."""
    datasets = tmp_path / "datasets"
    write_faces(datasets / "fer2013" / "train", per_class=fer_per_class)
    write_faces(datasets / "fer2013" / "val", per_class=max(1, fer_per_class // 3), seed=1)
    write_faces(datasets / "facial_expressions" / "train", per_class=10, whole_photos=True, seed=2)
    env = {"RAPPORT_DATA_DIR": str(tmp_path / "data")}
    return datasets, env, ["--run-dir", str(run), "--datasets", str(datasets), "--epochs", "1", "--batch-size", str(batch_size)]


def test_a_teacher_run_trains_every_stage_wider_and_resumes_only_at_its_width(tmp_path):
    run = tmp_path / "teacher"
    datasets, env, args = tiny_run(tmp_path, run, fer_per_class=3, batch_size=8)
    first = run_module("model.train", *args, "--width-multiplier", "2", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    import keras

    from model.train import STAGES, conv_layers

    wide = tuple(2 * w for w in STAGES[2].widths)
    assert tuple(sorted({l.filters for l in conv_layers(keras.models.load_model(run / "last.keras"))})) == wide
    hparams = json.loads((run / "hparams.json").read_text())
    assert hparams["width_multiplier"] == 2 and tuple(hparams["stages"]["1"]["widths"]) == tuple(2 * w for w in STAGES[1].widths)
    other = run_module("model.train", *args, "--resume", "--width-multiplier", "3", env=env)
    assert other.returncode != 0 and "trains widths x2" in other.stderr


def test_training_two_tiny_stages_writes_a_loadable_model_and_resumes(tmp_path, monkeypatch):
    run = tmp_path / "run"
    datasets, env, args = tiny_run(tmp_path, run, fer_per_class=6, batch_size=16)
    first = run_module("model.train", *args, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    for name in ("hparams.json", "training_log.csv", "curves.png", "best.keras", "last.keras", "state.json",
                 "report.json", "emotion_cnn.tflite", "confusion_fer2013_val.png"):
        assert (run / name).is_file(), name
    log = (run / "training_log.csv").read_text().splitlines()
    assert len(log) == 3 and log[0].startswith("stage,epoch")  # header + one epoch per stage
    state = json.loads((run / "state.json").read_text())
    assert state["finished"] is True
    import keras

    from model.train import STAGES, block_widths, conv_layers, scaled_widths

    last_widths = sorted({layer.filters for layer in conv_layers(keras.models.load_model(run / "last.keras"))})
    assert tuple(last_widths) == STAGES[2].widths  # stage 2 trained the grown net
    hparams = json.loads((run / "hparams.json").read_text())
    assert hparams["class_counts"]["train"]["disgust"] == 6 + 7  # fer train + 70% of the whole photos
    probs = EmotionClassifier(run / "emotion_cnn.tflite").predict(np.zeros((3, 48, 48), np.uint8))
    assert probs.shape == (3, 7) and np.allclose(probs.sum(axis=1), 1, atol=1e-4)

    refused = run_module("model.train", *args, env=env)
    assert refused.returncode != 0 and "--resume" in refused.stderr

    # pretend stage 2 was interrupted before its epoch; it goes on distilling from the run's own best
    (run / "state.json").write_text(json.dumps({**state, "stage": 2, "epochs_done": 0, "finished": False}))
    # teachers: a Keras checkpoint and an exported TFLite file, copied because stage 2 may overwrite the run's
    teacher, shipped_teacher = tmp_path / "teacher.keras", tmp_path / "teacher.tflite"
    teacher.write_bytes((run / "best.keras").read_bytes())
    shipped_teacher.write_bytes((run / "emotion_cnn.tflite").read_bytes())
    teachers = ["--teacher", str(teacher), "--teacher", str(shipped_teacher)]
    resumed = run_module("model.train", *args, "--resume", *teachers, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert len((run / "training_log.csv").read_text().splitlines()) == 4
    assert "stage 2 epoch 1" in resumed.stdout
    teacher_probs = np.load(run / "teacher_probs.npy")
    assert teacher_probs.shape == (6 * 7 + 7 * 7, 7) and np.allclose(teacher_probs.sum(axis=1), 1, atol=1e-5)
    resolved = [str(teacher.resolve()), str(shipped_teacher.resolve())]
    assert json.loads((run / "state.json").read_text())["teachers"] == resolved
    assert json.loads((run / "hparams.json").read_text())["teachers"] == resolved
    other = run_module("model.train", *args, "--resume", "--teacher", str(run / "last.keras"), env=env)
    assert other.returncode != 0 and "distils from" in other.stderr
    missing = run_module("model.train", *args, "--resume", "--teacher", str(tmp_path / "nope.keras"), env=env)
    assert missing.returncode != 0 and "no such model file" in missing.stderr

    # shipping the run: the file, the card JSON and the card's results section (here in tmp, not the repo's)
    from config import get_settings
    from model import ship

    monkeypatch.setenv("RAPPORT_DATA_DIR", env["RAPPORT_DATA_DIR"])
    get_settings.cache_clear()
    monkeypatch.setattr(ship, "SHIPPED_MODEL_PATH", tmp_path / "shipped" / "emotion_cnn.tflite")
    monkeypatch.setattr(ship, "CARD_PATH", tmp_path / "shipped" / "model_card.json")
    (tmp_path / "shipped").mkdir()
    from functools import partial

    from model import calibrate  # its diagram goes to tmp too, not the repository's docs/
    monkeypatch.setattr(calibrate, "calibrate", partial(calibrate.calibrate, docs_plot=tmp_path / "shipped" / "calibration.png"))
    (tmp_path / "shipped" / "MODEL_CARD.md").write_text("# Card\n<!-- results:start -->\nold\n<!-- results:end -->\ntail\n")
    card = ship.ship(run, datasets)
    get_settings.cache_clear()
    assert EmotionClassifier(tmp_path / "shipped" / "emotion_cnn.tflite").predict(np.zeros((1, 48, 48), np.uint8)).shape == (1, 7)
    assert json.loads((tmp_path / "shipped" / "model_card.json").read_text())["version"] == card["version"]
    assert (tmp_path / "shipped" / "calibration.png").is_file()  # the new file's own temperature was fitted
    assert json.loads((tmp_path / "shipped" / "emotion_cnn.calibration.json").read_text())["temperature"] > 0
    assert card["epochs_trained"] == 3 and card["best_epoch"]["conv_widths"] == list(STAGES[card["best_epoch"]["stage"]].widths)
    assert 0 <= card["fer2013_val_accuracy"] <= 1 and set(card["splits"]) >= {"fer2013_val", "fer2013_val_tta", "wild_test"}
    text = (tmp_path / "shipped" / "MODEL_CARD.md").read_text()
    assert "old" not in text and text.endswith("<!-- results:end -->\ntail\n")
    assert f"Shipped `{card['version']}` from run `run`" in text and "**FER2013 val (PublicTest) with flip TTA**" in text

    # a fine-tune of the shipped file for the call domain, the file widened 1.25x first: stage 3 only, from the
    # file's own weights, resumable
    tuned, start = tmp_path / "tuned", tmp_path / "shipped" / "emotion_cnn.tflite"
    fine = ["--run-dir", str(tuned), "--datasets", str(datasets), "--epochs", "1", "--batch-size", "16"]
    first = run_module("model.train", *fine, "--init", str(start), "--teacher", str(start), "--width-multiplier", "1.25", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "stage 3 epoch 1" in first.stdout and "stage 1" not in first.stdout
    log = (tuned / "training_log.csv").read_text().splitlines()
    assert len(log) == 2 and log[1].startswith("3,1,")
    state = json.loads((tuned / "state.json").read_text())
    assert state["finished"] is True and state["init"] == str(start.resolve()) and state["width_multiplier"] == 1.25
    checkpoint = keras.models.load_model(tuned / "last.keras")
    assert block_widths(checkpoint) == scaled_widths(tuple(card["best_epoch"]["conv_widths"]), 1.25)  # multiples of 8
    batchnorms = [l for l in checkpoint.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert batchnorms and not any(l.trainable for l in batchnorms)  # folded BatchNorm stays the identity + bias
    assert EmotionClassifier(tuned / "emotion_cnn.tflite").predict(np.zeros((2, 48, 48), np.uint8)).shape == (2, 7)
    (tuned / "state.json").write_text(json.dumps({**state, "epochs_done": 0, "finished": False}))
    (tuned / "last.keras").write_bytes((tuned / "best.keras").read_bytes())
    again = run_module("model.train", *fine, "--resume", env=env)  # --init and --teacher come from the run
    assert again.returncode == 0, again.stderr[-3000:]
    assert "stage 3 epoch 1" in again.stdout and len((tuned / "training_log.csv").read_text().splitlines()) == 3


def test_patience_counts_only_in_a_stages_second_half_against_its_own_best(tmp_path):
    from model.train import PATIENCE, RunState

    state = RunState(tmp_path)
    state.data["best_macro_f1"] = 0.65  # an earlier stage's best
    flat_start = [0.60] + [0.59] * (PATIENCE + 2)  # 11 flat epochs, all in the first half of a 30-epoch stage
    assert [state.record_epoch(e, f1, 30) for e, f1 in enumerate(flat_start, 1)] == [False] * len(flat_start)
    assert not state.out_of_patience and state.data["stage_best_macro_f1"] == 0.60
    assert state.record_epoch(12, 0.61, 30) is False  # the stage's best, not the run's
    for epoch in range(16, 16 + PATIENCE - 1):
        state.record_epoch(epoch, 0.605, 30)
    assert not state.out_of_patience
    state.record_epoch(16 + PATIENCE - 1, 0.605, 30)
    assert state.out_of_patience
    assert state.record_epoch(25, 0.66, 30) is True and not state.out_of_patience and state.data["best_macro_f1"] == 0.66


def test_distillation_blends_each_label_with_the_teachers_probabilities():
    from model.data import FaceSet
    from model.train import DISTILL_SHARE, STAGES, make_dataset

    rng = np.random.default_rng(0)
    labels = np.arange(32) % 7
    faces = FaceSet(rng.integers(0, 256, (32, 48, 48), dtype=np.uint8), labels, [f"{i}.png" for i in range(32)])
    uniform = np.full((32, 7), 1 / 7, np.float32)
    _, targets, _ = make_dataset(faces, STAGES[2], np.ones(7, np.float32), batch_size=32, teacher_probs=uniform)[0]
    targets = np.asarray(targets)
    assert np.allclose(targets.sum(axis=1), 1, atol=1e-6)
    assert np.allclose(targets.max(axis=1), 1 - DISTILL_SHARE + DISTILL_SHARE / 7)
    assert np.allclose(np.sort(targets, axis=1)[:, :-1], DISTILL_SHARE / 7)
    _, plain, _ = make_dataset(faces, STAGES[2], np.ones(7, np.float32), batch_size=32)[0]
    assert set(np.unique(np.asarray(plain))) == {0.0, 1.0}


def test_training_batches_are_numpy_the_same_from_any_worker_and_new_each_epoch():
    """`make_dataset` builds batches without tf.data (so JAX can train on them): shapes and ranges as the net reads
    them, batch i of an epoch drawn from (seed, epoch, i) alone, a new order and new augmentation every epoch."""
    from model.data import FaceSet
    from model.train import STAGES, make_dataset

    rng = np.random.default_rng(0)
    faces = FaceSet(rng.integers(0, 256, (40, 48, 48), dtype=np.uint8), np.arange(40) % 7, [f"{i}.png" for i in range(40)])
    weights = np.arange(1, 8, dtype=np.float32)
    batches = make_dataset(faces, STAGES[2], weights, seed=3, batch_size=16)
    assert len(batches) == 2  # whole batches only
    x, y, w = batches[1]
    assert x.shape == (16, 48, 48, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 255
    assert y.shape == (16, 7) and np.array_equal(w, weights[y.argmax(axis=1)])
    again = make_dataset(faces, STAGES[2], weights, seed=3, batch_size=16)
    assert np.array_equal(again[1][0], x) and np.array_equal(again[1][1], y)  # whichever worker builds it
    batches.on_epoch_end()
    assert not np.array_equal(batches[1][0], x)  # the next epoch: another order and other draws
    assert not np.array_equal(make_dataset(faces, STAGES[2], weights, seed=4, batch_size=16)[1][0], x)


def test_batches_built_in_processes_are_the_batches_one_thread_builds():
    """A GPU machine builds batches in processes (`Precision.batch_processes`: threads held the GIL and left the GPU
    waiting): through the adapter `model.fit` uses, epoch after epoch, they are the batches built here in order."""
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    from model.data import FaceSet
    from model.train import STAGES, make_dataset

    rng = np.random.default_rng(1)
    faces = FaceSet(rng.integers(0, 256, (48, 48, 48), dtype=np.uint8), np.arange(48) % 7, [f"{i}.png" for i in range(48)])
    weights = np.ones(7, np.float32)
    adapter = PyDatasetAdapter(make_dataset(faces, STAGES[2], weights, seed=5, batch_size=16, workers=2, processes=True))
    here = make_dataset(faces, STAGES[2], weights, seed=5, batch_size=16, workers=1)
    for _ in range(2):
        adapter.on_epoch_begin()
        built = list(adapter.get_numpy_iterator())
        adapter.on_epoch_end()
        assert len(built) == 3
        for (x, y, w), expected in zip(built, (here[i] for i in range(3))):
            assert np.array_equal(x, expected[0]) and np.array_equal(y, expected[1]) and np.array_equal(w, expected[2])
        here.on_epoch_end()


def test_packed_splits_come_back_as_the_same_faces_labels_and_paths(tmp_path):
    """`--pack` (for a GPU machine without the datasets): one file, read back by `load_splits` as the same splits."""
    import cv2

    from model.data import FaceSet
    from model.train import PACK_ROW, load_splits, pack_splits

    gray = cv2.cvtColor(face_portrait("astronaut"), cv2.COLOR_BGR2GRAY)
    rng = np.random.default_rng(0)

    def faces(n: int, name: str) -> FaceSet:
        side = min(gray.shape) // 2
        crops = np.stack([cv2.resize(gray[y : y + side, x : x + side], (48, 48), interpolation=cv2.INTER_AREA)
                          for x, y in rng.integers(0, side, (n, 2))])
        return FaceSet(crops, rng.integers(0, 7, n), [f"{name}/{i}é.jpg" for i in range(n)])

    splits = {"train": faces(PACK_ROW + 5, "train"), "fer2013_val": faces(3, "fer"), "wild_val": faces(2, "wild"),
              "wild_test": faces(1, "test")}
    figures = pack_splits(splits, tmp_path / "faces.npz")
    back = load_splits(tmp_path / "faces.npz")
    assert figures["mean_abs_error"] < 3 and figures["mb"] > 0
    assert [p for p in back["val"].paths] == splits["fer2013_val"].paths + splits["wild_val"].paths
    for name, original in splits.items():
        assert back[name].paths == original.paths and np.array_equal(back[name].labels, original.labels)
        assert back[name].faces.shape == original.faces.shape
        assert np.abs(back[name].faces.astype(int) - original.faces).mean() < 3  # JPEG quality 90


def test_precise_batchnorm_sets_each_layers_statistics_to_those_of_its_input():
    import keras

    from model.net import BASE_WIDTHS, build_model
    from model.train import batchnorm_probes, recalibrate_batchnorm

    model = build_model(BASE_WIDTHS, "float32")
    faces = np.random.default_rng(0).integers(0, 256, (40, 48, 48), dtype=np.uint8)
    probes = batchnorm_probes(model)
    recalibrate_batchnorm(probes, faces, batch_size=16)
    x = faces.astype(np.float32)[..., None]
    for layer, _ in (probes[0], probes[-1]):  # in order: the last layer's input follows the earlier layers' new statistics
        acts = np.asarray(keras.Model(model.input, layer.input)(x, training=False), np.float64)
        acts = acts.reshape(-1, acts.shape[-1])
        assert np.allclose(keras.ops.convert_to_numpy(layer.moving_mean), acts.mean(0), rtol=1e-3, atol=1e-3)
        assert np.allclose(keras.ops.convert_to_numpy(layer.moving_variance), acts.var(0), rtol=1e-3, atol=1e-3)


def test_the_shipped_file_comes_back_as_a_keras_net_that_reads_faces_as_it_does(classifier):
    """`from_tflite` undoes int8 quantisation, BatchNorm folding and the folded input scaling: the recovered
    float net agrees with the int8 file on real faces (crops of two portraits, moved, scaled and relit)."""
    import keras

    from model.net import from_tflite

    rng = np.random.default_rng(0)
    faces = []
    for key in ("astronaut", "hopper"):
        portrait = cv2.cvtColor(np.ascontiguousarray(face_portrait(key)), cv2.COLOR_BGR2GRAY)
        h, w = portrait.shape
        for _ in range(16):
            side = int(rng.uniform(0.45, 0.7) * min(h, w))
            y, x = (int(rng.uniform(0.05, 0.3) * h), int(rng.uniform(0.1, 0.9) * (w - side)))
            face = cv2.resize(portrait[y : y + side, x : x + side], (48, 48), interpolation=cv2.INTER_AREA)
            faces.append(np.clip(face * rng.uniform(0.6, 1.3) + rng.uniform(-30, 30), 0, 255).astype(np.uint8))
    faces = np.stack(faces)
    net = from_tflite(SHIPPED_MODEL_PATH)
    ours = net.predict(faces[..., None].astype(np.float32), verbose=0)
    shipped = classifier.predict(faces, calibrated=False)
    assert np.abs(ours - shipped).max() < 0.08 and np.mean(ours.argmax(1) == shipped.argmax(1)) >= 0.9
    assert len({int(k) for k in shipped.argmax(1)}) >= 2  # the faces are read as more than one emotion
    batchnorms = [l for l in net.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert len(batchnorms) == 7 and not any(l.trainable for l in batchnorms)
    with pytest.raises(ValueError, match="convolutions"):
        from_tflite(REPO_ROOT / "model" / "weights" / "face_detection_short_range.tflite")


def test_widen_keeps_what_the_narrow_net_computes_with_more_channels():
    import keras

    from model.train import build_model, conv_layers, widen

    narrow = build_model((4, 8, 8, 16))
    rng = np.random.default_rng(0)
    for layer in narrow.layers:  # trained-looking weights and BatchNorm statistics, not the initial ones
        layer.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()])
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, layer.moving_variance.shape).astype(np.float32))
    wide = widen(narrow, (6, 12, 16, 32), rng)  # every block, the first (one grey input channel) included
    assert [layer.filters for layer in conv_layers(wide)] == [6, 12, 12, 16, 16, 32, 32]
    assert wide.count_params() > 2 * narrow.count_params()
    faces = rng.integers(0, 256, (16, 48, 48, 1)).astype(np.float32)
    before, after = narrow.predict(faces, verbose=0), wide.predict(faces, verbose=0)
    assert np.abs(before - after).max() < 0.02 and np.mean(before.argmax(1) == after.argmax(1)) >= 0.9
    same = widen(narrow, (4, 8, 8, 16), rng)
    assert same is narrow and isinstance(same, keras.Model)


def test_a_run_resumes_in_another_precision_with_its_weights_and_optimizer_state(tmp_path):
    """A run started in float32 (an older run, or a CPU without bfloat16) continues in bfloat16 and back."""
    import keras

    from model.train import STAGES, Precision, build_model, compile_model, conv_layers, rebuilt, resumed

    model = build_model((4, 8, 8, 16))
    compile_model(model, STAGES[2], steps_per_epoch=10, jit_compile=False)
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (32, 48, 48, 1)).astype(np.float32)
    model.fit(faces, keras.utils.to_categorical(rng.integers(0, 7, 32), 7), batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "last.keras")

    bf16 = resumed(tmp_path / "last.keras", STAGES[2], 10, Precision("mixed_bfloat16", jit_compile=False))
    assert conv_layers(bf16)[0].compute_dtype == "bfloat16" and bf16.output.dtype == "float32"
    assert int(bf16.optimizer.iterations.numpy()) == 4  # the learning-rate schedule goes on where it stopped
    for theirs, mine in zip(model.optimizer.variables, bf16.optimizer.variables, strict=True):
        assert np.array_equal(np.asarray(theirs), np.asarray(mine)), theirs.path
    before, after = model.predict(faces, verbose=0), bf16.predict(faces, verbose=0)
    assert np.abs(before - after).max() < 0.05 and np.mean(before.argmax(1) == after.argmax(1)) >= 0.9
    back = rebuilt(bf16)  # what export does
    assert conv_layers(back)[0].compute_dtype == "float32"
    assert all(np.array_equal(a, b) for a, b in zip(back.get_weights(), model.get_weights(), strict=True))


def test_evaluate_cli_prints_the_json_fields_and_counts_missing_faces(tmp_path):
    data = tmp_path / "eval"
    write_faces(data, per_class=2, whole_photos=True)
    cv2.imwrite(str(data / "fear" / "blank.png"), np.full((120, 120), 90, np.uint8))  # no face in it
    out = run_module("model.evaluate", "--data", str(data), "--detect-faces", "--json",
                     "--confusion", str(tmp_path / "cm.png"), env={"RAPPORT_DATA_DIR": str(tmp_path / "d")})
    assert out.returncode == 0, out.stderr[-2000:]
    metrics = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"accuracy", "macro_f1", "baseline_accuracy", "n_images", "n_no_face", "per_class"} <= set(metrics)
    assert metrics["n_images"] == 15 and metrics["n_no_face"] == 1
    assert list(metrics["per_class"]) == list(EMOTIONS)
    assert set(metrics["per_class"]["happy"]) == {"precision", "recall", "f1", "support"}
    assert metrics["per_class"]["fear"]["support"] == 3
    assert (tmp_path / "cm.png").is_file()
    table = run_module("model.evaluate", "--data", str(data), "--tta", "--confusion", str(tmp_path / "cm2.png"),
                       env={"RAPPORT_DATA_DIR": str(tmp_path / "d")})
    assert "macro-F1" in table.stdout and "majority baseline" in table.stdout
    bad = run_module("model.evaluate", "--data", str(tmp_path / "nowhere"), "--json")
    assert bad.returncode == 2 and "data folder not found" in bad.stderr


def test_shipped_model_is_one_small_file_and_classifies_a_real_face(classifier):
    assert SHIPPED_MODEL_PATH.stat().st_size <= 10 * 2**20
    face = smiling_face()
    probs = classifier.predict(face[None])
    assert probs.shape == (1, 7) and probs.dtype == np.float32
    assert np.all(probs >= 0) and probs.sum() == pytest.approx(1.0, abs=1e-4)
    for scores in (probs[0], classifier.predict(face[None], flip_tta=True)[0]):  # what a careful person sees: a smile
        assert EMOTIONS[int(scores.argmax())] == "happy" and scores[EMOTIONS.index("happy")] > 0.5, scores
    assert classifier.predict(face[None], flip_tta=True).sum() == pytest.approx(1.0, abs=1e-4)


def test_flip_tta_reads_the_mirror_only_of_faces_read_unsure(classifier):
    """`flip_below`: a face read at least that confidently keeps its un-flipped reading, any other gets the mean of
    both views, exactly as full flip TTA gives it; the work counter counts the mirrored reads."""
    rng = np.random.default_rng(0)
    faces = np.concatenate([smiling_face()[None], rng.integers(0, 256, (5, FACE_SIZE, FACE_SIZE), dtype=np.uint8)])
    plain, both = classifier.predict(faces), classifier.predict(faces, flip_tta=True)
    threshold = float(np.median(plain.max(axis=1)))  # some faces on each side
    before = classifier.faces_read
    mixed = classifier.predict(faces, flip_tta=True, flip_below=threshold)
    unsure = plain.max(axis=1) < threshold
    assert 0 < unsure.sum() < len(faces)
    assert np.allclose(mixed[~unsure], plain[~unsure], atol=1e-6) and np.allclose(mixed[unsure], both[unsure], atol=1e-6)
    assert classifier.faces_read - before == len(faces) + unsure.sum()
    assert np.allclose(classifier.predict(faces, flip_tta=True, flip_below=1.01), both, atol=1e-6)


def test_a_broken_model_file_is_refused_clearly(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(ModelFileError, match="not a loadable TFLite model"):
        EmotionClassifier(bad)
    with pytest.raises(ModelFileError, match="not found"):
        EmotionClassifier(tmp_path / "missing.tflite")
