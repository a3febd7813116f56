"""The derived HLS types: wide enough to be exact, and not a bit wider than the proof needs."""
import itertools
import math

import numpy as np
import pytest

from hw.hls.precision import Range, attention_types, average_accum, conv_accum
from qmodels.fixed import Fixed

RELU, W8, B8 = Fixed.parse("ufixed<8,2>"), Fixed.parse("fixed<8,1>"), Fixed.parse("fixed<8,3>")


def _fits(fmt: Fixed, value: float) -> bool:
    code = value * 2 ** fmt.frac
    return code == int(code) and fmt.min_code <= code <= fmt.max_code


@pytest.mark.parametrize("fan_in", [1, 9, 27, 288, 1024])
def test_conv_accum_holds_the_extremes_and_is_tight(fan_in):
    acc = conv_accum(RELU, W8, B8, fan_in)
    most = fan_in * RELU.max * W8.max + B8.max     # all inputs at max, all weights at max
    least = fan_in * RELU.max * W8.min + B8.min     # all weights at the most negative
    assert _fits(acc, most) and _fits(acc, least)
    narrower = Fixed(acc.width - 1, acc.integer - 1, acc.signed)
    assert not (_fits(narrower, most) and _fits(narrower, least))


@pytest.mark.parametrize("scale", ["fixed<8,3>", "ufixed<1,0>", "fixed<6,-2>", "ufixed<12,5>"])
def test_attention_types_hold_the_gate_and_the_product(scale):
    """Both intermediates fit their own type; with |S| < 1 the gate does not fit the product's (defect 1)."""
    sig, s = Fixed.parse("ufixed<8,0>"), Fixed.parse(scale)
    gated_t, product_t = attention_types(RELU, sig, s)
    for v, g, k in itertools.product(RELU.grid()[::7], sig.grid()[::5], s.grid()[:: max(1, s.max_code // 9)]):
        assert _fits(gated_t, v * g) and _fits(product_t, v * g * k)
    if s.max < 1:
        assert not _fits(product_t, RELU.max * sig.max)


@pytest.mark.parametrize("count,inp,out", [(n, "fixed<8,3>", "fixed<8,3>") for n in (2, 3, 4, 9, 16, 25, 49, 64)] + [
    (9, "fixed<12,3>", "fixed<6,3>"), (49, "ufixed<14,2>", "ufixed<4,2>"),   # input grid finer than the output's
    (25, "ufixed<4,2>", "fixed<12,1>"), (3, "fixed<2,1>", "fixed<16,4>")])
def test_average_truncated_at_the_derived_lsb_rounds_like_the_exact_mean(count, inp, out):
    """hls4ml divides the sum by N and truncates (toward zero) to accum's LSB; the quantizer after it
    must then round exactly as if the mean were exact.  Checked for every possible sum."""
    inp, out = Fixed.parse(inp), Fixed.parse(out)
    acc = average_accum(inp, count, out)
    sums = np.arange(count * inp.min_code, count * inp.max_code + 1)          # every sum, in input codes
    exact = sums * inp.step / count
    scale = 2.0 ** acc.frac
    truncated = np.trunc(sums * inp.step * scale / count) / scale
    np.testing.assert_array_equal(out.quantize(truncated), out.quantize(exact))
    if acc.frac > inp.frac and inp == out:   # tight here: one fraction bit less changes some rounding
        coarse = 2.0 ** (acc.frac - 1)
        assert not np.array_equal(out.quantize(np.trunc(sums * inp.step * coarse / count) / coarse),
                                  out.quantize(exact))


def test_range_arithmetic_is_exact_integer_arithmetic():
    a, b = Range(-3, 5, 2), Range(1, 2, 0)
    assert a * b == Range(-6, 10, 2)
    assert (a + b) == Range(1, 13, 2)
    assert Range(0, 255, 6).fixed() == Fixed(8, 2, False)
    assert Range(-128, 127, 7).fixed() == Fixed(8, 1, True)
    assert Range(-1, 0, 0).fixed() == Fixed(2, 2, True)
    assert math.isclose(Range.of(W8).fixed().max, W8.max)


def test_float32_inexact_layers_names_the_wide_accumulators():
    from hw.hls.precision import float32_inexact_layers

    narrow = {"conv": {"result": (Fixed(21, 8, True), False), "accum": Fixed(21, 8, True)},
              "act": {"result": (RELU, True)}}
    assert float32_inexact_layers(narrow) == []
    edge = {"conv": {"result": (Fixed(25, 8, True), False), "accum": Fixed(25, 8, True)},   # 24 bits + sign
            "gap": {"result": (Fixed(24, 8, False), False), "accum": Fixed(24, 8, False)}}
    assert float32_inexact_layers(edge) == []
    wide = {"conv": {"result": (Fixed(26, 8, True), False), "accum": Fixed(26, 8, True)},
            "attend": {"result": (Fixed(8, 3, True), True),
                       "intermediates": {"gated": Fixed(20, 2, False), "product": Fixed(33, 5, True)}},
            "act": {"result": (RELU, True)}}
    assert float32_inexact_layers(wide) == [("conv", 26), ("attend", 33)]


def test_float32_inexact_layers_of_a_16_bit_network():
    """Defect 3 of issue 9: 16-bit formats push the accumulators past float32's significand."""
    import dataclasses

    from hw.hls.precision import float32_inexact_layers
    from qmodels.build import build_model
    from qmodels.spec import load_spec

    assert float32_inexact_layers(build_model("attendnet-tiny", input_shape=(8, 8, 3), calibrate=False)) == []
    spec = load_spec("attendnet-tiny")
    wide = {"weight": "fixed<16,1>", "activation": "ufixed<16,2>", "linear": "fixed<16,3>", "bias": "fixed<16,3>"}
    spec16 = dataclasses.replace(spec, quantization=dataclasses.replace(spec.quantization, **wide))
    layers = dict(float32_inexact_layers(build_model(spec16, input_shape=(8, 8, 3), calibrate=False)))
    assert "s00_conv_conv" in layers or any(name.startswith("s00_conv") for name in layers), layers
    assert all(bits > 25 for bits in layers.values())
