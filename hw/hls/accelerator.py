"""The AXI4-Stream accelerator top of a project, from templates, written by ``generate``:
  firmware/<name>_axi.h, firmware/<name>_axi.cpp   the top <name>_axi (ap_axiu ports with TLAST)
  firmware/gxx_axi/ap_axi_sdata.h                  a stand-in for the vendor header, g++ only
  <name>_axi_bridge.cpp                            extern "C" <name>_axi_run: DMA bytes in, bytes out
  <name>_axi_test.cpp                              test bench: tb_data through the top, bit for bit
  accelerator.yaml                                 the port contract and block-design names (hw.hls.ports)
  accelerator_weights.bin                          the weight frame, when layers keep their weights in URAM
  vendor/settings.tcl, hls.tcl, vivado.tcl         HLS and Vivado scripts (hw.hls.tcl)
hw.sim.axi compiles them with g++ (the simulated board's library, the test bench); hw.vivado.build
runs the vendor scripts.  The port contract is documented in hw/vivado/README.md.
"""
from __future__ import annotations

from pathlib import Path
from string import Template

from hw.hls.ports import AcceleratorConfig, make_config, parse_format, weight_frame
from hw.hls.testbench import READ_LINE

TEMPLATES = Path(__file__).parent / "templates"
GXX_INCLUDE = "firmware/gxx_axi"   # only g++ sees this folder; the vendor tools use their own header
HLS4ML_UNCERTAINTY = {"vitis": "27%", "vivado": "12.5%"}


def _snippets(stream: bool, in_t: str, out_t: str) -> dict:
    """The lines that differ between io_stream (pixels as nnet::array) and io_parallel (flat arrays)."""
    if stream:
        return {"in_arg": f"hls::stream<{in_t}> &x", "out_arg": f"hls::stream<{out_t}> &y",
                "in_pixel_declaration": f"{in_t} pixel;", "in_emit": "x.write(pixel);",
                "out_pixel_declaration": f"{out_t} pixel;", "out_take": "pixel = y.read();",
                "locals": (f'hls::stream<{in_t}> x("x");\n    hls::stream<{out_t}> y("y");')}
    partition = "#pragma HLS ARRAY_PARTITION variable=pixel complete"
    return {"in_arg": f"{in_t} x[IN_ELEMENTS]", "out_arg": f"{out_t} y[OUT_ELEMENTS]",
            "in_pixel_declaration": f"{in_t} pixel[IN_CHANNELS];\n    {partition}",
            "in_emit": ("for (unsigned k = 0; k < IN_CHANNELS; k++)\n"
                        "                        x[p * IN_CHANNELS + k] = pixel[k];"),
            "out_pixel_declaration": f"{out_t} pixel[OUT_CHANNELS];\n    {partition}",
            "out_take": ("for (unsigned k = 0; k < OUT_CHANNELS; k++)\n"
                         "                        pixel[k] = y[p * OUT_CHANNELS + k];"),
            "locals": (f"{in_t} x[IN_ELEMENTS];\n    {out_t} y[OUT_ELEMENTS];\n"
                       "    #pragma HLS ARRAY_PARTITION variable=x complete\n"
                       "    #pragma HLS ARRAY_PARTITION variable=y complete")}


def _weight_snippets(acc: AcceleratorConfig, weight_types: dict) -> dict:
    """The top's lines for run-time weights (templates/axi_load.cpp): none without them, else the
    arrays it owns (bound to URAM), their load and the frames' function that takes them."""
    name, frame = acc.project, acc.weights
    top = f"void {name}_axi(hls::stream<word_t> &in_stream, hls::stream<word_t> &out_stream)"
    if frame is None:
        return {"frames_head": top, "weight_args": "", "loader": "", "weight_words": 0,
                "frames_pragmas": "#pragma HLS INTERFACE axis port=in_stream\n    #pragma HLS INTERFACE axis "
                                  "port=out_stream\n    #pragma HLS INTERFACE ap_ctrl_none port=return"}
    arrays = [(m, weight_types[m.variable], m.rows * m.row_elements) for m in frame.memories]
    params = ", ".join(f"{t} {m.variable}[{n}]" for m, t, n in arrays)
    names = ", ".join(m.variable for m, _, _ in arrays)
    declarations = "".join(
        f"    static {t} {m.variable}[{n}];\n"
        f"    #pragma HLS ARRAY_RESHAPE variable={m.variable} cyclic factor={m.row_elements}\n"
        "#ifdef __VITIS_HLS__\n"
        f"    #pragma HLS BIND_STORAGE variable={m.variable} type=ram_1p impl=uram\n"
        "#else\n"
        f"    #pragma HLS RESOURCE variable={m.variable} core=XPM_MEMORY uram\n"
        "#endif\n" for m, t, n in arrays)
    calls = "".join(f"    load_memory<{t}, {m.rows}, {m.row_elements}, {m.lane_bits}, {parse_format(m.format)[1]}>"
                    f"(in_stream, {m.variable}, words, last);\n" for m, t, _ in arrays)
    loader = Template((TEMPLATES / "axi_load.cpp").read_text()).substitute(
        name=name, memory_count=len(arrays), weight_params=params, load_calls=calls.rstrip("\n"),
        weight_declarations=declarations.rstrip("\n"), weight_names=names)
    # written only by the load, before the first image: no handshake between the frames' processes
    stable = "\n    ".join(f"#pragma HLS STABLE variable={m.variable}" for m, _, _ in arrays)
    return {"frames_head": f"static void stream_frames(hls::stream<word_t> &in_stream, hls::stream<word_t> "
                           f"&out_stream, {params})",
            "frames_pragmas": stable, "weight_args": ", " + names, "loader": loader, "weight_words": frame.words}


def render(acc: AcceleratorConfig, io: str, in_type: str, out_type: str, weight_types: dict = None) -> dict:
    """Relative path -> text of every C++ file of the accelerator; ``weight_types``: the C++ type of
    each run-time weight array (acc.weights), by variable name."""
    name, inp, out = acc.project, acc.input, acc.output
    in_signed, _, in_int = parse_format(inp.format)
    out_signed, _, out_int = parse_format(out.format)
    kind = "ap_int" if out_signed else "ap_uint"
    values = {"name": name, "NAME": name.upper(), "io": io, "width": acc.dma_width,
              "in_lane": inp.lane_bits, "in_bits": inp.bits, "in_channels": inp.channels,
              "in_elements": inp.elements, "in_words": inp.words, "in_frac": inp.bits - in_int,
              "in_min": -(1 << (inp.bits - 1)) if in_signed else 0,
              "in_max": (1 << (inp.bits - 1)) - 1 if in_signed else (1 << inp.bits) - 1,
              "out_lane": out.lane_bits, "out_bits": out.bits, "out_channels": out.channels,
              "out_elements": out.elements, "out_words": out.words, "out_frac": out.bits - out_int,
              "out_signed": "true" if out_signed else "false",
              "out_code_t": f"{kind}<{out.bits}>", "out_lane_t": f"{kind}<{out.lane_bits}>",
              "in_var": "x", "out_var": "y", "read_line": READ_LINE.read_text(),
              "weights_file": acc.weights.file if acc.weights else "",
              **_snippets(io == "stream", in_type, out_type), **_weight_snippets(acc, weight_types or {})}
    if inp.bits - in_int < 0 or out.bits - out_int < 0:
        raise ValueError(f"{name}: port types with negative fractional bits are not supported by the AXI top")
    files = {f"firmware/{name}_axi.h": "axi_top.h", f"firmware/{name}_axi.cpp": "axi_top.cpp",
             f"{GXX_INCLUDE}/ap_axi_sdata.h": "ap_axi_sdata.h", f"{name}_axi_bridge.cpp": "axi_bridge.cpp",
             f"{name}_axi_test.cpp": "axi_test.cpp"}
    return {rel: Template((TEMPLATES / template).read_text()).substitute(values) for rel, template in files.items()}


def write_accelerator(project, hls_model, name: str, board, cfg) -> AcceleratorConfig:
    """Write the AXI top, bridge, test bench, accelerator.yaml and vendor Tcl of a project."""
    from hw.hls import tcl

    from hw.hls.layers.uram_weights import memories as loaded_memories

    project = Path(project)
    inp, out = hls_model.get_input_variables()[0], hls_model.get_output_variables()[0]
    acc = make_config(name, str(inp.type.precision), list(inp.shape), str(out.type.precision), list(out.shape),
                      board, cfg.clock_ns or board.clock_ns)
    memories = loaded_memories(hls_model)
    acc.weights = weight_frame(memories, acc.dma_width)
    io = "stream" if hls_model.config.get_config_value("IOType") == "io_stream" else "parallel"
    for rel, text in render(acc, io, inp.type.name, out.type.name, {m["variable"]: m["type"] for m in memories}).items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    if acc.weights is not None:
        acc.check(f"project {name}")
        frame = acc.weights.pack([m["codes"] for m in memories], acc.dma_width)
        (project / acc.weights.file).write_bytes(frame)
    acc.save(project)
    # hls4ml's own uncertainty for the backend (27% Vitis, 12.5% Vivado), as its build_prj.tcl uses
    uncertainty = hls_model.config.get_config_value("ClockUncertainty") or HLS4ML_UNCERTAINTY[cfg.backend]
    tcl.write_scripts(project, acc, board, cfg.backend, str(uncertainty))
    return acc
