"""The narrowest exact HLS types, derived from the quantizer ranges and the fan-in.

A ``Range`` is an interval of integer codes on a 2^-frac grid.  Products and sums of ranges
are exact integer arithmetic, so the type read off a range provably holds every value the
layer can produce: no overflow and no rounding, and no bit more than that proof needs.
The rules are walked over the Keras graph (``derive``) and give every layer its ``accum`` and
``result`` types; only the QActivation layers round, exactly as their QKeras quantizers do.

Every value the C++ stores or casts, and why it cannot wrap or round:
- the image: converted from the float pixel to the input type, which rounds half to even and
  saturates like the model's input quantizer (so every input format is exact);
- convolutions and dense layers (hls4ml's and ours): each product is formed at full width
  (``a * w``) and stored in ``accum_t``, as is every partial sum bias + products; ``conv_accum``
  covers bias + n products of any sign, hence every product and every partial sum in any order;
- selective attention: V'·σ(A) in ``gated_t`` and V'·σ(A)·S in ``product_t``, each exact
  (``attention_types``), then one rounding into the output format;
- global average: the sum in ``accum_t`` and hls4ml's truncated division (``average_accum``);
- max pooling, padding, unpooling, additions: values copied or summed into exact types.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from hw.hls import ops
from qmodels.fixed import Fixed, from_qkeras

QUANTIZED_ROUNDING = ("RND_CONV", "SAT")   # QKeras: round half to even, clip


@dataclass(frozen=True)
class Range:
    lo: int      # smallest code
    hi: int      # largest code
    frac: int    # value = code * 2^-frac

    @classmethod
    def of(cls, fmt: Fixed) -> "Range":
        return cls(fmt.min_code, fmt.max_code, fmt.frac)

    def _align(self, frac: int) -> "Range":
        shift = frac - self.frac
        return Range(self.lo << shift, self.hi << shift, frac)

    def __mul__(self, other: "Range") -> "Range":
        corners = [a * b for a in (self.lo, self.hi) for b in (other.lo, other.hi)]
        return Range(min(corners), max(corners), self.frac + other.frac)

    def __add__(self, other: "Range") -> "Range":
        frac = max(self.frac, other.frac)
        a, b = self._align(frac), other._align(frac)
        return Range(a.lo + b.lo, a.hi + b.hi, frac)

    def repeat(self, n: int) -> "Range":
        """The range of a sum of n terms each in this range."""
        return Range(n * self.lo, n * self.hi, self.frac)

    def with_frac(self, frac: int) -> "Range":
        """The same values on a finer grid (frac >= self.frac)."""
        if frac < self.frac:
            raise ValueError(f"cannot coarsen a 2^-{self.frac} grid to 2^-{frac} exactly")
        return self._align(frac)

    def fixed(self) -> Fixed:
        """The narrowest format holding every code of the range."""
        if self.lo < 0:
            width = 1 + max(self.hi.bit_length(), (-self.lo - 1).bit_length(), 0)
            return Fixed(max(width, 2), max(width, 2) - self.frac, True)
        width = max(self.hi.bit_length(), 1)
        return Fixed(width, width - self.frac, False)


def hls_type(fmt: Fixed, quantized: bool = False) -> str:
    """ap_fixed spelling; ``quantized`` types round and saturate like QKeras, exact ones need neither."""
    return fmt.hls("AP_RND_CONV", "AP_SAT") if quantized else fmt.hls("AP_TRN", "AP_WRAP")


def to_hls4ml(fmt: Fixed, quantized: bool = False):
    from hls4ml.model.types import FixedPrecisionType

    rounding, saturation = QUANTIZED_ROUNDING if quantized else (None, None)
    return FixedPrecisionType(fmt.width, fmt.integer, fmt.signed, rounding, saturation)


def from_hls4ml(precision) -> Fixed:
    return Fixed(int(precision.width), int(precision.integer), bool(precision.signed))


def conv_accum(inputs: Fixed, weight: Fixed, bias: Fixed, fan_in: int) -> Fixed:
    """Exact type of bias + sum of fan_in products input x weight."""
    return ((Range.of(inputs) * Range.of(weight)).repeat(fan_in) + Range.of(bias)).fixed()


def average_accum(inputs: Fixed, count: int, out: Fixed) -> Fixed:
    """Sum type of a mean over ``count`` values that is then rounded to ``out``.

    hls4ml divides the sum by ``count`` and truncates to this type's LSB.  The exact mean is
    S * 2^-f_in / count; a rounding tie of ``out`` is an odd multiple of 2^-(f_out + 1).  Unless
    the mean is exactly a tie, their difference is a nonzero multiple of
    2^-max(f_in, f_out + 1) / count, so with an LSB finer than that (max(f_in, f_out + 1) +
    ceil(log2(count)) fraction bits) truncation can never move the mean across a tie, and the
    rounding to ``out`` equals the rounding of the exact mean (a tie itself is representable and
    kept exactly).  A power-of-two count needs no more than f_in + log2(count) bits, with which
    the division is exact.
    """
    bits = math.ceil(math.log2(count))
    frac = max(inputs.frac, out.frac + 1) + bits
    if count == 2 ** bits:
        frac = min(frac, inputs.frac + bits)
    return Range.of(inputs).repeat(count).with_frac(max(frac, inputs.frac)).fixed()


def attention_types(v: Fixed, sigmoid: Fixed, scale: Fixed) -> tuple:
    """(gated, product): exact types of V' * sigma(A) and of V' * sigma(A) * S.

    Each is its own type: with |S| < 1 the product needs fewer integer bits than the gate, so
    one type for both would wrap the gate (issue 9, defect 1).
    """
    gated = Range.of(v) * Range.of(sigmoid)
    return gated.fixed(), (gated * Range.of(scale)).fixed()


CONV_LIKE = ops.keras_classes(types=ops.MATRIX)   # the Keras classes with a weights matrix (hw.hls.ops)


def _fan_in(layer) -> int:
    kind = type(layer).__name__
    if kind == "QDense":
        return int(layer.kernel.shape[0])
    if kind == "QDepthwiseConv2D":
        return int(layer.depthwise_kernel.shape[0] * layer.depthwise_kernel.shape[1])
    kh, kw, cin_g, _ = layer.kernel.shape
    return int(kh * kw * cin_g)


def _weight_formats(layer):
    kind = type(layer).__name__
    kernel_q = layer.depthwise_quantizer_internal if kind == "QDepthwiseConv2D" else layer.kernel_quantizer_internal
    weight, bias = from_qkeras(kernel_q), from_qkeras(layer.bias_quantizer_internal)
    if weight is None or bias is None:
        raise ValueError(f"layer {layer.name}: every weight needs a quantizer for an exact HLS type")
    return weight, bias


def derive(model) -> dict:
    """{layer name: {"result": (Fixed, quantized?), "accum": Fixed}} for every layer of a QKeras model."""
    from qmodels.reference import input_layer_names

    types, consumers = {}, {}
    for layer in model.layers:
        for src in input_layer_names(layer):
            consumers.setdefault(src, []).append(layer)
    for layer in model.layers:
        ins = [types[src]["result"][0] for src in input_layer_names(layer)]
        types[layer.name] = _layer_types(layer, type(layer).__name__, ins, consumers.get(layer.name, []))
    return types


def _layer_types(layer, kind, ins, consumers) -> dict:
    if kind == "InputLayer":
        first = consumers[0] if len(consumers) == 1 else None
        if first is None or type(first).__name__ != "QActivation":
            raise ValueError("the model input must feed exactly one QActivation that fixes the input format")
        # the image enters as floats (test bench, bridge) and is converted to this type: rounding
        # and saturating here is the input quantizer itself, for every input format
        return {"result": (from_qkeras(first.quantizer), True)}
    hw_op = ops.of_class(kind)
    rule = hw_op.types if hw_op is not None and kind in hw_op.keras else None
    if rule == ops.ACTIVATION:
        return {"result": (from_qkeras(layer.quantizer), True)}
    if rule == ops.MATRIX:
        weight, bias = _weight_formats(layer)
        accum = conv_accum(ins[0], weight, bias, _fan_in(layer))
        return {"result": (accum, False), "accum": accum}
    if rule == ops.PASS:  # max pooling compares in accum_t: it must be the input type too
        return {"result": (ins[0], False), "accum": ins[0]}
    if rule == ops.ADD:
        total = Range.of(ins[0])
        for fmt in ins[1:]:
            total = total + Range.of(fmt)
        return {"result": (total.fixed(), False)}
    if rule == ops.AVERAGE:
        return _average_types(layer, ins[0], consumers)
    if rule == ops.ATTENTION:
        gated, product = attention_types(ins[0], layer.sigmoid, layer.scale_format)
        return {"result": (layer.output_format, True), "intermediates": {"gated": gated, "product": product}}
    raise ValueError(f"layer {layer.name}: no exact HLS type rule for {kind}")


def _average_types(layer, inputs: Fixed, consumers) -> dict:
    if len(consumers) != 1 or type(consumers[0]).__name__ != "QActivation":
        raise ValueError(f"layer {layer.name}: a global average must feed one QActivation to be computed exactly")
    _, h, w, _ = layer.input_shape
    accum = average_accum(inputs, h * w, from_qkeras(consumers[0].quantizer))
    mean = Range.of(inputs).with_frac(accum.frac).fixed()
    return {"result": (mean, False), "accum": accum}


FLOAT32_SIGNIFICAND = 24   # bits: float32 holds every integer code up to 2^24 exactly


def significant_bits(fmt: Fixed) -> int:
    """Bits of the largest code magnitude; a value on the grid is exact in float32 when <= 24."""
    return fmt.width - 1 if fmt.signed else fmt.width


def intermediates(entry: dict) -> dict:
    """Every format a layer's computation passes through: result, accumulator, stored intermediates."""
    found = {"result": entry["result"][0]}
    if "accum" in entry:
        found["accum"] = entry["accum"]
    found.update(entry.get("intermediates", {}))
    return found


def float32_inexact_layers(model_or_types) -> list:
    """[(layer, bits)] of the layers where Keras' float32 ``predict`` cannot be exact.

    A product or partial sum on a 2^-f grid is exact in float32 only while its code has at most
    24 significant bits; ``bits`` is the widest intermediate's width (its accumulator for a
    convolution, V'·σ(A)·S for an attention).  The exact reference and the C++ are not
    affected: this says where Keras' own model stops being the software model.
    """
    types = model_or_types if isinstance(model_or_types, dict) else derive(model_or_types)
    inexact = []
    for name, entry in types.items():
        widest = max(intermediates(entry).values(), key=significant_bits)
        if significant_bits(widest) > FLOAT32_SIGNIFICAND:
            inexact.append((name, widest.width))
    return inexact
