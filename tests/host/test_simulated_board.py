"""The driver on the simulated board (the toy's compiled C contract), the benchmark and bad inputs."""
import json
import subprocess
import sys

import numpy as np
import pytest

from toyboard import toy_images, toy_scores
from host import bench
from host.accelerator import AcceleratorError, AttendNetAccelerator
from host.simboard import SimulatedBoardError


@pytest.fixture
def acc(toy_project):
    project, library = toy_project
    return AttendNetAccelerator(project, backend="sim", library=library)


def test_scores_equal_the_accelerator_and_buffers_are_allocated_once(acc):
    images = toy_images(5, seed=3)
    for _ in range(2):
        np.testing.assert_array_equal(acc.run(images), toy_scores(images))
    np.testing.assert_array_equal(acc.run(images[0]), toy_scores(images[:1]))    # one (H, W, C) image
    assert acc.board.allocations == [((64,), "|u1"), ((16,), "|u1")]
    one_image = [("recvchannel.transfer", 16), ("sendchannel.transfer", 64), ("sendchannel.wait", None),
                 ("recvchannel.wait", None)]
    assert acc.board.log == one_image * 11
    assert np.mean(np.abs(toy_scores(images)) < 8) > 0.5          # live data, not saturated


def test_predict_returns_top_k_labels(acc):
    images = toy_images(2, seed=4)
    top = acc.predict(images, top_k=3)
    want = np.argsort(-toy_scores(images), axis=1, kind="stable")[:, :3]
    assert [[c for _, _, c in row] for row in top] == want.tolist()
    assert top[0][0][0] == f"class_{want[0, 0]}" and acc.throughput() > 0


def test_bad_images_are_clear_errors(acc):
    with pytest.raises(AcceleratorError, match="images must be uint8 pixels, got dtype float32"):
        acc.run(np.zeros((1, 4, 5, 3), np.float32))
    with pytest.raises(AcceleratorError, match=r"image shape \(1, 5, 4, 3\) does not match the accelerator's input 4x5x3"):
        acc.run(np.zeros((1, 5, 4, 3), np.uint8))


def test_dma_misuse_is_caught(acc):
    with pytest.raises(RuntimeError, match="wait\\(\\) without a transfer"):
        acc.dma.recvchannel.wait()
    acc.dma.sendchannel.transfer(acc.in_buffer)
    with pytest.raises(RuntimeError, match="would hang on a board: no receive transfer is armed"):
        acc.dma.sendchannel.wait()
    with pytest.raises(RuntimeError, match="not idle"):
        acc.dma.sendchannel.transfer(acc.in_buffer)


def test_wrong_library_or_backend_is_a_clear_error(toy_project, tmp_path):
    project, library = toy_project
    with pytest.raises(SimulatedBoardError, match="no simulated-board library here"):
        AttendNetAccelerator(project, backend="sim")
    config = json.loads((project / "accelerator.yaml").read_text())
    (project / "accelerator.yaml").write_text(json.dumps({**config, "top": "other_axi"}))
    with pytest.raises(SimulatedBoardError, match="has no function other_axi_run"):
        AttendNetAccelerator(project, backend="sim", library=library)
    with pytest.raises(AcceleratorError, match="backend 'fpga': expected one of auto, pynq, sim"):
        AttendNetAccelerator(project, backend="fpga")


def test_benchmark_table_and_json(acc, toy_project, capsys):
    report = bench.benchmark(acc, max_batch=3, repeats=4, warmup=1)
    assert [r["batch"] for r in report["rows"]] == [1, 2, 3]
    assert all(r["images_per_s"] > 0 and r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] for r in report["rows"])
    assert "simulated board" in report["source"]
    table = bench.format_table(report)
    assert "p99 ms" in table and len(table.splitlines()) == 6


def test_host_modules_import_without_tensorflow_qkeras_hls4ml_or_yaml():
    blocked = ("tensorflow", "qkeras", "hls4ml", "keras", "yaml", "pynq")
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {blocked!r}: raise ImportError('blocked: ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "import host.io, host.package, host.accelerator, host.simboard, host.board, host.bench, host.archive, "
            "host.deploy\n"
            "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
