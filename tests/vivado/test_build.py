"""`attendnets build`: a clear failure without the vendor tools, and (with stand-in tools on PATH
that write what the real ones write) the reports and bitstream collected into the project."""
import argparse
import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from hw.vivado import build
from hw.hls.ports import AcceleratorConfig


def _cli(argv):
    parser = argparse.ArgumentParser()
    build.add_cli(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def _tool(folder, name, body):
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def project(vendor_project, tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(vendor_project("vitis"), copy, ignore=shutil.ignore_patterns("build"))
    return copy


def test_without_tools_names_the_tool_and_the_command(project, tmp_path, monkeypatch, capsys):
    from hw.cli import main

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["build", str(project)]) == 1
    err = capsys.readouterr().err
    assert "vitis-run or vitis_hls not found on PATH" in err
    assert "vitis-run --mode hls --tcl vendor/hls.tcl" in err
    assert not (project / "reports").exists()       # nothing ran, nothing written


def test_bitstream_without_vivado_stops_before_hls(project, tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "vitis_hls", "touch ran_hls\n")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert _cli(["build", str(project), "--bitstream", "--jobs", "4"]) == 1
    err = capsys.readouterr().err
    assert "vivado not found on PATH" in err
    assert "vitis_hls -f vendor/hls.tcl && vivado -mode batch -nojournal -nolog -source vendor/vivado.tcl -tclargs 4" in err
    assert not (project / "ran_hls").exists()


FIXTURES = Path(__file__).parent.parent / "estimate" / "fixtures"


def stand_in_outputs(folder, acc):
    """What Vitis HLS and Vivado leave behind, from the public reports under tests/estimate/fixtures:
    the SVHN design's C synthesis report under our function names (the top's and the network's)
    and its Vivado utilization; the timing summary of another design, moved to the same part."""
    hls = (FIXTURES / "svhn_quantized_6bit" / "myproject_csynth.rpt").read_text()
    for function in (acc.top, acc.project):
        (folder / f"{function}_csynth.rpt").write_text(hls.replace("myproject", function))
    shutil.copy(FIXTURES / "svhn_quantized_6bit" / "vivado_synth.rpt", folder / "utilization.rpt")
    timing = (FIXTURES / "vivado_timing" / "timing_summary_place.rpt").read_text()
    (folder / "timing.rpt").write_text(timing.replace("xczu3eg-sbva484", "xcu250-figd2104"))


def test_with_tools_collects_reports_that_report_reads(project, tmp_path, monkeypatch, capsys):
    from hw.cli import main
    from hw.estimate.vendor_reports import load_reports

    acc = AcceleratorConfig.load(project)
    report = f"{acc.top}_prj/solution1/syn/report"
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    stand_in_outputs(outputs, acc)
    utilization, timing = build.VIVADO_REPORTS     # the names vendor/vivado.tcl writes (test_tcl.py)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "vitis-run", f'test "$*" = "--mode hls --tcl vendor/hls.tcl" || exit 3\n'
                                f"mkdir -p {report} && cp {outputs}/*_csynth.rpt {report}/ && "
                                f"echo '<profile/>' > {report}/csynth.xml\n")
    _tool(bin_dir, "vivado", f'test "$*" = "-mode batch -nojournal -nolog -source vendor/vivado.tcl -tclargs 2" || exit 3\n'
                             "mkdir -p bitstream reports && touch bitstream/{0}.bit bitstream/{0}.hwh && "
                             "cp {1}/utilization.rpt reports/{2} && cp {1}/timing.rpt reports/{3}\n"
                             .format(acc.project, outputs, utilization, timing))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    assert _cli(["build", str(project), "--bitstream"]) == 0
    record = yaml.safe_load((project / "reports" / "build.yaml").read_text())
    assert record["source"] == "synthesized" and [s["step"] for s in record["steps"]] == ["hls", "vivado"]
    assert {f"bitstream/{acc.project}.hwh", f"reports/{acc.top}_csynth.rpt", f"reports/{acc.project}_csynth.rpt",
            f"reports/{utilization}", f"reports/{timing}"} <= set(record["files"])
    found = load_reports(project)
    assert found is not None and found.source.startswith("synthesized: Vivado")
    assert {Path(f).name for f in found.files} == {f"{acc.top}_csynth.rpt", f"{acc.project}_csynth.rpt",
                                                    utilization, timing}
    assert found.totals_from == "post-synthesis" and found.totals["lut"] > 0
    assert found.achieved_clock_ns is not None and found.latency_cycles > 0
    capsys.readouterr()
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert main(["report", str(project)]) == 0
    assert f"{found.source} ({found.totals_from}): " in capsys.readouterr().out   # "synthesized: Vivado ..."


def test_failing_tool_points_at_its_log(project, tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "vitis-run", "echo 'ERROR: [HLS 200-70] synthesis failed'; exit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    assert _cli(["build", str(project)]) == 1
    assert "see reports/hls.log" in capsys.readouterr().err
    assert "synthesis failed" in (project / "reports" / "hls.log").read_text()


def test_not_a_project(tmp_path):
    with pytest.raises(ValueError, match="accelerator.yaml: not found"):
        build.build(tmp_path)
