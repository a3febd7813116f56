"""deploy --sim on generated projects: the packaged host code (its own copy of host/, run from the
unpacked package) drives the simulated board, whose hardware is the project's AXI top compiled
with g++, and its scores equal csim's emulation bit for bit.  Runs in the main venv (generation
needs TensorFlow); the host code itself runs in a subprocess that never imports it."""
import json
import subprocess
import sys

import numpy as np
import pytest

from host.archive import extract, make_archive
from hw.cli import main as attendnets
from hw.config import BuildConfig
from hw.hls import testbench
from hw.hls.convert import generate
from hw.sim.csim import run_emulation
from hw.sim.axi import build_library

TINY_CHECKPOINT = "qmodels/checkpoints/attendnet-tiny-digits"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = BuildConfig(model="attendnet-tiny", board="zcu104", weights=TINY_CHECKPOINT, samples=6)
    return generate(cfg, tmp_path_factory.mktemp("host_sim") / "tiny")[0]


def packaged_smoke(project, tmp_path) -> dict:
    archive, _ = make_archive(project, sim=True, library=build_library(project))
    root = extract(archive, tmp_path)
    code = ("import sys, runpy\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('tensorflow', 'qkeras', 'hls4ml', 'keras', 'yaml', 'hw') or "
            "name.startswith('qmodels.') and name != 'qmodels.hls_types':\n"
            "            raise ImportError('blocked ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "sys.argv = ['host.board', 'smoke', '.', '--backend', 'sim', '--json']\n"
            "runpy.run_module('host.board', run_name='__main__')\n"
            "import host, qmodels.hls_types as types\n"
            "assert host.__file__.startswith(sys.path[0] or '.'), host.__file__\n"
            "assert types.__file__.startswith(sys.path[0] or '.'), types.__file__\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def emulation(project, resolved_name: str, n_out: int) -> np.ndarray:
    images, _, _ = testbench.read_tb_data(project)
    return run_emulation(project, resolved_name, images, n_out)["outputs"]


def test_tiny_trained_packaged_host_equals_csim_bit_for_bit(tiny, tmp_path):
    report = packaged_smoke(tiny, tmp_path)
    scores = np.array(report["scores"])
    np.testing.assert_array_equal(scores, emulation(tiny, "attendnet_tiny", 10))
    assert report["exact"] and report["bit_exact_images"] == 6 and report["top1_accuracy"] > 0.8
    assert len(np.unique(scores)) > 30                       # live scores, not a saturated constant


def test_deploy_cli_sim_prints_exact_scores_and_throughput(tiny, capsys):
    assert attendnets(["deploy", str(tiny), "--sim"]) == 0
    out = capsys.readouterr().out
    assert "6/6 bit-exact with the expected scores" in out and "images/s" in out
    assert "top-3 of image 0: " in out and "class_" not in out          # the digits' labels, from the checkpoint


def test_deploy_dry_run_without_bitstream_says_sim_only(tiny, capsys):
    assert attendnets(["deploy", str(tiny), "--board-host", "pynq", "--dry-run"]) == 2
    assert "has no bitstream" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("shape,classes", [
    ([32, 32, 3], 10),
    ([64, 64, 3], 50),     # 50 scores: 1600 bits, the AXI top packs them word by word
], ids=["32x32x3-10-classes", "64x64x3-50-classes"])
def test_attendnet_b_reduced_packaged_host_equals_csim(tmp_path, shape, classes):
    cfg = BuildConfig(model="attendnet-b", board="zcu104", input_shape=shape, classes=classes, samples=3)
    project = generate(cfg, tmp_path / "b")[0]
    report = packaged_smoke(project, tmp_path / "pkg")
    np.testing.assert_array_equal(np.array(report["scores"]), emulation(project, "attendnet_b", classes))
