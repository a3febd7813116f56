"""The second software model: the QKeras model as Keras runs it (``predict``, float32).

The exact reference (qmodels.reference) evaluates every layer in float64, where every sum of
these fixed-point formats is exact.  Keras computes in float32, whose significand holds 24 bits:
a sum whose exact value needs more bits (a wide accumulator) is rounded, and the model a user
trained then differs from the hardware although both are "correct".  csim compares the C++ with
both and, when they disagree, names the first layer at which Keras leaves the exact values and
the width that explains it.
"""
from __future__ import annotations

import numpy as np

from hw.hls.precision import FLOAT32_SIGNIFICAND  # one definition of the width float32 holds exactly


def keras_outputs(model, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """model.predict in float32, as a user runs the trained model; float64 rows per image."""
    out = model.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0)
    return np.asarray(out, np.float64).reshape(len(images), -1)


def keras_trace(model, images: np.ndarray) -> dict:
    """{layer name: float64 output} of every non-input layer, computed by Keras in float32."""
    import tensorflow as tf

    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    probe = tf.keras.Model(model.inputs, [layer.output for layer in layers])
    values = probe(np.asarray(images, np.float32), training=False)
    values = values if isinstance(values, (list, tuple)) else [values]
    return {layer.name: np.asarray(v, np.float64) for layer, v in zip(layers, values)}


def wide_values(model) -> dict:
    """{layer: bits} for the layers with a product or partial sum wider than float32's significand
    (hw.hls.precision.float32_inexact_layers, from the exact types of every intermediate)."""
    from hw.hls.precision import float32_inexact_layers

    return dict(float32_inexact_layers(model))


def float32_reason(layer, wide: dict) -> str | None:
    """Why Keras' float32 output of ``layer`` may leave the exact values, or None if it should not."""
    if layer.name in wide:
        return (f"an exact intermediate of it needs {wide[layer.name]} bits, more than float32's "
                f"{FLOAT32_SIGNIFICAND}-bit significand, so Keras rounds the sum")
    if type(layer).__name__ == "GlobalAveragePooling2D":
        _, h, w, _ = layer.input_shape
        if (h * w) & (h * w - 1):  # 1/n has no finite binary expansion
            return (f"Keras divides the sum by H*W = {h * w} in float32 and rounds the quotient ({h * w} is not a "
                    "power of two); the exact model keeps the mean to as many bits as its quantizer needs")
    return None


def keras_divergence(model, images: np.ndarray, reference_trace: dict, wide: dict | None = None) -> dict:
    """The first layer whose Keras (float32) output differs from the exact reference, and why.

    Only the first differing layer needs a reason: every later difference may be its consequence.
    ``explained`` is False when float32 cannot account for it (a bug in one of the models).
    ``wide`` ({layer: bits}, default ``wide_values(model)``) lists the layers wider than float32.
    """
    trace = keras_trace(model, images)
    wide = wide_values(model) if wide is None else wide
    for layer in model.layers:
        if layer.name not in trace:
            continue
        want = reference_trace[layer.name][: len(images)]
        got = trace[layer.name].reshape(want.shape)
        if np.array_equal(got, want):
            continue
        why = float32_reason(layer, wide)
        return {"layer": layer.name, "max_abs_diff": float(np.abs(got - want).max()), "explained": why is not None,
                "why": why or (f"no value of it is wider than {FLOAT32_SIGNIFICAND} bits and it divides by nothing; "
                               "float32 does not explain this difference"),
                "wider_than_float32": sorted(wide)}
    return {"layer": None, "explained": True, "why": "Keras equals the reference at every layer on the traced images",
            "wider_than_float32": sorted(wide)}
