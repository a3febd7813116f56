"""The accelerator built: the g++ library and test bench of the AXI4-Stream top (axi.py) and the Vitis HLS /
Vivado runs of ``attendnets build`` (build.py).  Generation writes what they build (hw.hls.accelerator);
see README.md in this folder for the port contract."""
