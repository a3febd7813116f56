"""The estimator against the published reports (hw/estimate/calibration/*.yaml), leave-one-out.

Targets of issue 16: post-synthesis totals within 15% (LUT, FF, DSP, BRAM18), per-layer cycles within
5%.  Where they are missed hw/README.md says why; the bounds below are the measured leave-one-out
errors (calibration_errors.yaml), kept so that a change that makes any of them worse fails."""
import pytest

from hw.estimate.calibration import load_calibration
from hw.estimate.calibration_fit import (CYCLES, band, distribution, errors, estimate_record, fit, footer,
                                         hls_errors, load_errors, rebuildable, run, table_markdown, with_band)

# measured worst |error| per figure, rounded up to the next 5% (hw/README.md, "Calibration")
BOUND = {"leave_one_out": {"dsp": 1.0, "lut": 1.60, "ff": 2.40, "bram18": 5.40},
         "hls_csynth": {"dsp": 3.05, "latency_cycles": 0.85, "interval_cycles": 0.85, "layer_cycles": 0.90}}
# per-layer cycles of the io_stream designs within the 5% target, but for the layers HLS could not
# pipeline at II 1 (the model assumes II = reuse factor); each with the report that says so
NOT_II_1 = {("ece226_har_conv1d", "conv1"): "ReadInputWidth loop: II achieved 3, target 1",
            ("berk_encoder_conv1d", "q_conv1d_16"): "ReadInputWidth loop: II achieved 2, target 1",
            **{("berk_encoder_conv1d_resource", f"q_conv1d_{n}"): "ReadInputWidth loop not pipelined"
               for n in (4, 5, 6, 7)}}


@pytest.fixture(scope="module")
def measured():
    return run()


def test_the_written_errors_are_a_fresh_run(measured):
    assert load_errors() == measured, "stale: run python -m hw.estimate.calibration_fit --write"


def test_each_design_is_predicted_by_scales_fitted_without_it(measured):
    records = load_calibration()
    assert len(measured["records"]) == len(records) >= 4
    for record in records:
        row = measured["records"][record["name"]]
        others = [r for r in records if r["name"] != record["name"]]
        assert row["fitted_on"] == sorted(r["name"] for r in others)
        assert row["coefficients"] == fit(others)
        assert row["errors"] == errors(record, estimate_record(record, row["coefficients"]))
    assert measured["coefficients"] == fit(records)


def test_distribution_is_median_and_worst_per_figure(measured):
    dist = measured["leave_one_out"]
    assert dist == distribution(measured["records"], "post_synthesis")
    assert measured["hls_csynth"] == distribution(measured["hls_records"], "hls_csynth")
    lut = [row["errors"]["lut"] for row in measured["records"].values()]
    assert dist["lut"]["designs"] == len(lut) and abs(dist["lut"]["worst"]) == max(abs(v) for v in lut)
    assert set(dist) == {"dsp", "lut", "ff", "bram18"}          # the post-synthesis target: resources only
    assert set(measured["hls_csynth"]) == {"dsp", *CYCLES}        # the HLS target: DSPs and cycles


def test_the_hls_target_covers_every_rebuildable_record(measured):
    records = [r for r in load_calibration(include_hls_only=True) if rebuildable(r)]
    assert sorted(measured["hls_records"]) == sorted(r["name"] for r in records) and len(records) >= 10
    assert "autoencoder_pynqz2_32bit_resource" not in measured["hls_records"]     # UpSampling2D: not rebuilt
    for record in records:
        assert measured["hls_records"][record["name"]]["errors"] == hls_errors(record, estimate_record(record))


def test_errors_stay_within_the_measured_bounds(measured):
    for target, bounds in BOUND.items():
        for key, bound in bounds.items():
            assert abs(measured[target][key]["worst"]) <= bound, (target, key, measured[target][key])


def test_per_layer_cycles_match_the_hls_report():
    """io_stream: cycles = input pixels x II + pipeline depth; HLS reports them per layer."""
    for record in load_calibration(include_hls_only=True):
        if record["network"].get("io_type") != "io_stream" or record["name"].startswith("autoencoder"):
            continue                      # io_parallel layers are a few cycles; the autoencoder is not rebuilt
        est = estimate_record(record)
        ours = {layer.name: layer.cycles for layer in est.layers}
        for name, hls in record["hls_layers"].items():
            if name in ours and hls["latency_cycles"] > 100 and (record["name"], name) not in NOT_II_1:
                assert ours[name] == pytest.approx(hls["latency_cycles"], rel=0.05), (record["name"], name)


def test_band_footer_and_table_quote_the_leave_one_out(measured):
    assert band("lut", measured) == abs(measured["leave_one_out"]["lut"]["worst"])
    assert band("uram", measured) is None
    assert with_band("lut", 184000, "LUT 184k").startswith("LUT 184k ±")
    text = footer()
    assert "leave-one-out" in text and "lut ±" in text and "designs" in text and "against HLS reports" in text
    table = table_markdown(measured)
    assert "| lut | post_synthesis |" in table and "| layer_cycles | hls_csynth |" in table
    assert "| svhn_cnn_6bit_qkeras_pruned | " in table


def test_errors_are_relative_to_post_synthesis():
    record = next(r for r in load_calibration() if r["name"] == "svhn_cnn_16bit_pruned")
    est = estimate_record(record)
    assert errors(record, est)["bram18"] == round(est.totals["bram18"] / record["totals"]["post_synthesis"]["bram18"]
                                                  - 1, 4)


def test_fit_needs_a_record():
    with pytest.raises(ValueError, match="no calibration record"):
        fit([])
