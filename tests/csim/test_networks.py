"""Whole networks through generate and csim, bit-exact against the exact reference.

Reduced inputs run in the default suite; the full 224x224 networks are marked slow
(``pytest -m slow``; figures for them come from ``attendnets bench``)."""
import pytest
import yaml

from hw.config import BuildConfig
from hw.hls.convert import generate
from hw.sim.csim import csim

REDUCED = [("attendnet-a", [64, 64, 3], "stream", "vitis"),
           ("attendnet-b", [64, 64, 3], "stream", "vitis"),
           ("attendnet-tiny", [17, 23, 3], "parallel", "vivado"),   # odd maps everywhere, the other flow
           ("mobilenet-v1", [32, 32, 3], "stream", "vitis"),
           ("mobilenet-v2", [32, 32, 3], "stream", "vivado"),
           ("attendnet-tiny", [30, 30, 3], "parallel", "vitis")]


def _exact(tmp_path, model, shape, io, backend, samples):
    cfg = BuildConfig(model=model, board="zcu104", input_shape=shape, io=io, backend=backend, samples=samples)
    out, _ = generate(cfg, tmp_path / model)
    report = csim(out, modes=("emulation", "testbench"), jobs=2)
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert report["top1_agreement"] == 1.0
    # the QKeras model as Keras runs it (float32) agrees too: every sum of these formats fits 24 bits
    assert report["keras_bit_exact_fraction"] == 1.0 and report["keras_max_diff_lsb"] == 0, report
    assert min(report["liveness"].values()) > 0.15, report["liveness"]   # alive through every layer
    return report


@pytest.mark.parametrize("model,shape,io,backend", REDUCED, ids=[f"{m}-{s[0]}x{s[1]}-{io}-{b}" for m, s, io, b in REDUCED])
def test_network_is_bit_exact_at_reduced_input(tmp_path, model, shape, io, backend):
    _exact(tmp_path, model, shape, io, backend, samples=3)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["attendnet-a", "attendnet-b", "mobilenet-v1", "mobilenet-v2"])
def test_network_is_bit_exact_at_224(tmp_path, model):
    _exact(tmp_path, model, [224, 224, 3], "stream", "vitis", samples=2)


WIDE = {"name": "wide16", "input_shape": [9, 7, 3], "classes": 1,
        # 16-bit activations times 12-bit weights: the second conv's exact sums need 34 bits, while
        # the logits (31 bits) still fit the accelerator's 32-bit output lane
        "quantization": {"weight": "fixed<12,1>", "activation": "ufixed<16,2>"},
        "stages": [{"conv": {"filters": 4, "kernel": 3}}, {"conv": {"filters": 4, "kernel": 3}},
                   {"global_avg_pool": {}}]}


@pytest.fixture(scope="module")
def wide16(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wide16")
    spec = folder / "wide16.yaml"
    spec.write_text(yaml.safe_dump(WIDE))
    out, _ = generate(BuildConfig(model=str(spec), board="zcu104", samples=3), folder / "project")
    return out


def test_keras_float32_loses_16_bit_sums_and_csim_says_where(wide16):
    """Wide formats: the C++ equals the exact reference, Keras' float32 does not, and csim names
    the first layer whose exact sum needs more than float32's 24 bits.  One class: no top-1."""
    report = csim(wide16, modes=("testbench",), jobs=1)
    assert report["exact"] and report["max_diff_lsb"] == 0, report
    assert report["keras_exact"] is False and report["keras_max_diff_lsb"] > 0, report
    divergence = report["keras_divergence"]
    assert divergence["layer"] in divergence["wider_than_float32"], divergence
    assert "float32's 24-bit significand" in divergence["why"] and divergence["explained"]
    assert report["top1_agreement"] is None and report["modes"]["testbench"]["top1_agreement"] is None


def test_json_is_alone_on_stdout_when_the_cpp_mismatches(wide16, tmp_path, capfd):
    """Both weight forms edited alike: the C++ no longer equals the model, csim traces hls4ml
    (which prints while it recompiles) and stdout still parses as one JSON object.  (This test used
    to pass because the trace compared the unfused global average's truncated mean with the exact
    one and named that layer; its activation is fused now, and an unfused mean is compared truncated.)"""
    import json
    import re
    import shutil

    from hw.cli import main

    project = tmp_path / "edited"
    shutil.copytree(wide16, project, ignore=shutil.ignore_patterns("build"))
    bias = "b11"
    for suffix, pattern, new in ((".txt", r"^[-+0-9.eE]+", "1.5"), (".h", r"= \{[-+0-9.eE]+", "= {1.5")):
        path = project / "firmware" / "weights" / f"{bias}{suffix}"
        path.write_text(re.sub(pattern, new, path.read_text(), count=1))
    capfd.readouterr()
    status = main(["csim", str(project), "--modes", "testbench", "--json"])
    out = capfd.readouterr().out
    report = json.loads(out)
    assert status == 1 and report["exact"] is False
    # the trace converts the model afresh, which has the old bias: it finds no layer, and says where to look
    assert report["first_divergent_layer"].startswith("none found by trace of a fresh conversion")
    assert "edited weights" in report["first_divergent_layer"]


def test_the_trace_compares_an_unfused_mean_as_hls4ml_truncates_it(tmp_path):
    """With its activation not fused, a global average's C++ output is the mean truncated at its
    type's LSB; the trace must not name it as divergent in an exact project (it did, comparing the
    truncated mean with the exact one)."""
    from hw.hls.convert import load_project_model, load_resolved
    from hw.hls.testbench import read_tb_data
    from hw.sim.csim import first_divergence, software

    spec = tmp_path / "wide16.yaml"
    spec.write_text(yaml.safe_dump(WIDE))
    out, _ = generate(BuildConfig(model=str(spec), board="zcu104", samples=2, fuse_activations=False), tmp_path / "p")
    model, resolved = load_project_model(out), load_resolved(out)
    images = read_tb_data(out)[0].reshape(-1, *WIDE["input_shape"])
    assert "s02_gap_act" in resolved["layers"]
    assert first_divergence(out, resolved, model, images, software(model, images)["first_trace"]).startswith(
        "none found")
