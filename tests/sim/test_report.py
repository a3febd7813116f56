"""csim's report: top-1 with one class, JSON alone on stdout, parallel slices (no compiler)."""
import os
import subprocess
import sys

import numpy as np

from hw.sim.csim import compare, stdout_to_stderr
from hw.sim.csim_cli import _mode_line
from hw.sim.parallel import slices


def test_top1_agreement_is_none_with_one_class_and_the_table_says_na():
    expected = np.array([[0.5], [0.25], [1.0]])
    result = compare(expected + np.array([[0.0], [0.125], [0.0]]), expected, lsb=0.125)
    assert result["top1_agreement"] is None and "accuracy" not in result
    assert result["bit_exact_fraction"] == 2 / 3 and result["max_diff_lsb"] == 1.0
    line = _mode_line("testbench", {**result, "run_s": 1.0, "jobs": 1})
    assert "top-1 agreement n/a (one class)" in line
    two = compare(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 0.5]]), lsb=0.5)
    assert two["top1_agreement"] == 0.5


def test_stdout_to_stderr_moves_python_and_c_level_writes():
    code = ("import os, sys\nfrom hw.sim.csim import stdout_to_stderr\n"
            "with stdout_to_stderr():\n    print('python says')\n    os.write(1, b'C library says\\n')\n"
            "print('{\"json\": 1}')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.stdout == '{"json": 1}\n'
    assert "python says" in done.stderr and "C library says" in done.stderr


def test_slices_cover_every_image_once_without_empty_jobs():
    assert slices(5, 2) == [(0, 2), (2, 5)] or slices(5, 2) == [(0, 3), (3, 5)]
    assert slices(1, 4) == [(0, 1)]
    for count in range(1, 12):
        for jobs in range(1, 6):
            parts = slices(count, jobs)
            assert [i for a, b in parts for i in range(a, b)] == list(range(count))
            assert all(b > a for a, b in parts) and len(parts) == min(count, jobs)
