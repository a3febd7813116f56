"""Exact conversion between numbers and the accelerator's raw fixed-point codes.

The accelerator's ports carry two's-complement (or unsigned) integers: input pixels as
``ufixed<8,0>`` codes (the 8-bit pixel itself) and outputs in the type recorded for the last
layer in the project's ``attendnets.yaml``.  Rounding is half to even with saturation, as in the
models (QKeras) and the firmware (AP_RND_CONV, AP_SAT).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_TYPE = re.compile(r"^\s*(?:ap_)?(u?)fixed\s*<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,[^>]*)?>\s*$")


@dataclass(frozen=True)
class Format:
    width: int
    integer: int
    signed: bool

    @classmethod
    def parse(cls, text: str) -> "Format":
        """'fixed<22,9>', 'ufixed<8,0>' or the ap_ spelling, with or without rounding modes."""
        match = _TYPE.match(str(text))
        if not match:
            raise ValueError(f"{text!r} is not a fixed-point type; expected e.g. 'fixed<22,9>' or 'ap_ufixed<8,0>'")
        unsigned, width, integer = match.groups()
        return cls(int(width), int(integer), not unsigned)

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def code_range(self) -> tuple:
        if self.signed:
            return -(2 ** (self.width - 1)), 2 ** (self.width - 1) - 1
        return 0, 2 ** self.width - 1


def to_codes(values, fmt: Format) -> np.ndarray:
    """Integer codes of values, rounded half to even and saturated."""
    lo, hi = fmt.code_range
    return np.clip(np.round(np.asarray(values, np.float64) * 2.0 ** fmt.frac), lo, hi).astype(np.int64)


def from_codes(codes, fmt: Format) -> np.ndarray:
    """Values of integer codes (exact in float64 for widths up to 53 bits)."""
    return np.asarray(codes, np.int64).astype(np.float64) * 2.0 ** -fmt.frac


def input_codes(images) -> np.ndarray:
    """uint8 images (N, H, W, C) as the accelerator's input codes: the pixels themselves."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 pixels (0..255), got dtype {images.dtype}")
    return images.astype(np.int64)


def project_formats(project) -> dict:
    """Input and output formats of a generated project, from its attendnets.yaml.

    Read as text so the board needs no YAML parser: the two lines are written by hw.hls.convert.
    """
    path = Path(project) / "attendnets.yaml"
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found; is {project} a project made by 'attendnets generate'?")
    found = dict(re.findall(r"^  (input_type|output_type): '?([^'\s]+)'?\s*$", path.read_text(), re.M))
    missing = {"input_type", "output_type"} - set(found)
    if missing:
        raise ValueError(f"{path}: field 'io.{sorted(missing)[0]}' is missing")
    return {key.split("_")[0]: Format.parse(value) for key, value in found.items()}
