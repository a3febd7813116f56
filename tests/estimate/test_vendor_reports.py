"""Vendor-report parsers against public reports (tests/estimate/fixtures, sources in SOURCE.md),
broken variants of them, and project layouts.  The calibration records' agreement with the same
reports is tests/estimate/test_calibration_records.py."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hw.estimate.vendor_reports import (ReportError, layer_names, load_reports, parse_csynth_rpt,
                                        parse_csynth_xml, parse_timing_summary, parse_utilization)

from report_fixtures import FIX, P16, Q6, calibration, hls4ml_project

VITIS_MODULE = FIX / "vitis_hls_2022_module" / \
    "conv_2d_cl_array_ap_fixed_3u_array_ap_fixed_16_6_5_3_0_16u_config2_s_csynth.xml"
TIMING = FIX / "vivado_timing" / "timing_summary_place.rpt"
VITIS_DATAFLOW = FIX / "vitis_hls_2022_dataflow" / "dataflow_in_loop_VITIS_LOOP_36_1_csynth.rpt"


# ------------------------------------------------------------ the published numbers, exactly

def test_vivado_hls_rpt_svhn_16bit():
    r = parse_csynth_rpt(P16 / "myproject_csynth.rpt")
    assert (r.tool, r.version, r.top, r.part, r.family) == \
        ("Vivado HLS", "2020.1", "myproject", "xcu250-figd2104-2L-e", "virtexuplus")
    assert (r.clock_ns, r.clock_estimated_ns) == (5.0, 4.363)
    assert (r.latency_min, r.latency_max, r.interval_min, r.interval_max) == (1044, 1044, 1028, 1028)
    assert r.totals.as_dict() == {"lut": 245466, "ff": 52549, "dsp": 5414, "bram18": 100, "uram": 0}
    conv = {i.instance: i for i in r.instances}["conv_2d_cl_array_array_ap_fixed_16u_config2_U0"]
    assert (conv.resources.dsp, conv.resources.lut, conv.latency_max, conv.interval_max) == (208, 6334, 1027, 1027)
    assert len(r.instances) == 16
    assert sum(i.resources.dsp for i in r.instances) == 5414


def test_vivado_hls_rpt_svhn_6bit():
    r = parse_csynth_rpt(Q6 / "myproject_csynth.rpt")
    assert r.totals.as_dict() == {"lut": 263280, "ff": 43847, "dsp": 340, "bram18": 100, "uram": 0}
    assert (r.latency_max, r.interval_max) == (1044, 1028)
    fifo = {f["name"]: f for f in r.fifos}["layer4_out_V_data_0_V_U"]
    assert (fifo["depth"], fifo["bits"], fifo["bram18"], fifo["ff"]) == (900, 6, 1, 39)


@pytest.mark.parametrize("folder, expected, tiles", [
    (P16, {"lut": 123948, "ff": 43435, "dsp": 5386, "bram18": 84, "uram": 0}, 42),
    (Q6, {"lut": 118931, "ff": 30702, "dsp": 353, "bram18": 68, "uram": 0}, 34)])
def test_vivado_utilization_svhn(folder, expected, tiles):
    u = parse_utilization(folder / "vivado_synth.rpt")
    assert u.totals.as_dict() == expected and u.bram36_tiles == tiles
    assert (u.version, u.part, u.design, u.stage) == ("2020.1", "xcu250figd2104-2L", "myproject", "post-synthesis")


def test_vivado_hls_rpt_io_parallel_dnd():
    """io_parallel, Latency: no FIFOs, the layers are function instances (grp_..._fu_N)."""
    r = parse_csynth_rpt(FIX / "dnd_mlp_6bit" / "myproject_csynth.rpt")
    assert (r.tool, r.version, r.part, r.family, r.clock_ns) == \
        ("Vivado HLS", "2020.1", "xczu9eg-ffvb1156-2-e", "zynquplus", 5.0)
    assert (r.latency_max, r.interval_max, r.fifos) == (5, 1, [])
    assert r.totals.as_dict() == {"lut": 59561, "ff": 4561, "dsp": 0, "bram18": 1, "uram": 0}
    assert sum(i.resources.lut for i in r.instances) == 59519
    u = parse_utilization(FIX / "dnd_mlp_6bit" / "vivado_synth.rpt")
    assert (u.totals.as_dict(), u.bram36_tiles, u.stage) == \
        ({"lut": 31277, "ff": 4555, "dsp": 0, "bram18": 1, "uram": 0}, 0.5, "post-synthesis")


def test_vitis_hls_2024_rpt_and_optimized_utilization():
    """Vitis HLS 2024.1 (hls4ml 1.0 io_stream Conv1D): packed FIFOs; Vivado 2024.1 after opt_design."""
    r = parse_csynth_rpt(FIX / "ece226_har_conv1d" / "myproject_csynth.rpt")
    assert (r.tool, r.version, r.part, r.clock_ns, r.clock_estimated_ns) == \
        ("Vitis HLS", "2024.1", "xcu250-figd2104-2L-e", 5.0, 3.53)
    assert (r.latency_max, r.interval_max) == (395, 390)
    assert r.totals.as_dict() == {"lut": 17966, "ff": 7123, "dsp": 467, "bram18": 29, "uram": 0}
    assert {f["name"]: (f["depth"], f["bits"], f["bram18"]) for f in r.fifos}["layer8_out_U"] == (130, 144, 8)
    u = parse_utilization(FIX / "ece226_har_conv1d" / "vivado_synth.rpt")
    assert (u.totals.as_dict(), u.bram36_tiles, u.stage, u.version) == \
        ({"lut": 8565, "ff": 4864, "dsp": 467, "bram18": 24, "uram": 0}, 12, "optimized", "2024.1")


def test_vitis_hls_rpt_printed_by_hls4ml():
    """A csynth.rpt as hls4ml.report.read_vivado_report printed it in a notebook (no leading blank
    lines); io_parallel under Vitis HLS: instances carry configN, the softmax's tables in LUTs."""
    r = parse_csynth_rpt(FIX / "hls4ml_tutorial_part1_mlp" / "myproject_csynth.rpt")
    assert (r.tool, r.version, r.part, r.clock_estimated_ns, r.latency_max, r.interval_max) == \
        ("Vitis HLS", "2024.1", "xcu250-figd2104-2L-e", 3.65, 12, 1)
    assert r.totals.as_dict() == {"lut": 130989, "ff": 20125, "dsp": 2214, "bram18": 0, "uram": 0}
    assert len(r.instances) == 8 and sum(i.resources.dsp for i in r.instances) == 2214
    u = parse_utilization(FIX / "hls4ml_tutorial_part1_mlp" / "vivado_synth.rpt")
    assert u.totals.as_dict() == {"lut": 60222, "ff": 19224, "dsp": 2200, "bram18": 0, "uram": 0}


def test_csynth_xml_vivado_hls_2019():
    r = parse_csynth_xml(FIX / "autoencoder_vivado_hls_2019" / "myproject_csynth.xml")
    assert (r.tool, r.version, r.part, r.top, r.clock_ns) == \
        ("Vivado HLS", "2019.2.1", "xc7z020-clg400-1", "myproject", 5.0)
    assert (r.latency_min, r.latency_max, r.interval_min, r.interval_max) == (96014, 96165, 4625, 95949)
    assert r.totals.as_dict() == {"lut": 33365, "ff": 51414, "dsp": 118, "bram18": 285, "uram": 0}


def test_csynth_xml_vitis_hls_module():
    r = parse_csynth_xml(VITIS_MODULE)
    assert (r.tool, r.version, r.part, r.clock_ns, r.clock_estimated_ns) == \
        ("Vitis HLS", "2022.2", "xcu55c-fsvh2892-2L-e", 3.33, 2.275)
    assert r.totals.as_dict() == {"lut": 7993, "ff": 4150, "dsp": 53, "bram18": 0, "uram": 0}
    assert (r.latency_max, r.interval_max) == (5123, 5123)


def test_vitis_hls_rpt():
    r = parse_csynth_rpt(VITIS_DATAFLOW)
    assert (r.tool, r.version, r.top, r.part, r.clock_ns, r.clock_estimated_ns) == \
        ("Vitis HLS", "2022.2", "dataflow_in_loop_VITIS_LOOP_36_1", "xcu55c-fsvh2892-2L-e", 3.33, 2.433)
    assert (r.latency_min, r.latency_max, r.interval_min, r.interval_max) == (5253, 5253, 5124, 5124)
    assert r.totals.as_dict() == {"lut": 281486, "ff": 99120, "dsp": 254, "bram18": 52, "uram": 0}
    net = {i.instance: i for i in r.instances}["myproject_U0"]
    assert (net.resources.as_dict(), net.latency_max, net.interval_max) == \
        ({"lut": 279687, "ff": 97846, "dsp": 254, "bram18": 50, "uram": 0}, 5177, 5124)
    assert {f["name"]: (f["depth"], f["bits"], f["bram18"]) for f in r.fifos}["input1_U"] == (1024, 48, 2)


def test_vitis_hls_rpt_hls4ml_top():
    """hls4ml 1.x under Vitis HLS 2023.1: one packed FIFO per layer output, each BRAM18 per 18 bits."""
    r = parse_csynth_rpt(FIX / "vitis_hls_2023_conv1d" / "myproject_csynth.rpt")
    assert (r.tool, r.version, r.top, r.part, r.clock_ns) == \
        ("Vitis HLS", "2023.1", "myproject", "xczu49dr-ffvf1760-2-e", 5.0)
    assert (r.latency_max, r.interval_max) == (695, 578)
    assert r.totals.as_dict() == {"lut": 339116, "ff": 65881, "dsp": 29, "bram18": 332, "uram": 0}
    assert len(r.instances) == 15 and sum(i.resources.lut for i in r.instances) == 338387
    conv = {i.instance: i for i in r.instances}["conv_1d_cl_array_array_ap_fixed_22_11_5_3_0_64u_config8_U0"]
    assert (conv.resources.lut, conv.latency_max, conv.interval_max) == (123917, 255, 255)
    assert len(r.fifos) == 14 and sum(f["bram18"] for f in r.fifos) == 332
    assert all(f["bram18"] == -(-f["bits"] // 18) for f in r.fifos)


def test_csynth_xml_hierarchy(tmp_path):
    """Vitis HLS's top-level csynth.xml lists the top's instances under <RTLDesignHierarchy> and each
    module's figures under <ModuleInformation>. No public file of that kind was found to keep as a
    fixture, so this one is assembled here: the real per-module report above as the only module."""
    module = VITIS_MODULE.read_text().split("<profile>")[1].split("</profile>")[0]
    name = VITIS_MODULE.name[:-len("_csynth.xml")]
    top = VITIS_MODULE.read_text().replace("</profile>", f"""
<RTLDesignHierarchy><TopModule><ModuleName>myproject</ModuleName><InstancesList>
<Instance><InstName>{name[:-2]}_U0</InstName><ModuleName>{name}</ModuleName></Instance>
</InstancesList></TopModule></RTLDesignHierarchy>
<ModuleInformation><Module><Name>{name}</Name>{module}</Module></ModuleInformation>
</profile>""")
    (tmp_path / "csynth.xml").write_text(top)
    r = parse_csynth_xml(tmp_path / "csynth.xml")
    assert [(i.instance, i.resources.dsp, i.latency_max, i.interval_max) for i in r.instances] == \
        [(f"{name[:-2]}_U0", 53, 5123, 5123)]
    (tmp_path / "csynth.xml").write_text(top.replace(f"<Name>{name}</Name>", "<Name>other</Name>"))
    with pytest.raises(ReportError, match="which <ModuleInformation> does not describe"):
        parse_csynth_xml(tmp_path / "csynth.xml")


def test_timing_summary():
    t = parse_timing_summary(TIMING)
    assert (t.version, t.part, t.clock, t.period_ns, t.wns_ns, t.whs_ns) == \
        ("2021.2", "xczu3eg-sbva484", "clk", 5.0, 2.479, 0.022)
    assert (t.achieved_ns, t.fmax_mhz) == (2.521, 396.7)
    with pytest.raises(ReportError, match="no clock 'ap_clk'"):
        parse_timing_summary(TIMING, clock="ap_clk")


# ------------------------------------------------------------ broken input: one clear error

def _cut(src: Path, tmp_path: Path, marker: str, name: str) -> Path:
    """``src`` up to (not including) the first line containing ``marker``."""
    text = src.read_text()
    out = tmp_path / name
    out.write_text(text[:text.index(marker)])
    return out


def _edit(src: Path, tmp_path: Path, old: str, new: str) -> Path:
    out = tmp_path / src.name
    out.write_text(src.read_text().replace(old, new))
    return out


def _drop(src: Path, tmp_path: Path, start: str, end: str, name: str) -> Path:
    text = src.read_text()
    out = tmp_path / name
    out.write_text(text[:text.index(start)] + text[text.index(end):])
    return out


@pytest.mark.parametrize("make, message", [
    (lambda t: _cut(P16 / "myproject_csynth.rpt", t, "|pooling2d_cl_array_array_ap_fixed_16u_config6_U0  ", "a.rpt"),
     "'Utilization Estimates' section is missing"),
    (lambda t: _cut(P16 / "myproject_csynth.rpt", t, "    |Total" + " " * 50 + "|", "a.rpt"),
     "no Total row"),
    (lambda t: _drop(P16 / "myproject_csynth.rpt", t, "+ Latency:", "    + Detail:", "a.rpt"),
     "no latency summary"),
    (lambda t: _drop(P16 / "myproject_csynth.rpt", t, "* Summary: \n+-", "+ Detail: \n    * Instance:", "a.rpt"),
     "no summary table with a Total row"),
    (lambda t: P16 / "vivado_synth.rpt", "not a Vivado/Vitis HLS synthesis report"),
])
def test_broken_csynth_rpt(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ReportError, match=message) as err:
        parse_csynth_rpt(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("make, message", [
    (lambda t: _cut(VITIS_MODULE, t, "<AreaEstimates>", "a.xml"), "not well-formed XML"),
    (lambda t: _drop(VITIS_MODULE, t, "<AreaEstimates>", "<InterfaceSummary>", "a.xml"), "<AreaEstimates><Resources>"),
    (lambda t: _drop(VITIS_MODULE, t, "<Part>", "<TopModelName>", "a.xml"), "<Part> is missing"),
    (lambda t: TIMING, "not well-formed XML"),
])
def test_broken_csynth_xml(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ReportError, match=message) as err:
        parse_csynth_xml(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("parse, make, message", [
    (parse_utilization, lambda t: _cut(Q6 / "vivado_synth.rpt", t, "2. BLOCKRAM\n---", "u.rpt"),
     "no DSPs, Block RAM Tile row"),
    (parse_utilization, lambda t: TIMING, "a report_timing_summary report, expected report_utilization"),
    (parse_utilization, lambda t: _edit(Q6 / "vivado_synth.rpt", t, "-file vivado_synth.rpt",
                                        "-hierarchical -file vivado_synth.rpt"), "a hierarchical report_utilization"),
    (parse_utilization, lambda t: P16 / "myproject_csynth.rpt", "not a Vivado report"),
    (parse_timing_summary, lambda t: Q6 / "vivado_synth.rpt", "a report_utilization report, expected"),
    (parse_timing_summary, lambda t: _cut(TIMING, t, "      2.479", "t.rpt"), "no 'Design Timing Summary' values"),
    (parse_timing_summary, lambda t: t / "missing.rpt", "cannot read"),
])
def test_broken_vivado_reports(tmp_path, parse, make, message):
    path = make(tmp_path)
    with pytest.raises(ReportError, match=message) as err:
        parse(path)
    assert str(path) in str(err.value)


# ------------------------------------------------------------ project layouts

def test_load_reports_reports_folder_without_firmware(tmp_path):
    (tmp_path / "reports").mkdir()
    shutil.copy(Q6 / "myproject_csynth.rpt", tmp_path / "reports")
    shutil.copy(TIMING, tmp_path / "reports" / "myproject_timing_summary_routed.rpt")
    with pytest.raises(ReportError, match="part xczu3eg-sbva484 differs from xcu250-figd2104-2L-e"):
        load_reports(tmp_path)
    (tmp_path / "reports" / "myproject_timing_summary_routed.rpt").unlink()
    reports = load_reports(tmp_path)
    assert reports.source == "synthesized: Vivado HLS 2020.1 csynth" and reports.totals_from == "HLS estimate"
    assert reports.totals == reports.hls_totals == {"lut": 263280, "ff": 43847, "dsp": 340, "bram18": 100, "uram": 0}
    assert len(reports.unmapped) == 18 and "conv_2d_cl_array_array_ap_fixed_16u_config2_U0" in reports.layers


def test_load_reports_timing_only_and_nothing(tmp_path):
    assert load_reports(tmp_path) is None
    (tmp_path / "reports").mkdir()
    assert load_reports(tmp_path) is None
    shutil.copy(TIMING, tmp_path / "reports" / "top_timing_summary_routed.rpt")
    reports = load_reports(tmp_path)
    assert (reports.achieved_clock_ns, reports.timing.fmax_mhz, reports.totals) == (2.521, 396.7, {})
    with pytest.raises(ReportError, match="not a directory"):
        load_reports(tmp_path / "absent")


def test_load_reports_axi_wrapper_and_furthest_stage(tmp_path):
    """The network inside an AXI wrapper: totals from the top's report, layers from the network's;
    of two utilization reports the placed one wins (a copy of the synthesized one, state edited)."""
    project = hls4ml_project(tmp_path, P16, calibration("svhn_cnn_16bit_pruned"))
    report = project / "myproject_prj" / "solution1" / "syn" / "report"
    text = (report / "myproject_csynth.rpt").read_text()
    wrapper = text.replace("Report for 'myproject'", "Report for 'myproject_axi'")
    (report / "myproject_axi_csynth.rpt").write_text(wrapper)
    (project / "accelerator.yaml").write_text("top: myproject_axi\n")
    (project / "vivado_synth.rpt").unlink()
    (project / "reports").mkdir()
    synth = (P16 / "vivado_synth.rpt").read_text().replace("Design       : myproject",
                                                           "Design       : design_1_wrapper")
    (project / "reports" / "design_1_wrapper_utilization_synth.rpt").write_text(synth)
    placed = synth.replace("Design State : Synthesized", "Design State : Fully Placed")
    placed = placed.replace("| 123948 |", "| 120001 |")
    (project / "reports" / "design_1_wrapper_utilization_placed.rpt").write_text(placed)
    reports = load_reports(project)
    assert reports.hls.top == "myproject_axi" and "conv_0" in reports.layers
    assert reports.source == "synthesized: Vivado 2020.1 post-placement of design_1_wrapper"
    assert (reports.totals["lut"], reports.totals_from) == (120001, "post-placement")


def test_inlined_layers_give_no_instances(tmp_path):
    """io_parallel + Latency: the layers are inlined into the top, whose tables then read N/A."""
    text = (P16 / "myproject_csynth.rpt").read_text()
    start = text.index("        * Instance: \n") + len("        * Instance: \n")
    text = text[:start] + "        N/A\n\n" + text[text.index("        * Loop:"):]
    start = text.index("    * Instance: \n    +---") + len("    * Instance: \n")
    text = text[:start] + "    N/A\n\n" + text[text.index("    * DSP48E:"):]
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "myproject_csynth.rpt").write_text(text)
    reports = load_reports(tmp_path)
    assert reports.hls.instances == [] and reports.layers == {} and reports.hls_totals["dsp"] == 5414


def test_report_of_another_function(tmp_path):
    report = tmp_path / "tiny_prj" / "solution1" / "syn" / "report"
    report.mkdir(parents=True)
    shutil.copy(Q6 / "myproject_csynth.rpt", report / "tiny_csynth.rpt")
    (tmp_path / "attendnets.yaml").write_text("project_name: tiny\n")
    with pytest.raises(ReportError, match="tiny_csynth.rpt: a report of function 'myproject', expected 'tiny'"):
        load_reports(tmp_path)
    (tmp_path / "attendnets.yaml").write_text("project_name: [tiny]\n")
    with pytest.raises(ReportError, match="project_name should be a string"):
        load_reports(tmp_path)


def test_several_tops_need_a_project_name(tmp_path):
    (tmp_path / "reports").mkdir()
    shutil.copy(P16 / "myproject_csynth.rpt", tmp_path / "reports")
    shutil.copy(P16 / "myproject_csynth.rpt", tmp_path / "reports" / "other_csynth.rpt")
    with pytest.raises(ReportError, match="several \\*_csynth reports"):
        load_reports(tmp_path)


def test_layer_names_from_parameters_h(tmp_path):
    (tmp_path / "parameters.h").write_text(
        "// conv_0\nstruct config2_mult : nnet::dense_config {\n};\nstruct config2 : nnet::conv2d_config {\n};\n"
        "// conv_act_0\nstruct relu_config5 : nnet::activ_config {\n};\n")
    assert layer_names(tmp_path) == {2: "conv_0", 5: "conv_act_0"}
