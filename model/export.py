"""Export a Keras checkpoint to the one-file TFLite model the product ships.

    python -m model.export runs/cnn-v1/best.keras model/emotion_cnn.tflite [--int8 FACES_DIR]

Float32 by default. With `--int8`, weights and activations are quantised to 8 bits
(calibrated on real faces), which XNNPACK runs about twice as fast on CPUs; the
input and output stay float, so callers do not change. Measure both with
`python -m model.bench` and `python -m model.evaluate` before shipping one.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def export_tflite(keras_path: Path, out_path: Path, calibration_faces: np.ndarray | None = None) -> Path:
    """Write `out_path`; `calibration_faces` ((N, 48, 48) uint8) turns on full int8 quantisation."""
    import keras
    import tensorflow as tf

    from model.net import rebuilt

    model = rebuilt(keras.models.load_model(keras_path, compile=False))  # float32, whatever it trained in
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if calibration_faces is not None:
            samples = calibration_faces.astype(np.float32)[..., None]
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([samples[i : i + 1]] for i in range(len(samples)))
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        flatbuffer = converter.convert()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(flatbuffer)
    return out_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--int8", type=Path, metavar="FACES_DIR", help="calibrate int8 on 500 faces from this <emotion>/ tree")
    args = parser.parse_args()
    faces = None
    if args.int8:
        from model.data import load_folder

        data = load_folder(args.int8)
        faces = data.faces[np.random.default_rng(0).permutation(len(data))[:500]]
    print(export_tflite(args.checkpoint, args.out, faces))


if __name__ == "__main__":
    main()
