"""FPGA boards as data, one YAML file each: part, Vivado board part, the processing system and how
the block design reaches it, fabric clock, DMA width, programmable-logic resources and the PYNQ
images that serve the board.  Validated on load; errors name the file and the field."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from qmodels import strict_yaml

BOARD_DIR = Path(__file__).parent / "boards"
RESOURCE_KEYS = ("lut", "ff", "dsp", "bram36", "uram")
# the processing system of each family: its IP (version taken from the installed Vivado's catalog)
PS_IP = {"zynq_ultrascale_plus": "xilinx.com:ip:zynq_ultra_ps_e", "zynq7000": "xilinx.com:ip:processing_system7"}
DMA_WIDTHS = (32, 64, 128)
_BOARD_PART = re.compile(r"^[\w.-]+:[\w.-]+:part0:\d+(\.\d+)*$")
_VLNV = re.compile(r"^[\w.-]+:[\w.-]+:[\w.-]+:\d+(\.\d+)*$")


class BoardError(ValueError):
    pass


@dataclass(frozen=True)
class ProcessingSystem:
    """How the block design uses the processing system (names from the PS IP's product guide)."""
    ip: str                 # VLNV without version, e.g. xilinx.com:ip:zynq_ultra_ps_e
    instance: str           # block-design cell name
    automation: str         # bd_rule applying the board preset
    automation_config: dict  # that rule's -config (apply_board_preset "1" and, on Zynq-7000, the DDR pins)
    clock_pin: str          # fabric clock output (pl_clk0 / FCLK_CLK0)
    clock_mhz_property: str  # PS property setting that clock's frequency
    reset_pin: str          # active-low fabric reset
    master: str             # PS master port for the DMA's AXI-Lite registers
    master_clock_pin: str
    hp_port: str            # high-performance slave port the DMA reaches DDR through
    hp_clock_pin: str
    hp_width_property: str  # PS property of the HP port's data width (set to the board's dma_width)
    properties: dict        # PS settings enabling exactly these ports (CONFIG.<name> without the prefix)


@dataclass(frozen=True)
class PynqSupport:
    images: list            # PYNQ versions with an image for the board
    note: str               # where the image comes from


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    part: str
    board_part: str          # Vivado board part (the board files provide the PS preset)
    board_connections: dict  # connector -> carrier board part (KV260's SOM on its carrier), else {}
    family: str
    clock_ns: float          # default HLS clock period = the fabric clock the block design sets
    dma_width: int           # TDATA bits of the AXI DMA streams and of the HP port
    resources: dict
    ps: ProcessingSystem
    pynq: PynqSupport

    @property
    def clock_mhz(self) -> float:
        return 1000.0 / self.clock_ns

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data, where: str) -> "Board":
        data = _exact_fields(cls, data, where, "")
        sub = {"ps": ProcessingSystem, "pynq": PynqSupport}
        nested = {key: kind(**_exact_fields(kind, data[key], where, f"{key}.")) for key, kind in sub.items()}
        if isinstance(data["clock_ns"], int) and not isinstance(data["clock_ns"], bool):
            data["clock_ns"] = float(data["clock_ns"])
        board = cls(**{**data, **nested})
        board.check(where)
        return board

    def check(self, where: str) -> None:
        def fail(name, message):
            raise BoardError(f"{where}: field '{name}': {message}")

        for name in ("name", "description", "part", "family"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                fail(name, "expected a non-empty string")
        if self.family not in PS_IP:
            fail("family", f"expected one of {', '.join(PS_IP)}, got {self.family!r}")
        if not isinstance(self.board_part, str) or not _BOARD_PART.match(self.board_part):
            fail("board_part", f"expected vendor:board:part0:version, got {self.board_part!r}")
        if not isinstance(self.board_connections, dict) or not all(
                isinstance(v, str) and _VLNV.match(v) for v in self.board_connections.values()):
            fail("board_connections", "expected a mapping connector -> vendor:board:connector:version")
        if isinstance(self.clock_ns, bool) or not isinstance(self.clock_ns, (int, float)) or self.clock_ns <= 0:
            fail("clock_ns", f"expected a positive number of nanoseconds, got {self.clock_ns!r}")
        if self.dma_width not in DMA_WIDTHS:
            fail("dma_width", f"expected one of {DMA_WIDTHS}, got {self.dma_width!r}")
        if not isinstance(self.resources, dict) or set(self.resources) != set(RESOURCE_KEYS):
            fail("resources", f"expected exactly {', '.join(RESOURCE_KEYS)}")
        for key, value in self.resources.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                fail(f"resources.{key}", f"expected a non-negative integer, got {value!r}")
        if self.ps.ip != PS_IP[self.family]:
            fail("ps.ip", f"a {self.family} board's processing system is {PS_IP[self.family]}, got {self.ps.ip!r}")
        for name in ("instance", "automation", "clock_pin", "clock_mhz_property", "reset_pin", "master",
                     "master_clock_pin", "hp_port", "hp_clock_pin", "hp_width_property"):
            if not isinstance(getattr(self.ps, name), str) or not getattr(self.ps, name):
                fail(f"ps.{name}", "expected a non-empty string")
        if not isinstance(self.ps.automation_config, dict) or \
                str(self.ps.automation_config.get("apply_board_preset")) != "1":
            fail("ps.automation_config", "expected a mapping with apply_board_preset: '1' (the board's PS preset)")
        if not isinstance(self.ps.properties, dict) or not self.ps.properties:
            fail("ps.properties", "expected a mapping of PS settings")
        for name in ("clock_mhz_property", "hp_width_property"):
            if getattr(self.ps, name) in self.ps.properties:
                fail("ps.properties", f"must not set {getattr(self.ps, name)}: it comes from the board's "
                                      f"{'clock_ns' if name.startswith('clock') else 'dma_width'}")
        if not isinstance(self.pynq.images, list) or not all(isinstance(v, str) for v in self.pynq.images):
            fail("pynq.images", "expected a list of version strings, e.g. ['3.0', '3.1']")


def _exact_fields(kind, data, where: str, prefix: str) -> dict:
    names = [f.name for f in dataclasses.fields(kind)]
    if not isinstance(data, dict):
        raise BoardError(f"{where}: field '{prefix.rstrip('.') or 'board'}': expected a mapping of "
                         f"{', '.join(names)}")
    unknown = sorted(set(data) - set(names))
    missing = [n for n in names if n not in data]
    if unknown:
        raise BoardError(f"{where}: field '{prefix}{unknown[0]}' is unknown; expected {', '.join(names)}")
    if missing:
        raise BoardError(f"{where}: field '{prefix}{missing[0]}' is missing")
    return dict(data)


def board_names() -> list:
    return sorted(p.stem for p in BOARD_DIR.glob("*.yaml"))


def load_board_file(path) -> Board:
    path = Path(path)
    try:
        data = strict_yaml.load(path)
    except yaml.YAMLError as err:
        raise BoardError(f"{path}: not valid YAML: {err}") from None
    board = Board.from_dict(data, str(path))
    if board.name != path.stem:
        raise BoardError(f"{path}: field 'name': {board.name!r} differs from the file name {path.stem!r}")
    return board


def load_board(name: str) -> Board:
    path = BOARD_DIR / f"{name}.yaml"
    if not path.exists():
        raise BoardError(f"unknown board {name!r}; known boards: {', '.join(board_names())}")
    return load_board_file(path)
