"""QGroupConv2D (grouped convolutions and depthwise convolutions with a channel multiplier) as an
hls4ml layer; C++ in nnet_utils/nnet_group_conv2d.h.  hls4ml 1.3 rejects 1 < groups < channels
and computes depth_multiplier > 1 wrongly, so the VAC embedding and the PEPE expansion use this.

The accumulator type comes from the config (``Precision: accum``), which ``hw.config`` derives
exactly; when left 'auto' it is derived here from the input, weight and bias types.

Reuse factor R (``hw.hls.layers.reuse``): one output pixel every R clocks, its
``mul_ops(geometry, multiplier)`` multiplications shared by ceil(mul_ops / R) multipliers.

Multiplier (``multiplier`` attribute, ``LayerName: {name: {Multiplier: lut|dsp|packed}}`` in the
hls4ml config; nnet_dsp_pack.h): ``lut`` products in fabric, ``dsp`` one per DSP, ``packed`` two
output channels of a group (same input value) per DSP multiplication, where ``packing_exact``
holds for the part's DSP (``dsp_family``).  ``valid_multipliers`` and ``dsp_count`` are what the
estimator and planner read.

Fold F (``fold`` attribute, ``Fold: F``; FINN's PE idea on the output channels): a pixel's
n_filt output channels are computed F groups of n_filt / F one after the other, each in R / F
clocks, so the adders of the accumulators, the rounding and saturation of the outputs and the
multipliers all scale with n_filt / F instead of n_filt; the throughput is that of R.
``valid_folds`` says which F a layer takes (F divides n_filt and R; a packed pair never split).

Weight storage (``weight_storage``: registers, bram, lutram; ``WeightStorage`` in the config):
constants in logic, shared by ALLOCATION at II = R / F, or a ROM read one row a clock (FINN's
SIMD: each fold step is R / F iterations at II = 1 over taps / (R / F) window taps each, so R / F
must divide the taps), rows laid out by hw/hls/layers/weight_rows.py.
"""
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.converters.keras.convolution import parse_conv2d_layer
from hls4ml.converters.keras.qkeras import get_quantizer_from_config
from hls4ml.model.attributes import Attribute, ChoiceAttribute, TypeAttribute, WeightAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import NamedType, UnspecifiedPrecisionType

from hw.config import MULTIPLIERS, STORAGES
from hw.hls.layers import reuse as R
from hw.hls.precision import conv_accum, from_hls4ml, to_hls4ml

KERAS_CLASS = "QGroupConv2D"
HEADER = "nnet_group_conv2d.h"
GEOMETRY = ("in_height", "in_width", "n_chan", "n_filt", "n_groups", "filt_height", "filt_width", "stride_height",
            "stride_width", "pad_top", "pad_bottom", "pad_left", "pad_right", "out_height", "out_width")

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
    if storage not in STORAGES:
        raise ValueError(f"layer {layer}: weight storage must be one of {', '.join(STORAGES)}, got {storage!r}")
    valid = valid_folds(layer_geometry, reuse, multiplier, storage)
    if not isinstance(fold, int) or isinstance(fold, bool) or fold not in valid:
        rows = (f"; with the weights in {storage}, R / fold must divide the {window_taps(layer_geometry)} window taps"
                if storage != "registers" else "")
        n_filt = R.geometry(layer_geometry, REUSE_KEYS)["n_filt"]
        raise ValueError(f"layer {layer}: fold {fold!r} is not possible with {n_filt} output channels at "
                         f"reuse factor {reuse} ({multiplier}); a fold divides both (whole packed pairs per "
                         f"fold){rows}: {', '.join(map(str, valid)) or 'none'}")
    return fold


def parse(keras_layer, input_names, input_shapes, data_reader):
    renamed = {**keras_layer, "class_name": "Conv2D"}  # hls4ml's conv parser reads the geometry
    layer, output_shape = parse_conv2d_layer(renamed, input_names, input_shapes, data_reader)
    layer["class_name"] = "HGroupConv2D"
    layer["n_groups"] = int(keras_layer["config"]["groups"])
    if layer["n_chan"] % layer["n_groups"] or layer["n_filt"] % layer["n_groups"]:
        raise ValueError(f"{layer['name']}: groups={layer['n_groups']} must divide the {layer['n_chan']} input "
                         f"and {layer['n_filt']} output channels")
    layer["weight_quantizer"] = get_quantizer_from_config(keras_layer, "kernel")
    layer["bias_quantizer"] = get_quantizer_from_config(keras_layer, "bias")
    return layer, output_shape


class HGroupConv2D(Layer):
    _expected_attributes = [Attribute(name) for name in GEOMETRY] + [
        WeightAttribute("weight"), WeightAttribute("bias"), TypeAttribute("weight"), TypeAttribute("bias"),
        TypeAttribute("accum"), ChoiceAttribute("multiplier", list(MULTIPLIERS), default="lut"),
        Attribute("fold", value_type=int, default=1),
        ChoiceAttribute("weight_storage", list(STORAGES), default="registers")]

    def initialize(self):
        shape = [self.attributes["out_height"], self.attributes["out_width"], self.attributes["n_filt"]]
        self.add_output_variable(shape)
        self.add_weights(quantizer=self.get_attr("weight_quantizer"))
        self.add_bias(quantizer=self.get_attr("bias_quantizer"))
        if isinstance(self.get_attr("accum_t").precision, UnspecifiedPrecisionType):
            fan_in = self.attributes["filt_height"] * self.attributes["filt_width"] * (
                self.attributes["n_chan"] // self.attributes["n_groups"])
            accum = conv_accum(from_hls4ml(self.get_input_variable().type.precision),
                               from_hls4ml(self.get_weights("weight").type.precision),
                               from_hls4ml(self.get_weights("bias").type.precision), fan_in)
            self.set_attr("accum_t", NamedType(f"layer{self.index}_accum_t", to_hls4ml(accum)))


CONFIG = "struct config{index} : nnet::group_conv2d_config {{\n" + "".join(
    f"    static const unsigned {name} = {{{name}}};\n" for name in GEOMETRY) + """    static const unsigned reuse_factor = {reuse};
    static const unsigned multiplier_limit = {multiplier_limit};
    static const unsigned fold = {fold};
    static const unsigned in_steps = {in_steps};
    static const unsigned fold_interval = {fold_interval};
    static const bool weights_in_rows = {weights_in_rows};
    static const unsigned row_words = {row_words};
    static const unsigned multiplier = nnet::mult_impl::{multiplier};
    typedef nnet::{dsp_family} dsp_family;
    typedef {accum_t.name} accum_t;
    typedef {weight_t.name} weight_t;
    typedef {bias_t.name} bias_t;
}};\n"""


class ConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(HGroupConv2D)
        self.template = CONFIG

    def format(self, node):
        params = self._default_config_params(node)
        multiplier = check_multiplier(node.name, node.get_attr("multiplier", "lut"))
        reuse = R.check_reuse(node.name, node.get_attr("reuse_factor"))
        params["multiplier_limit"] = multipliers(node, reuse, multiplier)
        params.update(_step_params(node, reuse, multiplier))
        params["multiplier"] = multiplier
        params["dsp_family"] = _packing_family(node) if multiplier == "packed" else "dsp48e2"
        return self.template.format(**params)


def _step_params(node, reuse: int, multiplier: str) -> dict:
    """The config's fold fields: F steps of R/F clocks, either one iteration at II R/F (constant
    weights) or R/F iterations at II 1 each reading a row of n_filt/F x taps/(R/F) weights."""
    storage = node.get_attr("weight_storage", "registers")
    fold = check_fold(node.name, node, reuse, multiplier, node.get_attr("fold", 1), storage)
    in_rows = storage != "registers"
    if in_rows != bool(node.get_attr("weights_in_rows", False)):
        raise RuntimeError(f"layer {node.name}: weights for {storage} are not laid out in rows (weight_rows pass)")
    in_steps = reuse // fold if in_rows else 1
    return {"fold": fold, "in_steps": in_steps, "fold_interval": reuse // fold // in_steps,
            "weights_in_rows": str(in_rows).lower(),
            "row_words": node.get_attr("n_filt") // fold * window_taps(node) // in_steps}


def _packing_family(node) -> str:
    """The part's DSP family, checked to pack this layer's operands exactly (a clear error here
    rather than the C++ static_assert)."""
    part = node.model.config.get_config_value("Part")
    family = dsp_family(part)
    data = node.get_input_variable().type.precision
    weight = node.get_weights("weight").type.precision
    if not packing_exact(family, data.width, data.signed, weight.width, weight.signed):
        raise ValueError(f"layer {node.name}: multiplier 'packed' is not exact for {data} data and {weight} "
                         f"weights on part {part} ({family or 'no known DSP family'}); use 'dsp' or 'lut'")
    return family


class FunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(HGroupConv2D, include_header=[f"nnet_utils/{HEADER}"])
        self.template = "nnet::{entry}<{input_t}, {output_t}, {config}>({input}, {output}, {w}, {b});"

    def format(self, node):
        params = self._default_function_params(node)
        storage = node.get_attr("weight_storage", "registers")
        params.update(w=node.get_weights("weight").name, b=node.get_weights("bias").name,
                      entry="group_conv_2d_cl" if storage == "registers" else f"group_conv_2d_{storage}_cl")
        return self.template.format(**params)


LAYER_CLASSES = (HGroupConv2D,)
EXTRA_HEADERS = ("nnet_dsp_pack.h",)  # included by HEADER
TEMPLATES = (ConfigTemplate, FunctionTemplate)
