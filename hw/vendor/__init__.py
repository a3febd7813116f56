"""Vendor side of a project: the AXI4-Stream accelerator top, its C bridge, the HLS and Vivado
Tcl per board, and ``attendnets build``.  See README.md in this folder for the port contract."""
