"""The hardware side: hls4ml extension, HLS headers, boards, project generation, C simulation.

The only package that imports hls4ml, and only where it is needed (``hw.hls.extension.register``, called
by ``hw.hls.convert.convert``), so the command-line tool starts without it for commands that do not
touch HLS.  Stages, in import order: tests/unit/test_layering.py.
"""
