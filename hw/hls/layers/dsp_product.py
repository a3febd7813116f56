"""hls4ml's own convolution and dense kernels with their products bound to DSPs.

hls4ml 1.3's kernels multiply through ``CONFIG_T::product`` (nnet_mult.h), a class the backend
picks from the operand types alone (``FPGABackend.product_type``: 'mult' for fixed point), and
its rule then puts every 8-bit product in LUTs: a layer cannot ask for DSPs.  A layer configured
with ``Multiplier: dsp`` (hw.config's ``layers.NAME.multiplier``) keeps hls4ml's kernel, its
strategy, reuse factor and weight storage (BRAM under the Resource strategy), and only the
product changes: ``nnet::product::mult_dsp`` (nnet_mult_dsp.h), the same ``a * w`` bound to a DSP.

The seam: an optimizer pass puts, in the layer's place, a subclass of hls4ml's layer class
(same attributes, weights and types) whose only difference is its name, so that hls4ml's
templates (which match by class name) leave it to ours; ours are hls4ml's own, given our
product class as their ``product_type`` parameter (``_OurProduct``) and our header to include.
Every other hls4ml pass (weight transposition for the Resource strategy, stream instructions)
matches by isinstance and treats it as the hls4ml layer it is.  'packed' is not offered here:
two products per DSP need two output channels computed from one input value at once, which
hls4ml's kernels do not do; our grouped conv does (hw/hls/layers/dsp_route.py).
"""
from hls4ml.backends.fpga.fpga_layers import PointwiseConv2D
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.backends.vivado.passes import convolution_templates as conv_t
from hls4ml.backends.vivado.passes import core_templates as core_t
from hls4ml.backends.vivado.passes import pointwise as pointwise_t
from hls4ml.model.layers import Conv2D, Dense
from hls4ml.model.optimizer import OptimizerPass

from hw.hls.layers.depthwise_route import keep_types

HEADER = "nnet_mult_dsp.h"
PRODUCT = "mult_dsp"
PASS_NAME = "attendnets_dsp_product"
FLOW = "vivado:optimize"  # after hls4ml's pointwise pass, before the Resource strategy's weight transposition


class DspConv2D(Conv2D):
    """hls4ml's Conv2D, products in DSPs."""


class DspPointwiseConv2D(PointwiseConv2D):
    """hls4ml's PointwiseConv2D, products in DSPs."""


class DspDense(Dense):
    """hls4ml's Dense, products in DSPs."""


ROUTES = {"Conv2D": DspConv2D, "PointwiseConv2D": DspPointwiseConv2D, "Dense": DspDense}


class _OurProduct(str):
    """An hls4ml template text that always names our product class: hls4ml computes
    ``product_type`` inside its template's format(), so the parameter is fixed here."""

    def format(self, *args, **params):
        return super().format(*args, **{**params, "product_type": PRODUCT})


def _headers(hls4ml_list) -> list:
    return [*hls4ml_list, f"nnet_utils/{HEADER}"]


class DspConv2DConfigTemplate(conv_t.Conv2DConfigTemplate):
    def __init__(self):
        LayerConfigTemplate.__init__(self, DspConv2D)
        self.template = conv_t.conv2d_config_template
        self.mult_template = _OurProduct(conv_t.conv_mult_config_template)


class DspPointwiseConv2DConfigTemplate(pointwise_t.PointwiseConv2DConfigTemplate):
    def __init__(self):
        LayerConfigTemplate.__init__(self, DspPointwiseConv2D)
        self.template = pointwise_t.conv2d_config_template
        self.mult_template = _OurProduct(pointwise_t.conv_mult_config_template)


class DspDenseConfigTemplate(core_t.DenseConfigTemplate):
    def __init__(self):
        LayerConfigTemplate.__init__(self, DspDense)
        self.template = _OurProduct(core_t.dense_config_template)


class DspConv2DFunctionTemplate(conv_t.Conv2DFunctionTemplate):
    def __init__(self):
        FunctionCallTemplate.__init__(self, DspConv2D, include_header=_headers(conv_t.conv2d_include_list))
        self.template = conv_t.conv2d_function_template


class DspPointwiseConv2DFunctionTemplate(pointwise_t.PointwiseConv2DFunctionTemplate):
    def __init__(self):
        FunctionCallTemplate.__init__(self, DspPointwiseConv2D,
                                      include_header=_headers(conv_t.sepconv2d_include_list))
        self.template = pointwise_t.pointwise_conv2d_function_template


class DspDenseFunctionTemplate(core_t.DenseFunctionTemplate):
    def __init__(self):
        FunctionCallTemplate.__init__(self, DspDense, include_header=_headers(core_t.dense_include_list))
        self.template = core_t.dense_function_template


TEMPLATES = (DspConv2DConfigTemplate, DspPointwiseConv2DConfigTemplate, DspDenseConfigTemplate,
             DspConv2DFunctionTemplate, DspPointwiseConv2DFunctionTemplate, DspDenseFunctionTemplate)


def wants_dsp_product(node) -> bool:
    """'dsp' in hls4ml's own kernel: not for a folded conv or one with its weights in a memory,
    which dsp_route puts in ours."""
    return (node.class_name in ROUTES and node.get_attr("multiplier", "lut") == "dsp"
            and (node.get_attr("fold") or 1) == 1 and node.get_attr("weight_storage", "registers") == "registers")


class UseDspProduct(OptimizerPass):
    """Put the DSP-product twin of each hls4ml conv / dense configured with ``Multiplier: dsp``
    in its place, with the same attributes, weights and types."""

    def match(self, node):
        return wants_dsp_product(node)

    def transform(self, model, node):
        attrs = {k: v for k, v in node.attributes.items() if k != "index"}   # a new node, a new index
        new = model.make_node(ROUTES[node.class_name], node.name, attrs, node.inputs.copy(),
                              outputs=node.outputs.copy())
        # hls4ml's layer initialisation settled these (e.g. 'resource' from the configuration's
        # 'Resource', a corrected reuse factor); the new layer was built from the configuration again
        for key, value in node.attributes.items():
            if key != "index" and isinstance(value, (str, int, float, bool)) and new.get_attr(key) != value:
                new.set_attr(key, value)
        keep_types(node, new)
        for name in ("weight", "bias"):
            if not (node.get_weights(name).data == new.get_weights(name).data).all():
                raise RuntimeError(f"{node.name}: the DSP-product layer's {name} differs from the {node.class_name}'s")
        model.replace_node(node, new)
        return True


def register(backend) -> None:
    """Layer classes and the pass once; templates and header for ``backend`` (Vivado and Vitis)."""
    from hls4ml.model.layers import layer_map, register_layer

    for cls in ROUTES.values():
        if cls.__name__ not in layer_map:
            register_layer(cls.__name__, cls)
    for template in TEMPLATES:
        backend.register_template(template)
