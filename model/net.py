"""The emotion CNN's architecture: building the net, and rebuilding a checkpoint in another precision.

Training (`model.train`) grows and fits it; export (`model.export`) rebuilds a checkpoint in float32
before converting it. Input (N, 48, 48, 1) uint8 faces; output (N, 7) probabilities in `EMOTIONS` order.
"""

from __future__ import annotations

from config import EMOTIONS
from model.preprocess import FACE_SIZE

#: Convolution channels of the blocks at 48, 24, 12 and 6 px (stage 1's widths; stage 2 widens the last two).
BASE_WIDTHS: tuple[int, ...] = (32, 64, 128, 256)
DROPOUT = 0.4


def build_model(widths: tuple[int, ...] = BASE_WIDTHS, policy: str = "float32"):
    """VGG-style plain 3x3 convolutions (fast on CPU), BatchNorm, global average pooling.

    ~120 M multiply-adds per face at stage 1's widths; normalisation lives in the model (Rescaling).
    The softmax stays float32 whatever `policy` computes the rest in.
    """
    import keras
    from keras import layers

    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    x = layers.Rescaling(1 / 255.0, dtype=policy)(inputs)
    for i, width in enumerate(widths):
        for _ in range(1 if i == 0 else 2):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, dtype=policy)(x)
            x = layers.BatchNormalization(dtype=policy)(x)
            x = layers.ReLU(dtype=policy)(x)
        x = layers.MaxPooling2D(dtype=policy)(x) if i < len(widths) - 1 else x
    x = layers.GlobalAveragePooling2D(dtype=policy)(x)
    x = layers.Dropout(DROPOUT, dtype=policy)(x)
    x = layers.Dense(256, activation="relu", dtype=policy)(x)
    x = layers.Dropout(DROPOUT / 2, dtype=policy)(x)
    outputs = layers.Dense(len(EMOTIONS), activation="softmax", name="emotion", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="rapport_emotion_cnn")


def rebuilt(model, policy: str = "float32"):
    """The same weights in a freshly built net computing in `policy`: a checkpoint keeps the precision of
    the machine that wrote it, and export, or a resume on another machine, needs its own."""
    filters = [l.filters for l in conv_layers(model)]  # one convolution in the first block, two in the others
    copy = build_model(tuple(filters[:1] + filters[1::2]), policy)
    copy.set_weights(model.get_weights())
    return copy


def conv_layers(model) -> list:
    import keras

    return [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
