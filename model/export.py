"""Export a Keras checkpoint to the one-file TFLite model the product ships.

    python -m model.export runs/cnn-v1/best.keras model/emotion_cnn.tflite
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def export_tflite(keras_path: Path, out_path: Path) -> Path:
    """Float32 TFLite (XNNPACK-friendly); the batch dimension stays dynamic."""
    import keras
    import tensorflow as tf

    model = keras.models.load_model(keras_path, compile=False)
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        flatbuffer = converter.convert()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(flatbuffer)
    return out_path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m model.export CHECKPOINT.keras OUT.tflite")
    print(export_tflite(Path(sys.argv[1]), Path(sys.argv[2])))
