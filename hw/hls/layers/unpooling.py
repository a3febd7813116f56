"""Unpooling2D (the VAC's expansion X) as an hls4ml layer; C++ in nnet_utils/nnet_unpooling.h.

It copies values and has no multipliers: its reuse factor is only the interval between output
pixels, so 1 is the one worth planning with (any R >= 1 is accepted, see the header).
"""
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.converters.keras_v2_to_hls import parse_default_keras_layer
from hls4ml.model.attributes import Attribute
from hls4ml.model.layers import Layer

from hw.hls import ops
from hw.hls.layers import reuse as R

KERAS_CLASS = "Unpooling2D"
HEADER = "nnet_unpooling.h"


def keras_geometry(layer) -> dict:
    return {}


def valid_reuse_factors(layer_geometry=None) -> tuple:
    """Only R = 1 is useful: a larger one saves no hardware (no multipliers) and adds clocks (the
    op's rule, hw.hls.ops)."""
    return ops.op("unpool").reuse_factors(layer_geometry or {})


def multipliers(layer_geometry=None, reuse: int = 1) -> int:
    return 0


def parse(keras_layer, input_names, input_shapes, data_reader):
    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["class_name"] = "HUnpooling2D"
    config = keras_layer["config"]
    _, in_h, in_w, chan = input_shapes[0]
    factor = int(config["size"])
    out_h, out_w = config["output_size"] or (in_h * factor, in_w * factor)
    layer.update(in_height=in_h, in_width=in_w, n_chan=chan, out_height=out_h, out_width=out_w, factor=factor,
                 max_repeat=max(factor, out_h - (in_h - 1) * factor))
    return layer, [input_shapes[0][0], out_h, out_w, chan]


class HUnpooling2D(Layer):
    _expected_attributes = [Attribute(name) for name in
                            ("in_height", "in_width", "n_chan", "out_height", "out_width", "factor", "max_repeat")]

    def initialize(self):
        shape = [self.attributes["out_height"], self.attributes["out_width"], self.attributes["n_chan"]]
        # values are copied, never computed: the output keeps the input's type
        self.add_output_variable(shape, precision=self.get_input_variable().type.precision)


CONFIG = """struct config{index} : nnet::unpooling2d_config {{
    static const unsigned in_height = {in_height};
    static const unsigned in_width = {in_width};
    static const unsigned n_chan = {n_chan};
    static const unsigned out_height = {out_height};
    static const unsigned out_width = {out_width};
    static const unsigned factor = {factor};
    static const unsigned max_repeat = {max_repeat};
    static const unsigned reuse_factor = {reuse};
}};\n"""


class ConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(HUnpooling2D)
        self.template = CONFIG

    def format(self, node):
        R.check_reuse(node.name, node.get_attr("reuse_factor"))
        return self.template.format(**self._default_config_params(node))


class FunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(HUnpooling2D, include_header=[f"nnet_utils/{HEADER}"])
        self.template = "nnet::unpooling2d_cl<{input_t}, {output_t}, {config}>({input}, {output});"

    def format(self, node):
        return self.template.format(**self._default_function_params(node))


LAYER_CLASSES = (HUnpooling2D,)
TEMPLATES = (ConfigTemplate, FunctionTemplate)
