"""Parameters, multiply-adds and weight memory of a built model, and the paper's Table 1.

Counting convention (the one that reproduces the MobileNet rows of Table 1, see README):
mult-adds are those of convolutions and dense layers for one image; pooling, unpooling,
the selective attention's elementwise products and residual additions are not counted.
Parameters are every weight Keras holds (kernels, biases, attention scales).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from qmodels.fixed import from_qkeras

# Table 1 of Wong et al. (EMC2 2020), ImageNet50: top-1, params, mult-adds, weight bits.
PAPER_TABLE1 = {
    "mobilenet-v1": {"model": "MobileNet-V1", "top1": 64.5, "params": 3_260_000, "macs": 567_500_000, "weight_bits": 32},
    "mobilenet-v2": {"model": "MobileNet-V2", "top1": 68.7, "params": 2_290_000, "macs": 299_700_000, "weight_bits": 32},
    "attonet-a": {"model": "AttoNet-A", "top1": 73.0, "params": 2_970_000, "macs": 424_800_000, "weight_bits": 32},
    "attonet-b": {"model": "AttoNet-B", "top1": 71.1, "params": 1_870_000, "macs": 277_500_000, "weight_bits": 32},
    "attendnet-a": {"model": "AttendNet-A", "top1": 73.2, "params": 1_386_000, "macs": 276_800_000, "weight_bits": 8},
    "attendnet-b": {"model": "AttendNet-B", "top1": 71.7, "params": 782_000, "macs": 191_300_000, "weight_bits": 8},
}


@dataclass
class Complexity:
    name: str
    params: int
    macs: int
    weight_bits: int
    weight_bytes: int
    input_shape: tuple
    classes: int

    def as_dict(self) -> dict:
        return asdict(self)


def layer_macs(layer) -> int:
    kind = type(layer).__name__
    if kind in ("QConv2D", "QGroupConv2D", "Conv2D"):
        kh, kw, cin_g, cout = layer.kernel.shape
        _, h, w, _ = layer.output_shape
        return int(h * w * cout * kh * kw * cin_g)
    if kind in ("QDepthwiseConv2D", "DepthwiseConv2D"):
        kh, kw, cin, mult = layer.depthwise_kernel.shape
        _, h, w, _ = layer.output_shape
        return int(h * w * cin * mult * kh * kw)
    if kind in ("QDense", "Dense"):
        cin, cout = layer.kernel.shape
        return int(cin * cout)
    return 0


def _weight_bits(layer) -> list:
    """(count, bits) of each weight array of a layer; 32 for unquantized weights."""
    out = []
    quantizers = [getattr(layer, n, None) for n in ("depthwise_quantizer", "kernel_quantizer")]
    kernel_q = next((q for q in quantizers if q is not None), None)
    for var in layer.weights:
        name = var.name.split("/")[-1]
        if "bias" in name:
            fmt = from_qkeras(getattr(layer, "bias_quantizer", None))
        elif "scale" in name:
            fmt = getattr(layer, "scale_format", None)
        else:
            fmt = from_qkeras(kernel_q)
        out.append((int(np.prod(var.shape)), fmt.width if fmt else 32))
    return out


def measure(model, name: str = None) -> Complexity:
    bits = [wb for layer in model.layers for wb in _weight_bits(layer)]
    total_bits = sum(n * b for n, b in bits)
    widths = {b for _, b in bits}
    return Complexity(name=name or model.name, params=int(model.count_params()),
                      macs=sum(layer_macs(layer) for layer in model.layers),
                      weight_bits=max(widths) if widths else 0, weight_bytes=total_bits // 8,
                      input_shape=tuple(int(d) for d in model.input_shape[1:]),
                      classes=int(model.output_shape[-1]))
