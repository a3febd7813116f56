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
holds for the part's DSP (``dsp_family``).  These rules (``valid_multipliers``, ``dsp_count``,
``valid_folds``...) are the op's, in hw/hls/ops/group_conv.py, which the estimator and planner read too.

Fold F (``fold`` attribute, ``Fold: F``; FINN's PE idea on the output channels): a pixel's
n_filt output channels are computed F groups of n_filt / F one after the other, each in R / F
clocks, so the adders of the accumulators, the rounding and saturation of the outputs and the
multipliers all scale with n_filt / F instead of n_filt; the throughput is that of R.
``valid_folds`` says which F a layer takes (F divides n_filt and R; a packed pair never split).

Weight storage (``weight_storage``: registers, bram, lutram, uram; ``WeightStorage`` in the config):
constants in logic, shared by ALLOCATION at II = R / F, or a ROM read one row a clock (FINN's
SIMD: each fold step is R / F iterations at II = 1 over taps / (R / F) window taps each, so R / F
must divide the taps), rows laid out by hw/hls/layers/weight_rows.py; uram: the same rows in a
memory the AXI top owns and fills at run time (hw/hls/layers/uram_weights.py).
"""
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.converters.keras.convolution import parse_conv2d_layer
from hls4ml.converters.keras.qkeras import get_quantizer_from_config
from hls4ml.model.attributes import Attribute, ChoiceAttribute, TypeAttribute, WeightAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import NamedType, UnspecifiedPrecisionType

from hw.config import MULTIPLIERS, WEIGHT_STORAGES
from hw.hls.layers import reuse as R
from hw.hls.precision import conv_accum, from_hls4ml, to_hls4ml
# the op's rules (hw/hls/ops/group_conv.py); the templates use some, and hw.sim and the tests import the
# others from here, the layer's module
from hw.hls.ops.group_conv import (DSP_FAMILIES, REUSE_KEYS, check_fold, check_multiplier,  # noqa: F401
                                   dsp_count, dsp_family, keras_geometry, largest_fold, mul_ops,
                                   multiplications, multipliers, packing_exact, valid_folds,
                                   valid_multipliers, valid_reuse_factors, window_taps)

KERAS_CLASS = "QGroupConv2D"
HEADER = "nnet_group_conv2d.h"
GEOMETRY = ("in_height", "in_width", "n_chan", "n_filt", "n_groups", "filt_height", "filt_width", "stride_height",
            "stride_width", "pad_top", "pad_bottom", "pad_left", "pad_right", "out_height", "out_width")


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
        ChoiceAttribute("weight_storage", list(WEIGHT_STORAGES), default="registers")]

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
