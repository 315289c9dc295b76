"""Convert dlib's face recognition ResNet to the LiteRT file the analysis embeds faces with.

    g++ -std=c++14 -O1 -DDLIB_NO_GUI_SUPPORT -I dlib-20.0.1 tools/dlib_net_to_xml.cpp \\
        dlib-20.0.1/dlib/all/source.cpp -lpthread -o /tmp/dlib_net_to_xml     # ~1 min; the dlib sdist from PyPI
    /tmp/dlib_net_to_xml $(python -c "import face_recognition_models as m; print(m.face_recognition_model_location())") /tmp/net.xml
    python -m tools.convert_face_embedder /tmp/net.xml [--out model/weights/face_embedding.tflite.xz]

Why: dlib runs this network in its own convolution code, without BLAS in the `dlib-bin` wheel: 86 ms a face on
this project's 2-core CPU (2026-12-07, AMD EPYC Zen 4), the largest single cost of a call's analysis after decoding
(`tools.bench`: identity 1.3-1.4 s of a 2-minute call's ~6.5 s on the main thread). The same weights on LiteRT's
XNNPACK read a face in 3-5 ms.

The network (dlib's `anet_type`, `tools/dlib_net_to_xml.cpp`): 150x150 RGB face chip minus the mean colour,
/ 256 -> conv 7x7/2 (32) -> max pool 3x3/2 -> 3 residual blocks of 32 -> 4 of 64 -> 3 of 128 -> 3 of 256 -> one
more of 256 (the first block of each level halves the size: a 3x3/2 convolution beside a 2x2/2 average pool) ->
global average -> 128 outputs, no bias. dlib's conventions kept exactly: convolutions with padding 0 or 1 as the
file says ("valid" or "same" here); each convolution's following affine layer (dlib's inference-time batch
norm) folded into it; where a block's two branches differ in size or channels (dlib pads the smaller one with
zeros, `tt::add`), the same zero padding at the bottom, right and last channels.

The export keeps float16 weights (11.3 MB, stored xz-compressed: 9.4 MB; float32 would be 22 MB): embeddings within 0.001 of dlib's own
(Euclidean, on unit-scale embeddings; `model.identity.SAME_PERSON_DISTANCE` is 0.55), checked here against
dlib's `compute_face_descriptor` on the package faces before the file is written, and by
`tests/test_people.py::test_the_shipped_embedder_reads_what_dlib_reads`. (Weight-only int8 was 5.7 MB but 0.03
away, too close to the thresholds measured on dlib's numbers.)
"""

from __future__ import annotations

import argparse
import lzma
import re
import tempfile
from pathlib import Path

import numpy as np

from config import REPO_ROOT

OUT = REPO_ROOT / "model" / "weights" / "face_embedding.tflite.xz"
MAX_DISTANCE_FROM_DLIB = 0.002
"""The largest Euclidean distance allowed between the exported file's and dlib's embedding of the same chip."""


def read_xml(path: Path) -> tuple[list[tuple[dict, np.ndarray]], list[np.ndarray], np.ndarray]:
    """dlib's XML -> (convolutions as (attributes, parameters), affine parameters, fc weights), input side first.

    dlib writes the output layer first; a convolution's parameters are its filters (out, in, rows, cols) then
    its biases, an affine layer's its scales then its shifts, the fc layer's a (in, out) matrix."""
    convolutions, affines, fc = [], [], None
    for match in re.finditer(r"<(con|affine_con|fc_no_bias)\b([^>]*)>\n(.*?)</\1>", path.read_text(), re.S):
        kind, attributes, body = match.groups()
        values = np.array(body.split(), np.float32)
        if kind == "con":
            convolutions.append((dict(re.findall(r"(\w+)='([^']*)'", attributes)), values))
        elif kind == "affine_con":
            affines.append(values)
        else:
            fc = values
    if fc is None or len(convolutions) != 29 or len(affines) != 29:
        raise ValueError(f"{path}: not dlib's face recognition ResNet ({len(convolutions)} convolutions, 29 expected)")
    return convolutions[::-1], affines[::-1], fc


def build(xml: Path):
    """The Keras network with dlib's weights: (N, 150, 150, 3) float32 RGB 0-255 -> (N, 128) float32."""
    import keras
    import tensorflow as tf
    from keras import layers

    convolutions, affines, fc = read_xml(xml)
    weights = iter(zip(convolutions, affines))

    def convolution(x):
        (attributes, params), affine = next(weights)
        n, rows, cols, stride, padding = (int(attributes[k]) for k in ("num_filters", "nr", "nc", "stride_y", "padding_y"))
        if padding not in (0, rows // 2):
            raise ValueError(f"padding {padding} of a {rows}x{cols} convolution")
        size = n * x.shape[-1] * rows * cols
        kernel = params[:size].reshape(n, x.shape[-1], rows, cols).transpose(2, 3, 1, 0)
        scale, shift = affine[:n], affine[n:]
        conv = layers.Conv2D(n, (rows, cols), strides=stride, padding="same" if padding else "valid")
        y = conv(x)
        conv.set_weights([kernel * scale, params[size:] * scale + shift])  # the affine layer folded in
        return y

    class ZeroPadTo(layers.Layer):
        """dlib's addition of tensors of different sizes: the missing rows, columns and channels are zeros."""

        def __init__(self, shape: tuple[int, int, int], **kwargs):
            super().__init__(**kwargs)
            self.shape_to = shape

        def call(self, t):
            return tf.pad(t, [[0, 0]] + [[0, want - have] for want, have in zip(self.shape_to, t.shape[1:])])

    def residual(x, down: bool):
        main = convolution(layers.ReLU()(convolution(x)))
        skip = layers.AveragePooling2D(2, 2, "valid")(x) if down else x
        shape = tuple(max(a, b) for a, b in zip(main.shape[1:], skip.shape[1:]))
        return layers.ReLU()(layers.Add()([ZeroPadTo(shape)(main), ZeroPadTo(shape)(skip)]))

    chip = keras.Input((150, 150, 3))
    x = layers.Rescaling(1 / 256, offset=-np.array([122.782, 117.001, 104.298]) / 256)(chip)
    x = layers.MaxPooling2D(3, 2, "valid")(layers.ReLU()(convolution(x)))
    for n_blocks, down in ((3, False), (4, True), (3, True), (3, True), (1, True)):
        for i in range(n_blocks):
            x = residual(x, down and i == 0)
    x = layers.GlobalAveragePooling2D()(x)
    head = layers.Dense(128, use_bias=False)
    embedding = head(x)
    head.set_weights([fc.reshape(x.shape[-1], 128)])
    return keras.Model(chip, embedding)


def dlib_reference() -> tuple[np.ndarray, np.ndarray]:
    """Face chips of the package faces ((N, 150, 150, 3) uint8 RGB) and dlib's own embeddings of them."""
    import dlib
    import face_recognition_models as models

    from tools.synthetic import FACE_KEYS, face_portrait

    landmarks = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
    net = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    find = dlib.get_frontal_face_detector()
    chips, embeddings = [], []
    for rgb in (np.ascontiguousarray(face_portrait(key)[:, :, ::-1]) for key in FACE_KEYS):
        for box in find(rgb, 1):
            shape = landmarks(rgb, box)
            chips.append(dlib.get_face_chip(rgb, shape, size=150, padding=0.25))
            embeddings.append(np.array(net.compute_face_descriptor(rgb, shape), np.float32))
    return np.array(chips), np.array(embeddings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("xml", type=Path, help="the network as dlib_net_to_xml wrote it")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import tensorflow as tf

    model = build(args.xml)
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]  # float16 weights, float32 arithmetic
        flatbuffer = converter.convert()
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "candidate.tflite"
        candidate.write_bytes(flatbuffer)
        from model.identity import FaceEmbedder

        chips, reference = dlib_reference()
        ours = FaceEmbedder(candidate).embed_chips(chips)
    distances = np.linalg.norm(ours - reference, axis=1)
    print(f"{len(chips)} package faces: distance to dlib's embedding at most {distances.max():.5f}")
    if distances.max() > MAX_DISTANCE_FROM_DLIB:
        raise SystemExit(f"not written: {distances.max():.4f} from dlib's embedding (allowed {MAX_DISTANCE_FROM_DLIB})")
    stored = lzma.compress(flatbuffer, preset=9 | lzma.PRESET_EXTREME) if args.out.suffix == ".xz" else flatbuffer
    args.out.write_bytes(stored)
    print(f"wrote {args.out} ({len(stored):,} bytes; {len(flatbuffer):,} as LiteRT)")


if __name__ == "__main__":
    main()
