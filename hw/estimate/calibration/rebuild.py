"""A calibration record as a (Keras model, types) the estimator can price.

The record lists its layers (``network.layers``); the weights are rebuilt seeded (the published
designs ship reports, not trained weights): He-normal and magnitude-pruned to the published sparsity
for the tutorial's trained, pruned CNNs, or the Keras initializer the record names
(``network.weights_init``: glorot_uniform for a design synthesized untrained, lecun_uniform for one
whose trained weights are not published), then quantized to the record's weight width.
Where the repository publishes hls4ml's weights/*.txt, a layer's ``weights_file`` (in
``weights/<record name>/`` beside this file) gives the real values instead: the DSP-or-LUT choice
and the zero weights of a constant-weight product depend on them.

hls4ml's 1-D layers are rebuilt as their 2-D forms on a 1-row image (Conv1D k -> Conv2D (1, k),
GlobalMaxPooling1D -> the estimator's global pooling): the same products, FIFOs and pixel walk.
"""
from __future__ import annotations

import math

from pathlib import Path

import numpy as np

SEED = 0
WEIGHTS = Path(__file__).resolve().parent / "weights"


def _fixed(bits: int, signed: bool = True, integer: int = None):
    from qmodels.fixed import Fixed

    if integer is None:
        integer = {16: 6, 6: 1}.get(bits, bits // 2) if signed else 0
    return Fixed(bits, integer, signed)


def rebuild(record: dict):
    """(Keras model, types) of a calibration record; weights seeded (see the module text)."""
    import tensorflow as tf

    net = record["network"]
    rng = np.random.default_rng(SEED)
    x = inputs = tf.keras.Input(shape=tuple(net["input_shape"]), name="input")
    types = {"input": {"result": (_fixed(16), False)}}
    for spec in net["layers"]:
        if spec["type"] in IMPLICIT:
            continue
        layer = _layer(spec)
        if spec["type"] == "Dense" and len(x.shape) > 2:
            x = tf.keras.layers.Flatten(name=f"flatten_{spec['name']}")(x)
            types[f"flatten_{spec['name']}"] = {"result": types[_last(types)]["result"]}
        x = layer(x)
        types[spec["name"]] = _types(spec)
        if spec["type"] in MATRIX:
            _set_weights(layer, spec, rng, types[spec["name"]]["weight"], net, record["name"])
    return tf.keras.Model(inputs, x, name=record["name"]), types


MATRIX = ("Conv1D", "Conv2D", "Dense")
# hls4ml's padding before a 'same' conv: recorded (it has its own HLS figures) but not rebuilt, the
# estimator's geometry inserts it from the conv's padding, as hls4ml does.
IMPLICIT = ("ZeroPadding1D",)
# the layer types _layer rebuilds (others, e.g. UpSampling2D, the estimator's geometry does not read)
RULES = (*MATRIX, "GlobalMaxPooling1D", "ReLU", "Sigmoid", "Linear", "MaxPooling2D", "BatchNormalization", "Softmax")


def _last(types: dict) -> str:
    return list(types)[-1]


def _layer(spec: dict):
    import tensorflow as tf

    kind, name = spec["type"], spec["name"]
    if kind == "Conv2D":
        return tf.keras.layers.Conv2D(spec["filters"], tuple(spec["kernel"]), padding=spec.get("padding", "valid"),
                                      name=name)
    if kind == "Conv1D":                    # on a 1-row image: input_shape [1, width, channels]
        return tf.keras.layers.Conv2D(spec["filters"], (1, spec["kernel"]), strides=(1, spec.get("stride", 1)),
                                      padding=spec.get("padding", "valid"), name=name)
    if kind == "GlobalMaxPooling1D":        # the estimator prices global max and average pooling alike
        return tf.keras.layers.GlobalAveragePooling2D(name=name)
    if kind == "Dense":
        return tf.keras.layers.Dense(spec["n_out"], name=name)
    if kind == "ReLU":
        return tf.keras.layers.ReLU(name=name)
    if kind == "Sigmoid":
        return tf.keras.layers.Activation("sigmoid", name=name)
    if kind == "Linear":                    # hls4ml's linear activation: a cast to the result type
        return tf.keras.layers.Activation("linear", name=name)
    if kind == "MaxPooling2D":
        return tf.keras.layers.MaxPooling2D(tuple(spec["pool"]), name=name)
    if kind == "BatchNormalization":
        return tf.keras.layers.BatchNormalization(name=name)
    if kind == "Softmax":
        return tf.keras.layers.Softmax(name=name)
    raise ValueError(f"calibration layer {name}: no rebuild rule for {kind}")


def _types(spec: dict) -> dict:
    """The layer's types: 16-bit ap_fixed<16,6> unless the record says ``result_bits`` (unsigned
    unless ``result_signed``), ``result_integer``, ``accum_bits``/``accum_integer``, ``weight_bits``,
    ``weight_integer``."""
    signed = spec.get("result_signed", spec.get("result_bits") is None)
    result = _fixed(spec.get("result_bits", 16), signed, spec.get("result_integer"))
    if spec["type"] == "MaxPooling2D":
        result = _fixed(16)                 # hls4ml's pooling result type at the time (16-bit FIFOs)
    accum = _fixed(spec.get("accum_bits", 16), integer=spec.get("accum_integer"))
    t = {"result": (result, spec["type"] == "ReLU"), "accum": accum}
    if spec["type"] in MATRIX:
        t["weight"] = _fixed(spec.get("weight_bits", 16), integer=spec.get("weight_integer"))
    return t


def _set_weights(layer, spec, rng, fmt, net: dict, record_name: str) -> None:
    kernel = layer.get_weights()[0]
    fan_in = int(np.prod(kernel.shape[:-1]))
    if spec.get("weights_file"):
        values = _published_weights(WEIGHTS / record_name / spec["weights_file"], kernel.shape)
    elif net.get("weights_init") == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + kernel.shape[-1]))
        values = rng.uniform(-limit, limit, kernel.shape)
    elif net.get("weights_init") == "lecun_uniform":
        limit = math.sqrt(3.0 / fan_in)
        values = rng.uniform(-limit, limit, kernel.shape)
    else:
        values = rng.normal(0.0, math.sqrt(2.0 / fan_in), kernel.shape)
    values = np.clip(values, fmt.min, fmt.max)
    if spec.get("pruned"):
        sparsity = net["pruning"]["target_sparsity"]
        values[np.abs(values) < np.quantile(np.abs(values), sparsity)] = 0.0
    layer.set_weights([fmt.quantize(values).astype(np.float32), np.zeros(kernel.shape[-1], np.float32)])


def _published_weights(path: Path, shape) -> np.ndarray:
    """hls4ml's weights txt (comma-separated) in the kernel's shape.  The order of the values does
    not matter to the estimate of a constant-weight layer (each product is priced by its weight)."""
    values = np.array([float(v) for v in path.read_text().replace("\n", ",").split(",") if v.strip()])
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {values.size} weights, the layer has {int(np.prod(shape))}")
    return values.reshape(shape)
