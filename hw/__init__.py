"""The hardware side: hls4ml extension, HLS headers, boards, project generation, C simulation.

The only package that imports hls4ml, and only where it is needed (``hw.register``), so the
command-line tool starts without it for commands that do not touch HLS.
"""


def register() -> None:
    """Install the custom layers into hls4ml (idempotent); see hw/extension.py."""
    from hw.hls.extension import register as _register

    _register()
