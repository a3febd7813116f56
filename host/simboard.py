"""The simulated board: the project's compiled C++ behind an AXI DMA with PYNQ's interface.

The "hardware" is the library ``hw.sim.axi.build_library`` compiles from the project (the
AXI-Stream top and the network, in g++), whose ``<name>_axi_run(in, in_len, out, out_len)``
consumes exactly the bytes the DMA's MM2S channel would send and writes exactly the bytes its
S2MM channel would receive.  The DMA here keeps AXI DMA's rules, so that driver code that works
here does not hang a board: one transfer per channel at a time, ``wait`` only after ``transfer``,
the receive channel armed before the send is waited for (otherwise the accelerator's output backs
up and, on hardware, the send never completes), transfers of whole stream words.

numpy and ctypes only: no TensorFlow, no pynq.
"""
from __future__ import annotations

import ctypes
import shutil
import tempfile
from pathlib import Path

import numpy as np

SIM_DIR = "sim"


class SimulatedBoardError(ValueError):
    pass


def library_name(info) -> str:
    return f"lib{info.top}.so"


def find_library(folder, info) -> Path:
    path = Path(folder) / SIM_DIR / library_name(info)
    if not path.exists():
        raise SimulatedBoardError(f"{path}: no simulated-board library here; for a project folder pass "
                                  "library=hw.sim.axi.build_library(project), or deploy with --sim")
    return path


class _Channel:
    """One direction of the simulated AXI DMA (sendchannel: MM2S, recvchannel: S2MM)."""

    def __init__(self, board, name: str):
        self.board, self.name = board, name
        self.pending = None     # (array, start, nbytes) of the armed transfer
        self.done = False
        self.transferred = 0

    def transfer(self, array, start: int = 0, nbytes: int = 0):
        if self.pending is not None:
            raise RuntimeError(f"DMA {self.name} not idle: transfer() again before wait()")
        if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
            raise RuntimeError(f"DMA {self.name}: the buffer must be a contiguous array from allocate()")
        nbytes = nbytes or array.nbytes - start
        word = self.board.info.dma_width // 8
        if start % word or nbytes % word or start + nbytes > array.nbytes:
            raise RuntimeError(f"DMA {self.name}: {nbytes} bytes at offset {start} are not whole {word}-byte "
                               f"words inside the {array.nbytes}-byte buffer")
        self.pending, self.done, self.transferred = (array, start, nbytes), False, 0
        self.board.log.append((f"{self.name}.transfer", nbytes))
        self.board.kick()

    def wait(self):
        self.board.log.append((f"{self.name}.wait", None))
        if self.pending is None:
            raise RuntimeError(f"DMA {self.name}: wait() without a transfer")
        if not self.done:
            raise RuntimeError(f"DMA {self.name}: wait() would hang on a board: "
                               + ("no receive transfer is armed, so the accelerator's output cannot drain"
                                  if self.name == "sendchannel" else "no input was sent"))
        self.pending = None


class _DMA:
    def __init__(self, board):
        self.sendchannel = _Channel(board, "sendchannel")
        self.recvchannel = _Channel(board, "recvchannel")


def _power_on(library: Path) -> ctypes.CDLL:
    """The library loaded from a private copy: the process maps one copy per path, and with it one
    state, so each board gets its own, as a board's fabric starts afresh when its bitstream is
    loaded (the top's URAM arrays empty, waiting for the weight frame)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / library.name
        shutil.copy2(library, copy)
        return ctypes.CDLL(str(copy))   # mapped: the file can go


class SimulatedBoard:
    def __init__(self, library, info):
        self.info = info
        self.library = Path(library).resolve()
        try:
            lib = _power_on(self.library) if info.weights is not None else ctypes.CDLL(str(self.library))
        except OSError as err:
            raise SimulatedBoardError(f"{library}: cannot load the simulated board's library: {err}") from None
        try:
            self._run = getattr(lib, f"{info.top}_run")
        except AttributeError:
            raise SimulatedBoardError(f"{library}: has no function {info.top}_run; is it this project's?") from None
        self._run.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong]
        self._run.restype = ctypes.c_int
        # run-time weights (storage: uram): while <top>_loading() says so, a frame is the weight frame,
        # which <top>_load takes, as the top does on a board
        self._loading = self._load = None
        if info.weights is not None:
            try:
                self._loading, self._load = getattr(lib, f"{info.top}_loading"), getattr(lib, f"{info.top}_load")
            except AttributeError:
                raise SimulatedBoardError(f"{library}: has no {info.top}_load, but the accelerator record has "
                                          "run-time weights; rebuild the library from this project") from None
            self._load.argtypes = self._run.argtypes
            self._load.restype = ctypes.c_int
        self.dma = _DMA(self)
        self.allocations = []   # (shape, dtype) of every allocate(): the driver should allocate once
        self.log = []           # (event, bytes): the DMA calls in order

    def allocate(self, shape, dtype):
        self.allocations.append((tuple(shape), np.dtype(dtype).str))
        return np.zeros(shape, dtype)

    def kick(self) -> None:
        """Run the accelerator once both channels are armed (it streams in only while it can stream out)."""
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        if send.pending is None or recv.pending is None or send.done or recv.done:
            return
        (src, s_start, s_len), (dst, d_start, d_len) = send.pending, recv.pending
        in_bytes = src.view(np.uint8).reshape(-1)[s_start:s_start + s_len]
        out_bytes = dst.view(np.uint8).reshape(-1)[d_start:d_start + d_len]
        weights = self._loading is not None and self._loading() == 1
        got = (self._load if weights else self._run)(in_bytes.ctypes.data, s_len, out_bytes.ctypes.data, d_len)
        if got < 0:
            raise RuntimeError(f"simulated accelerator error {got} ({s_len} bytes in{' as the weight frame' if weights else ''}"
                               f", {d_len}-byte receive buffer): the transfer sizes do not match the accelerator's "
                               "streams (hw/vivado/README.md lists the codes)")
        send.done, send.transferred = True, s_len
        recv.done, recv.transferred = True, int(got)
