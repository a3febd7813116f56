"""Resources and cycles of one layer at a given reuse factor and strategy (all figures estimated).

The rules follow hls4ml 1.3's io_stream kernels and this package's own (hw/hls/nnet_utils):

* matrix layers (conv, pointwise, dense, depthwise, grouped conv) walk their input pixels at
  II = reuse factor.  Latency strategy at RF 1: one constant multiplier per non-zero weight, each
  priced by its digits (a +-2^k weight is a shift; the rest are shift-and-add chains in LUTs, or a
  DSP when the data has >= 9 bits, the weight >= 3 CSD digits and the product fits one DSP slice).
  Latency at RF > 1 and the Resource strategy share ceil(products / RF) variable multipliers;
  Resource keeps the zero weights (they sit in memory) and, for RF > 1, stores the weights in BRAM
  reshaped to ceil(n_in*n_out/RF)-word rows, RF deep (nnet_dense_resource.h).
* every product feeds an adder of the accumulator's width; line buffers hold the rows a
  window needs; activations, pooling, unpooling and the attention table cost per channel.
* cycles = loop iterations x II + pipeline depth.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hw.estimate import costs as C
from hw.estimate.geometry import LayerGeom, kernel_geometry
from hw.estimate.reuse import in_our_kernel
from hw.config import LOADED_STORAGES
from hw.hls import ops
from hw.hls.ops import group_conv

STRATEGIES = ("latency", "resource")
CONTROL = C.Cost(lut=40, ff=40)          # loop counters, FSM and stream handshakes of one process
SIGMOID_BITS = 8


@dataclass
class LayerSetting:
    reuse: int = 1
    strategy: str = "latency"
    multiplier: str = "lut"      # lut, dsp, packed: how the products are made (hw.config.MULTIPLIERS)
    fold: int = 1                # output-channel groups made one after the other (our grouped conv)
    storage: str = "registers"   # our grouped conv's weights: registers (constants), bram or lutram (a ROM)
    in_fold: int = 1             # words an input pixel arrives in (a folded stream, hw.estimate.source
    #                              fold_streams: derived from both ends' settings, not a recipe field)


@dataclass
class LayerEstimate:
    name: str
    kind: str
    reuse: int
    strategy: str
    multipliers: int
    cost: C.Cost
    ii: int
    iterations: int
    depth: int
    storage: str = "none"        # where the weights live: registers, bram, none
    macs: int = 0
    detail: dict = field(default_factory=dict)
    fold: int = 1                # steps one pixel's output channels are made in (grouped conv, global average)

    @property
    def cycles(self) -> int:
        return self.iterations * self.ii + self.depth

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "reuse": self.reuse, "strategy": self.strategy,
                "multipliers": self.multipliers, **{k: round(v, 1) for k, v in self.cost.as_dict().items()},
                "ii": self.ii, "cycles": self.cycles, "storage": self.storage, "macs": self.macs, "fold": self.fold}


def iterations(g: LayerGeom, s: LayerSetting = None) -> int:
    """Iterations of the layer's pipelined pixel loop (its op's ``loop``, hw.hls.ops; a folded op's
    by its rules: F steps per pixel)."""
    hw_op = ops.op(g.kind)
    if hw_op.folded and s is not None and s.fold > 1:
        return hw_op.rules.iterations(g.in_pixels, s.fold)
    padded = (g.in_shape[0] + g.padding[0] + g.padding[1]) * (g.in_shape[1] + g.padding[2] + g.padding[3])
    return hw_op.iterations(g.in_pixels, g.out_pixels, padded)


def pipeline_depth(g: LayerGeom, setting: LayerSetting) -> int:
    """A matrix op's adder tree (plus its R clocks when it runs once, a dense layer), else its op's depth."""
    hw_op = ops.op(g.kind)
    if hw_op.matrix:
        terms = g.products_per_pixel // max(g.out_shape[2], 1)     # the products one output channel sums
        depth = math.ceil(math.log2(max(terms, 2)) / 2)
        # a layer run once reads its vector first, a word a clock (hls4ml's dense DataPrepare loop):
        # a folded input stream's extra words add their clocks
        if hw_op.loop == ops.ONCE:
            return depth + setting.reuse + setting.in_fold - 1
        # our grouped conv reading a folded stream takes a pixel one position (R clocks) later
        return depth + (setting.reuse if setting.in_fold > 1 else 0)
    return hw_op.depth


DSP_MIN_DIGITS = 3      # a constant product with fewer CSD digits (one adder or a shift) stays in LUTs


def _constant_products(g: LayerGeom, family: str, in_dsp: bool = False) -> tuple:
    """(multipliers, dsp, lut) of RF 1 with constant weights: zeros vanish, +-2^k are shifts.

    HLS propagates the constant weights: a product is a DSP when the data has >= 9 bits (hls4ml's
    rule) and the weight has >= DSP_MIN_DIGITS digits in canonical signed-digit form (fewer are one
    shift-and-add), and Vivado synthesis keeps it in a DSP only when it fits one DSP48 slice (a
    two-slice product is rebuilt in LUTs).  Both rules come from the calibration designs whose weights
    are published (hw/README.md, "Calibration").  A product in LUTs costs one adder of (data + weight
    significant bits) per extra CSD digit.  ``in_dsp`` (multiplier 'dsp'): every product that is not
    a shift is bound to DSPs, one per slice it needs."""
    codes = g.weights
    sig = C.significant_bits(codes)
    digits = C.csd_digits(codes)
    real = sig > 1
    # slices of a data x weight product, the weight widened to the 9 bits hls4ml's rule asks of a DSP
    slices = np.array([C.dsps_per_product(g.data_bits, max(b, C.DSP_MIN_BITS), family) for b in range(65)])
    to_dsp = real if in_dsp else real & (digits >= DSP_MIN_DIGITS) & (slices[sig] == 1)
    in_lut = real & ~to_dsp
    lut = float(((digits[in_lut] - 1) * (g.data_bits + sig[in_lut])).sum())
    per_dsp = C.dsp_slices(g.data_bits, g.weight_bits, family) if in_dsp else 1
    return int(real.sum()), int(to_dsp.sum()) * per_dsp, lut


def dsp_products(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    """(multipliers, Cost, storage) of a conv in our grouped conv (hls4ml's convs are routed to it
    for packed DSPs or a fold, hw/hls/layers/dsp_route.py): ceil(multiplications / R)
    multipliers, in DSPs for 'dsp' and 'packed' (each DSP of a packed layer making two products
    that share the input value, group_conv.mul_ops), else LUT multipliers.  Every product feeds
    an accumulator; the constant weights are muxed into the multiplier as in the latency strategy
    (two per packed DSP); the packing's correction is the accumulator's carry-in, no extra logic.
    A fold F > 1 holds the output word in registers while its F steps fill it, and a folded input
    stream stages the next pixel in registers.  Weights in a ROM
    (bram, lutram): no constants muxed, a memory of R rows of the P/R weights a clock reads, and
    each input lane picks its tap among the S = R/F a step walks (an S:1 mux, a LUT6 per 3 inputs
    and bit); in URAM loaded at run time, the load's row register too."""
    geometry = kernel_geometry(g)
    mults = group_conv.multipliers(geometry, s.reuse, s.multiplier)
    in_lut = s.multiplier == "lut"
    dsp = 0 if in_lut else mults * C.dsp_slices(g.data_bits, g.weight_bits, family)
    products = math.ceil(g.products_per_pixel / s.reuse)
    weights_per_dsp = 2 if s.multiplier == "packed" else 1
    lut = products * g.accum_bits + (mults * C.lut_multiplier(g.data_bits, g.weight_bits) if in_lut else 0)
    output_word = C.Cost(ff=g.channels * g.result_bits if s.fold > 1 else 0)
    # a folded input stream's words are staged a pixel ahead: n_chan registers, a write enable a word
    staged = C.Cost(lut=s.in_fold, ff=g.in_shape[2] * g.data_bits) if s.in_fold > 1 else C.Cost()
    if s.storage == "registers":
        lut += mults * weights_per_dsp * g.weight_bits * math.ceil(s.reuse / 64) * (s.reuse > 1)
        weights = C.Cost()
    else:
        weights = C.memory(s.reuse, products * g.weight_bits, s.storage) + C.Cost(lut=_tap_select(g, s))
        if s.storage in LOADED_STORAGES:     # the AXI top's load assembles a row before writing it
            weights = weights + C.Cost(ff=products * g.weight_bits)
    return mults, C.Cost(dsp=dsp, lut=lut, ff=products * g.accum_bits) + output_word + staged + weights, s.storage


def _tap_select(g: LayerGeom, s: LayerSetting) -> float:
    """LUTs of the muxes that give each input lane of a ROM-fed step its tap (S = R / F taps)."""
    in_steps = s.reuse // s.fold
    geometry = kernel_geometry(g)
    per_group = geometry["n_filt"] // geometry["n_groups"]
    lanes = group_conv.window_taps(geometry) // in_steps * max(1, math.ceil(geometry["n_filt"] // s.fold / per_group))
    return lanes * g.data_bits * math.ceil((in_steps - 1) / 3)


def matrix_layer(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    """(multipliers, Cost, storage) of the multiply-accumulate of a matrix layer: in our grouped
    conv when its multiplier puts it there, else hls4ml's kernel with its products in LUTs (its
    rule) or in DSPs (multiplier 'dsp', hw/hls/layers/dsp_product.py)."""
    if in_our_kernel(g, s.multiplier, s.fold, s.storage):
        return dsp_products(g, s, family)
    in_dsp = s.multiplier == "dsp"
    nz = g.nonzero
    if s.strategy == "latency" and s.reuse == 1 or s.strategy == "resource" and s.reuse == 1:
        mults, dsp, lut = _constant_products(g, family, in_dsp)
        storage = "registers"
        adders = nz
    else:
        # hls4ml's Latency limit subtracts the zeros (multiplier_limit = ceil(P/R) - zeros/R); its
        # Resource kernels and our grouped conv share all P products
        hls4ml_latency = s.strategy == "latency" and ops.op(g.kind).reuse == ops.HLS4ML_MATRIX
        products = nz if hls4ml_latency else g.products_per_pixel
        mults = math.ceil(products / s.reuse)
        per_dsp = (C.dsp_slices if in_dsp else C.dsps_per_product)(g.data_bits, g.weight_bits, family)
        dsp = mults * per_dsp
        lut = 0.0 if per_dsp else mults * C.lut_multiplier(g.data_bits, g.weight_bits)
        adders = mults
        if s.strategy == "resource":
            storage = "bram"
            lut += mults * g.data_bits     # operand select of the RF-deep weight rows
        else:
            storage = "registers"          # constants muxed into shared multipliers: LUT ROMs
            lut += mults * g.weight_bits * math.ceil(s.reuse / 64)
    cost = C.Cost(dsp=dsp, lut=lut + adders * g.accum_bits, ff=adders * g.accum_bits)
    if storage == "bram":
        block = math.ceil(g.products_per_pixel / s.reuse)
        cost = cost + C.memory(s.reuse, block * g.weight_bits, "bram")
    return mults, cost, storage


# ---------------------------------------------------------------- buffers (line buffers, windows, rows)
def _no_buffers(g: LayerGeom, s: LayerSetting) -> C.Cost:
    return C.Cost()


def _shift_register_lines(g: LayerGeom, s: LayerSetting) -> C.Cost:
    """hls4ml's line buffer: (K-1) x C shift registers of the row, and the K x K window."""
    (kh, kw), chan, bits = g.kernel, g.in_shape[2], g.data_bits
    if kh <= 1:
        return C.Cost()
    return C.shift_register(g.in_shape[1], bits).scaled((kh - 1) * chan) + C.Cost(ff=kh * kw * chan * bits)


def _line_memories(g: LayerGeom, s: LayerSetting) -> C.Cost:
    """Our grouped conv's K x C line arrays of the padded row, and the window."""
    (kh, kw), chan, bits = g.kernel, g.in_shape[2], g.data_bits
    if kh <= 1:
        return C.Cost()
    width = g.in_shape[1] + g.padding[2] + g.padding[3]
    return C.memory(width, bits).scaled(kh * chan) + C.Cost(ff=kh * kw * chan * bits)


def _row_memories(g: LayerGeom, s: LayerSetting) -> C.Cost:
    """Unpooling's one row per channel."""
    return C.memory(g.in_shape[1], g.data_bits).scaled(g.in_shape[2])


# ---------------------------------------------------------------- the ops without a weights matrix
def _attention(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    lanes = math.ceil(g.channels / s.reuse)
    table = C.memory(g.table_entries, SIGMOID_BITS, "lutram").scaled(lanes)
    gate = C.lut_multiplier(g.data_bits, SIGMOID_BITS) + C.lut_multiplier(g.data_bits + SIGMOID_BITS, g.weight_bits)
    return 2 * lanes, table + C.Cost(lut=lanes * (gate + g.result_bits), ff=lanes * 2 * g.accum_bits), "none"


def _activation(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    return 0, C.Cost(lut=g.channels * g.data_bits, ff=g.channels * g.result_bits), "none"


def _pool(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    compares = g.kernel[0] * g.kernel[1] - 1
    return 0, C.Cost(lut=g.channels * compares * g.data_bits, ff=g.channels * g.result_bits), "none"


def _average(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    """hls4ml's global average: an accumulator and a divide-and-cast per channel.  Folded by F
    (our kernel, hw/hls/ops/global_average.py): n_filt / F lanes each pick their channel of the
    held input word (an F:1 mux, a LUT6 per 3 inputs and bit), add into accumulators that sit in
    LUTRAM F rows deep, and divide and cast; the input and output words are held in registers."""
    if s.fold == 1:
        return 0, C.Cost(lut=g.channels * (g.accum_bits + g.result_bits), ff=g.channels * g.accum_bits), "none"
    lanes = ops.op(g.kind).rules.lanes(g.channels, s.fold)
    steps_per_word = s.fold // s.in_fold       # a folded input stream's word spans fewer steps
    select = lanes * g.data_bits * math.ceil((steps_per_word - 1) / 3)
    lanes_cost = C.Cost(lut=lanes * (g.accum_bits + g.result_bits) + select, ff=lanes * g.accum_bits)
    held = 0 if steps_per_word == 1 else g.channels // s.in_fold      # a one-step word is used as it arrives
    words = C.Cost(ff=held * g.data_bits + g.channels * g.result_bits)
    return 0, lanes_cost + words + C.memory(s.fold, lanes * g.accum_bits, "lutram"), "none"


def _add(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    """An adder per channel as wide as the exact sum (``accum_bits``; its result, unless an activation
    is fused into it, whose cast estimate_layer adds)."""
    return 0, C.Cost(lut=g.channels * g.accum_bits, ff=g.channels * g.result_bits), "none"


def _batchnorm(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    chan, per = g.channels, C.dsps_per_product(g.data_bits, g.data_bits, family)
    return chan, C.Cost(dsp=chan * per, lut=chan * (g.result_bits + (0 if per else C.lut_multiplier(
        g.data_bits, g.data_bits))), ff=chan * g.result_bits), "none"


def _softmax(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    """hls4ml: exp and 1/sum tables (1024 x 18), one product per class."""
    chan = g.channels
    tables = C.memory(1024, 18, "bram").scaled(2 * math.ceil(chan / 8))
    return chan, tables + C.Cost(dsp=chan * C.dsps_per_product(18, g.data_bits, family),
                                 lut=chan * 2 * g.data_bits, ff=chan * 18), "none"


def _wiring(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    return 0, C.Cost(), "none"          # pad, flatten, unpool's copies: wiring and control only


@dataclass(frozen=True)
class OpModel:
    """The estimator's resource model of one op of hw.hls.ops (its rules, loop and FIFO need are there)."""
    compute: object                 # (g, setting, family) -> (multipliers, Cost, where the weights live)
    buffers: object = _no_buffers   # (g, setting) -> Cost of its line buffers, windows or rows


MODELS = {
    "conv": OpModel(matrix_layer, _shift_register_lines), "pointwise": OpModel(matrix_layer),
    "dense": OpModel(matrix_layer), "depthwise": OpModel(matrix_layer, _shift_register_lines),
    "group_conv": OpModel(matrix_layer, _line_memories), "attention": OpModel(_attention),
    "unpool": OpModel(_wiring, _row_memories), "activation": OpModel(_activation),
    "pool": OpModel(_pool, _shift_register_lines), "gap": OpModel(_average), "add": OpModel(_add),
    "pad": OpModel(_wiring), "flatten": OpModel(_wiring), "softmax": OpModel(_softmax),
    "batchnorm": OpModel(_batchnorm),
}


def compute(g: LayerGeom, s: LayerSetting, family: str) -> tuple:
    """(multipliers, Cost, weight storage) of the layer's arithmetic, by its op's model."""
    return MODELS[g.kind].compute(g, s, family)


def buffers(g: LayerGeom, s: LayerSetting) -> C.Cost:
    """Line buffers and windows of windowed layers, row buffers of unpooling."""
    return MODELS[g.kind].buffers(g, s)


def output_casts(g: LayerGeom, s: LayerSetting) -> int:
    """Output channels rounded and saturated in one clock: all of them, or one fold step's."""
    return math.ceil(g.channels / s.fold)


def estimate_layer(g: LayerGeom, s: LayerSetting, family: str, scales: dict = None) -> LayerEstimate:
    """``scales``: {"lut_scale", "ff_scale"} fitted by hw.estimate.calibration_fit (1 when None)."""
    mults, cost, storage = compute(g, s, family)
    cost = cost + buffers(g, s) + CONTROL
    if g.fused:      # the activation's rounding and saturation, now at the producer's output
        cost = cost + C.Cost(lut=output_casts(g, s) * g.accum_bits)
    if scales:
        cost = C.Cost(cost.dsp, cost.lut * scales["lut_scale"], cost.ff * scales["ff_scale"], cost.bram18, cost.uram)
    hw_op = ops.op(g.kind)
    ii = s.reuse if hw_op.tunable else 1
    return LayerEstimate(g.name, g.kind, s.reuse, s.strategy, mults, cost, ii, iterations(g, s),
                         pipeline_depth(g, s), storage, g.macs,
                         {"weight_memory_bits": g.weight_memory_bits, "nonzero_weights": g.nonzero
                          if hw_op.matrix else 0}, s.fold)
