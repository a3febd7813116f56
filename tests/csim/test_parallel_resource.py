"""io_parallel + Resource strategy: the reuse factors generate writes are ones hls4ml's io_parallel
resource kernels really compute correctly, and the C++ stays bit-exact there.

Root cause found by the random sweep (issue 9): in io_parallel a QConv2D runs hls4ml's
``conv_2d_resource_cl``, which is correct only when the reuse factor divides
filt_h*filt_w*n_chan; the backend's dense rule accepted larger ones (aborts, or wrong output)."""
import re

import pytest

import hw.hls.convert
from csim_models import in_memory, layer_model
from hw.config import BuildConfig
from hw.hls.convert import generate
from hw.hls.hls4ml_reuse import valid_reuse
from hw.sim.csim import csim


@pytest.fixture
def run_resource(tmp_path, monkeypatch):
    """generate + csim (testbench: the firmware as synthesis reads it) of an in-memory model."""
    box = []
    monkeypatch.setattr(hw.hls.convert, "software_model", lambda c: in_memory(box[0], c))

    def run(model, reuse, io="parallel", backend="vitis"):
        box[:] = [model]
        cfg = BuildConfig(model=model.name, board="zcu104", backend=backend, io=io, samples=2,
                          strategy="resource", reuse=reuse)
        out, _ = generate(cfg, tmp_path / f"{model.name}_{io}_{reuse}")
        params = (out / "firmware" / "parameters.h").read_text()
        return csim(out, modes=("testbench",)), params

    return run


def _reuse_factors(params: str) -> set:
    """The reuse factors of the conv structs and their matrix-product structs (activations carry one too)."""
    structs = re.findall(r"struct \w+ : nnet::(?:conv2d|dense)_config \{(.*?)\n\};", params, re.S)
    return {int(v) for body in structs for v in re.findall(r"unsigned reuse_factor = (\d+);", body)}


def _exact(report):
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert min(report["liveness"].values()) > 0.2, report["liveness"]


@pytest.mark.parametrize("backend,shape,filters,kernel,wanted,written", [
    # sweep c12/c34/c39: 1x1, n_in 3; the dense rule picked 9 (> n_in): Vitis' kernel, which has no
    # assert on it, read past its input buffer and the output was wrong
    ("vitis", (5, 6, 3), 9, 1, 7, 3),
    # sweep c6/c7/c13/c22: 3x3, n_in 18; the dense rule picked 36: Vivado's kernel asserts, csim aborts
    ("vivado", (5, 4, 2), 4, 3, 30, 18),
])
def test_parallel_resource_conv_reuse_divides_its_inputs(run_resource, backend, shape, filters, kernel, wanted,
                                                         written):
    model = layer_model("grouped", shape, filters=filters, kernel=kernel, groups=1)
    layer = model.get_layer("gconv")
    assert valid_reuse(backend.capitalize(), layer, wanted, "parallel") == written
    # io_stream convs run the dense kernels, which do take RF > n_in
    assert valid_reuse(backend.capitalize(), layer, wanted, "stream") > kernel * kernel * shape[2]
    report, params = run_resource(model, wanted, backend=backend)
    assert _reuse_factors(params) == {written}
    _exact(report)
