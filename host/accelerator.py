"""``AttendNetAccelerator``: images in, scores and top-k labels out, through AXI DMA.

One driver for both boards: ``backend="pynq"`` loads the overlay with PYNQ and drives the
AXI DMA the block design wired to the accelerator; ``backend="sim"`` (host.simboard) runs the
project's compiled C++ behind the same DMA calls.  Per image: arm the receive channel, send the
packed input, wait for the send, wait for the receive (the order AXI DMA needs: the accelerator
cannot drain its output before the S2MM channel is armed).  The two buffers are allocated once.
An accelerator with run-time weights (storage: uram) gets its weight frame once, when the driver
opens it, right after the bitstream is loaded, the same way (its answer lands in the output buffer).

Imports numpy only; pynq is imported when the pynq backend is chosen.
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from host.io import from_codes, image_codes, pack, unpack
from host.package import PackageError, load_info, read_labels, read_weight_frame

BACKENDS = ("auto", "pynq", "sim")
OVERLAY_DIR = "overlay"          # in a package
OVERLAY_DIRS = (OVERLAY_DIR, "bitstream")   # ... and where 'attendnets build' leaves them in a project


class AcceleratorError(ValueError):
    """Bad input to the driver (image shape or dtype, missing overlay files, names not in the .hwh)."""


class AttendNetAccelerator:
    """The accelerator of a project folder or deployment package.

    ``backend``: "pynq" (a board), "sim" (the simulated board) or "auto" (sim when the folder
    carries the simulated board's library and no bitstream).  ``library`` overrides the simulated
    board's library (a project's, from ``hw.sim.axi.build_library``).
    """

    def __init__(self, source, backend: str = "auto", library=None):
        self.folder = Path(source)
        if not self.folder.is_dir():
            raise AcceleratorError(f"{source}: not a folder; give a project or an unpacked deployment package")
        self.info = load_info(self.folder)
        self.labels = read_labels(self.folder, self.info.output.elements)
        self.backend_name = _choose(backend, self.folder, self.info, library)
        if self.backend_name == "pynq":
            self.board = PynqBoard(self.folder, self.info)
        else:
            from host.simboard import SimulatedBoard, find_library

            self.board = SimulatedBoard(library or find_library(self.folder, self.info), self.info)
        self.dma = self.board.dma
        # allocated once, reused for every image: contiguous memory is scarce and slow to map
        self.in_buffer = self.board.allocate((self.info.input_bytes,), np.uint8)
        self.out_buffer = self.board.allocate((self.info.output_bytes,), np.uint8)
        self.latencies = []   # seconds per image of the last run(), DMA round trip included
        if self.info.weights is not None:
            self.load_weights()

    def load_weights(self) -> None:
        """Send the weight frame, once, right after the bitstream is loaded: the accelerator's URAM
        holds nothing until then (hw/vivado/README.md, "Run-time weights").  Its one-word answer, the
        words it read, lands in the output buffer; the frame's buffer is freed afterwards."""
        info = self.info
        frame = read_weight_frame(self.folder, info)
        buffer = self.board.allocate((len(frame),), np.uint8)
        try:
            buffer[:] = np.frombuffer(frame, np.uint8)
            got = self._round_trip(buffer)
        finally:
            if hasattr(buffer, "freebuffer"):
                buffer.freebuffer()
        word = info.dma_width // 8
        read = int.from_bytes(bytes(np.asarray(self.out_buffer[:word], np.uint8)), "little")
        if got != word or read != info.weights.words:
            raise RuntimeError(f"{self.folder / info.weights.file}: the accelerator did not take the weight frame "
                               f"(answer of {got} bytes, {read if got == word else 'no'} words read; expected one "
                               f"{info.dma_width}-bit word saying {info.weights.words})")

    def check_images(self, images) -> np.ndarray:
        images = np.asarray(images)
        shape = self.info.input.shape
        if images.dtype != np.uint8:
            raise AcceleratorError(f"images must be uint8 pixels, got dtype {images.dtype}")
        if images.shape == shape:
            images = images[None]
        if images.ndim != len(shape) + 1 or images.shape[1:] != shape:
            raise AcceleratorError(f"image shape {images.shape} does not match the accelerator's input "
                                   f"{'x'.join(map(str, shape))} (H x W x C, or N x H x W x C for a batch)")
        return images

    def _round_trip(self, send_buffer) -> int:
        """Send ``send_buffer`` into the output buffer in the order AXI DMA needs (the receive armed
        first: the accelerator cannot drain its output before); the bytes received."""
        self.dma.recvchannel.transfer(self.out_buffer)
        self.dma.sendchannel.transfer(send_buffer)
        self.dma.sendchannel.wait()
        self.dma.recvchannel.wait()
        return int(self.dma.recvchannel.transferred)

    def run_one(self, image) -> np.ndarray:
        """Output codes of one (H, W, C) uint8 image."""
        info = self.info
        self.in_buffer[:] = pack(image_codes(image, info.input.fmt), info.input.fmt, info.dma_width)
        got = self._round_trip(self.in_buffer)
        if got != info.output_bytes:
            raise RuntimeError(f"the accelerator returned {got} bytes, expected {info.output_bytes} "
                               f"({info.output.words} words of {info.dma_width} bits)")
        return unpack(self.out_buffer, info.output.elements, info.output.fmt, info.dma_width)

    def run(self, images) -> np.ndarray:
        """Scores (N, classes) of uint8 images (H, W, C) or (N, H, W, C), exact fixed-point values."""
        images = self.check_images(images)
        codes = np.zeros((len(images), self.info.output.elements), np.int64)
        self.latencies = []
        for i, image in enumerate(images):
            start = time.perf_counter()
            codes[i] = self.run_one(image)
            self.latencies.append(time.perf_counter() - start)
        return from_codes(codes, self.info.output.fmt)

    def predict(self, images, top_k: int = 5) -> list:
        """Per image, the top_k (label, score, class index) by score, highest first."""
        scores = self.run(images)
        k = max(1, min(int(top_k), scores.shape[1]))
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [[(self.labels[c], float(s[c]), int(c)) for c in row] for s, row in zip(scores, order)]

    def throughput(self) -> float:
        """Images per second of the last run() (measured, wall clock, one image at a time)."""
        return len(self.latencies) / sum(self.latencies) if self.latencies else 0.0

    def close(self) -> None:
        for buf in (self.in_buffer, self.out_buffer):
            if hasattr(buf, "freebuffer"):
                buf.freebuffer()


def _choose(backend: str, folder: Path, info, library) -> str:
    if backend not in BACKENDS:
        raise AcceleratorError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    has_bit = overlay_files(folder, info.name)[0].exists()
    return "pynq" if has_bit or (library is None and not (folder / "sim").is_dir()) else "sim"


def overlay_files(folder: Path, name: str) -> tuple:
    """(.bit, .hwh) of a package (overlay/) or a built project (bitstream/); the first folder if neither."""
    for sub in OVERLAY_DIRS:
        bit = Path(folder) / sub / f"{name}.bit"
        if bit.exists():
            return bit, bit.with_suffix(".hwh")
    bit = Path(folder) / OVERLAY_DIR / f"{name}.bit"
    return bit, bit.with_suffix(".hwh")


def hwh_instances(hwh: Path) -> dict:
    """Block-design instance -> (full path, VLNV, parameters) of every module in a .hwh."""
    try:
        root = ET.parse(hwh).getroot()
    except ET.ParseError as err:
        raise AcceleratorError(f"{hwh}: not a valid .hwh (XML): {err}") from None
    return {m.get("INSTANCE"): (m.get("FULLNAME", "").lstrip("/"), m.get("VLNV", ""),
                                {p.get("NAME"): p.get("VALUE") for p in m.findall("./PARAMETERS/PARAMETER")})
            for m in root.iter("MODULE")}


def check_hwh(hwh: Path, info) -> str:
    """The DMA's full path in the block design; errors name what the .hwh lacks."""
    modules = hwh_instances(hwh)
    for role, name in (("DMA", info.dma_instance), ("accelerator", info.accelerator_instance)):
        if name not in modules:
            raise AcceleratorError(f"{hwh}: no block-design instance {name!r} (the {role} named in the package's "
                                   f"accelerator config); instances: {', '.join(sorted(n for n in modules if n))}")
    path, vlnv, params = modules[info.dma_instance]
    if not vlnv.startswith("xilinx.com:ip:axi_dma:"):
        raise AcceleratorError(f"{hwh}: instance {info.dma_instance!r} is {vlnv}, not an AXI DMA")
    for param in ("C_M_AXIS_MM2S_TDATA_WIDTH", "C_S_AXIS_S2MM_TDATA_WIDTH"):
        if param in params and int(params[param]) != info.dma_width:
            raise AcceleratorError(f"{hwh}: {info.dma_instance}.{param} is {params[param]}, but the accelerator's "
                                   f"streams are {info.dma_width} bits (dma_width)")
    if not modules[info.accelerator_instance][1].split(":")[2:3] == [info.top]:
        raise AcceleratorError(f"{hwh}: instance {info.accelerator_instance!r} is "
                               f"{modules[info.accelerator_instance][1]}, not the IP {info.top}")
    return path


class PynqBoard:
    """The overlay on a PYNQ board: pynq.Overlay, its AXI DMA driver, pynq.allocate."""

    def __init__(self, folder: Path, info, device=None):
        bit, hwh = overlay_files(folder, info.name)
        for path, what in ((bit, "bitstream"), (hwh, "hardware handoff (PYNQ reads the block design from it)")):
            if not path.exists():
                raise AcceleratorError(f"{path}: missing {what}; build it with 'attendnets build --bitstream'")
        dma_path = check_hwh(hwh, info)
        import pynq

        self.overlay = pynq.Overlay(str(bit), device=device)
        driver = self.overlay
        for part in dma_path.split("/"):
            driver = getattr(driver, part)
        self.dma = driver
        self._device = device

    def allocate(self, shape, dtype):
        import pynq

        return pynq.allocate(shape, dtype, target=self._device)  # None: PYNQ's active device
