"""Fixed-point number formats shared by the QKeras models and the HLS types.

A format is written the way HLS engineers write it, ``fixed<8,3>`` or ``ufixed<8,2>``:
width W bits of which I are integer bits (the sign bit counts as integer, as in
``ap_fixed<W,I>``).  Every quantizer in this package rounds half to even and saturates,
which is what QKeras does (``tf.round`` then ``clip``) and what ``AP_RND_CONV, AP_SAT``
does in HLS, so one format describes both sides exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qmodels.hls_types import parse_type


@dataclass(frozen=True)
class Fixed:
    width: int
    integer: int
    signed: bool = True

    @classmethod
    def parse(cls, text: str, field: "str | None" = None) -> "Fixed":
        """'fixed<8,3>' or 'ufixed<8,2>' (qmodels.hls_types' grammar, without ap_ types or rounding modes:
        every quantizer here rounds half to even and saturates); FormatError (a ValueError) otherwise."""
        t = parse_type(text, field, integers=False, modes=False, max_width=64)
        return cls(t.width, t.integer, signed=t.signed)

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}fixed<{self.width},{self.integer}>"

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def step(self) -> float:
        return 2.0 ** -self.frac

    @property
    def min_code(self) -> int:
        return -(2 ** (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return 2 ** (self.width - 1) - 1 if self.signed else 2 ** self.width - 1

    @property
    def min(self) -> float:
        return self.min_code * self.step

    @property
    def max(self) -> float:
        return self.max_code * self.step

    def hls(self, rounding: str = "AP_RND_CONV", saturation: str = "AP_SAT") -> str:
        """The ``ap_fixed`` / ``ap_ufixed`` spelling, with QKeras' rounding and saturation."""
        base = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{base}<{self.width},{self.integer},{rounding},{saturation}>"

    def codes(self, x) -> np.ndarray:
        """Integer codes of x after rounding half to even and saturating (float64, exact)."""
        scaled = np.asarray(x, dtype=np.float64) * 2.0 ** self.frac
        return np.clip(np.round(scaled), self.min_code, self.max_code).astype(np.int64)

    def quantize(self, x) -> np.ndarray:
        """x rounded half to even onto the grid and saturated, as float64."""
        return self.codes(x).astype(np.float64) * self.step

    def grid(self) -> np.ndarray:
        """Every representable value, ascending (code order)."""
        return np.arange(self.min_code, self.max_code + 1, dtype=np.float64) * self.step

    def qkeras(self, relu: bool = False):
        """The QKeras quantizer with exactly this grid.

        ``relu`` picks ``quantized_relu`` (for activations, so hls4ml sees a ReLU) over the
        equivalent unsigned ``quantized_bits``.
        """
        from qkeras import quantized_bits, quantized_relu

        problem = realisable(self, "relu" if relu else "bits")
        if problem:
            raise ValueError(problem)
        if relu:
            if self.signed:
                raise ValueError(f"a ReLU quantizer must be unsigned, got {self}")
            return quantized_relu(self.width, self.integer)
        if self.signed:
            return quantized_bits(self.width, self.integer - 1, keep_negative=True, alpha=1)
        return quantized_bits(self.width, self.integer, keep_negative=False, alpha=1)


MAX_WIDTH = 16   # the float64 reference stays exact: 16x16-bit products summed over up to 2^21 terms fit 53 bits
# How each use of a format is realised: a QKeras quantizer ("bits": quantized_bits, "relu":
# quantized_relu; "weight": a quantized_bits whose type hls4ml reads off the quantizer) or only
# a table the package computes itself ("table": the sigmoid entries).
QUANTIZER_KINDS = ("bits", "relu", "weight", "table")


def realisable(fmt: Fixed, kind: str = "bits") -> "str | None":
    """Why ``fmt`` cannot be built exactly as a ``kind`` format (None when it can).

    QKeras computes 2 ** integer on integer tensors, so a negative ``integer`` argument fails
    ("Integers to negative integer powers are not allowed"): quantized_bits(W, I - 1) for a
    signed fixed<W,I> needs I >= 1, quantized_bits(W, I, keep_negative=False) and
    quantized_relu(W, I) need I >= 0.  A signed 1-bit quantized_bits is QKeras' binary sign
    quantizer, not a fixed-point grid, so signed formats need W >= 2.  The upper width keeps
    the float64 reference exact (MAX_WIDTH).  Weights and biases get their HLS type from hls4ml,
    which reads quantized_bits(W, i) as the signed ap_fixed<W, i + 1> whatever keep_negative
    says, and as ap_int<W> when i == W: so they must be signed with 1 <= I <= W.  ap_fixed
    realises every other format here as it is.
    """
    if kind not in QUANTIZER_KINDS:
        raise ValueError(f"unknown quantizer kind {kind!r}; expected one of {', '.join(QUANTIZER_KINDS)}")
    least_width = 2 if fmt.signed else 1
    if not least_width <= fmt.width <= MAX_WIDTH:
        return f"{fmt}: width must be {least_width} to {MAX_WIDTH} bits for a {'signed' if fmt.signed else 'unsigned'} format"
    if kind == "relu" and fmt.signed:
        return f"{fmt}: a ReLU output must be unsigned (ufixed<W,I>)"
    if kind == "weight" and not (fmt.signed and 1 <= fmt.integer <= fmt.width):
        return (f"{fmt}: weights and biases must be signed fixed<W,I> with 1 <= I <= W "
                "(hls4ml types them as signed, and as integers when I = W + 1)")
    least_integer = 1 if fmt.signed and kind in ("bits", "weight") else 0
    if kind != "table" and fmt.integer < least_integer:
        quantizer = "quantized_relu" if kind == "relu" else "quantized_bits"
        return (f"{fmt}: QKeras' {quantizer} cannot build it (its integer argument would be negative); "
                f"integer bits must be >= {least_integer}")
    return None


def product_format(a: Fixed, b: Fixed) -> Fixed:
    """Exact format of a*b."""
    signed = a.signed or b.signed
    return Fixed(a.width + b.width, a.integer + b.integer, signed)


def from_qkeras(quantizer) -> "Fixed | None":
    """The Fixed format of a QKeras quantizer (None for no quantizer).

    Only the power-of-two, alpha=1 quantizers whose grid is a plain fixed-point format are
    accepted: anything else has no exact ``ap_fixed`` twin, and saying so early beats a
    silent mismatch in C simulation.
    """
    if quantizer is None:
        return None
    if isinstance(quantizer, dict):  # a loaded QKeras layer keeps its quantizers in serialized form
        import qkeras

        quantizer = getattr(qkeras, quantizer["class_name"])(**dict(quantizer["config"]))
    name = type(quantizer).__name__
    alpha = getattr(quantizer, "alpha", None)
    if name == "quantized_bits":
        if alpha not in (None, 1, 1.0) or getattr(quantizer, "symmetric", False):
            raise ValueError(f"{quantizer}: only quantized_bits with alpha=1 and symmetric=0 have an exact fixed-point twin")
        if quantizer.keep_negative:
            return Fixed(int(quantizer.bits), int(quantizer.integer) + 1, True)
        return Fixed(int(quantizer.bits), int(quantizer.integer), False)
    if name == "quantized_relu":
        if quantizer.negative_slope or quantizer.use_sigmoid or quantizer.relu_upper_bound:
            raise ValueError(f"{quantizer}: only the plain quantized_relu(bits, integer) is supported")
        return Fixed(int(quantizer.bits), int(quantizer.integer), False)
    raise ValueError(f"unsupported quantizer {quantizer}: use quantized_bits(alpha=1) or quantized_relu")
