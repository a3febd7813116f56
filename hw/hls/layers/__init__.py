"""Custom hls4ml layers, one module each: Keras parser, hls4ml layer class, config and function
templates, and the header in hw/hls/nnet_utils that implements it.  ``hw.hls.extension.register`` installs them."""
from hw.hls.layers import group_conv, selective_attention, unpooling

LAYER_MODULES = (unpooling, selective_attention, group_conv)
