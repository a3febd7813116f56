"""Formats other than the defaults stay bit-exact (issue 9, defects 1 and 2), on small models.

Each model makes the defect visible on live data: both failed before the fix (NOT EXACT at the
attention, and at the input quantizer)."""
import numpy as np
import tensorflow as tf
from qkeras import QActivation, QConv2D

from csim_models import ATT, B8, RELU, W8
from qmodels.fixed import Fixed
from qmodels.layers import SelectiveAttention
from qmodels.reference import calibrate


def _conv(x, filters, name):
    return QConv2D(filters, 1, padding="same", name=name, kernel_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())(x)


def _model(input_format: str, scale_format: str, scale: float, name: str) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(3)
    inputs = tf.keras.Input((5, 6, 3), name="image")
    x = QActivation(Fixed.parse(input_format).qkeras(), name="input_q")(inputs)
    v = QActivation(RELU.qkeras(relu=True), name="v_act")(_conv(x, 4, "v"))
    a = QActivation(ATT.qkeras(), name="a_act")(_conv(x, 4, "a"))
    out = SelectiveAttention(scale=scale_format, name="attend")([v, a])
    model = tf.keras.Model(inputs, out, name=name)
    calibrate(model, seed=3)
    # V' well above 2 and sigma(A) near 1, so that V'*sigma(A) needs its two integer bits
    for conv, bias in (("v", 2.5), ("a", 3.0)):
        kernel, _ = model.get_layer(conv).get_weights()
        model.get_layer(conv).set_weights([kernel, np.full((4,), bias, np.float32)])
    model.get_layer("attend").scale.assign(np.full((1,), scale, np.float32))
    return model


def _exact(report):
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert min(report["liveness"].values()) > 0.2, report["liveness"]


def test_scale_below_one_keeps_the_gate_exact(run_csim):
    """S = 0.5 in ufixed<1,0>: V'*sigma(A) once wrapped in the narrower type of V'*sigma(A)*S."""
    _exact(run_csim(_model("ufixed<8,0>", "ufixed<1,0>", 0.5, "t_scale_half"), samples=2))


def test_input_coarser_than_the_pixel_grid_rounds_like_the_quantizer(run_csim):
    """ufixed<6,0> inputs: p/256 is rounded half to even and saturated (255/256 -> 63/64), not truncated."""
    _exact(run_csim(_model("ufixed<6,0>", "fixed<8,3>", 1.25, "t_input6"), io="parallel", samples=2))
