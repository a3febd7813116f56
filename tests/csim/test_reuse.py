"""Reuse factors > 1 in the custom layers: the config structs carry the reuse factor (pipeline II)
and the multiplier limit ceil(multiplications / R), and the C++ stays bit-exact, per layer and
through a whole network."""
import math
import re

import pytest

import hw.hls.convert
from csim_models import in_memory, layer_model
from hw.config import BuildConfig
from hw.hls.convert import generate
from hw.hls.layers import group_conv, selective_attention, unpooling
from hw.sim.csim import csim


@pytest.fixture
def run_reuse(tmp_path, monkeypatch):
    """generate + csim of an in-memory model with per-layer reuse factors; (report, parameters.h text)."""
    monkeypatch.setattr(hw.hls.convert, "software_model", lambda c: in_memory(model_box[0], c))
    model_box = []

    def run(model, layers, io="stream", backend="vitis", modes=("emulation",)):
        model_box[:] = [model]
        cfg = BuildConfig(model=model.name, board="zcu104", backend=backend, io=io, samples=2,
                          layers={name: {"reuse": r} for name, r in layers.items()})
        out, _ = generate(cfg, tmp_path / f"{model.name}_{io}")
        return csim(out, modes=modes), (out / "firmware" / "parameters.h").read_text()

    return run


def _struct_field(params: str, field: str) -> list:
    return [int(v) for v in re.findall(rf"static const unsigned {field} = (\d+);", params)]


def _exact(report):
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert min(report["liveness"].values()) > 0.2, report["liveness"]


@pytest.mark.parametrize("io,reuse", [("stream", 5), ("parallel", 7)])
def test_grouped_conv_at_reuse(run_reuse, io, reuse):
    model = layer_model("grouped", (6, 7, 4), filters=6, kernel=3, groups=2)
    assert group_conv.keras_geometry(model.get_layer("gconv")) == _gconv_geometry()
    report, params = run_reuse(model, {"gconv": reuse}, io=io)
    _exact(report)
    mults = 6 * 3 * 3 * 2
    assert _struct_field(params, "multiplier_limit") == [math.ceil(mults / reuse)]
    assert reuse in _struct_field(params, "reuse_factor")


def _gconv_geometry():
    return {"n_chan": 4, "n_filt": 6, "n_groups": 2, "filt_height": 3, "filt_width": 3}


def test_selective_attention_at_reuse(run_reuse):
    model = layer_model("attention", (5, 4, 3), chan=5, per_channel=True)
    assert selective_attention.keras_geometry(model.get_layer("attend")) == {"n_chan": 5}
    report, params = run_reuse(model, {"attend": 2}, io="parallel")
    _exact(report)
    assert _struct_field(params, "multiplier_limit") == [2 * math.ceil(5 / 2)]


def test_unpooling_reuse_is_its_output_interval(run_reuse):
    model = layer_model("unpooling", (3, 3, 2), factor=2, output_size=(7, 8))
    report, params = run_reuse(model, {"unpool": 3})
    _exact(report)
    assert 3 in _struct_field(params, "reuse_factor")


def test_whole_network_at_reuse_4(tmp_path):
    cfg = BuildConfig(model="attendnet-tiny", board="zcu104", input_shape=[12, 14, 3], reuse=4, samples=2)
    out, _ = generate(cfg, tmp_path / "tiny_r4")
    params = (out / "firmware" / "parameters.h").read_text()
    assert set(_struct_field(params, "reuse_factor")) == {4}
    _exact(csim(out, modes=("emulation",)))


def test_valid_reuse_factors_are_the_useful_ones():
    g = _gconv_geometry()                                   # 108 multiplications per pixel
    rfs = group_conv.valid_reuse_factors(g)
    assert rfs[0] == 1 and rfs[-1] == 108
    assert all(r in rfs for r in (1, 2, 3, 4, 6, 9, 12, 18, 27, 36, 54, 108))   # every divisor
    assert 100 not in rfs                                   # ceil(108/100) = 2 multipliers, as at R = 54
    assert [group_conv.multipliers(g, r) for r in (1, 4, 5, 108)] == [108, 27, 22, 1]
    assert selective_attention.valid_reuse_factors({"n_chan": 5}) == (1, 2, 3, 5)
    assert selective_attention.multipliers({"n_chan": 5}, 2) == 6
    assert unpooling.valid_reuse_factors({}) == (1,) and unpooling.multipliers({}, 4) == 0


def test_a_reuse_factor_below_one_is_rejected_by_name():
    from hw.hls.layers.reuse import ReuseFactorError, check_reuse

    with pytest.raises(ReuseFactorError, match="layer unpool: reuse factor must be a positive integer, got 0"):
        check_reuse("unpool", 0)
