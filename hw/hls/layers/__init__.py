"""Custom hls4ml layers, one module each: Keras parser, hls4ml layer class, config and function
templates, and the header in hw/hls/nnet_utils that implements it.  ``hw.hls.extension.register`` installs them.

Nothing is imported here: the pure rules beside them (``reuse``) are read by hw.hls.ops without hls4ml."""
