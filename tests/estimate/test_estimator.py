"""The estimator against layers counted by hand: multipliers, weight bits, FIFO bits, cycles, memories."""
import math

import numpy as np
import pytest
import tensorflow as tf
from qkeras import QActivation, QConv2D, QDense

from hw.boards import load_board
from hw.estimate import costs as C
from hw.estimate.geometry import from_model
from hw.estimate.layers import LayerSetting, estimate_layer
from hw.estimate.network import coefficients, estimate_network
from hw.estimate.reuse import hls4ml_valid, valid_reuse_factors
from hw.estimate.source import streams_for
from qmodels.fixed import Fixed

W8, B8, RELU, INPUT = (Fixed.parse(t) for t in ("fixed<8,1>", "fixed<8,3>", "ufixed<8,2>", "ufixed<8,0>"))
# 3x3 kernel, 2 -> 3 channels, as codes on the fixed<8,1> grid (x 2^-7): 10 zeros, 8 powers of two
CODES = np.array([0, 0, 1, 2, -4, 64, 3, 5, 7, -3, 0, 0, 6, 12, -127, 0, 0, 9] * 3).reshape(3, 3, 2, 3)


def small_model():
    """image 6x5x2 -> input_q -> 3x3 'same' conv (hand-set codes) -> relu -> dense 4."""
    inputs = tf.keras.Input((6, 5, 2), name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    conv = QConv2D(3, 3, padding="same", name="conv", kernel_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())
    x = QActivation(RELU.qkeras(relu=True), name="relu")(conv(x))
    x = tf.keras.layers.Flatten(name="flat")(x)
    dense = QDense(4, name="fc", kernel_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())
    model = tf.keras.Model(inputs, dense(x), name="small")
    conv.set_weights([CODES.astype(np.float32) / 128, np.zeros(3, np.float32)])
    return model


@pytest.fixture(scope="module")
def geoms():
    return {g.name: g for g in from_model(small_model())}


def test_geometry_of_a_padded_conv(geoms):
    # no input_q: the image enters in its format, and hls4ml removes the quantizer and its stream
    assert list(geoms) == ["zp2d_conv", "conv", "relu", "flat", "fc"]
    conv = geoms["conv"]
    assert conv.in_shape == (8, 7, 2) and conv.out_shape == (6, 5, 3)   # hls4ml pads before the conv
    assert conv.matrix == (18, 3) and conv.products_per_pixel == 54
    assert conv.nonzero == 54 - 18 and conv.weight_memory_bits == 54 * 8
    assert conv.macs == 54 * 30


def test_constant_multipliers_skip_zeros_and_shifts(geoms):
    est = estimate_layer(geoms["conv"], LayerSetting(1, "latency"), "zynq_ultrascale_plus")
    # per 18 codes: 6 zeros (no product), 1, 2, -4, 64 (shifts), 3 5 7 -3 6 12 -127 9 (8 multipliers)
    assert est.multipliers == 8 * 3
    assert est.cost.dsp == 0                          # 8-bit weights: LUTs (hls4ml's < 9-bit rule)
    assert est.storage == "registers"
    # shift-and-add: (CSD digits - 1) adders of (8 data bits + the weight's significant bits), by hand:
    # 3 = 4-1 (3 bits), 5 = 4+1 (4), 7 = 8-1 (4), -3 (3), 6 = 3<<1 (3), 12 = 3<<2 (3), -127 = -128+1 (8), 9 = 8+1 (5)
    products = 3 * sum(8 + sig for sig in (3, 4, 4, 3, 3, 3, 8, 5))
    accumulate = 36 * geoms["conv"].accum_bits        # one adder per non-zero product, accumulator wide
    lines = (3 - 1) * 2 * 8 / 2                       # (K-1) x C SRL16 lines of the padded width 7, two per LUT
    assert est.cost.lut == pytest.approx(products + accumulate + lines + 40)   # + loop control


def test_shared_multipliers_after_reuse(geoms):
    conv = geoms["conv"]
    latency = estimate_layer(conv, LayerSetting(4, "latency"), "zynq_ultrascale_plus")
    resource = estimate_layer(conv, LayerSetting(6, "resource"), "zynq_ultrascale_plus")
    assert latency.multipliers == math.ceil(36 / 4)     # zeros removed, then shared
    assert resource.multipliers == 54 // 6              # Resource keeps zeros: they sit in BRAM
    assert resource.storage == "bram"
    assert resource.cost.bram18 == 2                    # 6 deep x (9 x 8 bits) wide: two 512x36 BRAM18
    assert latency.ii == 4 and latency.cycles == 8 * 7 * 4 + latency.depth   # padded input pixels x II


def test_fifo_bits_of_the_streams(geoms):
    model = small_model()
    streams = {s.name: s for s in streams_for(list(geoms.values()), model)}
    conv_bits = geoms["conv"].result_bits
    assert conv_bits == geoms["conv"].accum_bits
    assert {s.name: (s.depth, s.bits) for s in streams.values()} == {
        "zp2d_conv->conv": (2, 2 * 8), "conv->relu": (2, 3 * conv_bits),
        "relu->flat": (2, 3 * 8), "flat->fc": (2, 90 * 8)}


def test_network_totals_add_up(geoms):
    board = load_board("zcu104")
    est = estimate_network(list(geoms.values()), {}, board, 5.0, [])
    layer_sum = sum(layer.cost.lut for layer in est.layers)
    assert est.totals["lut"] == round(layer_sum)
    assert est.interval_cycles == max(layer.cycles for layer in est.layers) + 1
    assert est.fps == pytest.approx(200e6 / est.interval_cycles)
    # every DSP making two 8x8 products (packing is exact for 8-bit data and weights on a DSP48E2)
    # plus every LUT in 8x8 fabric multipliers (64 LUTs each, at the fitted LUT scale)
    lut_mults = 230_400 // (64 * coefficients()["lut_scale"])
    assert est.multipliers["per_clock"] == 1728 * 2 + lut_mults
    assert est.physical_limit_fps == pytest.approx((1728 * 2 + lut_mults) * 200e6 / est.macs)


@pytest.mark.parametrize("value,digits,sig", [(0, 0, 0), (1, 1, 1), (-4, 1, 1), (3, 2, 3), (7, 2, 4),
                                              (11, 3, 5), (-127, 2, 8), (96, 2, 3)])
def test_signed_digits_and_significant_bits(value, digits, sig):
    assert C.csd_digits(np.array([value]))[0] == digits
    assert C.significant_bits(np.array([value]))[0] == sig


def test_memories_map_by_size():
    assert C.memory(16, 8) == C.Cost(lut=8, ff=8)                   # 128 bits: distributed RAM
    assert C.memory(512, 36).bram18 == 1 and C.memory(1024, 18).bram18 == 1
    assert C.memory(1000, 40).bram18 == 3                           # 1Kx18 x 3 beats 512x36 x 4
    assert C.memory(5000, 72, "uram").uram == 2
    assert C.fifo(2, 100).bram18 == 0 and C.fifo(900, 16).bram18 == 1    # as in the published report


def test_dsp_per_product_by_family():
    assert C.dsps_per_product(8, 8, "zynq_ultrascale_plus") == 0
    assert C.dsps_per_product(16, 16, "zynq7000") == 1
    assert C.dsps_per_product(26, 16, "zynq7000") == 2               # 25x18 on DSP48E1
    assert C.dsps_per_product(26, 16, "zynq_ultrascale_plus") == 1   # 27x18 on DSP48E2


@pytest.mark.parametrize("n_in,n_out", [(27, 32), (32, 16), (144, 24), (96, 42), (512, 272)])
def test_reuse_factors_are_hls4mls(n_in, n_out):
    from hls4ml.backends import get_backend

    backend = get_backend("Vitis")
    ours = [rf for rf in range(1, n_in * n_out + 1) if hls4ml_valid(n_in, n_out, rf)]
    assert ours == backend.get_valid_reuse_factors(n_in, n_out)


def test_latency_strategy_refused_beyond_the_unroll_limit(geoms):
    conv = geoms["conv"]
    assert valid_reuse_factors(conv, "latency") == valid_reuse_factors(conv, "resource")
    big = type(conv)(**{**conv.__dict__, "in_shape": (8, 7, 300), "weights": None})
    assert valid_reuse_factors(big, "latency") == () and valid_reuse_factors(big, "resource")
