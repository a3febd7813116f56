"""Folded convolutions (``layers.NAME.fold: F``): a pixel's output channels made F groups at a
time in our grouped conv (nnet_group_conv2d.h), hls4ml's convs routed to it
(hw/hls/layers/dsp_route.py); with ``storage: bram|lutram`` the weights are a ROM read one row a
clock (hw/hls/layers/weight_rows.py).  The C++ stays bit-exact against both software models, with
every multiplier and storage, on both backends and io types, on live data; bad folds are refused
by name."""
import pytest
import tensorflow as tf
from qkeras import QActivation, QDepthwiseConv2D

from csim_models import B8, INPUT, RELU, W8, qconv, assert_exact_and_live
from hw.config import BuildConfig, ConfigError, LayerSettings
from hw.hls.layers.group_conv import check_fold, largest_fold, valid_folds
from hw.sim.csim import csim
from qmodels.reference import calibrate


def fold_model(seed=0) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((7, 6, 3), name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    x = QActivation(RELU.qkeras(relu=True), name="stem_act")(qconv(x, 8, "stem", kernel=3, strides=2))
    x = QActivation(RELU.qkeras(relu=True), name="pw_act")(qconv(x, 12, "pw"))
    dw = QDepthwiseConv2D(3, padding="same", name="dw", depthwise_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())
    x = QActivation(RELU.qkeras(relu=True), name="dw_act")(dw(x))
    x = QActivation(RELU.qkeras(relu=True), name="g_act")(qconv(x, 24, "g", kernel=3, groups=6))
    model = tf.keras.Model(inputs, x, name="t_fold")
    calibrate(model, seed=seed)
    return model


# (reuse, fold, multiplier) per layer: folds that fill R (fold = R) and that leave an interval
# (fold < R), and (with a storage) R / fold window taps a clock from a ROM row
SETTINGS = {"stem": (4, 4, "lut"), "pw": (6, 3, "packed"), "dw": (4, 4, "dsp"), "g": (8, 4, "packed")}
IN_ROWS = {"stem": (12, 4, "lut", "bram"), "pw": (6, 3, "packed", "bram"), "dw": (12, 4, "dsp", "lutram"),
           "g": (8, 4, "packed", "bram")}


@pytest.fixture
def generate_fold(generate_in_memory):
    def run(model, backend, io, settings):
        layers = {name: LayerSettings(reuse=r, fold=f, multiplier=m, storage=(rest or [None])[0])
                  for name, (r, f, m, *rest) in settings.items()}
        return generate_in_memory(model, backend, io, layers=layers)

    return run


@pytest.mark.parametrize("backend,io", [("vitis", "stream"), ("vivado", "stream"), ("vitis", "parallel")])
def test_folded_layers_are_exact(generate_fold, backend, io):
    out, resolved = generate_fold(fold_model(), backend, io, SETTINGS)
    assert_exact_and_live(csim(out, modes=("emulation",)))
    params = (out / "firmware" / "parameters.h").read_text()
    for name, (reuse, fold, multiplier) in SETTINGS.items():
        layer = resolved["layers"][name]
        assert (layer["class"], layer["reuse_factor"], layer.get("fold")) == ("HGroupConv2D", reuse, fold), layer
        assert (f"static const unsigned fold = {fold};\n    static const unsigned in_steps = 1;\n"
                f"    static const unsigned fold_interval = {reuse // fold};") in params


@pytest.mark.parametrize("backend,io", [("vitis", "stream"), ("vivado", "parallel")])
def test_weights_in_rows_are_exact(generate_fold, backend, io):
    out, resolved = generate_fold(fold_model(), backend, io, IN_ROWS)
    assert_exact_and_live(csim(out, modes=("emulation",)))
    firmware = "".join(p.read_text() for p in (out / "firmware").glob("*.cpp"))
    params = (out / "firmware" / "parameters.h").read_text()
    for name, (reuse, fold, _, storage) in IN_ROWS.items():
        assert resolved["layers"][name].get("storage") == storage, resolved["layers"][name]
        assert (f"static const unsigned in_steps = {reuse // fold};\n    static const unsigned fold_interval = 1;\n"
                f"    static const bool weights_in_rows = true;") in params
    assert firmware.count("nnet::group_conv_2d_bram_cl<") == 3 and firmware.count("nnet::group_conv_2d_lutram_cl<") == 1


def test_fold_1_leaves_hls4mls_kernel(generate_fold):
    _, resolved = generate_fold(fold_model(), "vitis", "stream", {"pw": (2, 1, "lut")})
    assert resolved["layers"]["pw"]["class"] == "PointwiseConv2D" and "fold" not in resolved["layers"]["pw"]


@pytest.mark.parametrize("layer,setting,words", [
    ("pw", (6, 4, "lut"), "fold 4 is not possible with 12 output channels at reuse factor 6 .*: 1, 2, 3, 6"),
    ("g", (8, 8, "packed"), "fold 8 is not possible with 24 output channels"),   # 3 channels: a pair split
    ("input_q", (1, 2, "lut"), "a fold is for convolutions"),
])
def test_impossible_folds_are_refused_by_name(generate_fold, layer, setting, words):
    with pytest.raises(ConfigError, match=f"field 'layers.{layer}.fold': .*{words}"):
        generate_fold(fold_model(), "vitis", "stream", {layer: setting})


def test_rows_need_the_taps_divided(generate_fold):
    with pytest.raises(ConfigError, match="field 'layers.stem.fold': .*R / fold must divide the 27 window taps"):
        generate_fold(fold_model(), "vitis", "stream", {"stem": (8, 4, "lut", "bram")})   # 2 does not divide 27
    with pytest.raises(ConfigError, match="field 'layers.input_q.storage': a weight storage is for convolutions"):
        generate_fold(fold_model(), "vitis", "stream", {"input_q": (1, 1, "lut", "bram")})


def test_fold_and_storage_fields_are_checked():
    with pytest.raises(ConfigError, match="layers.pw.fold': expected an integer from 1 to 4096"):
        BuildConfig.from_dict({"model": "attendnet-tiny", "layers": {"pw": {"fold": 0}}})
    with pytest.raises(ConfigError, match="layers.pw.storage': expected one of registers, bram, lutram, uram, got "
                                          "'flash'"):   # uram's own rules: tests/csim/test_uram_weights.py
        BuildConfig.from_dict({"model": "attendnet-tiny", "layers": {"pw": {"storage": "flash"}}})


def test_valid_folds_rules():
    g = {"n_chan": 12, "n_filt": 24, "n_groups": 6, "filt_height": 3, "filt_width": 3}   # 4 channels a group
    assert valid_folds(g, 12, "lut") == (1, 2, 3, 4, 6, 12)
    assert valid_folds(g, 12, "packed") == (1, 2, 3, 4, 6, 12)   # even folds of even groups keep the pairs
    assert largest_fold(g, 7, "lut") == 1 and largest_fold(g, 8, "lut") == 8
    odd = {"n_chan": 7, "n_filt": 21, "n_groups": 7, "filt_height": 1, "filt_width": 1}  # 3 a group: 1 pair + 1
    assert valid_folds(odd, 21, "packed") == (1, 7)               # whole groups only
    with pytest.raises(ValueError, match="layer x: fold 3 is not possible"):
        check_fold("x", odd, 21, "packed", 3)
