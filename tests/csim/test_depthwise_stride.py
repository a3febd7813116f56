"""Depthwise convolutions with a row stride in io_stream.  hls4ml 1.3 computes a kernel one row
high with a 1-D path that ignores stride_height (every input row gave an output row: NOT EXACT,
"leftover data" in the stream); hw/hls/layers/depthwise_route.py puts our grouped convolution in
its place.  Kernels of more rows, and stride 1, stay on hls4ml's own layer."""
import pytest
import tensorflow as tf
import yaml
from qkeras import QActivation, QConv2D, QDepthwiseConv2D

import hw.hls.convert
from csim_models import B8, INPUT, RELU, W8, in_memory
from hw.config import BuildConfig
from hw.hls.convert import RESOLVED, generate
from hw.hls.precision import derive
from hw.sim.csim import csim
from qmodels.reference import calibrate


def dw_model(layers, shape=(9, 8, 3), seed=0) -> tf.keras.Model:
    """input -> stem 3x3 conv -> ReLU -> one depthwise conv + ReLU per (kernel, stride) in ``layers``."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape, name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    x = QConv2D(4, 3, padding="same", name="stem", kernel_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())(x)
    x = QActivation(RELU.qkeras(relu=True), name="stem_act")(x)
    for i, (kernel, stride) in enumerate(layers):
        x = QDepthwiseConv2D(kernel, strides=stride, padding="same", name=f"dw{i}",
                             depthwise_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())(x)
        x = QActivation(RELU.qkeras(relu=True), name=f"dw{i}_act")(x)
    model = tf.keras.Model(inputs, x, name="t_dw_" + "_".join(f"k{k}s{s}" for k, s in layers))
    calibrate(model, seed=seed)
    return model


@pytest.fixture
def generate_and_run(tmp_path, monkeypatch):
    """generate + csim (emulation) of an in-memory model; (report, attendnets.yaml 'layers')."""
    def run(model, backend):
        monkeypatch.setattr(hw.hls.convert, "software_model", lambda c: in_memory(model, c))
        cfg = BuildConfig(model=model.name, board="zcu104", backend=backend, io="stream", samples=3)
        out, _ = generate(cfg, tmp_path / f"{model.name}_{backend}")
        return csim(out, modes=("emulation",)), yaml.safe_load((out / RESOLVED).read_text())["layers"]

    return run


def _exact_and_live(report):
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert min(report["liveness"].values()) > 0.2, report["liveness"]


@pytest.mark.parametrize("backend", ["vitis", "vivado"])
def test_one_row_kernel_with_row_stride_is_exact(generate_and_run, backend):
    model = dw_model([(1, 2)])
    report, layers = generate_and_run(model, backend)
    _exact_and_live(report)
    assert layers["dw0"]["class"] == "HGroupConv2D"
    types = derive(model)  # the replacement keeps the types derived for the depthwise layer
    assert layers["dw0"]["types"]["accum_t"].startswith(_spelled(types["dw0"]["accum"]))
    # and writes its ReLU's format, the activation being fused into it (hw/hls/fuse.py)
    assert layers["dw0"]["types"]["result_t"].startswith(_spelled(types["dw0_act"]["result"][0]))
    assert "dw0_act" not in layers


def _spelled(fmt) -> str:
    """How attendnets.yaml (hls4ml's precision string, 'fixed<17,4,TRN,WRAP,0>') begins for ``fmt``."""
    return str(fmt)[:-1] + ","  # Fixed spells 'fixed<17,4>'


def test_other_depthwise_convs_stay_on_hls4ml(generate_and_run):
    report, layers = generate_and_run(dw_model([(1, 1), (3, 2)]), "vitis")
    _exact_and_live(report)
    assert layers["dw0"]["class"] == layers["dw1"]["class"] == "DepthwiseConv2D"


def test_io_parallel_keeps_hls4ml_depthwise(tmp_path):
    """io_parallel's depthwise kernel honours both strides (exact in the sweep): nothing to route."""
    model = dw_model([(1, 2)])
    cfg = BuildConfig(model=model.name, board="zcu104", backend="vitis", io="parallel", samples=1)
    hls_model = hw.hls.convert.convert(model, cfg, tmp_path / "p", "t_dw")
    assert hls_model.graph["dw0"].class_name == "DepthwiseConv2D"
