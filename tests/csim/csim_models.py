"""Small single-layer models and the checks the C-simulation tests share.

A module of its own, not conftest: test files import these by name, and ``from conftest import``
resolves to whichever test folder's conftest was imported first when several run in one process.
"""
import numpy as np
import tensorflow as tf
from qkeras import QActivation, QConv2D

from hw.hls.convert import SoftwareModel
from qmodels.fixed import Fixed
from qmodels.layers import QGroupConv2D, SelectiveAttention, Unpooling2D
from qmodels.reference import calibrate, synthetic_images

W8, B8 = Fixed.parse("fixed<8,1>"), Fixed.parse("fixed<8,3>")
RELU, ATT, INPUT = Fixed.parse("ufixed<8,2>"), Fixed.parse("fixed<8,4>"), Fixed.parse("ufixed<8,0>")


def qconv(x, filters, name, kernel=1, groups=1, **kw):
    cls, extra = (QGroupConv2D, {"groups": groups}) if groups > 1 else (QConv2D, {})
    return cls(filters, kernel, padding="same", name=name, kernel_quantizer=W8.qkeras(),
               bias_quantizer=B8.qkeras(), **extra, **kw)(x)


def layer_model(kind: str, shape, seed=0, **params) -> tf.keras.Model:
    """input -> 8-bit input quantizer -> the layer under test (with the convs that feed it)."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape, name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    if kind == "unpooling":
        out = Unpooling2D(params["factor"], output_size=params["output_size"], name="unpool")(x)
    elif kind == "attention":
        v = QActivation(RELU.qkeras(relu=True), name="v_act")(qconv(x, params["chan"], "v"))
        a = QActivation(ATT.qkeras(), name="a_act")(qconv(x, params["chan"], "a"))
        out = SelectiveAttention(per_channel=params["per_channel"], name="attend")([v, a])
    else:
        y = qconv(x, params["filters"], "gconv", kernel=params["kernel"], groups=params["groups"],
                   strides=params.get("stride", 1))
        out = QActivation(RELU.qkeras(relu=True), name="gconv_act")(y)
    model = tf.keras.Model(inputs, out, name=f"t_{kind}")
    calibrate(model, seed=seed)
    if kind == "attention":
        layer = model.get_layer("attend")
        layer.scale.assign(np.linspace(-2.5, 2.9, layer.scale.shape[0]).astype(np.float32))
    return model


def assert_exact_and_live(report):
    """csim's verdict: every output bit-exact against both software models, and every layer's
    output more than 20% neither zero nor saturated (so the equality says something)."""
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert report["keras_bit_exact_fraction"] == 1.0, report
    assert min(report["liveness"].values()) > 0.2, report["liveness"]


def in_memory(model, cfg):
    images = synthetic_images(cfg.samples, model.input_shape[1:], seed=11)
    return SoftwareModel(model, images, None, {"weights": "seeded", "seed": 0})
