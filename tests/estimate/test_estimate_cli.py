"""report / plan / compare on the command line: outputs and one-line errors."""
import json
import re

import pytest
import yaml

pytestmark = pytest.mark.usefixtures("cached_models")

from hw.cli import main
from hw.estimate.render import fits_warning, summary_line


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_unknown_board_is_a_usage_error(capsys):
    status, _, err = run(capsys, "plan", "attendnet-tiny", "--board", "zcu999")
    assert status == 2 and "zcu999" in err and "zcu104" in err


def test_report_of_a_folder_that_is_not_a_project(capsys, tmp_path):
    status, _, err = run(capsys, "report", str(tmp_path))
    assert status == 2 and "not an attendnets project (no attendnets.yaml)" in err
    assert len(err.strip().splitlines()) == 1


def test_report_of_a_corrupted_project(capsys, tmp_path):
    (tmp_path / "attendnets.yaml").write_text("board: [unclosed\n")
    status, _, err = run(capsys, "report", str(tmp_path))
    assert status == 2 and "attendnets.yaml: not valid YAML" in err
    (tmp_path / "attendnets.yaml").write_text(yaml.safe_dump({"board": {"name": "zcu104"}, "layers": {}}))
    status, _, err = run(capsys, "report", str(tmp_path))
    assert status == 2 and "missing field 'fifo_depths'" in err


def test_impossible_target_fps_fails_in_one_line(capsys):
    status, _, err = run(capsys, "plan", "attendnet-tiny", "--board", "pynq-z2", "--target-fps", "1e9")
    assert status == 1 and "--target-fps 1e+09 is impossible" in err and len(err.strip().splitlines()) == 1


def test_plan_writes_a_recipe_generate_accepts(capsys, tmp_path):
    from hw.config import BuildConfig

    out = tmp_path / "plan.yaml"
    status, printed, _ = run(capsys, "plan", "attendnet-tiny", "--board", "pynq-z2", "--out", str(out))
    assert status == 0 and "images/s" in printed and "bottleneck" in printed and "limit" in printed
    cfg = BuildConfig.load(out)
    assert cfg.board == "pynq-z2" and cfg.layers and out.read_text().startswith("# attendnets plan")


def test_summary_and_warning_lines():
    from hw.config import BuildConfig
    from hw.estimate.source import from_config

    small = from_config(BuildConfig(model="attendnet-tiny", board="zcu104")).estimate()
    assert summary_line(small).startswith("estimated: fits zcu104") and fits_warning(small) is None
    big = from_config(BuildConfig(model="attendnet-tiny", board="pynq-z2")).estimate()   # reuse 1 everywhere
    assert "does NOT fit pynq-z2" in summary_line(big) and "lut short by" in summary_line(big)
    assert fits_warning(big).startswith("warning: the estimate says this design does not fit pynq-z2: lut by")


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_report_formats_embed_charts(capsys, tmp_path, fmt, monkeypatch):
    from hw.config import BuildConfig
    from hw.estimate import cli
    from hw.estimate.source import from_config

    design = from_config(BuildConfig(model="attendnet-tiny", board="zcu104"))
    monkeypatch.setattr("hw.estimate.source.from_project", lambda project: design)
    monkeypatch.setattr("hw.estimate.vendor_reports.load_reports", lambda project: None)
    out = tmp_path / f"r.{fmt}"
    assert cli._report(type("A", (), {"project": "x", "format": fmt, "out": str(out)})()) == 0
    text = out.read_text()
    assert text.count("data:image/png;base64,") == 3 and "leave-one-out" in text


def test_compare_lists_the_networks_and_the_dpu(capsys, monkeypatch):
    from hw.estimate import compare

    monkeypatch.setattr(compare, "COMPARED", ("attendnet-tiny",))
    status, out, _ = run(capsys, "compare", "--board", "kv260", "pynq-z2", "--format", "json")
    rows = json.loads(out)
    assert status == 0 and [(r["board"], r["model"]) for r in rows] == [("kv260", "attendnet-tiny"),
                                                                        ("pynq-z2", "attendnet-tiny")]
    assert all(r["fits"] and r["fps"] > 0 and r["macs"] > 0 and r["dpu_fps"] is None for r in rows)
    assert all(r["fps"] <= r["physical_limit_fps"] for r in rows)   # no plan beats what the board can multiply
    dpu = {"single": 290.6, "multi": 336.8, "source": compare.DPU_SOURCE, "config": "1xB4096F @300 MHz"}
    text = compare.compare_text([{**rows[0], "model": "mobilenet-v2", "dpu_fps": dpu}], "table")
    assert "291 / 337" in text and "Vitis AI 2.5" in text and rows[0]["bottleneck"] in text
    assert text.count("\n") >= 2 and "physical limit" in text


def test_synthesized_figures_beside_the_estimate():
    from hw.config import BuildConfig
    from hw.estimate.render import as_json, as_table
    from hw.estimate.source import from_config
    from hw.estimate.vendor_reports import SynthesisReports

    est = from_config(BuildConfig(model="attendnet-tiny", board="zcu104")).estimate()
    conv = next(layer for layer in est.layers if layer.name == "s00_conv")
    synth = SynthesisReports(source="synthesized: Vivado 2022.2 post-synthesis", part="xczu7ev", clock_ns=5.0,
                             totals={"lut": 50000, "ff": 30000, "dsp": 0, "bram18": 4, "uram": 0},
                             totals_from="post-synthesis", hls_totals=None, latency_cycles=1200, interval_cycles=1100,
                             layers={"s00_conv": {"lut": round(conv.cost.lut / 2), "ff": 100, "dsp": 0, "bram18": 0,
                                                  "uram": 0, "latency_cycles": 1092, "interval_cycles": 1092}})
    data = json.loads(as_json(est, synth))
    assert data["synthesized"]["source"].startswith("synthesized:") and data["source"] == "estimated"
    layer = next(x for x in data["layers"] if x["name"] == "s00_conv")
    assert layer["synthesized"]["lut"] == round(conv.cost.lut / 2)
    text = as_table(est, synth)
    assert "synth LUT" in text and "2.00" in text and "synthesized: Vivado 2022.2" in text


def test_plan_prices_a_checkpoint_with_its_weights_in_a_recipe_that_finds_its_files(capsys, tmp_path, monkeypatch):
    """plan --weights prices the trained weights generation will build (not seeded ones: a LUT
    multiplier's cost depends on its weight), and the recipe's paths are relative to the recipe."""
    from pathlib import Path

    from hw.config import BuildConfig
    from hw.estimate.source import from_config, from_project
    from hw.hls.convert import generate

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "recipes" / "tiny.yaml"
    monkeypatch.chdir(root)
    assert run(capsys, "plan", "qmodels/specs/attendnet-tiny.yaml", "--board", "pynq-z2", "--out", str(out))[0] == 0
    assert Path(BuildConfig.load(out).model).resolve() == root / "qmodels" / "specs" / "attendnet-tiny.yaml"
    status, printed, _ = run(capsys, "plan", "--weights", "qmodels/checkpoints/attendnet-tiny-digits",
                             "--board", "pynq-z2", "--out", str(out), "--force")
    assert status == 0 and "--weights qmodels/checkpoints/attendnet-tiny-digits" in out.read_text()
    monkeypatch.chdir(tmp_path)  # the recipe is read from elsewhere: its checkpoint is found beside it
    cfg = BuildConfig.load(out)
    assert Path(cfg.weights).resolve() == root / "qmodels" / "checkpoints" / "attendnet-tiny-digits"
    project, _ = generate(cfg, tmp_path / "project")
    planned = from_config(cfg).estimate().totals
    assert from_project(project).estimate().totals == planned
    seeded = from_config(BuildConfig(model="attendnet-tiny", board="pynq-z2").validate("test")).estimate().totals
    assert seeded != planned


def test_plan_keeps_an_existing_recipe_unless_forced(capsys, tmp_path):
    """A recipe the user may have edited is refused in one line naming it and --force (before any
    planning); --force replaces it, and nothing but the recipe is left in its folder."""
    out = tmp_path / "plan.yaml"
    out.write_text("# my edits\n")
    argv = ("plan", "attendnet-tiny", "--board", "pynq-z2", "--out", str(out))
    status, printed, err = run(capsys, *argv)
    assert status == 1 and err.strip() == (f"attendnets plan: error: --out {out} exists and may hold your edits; "
                                           "pass --force to replace it, or choose another --out")
    assert out.read_text() == "# my edits\n" and "images/s" not in printed
    assert run(capsys, *argv, "--force")[0] == 0
    assert out.read_text().startswith("# attendnets plan") and list(tmp_path.iterdir()) == [out]
    status, _, err = run(capsys, "plan", "attendnet-tiny", "--board", "pynq-z2", "--out", str(tmp_path), "--force")
    assert status == 2 and f"--out {tmp_path} is a folder" in err


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    from hw.estimate import cli

    out = tmp_path / "compare.md"
    out.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):    # fails after the sibling was opened, as a full disk would
        cli._write("half a table \ud800", out)
    assert out.read_text() == "old\n" and list(tmp_path.iterdir()) == [out]
    cli._write("new\n", tmp_path / "sub" / "compare.md")
    assert (tmp_path / "sub" / "compare.md").read_text() == "new\n"    # its folder made, as before


def test_compare_shows_no_percentage_of_a_resource_the_board_lacks(capsys, tmp_path, monkeypatch):
    """pynq-z2 has no URAM: its cell is '-' in the table and markdown (0 of 0 is not 0%); zcu104's is
    'total (percent)'; the JSON keeps the numbers and says the board's capacity.  --out is regenerated
    output: an existing file is replaced."""
    from hw.estimate import compare
    from hw.estimate.render import as_table
    from hw.estimate.source import from_config
    from hw.config import BuildConfig

    monkeypatch.setattr(compare, "COMPARED", ("attendnet-tiny",))
    rows = compare.compare_rows(("pynq-z2", "zcu104"))
    pynq, zcu = rows
    assert pynq["fits"] and pynq["capacity"]["uram"] == 0 and pynq["uram"] == 0 and pynq["utilization"]["uram"] == 0
    assert zcu["capacity"]["uram"] == 96
    for fmt, split in (("table", lambda line: re.split(r" {2,}", line.strip())),   # cells hold single spaces
                       ("md", lambda line: [c.strip() for c in line.strip("| ").split("|")])):
        table = [split(line) for line in compare.compare_text(rows, fmt).splitlines()
                 if "URAM" in line or "attendnet-tiny" in line]
        uram = {cells[0]: cells[table[0].index(next(h for h in table[0] if h.startswith("URAM")))]
                for cells in table[1:]}
        assert uram == {"pynq-z2": "-", "zcu104": f"{zcu['uram']} ({zcu['utilization']['uram']:.0%})"}, fmt
    out = tmp_path / "compare.md"
    out.write_text("last run's table\n")
    assert run(capsys, "compare", "--board", "pynq-z2", "--format", "md", "--out", str(out))[0] == 0
    assert out.read_text().startswith("# AttendNets") and list(tmp_path.iterdir()) == [out]
    summary = as_table(from_config(BuildConfig(model="attendnet-tiny", board="pynq-z2")).estimate())
    assert "uram - (none on the board)" in summary and "uram 0.0%" not in summary
