"""The software model evaluated exactly: a float64 numpy interpreter of a built QKeras model.

Every value in these networks is a dyadic number of few bits, and every sum of 8-bit
products is exact in float64, so this interpreter computes what the QKeras model means
without float32's rounding.  It is the reference the C++ is compared with; it also
calibrates seeded weights so that activations stay alive.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from qmodels.fixed import Fixed, from_qkeras
from qmodels.layers import Unpooling2D, SelectiveAttention, selective_attention_reference, unpooling2d_reference

WEIGHTED = ("QConv2D", "QGroupConv2D", "QDepthwiseConv2D", "QDense")


def input_layer_names(layer) -> list:
    """Names of the layers whose outputs a layer of a functional model consumes, in order."""
    if type(layer).__name__ == "InputLayer":
        return []
    return [t._keras_history.layer.name for t in tf.nest.flatten(layer._inbound_nodes[0].input_tensors)]


def same_padding(size: int, kernel: int, stride: int):
    """TensorFlow's 'same' padding: (before, after), the extra pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(x, kernel, stride, value=0.0):
    (t, b), (l, r) = same_padding(x.shape[1], kernel[0], stride[0]), same_padding(x.shape[2], kernel[1], stride[1])
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def _windows(x, kernel, stride):
    """(N, Ho, Wo, C, kh, kw) views of x (already padded)."""
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(1, 2))
    return view[:, ::stride[0], ::stride[1]]


def conv2d(x, kernel, bias, stride, padding, groups=1):
    kh, kw, cin_g, cout = kernel.shape
    if padding == "same":
        x = _pad_same(x, (kh, kw), stride)
    win = _windows(x, (kh, kw), stride)                 # N Ho Wo C kh kw
    win = win.reshape(*win.shape[:3], groups, cin_g, kh, kw)
    k = kernel.reshape(kh, kw, cin_g, groups, cout // groups)
    y = np.einsum("nhwgcij,ijcgo->nhwgo", win, k, optimize=True).reshape(*win.shape[:3], cout)
    return y + bias if bias is not None else y


def depthwise2d(x, kernel, bias, stride, padding):
    kh, kw, cin, mult = kernel.shape
    if padding == "same":
        x = _pad_same(x, (kh, kw), stride)
    win = _windows(x, (kh, kw), stride)
    y = np.einsum("nhwcij,ijcm->nhwcm", win, kernel, optimize=True).reshape(*win.shape[:3], cin * mult)
    return y + bias if bias is not None else y


def maxpool2d(x, size, stride, padding):
    if padding == "same":
        x = _pad_same(x, size, stride, value=-np.inf)
    return _windows(x, size, stride).max(axis=(-1, -2))


class Reference:
    """Exact float64 evaluation of a model built by qmodels (or any model of the same layers)."""

    def __init__(self, model: tf.keras.Model):
        self.model = model
        self.layers = [layer for layer in model.layers]
        self.params = {layer.name: self._quantized_params(layer) for layer in self.layers}

    @staticmethod
    def _quantized_params(layer):
        kind = type(layer).__name__
        if kind in WEIGHTED:
            kq = layer.depthwise_quantizer if kind == "QDepthwiseConv2D" else layer.kernel_quantizer
            kernel = layer.depthwise_kernel if kind == "QDepthwiseConv2D" else layer.kernel
            kfmt, bfmt = from_qkeras(kq), from_qkeras(layer.bias_quantizer)
            k = kernel.numpy().astype(np.float64)
            b = layer.bias.numpy().astype(np.float64) if layer.use_bias else None
            return {"kernel": kfmt.quantize(k) if kfmt else k,
                    "bias": (bfmt.quantize(b) if bfmt else b) if b is not None else None}
        if isinstance(layer, SelectiveAttention):
            return {"scale": layer.quantized_scale()}
        return {}

    def _inputs(self, layer, values):
        ins = [values[n] for n in input_layer_names(layer)]
        return ins if len(ins) > 1 else ins[0]

    def evaluate_layer(self, layer, x):
        kind, p = type(layer).__name__, self.params[layer.name]
        if kind == "InputLayer":
            return x
        if kind == "QActivation":
            return from_qkeras(layer.quantizer).quantize(x)
        if kind in ("QConv2D", "QGroupConv2D"):
            return conv2d(x, p["kernel"], p["bias"], layer.strides, layer.padding, layer.groups)
        if kind == "QDepthwiseConv2D":
            return depthwise2d(x, p["kernel"], p["bias"], layer.strides, layer.padding)
        if kind == "QDense":
            return x @ p["kernel"] + (p["bias"] if p["bias"] is not None else 0.0)
        if kind == "MaxPooling2D":
            return maxpool2d(x, layer.pool_size, layer.strides, layer.padding)
        if kind == "ZeroPadding2D":
            (t, b), (l, r) = layer.padding
            return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
        if kind == "GlobalAveragePooling2D":
            return x.mean(axis=(1, 2))
        if kind == "Add":
            return sum(x)
        if kind == "Flatten":
            return x.reshape(x.shape[0], -1)
        if isinstance(layer, Unpooling2D):
            return unpooling2d_reference(x, layer.size, layer._out_size(x.shape[1], x.shape[2]))
        if isinstance(layer, SelectiveAttention):
            return selective_attention_reference(x[0], x[1], p["scale"], layer.attention, layer.sigmoid,
                                                 layer.output_format)
        raise NotImplementedError(f"the reference has no rule for layer {layer.name} of type {kind}")

    def run(self, images, trace: bool = False, hook=None):
        """The model's output on ``images`` (NHWC); with ``trace`` a dict of every layer's output."""
        values = {}
        for layer in self.layers:
            x = np.asarray(images, np.float64) if type(layer).__name__ == "InputLayer" else self._inputs(layer, values)
            if hook is not None:
                hook(layer, x)
            values[layer.name] = self.evaluate_layer(layer, x)
        return values if trace else values[self.layers[-1].name]


def output_format(model: tf.keras.Model, layer_name: str) -> "Fixed | None":
    """The format a layer's output is quantized to by its following QActivation, if any."""
    for layer in model.layers:
        if type(layer).__name__ == "QActivation":
            if input_layer_names(layer) == [layer_name]:
                return from_qkeras(layer.quantizer)
    return None


def synthetic_images(count: int, shape, seed: int = 0) -> np.ndarray:
    """Seeded smooth random images on the 8-bit input grid: blobs and gradients, not white noise."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    images = np.zeros((count, h, w, c))
    for n in range(count):
        for ch in range(c):
            fx, fy, phase = rng.uniform(0.5, 6, 2).tolist() + [rng.uniform(0, 6.3)]
            images[n, :, :, ch] = 0.5 + 0.35 * np.sin(2 * np.pi * (fx * xx + fy * yy) + phase)
        images[n] += rng.normal(0, 0.08, (h, w, c))
    return np.clip(np.floor(images * 256), 0, 255) / 256.0


def calibrate(model: tf.keras.Model, images=None, seed: int = 0, count: int = 4) -> None:
    """Rescale each weighted layer, in order, so its quantized output is alive.

    Per output channel the pre-activation is mapped to a target mean and spread chosen from
    the following quantizer's range (ReLU: mean at 1/8 of the range, spread 1/4; signed:
    centred, spread 1/4 of the half range), like a data-driven (LSUV) initialisation.  The
    kernel scale is capped so the weights stay inside their quantizer's range.
    """
    if images is None:
        images = synthetic_images(count, model.input_shape[1:], seed)
    ref = Reference(model)

    def hook(layer, x):
        if type(layer).__name__ not in WEIGHTED:
            return
        p = ref.params[layer.name]
        z = ref.evaluate_layer(layer, x).reshape(-1, p["kernel"].shape[-1] * (
            p["kernel"].shape[-2] if type(layer).__name__ == "QDepthwiseConv2D" else 1))
        fmt = output_format(model, layer.name) or Fixed(16, 8)
        target_mean, target_std = (fmt.max / 8, fmt.max / 4) if not fmt.signed else (0.0, fmt.max / 4)
        _rescale(layer, ref, z.mean(axis=0), z.std(axis=0) + 1e-9, target_mean, target_std)

    ref.run(images, hook=hook)


def _rescale(layer, ref, mean, std, target_mean, target_std):
    kind = type(layer).__name__
    kernel_var = layer.depthwise_kernel if kind == "QDepthwiseConv2D" else layer.kernel
    kq = layer.depthwise_quantizer if kind == "QDepthwiseConv2D" else layer.kernel_quantizer
    kfmt, bfmt = from_qkeras(kq), from_qkeras(layer.bias_quantizer)
    kernel = kernel_var.numpy().astype(np.float64)
    out_shape = kernel.shape[-2:] if kind == "QDepthwiseConv2D" else kernel.shape[-1:]
    gain = (target_std / std).reshape(out_shape)
    peak = np.abs(kernel).reshape(-1, *out_shape).max(axis=0) + 1e-12
    gain = np.minimum(gain, kfmt.max / peak)
    kernel = kfmt.quantize(kernel * gain)
    bias = layer.bias.numpy().astype(np.float64).reshape(out_shape)
    bias = bfmt.quantize(gain * bias + target_mean - gain * mean.reshape(out_shape))
    kernel_var.assign(kernel.astype(np.float32))
    layer.bias.assign(bias.reshape(-1).astype(np.float32))
    ref.params[layer.name] = Reference._quantized_params(layer)
