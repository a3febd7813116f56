"""The calibration records (hw/estimate/calibration/*.yaml) are the public reports they cite: each
agrees with its fixture figure by figure, and each fixture reads as a project would (load_reports)."""
from __future__ import annotations

import pytest
import yaml

from hw.estimate.calibration import CalibrationError, load_calibration
from hw.estimate.vendor_reports import load_reports, parse_csynth_rpt, parse_utilization

from report_fixtures import FIXTURE_OF, calibration, csynth, hls4ml_project

# per record: the stage the totals come from, and the HLS instances no layer name maps to
LAYOUT = {
    "svhn_cnn_16bit_pruned": ("Vivado 2020.1 post-synthesis", {"Block_proc_U0"}),  # 2020.1's constant-output process
    "svhn_cnn_6bit_qkeras_pruned": ("Vivado 2020.1 post-synthesis", {"Block_proc_U0"}),
    "autoencoder_pynqz2_32bit_resource": ("Vivado HLS 2019.2.1 csynth", set()),
    # io_parallel: the first dense's instance name carries no configN to map it by
    "dnd_mlp_6bit_qkeras": ("Vivado 2020.1 post-synthesis",
                            {"grp_dense_latency_0_0_0_0_0_0_0_0_0_0_0_0_0_0_0_0_0_0_0_0_0_fu_77"}),
    "ece226_har_conv1d": ("Vivado 2024.1 optimized", set()),     # synth_design + opt_design
    "hls4ml_tutorial_part1_mlp": ("Vivado 2024.1 optimized", set()),
    "berk_encoder_conv1d": ("Vivado 2020.1 post-synthesis", set()),
    "berk_encoder_conv1d_resource": ("Vivado 2020.1 post-synthesis", set()),
    "nrp_tutorial_2022_mlp": ("Vitis HLS 2022.2 csynth", set()),
    **{f"hector_tutorial_2019_mlp{v}": ("Vivado HLS 2019.2 csynth", {
        f"grp_dense_latency_{'0_' * 33}{k}" for k in ("fu_171", "1_fu_97", "s_fu_165")}) for v in ("", "_reuse2")},
    "hector_tutorial_2019_mlp_qkeras6": ("Vivado HLS 2019.2 csynth", {
        f"call_ret{n}_dense_latency_{'0_' * 33}{k}" for n, k in (("4", "fu_165"), ("2", "1_fu_97"), ("", "s_fu_159"))}),
    **{f"hls4ml_tutorial_2024_mlp{v}": ("Vitis HLS 2024.1 csynth", set()) for v in ("", "_pruned", "_qkeras6")},
    # Vivado HLS 2019.2 names io_parallel dense instances by template arguments, not configN
    **{f"hls4ml_tutorial_2019_mlp{v}": ("Vivado HLS 2019.2 csynth", {
        f"grp_dense_latency_{'0_' * 23}{k}" for k in ks})
       for v, ks in (("", ("1_fu_215", "2_fu_283", "s_fu_289")), ("_reuse2", ("1_fu_207", "2_fu_275", "s_fu_281")),
                     ("_pruned", ("1_fu_207", "2_fu_275", "s_fu_281")),
                     ("_qkeras6", ("1_fu_215", "2_fu_319", "s_fu_283")))},
}


@pytest.mark.parametrize("name", sorted(FIXTURE_OF))
def test_load_reports_hls4ml_layout(tmp_path, name):
    record = calibration(name)
    reports = load_reports(hls4ml_project(tmp_path, FIXTURE_OF[name], record))
    synthesized = "post_synthesis" in record["totals"]
    stage, glue = LAYOUT[name]
    assert reports.source == f"synthesized: {stage}"
    assert (reports.part, reports.clock_ns) == (record["part"], record["clock_ns"])
    assert reports.totals_from == (stage.split()[-1] if synthesized else "HLS estimate")
    assert reports.totals == record["totals"]["post_synthesis" if synthesized else "hls"]
    assert reports.hls_totals == record["totals"]["hls"]
    assert reports.layers_from == f"{' '.join(record['tool']['hls'].split()[:3])} csynth"
    assert (reports.latency_cycles, reports.interval_cycles) == (record["latency_cycles"], record["interval_cycles"])
    assert sorted(reports.unmapped) == sorted(glue)
    keys = ("lut", "ff", "dsp", "bram18", "uram", "latency_cycles", "interval_cycles")
    mapped = {layer: figures for layer, figures in record["hls_layers"].items() if figures["instance"] not in glue}
    for layer, figures in mapped.items():
        got = reports.layers[layer]
        assert got["instances"] == [figures["instance"]]
        assert {k: got[k] for k in keys} == {k: figures[k] for k in keys}
    assert set(reports.layers) == set(mapped) | glue
    assert yaml.safe_load(yaml.safe_dump(reports.to_dict()))["totals"] == reports.totals


# ------------------------------------------------------------ calibration data = the reports

@pytest.mark.parametrize("name", sorted(FIXTURE_OF))
def test_calibration_matches_reports(name):
    record, fixture = calibration(name), FIXTURE_OF[name]
    hls = parse_csynth_rpt(csynth(fixture))
    assert record["totals"]["hls"] == hls.totals.as_dict()
    if "post_synthesis" in record["totals"]:
        synth = parse_utilization(fixture / "vivado_synth.rpt").totals.as_dict()
        assert record["totals"]["post_synthesis"] == synth
    assert (record["latency_cycles"], record["interval_cycles"], record["part"], record["clock_ns"]) == \
        (hls.latency_max, hls.interval_max, hls.part, hls.clock_ns)
    by_instance = {i.instance: i for i in hls.instances}
    for figures in record["hls_layers"].values():
        inst = by_instance[figures["instance"]]
        assert {k: figures[k] for k in ("lut", "ff", "dsp", "bram18", "uram")} == inst.resources.as_dict()
        assert (figures["latency_cycles"], figures["interval_cycles"]) == (inst.latency_max, inst.interval_max)
    # Vivado HLS: one FIFO per channel, layerN_out_V_data_<c>_V_U; Vitis HLS: one per stream, layerN_out_U
    first_rows = {f["name"].split("_V_data_")[0].removesuffix("_U"): f for f in hls.fifos}
    assert set(first_rows) == {f["stream"] for f in record["hls_fifos"]}
    for fifo in record["hls_fifos"]:
        row = first_rows[fifo["stream"]]
        assert (row["depth"], row["bits"], row["bram18"], row["ff"]) == \
            (fifo["depth"], fifo["bits"], fifo["bram18"], fifo["ff"])
    assert sum(f["count"] * f["bram18"] for f in record["hls_fifos"]) == record["hls_fifo_totals"]["bram18"]
    assert sum(f["count"] * f["ff"] for f in record["hls_fifos"]) == record["hls_fifo_totals"]["ff"]


def test_calibration_headline_numbers_from_reference():
    """The figures REFERENCE.md quotes for the hls4ml tutorial's SVHN CNN."""
    q6, p16 = calibration("svhn_cnn_6bit_qkeras_pruned"), calibration("svhn_cnn_16bit_pruned")
    assert q6["totals"]["hls"] == {"dsp": 340, "lut": 263280, "ff": 43847, "bram18": 100, "uram": 0}
    for record, (dsp, lut, ff, bram36) in ((q6, (353, 118931, 30702, 34)), (p16, (5386, 123948, 43435, 42))):
        synth = record["totals"]["post_synthesis"]
        assert (synth["dsp"], synth["lut"], synth["ff"]) == (dsp, lut, ff)
        assert record["post_synthesis_detail"]["bram36_tiles"] == bram36 and synth["bram18"] == 2 * bram36


def test_calibration_default_is_post_synthesis_records():
    assert [r["name"] for r in load_calibration()] == ["berk_encoder_conv1d", "berk_encoder_conv1d_resource",
                                                       "dnd_mlp_6bit_qkeras",
                                                       "ece226_har_conv1d",
                                                       "hls4ml_tutorial_part1_mlp", "svhn_cnn_16bit_pruned",
                                                       "svhn_cnn_6bit_qkeras_pruned"]
    assert "autoencoder_pynqz2_32bit_resource" in [r["name"] for r in load_calibration(include_hls_only=True)]


def test_calibration_loader_rejects_bad_files(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: x\n")
    with pytest.raises(CalibrationError, match="bad.yaml: missing field"):
        load_calibration(tmp_path)
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(CalibrationError, match="bad.yaml: not valid YAML"):
        load_calibration(tmp_path)
