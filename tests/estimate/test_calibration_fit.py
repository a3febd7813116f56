"""The estimator against the published post-synthesis reports (hw/estimate/calibration/*.yaml).

Targets of issue 7: totals within 15% of post-synthesis DSP, LUT, FF and BRAM; latency within 5%
of the reported cycles.  BRAM, interval and latency meet them on every record; DSP, LUT and FF do
not on the held-out record, and the bounds below are the measured errors (hw/README.md explains
why), kept here so that a change that makes them worse fails."""
import pytest

from hw.estimate.calibration import load_calibration
from hw.estimate.calibration_fit import FIT, estimate_record, errors, footer, load_errors, run

MET = ("bram18", "latency_cycles", "interval_cycles")
TARGET = {"bram18": 0.15, "latency_cycles": 0.05, "interval_cycles": 0.05}
HELD_OUT_BOUND = {"dsp": 0.70, "lut": 0.25, "ff": 0.60}     # measured: -67%, -23%, +57%


@pytest.fixture(scope="module")
def measured():
    return run()


def test_the_written_errors_are_a_fresh_run(measured):
    assert load_errors() == measured, "stale: run python -m hw.estimate.calibration_fit --write"


def test_targets_met_for_bram_and_cycles_on_every_record(measured):
    for name, record in measured["records"].items():
        for key in MET:
            assert abs(record["errors"][key]) <= TARGET[key], (name, key, record["errors"])


def test_held_out_errors_stay_within_the_measured_bounds(measured):
    held = {n: r for n, r in measured["records"].items() if r["role"] == "held-out"}
    assert held and not set(held) & set(FIT)
    for name, record in held.items():
        for key, bound in HELD_OUT_BOUND.items():
            assert abs(record["errors"][key]) <= bound, (name, key, record["errors"])


def test_fitted_only_on_the_fit_set(measured):
    assert set(FIT) < set(measured["records"])
    assert all(r["role"] == ("fit" if n in FIT else "held-out") for n, r in measured["records"].items())
    assert set(measured["coefficients"]) == {"lut_scale", "ff_scale"}


def test_per_layer_cycles_match_the_hls_report():
    """io_stream: cycles = input pixels x II + pipeline depth; HLS reports them per layer."""
    for record in load_calibration():
        est = estimate_record(record)
        ours = {layer.name: layer.cycles for layer in est.layers}
        for name, hls in record["hls_layers"].items():
            if name in ours and hls["latency_cycles"] > 100:
                assert ours[name] == pytest.approx(hls["latency_cycles"], rel=0.01), (record["name"], name)


def test_footer_quotes_the_held_out_errors():
    text = footer()
    assert "held-out" in text and "svhn_cnn_6bit_qkeras_pruned" in text and "lut" in text


def test_errors_are_relative_to_post_synthesis():
    record = load_calibration()[0]
    est = estimate_record(record)
    assert errors(record, est)["bram18"] == round(est.totals["bram18"] / record["totals"]["post_synthesis"]["bram18"]
                                                  - 1, 4)
