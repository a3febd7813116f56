"""Spec -> QKeras model, and the objects Keras needs to load one back."""
from __future__ import annotations

import tensorflow as tf
from qkeras import QActivation, QDense
from qkeras.utils import _add_supported_quantized_objects

from qmodels import spec as S
from qmodels.blocks import build_stage
from qmodels.layers import QGroupConv2D, SelectiveAttention, Unpooling2D

STAGE_PREFIX = {S.Conv: "conv", S.DWConv: "dw", S.VAC: "vac", S.PEPE: "pepe", S.Bottleneck: "mbv2",
                S.MaxPool: "pool", S.GlobalAvgPool: "gap", S.Dense: "fc"}
INPUT_QUANTIZER = "input_q"
LOGITS = "logits"


def custom_objects() -> dict:
    """Everything ``tf.keras.models.load_model`` needs: QKeras layers and quantizers, and ours."""
    objects = {"Unpooling2D": Unpooling2D, "SelectiveAttention": SelectiveAttention, "QGroupConv2D": QGroupConv2D}
    _add_supported_quantized_objects(objects)
    return objects


def build_model(model, input_shape=None, classes=None, seed: int = 0, calibrate: bool = True) -> tf.keras.Model:
    """A QKeras model from a spec (a NetworkSpec, a built-in name or a spec path).

    ``seed`` fixes the initial weights.  With ``calibrate`` the weights are then rescaled on a
    seeded batch of synthetic images so that every layer's 8-bit output stays alive (neither
    all zero nor all saturated); see ``qmodels.reference.calibrate``.
    """
    spec = model if isinstance(model, S.NetworkSpec) else S.load_spec(model)
    spec = spec.with_shape(input_shape, classes)
    q = spec.quantization
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=spec.input_shape, name="image")
    x = QActivation(q.format("input").qkeras(), name=INPUT_QUANTIZER)(inputs)
    for i, stage in enumerate(spec.stages):
        x = build_stage(x, q, stage, f"s{i:02d}_{STAGE_PREFIX[type(stage)]}")
    outputs = QDense(spec.classes, name=LOGITS, kernel_initializer="he_normal",
                     kernel_quantizer=q.format("weight").qkeras(), bias_quantizer=q.format("bias").qkeras())(x)
    keras_model = tf.keras.Model(inputs, outputs, name=spec.name.replace("-", "_"))
    if calibrate:
        from qmodels.reference import calibrate as _calibrate
        _calibrate(keras_model, seed=seed)
    return keras_model


def load_model(path) -> tf.keras.Model:
    """Load a model saved as HDF5 (``.h5``).  Keras' ``.keras`` format is not used: with QKeras
    0.9 and Keras 2.15 loading one never finishes (seen with plain QConv2D models too)."""
    return tf.keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
