"""The grouped convolution's rules (our HGroupConv2D, hw/hls/layers/group_conv.py): which multipliers,
reuse factors and folds a layer takes and how many multipliers and DSPs that gives.

They are the op's own rules (``hw.hls.ops``: the group_conv op, and the convs routed to it), kept
apart from the hls4ml layer so that the registry, the estimator and the planner read them without
hls4ml.  Generation reads the same functions (the layer's config template, dsp_route's checks).
The layer's docstring describes reuse factor, multiplier, fold and weight storage.
"""
from __future__ import annotations

from qmodels.project_record import MULTIPLIERS, WEIGHT_STORAGES  # the choices a project records
from hw.hls.layers import reuse as R

REUSE_KEYS = ("n_chan", "n_filt", "n_groups", "filt_height", "filt_width")


def keras_geometry(layer) -> dict:
    """The geometry this module's rules read, from a Keras conv our kernel computes: a
    QGroupConv2D, or a QConv2D (one group) or QDepthwiseConv2D (a group per channel) routed to it."""
    channels = int(layer.input_shape[-1])
    groups = channels if type(layer).__name__ == "QDepthwiseConv2D" else int(getattr(layer, "groups", 1))
    kh, kw = layer.kernel_size
    return {"n_chan": channels, "n_filt": int(layer.output_shape[-1]), "n_groups": groups,
            "filt_height": int(kh), "filt_width": int(kw)}


def window_taps(layer_geometry) -> int:
    """Products one output channel makes per pixel: filt_height x filt_width x its group's channels."""
    g = R.geometry(layer_geometry, REUSE_KEYS)
    return g["filt_height"] * g["filt_width"] * (g["n_chan"] // g["n_groups"])


# a DSP's multiplier ports (signed bits; port_a is the pre-adder output) and the packing shift,
# as nnet_dsp_pack.h's dsp48e2 / dsp48e1 (tests/csim/test_dsp_pack.py checks the two agree)
DSP_FAMILIES = {"dsp48e2": (27, 18, 18), "dsp48e1": (25, 18, 16)}
# part-name prefixes: UltraScale(+) (Zynq UltraScale+, Kria, Kintex/Virtex/Artix UltraScale) and 7 series
_PART_FAMILIES = (("xczu", "dsp48e2"), ("xck2", "dsp48e2"), ("xcku", "dsp48e2"), ("xcvu", "dsp48e2"),
                  ("xcau", "dsp48e2"), ("xc7", "dsp48e1"))


def dsp_family(part: str):
    """The DSP slice of an FPGA part ('dsp48e2', 'dsp48e1'), or None when packing knows no such part."""
    part = (part or "").lower()
    return next((family for prefix, family in _PART_FAMILIES if part.startswith(prefix)), None)


def _range(width: int, signed: bool) -> tuple:
    return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)


def _fits(value: int, bits: int) -> bool:
    return -(1 << (bits - 1)) <= value <= (1 << (bits - 1)) - 1


def packing_exact(family, data_width: int, data_signed: bool, weight_width: int, weight_signed: bool = True) -> bool:
    """Whether a * w1 and a * w2 come out of one multiplication a * (w1 * 2^shift + w2) of
    ``family``'s DSP exactly: nnet_dsp_pack.h dsp_pack_exact (its comment gives the conditions)."""
    if family not in DSP_FAMILIES or not weight_signed or data_width < 1 or weight_width < 2:
        return False
    port_a, port_b, shift = DSP_FAMILIES[family]
    (a_lo, a_hi), (w_lo, w_hi) = _range(data_width, data_signed), _range(weight_width, True)
    products = [a * w for a in (a_lo, a_hi) for w in (w_lo, w_hi)]
    return (all(_fits(w * (1 << shift) + w, port_a) for w in (w_lo, w_hi))
            and _fits(a_lo, port_b) and _fits(a_hi, port_b)
            and all(_fits(p, shift) and _fits(p, data_width + weight_width) for p in products))


def valid_multipliers(layer_geometry, family, data=(8, False), weight=(8, True)) -> tuple:
    """The multipliers a layer can take on ``family`` ('dsp48e2', 'dsp48e1' or None) with ``data``
    and ``weight`` given as (bits, signed): 'packed' only where exact and where a group has two
    output channels to pair (with one, packing is 'dsp' under another name)."""
    g = R.geometry(layer_geometry, REUSE_KEYS)
    choices = ["lut", "dsp"]
    if g["n_filt"] // g["n_groups"] >= 2 and packing_exact(family, *data, *weight):
        choices.append("packed")
    return tuple(choices)


def check_multiplier(layer: str, multiplier) -> str:
    if multiplier not in MULTIPLIERS:
        raise ValueError(f"layer {layer}: multiplier must be one of {', '.join(MULTIPLIERS)}, got {multiplier!r}")
    return multiplier


def mul_ops(layer_geometry, multiplier: str = "lut") -> int:
    """Multiplications the hardware does per output pixel: ``multiplications``, except that packed
    pairs the output channels of a group (one multiplication per pair, one per odd channel left)."""
    if multiplier not in MULTIPLIERS:
        raise ValueError(f"multiplier must be one of {', '.join(MULTIPLIERS)}, got {multiplier!r}")
    g = R.geometry(layer_geometry, REUSE_KEYS)
    per_group = g["n_filt"] // g["n_groups"]
    channels = per_group // 2 + per_group % 2 if multiplier == "packed" else per_group
    return g["n_groups"] * channels * g["filt_height"] * g["filt_width"] * (g["n_chan"] // g["n_groups"])


def dsp_count(layer_geometry, reuse: int, multiplier: str) -> int:
    """DSPs of the layer's multipliers: 0 for 'lut'; else one per shared multiplication,
    ceil(mul_ops / R), a packed DSP doing two products (the same count as multiplier_limit)."""
    return 0 if multiplier == "lut" else R.copies(mul_ops(layer_geometry, multiplier), reuse)


def multiplications(layer_geometry) -> int:
    """Multiplications per output pixel: every output channel sees its group's window."""
    g = R.geometry(layer_geometry, REUSE_KEYS)
    return g["n_filt"] * g["filt_height"] * g["filt_width"] * (g["n_chan"] // g["n_groups"])


def valid_reuse_factors(layer_geometry, multiplier: str = "lut") -> tuple:
    """The reuse factors worth planning with (every R >= 1 is accepted; see hw.hls.layers.reuse)."""
    return R.useful_reuse_factors(mul_ops(layer_geometry, multiplier))


def multipliers(layer_geometry, reuse: int, multiplier: str = "lut") -> int:
    """The config's multiplier_limit: hardware multiplications (DSPs when dsp or packed)."""
    return R.copies(mul_ops(layer_geometry, multiplier), reuse)


def valid_folds(layer_geometry, reuse: int, multiplier: str = "lut", storage: str = "registers") -> tuple:
    """Folds F the layer takes at reuse factor R: F divides n_filt (every group of channels the
    same size) and R (each group gets R / F clocks); with 'packed', every fold holds whole pairs
    and the same number of multiplications (whole groups, or an even fold of even groups), so
    that ceil(mul_ops / R) multipliers keep the II; with the weights in a memory, R / F divides
    the window's taps (a row of taps a clock)."""
    g = R.geometry(layer_geometry, REUSE_KEYS)
    n_filt, per_group, taps = g["n_filt"], g["n_filt"] // g["n_groups"], window_taps(layer_geometry)
    folds = []
    for fold in range(1, min(n_filt, reuse) + 1):
        if n_filt % fold or reuse % fold:
            continue
        width = n_filt // fold
        if multiplier == "packed" and fold > 1 and not (width % per_group == 0 or
                                                        per_group % 2 == 0 and width % 2 == 0):
            continue
        if storage != "registers" and taps % (reuse // fold):
            continue
        folds.append(fold)
    return tuple(folds)


def largest_fold(layer_geometry, reuse: int, multiplier: str = "lut", storage: str = "registers"):
    """The deepest fold at R: the fewest adders and output casts for the same clocks (None: no fold
    fits, which happens only with the weights in a memory)."""
    folds = valid_folds(layer_geometry, reuse, multiplier, storage)
    return folds[-1] if folds else None


def check_fold(layer: str, layer_geometry, reuse: int, multiplier: str, fold, storage: str = "registers") -> int:
    """``fold`` if ``layer`` takes it at ``reuse`` with ``multiplier`` and ``storage``, else a
    ValueError naming the layer, the value and the folds it does take."""
    if storage not in WEIGHT_STORAGES:
        raise ValueError(f"layer {layer}: weight storage must be one of {', '.join(WEIGHT_STORAGES)}, "
                         f"got {storage!r}")
    valid = valid_folds(layer_geometry, reuse, multiplier, storage)
    if not isinstance(fold, int) or isinstance(fold, bool) or fold not in valid:
        rows = (f"; with the weights in {storage}, R / fold must divide the {window_taps(layer_geometry)} window taps"
                if storage != "registers" else "")
        n_filt = R.geometry(layer_geometry, REUSE_KEYS)["n_filt"]
        pairs = " (whole packed pairs per fold)" if multiplier == "packed" else ""
        raise ValueError(f"layer {layer}: fold {fold!r} is not possible with {n_filt} output channels at "
                         f"reuse factor {reuse} ({multiplier}); a fold divides both{pairs}{rows}: "
                         f"{', '.join(map(str, valid)) or 'none'}")
    return fold
