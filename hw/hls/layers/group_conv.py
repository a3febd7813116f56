"""QGroupConv2D (grouped convolutions and depthwise convolutions with a channel multiplier) as an
hls4ml layer; C++ in nnet_utils/nnet_group_conv2d.h.  hls4ml 1.3 rejects 1 < groups < channels
and computes depth_multiplier > 1 wrongly, so the VAC embedding and the PEPE expansion use this.

The accumulator type comes from the config (``Precision: accum``), which ``hw.config`` derives
exactly; when left 'auto' it is derived here from the input, weight and bias types.

Reuse factor R (``hw.hls.layers.reuse``): one output pixel every R clocks, its
``multiplications(geometry)`` shared by ceil(multiplications / R) multipliers.
"""
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.converters.keras.convolution import parse_conv2d_layer
from hls4ml.converters.keras.qkeras import get_quantizer_from_config
from hls4ml.model.attributes import Attribute, TypeAttribute, WeightAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import NamedType, UnspecifiedPrecisionType

from hw.hls.layers import reuse as R
from hw.hls.precision import conv_accum, from_hls4ml, to_hls4ml

KERAS_CLASS = "QGroupConv2D"
HEADER = "nnet_group_conv2d.h"
GEOMETRY = ("in_height", "in_width", "n_chan", "n_filt", "n_groups", "filt_height", "filt_width", "stride_height",
            "stride_width", "pad_top", "pad_bottom", "pad_left", "pad_right", "out_height", "out_width")

REUSE_KEYS = ("n_chan", "n_filt", "n_groups", "filt_height", "filt_width")


def keras_geometry(layer) -> dict:
    """The geometry ``valid_reuse_factors`` reads, from the Keras QGroupConv2D."""
    kh, kw = layer.kernel_size
    return {"n_chan": int(layer.input_shape[-1]), "n_filt": int(layer.filters), "n_groups": int(layer.groups),
            "filt_height": int(kh), "filt_width": int(kw)}


def multiplications(layer_geometry) -> int:
    """Multiplications per output pixel: every output channel sees its group's window."""
    g = R.geometry(layer_geometry, REUSE_KEYS)
    return g["n_filt"] * g["filt_height"] * g["filt_width"] * (g["n_chan"] // g["n_groups"])


def valid_reuse_factors(layer_geometry) -> tuple:
    """The reuse factors worth planning with (every R >= 1 is accepted; see hw.hls.layers.reuse)."""
    return R.useful_reuse_factors(multiplications(layer_geometry))


def multipliers(layer_geometry, reuse: int) -> int:
    return R.copies(multiplications(layer_geometry), reuse)


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
        TypeAttribute("accum")]

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
        params["multiplier_limit"] = multipliers(node, R.check_reuse(node.name, node.get_attr("reuse_factor")))
        return self.template.format(**params)


class FunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(HGroupConv2D, include_header=[f"nnet_utils/{HEADER}"])
        self.template = "nnet::group_conv_2d_cl<{input_t}, {output_t}, {config}>({input}, {output}, {w}, {b});"

    def format(self, node):
        params = self._default_function_params(node)
        params.update(w=node.get_weights("weight").name, b=node.get_weights("bias").name)
        return self.template.format(**params)


LAYER_CLASSES = (HGroupConv2D,)
TEMPLATES = (ConfigTemplate, FunctionTemplate)
