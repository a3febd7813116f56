"""Every estimated resource is printed with its measured error band, and ``plan --margin measured``
plans against the bands' upper edge (hw.estimate.calibration_fit: band, margin_budget)."""
import json

import pytest

from hw.cli import main
from hw.config import BuildConfig
from hw.estimate.calibration_fit import band, band_text, load_errors, margin_budget
from hw.estimate.network import RESOURCES, board_capacity
from hw.estimate.plan import PlanError, plan
from hw.estimate.source import from_config

pytestmark = pytest.mark.usefixtures("cached_models")


@pytest.fixture
def tiny():
    return from_config(BuildConfig(model="attendnet-tiny", board="pynq-z2"))


def test_margin_budget_is_the_budget_over_one_plus_the_band():
    data = load_errors()
    budget = margin_budget(0.8, data)
    for k in RESOURCES:
        b = band(k, data)
        assert budget[k] == (0.8 if b is None else round(0.8 / (1 + b), 4)), k
    assert budget["lut"] < 0.8 and budget["uram"] == 0.8          # no design uses URAM: no band


def test_plan_takes_a_budget_per_resource(tiny):
    capacity = board_capacity(tiny.board)
    limits = {"dsp": 0.9, "lut": 0.45, "ff": 0.6, "bram18": 0.7, "uram": 1.0}
    est = plan(tiny, limits).estimate
    for k in RESOURCES:
        assert est.totals[k] <= limits[k] * capacity[k] + 0.5, (k, est.totals)
    assert est.fps <= plan(tiny, 0.8).estimate.fps            # a tighter LUT budget is never faster
    with pytest.raises(PlanError, match="unknown resource.*luts"):
        plan(tiny, {"luts": 0.5})
    with pytest.raises(PlanError, match=r"--budget must be in \(0, 1\], got 1.5 for ff"):
        plan(tiny, {**limits, "ff": 1.5})


def test_plan_margin_measured_fits_at_the_bands_upper_edge(capsys, tmp_path):
    out = tmp_path / "plan.yaml"
    assert main(["plan", "attendnet-tiny", "--board", "pynq-z2", "--margin", "measured", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    header = out.read_text().splitlines()[0]
    assert "--margin measured: dsp" in header and "lut " in header and "measured band" in printed
    design = from_config(BuildConfig.load(out))
    est, capacity, data = design.estimate(), board_capacity(design.board), load_errors()
    for k in RESOURCES:
        edge = est.totals[k] * (1 + (band(k, data) or 0.0))
        assert edge <= 0.8 * capacity[k] + 1, (k, est.totals[k], band(k, data))


def test_margin_is_a_choice(capsys):
    assert main(["plan", "attendnet-tiny", "--board", "pynq-z2", "--margin", "worst"]) == 2
    assert "--margin" in capsys.readouterr().err


def test_every_printed_total_carries_its_band(tiny):
    from hw.estimate.render import as_json, as_table, summary_line

    est = tiny.estimate()
    line = summary_line(est)
    assert "LUT " in line and band_text("lut") in line and band_text("dsp") in line and "upper edge" in line
    table = as_table(est)
    assert "measured band" in table and f"lut {est.utilization['lut']:.1%} {band_text('lut')}" in table
    assert f"interval {est.interval_cycles} cycles {band_text('interval_cycles')}" in line
    assert f"latency {est.latency_cycles} cycles {band_text('latency_cycles')}" in table
    assert band("interval_cycles") == abs(load_errors()["hls_csynth"]["interval_cycles"]["worst"])
    data = json.loads(as_json(est))
    assert data["bands"]["lut"] == band("lut") and data["bands"]["uram"] is None
    assert data["bands"]["latency_cycles"] == band("latency_cycles")
    assert data["utilization_upper_edge"]["lut"] == round(est.utilization["lut"] * (1 + band("lut")), 4)


def test_compare_heads_carry_the_bands():
    from hw.estimate import compare

    row = {"board": "pynq-z2", "model": "m", "params": 1000, "macs": 2e6, "weight_kib": 1.0, "fits": True,
           "fps": 10.0, "bottleneck": "conv", "lut": 1, "ff": 2, "dsp": 3, "bram18": 4, "physical_limit_fps": 99.0,
           "utilization": {"lut": 0.1, "ff": 0.1, "dsp": 0.1, "bram18": 0.1}, "dpu_fps": None}
    text = compare.compare_text([row], "table")
    assert f"LUT {band_text('lut')}" in text and f"BRAM18 {band_text('bram18')}" in text
