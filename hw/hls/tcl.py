"""The vendor scripts of a project: ``vendor/settings.tcl`` (this project and board, as data) and
the two scripts that read it, ``vendor/hls.tcl`` (C synthesis and IP export of the AXI top) and
``vendor/vivado.tcl`` (block design, bitstream).  Both run from the project folder, paths relative."""
from __future__ import annotations

import re
from pathlib import Path

from hw.hls.ports import AcceleratorConfig

TEMPLATES = Path(__file__).parent / "templates"
SCRIPTS = ("hls.tcl", "vivado.tcl")
VENDOR_DIR = "vendor"
# AXI DMA's buffer length register: 8..26 bits (PG021); at least its default of 14
DMA_LENGTH_WIDTH = (14, 26)
_PLAIN = re.compile(r"^[\w.:/%-]+$")


def tcl_word(value) -> str:
    """One Tcl word: plain text as is, anything else in braces (no substitution inside)."""
    text = str(value)
    if _PLAIN.match(text):
        return text
    if any(c in text for c in "{}\\"):
        raise ValueError(f"cannot quote {text!r} for Tcl")
    return "{" + text + "}"


def tcl_dict(mapping: dict, prefix: str = "") -> str:
    return "[list " + " ".join(f"{tcl_word(prefix + str(k))} {tcl_word(v)}" for k, v in mapping.items()) + "]"


def fabric_mhz(clock_ns: float) -> str:
    """The PS clock setting for an HLS clock period, to 0.1 MHz (6.667 ns -> 150)."""
    mhz = round(1000.0 / clock_ns, 1)
    return str(int(mhz)) if mhz == int(mhz) else str(mhz)


def dma_length_width(acc: AcceleratorConfig) -> int:
    """Bits of the DMA's length register: the largest frame in bytes (the weight frame too) must fit."""
    largest = max(acc.input_bytes, acc.output_bytes, acc.weight_bytes)
    need = largest.bit_length()
    lo, hi = DMA_LENGTH_WIDTH
    if need > hi:
        raise ValueError(f"a {largest}-byte frame exceeds AXI DMA's {hi}-bit length register")
    return max(lo, need)


def stream_ports(top_source: str, top: str) -> tuple:
    """The names of the top's input and output stream arguments (the IP's AXI4-Stream interfaces)."""
    match = re.search(rf"\bvoid\s+{re.escape(top)}\s*\(([^)]*)\)", top_source)
    if not match:
        raise ValueError(f"no definition of {top}() in the accelerator source")
    names = re.findall(r"&\s*(\w+)\s*(?:,|$)", match.group(1).strip())
    if len(names) != 2:
        raise ValueError(f"{top}() must take two stream references, got ({match.group(1)})")
    return tuple(names)


def settings(acc: AcceleratorConfig, board, backend: str, clock_uncertainty: str, ports: tuple) -> str:
    name, ps = acc.project, board.ps
    values = {
        "project_name": name, "top": acc.top, "hls_backend": backend, "part": board.part,
        "clock_ns": acc.clock_ns, "clock_uncertainty": clock_uncertainty,
        "hls_project": f"{acc.top}_prj",
        "hls_sources": f"[list firmware/{name}.cpp firmware/{name}_axi.cpp]",
        "hls_testbench": f"[list {name}_axi_test.cpp {name}_axi_bridge.cpp]",
        # the test bench's data: weights, images, and the weight frame it sends first (storage: uram)
        "hls_tb_data": f"[list firmware/weights tb_data{' ' + acc.weights.file if acc.weights else ''}]",
        "ip_vendor": acc.ip_vendor, "ip_library": acc.ip_library, "ip_version": acc.ip_version,
        "accelerator_vlnv": acc.vlnv, "accelerator_instance": acc.accelerator_instance,
        "accelerator_in": ports[0], "accelerator_out": ports[1],
        "dma_instance": acc.dma_instance, "dma_width": acc.dma_width, "dma_length_width": dma_length_width(acc),
        "board_name": board.name, "board_part": board.board_part,
        "board_connections": tcl_dict(board.board_connections),
        "ps_ip": ps.ip, "ps_instance": ps.instance, "ps_automation": ps.automation,
        "ps_automation_config": tcl_dict(ps.automation_config), "ps_clock_pin": ps.clock_pin,
        "ps_clock_mhz_property": ps.clock_mhz_property, "ps_reset_pin": ps.reset_pin, "ps_master": ps.master,
        "ps_master_clock_pin": ps.master_clock_pin, "ps_hp_port": ps.hp_port, "ps_hp_clock_pin": ps.hp_clock_pin,
        "ps_hp_width_property": ps.hp_width_property, "ps_properties": tcl_dict(ps.properties, "CONFIG."),
        "fclk_mhz": fabric_mhz(acc.clock_ns), "vivado_project": f"{name}_vivado_prj", "bd_name": f"{name}_bd"}
    lines = [f"# {name} on {board.name}: the data vendor/hls.tcl and vendor/vivado.tcl read "
             "(written by attendnets from the board file and accelerator.yaml)."]
    for key, value in values.items():
        text = str(value)
        lines.append(f"set {key} {text if text.startswith('[list') else tcl_word(text)}")
    return "\n".join(lines) + "\n"


def write_scripts(project, acc: AcceleratorConfig, board, backend: str, clock_uncertainty: str) -> list:
    """Write vendor/settings.tcl, vendor/hls.tcl and vendor/vivado.tcl; returns their paths."""
    project = Path(project)
    folder = project / VENDOR_DIR
    folder.mkdir(exist_ok=True)
    ports = stream_ports((project / "firmware" / f"{acc.project}_axi.cpp").read_text(), acc.top)
    written = [folder / "settings.tcl"]
    written[0].write_text(settings(acc, board, backend, clock_uncertainty, ports))
    for script in SCRIPTS:
        (folder / script).write_text((TEMPLATES / script).read_text())
        written.append(folder / script)
    return written
