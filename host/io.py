"""Exact conversion between numbers and the accelerator's raw fixed-point codes.

The accelerator's ports carry two's-complement (or unsigned) integers: input pixels as
``ufixed<8,0>`` codes (the 8-bit pixel itself) and outputs in the type recorded for the last
layer in the project's ``attendnets.yaml``.  Rounding is half to even with saturation, as in the
models (QKeras) and the firmware (AP_RND_CONV, AP_SAT).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qmodels.hls_types import parse_type



@dataclass(frozen=True)
class Format:
    width: int
    integer: int
    signed: bool

    @classmethod
    def parse(cls, text: str) -> "Format":
        """'fixed<22,9>', 'ufixed<8,0>' or the ap_ spelling, with or without rounding modes
        (qmodels.hls_types, the package's one type reader); FormatError, a ValueError, otherwise."""
        t = parse_type(text, integers=False)
        return cls(t.width, t.integer, t.signed)

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
    """Input and output formats of a generated project, from its attendnets.yaml (the project record,
    checked; development side only: it needs PyYAML, and packages carry the formats in accelerator.json)."""
    from qmodels.project_record import ProjectRecord

    return {port: Format.parse(text) for port, text in ProjectRecord.load(project).formats.items()}


# --- AXI-Stream words ------------------------------------------------------------------------
# Element k of a transfer sits in word k // (width // lane) at bit offset (k % (width // lane)) * lane,
# words little-endian, the last word zero-padded (hw.hls.accelerator writes the same layout in the AXI top).
# Because lanes and words are both little-endian, the bytes of a transfer are simply the lanes'
# little-endian integers one after another, then zeros up to a whole word.
LANES = (8, 16, 32, 64)


def lane_bits(fmt: Format) -> int:
    """The lane holding one code: the smallest of 8, 16, 32 or 64 bits that fits the format's width."""
    for lane in LANES:
        if fmt.width <= lane:
            return lane
    raise ValueError(f"a {fmt.width}-bit port does not fit a 64-bit lane; the widest supported code is 64 bits")


def stream_words(count: int, lane: int, width: int) -> int:
    """Words of ``width`` bits that carry ``count`` codes of ``lane`` bits."""
    if width % lane or width < lane:
        raise ValueError(f"a {width}-bit stream word cannot hold whole {lane}-bit lanes")
    per_word = width // lane
    return -(-int(count) // per_word)


def pack(codes, fmt: Format, width: int) -> np.ndarray:
    """Integer codes (any shape, row-major) as the bytes of one stream transfer (uint8)."""
    codes = np.asarray(codes, np.int64).ravel()
    lo, hi = fmt.code_range
    if codes.size and (codes.min() < lo or codes.max() > hi):
        raise ValueError(f"codes outside {lo}..{hi} do not fit {'' if fmt.signed else 'u'}fixed<{fmt.width},"
                         f"{fmt.integer}>")
    lane = lane_bits(fmt)
    words = stream_words(codes.size, lane, width)
    out = np.zeros(words * width // 8, np.uint8)
    # two's complement in the whole lane (sign-extended): the hardware reads the low fmt.width bits
    lanes = codes.astype(f"<i{lane // 8}" if fmt.signed else f"<u{lane // 8}")
    out[:lanes.nbytes] = lanes.view(np.uint8)
    return out


def unpack(data, count: int, fmt: Format, width: int) -> np.ndarray:
    """The first ``count`` codes of a transfer's bytes (int64).

    Only the low ``fmt.width`` bits of each lane are read, sign-extended for signed formats, so a
    lane whose upper bits the hardware left zero reads the same as a sign-extended one."""
    lane = lane_bits(fmt)
    data = np.asarray(data).view(np.uint8).ravel()
    need = stream_words(count, lane, width) * width // 8
    if data.size < need:
        raise ValueError(f"{count} codes of {lane} bits need {need} bytes ({width}-bit words), got {data.size}")
    raw = data[:count * lane // 8].view(f"<u{lane // 8}").astype(np.int64) & ((1 << fmt.width) - 1)
    if fmt.signed:
        raw = np.where(raw >= 1 << (fmt.width - 1), raw - (1 << fmt.width), raw)
    return raw


def image_codes(images, fmt: Format) -> np.ndarray:
    """uint8 images as the input port's codes: pixel p is the value p/256 (as in tb_data)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 pixels (0..255), got dtype {images.dtype}")
    return to_codes(images.astype(np.float64) / 256.0, fmt)
