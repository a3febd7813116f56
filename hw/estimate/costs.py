"""Prices of the primitives a layer is built from: multipliers, adders, memories, FIFOs.

Every price is a post-synthesis (Vivado) figure for one primitive, from the devices' user guides,
except the two scales LUT_SCALE and FF_SCALE that ``hw.estimate.calibration`` fits on the
calibration set (see hw/README.md).  Family names are those of ``hw/boards/*.yaml``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# DSP48 multiplier ports: (wide, narrow) operand widths, signed (UG479 DSP48E1, UG579 DSP48E2).
DSP_PORTS = {"zynq7000": (25, 18), "zynq_ultrascale_plus": (27, 18), "virtexuplus": (27, 18)}
DSP_MIN_BITS = 9          # hls4ml's rule: a product with an operand under 9 bits is built in LUTs
BRAM18_BITS = 18 * 1024
BRAM18_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))  # depth x width (UG473/UG573)
URAM_SHAPE = (4096, 72)   # UG573
SRL_MAX_BITS = 1024       # FIFOs / shift registers up to this many bits stay in LUTs (SRL32)
LUTRAM_MAX_BITS = 1024    # arrays up to this many bits become distributed RAM (RAM64X1)


@dataclass
class Cost:
    """One layer's (or primitive's) resources; all estimated."""
    dsp: float = 0.0
    lut: float = 0.0
    ff: float = 0.0
    bram18: float = 0.0
    uram: float = 0.0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.dsp + other.dsp, self.lut + other.lut, self.ff + other.ff,
                    self.bram18 + other.bram18, self.uram + other.uram)

    def scaled(self, n: float) -> "Cost":
        return Cost(self.dsp * n, self.lut * n, self.ff * n, self.bram18 * n, self.uram * n)

    def as_dict(self) -> dict:
        return {"dsp": self.dsp, "lut": self.lut, "ff": self.ff, "bram18": self.bram18, "uram": self.uram}


def dsps_per_product(a_bits: int, b_bits: int, family: str) -> int:
    """DSP48 slices for one a x b product (0: built in LUTs)."""
    return 0 if min(a_bits, b_bits) < DSP_MIN_BITS else dsp_slices(a_bits, b_bits, family)


def dsp_slices(a_bits: int, b_bits: int, family: str) -> int:
    """DSP48 slices for one a x b product bound to DSPs whatever its width (BIND_OP impl=dsp)."""
    wide, narrow = DSP_PORTS.get(family, DSP_PORTS["zynq_ultrascale_plus"])
    a, b = max(a_bits, b_bits), min(a_bits, b_bits)
    return math.ceil(a / wide) * math.ceil(b / narrow)


def significant_bits(codes: np.ndarray) -> np.ndarray:
    """Bits a constant multiplier really needs: the magnitude without trailing zeros, plus sign.

    0 for a zero weight (no product), 1 for +-2^k (a shift, no multiplier)."""
    mag = np.abs(np.asarray(codes, np.int64))
    out = np.zeros(mag.shape, np.int64)
    nz = mag > 0
    odd = mag[nz]
    odd = odd // (odd & -odd)                      # strip trailing zeros
    out[nz] = np.floor(np.log2(odd)).astype(np.int64) + 1 + (odd > 1)
    return out


def csd_digits(codes: np.ndarray) -> np.ndarray:
    """Non-zero digits of each |code| in canonical signed-digit form: a constant product is
    (digits - 1) shift-and-adds."""
    x = np.abs(np.asarray(codes, np.int64)).copy()
    digits = np.zeros(x.shape, np.int64)
    while np.any(x):
        odd = (x & 1) == 1
        digit = np.where(odd, 2 - (x & 3), 0)     # +1 or -1 (NAF)
        digits += odd
        x = (x - digit) >> 1
    return digits


def lut_multiplier(a_bits: int, b_bits: int) -> float:
    """LUTs of a variable a x b multiplier in fabric (about one LUT6 per partial-product bit)."""
    return float(a_bits * b_bits)


def memory(depth: int, width: int, kind: str = "auto") -> Cost:
    """One array of depth x width bits: distributed RAM when small, else BRAM18 (or URAM on request)."""
    bits = depth * width
    if bits == 0:
        return Cost()
    if kind == "lutram" or (kind == "auto" and bits <= LUTRAM_MAX_BITS):
        return Cost(lut=math.ceil(depth / 64) * width, ff=width)
    if kind == "uram":
        return Cost(uram=math.ceil(depth / URAM_SHAPE[0]) * math.ceil(width / URAM_SHAPE[1]))
    blocks = min(math.ceil(depth / d) * math.ceil(width / w) for d, w in BRAM18_SHAPES)
    return Cost(bram18=blocks)


def shift_register(length: int, width: int) -> Cost:
    """A shift register of ``length`` words (hls4ml's line buffers, ap_shift_reg; short FIFOs):
    SRL16s, two to a LUT6 (UG474/UG574), one chain per bit."""
    return Cost(lut=math.ceil(length / 16) * width / 2)


def fifo(depth: int, width: int, kind: str = "auto") -> Cost:
    """An hls::stream FIFO of depth x width: shift registers (SRL32: one LUT per bit and 32 words)
    up to 32 deep or SRL_MAX_BITS, else block memory, plus its
    pointers and flags (about 2 x log2(depth) + 10 FFs, as in the published FIFO tables)."""
    control = Cost(ff=2 * math.ceil(math.log2(max(depth, 2))) + 10, lut=math.ceil(math.log2(max(depth, 2))) + 4)
    if kind == "auto" and (depth <= 32 or depth * width <= SRL_MAX_BITS):
        return shift_register(depth, width) + control
    return memory(depth, width, "uram" if kind == "uram" else "bram") + control
