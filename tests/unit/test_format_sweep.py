"""eval --formats: a trained network evaluated under other formats, one class at a time, and its ranges."""
import argparse
from pathlib import Path

import pytest

from qmodels import train as T
from qmodels.checkpoint import CheckpointError
from qmodels.format_sweep import Sweep

SHIPPED = Path(T.__file__).parent / "checkpoints" / "attendnet-tiny-digits"  # 8-bit weights only


def _cli(argv):
    parser = argparse.ArgumentParser()
    T.add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_sweep_of_the_input_class(digits):
    sweep = Sweep(SHIPPED, "qat", digits)
    rows = {(r["class"], r["variant"]): r for r in sweep.rows(["input"])}
    assert rows[("-", "spec as is")]["top1"] == pytest.approx(T.evaluate_checkpoint(SHIPPED)["top1"])
    # pixels p/256 are exact in ufixed<8,0>: a wider input format changes no logit, so no top-1
    assert rows[("input", "wide")]["format"] == "ufixed<16,4>"
    assert rows[("input", "wide")]["top1"] == rows[("-", "spec as is")]["top1"]
    assert "negative" in rows[("input", "8-bit, 1 integer bit less")]["not_built"]  # ufixed<8,-1>: QKeras cannot
    assert 0 < rows[("-", "float twin")]["top1"] <= 1
    ranges = sweep.ranges(images=64)
    assert [r["tensor"] for r in ranges][:2] == ["s00_conv_act", "s01_vac_mix_act"]
    assert all(0 <= r["clipped"] <= 1 and r["p99_9"] <= r["max"] for r in ranges)
    assert any(r["tensor"].endswith("_attend") and r["format"] == "fixed<8,3>" for r in ranges)


def test_bad_requests_are_one_line_errors(digits):
    with pytest.raises(CheckpointError, match="holds no float network"):
        Sweep(SHIPPED, "float", digits)
    with pytest.raises(ValueError, match="unknown format class 'actvation'"):
        list(Sweep(SHIPPED, "qat", digits).rows(["actvation"]))
    with pytest.raises(ValueError, match="--classes: only with --formats"):
        _cli(["eval", "attendnet-tiny", "--weights", str(SHIPPED), "--classes", "input"])
