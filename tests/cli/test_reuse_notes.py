"""generate says, in its own words, where the reuse factor (or strategy) written into the project
is not the one requested (issue 9: it was corrected silently, or by hls4ml's own "WARNING: Invalid
ReuseFactor" on stdout), and the project records the factor it really uses.

The expected factors are hls4ml 1.3's rule worked by hand: under the resource strategy a layer
computing an n_in x n_out matrix product takes RF when RF divides n_in*n_out and either
RF < n_in with n_in*n_out/RF a multiple of n_out, or RF a multiple of n_in; an invalid RF becomes
the nearest valid one, the smaller on a tie.
"""
import re

import yaml

from hw.cli import main

SPEC = """name: rnet
input_shape: [6, 6, 3]
classes: 3
stages:
  - conv: {filters: 8, kernel: 3}
  - dwconv: {}
  - conv: {filters: 6, kernel: 1}
  - global_avg_pool: {}
"""
# layer: (requested, used, source, its valid factors around the requested one)
EXPECTED = {
    "s00_conv": (7, 9, "reuse", "1, 3, 9, 27"),             # 27x8: 1 3 9 27 54 108 216
    "s01_dw": (7, 6, "reuse", "4, 6, 8, 9"),                 # 72x8 (hls4ml's size of a depthwise): tie 6|8
    "s02_conv": (5, 4, "layers.s02_conv.reuse", "2, 4, 8"),  # 8x6: 1 2 4 8 16 24 48
    "logits": (7, 6, "reuse", "3, 6, 18"),                   # 6x3: 1 2 3 6 18
}


def test_generate_names_every_corrected_reuse_factor_and_records_the_used_one(tmp_path, capsys):
    (tmp_path / "rnet.yaml").write_text(SPEC)
    config = {"model": "rnet.yaml", "samples": 1, "layers": {"s02_conv": {"reuse": 5}}}
    (tmp_path / "build.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "prj"
    assert main(["generate", "--config", str(tmp_path / "build.yaml"), "--strategy", "resource",
                 "--reuse", "7", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "Invalid ReuseFactor" not in printed.out + printed.err  # hls4ml's own line: it gets valid ones

    notes = [line for line in printed.err.splitlines() if "not the requested" in line]
    assert len(notes) == len(EXPECTED), printed.err
    resolved = yaml.safe_load((out / "attendnets.yaml").read_text())["layers"]
    params = (out / "firmware" / "parameters.h").read_text()
    for layer, (requested, used, source, valid) in EXPECTED.items():
        note = next((n for n in notes if n.startswith(f"attendnets generate: warning: {layer}: ")), None)
        assert note, (layer, notes)
        assert f"reuse factor {used}, not the requested {requested} ('{source}')" in note
        assert valid in note, note
        assert resolved[layer]["reuse_factor"] == used  # attendnets.yaml records what the model is
    # ... and so does the firmware: the conv, depthwise and dense structs carry only the used factors
    structs = re.findall(r"struct \w+ : nnet::(?:conv2d|dense)_config \{(.*?)\n\};", params, re.S)
    written = {int(v) for body in structs for v in re.findall(r"unsigned reuse_factor = (\d+);", body)}
    assert written == {used for _, used, _, _ in EXPECTED.values()}


def test_generate_names_the_strategy_io_parallel_cannot_give_a_depthwise_conv(tmp_path, capsys):
    """hls4ml 1.3 has no resource-strategy depthwise conv in io_parallel: generate uses the latency
    one, says so once (only for that layer), and the project records the strategy it really uses."""
    (tmp_path / "rnet.yaml").write_text(SPEC)
    out = tmp_path / "prj"
    assert main(["generate", str(tmp_path / "rnet.yaml"), "--io", "parallel",
                 "--strategy", "resource", "--reuse", "1", "--samples", "1", "--out", str(out)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "not the requested" in line]
    assert notes == ["attendnets generate: warning: s01_dw: strategy latency, not the requested resource "
                     "('strategy'): hls4ml 1.3 has no resource-strategy depthwise convolution in io_parallel "
                     "(its depthwise_conv_2d_cl asserts), so generate uses the latency one"], notes
    resolved = yaml.safe_load((out / "attendnets.yaml").read_text())["layers"]
    assert resolved["s01_dw"]["strategy"] == "latency"
    assert resolved["s00_conv"]["strategy"] == resolved["logits"]["strategy"] == "resource"
