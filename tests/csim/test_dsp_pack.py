"""Two 8-bit products in one DSP multiplication (hw/hls/nnet_utils/nnet_dsp_pack.h), exhaustively.

tests/csim/dsp_pack_test.cpp runs every 8-bit data value (signed and unsigned) against every pair
of signed 8-bit weights through the packed multiplication as the DSP computes it (pre-adder,
one multiplication, unpack with the correction term), for the DSP48E2 and the DSP48E1, then the
same through the ap_fixed interface the kernels call; and prints the C++ exactness conditions
for widths 1-12, which must agree with the Python rule the planner uses (group_conv.packing_exact).
"""
import subprocess
from pathlib import Path

import hls4ml
import pytest

from hw.hls.extension import HEADER_DIR
from hw.hls.layers.group_conv import DSP_FAMILIES, packing_exact, valid_multipliers

AP_TYPES = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
SOURCE = Path(__file__).with_name("dsp_pack_test.cpp")


@pytest.fixture(scope="module")
def run_output(tmp_path_factory) -> list:
    exe = tmp_path_factory.mktemp("dsp_pack") / "dsp_pack_test"
    subprocess.run(["g++", "-O2", "-std=c++14", f"-I{AP_TYPES}", f"-I{HEADER_DIR}", str(SOURCE), "-o", str(exe)],
                   check=True)
    return subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()


def test_every_8bit_operand_pair_unpacks_exactly(run_output):
    counts = [line.split() for line in run_output if line.startswith("mismatches")]
    assert len(counts) == 8, run_output[:20]
    assert all(int(fields[-1]) == 0 for fields in counts), [line for line in run_output if not line.startswith("exact")]


def test_cpp_and_python_agree_on_exactness(run_output):
    rows = [line.split() for line in run_output if line.startswith("exact")]
    assert len(rows) == 2 * 12 * 2 * 11
    for _, family, wa, sa, ww, exact in rows:
        assert packing_exact(family, int(wa), bool(int(sa)), int(ww)) == bool(int(exact)), (family, wa, sa, ww)
    # the two rules are not vacuous: 8x8 packs on both, 9-bit unsigned data on neither
    assert packing_exact("dsp48e2", 8, False, 8) and packing_exact("dsp48e1", 8, False, 8)
    assert not packing_exact("dsp48e1", 9, False, 8) and set(DSP_FAMILIES) == {"dsp48e2", "dsp48e1"}


def test_packing_needs_a_pair_and_a_known_dsp():
    pointwise = {"n_chan": 8, "n_filt": 16, "n_groups": 1, "filt_height": 1, "filt_width": 1}
    depthwise = {**pointwise, "n_filt": 8, "n_groups": 8}
    assert valid_multipliers(pointwise, "dsp48e2") == ("lut", "dsp", "packed")
    assert valid_multipliers(depthwise, "dsp48e2") == ("lut", "dsp")   # one channel per group: nothing to pair
    assert valid_multipliers(pointwise, None) == ("lut", "dsp")        # unknown part: no packing
