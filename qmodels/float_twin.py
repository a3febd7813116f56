"""The float twin of a QKeras network: the same graph, layer names and weights, no quantizer.

Two uses, named apart everywhere they are reported:

* the *float network* (the paper's 32-bit rows): the twin trained as such, from scratch, in the
  float phase of training (``--float-epochs``); its weights are kept in the checkpoint beside the
  8-bit ones, and quantization-aware training starts from them;
* *quantizers removed*: the twin of the 8-bit network's trained weights, a diagnostic only.

The twin has no weight, bias, activation or attention quantizer, an exact sigmoid instead of the
8-bit table, and ReLU without the 8-bit format's upper bound; its weights stay clipped to the
quantizers' ranges (QKeras' Clip constraints), so its weights can be quantized afterwards.
"""
from __future__ import annotations

import warnings

import tensorflow as tf

from qmodels.build import custom_objects
from qmodels.layers import SelectiveAttention


class FloatSelectiveAttention(SelectiveAttention):
    """S * V' * sigmoid(A) in float: no attention, table, scale or output quantizer."""

    def call(self, inputs):
        v, a = inputs
        return v * tf.sigmoid(a) * self.scale


def _float_layer(layer):
    with warnings.catch_warnings():  # QKeras' get_config serializes quantizers as constraints, noisily
        warnings.simplefilter("ignore", UserWarning)
        kind, config = type(layer).__name__, layer.get_config()
    if any(k.endswith("_quantizer") for k in config):  # QConv2D, QDepthwiseConv2D, QDense and subclasses
        for key in [k for k in config if k.endswith("_quantizer")]:
            config[key] = None
        for key in [k for k in config if k.endswith("_constraint")]:
            config[key] = getattr(layer, key)  # keep QKeras' Clip: warm-start weights stay in range
        return type(layer).from_config(config)
    if kind == "QActivation":
        relu = type(layer.quantizer).__name__ == "quantized_relu"
        return tf.keras.layers.Activation("relu" if relu else "linear", name=layer.name)
    if isinstance(layer, SelectiveAttention):
        return FloatSelectiveAttention.from_config(config)
    return layer.__class__.from_config(config)


def float_twin(model: tf.keras.Model) -> tf.keras.Model:
    """The same graph, layer names and weights with every quantizer removed (see module doc)."""
    with tf.keras.utils.custom_object_scope(custom_objects()):
        twin = tf.keras.models.clone_model(model, clone_function=_float_layer)
    copy_weights(model, twin)
    return twin


def copy_weights(src: tf.keras.Model, dst: tf.keras.Model) -> None:
    for layer in src.layers:
        if layer.weights:
            dst.get_layer(layer.name).set_weights(layer.get_weights())


