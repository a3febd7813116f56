"""The accelerator's stream ports: how codes are packed into AXI4-Stream words, and
``accelerator.yaml``, the record the host driver reads (a dataclass that round-trips).

Packing (the contract with host/): elements in row-major order (H, W, then channels innermost);
each element's fixed-point code in a lane of 8, 16, 32 or 64 bits (the smallest that holds the type),
two's complement sign-extended for a signed type, zero-extended for an unsigned one; lanes
little-endian in TDATA words of ``width`` bits: element k in word k // (width // lane) at bit
(k % (width // lane)) * lane.  The last word is zero-padded and is the only one with TLAST.
With layers on storage uram, the record also describes the weight frame the top loads first
(``weights``: WeightFrame, WeightMemory; hw/vivado/README.md, "Run-time weights").
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

from qmodels.hls_types import FormatError, parse_type
from hw.config import IDENTIFIER_RE
from qmodels import strict_yaml

LANES = (8, 16, 32, 64)
STREAM_WIDTHS = (32, 64, 128)  # AXI DMA stream widths an HP port carries without a width converter
CONFIG_FILE = "accelerator.yaml"
IP_VENDOR, IP_LIBRARY, IP_VERSION = "attendnets", "hls", "1.0"
DMA_INSTANCE = "axi_dma_0"


class AcceleratorConfigError(ValueError):
    """A bad accelerator.yaml or port geometry; the message names the file and field."""


def parse_format(text: str) -> tuple:
    """(signed, width, integer bits) of 'fixed<22,9>', 'ap_ufixed<8,0,AP_RND,...>' and the like."""
    try:
        t = parse_type(text, integers=False)
    except FormatError as err:
        raise AcceleratorConfigError(str(err)) from None
    return t.signed, t.width, t.integer


def lane_bits(width: int) -> int:
    lane = next((lane for lane in LANES if lane >= width), None)
    if lane is None:
        raise AcceleratorConfigError(f"a {width}-bit port type does not fit a 64-bit lane; narrow the type")
    return lane


@dataclass
class PortSpec:
    """One stream port: the type of its elements and how many words carry them."""
    format: str            # e.g. ufixed<8,0>: what each code means
    shape: list            # [H, W, C] of the input, [classes] of the output
    lane_bits: int
    elements: int
    words: int

    @classmethod
    def make(cls, fmt: str, shape, width: int) -> "PortSpec":
        signed, bits, integer = parse_format(fmt)
        lane = lane_bits(bits)
        elements = 1
        for d in shape:
            elements *= int(d)
        per_word = width // lane
        return cls(f"{'' if signed else 'u'}fixed<{bits},{integer}>", [int(d) for d in shape], lane, elements,
                   -(-elements // per_word))

    @property
    def signed(self) -> bool:
        return parse_format(self.format)[0]

    @property
    def bits(self) -> int:
        return parse_format(self.format)[1]

    @property
    def channels(self) -> int:
        return self.shape[-1]

    def byte_count(self, width: int) -> int:
        return self.words * width // 8


WEIGHTS_FILE = "accelerator_weights.bin"   # the weight frame of a project with run-time weights


@dataclass
class WeightMemory:
    """One weight array the AXI top owns and loads (a layer with ``storage: uram``): ``rows`` rows of
    ``row_elements`` codes (hw/hls/layers/weight_rows.py), each row starting a stream word and taking
    ``row_words`` words, its codes in lanes of ``lane_bits`` packed as the input port's."""
    layer: str
    variable: str          # the array's name in the firmware (an argument of the network's top)
    format: str
    rows: int
    row_elements: int
    lane_bits: int
    row_words: int

    @classmethod
    def make(cls, layer: str, variable: str, fmt: str, rows: int, row_elements: int, width: int) -> "WeightMemory":
        signed, bits, integer = parse_format(fmt)
        lane = lane_bits(bits)
        return cls(layer, variable, f"{'' if signed else 'u'}fixed<{bits},{integer}>", int(rows), int(row_elements),
                   lane, -(-int(row_elements) // (width // lane)))

    @property
    def words(self) -> int:
        return self.rows * self.row_words


@dataclass
class WeightFrame:
    """The first input frame after reset: every WeightMemory's rows, in order, ``words`` words with
    TLAST on the last; the top answers with one word, the count of words it read (hw/vivado/README.md)."""
    file: str              # the frame's bytes, relative to the project (or package) folder
    words: int
    memories: list

    def pack(self, codes: list, width: int) -> bytes:
        """The frame's bytes (what MM2S reads from DDR) from each memory's codes, flat in row order."""
        import numpy as np

        parts = []
        for memory, flat in zip(self.memories, codes):
            lanes = width // memory.lane_bits
            rows = np.zeros((memory.rows, memory.row_words * lanes), np.int64)
            rows[:, :memory.row_elements] = np.asarray(flat, np.int64).reshape(memory.rows, memory.row_elements)
            kind = "i" if parse_format(memory.format)[0] else "u"
            parts.append(rows.astype(f"<{kind}{memory.lane_bits // 8}").tobytes())
        return b"".join(parts)


@dataclass
class AcceleratorConfig:
    project: str
    top: str                    # HLS top function, also the IP name
    ip_vendor: str
    ip_library: str
    ip_version: str
    dma_instance: str           # block-design instance names: the driver finds the IPs by these
    accelerator_instance: str
    dma_width: int              # TDATA bits of both streams
    control: str                # ap_ctrl_none: no register interface, the DMA transfers drive it
    input: PortSpec
    output: PortSpec
    board: str
    clock_ns: float
    pynq_images: list = field(default_factory=list)
    weights: Optional[WeightFrame] = None   # run-time weights (storage: uram), loaded before the first image

    @property
    def vlnv(self) -> str:
        return f"{self.ip_vendor}:{self.ip_library}:{self.top}:{self.ip_version}"

    @property
    def input_bytes(self) -> int:
        return self.input.byte_count(self.dma_width)

    @property
    def output_bytes(self) -> int:
        return self.output.byte_count(self.dma_width)

    @property
    def weight_bytes(self) -> int:
        return self.weights.words * self.dma_width // 8 if self.weights else 0

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        if data["weights"] is None:   # a project without run-time weights: the record is as before them
            del data["weights"]
        return data

    @classmethod
    def from_dict(cls, data, where: str = CONFIG_FILE) -> "AcceleratorConfig":
        if not isinstance(data, dict):
            raise AcceleratorConfigError(f"{where}: expected a mapping of accelerator fields")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        missing = [n for n in names if n not in data and n not in ("pynq_images", "weights")]
        if unknown or missing:
            raise AcceleratorConfigError(f"{where}: field '{(unknown or missing)[0]}' is "
                                         f"{'unknown' if unknown else 'missing'}; expected {', '.join(names)}")
        ports = {}
        for key in ("input", "output"):
            port = data[key]
            port_names = [f.name for f in dataclasses.fields(PortSpec)]
            if not isinstance(port, dict) or sorted(port) != sorted(port_names):
                raise AcceleratorConfigError(f"{where}: field '{key}' must have exactly {', '.join(port_names)}")
            ports[key] = PortSpec(**port)
        if data.get("weights") is not None:
            ports["weights"] = _weight_frame(data["weights"], where)
        cfg = cls(**{**data, **ports})
        cfg.check(where)
        return cfg

    def check(self, where: str = CONFIG_FILE) -> None:
        """Names that are Tcl objects and C functions, and a self-consistent geometry: a driver sizes its DMA
        buffers from it."""
        for name in ("project", "top", "ip_vendor", "ip_library", "dma_instance", "accelerator_instance"):
            value = getattr(self, name)
            if not (isinstance(value, str) and IDENTIFIER_RE.match(value)):
                raise AcceleratorConfigError(f"{where}: field '{name}': expected a C identifier (letters, digits, "
                                             f"'_', at most 64 characters; it names Tcl objects and functions), "
                                             f"got {value!r:.60}")
        if self.dma_width not in STREAM_WIDTHS:
            raise AcceleratorConfigError(f"{where}: field 'dma_width': expected one of {STREAM_WIDTHS}, "
                                         f"got {self.dma_width!r}")
        for key in ("input", "output"):
            port = getattr(self, key)
            try:
                again = PortSpec.make(port.format, port.shape, self.dma_width)
            except AcceleratorConfigError as err:
                raise AcceleratorConfigError(f"{where}: field '{key}.format': {err}") from None
            for name in ("lane_bits", "elements", "words"):
                if getattr(port, name) != getattr(again, name):
                    raise AcceleratorConfigError(f"{where}: field '{key}.{name}' is {getattr(port, name)!r}; "
                                                 f"{port.format} x {port.shape} in {self.dma_width}-bit words "
                                                 f"gives {getattr(again, name)}")

        if self.weights is not None:
            self._check_weights(where)

    def _check_weights(self, where: str) -> None:
        frame = self.weights
        for k, memory in enumerate(frame.memories):
            try:
                again = WeightMemory.make(memory.layer, memory.variable, memory.format, memory.rows,
                                          memory.row_elements, self.dma_width)
            except AcceleratorConfigError as err:
                raise AcceleratorConfigError(f"{where}: field 'weights.memories[{k}].format': {err}") from None
            if again != memory or memory.rows < 1 or memory.row_elements < 1:
                raise AcceleratorConfigError(f"{where}: field 'weights.memories[{k}]' is {dataclasses.asdict(memory)}; "
                                             f"in {self.dma_width}-bit words it should be {dataclasses.asdict(again)}")
        if frame.words != sum(m.words for m in frame.memories) or not frame.memories:
            raise AcceleratorConfigError(f"{where}: field 'weights.words' is {frame.words!r}; its memories take "
                                         f"{sum(m.words for m in frame.memories)} words (at least one memory)")
        if not isinstance(frame.file, str) or "/" in frame.file or frame.file.startswith("."):
            raise AcceleratorConfigError(f"{where}: field 'weights.file': expected a file name in the project "
                                         f"folder, got {frame.file!r:.60}")

    def save(self, project) -> Path:
        path = Path(project) / CONFIG_FILE
        path.write_text("# The accelerator's stream ports and block-design names (hw/vivado/README.md).\n"
                        + yaml.safe_dump(self.to_dict(), sort_keys=False))
        return path

    @classmethod
    def load(cls, project) -> "AcceleratorConfig":
        path = Path(project) / CONFIG_FILE
        if not path.exists():
            raise AcceleratorConfigError(f"{path}: not found; {project} is not a project made by 'attendnets "
                                         "generate', or was made before the accelerator existed (regenerate it)")
        try:
            data = strict_yaml.load(path)
        except yaml.YAMLError as err:
            raise AcceleratorConfigError(f"{path}: not valid YAML: {err}") from None
        return cls.from_dict(data, str(path))


def _weight_frame(data, where: str) -> WeightFrame:
    names = [f.name for f in dataclasses.fields(WeightFrame)]
    if not isinstance(data, dict) or sorted(data) != sorted(names) or not isinstance(data["memories"], list):
        raise AcceleratorConfigError(f"{where}: field 'weights' must have exactly {', '.join(names)} "
                                     "(memories: a list)")
    fields = [f.name for f in dataclasses.fields(WeightMemory)]
    memories = []
    for k, memory in enumerate(data["memories"]):
        if not isinstance(memory, dict) or sorted(memory) != sorted(fields):
            raise AcceleratorConfigError(f"{where}: field 'weights.memories[{k}]' must have exactly {', '.join(fields)}")
        memories.append(WeightMemory(**memory))
    return WeightFrame(data["file"], data["words"], memories)


def weight_frame(memories: list, width: int) -> WeightFrame:
    """The frame of the arrays hw.hls.layers.uram_weights.memories found (None when there are none)."""
    if not memories:
        return None
    found = [WeightMemory.make(m["layer"], m["variable"], m["format"], m["rows"], m["row_elements"], width)
             for m in memories]
    return WeightFrame(WEIGHTS_FILE, sum(m.words for m in found), found)


def make_config(name: str, input_format: str, input_shape, output_format: str, output_shape, board,
                clock_ns: float) -> AcceleratorConfig:
    """The accelerator of project ``name`` on ``board`` (a hw.boards.Board)."""
    width = board.dma_width
    cfg = AcceleratorConfig(
        project=name, top=f"{name}_axi", ip_vendor=IP_VENDOR, ip_library=IP_LIBRARY, ip_version=IP_VERSION,
        dma_instance=DMA_INSTANCE, accelerator_instance=f"{name}_axi_0", dma_width=width, control="ap_ctrl_none",
        input=PortSpec.make(input_format, input_shape, width), output=PortSpec.make(output_format, output_shape, width),
        board=board.name, clock_ns=float(clock_ns), pynq_images=list(board.pynq.images))
    cfg.check(f"board {board.name}")
    return cfg
