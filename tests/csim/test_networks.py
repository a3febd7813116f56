"""Whole networks through generate and csim, bit-exact against the exact reference.

Reduced inputs run in the default suite; the full 224x224 networks are marked slow
(``pytest -m slow``; figures for them come from ``attendnets bench``)."""
import pytest

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
    report = csim(out, modes=("emulation", "testbench"))
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert report["top1_agreement"] == 1.0
    assert min(report["liveness"].values()) > 0.15, report["liveness"]   # alive through every layer
    return report


@pytest.mark.parametrize("model,shape,io,backend", REDUCED, ids=[f"{m}-{s[0]}x{s[1]}-{io}-{b}" for m, s, io, b in REDUCED])
def test_network_is_bit_exact_at_reduced_input(tmp_path, model, shape, io, backend):
    _exact(tmp_path, model, shape, io, backend, samples=3)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["attendnet-a", "attendnet-b", "mobilenet-v1", "mobilenet-v2"])
def test_network_is_bit_exact_at_224(tmp_path, model):
    _exact(tmp_path, model, [224, 224, 3], "stream", "vitis", samples=2)
