"""The estimator's view of each op's choices (reuse factors, strategies, multipliers, folds): the
rules are the op's own (``hw.hls.ops``), read here from a ``LayerGeom``.

* hls4ml's Conv2D / PointwiseConv2D / Dense / DepthwiseConv2D: hls4ml's reuse rule for both
  strategies, the Latency strategy only within the unroll limit (hw/hls/ops/hls4ml_matrix.py);
* our grouped conv and selective attention accept every RF >= 1 (ceil(products / RF) multipliers,
  II = RF); the planner takes the values their rules list as useful (hw/hls/ops/group_conv.py,
  attention.py: the smallest RF for each multiplier count);
* every other layer runs at one pixel per clock: RF 1 only.
"""
from __future__ import annotations

from hw.estimate.geometry import LayerGeom, kernel_geometry
from hw.hls import ops
from hw.hls.ops import group_conv
from hw.hls.ops.hls4ml_matrix import LATENCY_UNROLL_LIMIT, closest  # noqa: F401 (the planner's and tests' names)
from hw.hls.ops.hls4ml_matrix import valid as hls4ml_valid  # noqa: F401

HLS4ML_MATRIX = ops.kinds(reuse=ops.HLS4ML_MATRIX)   # hls4ml's matrix kernels (hw.hls.ops)
OUR_KERNEL_KINDS = ops.kinds(grouped_conv=True)     # what our grouped conv can compute (dsp_route.py)


def op_geometry(g: LayerGeom) -> dict:
    """What the op's rules read: hls4ml's matrix view (n_in, n_out) and our kernels' geometry."""
    n_in, n_out = g.matrix
    return {**kernel_geometry(g), "n_in": n_in, "n_out": n_out}


def valid_reuse_factors(g: LayerGeom, strategy: str) -> tuple:
    """Ascending reuse factors this layer accepts under ``strategy`` (empty: strategy not allowed)."""
    return ops.op(g.kind).reuse_factors(op_geometry(g), strategy)


def strategies(g: LayerGeom) -> tuple:
    return ops.op(g.kind).strategies(op_geometry(g))


def dsp_family(board_family: str) -> str:
    """The DSP slice of a board family (hw/boards/*.yaml): DSP48E1 on Zynq-7000, else DSP48E2."""
    return "dsp48e1" if board_family == "zynq7000" else "dsp48e2"


def multipliers(g: LayerGeom, board_family: str) -> tuple:
    """How this layer's products can be made (``HwOp.multipliers``).  Our grouped conv unrolls a
    fold step's products like hls4ml's latency strategy, so only within the same limit
    (hw/estimate/plan.py ``our_kernel_settings`` keeps the settings that meet it)."""
    return ops.op(g.kind).multipliers(kernel_geometry(g), dsp_family(board_family), (g.data_bits, g.data_signed),
                                      (g.weight_bits, g.weight_signed))


def in_our_kernel(g: LayerGeom, multiplier: str, fold: int = 1, storage: str = "registers") -> bool:
    """Whether ``multiplier``, a fold or weights in a memory put this layer in our grouped conv
    (hw/hls/layers/dsp_route.py)."""
    return ops.op(g.kind).in_grouped_conv(multiplier, fold, storage)


def largest_fold(g: LayerGeom, reuse: int, multiplier: str, storage: str = "registers"):
    """The deepest fold our grouped conv takes at ``reuse``: the fewest adders and output casts for
    the same clocks (hw/hls/ops/group_conv.py valid_folds; None: none with that storage)."""
    return group_conv.largest_fold(kernel_geometry(g), reuse, multiplier, storage)


def dsp_reuse_factors(g: LayerGeom, multiplier: str) -> tuple:
    """The reuse factors worth planning for a conv in our kernel with ``multiplier``."""
    return group_conv.valid_reuse_factors(kernel_geometry(g), multiplier)
