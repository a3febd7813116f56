"""SelectiveAttention (the VAC's F(V', A, S)) as one fused hls4ml layer.

C++ in nnet_utils/nnet_selective_attention.h.  The sigmoid table and the quantized scale S are
the layer's weights; the table is ``qmodels.layers.sigmoid_table``, the very numbers the
software model uses.  Types come from the Keras layer's formats, the types of V'·σ(A) and of
V'·σ(A)·S from ``hw.hls.precision.attention_types`` (exact, one each).

Reuse factor R (``hw.hls.layers.reuse``): one pixel every R clocks, its channels computed by
ceil(n_chan / R) lanes of two multipliers (the op's rules: hw/hls/ops/attention.py).
"""
import numpy as np
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.converters.keras_v2_to_hls import get_weights_data, parse_default_keras_layer
from hls4ml.model.attributes import Attribute, TypeAttribute, WeightAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import NamedType

from hw.hls.layers import reuse as R
# the op's rules (hw/hls/ops/attention.py); the tests import them from here, the layer's module
from hw.hls.ops.attention import keras_geometry, multipliers, valid_reuse_factors  # noqa: F401
from hw.hls.precision import attention_types, from_hls4ml, to_hls4ml
from qmodels.fixed import Fixed
from qmodels.layers import sigmoid_table

KERAS_CLASS = "SelectiveAttention"
HEADER = "nnet_selective_attention.h"


def parse(keras_layer, input_names, input_shapes, data_reader):
    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["class_name"] = "HSelectiveAttention"
    config = keras_layer["config"]
    v_shape, a_shape = input_shapes
    if list(v_shape[1:]) != list(a_shape[1:]):
        raise ValueError(f"{layer['name']}: V' {v_shape} and A {a_shape} must have one shape")
    scale_fmt = Fixed.parse(config["scale"])
    scale = scale_fmt.quantize(get_weights_data(data_reader, layer["name"], "scale"))
    layer.update(n_pixels=int(np.prod(v_shape[1:-1])), n_chan=v_shape[-1], n_scale=scale.size,
                 attention_format=config["attention"], sigmoid_format=config["sigmoid"],
                 scale_format=config["scale"], output_format=config["output"], scale_data=scale)
    return layer, list(v_shape)


class HSelectiveAttention(Layer):
    _expected_attributes = [Attribute("n_pixels"), Attribute("n_chan"), Attribute("n_scale"),
                            Attribute("attention_format", value_type=str), Attribute("sigmoid_format", value_type=str),
                            Attribute("scale_format", value_type=str), Attribute("output_format", value_type=str),
                            WeightAttribute("table"), WeightAttribute("scale"), TypeAttribute("table"),
                            TypeAttribute("scale"), TypeAttribute("gated"), TypeAttribute("product"),
                            TypeAttribute("attention")]

    def initialize(self):
        v = self.get_input_variable(self.inputs[0])
        fmt = {k: Fixed.parse(self.get_attr(f"{k}_format")) for k in ("attention", "sigmoid", "scale", "output")}
        self.add_output_variable(v.shape, precision=to_hls4ml(fmt["output"], quantized=True))
        self.add_weights_variable(name="table", var_name="t{index}", data=sigmoid_table(fmt["attention"], fmt["sigmoid"]),
                                  precision=to_hls4ml(fmt["sigmoid"]))
        self.add_weights_variable(name="scale", var_name="s{index}", data=self.get_attr("scale_data"),
                                  precision=to_hls4ml(fmt["scale"]))
        gated, product = attention_types(from_hls4ml(v.type.precision), fmt["sigmoid"], fmt["scale"])
        self.set_attr("gated_t", NamedType(f"layer{self.index}_gated_t", to_hls4ml(gated)))
        self.set_attr("product_t", NamedType(f"layer{self.index}_product_t", to_hls4ml(product)))
        self.set_attr("attention_t", NamedType(f"layer{self.index}_attention_t",
                                               to_hls4ml(fmt["attention"], quantized=True)))


CONFIG = """struct config{index} : nnet::selective_attention_config {{
    static const unsigned n_pixels = {n_pixels};
    static const unsigned n_chan = {n_chan};
    static const unsigned n_scale = {n_scale};
    static const unsigned attention_width = {attention_width};
    static const bool attention_signed = {attention_signed};
    static const unsigned table_size = {table_size};
    static const unsigned reuse_factor = {reuse};
    static const unsigned multiplier_limit = {multiplier_limit};
    typedef {attention_t.name} attention_t;
    typedef {table_t.name} sigmoid_t;
    typedef {scale_t.name} scale_t;
    typedef {gated_t.name} gated_t;
    typedef {product_t.name} product_t;
}};\n"""


class ConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(HSelectiveAttention)
        self.template = CONFIG

    def format(self, node):
        params = self._default_config_params(node)
        attention = Fixed.parse(node.get_attr("attention_format"))
        params.update(attention_width=attention.width, attention_signed=str(attention.signed).lower(),
                      table_size=2 ** attention.width,
                      multiplier_limit=multipliers(node, R.check_reuse(node.name, node.get_attr("reuse_factor"))))
        return self.template.format(**params)


class FunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(HSelectiveAttention, include_header=[f"nnet_utils/{HEADER}"])
        self.template = ("nnet::selective_attention<{input1_t}, {input2_t}, {output_t}, {config}>"
                         "({input1}, {input2}, {output}, {table}, {scale});")

    def format(self, node):
        v, a = (node.get_input_variable(name) for name in node.inputs)
        out = node.get_output_variable()
        return self.template.format(input1_t=v.type.name, input2_t=a.type.name, output_t=out.type.name,
                                    config=f"config{node.index}", input1=v.name, input2=a.name, output=out.name,
                                    table=node.get_weights("table").name, scale=node.get_weights("scale").name)


LAYER_CLASSES = (HSelectiveAttention,)
TEMPLATES = (ConfigTemplate, FunctionTemplate)
