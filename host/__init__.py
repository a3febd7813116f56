"""Host-side code for the accelerator: numpy only, so it runs on a PYNQ board's own Python.

Never imports TensorFlow, QKeras or hls4ml (tested); pynq only for the PYNQ backend.  See README.md:
io (codes and stream words), package, accelerator (the driver), simboard, archive/deploy, board, bench.
"""
