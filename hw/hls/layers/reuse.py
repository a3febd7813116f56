"""What a reuse factor R means in our custom layers, shared by their modules.

As in hls4ml's latency strategy (nnet_dense_latency.h: PIPELINE II=R with an HLS ALLOCATION
limit on multipliers), R is the initiation interval of one output pixel in clocks, and the
``units`` of work one pixel needs (a multiplication, or a group of them) are shared by
ceil(units / R) copies of the hardware.  Every integer R >= 1 is accepted: the arithmetic, and
so every output bit, is the same at any R.  ``useful_reuse_factors`` lists the R worth
planning with: for each hardware count the smallest R that reaches it (the other values only
add clocks); it includes every divisor of ``units``.
"""
from __future__ import annotations

import math


class ReuseFactorError(ValueError):
    """A reuse factor a layer cannot take; the message names the layer."""


def check_reuse(layer: str, reuse) -> int:
    if not isinstance(reuse, int) or isinstance(reuse, bool) or reuse < 1:
        raise ReuseFactorError(f"layer {layer}: reuse factor must be a positive integer, got {reuse!r}")
    return reuse


def copies(units: int, reuse: int) -> int:
    """Hardware copies when ``units`` per pixel are spread over ``reuse`` clocks."""
    return math.ceil(units / reuse)


def useful_reuse_factors(units: int) -> tuple:
    """Sorted R with distinct ceil(units / R): R = ceil(units / m) for m = units .. 1."""
    return tuple(sorted({math.ceil(units / m) for m in range(1, units + 1)}))


def geometry(source, keys) -> dict:
    """``keys`` read from a mapping (attendnets.yaml, a dict of the config struct's fields) or an
    hls4ml layer (its attributes)."""
    get = source.get if isinstance(source, dict) else source.get_attr
    values = {key: get(key) for key in keys}
    missing = [key for key, value in values.items() if value is None]
    if missing:
        raise ValueError(f"layer geometry lacks {', '.join(missing)}")
    return {key: int(value) for key, value in values.items()}
