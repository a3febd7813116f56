"""Stages as QKeras layer graphs: conv, depthwise, VAC, PEPE, MobileNet-V2 bottleneck, pooling, dense.

Every weighted layer is followed by its own QActivation, never an inline activation, so the
Keras graph, the numpy reference and the hls4ml graph have the same layers with the same names.
Layer names are ``<stage>_<part>`` (``s03_vac_mix``), so per-layer HLS settings can name them.
"""
from __future__ import annotations

import tensorflow as tf
from qkeras import QActivation, QConv2D, QDense, QDepthwiseConv2D

from qmodels import spec as S
from qmodels.layers import QGroupConv2D, SelectiveAttention, Unpooling2D

layers = tf.keras.layers


def _qargs(q: S.Quantization, kernel_key="kernel_quantizer"):
    return {kernel_key: q.format("weight").qkeras(), "bias_quantizer": q.format("bias").qkeras()}


def activation(x, q: S.Quantization, kind: str, name: str):
    """relu: unsigned ``activation`` format; linear: signed ``linear`` format."""
    fmt = q.format("activation") if kind == "relu" else q.format("linear")
    return QActivation(fmt.qkeras(relu=kind == "relu"), name=name)(x)


def conv(x, q, filters, name, kernel=1, stride=1, groups=1, act="relu"):
    cls, extra = (QGroupConv2D, {"groups": groups}) if groups > 1 else (QConv2D, {})
    y = cls(filters, kernel, strides=stride, padding="same", name=name,
            kernel_initializer="he_normal", **extra, **_qargs(q))(x)
    return activation(y, q, act, f"{name}_act")


def dwconv(x, q, name, kernel=3, stride=1, multiplier=1, act="relu"):
    """Depthwise convolution; with a channel multiplier it is built as the equivalent grouped
    convolution (groups = channels), whose weights and outputs are ordered the same way."""
    if multiplier > 1:
        channels = int(x.shape[-1])
        return conv(x, q, channels * multiplier, name, kernel, stride, groups=channels, act=act)
    y = QDepthwiseConv2D(kernel, strides=stride, padding="same", name=name,
                         depthwise_initializer="he_normal", **_qargs(q, "depthwise_quantizer"))(x)
    return activation(y, q, act, f"{name}_act")


def condense(v, name: str):
    """2x2 max pooling that keeps every pixel ('same' pooling, ceil size).

    Written as explicit bottom/right zero padding plus a 'valid' pool, which equals 'same'
    pooling because V' comes out of a ReLU (>= 0); hls4ml's stream pooling has no padding.
    """
    h, w = int(v.shape[1]), int(v.shape[2])
    if h % 2 or w % 2:
        v = layers.ZeroPadding2D(((0, h % 2), (0, w % 2)), name=f"{name}_pad")(v)
    return layers.MaxPooling2D(2, name=name)(v)


def vac(x, q: S.Quantization, stage: S.VAC, name: str):
    """Visual attention condenser V''' = M'(F(V', X(E(C(V'))), S)) with V' = M(V)."""
    h, w, channels = (int(d) for d in x.shape[1:])
    v1 = conv(x, q, stage.mix, f"{name}_mix")                                    # M: down-mixing
    pooled = condense(v1, f"{name}_pool")                                        # C: condensation
    e = conv(pooled, q, stage.embed, f"{name}_embed", kernel=3, groups=stage.groups)  # E: grouped 3x3
    k = QConv2D(stage.mix, 1, padding="same", name=f"{name}_embed_pw",          # E: pointwise
                kernel_initializer="he_normal", **_qargs(q))(e)
    k = QActivation(q.format("attention").qkeras(), name=f"{name}_embed_pw_act")(k)
    a = Unpooling2D(2, output_size=(h, w), name=f"{name}_unpool")(k)             # X: expansion
    v2 = SelectiveAttention(q.attention, q.sigmoid, q.scale, q.attended,        # F: selective attention
                            per_channel=stage.per_channel_scale, name=f"{name}_attend")([v1, a])
    return conv(v2, q, stage.out or channels, f"{name}_unmix")                  # M': up-mixing


def pepe(x, q, stage: S.PEPE, name: str):
    """Projection, depthwise expansion, projection, pointwise expansion."""
    y = conv(x, q, stage.project, f"{name}_proj1")
    y = dwconv(y, q, f"{name}_dw", stage.kernel, stage.stride, stage.multiplier)
    y = conv(y, q, stage.project2, f"{name}_proj2")
    return conv(y, q, stage.out, f"{name}_expand")


def bottleneck(x, q, stage: S.Bottleneck, name: str):
    """MobileNet-V2 inverted residual with a linear bottleneck and a quantized residual sum."""
    channels = int(x.shape[-1])
    y = x
    if stage.expansion != 1:
        y = conv(y, q, channels * stage.expansion, f"{name}_expand")
    y = dwconv(y, q, f"{name}_dw", 3, stage.stride)
    y = conv(y, q, stage.out, f"{name}_project", act="linear")
    if stage.stride == 1 and channels == stage.out:
        y = layers.Add(name=f"{name}_add")([x, y])
        y = activation(y, q, "linear", f"{name}_add_act")
    return y


def _is_unsigned(x) -> bool:
    """Whether x comes (through pooling) from a ReLU quantizer, so its mean is unsigned too."""
    layer = x._keras_history.layer
    while isinstance(layer, layers.MaxPooling2D):
        layer = layer.input._keras_history.layer
    quantizer = getattr(layer, "quantizer", None)
    return type(quantizer).__name__ == "quantized_relu" or getattr(quantizer, "keep_negative", True) is False


def build_stage(x, q, stage, name: str):
    if isinstance(stage, S.Conv):
        return conv(x, q, stage.filters, name, stage.kernel, stage.stride, stage.groups, stage.activation)
    if isinstance(stage, S.DWConv):
        return dwconv(x, q, name, stage.kernel, stage.stride, stage.multiplier, stage.activation)
    if isinstance(stage, S.VAC):
        return vac(x, q, stage, name)
    if isinstance(stage, S.PEPE):
        return pepe(x, q, stage, name)
    if isinstance(stage, S.Bottleneck):
        return bottleneck(x, q, stage, name)
    if isinstance(stage, S.MaxPool):
        return layers.MaxPooling2D(stage.size, name=name)(x)
    if isinstance(stage, S.GlobalAvgPool):
        y = layers.GlobalAveragePooling2D(name=name)(x)
        return activation(y, q, "relu" if _is_unsigned(x) else "linear", f"{name}_act")
    if isinstance(stage, S.Dense):
        y = QDense(stage.units, name=name, kernel_initializer="he_normal", **_qargs(q))(x)
        return activation(y, q, stage.activation, f"{name}_act")
    raise TypeError(f"unknown stage {stage!r}")
