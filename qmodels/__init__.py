"""QKeras 8-bit AttendNets: custom layers, blocks, network specs, builder, exact numpy reference.

Never imports hls4ml; see hw/ for the hardware side.
"""
