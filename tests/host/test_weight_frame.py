"""Run-time weights (storage: uram): the driver sends the weight frame once, when it opens the
accelerator, before any image, through pynq's own DMA driver against the mocked device and on the
simulated board; a missing, short or refused frame is a clear error.  The hardware is the toy with
the AXI top's load contract (fixtures/toy_weights_axi.cpp); tests/csim/test_uram_weights.py runs
the same driver on a generated project's compiled top."""
import ctypes
import json
import shutil
import subprocess

import numpy as np
import pytest

from toyboard import FIXTURES, TOY_CONFIG, toy_images, toy_scores
from host.accelerator import AttendNetAccelerator
from host.package import PackageError

FRAME = "accelerator_weights.bin"
# row 0: the toy's signs, row 1: -300 / 4; each row one 64-bit word of int8 lanes
FRAME_BYTES = np.array([1, -1, 1, -1, 1, 0, 0, 0] + [-75] * 5 + [0, 0, 0], np.int8).tobytes()
WEIGHTS = {"file": FRAME, "words": 2, "memories": [
    {"layer": "toy", "variable": "w2", "format": "fixed<8,8>", "rows": 2, "row_elements": 5, "lane_bits": 8,
     "row_words": 1}]}


@pytest.fixture(scope="session")
def weights_library(tmp_path_factory):
    library = tmp_path_factory.mktemp("toy_weights") / "libtoy_axi.so"
    subprocess.run([shutil.which("g++") or "g++", "-O2", "-shared", "-fPIC", str(FIXTURES / "toy_weights_axi.cpp"),
                    "-o", str(library)], check=True)
    return library


@pytest.fixture
def project(toy_project, weights_library):
    root, _ = toy_project
    (root / "accelerator.yaml").write_text(json.dumps({**TOY_CONFIG, "weights": WEIGHTS}))
    (root / FRAME).write_bytes(FRAME_BYTES)
    return root, weights_library


def test_simulated_board_gets_the_frame_once_first(project):
    root, library = project
    acc = AttendNetAccelerator(root, backend="sim", library=library)
    assert acc.board.log[:4] == [("recvchannel.transfer", 16), ("sendchannel.transfer", 16),
                                 ("sendchannel.wait", None), ("recvchannel.wait", None)]
    images = toy_images(4, seed=3)
    np.testing.assert_array_equal(acc.run(images), toy_scores(images))
    assert [e for e in acc.board.log if e[0] == "sendchannel.transfer"] == [("sendchannel.transfer", 16)] + [
        ("sendchannel.transfer", 64)] * 4
    # a second board on the same library starts afresh (its own copy): it takes the frame again
    again = AttendNetAccelerator(root, backend="sim", library=library)
    np.testing.assert_array_equal(again.run(images), toy_scores(images))


def test_without_the_frame_the_toy_refuses_images(weights_library):
    """The contract the driver relies on: images before the weights are an error, not zeros."""
    lib = ctypes.CDLL(str(weights_library))
    out = ctypes.create_string_buffer(16)
    assert lib.toy_axi_loading() == 1 and lib.toy_axi_run(bytes(64), 64, out, 16) == -9


@pytest.mark.parametrize("frame,error", [
    (None, rf"{FRAME}: missing; the accelerator's run-time weights"),
    (FRAME_BYTES[:8], rf"{FRAME}: 8 bytes, but the weight frame is 2 words of 64 bits \(16 bytes\)"),
])
def test_a_missing_or_short_frame_is_a_clear_error(project, frame, error):
    root, library = project
    if frame is None:
        (root / FRAME).unlink()
    else:
        (root / FRAME).write_bytes(frame)
    with pytest.raises(PackageError, match=error):
        AttendNetAccelerator(root, backend="sim", library=library)


def test_a_record_whose_words_disagree_is_refused(project):
    root, library = project
    (root / "accelerator.yaml").write_text(json.dumps({**TOY_CONFIG, "weights": {**WEIGHTS, "words": 3}}))
    with pytest.raises(PackageError, match=r"field 'weights': 3 words in file .* its memories take 2 words"):
        AttendNetAccelerator(root, backend="sim", library=library)


# --- the PYNQ path: pynq's DMA driver against the mocked device ------------------------------------

pynq = pytest.importorskip("pynq", reason="host tests run in .venv-host (make test)")
from mock_pynq import MM2S, S2MM, MockZynqBoard, RecordedClocks  # noqa: E402

DMA_BASE = 0xA000_0000   # the DMA's register block in fixtures/toy.hwh


def loading_accelerator(library):
    """The mocked device's accelerator: the weight frame while the top waits for one, then images."""
    lib = ctypes.CDLL(str(library))
    for name in ("toy_axi_run", "toy_axi_load"):
        getattr(lib, name).argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong]

    def accelerate(data: bytes, capacity: int) -> bytes:
        out = ctypes.create_string_buffer(capacity)
        run = lib.toy_axi_load if lib.toy_axi_loading() else lib.toy_axi_run
        got = run(data, len(data), out, capacity)
        assert got >= 0, f"{got} for {len(data)} bytes in, {capacity} out"
        return out.raw[:got]

    return accelerate


def board(root, monkeypatch, accelerator):
    overlay = root / "overlay"
    overlay.mkdir()
    (overlay / "toy.bit").write_bytes(b"\x00\x09 not a real bitstream: the mocked device never parses it")
    shutil.copy(FIXTURES / "toy.hwh", overlay / "toy.hwh")
    device = MockZynqBoard(DMA_BASE, accelerator)
    monkeypatch.setattr(pynq.Device, "_active_device", device, raising=False)
    monkeypatch.setattr(pynq.overlay, "Clocks", RecordedClocks)
    return device


def test_pynq_path_sends_the_frame_once_after_the_download(project, tmp_path, monkeypatch):
    root, library = project
    private = tmp_path / "libtoy_axi.so"     # its own copy: its own power-up state in this process
    shutil.copy(library, private)
    device = board(root, monkeypatch, loading_accelerator(private))
    acc = AttendNetAccelerator(root, backend="pynq")
    images = toy_images(3, seed=5)
    np.testing.assert_array_equal(acc.run(images), toy_scores(images))
    ops = device.operations
    assert ops[0][0] == "download"
    assert [op for op in ops if op[0] == "allocate"] == [("allocate", (64,), "|u1"), ("allocate", (16,), "|u1"),
                                                       ("allocate", (16,), "|u1")]   # in, out, then the frame
    transfers = [op for op in ops if op[0] == "length"]
    assert transfers[:2] == [("length", S2MM, 16), ("length", MM2S, 16)]    # the answer armed, then the frame
    assert transfers[2:] == [("length", S2MM, 16), ("length", MM2S, 64)] * 3


def test_pynq_path_a_refused_frame_is_a_clear_error(project, monkeypatch):
    root, _ = project
    answer = (1).to_bytes(8, "little")    # the top read 1 word: it did not take the frame
    board(root, monkeypatch, lambda data, capacity: answer)
    with pytest.raises(RuntimeError, match=rf"{FRAME}: the accelerator did not take the weight frame \(answer of 8 "
                                           r"bytes, 1 words read; expected one 64-bit word saying 2\)"):
        AttendNetAccelerator(root, backend="pynq")
