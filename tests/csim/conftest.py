"""Helpers for the C-simulation tests: small single-layer models and a generate+csim round trip."""
import itertools

import numpy as np
import pytest
import tensorflow as tf
import yaml
from qkeras import QActivation, QConv2D

from hw.config import BuildConfig
from hw.hls.convert import RESOLVED, generate
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


@pytest.fixture
def generate_in_memory(tmp_path, monkeypatch):
    """generate an in-memory model with any BuildConfig fields (board zcu104 unless given), each
    call in a folder of its own; returns (project folder, its resolved attendnets.yaml)."""
    import hw.hls.convert

    calls = itertools.count()

    def run(model, backend="vitis", io="stream", **fields):
        monkeypatch.setattr(hw.hls.convert, "software_model", lambda c: _in_memory(model, c))
        cfg = BuildConfig(model=model.name, backend=backend, io=io, samples=3, **{"board": "zcu104", **fields})
        out, _ = generate(cfg, tmp_path / f"{model.name}_{backend}_{io}_{next(calls)}")
        return out, yaml.safe_load((out / RESOLVED).read_text())

    return run


def assert_exact_and_live(report):
    """csim's verdict: every output bit-exact against both software models, and every layer's
    output more than 20% neither zero nor saturated (so the equality says something)."""
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert report["keras_bit_exact_fraction"] == 1.0, report
    assert min(report["liveness"].values()) > 0.2, report["liveness"]


def _in_memory(model, cfg):
    from hw.hls.convert import SoftwareModel
    from qmodels.reference import synthetic_images

    images = synthetic_images(cfg.samples, model.input_shape[1:], seed=11)
    return SoftwareModel(model, images, None, {"weights": "seeded", "seed": 0})
