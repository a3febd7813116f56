"""The estimator and planner over multiplier choices (lut, dsp, packed), counted by hand."""
import math

import pytest

from hw.estimate.geometry import LayerGeom
from hw.estimate.layers import LayerSetting, estimate_layer
from hw.estimate.plan import layer_settings
from hw.estimate.reuse import LATENCY_UNROLL_LIMIT, dsp_family, multipliers

FAMILY = "zynq_ultrascale_plus"


def pointwise(cin=8, cout=16, kind="pointwise", data_bits=8, data_signed=False, pixels=(10, 10)) -> LayerGeom:
    return LayerGeom("pw", kind, (*pixels, cin), (*pixels, cout), data_bits, 8, accum_bits=20, weight_bits=8,
                     data_signed=data_signed)


def test_packed_pointwise_by_hand():
    g = pointwise()                       # 8 x 16 = 128 products a pixel, 64 DSP multiplications packed
    est = estimate_layer(g, LayerSetting(4, "latency", "packed"), FAMILY)
    assert est.multipliers == 16 and est.cost.dsp == 16          # ceil(64 / 4)
    products = 128 // 4                                          # 32 accumulators fed per clock
    assert est.cost.lut == pytest.approx(products * 20 + 16 * 2 * 8 + 40)   # adders, two muxed weights a DSP, control
    assert est.cost.ff == pytest.approx(products * 20 + 40)
    assert est.ii == 4 and est.cycles == 100 * 4 + est.depth
    dsp = estimate_layer(g, LayerSetting(4, "latency", "dsp"), FAMILY)   # hls4ml's latency kernel, DSP product
    assert dsp.cost.dsp == 32 and dsp.storage == "registers"
    resource = estimate_layer(g, LayerSetting(4, "resource", "dsp"), FAMILY)  # hls4ml's resource kernel
    assert resource.cost.dsp == 32 and resource.storage == "bram" and resource.cost.bram18 > 0
    lut = estimate_layer(g, LayerSetting(4, "latency", "lut"), FAMILY)
    assert lut.cost.dsp == 0 and lut.cost.lut > est.cost.lut                # the 8x8 products in fabric


def test_odd_channels_leave_one_product_a_dsp():
    est = estimate_layer(pointwise(cout=7), LayerSetting(1, "latency", "packed"), FAMILY)
    assert est.cost.dsp == 8 * (3 + 1)                          # three pairs and one single per input


def test_which_layers_may_use_dsps():
    assert multipliers(pointwise(), FAMILY) == ("lut", "dsp", "packed")
    assert multipliers(pointwise(kind="dense"), FAMILY) == ("lut", "dsp")    # hls4ml's kernel, DSP product
    depthwise = LayerGeom("dw", "depthwise", (10, 10, 8), (10, 10, 8), 8, 8, accum_bits=16, kernel=(3, 3),
                          weight_bits=8)
    assert multipliers(depthwise, FAMILY) == ("lut", "dsp")                  # one channel a group: no pair
    big = pointwise(cin=64, cout=128)
    assert big.products_per_pixel > LATENCY_UNROLL_LIMIT and multipliers(big, FAMILY) == ("lut", "dsp", "packed")
    packed = [s for s in layer_settings(big, FAMILY) if s.multiplier == "packed"]   # unrolled a step at a time
    assert packed and all(s.fold > 1 and big.products_per_pixel / s.fold <= LATENCY_UNROLL_LIMIT for s in packed)
    assert dsp_family("zynq7000") == "dsp48e1" and multipliers(pointwise(), "zynq7000")[-1] == "packed"
    assert multipliers(pointwise(data_bits=12, data_signed=False), FAMILY) == ("lut", "dsp")  # 12x8 not exact
    assert multipliers(LayerGeom("a", "attention", (4, 4, 8), (4, 4, 8), 8, 8), FAMILY) == ("lut",)


def test_planner_options_include_every_multiplier_at_its_reuse_factors():
    options = layer_settings(pointwise(), FAMILY)
    kinds = {(s.multiplier, s.strategy) for s in options}
    assert kinds == {("lut", "latency"), ("lut", "resource"), ("dsp", "latency"), ("dsp", "resource"),
                     ("packed", "latency")}
    packed = sorted(s.reuse for s in options if s.multiplier == "packed" and s.storage == "registers")
    assert packed[0] == 1 and packed[-1] == 64 and all(s.strategy == "latency" for s in options if s.multiplier == "packed")
    # each packed factor buys a distinct DSP count (the useful ones only)
    counts = [math.ceil(64 / r) for r in packed]
    assert len(set(counts)) == len(counts)
