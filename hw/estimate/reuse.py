"""Reuse factors the generated project really accepts, per layer and strategy.

* hls4ml's Conv2D / PointwiseConv2D / Dense / DepthwiseConv2D: the backend's own rule
  (``FPGABackend._validate_reuse_factor``: RF divides n_in*n_out, and RF < n_in or RF is a multiple
  of n_in), for both strategies: the Resource kernels abort on any other value, and the Latency
  kernels' multiplier limit ceil(n_in*n_out / RF) is exact only for those.  The Latency strategy
  also unrolls every product before limiting them, which Vivado HLS refuses beyond 4096
  (hls4ml #1013, #572): larger layers must use the Resource strategy.
* our grouped conv and selective attention accept every RF >= 1 (ceil(products / RF) multipliers,
  II = RF); the planner takes the values their own modules list as useful (``valid_reuse_factors``
  in hw/hls/layers/group_conv.py and selective_attention.py: the smallest RF for each multiplier count).
* every other layer runs at one pixel per clock: RF 1 only.
"""
from __future__ import annotations

import math
from functools import lru_cache

from hw.estimate.geometry import LayerGeom, kernel_geometry

LATENCY_UNROLL_LIMIT = 4096
HLS4ML_MATRIX = ("conv", "pointwise", "dense", "depthwise")


def hls4ml_valid(n_in: int, n_out: int, rf: int) -> bool:
    """hls4ml 1.3's FPGABackend._validate_reuse_factor, restated (tests compare the two)."""
    multfactor = min(n_in, rf)
    multiplier_limit = -(-(n_in * n_out) // multfactor)
    ok = (multiplier_limit % n_out == 0) or rf >= n_in
    ok = ok and (rf % n_in == 0 or rf < n_in)
    return ok and (n_in * n_out) % rf == 0


@lru_cache(maxsize=None)
def _hls4ml_factors(n_in: int, n_out: int) -> tuple:
    total = n_in * n_out
    divisors = sorted({d for i in range(1, int(total ** 0.5) + 1) if total % i == 0 for d in (i, total // i)})
    return tuple(rf for rf in divisors if hls4ml_valid(n_in, n_out, rf))


def valid_reuse_factors(g: LayerGeom, strategy: str) -> tuple:
    """Ascending reuse factors this layer accepts under ``strategy`` (empty: strategy not allowed)."""
    if g.kind in HLS4ML_MATRIX:
        n_in, n_out = g.matrix
        if strategy == "latency" and n_in * n_out > LATENCY_UNROLL_LIMIT:
            return ()
        return _hls4ml_factors(n_in, n_out)
    if g.kind == "group_conv":
        from hw.hls.layers import group_conv
        return group_conv.valid_reuse_factors(kernel_geometry(g)) if strategy == "latency" else ()
    if g.kind == "attention":
        from hw.hls.layers import selective_attention
        return selective_attention.valid_reuse_factors(kernel_geometry(g)) if strategy == "latency" else ()
    return (1,) if strategy == "latency" else ()


def strategies(g: LayerGeom) -> tuple:
    return tuple(s for s in ("latency", "resource") if valid_reuse_factors(g, s))


def closest(valid: tuple, wanted: int) -> int:
    """hls4ml's choice for an invalid factor: the nearest valid one, the smaller on a tie."""
    return min(valid, key=lambda rf: (abs(rf - wanted), rf))


def dsp_family(board_family: str) -> str:
    """The DSP slice of a board family (hw/boards/*.yaml): DSP48E1 on Zynq-7000, else DSP48E2."""
    return "dsp48e1" if board_family == "zynq7000" else "dsp48e2"


DSP_PRODUCT_KINDS = ("conv", "pointwise", "dense")   # hls4ml's kernels with a DSP product (dsp_product.py)
OUR_KERNEL_KINDS = ("conv", "pointwise", "depthwise", "group_conv")


def multipliers(g: LayerGeom, board_family: str) -> tuple:
    """How this layer's products can be made: 'lut' always; 'dsp' for hls4ml's convs and dense
    layers in their own kernels (any strategy), and for depthwise and grouped convs in ours;
    'packed' where exact (hw/hls/layers/group_conv.valid_multipliers) in our grouped conv, which
    unrolls a fold step's products like hls4ml's latency strategy, so only within the same limit
    (hw/estimate/plan.py ``our_kernel_settings`` keeps the settings that meet it)."""
    out = ["lut"] + (["dsp"] if g.kind in DSP_PRODUCT_KINDS else [])
    if g.kind in OUR_KERNEL_KINDS:
        out += [m for m in our_kernel_multipliers(g, board_family) if m not in out]
    return tuple(out)


def in_our_kernel(g: LayerGeom, multiplier: str, fold: int = 1, storage: str = "registers") -> bool:
    """Whether ``multiplier``, a fold or weights in a memory put this layer in our grouped conv
    (hw/hls/layers/dsp_route.py)."""
    return (multiplier == "packed" or multiplier == "dsp" and g.kind in ("depthwise", "group_conv")
            or (fold > 1 or storage != "registers") and g.kind in OUR_KERNEL_KINDS)


def our_kernel_multipliers(g: LayerGeom, board_family: str) -> tuple:
    from hw.hls.layers import group_conv

    return group_conv.valid_multipliers(kernel_geometry(g), dsp_family(board_family), (g.data_bits, g.data_signed),
                                        (g.weight_bits, g.weight_signed))[1:]


def largest_fold(g: LayerGeom, reuse: int, multiplier: str, storage: str = "registers"):
    """The deepest fold our grouped conv takes at ``reuse``: the fewest adders and output casts for
    the same clocks (hw/hls/layers/group_conv.py valid_folds; None: none with that storage)."""
    from hw.hls.layers import group_conv

    return group_conv.largest_fold(kernel_geometry(g), reuse, multiplier, storage)


def dsp_reuse_factors(g: LayerGeom, multiplier: str) -> tuple:
    """The reuse factors worth planning for a conv in our kernel with ``multiplier``."""
    from hw.hls.layers import group_conv

    return group_conv.valid_reuse_factors(kernel_geometry(g), multiplier)
