"""What the report tests share: the public fixtures (SOURCE.md), which calibration record each
folder holds, and an hls4ml project layout built around a fixture."""
from __future__ import annotations

import functools
import shutil
from pathlib import Path

import yaml

from hw.estimate.calibration import load_calibration

FIX = Path(__file__).parent / "fixtures"
P16, Q6 = FIX / "svhn_pruned_16bit", FIX / "svhn_quantized_6bit"
AUTOENCODER = FIX / "autoencoder_vivado_hls_2019"
FIXTURE_OF = {"svhn_cnn_16bit_pruned": P16, "svhn_cnn_6bit_qkeras_pruned": Q6,
              "autoencoder_pynqz2_32bit_resource": AUTOENCODER,
              "dnd_mlp_6bit_qkeras": FIX / "dnd_mlp_6bit", "ece226_har_conv1d": FIX / "ece226_har_conv1d",
              "hls4ml_tutorial_part1_mlp": FIX / "hls4ml_tutorial_part1_mlp",
              "berk_encoder_conv1d": FIX / "berk_encoder_conv1d",
              "berk_encoder_conv1d_resource": FIX / "berk_encoder_conv1d_resource",
              "hector_tutorial_2019_mlp": FIX / "hector_tutorial_mlp",
              "hector_tutorial_2019_mlp_qkeras6": FIX / "hector_tutorial_mlp_qkeras6",
              "hector_tutorial_2019_mlp_reuse2": FIX / "hector_tutorial_mlp_reuse2",
              "nrp_tutorial_2022_mlp": FIX / "nrp_tutorial_mlp",
              **{f"hls4ml_tutorial_{year}_mlp{variant}": FIX / f"tutorial{year}_mlp{variant}"
                 for year, variant in (("2019", ""), ("2019", "_reuse2"), ("2019", "_pruned"), ("2019", "_qkeras6"),
                                       ("2024", ""), ("2024", "_pruned"), ("2024", "_qkeras6"))}}


def firmware_cpp(record: dict, top: str = "myproject") -> str:
    """A firmware/<name>.cpp in hls4ml's format: one call per layer, its name in a comment."""
    lines = [f"void {top}(hls::stream<input_t> &in, hls::stream<result_t> &out) {{"]
    for layer in record["network"]["layers"]:
        n = layer["hls_index"]
        lines.append(f"    nnet::op<layer{n - 1}_t, layer{n}_t, config{n}>(layer{n - 1}_out, layer{n}_out); "
                     f"// {layer['name']}")
    return "\n".join(lines + ["}"]) + "\n"


@functools.lru_cache(maxsize=None)
def records() -> tuple:
    return tuple(load_calibration(include_hls_only=True))


def calibration(name: str) -> dict:
    return next(r for r in records() if r["name"] == name)


def csynth(fixture: Path) -> Path:
    """The fixture's top-level csynth.rpt (<project name>_csynth.rpt)."""
    return next(fixture.glob("*_csynth.rpt"))


def hls4ml_project(tmp_path: Path, fixture: Path, record: dict) -> Path:
    project = tmp_path / "proj"
    report_file = csynth(fixture)
    top = report_file.name[:-len("_csynth.rpt")]
    report = project / f"{top}_prj" / "solution1" / "syn" / "report"
    report.mkdir(parents=True)
    shutil.copy(report_file, report)
    if (fixture / "vivado_synth.rpt").exists():
        shutil.copy(fixture / "vivado_synth.rpt", project)        # where hls4ml's vsynth writes it
    (project / "firmware").mkdir()
    (project / "firmware" / f"{top}.cpp").write_text(firmware_cpp(record, top))
    (project / "attendnets.yaml").write_text(yaml.safe_dump({"project_name": top}))
    return project
