"""The one reader of fixed-point type strings: ``ap_fixed<W,I,Q,O,N>``, ``ufixed<8,0>``, ``ap_int<W>`` ...

Specs (``fixed<8,3>``), per-layer precision overrides in build recipes (``ap_fixed<16,6,AP_RND,AP_SAT>``),
the port formats of ``accelerator.yaml`` and hls4ml's own spelling in ``attendnets.yaml``
(``fixed<22,9,TRN,WRAP,0>``) all pass through :func:`parse_type`, so an unknown rounding or saturation
mode, a missing width or a stray argument is refused in one place, with one message that lists what is
accepted, before any of it reaches hls4ml (whose parser raises a bare KeyError on an unknown mode).

Standard library only, in the lowest stage (qmodels) so that every stage and the host code may import it
(tests/unit/test_layering.py: one of the base modules).  The board's Python (numpy, pynq; no TensorFlow,
no PyYAML) reads the port formats with it too: deploy packages carry this file beside host/.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

# Vitis HLS's quantization (rounding) and overflow (saturation) modes, as hls4ml 1.3 knows them
ROUNDING = ("AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_INF", "AP_RND_MIN_INF", "AP_RND_CONV")
SATURATION = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")
MAX_WIDTH = 1024          # ap_int's default AP_INT_MAX_W
_SHAPE = re.compile(r"^\s*(ap_)?(u?)(fixed|int)\s*<([^<>]*)>\s*$")
_INT = re.compile(r"^\s*-?\d{1,5}\s*$")


class FormatError(ValueError):
    """A fixed-point type string this package cannot read; the message says what is accepted."""


@dataclass(frozen=True)
class HLSType:
    signed: bool
    width: int
    integer: int                      # integer bits (sign included); == width for ap_int / ap_uint
    fixed: bool = True                # False: ap_int / ap_uint
    rounding: Optional[str] = None    # AP_... spelling, None when not given
    saturation: Optional[str] = None
    sat_bits: Optional[int] = None


def _mode(text: str, allowed: tuple, what: str, original: str) -> str:
    name = text.strip()
    spelled = name if name.startswith("AP_") else f"AP_{name}"
    if spelled not in allowed:
        raise FormatError(f"unknown {what} mode {name!r} in {original!r}; expected one of {', '.join(allowed)} "
                          "(the AP_ prefix may be left out)")
    return spelled


def parse_type(text, field: Optional[str] = None, *, integers: bool = True, modes: bool = True,
               max_width: int = MAX_WIDTH) -> HLSType:
    """The type ``text`` spells, or FormatError naming ``field`` (when given), the value and what is accepted.

    ``integers``: ap_int<W> / ap_uint<W> are accepted; ``modes``: rounding, saturation and saturation bits
    may follow W and I (a spec's formats have none: QKeras rounds half to even and saturates)."""
    try:
        return _parse(text, integers, modes, max_width)
    except FormatError as err:
        raise FormatError(f"field '{field}': {err}" if field else str(err)) from None


def format_error(text, **rules) -> Optional[str]:
    """parse_type's message for ``text`` (without a field), or None when it reads."""
    try:
        parse_type(text, **rules)
    except FormatError as err:
        return str(err)
    return None


def _example(integers: bool, modes: bool) -> str:
    fixed = "ap_fixed<16,6,AP_RND_CONV,AP_SAT>" if modes else "fixed<8,3>' or 'ufixed<8,0>"
    return f"'{fixed}'" + (" or 'ap_uint<8>'" if integers else "")


def _parse(text, integers: bool, modes: bool, max_width: int) -> HLSType:
    match = _SHAPE.match(text) if isinstance(text, str) else None
    if match is None or (match.group(3) == "int" and not integers):
        raise FormatError(f"{text!r} is not a fixed-point format; expected e.g. {_example(integers, modes)}")
    unsigned, kind, args = match.group(2) == "u", match.group(3), [a.strip() for a in match.group(4).split(",")]
    numbers = 1 if kind == "int" else 2
    most = numbers + (3 if modes and kind == "fixed" else 0)
    if len(args) < numbers or len(args) > most or not all(_INT.match(a) for a in args[:numbers]):
        form = "<W>" if kind == "int" else ("<W,I[,rounding[,saturation[,saturation bits]]]>" if modes else "<W,I>")
        why = "" if modes or len(args) <= numbers else \
            "; no rounding or saturation here: every quantizer rounds half to even and saturates, as QKeras does"
        raise FormatError(f"{text!r} is not a fixed-point format; expected {match.group(1) or ''}{match.group(2)}"
                          f"{kind}{form} with integer W{'' if kind == 'int' else ' and I'}{why}")
    width = int(args[0])
    integer = int(args[1]) if kind == "fixed" else width
    if not 1 <= width <= max_width:
        raise FormatError(f"expected a width W from 1 to {max_width} bits, got {text!r}")
    if not -max_width <= integer <= max_width:
        raise FormatError(f"expected integer bits I from -{max_width} to {max_width}, got {text!r}")
    extra = args[numbers:]
    rounding = _mode(extra[0], ROUNDING, "rounding", text) if len(extra) > 0 else None
    saturation = _mode(extra[1], SATURATION, "saturation", text) if len(extra) > 1 else None
    sat_bits = None
    if len(extra) > 2:
        if not (_INT.match(extra[2]) and 0 <= int(extra[2]) <= width):
            raise FormatError(f"expected saturation bits from 0 to W={width}, got {extra[2]!r} in {text!r}")
        sat_bits = int(extra[2])
    return HLSType(not unsigned, width, integer, kind == "fixed", rounding, saturation, sat_bits)
