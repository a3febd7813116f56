"""Per-layer multipliers (lut, dsp, packed): 'packed' convolutions (and 'dsp' depthwise ones) are
routed to our grouped conv (hw/hls/layers/dsp_route.py), whose products are bound per layer
(nnet_dsp_pack.h); 'dsp' convs and dense layers keep hls4ml's kernel with a DSP product class
(hw/hls/layers/dsp_product.py).  The C++ stays bit-exact against both software models on both
backends and io types, on live data."""
import pytest
import tensorflow as tf
from qkeras import QActivation, QDense, QDepthwiseConv2D

from csim_models import B8, INPUT, RELU, W8, qconv, assert_exact_and_live
from hw.config import BuildConfig, ConfigError, LayerSettings
from hw.sim.csim import csim
from qmodels.reference import calibrate

# conv 3x3 and pointwise (hls4ml's, routed), depthwise (hls4ml's, routed), grouped (ours)
MULTIPLIERS = {"stem": "packed", "pw": "packed", "dw": "dsp", "g": "packed"}


def dsp_model(seed=0) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((7, 6, 3), name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    x = QActivation(RELU.qkeras(relu=True), name="stem_act")(qconv(x, 8, "stem", kernel=3))
    x = QActivation(RELU.qkeras(relu=True), name="pw_act")(qconv(x, 7, "pw"))      # odd: one channel unpaired
    dw = QDepthwiseConv2D(3, padding="same", name="dw", depthwise_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())
    x = QActivation(RELU.qkeras(relu=True), name="dw_act")(dw(x))
    x = QActivation(RELU.qkeras(relu=True), name="g_act")(qconv(x, 14, "g", kernel=3, groups=7))
    model = tf.keras.Model(inputs, x, name="t_dsp")
    calibrate(model, seed=seed)
    return model


@pytest.fixture
def generate_dsp(generate_in_memory):
    def run(model, backend, io, multipliers, reuse=1, board="zcu104", strategy=None):
        layers = {name: LayerSettings(reuse=reuse, multiplier=m, strategy=strategy) for name, m in multipliers.items()}
        return generate_in_memory(model, backend, io, board=board, layers=layers)

    return run


@pytest.mark.parametrize("backend,io,reuse", [("vitis", "stream", 1), ("vivado", "stream", 3),
                                              ("vitis", "parallel", 2)])
def test_dsp_and_packed_layers_are_exact(generate_dsp, backend, io, reuse):
    out, resolved = generate_dsp(dsp_model(), backend, io, MULTIPLIERS, reuse)
    assert_exact_and_live(csim(out, modes=("emulation",)))
    layers = resolved["layers"]
    for name in MULTIPLIERS:      # routed, fused, and at the requested reuse factor
        assert layers[name]["class"] == "HGroupConv2D" and layers[name]["reuse_factor"] == reuse, layers[name]
        assert layers[name]["types"]["result_t"].startswith("ufixed<8,2,RND_CONV,SAT"), layers[name]
    params = (out / "firmware" / "parameters.h").read_text()
    assert params.count("nnet::mult_impl::packed") == 3 and params.count("nnet::mult_impl::dsp;") == 1
    assert "typedef nnet::dsp48e2 dsp_family" in params


def test_packed_on_zynq7000_uses_the_dsp48e1_shift(generate_dsp):
    out, _ = generate_dsp(dsp_model(), "vitis", "stream", {"pw": "packed"}, board="pynq-z2")
    assert "typedef nnet::dsp48e1 dsp_family" in (out / "firmware" / "parameters.h").read_text()
    report = csim(out, modes=("emulation",))
    assert report["bit_exact_fraction"] == 1.0, report


@pytest.mark.parametrize("layer,multiplier,words", [
    ("dw", "packed", "'packed' is not possible for dw"),             # one output channel per group
    ("input_q", "dsp", "is for convolution and dense layers"),
])
def test_impossible_multipliers_are_refused_by_name(generate_dsp, layer, multiplier, words):
    with pytest.raises(ConfigError, match=f"field 'layers.{layer}.multiplier': .*{words}"):
        generate_dsp(dsp_model(), "vitis", "stream", {layer: multiplier})


def test_multiplier_field_is_checked():
    with pytest.raises(ConfigError, match="layers.pw.multiplier': expected one of lut, dsp, packed, got 'dsp48'"):
        BuildConfig.from_dict({"model": "attendnet-tiny", "layers": {"pw": {"multiplier": "dsp48"}}})


def dense_model(seed=0) -> tf.keras.Model:
    """conv 3x3, pointwise and dense: hls4ml's kernels, each with a DSP product."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((6, 6, 3), name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    x = QActivation(RELU.qkeras(relu=True), name="stem_act")(qconv(x, 8, "stem", kernel=3))
    x = QActivation(RELU.qkeras(relu=True), name="pw_act")(qconv(x, 12, "pw"))
    x = QActivation(RELU.qkeras(relu=True), name="gap_act")(tf.keras.layers.GlobalAveragePooling2D(name="gap")(x))
    x = QDense(5, name="fc", kernel_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())(x)
    model = tf.keras.Model(inputs, x, name="t_dsp_product")
    calibrate(model, seed=seed)
    return model


@pytest.mark.parametrize("backend,io,strategy,reuse", [("vitis", "stream", "resource", 4),
                                                       ("vivado", "stream", "latency", 2),
                                                       ("vitis", "parallel", "resource", 3)])
def test_dsp_product_keeps_hls4mls_kernel_exactly(generate_dsp, backend, io, strategy, reuse):
    layers = {"stem": "dsp", "pw": "dsp", "fc": "dsp"}
    out, resolved = generate_dsp(dense_model(), backend, io, layers, reuse, strategy=strategy)
    assert_exact_and_live(csim(out, modes=("emulation",)))
    classes = {name: resolved["layers"][name]["class"] for name in layers}
    assert classes == {"stem": "DspConv2D", "pw": "DspPointwiseConv2D", "fc": "DspDense"}, classes
    assert {resolved["layers"][name]["strategy"].lower() for name in layers} == {strategy}
    params = (out / "firmware" / "parameters.h").read_text()
    assert params.count("using product = nnet::product::mult_dsp<x_T, y_T>;") == 3
    assert '#include "nnet_utils/nnet_mult_dsp.h"' in (out / "firmware" / "parameters.h").read_text()
