"""The emotion CNN's architecture: building the net, and rebuilding a checkpoint in another precision.

Training (`model.train`) grows and fits it; export (`model.export`) rebuilds a checkpoint in float32
before converting it. Input (N, 48, 48, 1) uint8 faces; output (N, 7) probabilities in `EMOTIONS` order.
"""

from __future__ import annotations

import numpy as np

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
    the machine that wrote it, and export, or a resume on another machine, needs its own. Frozen layers stay
    frozen (`from_tflite`'s BatchNorm)."""
    copy = build_model(block_widths(model), policy)
    copy.set_weights(model.get_weights())
    for mine, theirs in zip(copy.layers, model.layers, strict=True):
        mine.trainable = theirs.trainable
    return copy


def block_widths(model) -> tuple[int, ...]:
    """The `widths` a `build_model` net was built with (one convolution in the first block, two in the others)."""
    filters = [l.filters for l in conv_layers(model)]
    return tuple(filters[:1] + filters[1::2])


def conv_layers(model) -> list:
    import keras

    return [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]


def from_tflite(path, policy: str = "float32"):
    """A Keras net computing what a shipped int8 TFLite file computes, to fine-tune it (`model.train --init`).

    Training checkpoints live outside the repo and die with the machine that wrote them; the shipped
    file (`model.export --int8`) is what survives. Its convolution and dense weights are dequantised
    (per channel: scale * (q - zero_point)). The converter folded each BatchNorm into the convolution
    before it, so the BatchNorm layers come back as the identity plus the folded bias (gamma 1, beta the
    bias, moving mean 0, moving variance 1 - epsilon) and are frozen: trained in batch-statistics mode
    they would stop being the identity. It also folded the input `Rescaling` into the first convolution
    (which reads raw 0-255 grey levels), and that is undone. On FER2013 val the recovered net and the
    shipped file give the same top class for 99.1% of faces, and the same accuracy to 0.03 points.
    Returns a `build_model` net (input (N, 48, 48, 1), output (N, 7)). Raises ValueError for a file of
    another architecture or one whose first convolution does not read raw grey levels (a float export).
    Reads the graph through LiteRT's `_get_ops_details` (the only listing of ops it offers).
    """
    import keras
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    graph = interpreter._get_ops_details()

    def dequantised(index: int) -> np.ndarray:
        q = tensors[index]["quantization_parameters"]
        values = interpreter.get_tensor(index).astype(np.float32)
        if not len(q["scales"]):
            return values
        shape = [1] * values.ndim
        shape[q["quantized_dimension"]] = -1
        return (values - q["zero_points"].reshape(shape)) * q["scales"].reshape(shape)

    ops = {"CONV_2D": [], "FULLY_CONNECTED": []}  # (kernel, bias) tensor indices, in graph order
    for op in graph:
        if op["op_name"] in ops:
            ops[op["op_name"]].append(op["inputs"][1:3])
    convolutions = 2 * len(BASE_WIDTHS) - 1  # one in the first block, two in the others
    if len(ops["CONV_2D"]) != convolutions or len(ops["FULLY_CONNECTED"]) != 2:
        raise ValueError(f"{path}: {len(ops['CONV_2D'])} convolutions and {len(ops['FULLY_CONNECTED'])} "
                         f"dense layers; this architecture has {convolutions} and 2")
    first_input = tensors[next(op for op in graph if op["op_name"] == "CONV_2D")["inputs"][0]]
    if first_input["dtype"] != np.int8 or list(first_input["quantization_parameters"]["scales"]) != [1.0]:
        raise ValueError(f"{path}: its first convolution does not read raw grey levels; give an int8 file "
                         "from `model.export --int8`")
    interpreter.allocate_tensors()
    weights = {name: [(dequantised(k), dequantised(b)) for k, b in pairs] for name, pairs in ops.items()}
    filters = [kernel.shape[0] for kernel, _ in weights["CONV_2D"]]
    model = build_model(tuple(filters[:1] + filters[1::2]), policy)
    batchnorms = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    rescaling = next(l for l in model.layers if isinstance(l, keras.layers.Rescaling)).scale
    for i, (conv, bn, (kernel, bias)) in enumerate(zip(conv_layers(model), batchnorms, weights["CONV_2D"])):
        kernel = kernel / rescaling if i == 0 else kernel
        conv.set_weights([kernel.transpose(1, 2, 3, 0)])  # TFLite OHWI -> Keras HWIO
        bn.set_weights([np.ones_like(bias), bias, np.zeros_like(bias), np.full_like(bias, 1 - bn.epsilon)])
        bn.trainable = False
    denses = [l for l in model.layers if isinstance(l, keras.layers.Dense)]
    for dense, (kernel, bias) in zip(denses, weights["FULLY_CONNECTED"]):
        dense.set_weights([kernel.T, bias])  # TFLite (out, in) -> Keras (in, out)
    return model
