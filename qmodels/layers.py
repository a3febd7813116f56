"""The two layers of a visual attention condenser that Keras lacks, each with a numpy reference.

No public code of AttendNets exists.  The semantics below are this package's reading of the
paper (Wong et al., EMC2 2020, section 2.1) and of the attention condensers it extends
(TinySpeech), chosen so that software and hardware compute the same numbers exactly.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from qkeras import QConv2D

from qmodels.fixed import Fixed


@tf.keras.utils.register_keras_serializable(package="attendnets")
class QGroupConv2D(QConv2D):
    """A QConv2D with 1 < groups: the VAC's grouped 3x3 embedding, and depthwise convolutions
    with a channel multiplier (groups = input channels, filters = multiplier x channels).

    Numerically it is QConv2D; it has a class of its own so that the hardware side can give it
    its own HLS implementation (hls4ml 1.3 rejects grouped convolutions, and computes
    depthwise convolutions with a multiplier wrongly).
    """

    def __init__(self, filters, kernel_size, groups=2, **kwargs):
        if int(groups) < 2:
            raise ValueError(f"QGroupConv2D needs groups >= 2, got {groups}; use QConv2D")
        super().__init__(filters, kernel_size, groups=int(groups), **kwargs)


def unpool_indices(in_size: int, factor: int, out_size: int) -> np.ndarray:
    """Source row (or column) of each output row: r // factor, clamped to the last input row."""
    return np.minimum(np.arange(out_size) // factor, in_size - 1)


@tf.keras.utils.register_keras_serializable(package="attendnets")
class Unpooling2D(tf.keras.layers.Layer):
    """Expansion X(K): nearest-neighbour unpooling by an integer factor to a given size.

    ``out[r, c] = K[min(r // f, Hk - 1), min(c // f, Wk - 1)]``.  ``output_size`` is the
    size of the tensor before condensation, so A lines up with V' pixel for pixel:

    * after a 'same' (ceil) 2x2 max pool of an odd size, f*Hk = H + 1 and the extra last row
      and column are cropped;
    * after a 'valid' (floor) pool, f*Hk = H - 1 and the last row and column are repeated
      (padding by replication).
    """

    def __init__(self, size: int = 2, output_size=None, **kwargs):
        super().__init__(**kwargs)
        if int(size) < 1:
            raise ValueError(f"Unpooling2D size must be a positive integer, got {size!r}")
        self.size = int(size)
        self.output_size = None if output_size is None else tuple(int(v) for v in output_size)

    def _out_size(self, in_h: int, in_w: int):
        return self.output_size or (in_h * self.size, in_w * self.size)

    def compute_output_shape(self, input_shape):
        out_h, out_w = self._out_size(input_shape[1], input_shape[2])
        return (input_shape[0], out_h, out_w, input_shape[3])

    def call(self, inputs):
        in_h, in_w = int(inputs.shape[1]), int(inputs.shape[2])
        out_h, out_w = self._out_size(in_h, in_w)
        rows = tf.constant(unpool_indices(in_h, self.size, out_h), dtype=tf.int32)
        cols = tf.constant(unpool_indices(in_w, self.size, out_w), dtype=tf.int32)
        return tf.gather(tf.gather(inputs, rows, axis=1), cols, axis=2)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "output_size": self.output_size}


def unpooling2d_reference(k: np.ndarray, size: int, output_size) -> np.ndarray:
    """numpy reference of Unpooling2D on an NHWC array."""
    rows = unpool_indices(k.shape[1], size, output_size[0])
    cols = unpool_indices(k.shape[2], size, output_size[1])
    return k[:, rows][:, :, cols]


def sigmoid_table(attention: Fixed, sigmoid: Fixed) -> np.ndarray:
    """sigma(a) for every value a of the attention grid, quantized to the sigmoid format.

    Indexed by ``code(a) - attention.min_code``.  Computed once in float64; the hardware
    stores exactly these numbers, so the table is the definition of sigma, not an approximation
    of the software's sigma.
    """
    grid = attention.grid()
    return sigmoid.quantize(1.0 / (1.0 + np.exp(-grid)))


@tf.keras.utils.register_keras_serializable(package="attendnets")
class SelectiveAttention(tf.keras.layers.Layer):
    """Selective attention F(V', A, S) = S * V' (elementwise) sigma(A), then quantized.

    The paper says only that "V'' is a product of V', self-attention values A, and scale S".
    Here A (the expanded embedding) is first quantized to the ``attention`` format; the
    logistic sigma turns it into a gate in (0, 1) and is realised as a table over A's grid
    (``sigmoid_table``), so software and hardware use the very same gate values; S is a
    learned scale quantized to the ``scale`` format, one scalar per module or, with
    ``per_channel``, one per channel of V'; the product is quantized to the ``output`` format.
    Inputs: ``[V', A]`` of equal shape.  Training sees sigma's gradient through a
    straight-through estimator on the table.  V' * sigma * S has at most 24 significant bits
    for 8-bit formats, so float32 computes it exactly.
    """

    def __init__(self, attention="fixed<8,4>", sigmoid="ufixed<8,0>", scale="fixed<8,3>",
                 output="fixed<8,3>", per_channel=False, **kwargs):
        super().__init__(**kwargs)
        self.attention = Fixed.parse(attention)
        self.sigmoid = Fixed.parse(sigmoid)
        self.scale_format = Fixed.parse(scale)
        self.output_format = Fixed.parse(output)
        self.per_channel = bool(per_channel)
        self.table = sigmoid_table(self.attention, self.sigmoid).astype(np.float32)

    def build(self, input_shape):
        v_shape, a_shape = input_shape
        if tuple(v_shape[1:]) != tuple(a_shape[1:]):
            raise ValueError(f"SelectiveAttention needs V' and A of one shape, got {v_shape} and {a_shape}")
        shape = (int(v_shape[-1]),) if self.per_channel else (1,)
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones", trainable=True)
        self._attention_q = self.attention.qkeras()
        self._scale_q = self.scale_format.qkeras()
        self._output_q = self.output_format.qkeras()
        super().build(input_shape)

    def call(self, inputs):
        v, a = inputs
        aq = self._attention_q(a)
        index = tf.cast(tf.round(aq * 2.0 ** self.attention.frac), tf.int32) - self.attention.min_code
        soft = tf.sigmoid(aq)
        gate = soft + tf.stop_gradient(tf.gather(tf.constant(self.table), index) - soft)
        return self._output_q(v * gate * self._scale_q(self.scale))

    def quantized_scale(self) -> np.ndarray:
        return self.scale_format.quantize(self.scale.numpy())

    def get_config(self):
        return {**super().get_config(), "attention": str(self.attention), "sigmoid": str(self.sigmoid),
                "scale": str(self.scale_format), "output": str(self.output_format),
                "per_channel": self.per_channel}


def selective_attention_reference(v, a, scale, attention: Fixed, sigmoid: Fixed, output: Fixed) -> np.ndarray:
    """numpy reference of SelectiveAttention; ``scale`` is the already quantized S."""
    index = attention.codes(a) - attention.min_code
    gate = sigmoid_table(attention, sigmoid)[index]
    return output.quantize(np.asarray(v, np.float64) * gate * np.asarray(scale, np.float64))
