"""Helpers for the C-simulation tests: small single-layer models and a generate+csim round trip."""
import numpy as np
import pytest
import tensorflow as tf
from qkeras import QActivation, QConv2D

from hw.config import BuildConfig
from hw.hls.convert import generate
from hw.sim.csim import csim
from qmodels.fixed import Fixed
from qmodels.layers import QGroupConv2D, SelectiveAttention, Unpooling2D
from qmodels.reference import calibrate

W8, B8 = Fixed.parse("fixed<8,1>"), Fixed.parse("fixed<8,3>")
RELU, ATT, INPUT = Fixed.parse("ufixed<8,2>"), Fixed.parse("fixed<8,4>"), Fixed.parse("ufixed<8,0>")


def _qconv(x, filters, name, kernel=1, groups=1, **kw):
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
        v = QActivation(RELU.qkeras(relu=True), name="v_act")(_qconv(x, params["chan"], "v"))
        a = QActivation(ATT.qkeras(), name="a_act")(_qconv(x, params["chan"], "a"))
        out = SelectiveAttention(per_channel=params["per_channel"], name="attend")([v, a])
    else:
        y = _qconv(x, params["filters"], "gconv", kernel=params["kernel"], groups=params["groups"],
                   strides=params.get("stride", 1))
        out = QActivation(RELU.qkeras(relu=True), name="gconv_act")(y)
    model = tf.keras.Model(inputs, out, name=f"t_{kind}")
    calibrate(model, seed=seed)
    if kind == "attention":
        layer = model.get_layer("attend")
        layer.scale.assign(np.linspace(-2.5, 2.9, layer.scale.shape[0]).astype(np.float32))
    return model


@pytest.fixture
def run_csim(tmp_path, monkeypatch):
    """generate + csim of an in-memory model; returns the csim report."""
    import hw.hls.convert

    def run(model, backend="vitis", io="stream", samples=3, modes=("emulation",)):
        cfg = BuildConfig(model=model.name, board="zcu104", backend=backend, io=io, samples=samples)
        monkeypatch.setattr(hw.hls.convert, "software_model", lambda c: _in_memory(model, c))
        generate(cfg, tmp_path / f"{model.name}_{backend}_{io}")
        return csim(tmp_path / f"{model.name}_{backend}_{io}", modes=modes)

    return run


def _in_memory(model, cfg):
    from hw.hls.convert import SoftwareModel
    from qmodels.reference import synthetic_images

    images = synthetic_images(cfg.samples, model.input_shape[1:], seed=11)
    return SoftwareModel(model, images, None, {"weights": "seeded", "seed": 0})
