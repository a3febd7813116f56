"""FPGA boards: part, default clock and programmable-logic resources, one YAML file each."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

BOARD_DIR = Path(__file__).parent / "boards"
RESOURCE_KEYS = ("lut", "ff", "dsp", "bram36", "uram")


class BoardError(ValueError):
    pass


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    part: str
    family: str
    clock_ns: float
    pynq: str
    resources: dict

    @property
    def clock_mhz(self) -> float:
        return 1000.0 / self.clock_ns


def board_names() -> list:
    return sorted(p.stem for p in BOARD_DIR.glob("*.yaml"))


def load_board(name: str) -> Board:
    path = BOARD_DIR / f"{name}.yaml"
    if not path.exists():
        raise BoardError(f"unknown board {name!r}; known boards: {', '.join(board_names())}")
    data = yaml.safe_load(path.read_text())
    expected = {f.name for f in fields(Board)}
    if set(data) != expected:
        raise BoardError(f"{path}: fields must be exactly {sorted(expected)}, got {sorted(data)}")
    if set(data["resources"]) != set(RESOURCE_KEYS):
        raise BoardError(f"{path}: field 'resources' must list {', '.join(RESOURCE_KEYS)}")
    return Board(**{**data, "clock_ns": float(data["clock_ns"])})
