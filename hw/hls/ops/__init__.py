"""One descriptor per hardware op (issue 15, item 5), in the manner of FINN's ``HWCustomOp``.

An op is one kind of hardware process the generated project holds: hls4ml's conv, pointwise conv,
dense and depthwise conv, our grouped conv and selective attention, and the per-pixel layers.  Its
``HwOp`` entry says which Keras classes become it, which hls4ml classes generation gives it, which
exact-type rule (``hw.hls.precision``) and stream loop (``hw.hls.fifo``) it follows, which kernel
computes it and so which reuse factors, strategies and multipliers it takes.  Generation, FIFO
sizing, the estimator and the planner read these entries instead of kind tables of their own.

Each op's cycle model (``loop``, ``depth``) is here; its resource model (``hw/estimate/layers.py``
``MODELS``) is in a later stage of the layering (``tests/unit/test_layering.py``), so it cannot live
here: it is registered against these same kinds there, and a unit test checks that every op the
estimator reads has one (``tests/unit/test_ops.py``).

Nothing here imports hls4ml or TensorFlow: every stage from generation up reads it cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hw.hls.ops import attention, global_average, group_conv, hls4ml_matrix

# hw.hls.precision's exact-type rules (``_layer_types``), by name
MATRIX, PASS, ADD, AVERAGE, ATTENTION, ACTIVATION = "matrix", "pass", "add", "average", "attention", "activation"
# hw.hls.fifo's loop shapes (``_geometry``): one pixel per iteration, a window walk over the (padded)
# input, zero-padding, unpooling's row replay, a reduction to one pixel
PIXEL, WALK, PAD, UNPOOL, REDUCE = "pixel", "walk", "pad", "unpool", "reduce"
STRATEGIES = ("latency", "resource")
# which kernel computes the op, and so which reuse factors it takes (``reuse``):
HLS4ML_MATRIX = "hls4ml"   # hls4ml's matrix kernel: its reuse rule, latency and resource strategies
OURS = "ours"              # our kernel: every R >= 1, the useful ones planned, latency-like
ONE = "one"                # one pixel per clock: reuse factor 1 only
# the iterations of its pipelined loop (``loop``, the cycle model: cycles = iterations x II + depth):
IN, OUT, ONCE, NONE, IN_OUT, PADDED = "in", "out", "once", "none", "in+out", "padded"
# the multiplications one output pixel needs (``products``): every output channel reads its group's
# kh x kw x C_in / groups window (WINDOW), or one tap a channel, kh x kw (TAPS, a depthwise conv)
WINDOW, TAPS = "window", "taps"


@dataclass(frozen=True)
class HwOp:
    kind: str                   # the estimator's name (LayerGeom.kind, reports, plans)
    keras: tuple = ()           # QKeras / our Keras classes generation gives exact types and generates
    keras_float: tuple = ()     # float Keras classes read by the estimator and FIFO sizing only (no exact types)
    hls4ml: tuple = ()          # the hls4ml layer classes generation gives it (before our passes replace any)
    types: str = None           # hw.hls.precision's rule for ``keras``; None: no exact type
    stream: str = None          # hw.hls.fifo's loop shape; None: no stream model
    reuse: str = ONE            # HLS4ML_MATRIX, OURS or ONE
    matrix: bool = False        # a weights matrix: multiply-accumulate
    fusable: bool = False       # can write its quantized activation's format itself (hw.hls.fuse)
    dsp_product: bool = False   # 'dsp' products in hls4ml's own kernel (hw/hls/layers/dsp_product.py)
    grouped_conv: bool = False  # can run in our grouped conv: fold, weights in a ROM, dsp / packed (dsp_route.py)
    folded: bool = False        # takes a fold F without a reuse factor (``rules.valid_folds``; our kernel if F > 1)
    estimated: bool = True      # the estimator has a model of it
    loop: str = IN              # its loop walks the input pixels (IN), output pixels (OUT), the padded input
    #                             (PADDED: padding done inside), input then output (IN_OUT: unpooling's rows,
    #                             not overlapped), once (ONCE: a vector), or not at all (NONE: wiring)
    products: str = None        # WINDOW or TAPS for a matrix op (``products_per_pixel``)
    channel_products: int = 0   # else: multiplications per output channel (attention's gate and scale: 2)
    depth: int = 2              # pipeline depth of a per-pixel op (a matrix op's is its adder tree's:
    #                             hw/estimate/layers.py pipeline_depth; a ONCE matrix op adds its R clocks)
    rules: object = field(default=None, compare=False, repr=False)  # our kernel's rules (OURS ops; folded ops)

    @property
    def tunable(self) -> bool:
        """Whether the planner chooses its reuse factor (more than R = 1 is worth planning)."""
        return self.reuse != ONE

    @property
    def planned(self) -> bool:
        """Whether the planner chooses its setting: a reuse factor, or a fold."""
        return self.tunable or self.folded

    def iterations(self, in_pixels: int, out_pixels: int, padded_pixels: int) -> int:
        """Iterations of its pipelined pixel loop (``loop``)."""
        return {IN: in_pixels, OUT: out_pixels, ONCE: 1, NONE: 0, IN_OUT: in_pixels + out_pixels,
                PADDED: padded_pixels}[self.loop]

    def reuse_view(self, kernel: tuple, in_channels: int, out_channels: int, groups: int = 1) -> tuple:
        """(n_in, n_out): the matrix a matrix op's reuse rule sees (hls4ml's get_layer_mult_size; a
        depthwise conv counts every input channel's taps, as hls4ml does)."""
        per_group = in_channels // groups if self.products == WINDOW else in_channels
        return kernel[0] * kernel[1] * per_group, out_channels

    def products_per_pixel(self, kernel: tuple, in_channels: int, out_channels: int, groups: int = 1) -> int:
        """Multiplications one output pixel needs, zero weights included."""
        if self.products == WINDOW:
            n_in, n_out = self.reuse_view(kernel, in_channels, out_channels, groups)
            return n_in * n_out
        if self.products == TAPS:
            return kernel[0] * kernel[1] * out_channels
        return self.channel_products * out_channels

    def reuse_factors(self, geometry: dict, strategy: str = "latency") -> tuple:
        """Ascending reuse factors the op takes under ``strategy`` in its own kernel (empty: the
        strategy is not allowed).  ``geometry``: n_in, n_out (hls4ml's matrix view) for hls4ml's
        kernels; our kernels' keys (``group_conv.REUSE_KEYS``, n_chan) for ours."""
        if self.reuse == HLS4ML_MATRIX:
            return hls4ml_matrix.reuse_factors(geometry["n_in"], geometry["n_out"], strategy)
        if strategy != "latency":       # our kernels and the per-pixel ones have no Resource strategy
            return ()
        return self.rules.valid_reuse_factors(geometry) if self.reuse == OURS else (1,)

    def strategies(self, geometry: dict) -> tuple:
        return tuple(s for s in STRATEGIES if self.reuse_factors(geometry, s))

    def multipliers(self, geometry: dict, dsp_family, data=(8, False), weight=(8, True)) -> tuple:
        """How its products can be made on a part with ``dsp_family``'s DSPs: 'lut' always; 'dsp'
        in hls4ml's kernel where it has a DSP product, and for every op our grouped conv computes,
        with 'packed' where exact there (group_conv.valid_multipliers)."""
        out = ["lut"] + (["dsp"] if self.dsp_product else [])
        if self.grouped_conv:
            out += [m for m in group_conv.valid_multipliers(geometry, dsp_family, data, weight)[1:] if m not in out]
        return tuple(out)

    def in_grouped_conv(self, multiplier: str, fold: int = 1, storage: str = "registers") -> bool:
        """Whether ``multiplier``, a fold or weights in a memory put it in our grouped conv
        (hw/hls/layers/dsp_route.py), for the ops it can compute: 'packed' and a fold or a ROM
        always, 'dsp' where hls4ml's kernel has no DSP product."""
        return self.grouped_conv and (multiplier == "packed" or multiplier == "dsp" and not self.dsp_product
                                      or fold > 1 or storage != "registers")

    @property
    def classes(self) -> tuple:
        return self.keras + self.keras_float


OPS = (
    HwOp("conv", ("QConv2D",), ("Conv2D",), ("Conv2D",), MATRIX, WALK, HLS4ML_MATRIX, matrix=True, fusable=True,
         dsp_product=True, grouped_conv=True, products=WINDOW),
    # a 1x1 stride-1 conv (hls4ml's pointwise pass makes it one; geometry.from_model tells it apart)
    HwOp("pointwise", (), (), ("PointwiseConv2D",), MATRIX, WALK, HLS4ML_MATRIX, matrix=True, fusable=True,
         dsp_product=True, grouped_conv=True, products=WINDOW),
    HwOp("dense", ("QDense",), ("Dense",), ("Dense",), MATRIX, PIXEL, HLS4ML_MATRIX, matrix=True, fusable=True,
         dsp_product=True, loop=ONCE, products=WINDOW),
    HwOp("depthwise", ("QDepthwiseConv2D",), ("DepthwiseConv2D",), ("DepthwiseConv2D",), MATRIX, WALK,
         HLS4ML_MATRIX, matrix=True, fusable=True, grouped_conv=True, products=TAPS),
    HwOp("group_conv", ("QGroupConv2D",), (), ("HGroupConv2D",), MATRIX, WALK, OURS, matrix=True, fusable=True,
         grouped_conv=True, loop=PADDED, rules=group_conv, products=WINDOW),
    HwOp("attention", ("SelectiveAttention",), (), ("HSelectiveAttention",), ATTENTION, PIXEL, OURS, rules=attention,
         channel_products=2),
    HwOp("unpool", ("Unpooling2D",), (), ("HUnpooling2D",), PASS, UNPOOL, loop=IN_OUT),
    HwOp("activation", ("QActivation",), ("Activation", "ReLU"), ("Activation",), ACTIVATION, PIXEL),
    HwOp("pool", ("MaxPooling2D",), ("AveragePooling2D",), ("Pooling2D",), PASS, WALK, depth=3),
    # a global average's result (the exact mean, truncated finer than its activation's LSB, hw.hls.precision)
    # is cast into its activation's format as the activation itself casts it: fusable too.  A fold F > 1
    # puts it in our kernel (HGlobalAverage, n_filt / F lanes; its rules in hw/hls/ops/global_average.py)
    HwOp("gap", ("GlobalAveragePooling2D",), (), ("GlobalPooling2D", "HGlobalAverage"), AVERAGE, REDUCE,
         fusable=True, folded=True, rules=global_average),
    # an addition's sum is exact (hw.hls.precision) and hls4ml's add assigns it to its result type, so
    # writing its quantized activation's format is the activation's own cast of the same value: fusable
    HwOp("add", ("Add",), (), ("Merge",), ADD, PIXEL, fusable=True),
    HwOp("pad", ("ZeroPadding2D",), (), ("ZeroPadding2D",), PASS, PAD, loop=OUT, depth=1),
    HwOp("flatten", ("Flatten",), (), ("Reshape",), PASS, loop=NONE, depth=0),
    HwOp("softmax", (), ("Softmax",), ("Softmax",), loop=ONCE, depth=7),
    HwOp("batchnorm", (), ("BatchNormalization",), ("BatchNormalization",), channel_products=1),
    # read by FIFO sizing only: no network of ours has them and the estimator has no model of them
    HwOp("multiply", (), ("Multiply",), ("Merge",), stream=PIXEL, estimated=False),
    HwOp("global_max", (), ("GlobalMaxPooling2D",), ("GlobalPooling2D",), stream=REDUCE, estimated=False),
)

BY_KIND = {o.kind: o for o in OPS}
BY_CLASS = {cls: o for o in OPS for cls in o.classes}


def op(kind: str) -> HwOp:
    """The op of an estimator kind (KeyError: not an op)."""
    return BY_KIND[kind]


def of_class(class_name: str):
    """The op a Keras class becomes, or None."""
    return BY_CLASS.get(class_name)


def of_hls4ml(class_name: str):
    """The op of an hls4ml layer class (as generation gives it, before our passes), or None."""
    return next((o for o in OPS if class_name in o.hls4ml), None)


def kinds(**flags) -> tuple:
    """The kinds whose descriptors have every attribute of ``flags`` (in table order)."""
    return tuple(o.kind for o in OPS if all(getattr(o, k) == v for k, v in flags.items()))


def keras_classes(*kinds_, **flags) -> tuple:
    """The (exactly typed) Keras classes of ``kinds_`` or of the ops with ``flags`` (in table order)."""
    return tuple(cls for o in OPS if (o.kind in kinds_ if kinds_ else all(getattr(o, k) == v for k, v in
                                                                         flags.items())) for cls in o.keras)


def hls4ml_classes(**flags) -> tuple:
    """The hls4ml classes of the ops with ``flags`` (in table order, each once)."""
    return tuple(dict.fromkeys(cls for o in OPS if all(getattr(o, k) == v for k, v in flags.items())
                               for cls in o.hls4ml))
