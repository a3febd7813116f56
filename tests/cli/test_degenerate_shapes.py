"""Degenerate shapes the spec accepts are exact; the others are refused naming the field (issue 18).

Accepted, and proven here bit for bit by C simulation of one network that meets them all, on live data
(every quantized layer over 50% neither zero nor saturated): kernels larger than their input (7x7 on 3x3,
5x5 on 2x2 and on 1x1; 'same' padding, the taps outside are zeros), a grouped conv striding 2x2 down to
1x1, a bottleneck (its depthwise 3x3 included) striding 2 on a 1x1 map, and one class.  Refused,
before TensorFlow builds anything: a VAC on a map smaller than 2x2 (it pools 2x2; hw.sim.sweep_cases never
generates one, so it is untested), a stride beyond both the input's side and 2, kernels, channel counts
and layers beyond the limits of qmodels.spec.
"""
import pytest
import yaml

from hw.config import BuildConfig
from hw.hls.convert import generate
from hw.sim.csim import csim
from qmodels import spec as S

DEGENERATE = {"name": "degenerate", "input_shape": [3, 3, 2], "classes": 1, "stages": [
    {"conv": {"filters": 4, "kernel": 7}},                      # kernel larger than the 3x3 input
    {"dwconv": {"kernel": 5, "stride": 2}},                     # 2x2
    {"conv": {"filters": 4, "kernel": 3, "stride": 2, "groups": 2}},   # 1x1, grouped
    {"bottleneck": {"out": 4, "expansion": 2, "stride": 2}},    # stride 2 on 1x1
    {"pepe": {"project": 2, "project2": 2, "out": 4, "kernel": 5}},   # 5x5 depthwise on 1x1
    {"global_avg_pool": {}}, {"dense": {"units": 3}}]}


@pytest.mark.parametrize("io", ["stream", "parallel"])
def test_degenerate_shapes_are_exact(tmp_path, io):
    path = tmp_path / "degenerate.yaml"
    path.write_text(yaml.safe_dump(DEGENERATE, sort_keys=False))
    out, _ = generate(BuildConfig(model=str(path), board="pynq-z2", io=io, samples=4), tmp_path / f"prj_{io}")
    report = csim(out, modes=("emulation",))
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert min(report["liveness"].values()) > 0.5, report["liveness"]   # equality on collapsed data proves nothing


def _with(stages, shape=(8, 8, 3), classes=3):
    return {"name": "d", "input_shape": list(shape), "classes": classes, "stages": stages + [{"global_avg_pool": {}}]}


@pytest.mark.parametrize("spec, words", [
    (_with([{"conv": {"filters": 4, "kernel": 1}}, {"vac": {"mix": 4, "embed": 4}}], shape=(1, 1, 3)),
     ["stages[1] (vac)", "2x2", "1x1"]),
    (_with([{"conv": {"filters": 4, "stride": 9}}], shape=(3, 3, 2)), ["stages[0] (conv)", "'stride'", "9", "3x3"]),
    (_with([{"pepe": {"project": 2, "project2": 2, "out": 4, "stride": 3}}], shape=(1, 1, 4)), ["'stride'", "3"]),
    (_with([{"conv": {"filters": 4, "kernel": 33}}]), ["'kernel'", "31", "33"]),
    (_with([{"conv": {"filters": 10 ** 9}}]), ["'filters'", "4096"]),
    (_with([{"dwconv": {"multiplier": 10 ** 8}}]), ["'multiplier'", "64"]),
    (_with([{"bottleneck": {"out": 8, "expansion": 65}}]), ["'expansion'", "64"]),
    (_with([{"conv": {"filters": 4096}}, {"conv": {"filters": 4096, "kernel": 31}}]),
     ["stages[1]", "weights", "16,777,216"]),
    (_with([{"conv": {"filters": 4}}], classes=10 ** 8), ["'classes'", "100000"]),
    (_with([{"conv": {"filters": 4}}], shape=(5000, 8, 3)), ["'input_shape'", "4096"]),
    (_with([{"conv": {"filters": 4}}], shape=(8, 8, 0)), ["'input_shape'"]),
])
def test_degenerate_or_huge_shapes_are_refused_naming_the_field(spec, words, monkeypatch):
    import qmodels.build

    monkeypatch.setattr(qmodels.build, "build_stage", lambda *a, **k: pytest.fail("a layer was built"))
    with pytest.raises(S.SpecError) as err:
        qmodels.build.build_model(S.parse_spec(spec))
    missing = [w for w in words if w not in str(err.value)]
    assert not missing, (missing, str(err.value))
