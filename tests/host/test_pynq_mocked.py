"""The PYNQ code path: pynq's real Overlay, .hwh parser, DMA driver and PynqBuffer against a mocked
device (tests/host/mock_pynq.py) whose accelerator is the toy's compiled C contract."""
import shutil

import numpy as np
import pytest

pynq = pytest.importorskip("pynq", reason="host tests run in .venv-host (make test)")

from toyboard import FIXTURES, toy_images, toy_scores
from host.accelerator import AcceleratorError, AttendNetAccelerator
from mock_pynq import MM2S, S2MM, MockZynqBoard, RecordedClocks, library_accelerator

DMA_BASE = 0xA000_0000   # the DMA's register block in fixtures/toy.hwh


@pytest.fixture
def board(toy_project, monkeypatch):
    project, library = toy_project
    overlay = project / "overlay"
    overlay.mkdir()
    (overlay / "toy.bit").write_bytes(b"\x00\x09 not a real bitstream: the mocked device never parses it")
    shutil.copy(FIXTURES / "toy.hwh", overlay / "toy.hwh")
    device = MockZynqBoard(DMA_BASE, library_accelerator(library, "toy_axi"))
    monkeypatch.setattr(pynq.Device, "_active_device", device, raising=False)
    monkeypatch.setattr(pynq.overlay, "Clocks", RecordedClocks)
    RecordedClocks.calls = []
    return project, device


def test_pynq_path_runs_the_dma_sequence(board):
    project, device = board
    acc = AttendNetAccelerator(project, backend="pynq")
    assert acc.backend_name == "pynq" and type(acc.dma).__name__ == "DMA"   # pynq.lib.dma.DMA, bound from the .hwh
    assert RecordedClocks.calls == [(0, 199.998), (1, None), (2, None), (3, None)]   # pl_clk0 from the .hwh
    images = toy_images(3, seed=5)
    np.testing.assert_array_equal(acc.run(images), toy_scores(images))
    ops = device.operations
    assert [op for op in ops if op[0] == "allocate"] == [("allocate", (64,), "|u1"), ("allocate", (16,), "|u1")]
    assert ops[0][0] == "download" and ops[0][1].endswith("toy.bit")
    transfers = [op for op in ops if op[0] == "length"]
    # per image: receive armed (16 bytes = 2 words) before the send (64 bytes = 8 words)
    assert transfers == [("length", S2MM, 16), ("length", MM2S, 64)] * 3
    memops = [op for op in ops if op[0] in ("length", "flush", "invalidate")]
    assert memops == [("length", S2MM, 16), ("flush", 0, 64), ("length", MM2S, 64), ("invalidate", 1, 16)] * 3
    start = ops.index(("length", MM2S, 64))
    waits = [op for op in ops[start:ops.index(("invalidate", 1, 16), start)] if op[0] == "poll"]
    assert waits == [("poll", MM2S), ("poll", S2MM)]     # the send is waited for first, then the receive


def test_wrong_order_would_hang_and_is_caught(board):
    project, device = board
    acc = AttendNetAccelerator(project, backend="pynq")
    acc.dma.sendchannel.transfer(acc.in_buffer)
    with pytest.raises(AssertionError, match="no receive armed"):
        acc.dma.sendchannel.wait()


def test_missing_hwh_is_a_clear_error(board):
    project, _ = board
    (project / "overlay" / "toy.hwh").unlink()
    with pytest.raises(AcceleratorError, match=r"toy\.hwh: missing hardware handoff"):
        AttendNetAccelerator(project, backend="pynq")


def test_hwh_without_the_named_dma_is_a_clear_error(board):
    project, _ = board
    hwh = project / "overlay" / "toy.hwh"
    hwh.write_text(hwh.read_text().replace("axi_dma_0", "axi_dma_1"))
    with pytest.raises(AcceleratorError, match=r"no block-design instance 'axi_dma_0' \(the DMA"):
        AttendNetAccelerator(project, backend="pynq")


def test_hwh_with_other_stream_width_is_a_clear_error(board):
    project, _ = board
    hwh = project / "overlay" / "toy.hwh"
    hwh.write_text(hwh.read_text().replace('"C_M_AXIS_MM2S_TDATA_WIDTH" VALUE="64"', '"C_M_AXIS_MM2S_TDATA_WIDTH" VALUE="32"'))
    with pytest.raises(AcceleratorError, match="C_M_AXIS_MM2S_TDATA_WIDTH is 32"):
        AttendNetAccelerator(project, backend="pynq")
