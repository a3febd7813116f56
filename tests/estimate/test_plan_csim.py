"""A planned recipe generates, stays bit-exact in C simulation, and its project reports as planned."""
import json

import pytest
import yaml

from hw.config import BuildConfig
from hw.estimate.plan import plan, recipe
from hw.estimate.source import from_config, from_project
from hw.hls.convert import generate
from hw.sim.csim import csim
from hw.sim.fifo_check import fifo_check


# every layer kind of the AttendNets (conv, VAC: pool, grouped conv, unpool, attention; PEPE:
# depthwise x2, pointwise; average, dense) in a network small enough to compile in seconds
SPEC = {"name": "plan-check", "input_shape": [12, 12, 3], "classes": 4,
        "stages": [{"conv": {"filters": 8, "kernel": 3, "stride": 2}},
                   {"vac": {"mix": 8, "embed": 8, "groups": 2}},
                   {"pepe": {"project": 8, "multiplier": 2, "project2": 8, "out": 16, "stride": 2}},
                   {"global_avg_pool": {}}]}


def test_planned_recipe_regenerates_bit_exact_and_reports_the_plan(tmp_path, capsys):
    spec = tmp_path / "plan-check.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    p = plan(from_config(BuildConfig(model=str(spec), board="pynq-z2")), 0.08)   # small budget: shared multipliers
    cfg = recipe(p, str(spec))
    cfg.samples = 2
    shared = [g.name for g in p.design.geoms if p.settings[g.name].reuse > 1]
    assert shared, "the plan must share multipliers somewhere for this test to mean anything"
    in_dsps = [g.name for g in p.design.geoms if p.settings[g.name].multiplier != "lut"]
    assert in_dsps, "the plan must put some products in DSPs for this test to cover them"
    assert any(s.fold > 1 for s in p.settings.values()), "the plan must fold some layer for this test to cover it"
    path = tmp_path / "plan.yaml"
    path.write_text(cfg.to_yaml())
    out, _ = generate(BuildConfig.load(path), tmp_path / "planned")

    report = csim(out, modes=("emulation",))
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report

    again = from_project(out)
    assert {n: (s.reuse, s.strategy, s.multiplier, s.fold, s.storage) for n, s in again.settings.items()} == {
        n: (s.reuse, s.strategy, s.multiplier, s.fold, s.storage) for n, s in p.settings.items()}
    fused = yaml.safe_load((out / "attendnets.yaml").read_text())["fused_activations"]["fused"]
    assert fused and not set(fused) & set(again.settings), "fused activations are in neither the plan nor the project"
    est = again.estimate().as_dict()
    assert est["fits"] and est["interval_cycles"] == p.estimate.interval_cycles
    # the plan priced the weights the project holds (seeded and calibrated), so every total agrees
    assert again.estimate().totals == pytest.approx(p.estimate.totals), (again.estimate().totals, p.estimate.totals)

    from hw.cli import main
    assert main(["report", str(out), "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["fits"] is True and printed["board"] == "pynq-z2" and printed["source"] == "estimated"
    assert set(printed["totals"]) == {"dsp", "lut", "ff", "bram18", "uram"}



@pytest.mark.slow
@pytest.mark.parametrize("board,budget,multipliers,storages,classes", [
    # products in LUTs and packed DSPs (on the KV260 also hls4ml's kernels with DSP products), weights
    # in BRAM and in URAM loaded from the weight frame through the AXI top, the global average folded
    # (budgets whose plans have them all: at 100% the ZCU104's plan needs no URAM, at 80% the KV260's
    # no 'dsp')
    ("zcu104", 0.8, {"packed"}, {"bram", "uram"}, {"HGlobalAverage"}),
    ("kv260", 0.7, {"dsp", "packed"}, {"bram", "uram"}, {"HGlobalAverage"})])
def test_attendnet_b_plan_regenerates_at_64x64_bit_exact(tmp_path, board, budget, multipliers, storages, classes):
    """The full-size plan of AttendNet-B (fused, DSP and packed-DSP layers, folds, folded streams,
    weights in BRAM or URAM, shared multipliers) regenerated at 64x64 and C-simulated against both
    software models, and threaded with bounded FIFOs (csim --fifo-check)."""
    p = plan(from_config(BuildConfig(model="attendnet-b", board=board)), budget)
    cfg = recipe(p, "attendnet-b", input_shape=[64, 64, 3])
    cfg.samples = 4
    kinds = {s.multiplier for s in cfg.layers.values()}
    assert multipliers <= kinds, kinds
    out, _ = generate(cfg, tmp_path / "b64")
    report = csim(out, modes=("emulation", "testbench"))
    assert report["bit_exact_fraction"] == 1.0 and report["max_diff_lsb"] == 0, report
    assert report["keras_bit_exact_fraction"] == 1.0, report
    assert min(report["liveness"].values()) > 0.05, report["liveness"]
    resolved = yaml.safe_load((out / "attendnets.yaml").read_text())
    assert resolved["fused_activations"]["fused"]
    found = {v["class"] for v in resolved["layers"].values()}
    assert {"HGroupConv2D"} | classes <= found, found
    assert ("dsp" in multipliers) <= any("Dsp" in c for c in found), found   # hls4ml's kernels with DSP products
    assert any(v.get("fold", 1) > 1 for v in resolved["layers"].values()), "no folded layer"
    assert any(v.get("stream_fold", 1) > 1 for v in resolved["layers"].values()), "no folded stream"
    assert storages <= {v.get("storage") for v in resolved["layers"].values()}, "a weight storage is missing"
    threaded = fifo_check(out, timeout_ms=60000)    # the folded streams at the project's depths: no deadlock
    assert threaded["project_depths"]["status"] == "finished" and threaded["passed"], threaded["project_depths"]
    if "uram" in storages:   # csim fills URAM arrays from the weight files; the AXI top loads them from the frame
        from hw.sim.axi import run_testbench

        run = run_testbench(out)
        assert run["exact"], run["log"]
