"""A mocked Zynq board for pynq's own classes, after PYNQ's tests/mock_devices.py.

``MockZynqBoard`` is one pynq.Device with the three mocked roles of PYNQ's tests: a register
device (REGISTER_RW: pynq's MMIO reads and writes registers through it), an allocate device
(PynqBuffers at made-up physical addresses, flush/invalidate recorded) and a downloadable device
(download recorded).  Its metadata comes from the .hwh through the same parser PYNQ 3/4 uses on
a board (pynqmetadata).  Behind the DMA's registers sits a model of AXI DMA in simple mode
(PG021): writing a channel's LENGTH starts it; once both channels run, the accelerator (a
callable (input bytes, receive capacity) -> output bytes) consumes the MM2S bytes and its output lands at the S2MM address,
whose LENGTH register then reads the bytes received.  Polling the send channel while no receive
is armed fails the test instead of spinning for ever, as pynq's wait() would on a board.
"""
import numpy as np
import pynq
from pynq.metadata.runtime_metadata_parser import RuntimeMetadataParser
from pynqmetadata.frontends import Metadata

MM2S, S2MM = 0x00, 0x30
DMACR, DMASR, ADDR, ADDR_MSB, LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28
HALTED, IDLE = 0x1, 0x2


class MockZynqBoard(pynq.Device):
    def __init__(self, dma_base: int, accelerator):
        super().__init__("mock_zynq")
        self.capabilities = {"REGISTER_RW": True}
        self.dma_base, self.accelerator = dma_base, accelerator
        self.regs = {MM2S: {DMACR: 0, ADDR: 0, ADDR_MSB: 0, LENGTH: 0}, S2MM: {DMACR: 0, ADDR: 0, ADDR_MSB: 0, LENGTH: 0}}
        self.busy = {MM2S: False, S2MM: False}
        self.operations = []      # ('download', file) / ('allocate', shape, dtype) / register events
        self.buffers = {}         # physical address -> PynqBuffer
        self._next_address = 0x3000_0000

    # downloadable device
    def get_bitfile_metadata(self, bitfile_name):
        return RuntimeMetadataParser(Metadata(input=bitfile_name[:-len(".bit")] + ".hwh"))

    def download(self, bitstream, parser=None):
        self.operations.append(("download", bitstream.bitfile_name))
        self.post_download(bitstream, parser)

    # allocate device
    def allocate(self, shape, dtype, **kwargs):
        address = self._next_address
        buf = pynq.buffer.PynqBuffer(shape, dtype, device=self, bo=len(self.buffers), coherent=False,
                                     device_address=address)
        self._next_address += (buf.nbytes + 0xFFF) & ~0xFFF
        self.buffers[address] = buf
        self.operations.append(("allocate", tuple(shape), np.dtype(dtype).str))
        return buf

    def flush(self, bo, offset, vaddr, length):
        self.operations.append(("flush", bo, length))

    def invalidate(self, bo, offset, vaddr, length):
        self.operations.append(("invalidate", bo, length))

    def _memory(self, address: int, length: int) -> np.ndarray:
        for base, buf in self.buffers.items():
            if base <= address and address + length <= base + buf.nbytes:
                return np.asarray(buf).view(np.uint8).reshape(-1)[address - base:address - base + length]
        raise AssertionError(f"DMA address {address:#x} (+{length}) is in no allocated buffer")

    # register device: the AXI DMA's registers
    def _split(self, address: int):
        offset = address - self.dma_base
        assert 0 <= offset < 0x10000, f"register access at {address:#x} outside the DMA"
        channel = S2MM if offset >= S2MM else MM2S
        return channel, offset - channel

    def read_registers(self, address, length):
        channel, reg = self._split(address)
        if reg == DMASR:
            if channel == MM2S and self.busy[MM2S] and not self.busy[S2MM]:
                raise AssertionError("the send channel is waited for with no receive armed: on a board this hangs")
            value = (0 if self.regs[channel][DMACR] & 1 else HALTED) | (0 if self.busy[channel] else IDLE)
            if not self.operations or self.operations[-1] != ("poll", channel):
                self.operations.append(("poll", channel))
        else:
            value = self.regs[channel][reg]
        return int(value).to_bytes(length, "little")

    def write_registers(self, address, data):
        channel, reg = self._split(address)
        value = int.from_bytes(bytes(data), "little")
        self.regs[channel][reg] = value
        if reg == LENGTH:
            self.operations.append(("length", channel, value))
            self.busy[channel] = True
            if self.busy[MM2S] and self.busy[S2MM]:
                self._run()

    def _run(self):
        src = self.regs[MM2S][ADDR] | self.regs[MM2S][ADDR_MSB] << 32
        dst = self.regs[S2MM][ADDR] | self.regs[S2MM][ADDR_MSB] << 32
        out = self.accelerator(bytes(self._memory(src, self.regs[MM2S][LENGTH])), self.regs[S2MM][LENGTH])
        assert len(out) <= self.regs[S2MM][LENGTH], "the accelerator's packet overflows the receive transfer"
        self._memory(dst, len(out))[:] = np.frombuffer(out, np.uint8)
        self.regs[S2MM][LENGTH] = len(out)    # S2MM LENGTH reads back the bytes received (up to TLAST)
        self.busy = {MM2S: False, S2MM: False}


class RecordedClocks:
    """Stands in for pynq.ps.Clocks (the PS clock registers are not modelled): records the PL clocks."""
    calls = []
    device = None

    @classmethod
    def set_device(cls, device):
        cls.device = device

    @classmethod
    def set_pl_clk(cls, index, div0=None, div1=None, clk_mhz=None):
        cls.calls.append((index, clk_mhz))


def library_accelerator(library, top: str):
    """The accelerator as the project's C contract: <top>_run of a compiled library."""
    import ctypes

    run = getattr(ctypes.CDLL(str(library)), f"{top}_run")
    run.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong]
    run.restype = ctypes.c_int

    def accelerate(data: bytes, capacity: int) -> bytes:
        out = ctypes.create_string_buffer(capacity)
        got = run(data, len(data), out, capacity)
        assert got >= 0, f"{top}_run returned {got} for {len(data)} bytes in, {capacity} out"
        return out.raw[:got]

    return accelerate
