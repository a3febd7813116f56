"""Host-side code for the accelerator: numpy only, so it runs on a PYNQ board's own Python.

Never imports TensorFlow, QKeras or hls4ml (tested).  The PYNQ driver and the simulated board
build on ``host.io``.
"""
