"""The folded global average (``layers.NAME.fold: F`` on a GlobalAveragePooling2D): our HGlobalAverage
(hw/hls/layers/global_average.py, nnet_global_average.h) in place of hls4ml's kernel, bit-exact
against both software models on live data for every kind of fold, on both backends, with its
activation fused into it and not; bad folds refused by name."""
import pytest
import tensorflow as tf
from qkeras import QActivation, QDense

from csim_models import B8, INPUT, RELU, W8, qconv, assert_exact_and_live
from hw.config import ConfigError, LayerSettings
from hw.sim.csim import csim
from qmodels.reference import calibrate

CHANNELS = 12


def gap_model(seed=0) -> tf.keras.Model:
    """conv -> ReLU -> global average (6 x 5 = 30 pixels: a division that truncates) -> its
    quantized ReLU -> dense."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((6, 5, 3), name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    x = QActivation(RELU.qkeras(relu=True), name="conv_act")(qconv(x, CHANNELS, "conv", kernel=3))
    x = QActivation(RELU.qkeras(relu=True), name="gap_act")(tf.keras.layers.GlobalAveragePooling2D(name="gap")(x))
    x = QDense(4, name="fc", kernel_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())(x)
    model = tf.keras.Model(inputs, x, name="t_gap")
    calibrate(model, seed=seed)
    return model


@pytest.mark.parametrize("backend,fold,fuse", [
    ("vitis", 1, True), ("vitis", 2, True), ("vitis", 4, True), ("vitis", CHANNELS, True),
    ("vivado", 3, True), ("vivado", CHANNELS, False), ("vitis", 2, False), ("vivado", 1, False)])
def test_folded_global_average_is_exact(generate_in_memory, backend, fold, fuse):
    out, resolved = generate_in_memory(gap_model(), backend, "stream", fuse_activations=fuse,
                                       layers={"gap": LayerSettings(fold=fold)})
    assert_exact_and_live(csim(out, modes=("emulation",)))
    layers, firmware = resolved["layers"], (out / "firmware" / "t_gap.cpp").read_text()
    gap = layers["gap"]
    assert ("gap_act" in layers) is not fuse
    assert gap["types"]["result_t"].startswith("ufixed<8,2,RND_CONV,SAT") is fuse, gap
    if fold == 1:
        assert gap["class"] == "GlobalPooling2D" and "fold" not in gap, gap
        assert "nnet::global_pooling2d_cl<" in firmware and "global_average_stream" not in firmware
    else:
        assert (gap["class"], gap["fold"]) == ("HGlobalAverage", fold), gap
        assert "nnet::global_average_stream<" in firmware and "global_pooling2d_cl" not in firmware
        params = (out / "firmware" / "parameters.h").read_text()
        assert (f"static const unsigned fold = {fold};\n    static const unsigned lanes = {CHANNELS // fold};"
                in params)


@pytest.mark.parametrize("io,settings,words", [
    ("stream", LayerSettings(fold=5), r"field 'layers.gap.fold': layer gap: fold 5 is not possible for a global "
                                      r"average of 12 channels; a fold divides the channels: 1, 2, 3, 4, 6, 12"),
    ("parallel", LayerSettings(fold=2), r"field 'layers.gap.fold': a folded global average exists for io_stream "
                                        r"only; with io_parallel gap takes fold 1"),
    ("stream", LayerSettings(fold=2, storage="bram"), r"field 'layers.gap.storage': a global average has no "
                                                      r"weights to store; a weight storage is for convolutions"),
])
def test_impossible_gap_settings_are_refused_by_name(generate_in_memory, io, settings, words):
    with pytest.raises(ConfigError, match=words) as err:
        generate_in_memory(gap_model(), "vitis", io, layers={"gap": settings})
    assert "\n" not in str(err.value)


def test_other_layers_name_the_global_average_as_taking_a_fold(generate_in_memory):
    with pytest.raises(ConfigError, match=r"field 'layers.gap_act.fold': a fold is for convolutions \(.*\) and the "
                                          r"global average \(GlobalAveragePooling2D\); gap_act is a QActivation"):
        generate_in_memory(gap_model(), "vitis", "stream", layers={"gap_act": LayerSettings(fold=2)})
