"""Installing the extension into hls4ml: explicit, once per process, for the Vivado and Vitis backends."""
from pathlib import Path

HEADER_DIR = Path(__file__).parent / "nnet_utils"
BACKENDS = ("Vivado", "Vitis")
_done = False


def register() -> None:
    """Register every custom layer's parser, layer class, templates and header with hls4ml, and
    the pass that routes the depthwise convolutions hls4ml streams wrongly to our grouped one, and
    the pass that fuses quantized activations into their producers (hw/hls/fuse.py), and the pass
    that routes convolutions asking for packed DSP multipliers or a fold to our grouped one
    (layers/dsp_route.py), the pass that lays out in rows the weights our grouped conv keeps in a
    memory (layers/weight_rows.py), the pass that makes external the weights it keeps in URAM
    (layers/uram_weights.py), and hls4ml's convs and dense layers with their products in
    DSPs (layers/dsp_product.py), and the global averages configured with a fold to our folded one
    (layers/global_average.py), and the pass that folds the streams between a folded producer and a reader
    that takes its words (layers/stream_fold.py).

    hls4ml raises on a second registration of a handler or template, so this runs once per
    process and later calls return at once.
    """
    global _done
    if _done:
        return
    from hls4ml.backends import get_backend
    from hls4ml.converters import register_keras_v2_layer_handler
    from hls4ml.model.layers import register_layer

    from hw.hls.layers import (depthwise_route, dsp_product, dsp_route, fuse_quantizer, global_average,
                               group_conv, selective_attention, stream_fold, unpooling, uram_weights,
                               weight_rows)

    for module in (unpooling, selective_attention, group_conv, global_average):  # our layers
        if hasattr(module, "KERAS_CLASS"):  # the global average has none: a pass puts it in place
            register_keras_v2_layer_handler(module.KERAS_CLASS, module.parse)
        for cls in module.LAYER_CLASSES:
            register_layer(cls.__name__, cls)
        for name in BACKENDS:
            backend = get_backend(name)
            for template in module.TEMPLATES:
                backend.register_template(template)
            for header in (module.HEADER, *getattr(module, "EXTRA_HEADERS", ())):  # those HEADER includes
                backend.register_source(HEADER_DIR / header)
    # into a Vivado flow, which the Vitis backend's flow runs too: one registration serves both
    depthwise_route.register(get_backend("Vivado"))
    fuse_quantizer.register(get_backend("Vivado"))
    dsp_route.register(get_backend("Vivado"))  # after the fusion: the routed layer keeps the fused type
    global_average.register(get_backend("Vivado"))  # after the fusion too
    weight_rows.register(get_backend("Vivado"))  # weights in a memory: one row a clock
    uram_weights.register(get_backend("Vivado"))  # weights in URAM: an argument the AXI top fills at run time
    stream_fold.register(get_backend("Vivado"))  # after transform_types: a folded producer's words of C / F channels
    for name in BACKENDS:  # hls4ml's kernels with DSP products (layers/dsp_product.py)
        dsp_product.register(get_backend(name))
        for header in (dsp_product.HEADER, "nnet_dsp_pack.h"):  # the first includes the second
            get_backend(name).register_source(HEADER_DIR / header)
    get_backend("Vivado").register_pass(dsp_product.PASS_NAME, dsp_product.UseDspProduct, flow=dsp_product.FLOW)
    _done = True
