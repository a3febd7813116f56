"""The real C++ under bounded FIFOs: a threaded C simulation of an io_stream project.

C simulation normally never fills a stream (the ap_types hls::stream is an unbounded deque, and
the dataflow processes run one after the other), so the reduced FIFO depths written into the
project (hw/hls/fifo.py) would be checked only by a Python model of the dataflow.  Here every
dataflow process of the top function runs in its own thread, and every stream between two
processes is a blocking FIFO of exactly the depth in the project's ``#pragma HLS STREAM`` lines
(templates/bounded_stream/hls_stream.h, found before the ap_types model on the include path).

The threaded top (templates/threaded.cpp) is written from hls4ml's model of the project
(a fresh conversion of keras/model.h5 with the project's recipe): its layers' kernel calls,
stream variables and weights, the same that hls4ml writes into firmware/<name>.cpp; the depths
are read from that file's pragmas, and a stream of the model that the firmware does not declare
is an error.  A watchdog detects a deadlock exactly (every unfinished process waits on a stream
that cannot change) and reports which streams were full and which processes were blocked.  The
binary also compiles the project's own top function, firmware/<name>.cpp, and runs it in one
thread with unbounded streams on request (``run(..., sequential=True)``): the reference run of
the same C++ without threads, from the same build.
"""
from __future__ import annotations

import re
import string
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hw.hls import testbench
from hw.sim import toolchain as C
from hw.sim.firmware import check_weights

TEMPLATES = Path(__file__).parent / "templates"
PRAGMA = re.compile(r"#pragma\s+HLS\s+STREAM\s+variable\s*=\s*(\w+)\s+depth\s*=\s*(\d+)")
EXIT_STATUS = {0: "finished", 3: "deadlock", 4: "timeout"}


class ThreadedError(C.CsimError):
    pass


@dataclass
class ThreadedRun:
    status: str                      # finished | deadlock | timeout
    outputs: np.ndarray | None
    peaks: dict = field(default_factory=dict)       # stream -> (depth, most held), when finished
    streams: list = field(default_factory=list)     # at a deadlock: {name, depth, held, full}
    processes: list = field(default_factory=list)   # at a deadlock: {name, state, stream}
    message: str = ""

    def blocked(self) -> list:
        return [p for p in self.processes if p["state"].startswith("blocked")]

    def full(self) -> list:
        return [s["name"] for s in self.streams if s["full"]]


def declared_depths(project: Path, name: str) -> dict:
    """{stream variable: depth} from the #pragma HLS STREAM lines of firmware/<name>.cpp."""
    source = project / "firmware" / f"{name}.cpp"
    return {var: int(depth) for var, depth in PRAGMA.findall(source.read_text())}


def hls_model_of(project: Path, resolved: dict, model):
    """hls4ml's model of the project, converted again from its model and recipe (not written)."""
    from hw.config import BuildConfig
    from hw.hls.convert import convert

    cfg = BuildConfig.from_dict(resolved["build"])
    if cfg.io != "stream":
        raise ThreadedError(f"{project}: the threaded simulation checks io_stream FIFOs; this project is io_{cfg.io}")
    with tempfile.TemporaryDirectory() as tmp:
        return convert(model, cfg, Path(tmp) / "ir", resolved["project_name"])


def render(hls_model, name: str, declared: dict) -> str:
    """The threaded top and its main, from the hls4ml model and the declared depths."""
    inp, out = hls_model.get_input_variables()[0], hls_model.get_output_variables()[0]
    ports = {inp.name, out.name}
    streams, depths, processes, weights = [], [], [], []
    for layer in hls_model.get_layers():
        for var in layer.get_variables():
            if var.name in ports or var.definition_cpp() is None:
                continue
            if var.name not in declared:
                raise ThreadedError(f"firmware/{name}.cpp declares no '#pragma HLS STREAM variable={var.name}' for "
                                    f"the output of {layer.name}: the firmware is not this model's; regenerate it")
            streams.append(f"    {var.definition_cpp()};\n    {var.name}.attendnets_bound(depth_of.at(\"{var.name}\"));")
            depths.append(f'    {{"{var.name}", {declared[var.name]}}},')
        call = layer.get_attr("function_cpp", None)
        if call:
            body = " ".join(call) if isinstance(call, (list, set)) else call
            processes.append(f'    net.process("{layer.name}", [&] {{ {body} }});')
        weights += [f'    nnet::load_weights_from_txt<{w.type.name}, {w.data_length}>({w.name}, "{w.name}.txt");'
                    for w in layer.get_weights()]
    # weights the top takes as arguments (storage uram, hw/hls/layers/uram_weights.py): the header's
    # array, filled by load_weights like the others
    external = [w.name for w in hls_model.get_weight_variables() if w.storage.lower() == "bram"]
    return string.Template((TEMPLATES / "threaded.cpp").read_text()).substitute(
        external_weights="".join(f'#include "firmware/weights/{w}.h"\n' for w in external),
        external_args="".join(f", {w}" for w in external), project=name, n_in=int(np.prod(inp.shape)), n_out=int(np.prod(out.shape)), depths="\n".join(depths),
        load_weights="\n".join(weights), input_type=inp.type.name, input_name=inp.name, output_type=out.type.name,
        output_name=out.name, read_line=testbench.READ_LINE.read_text(), streams="\n".join(streams), n_processes=len(processes), processes="\n".join(processes))


def build(project: Path, name: str, source: str) -> Path:
    """Compile the threaded simulation, with the project's own top compiled in for --sequential.

    Cached under build/ by the source, the header, the flags and every firmware file (the binary
    compiles firmware/<name>.cpp and its headers).  The .txt weights it reads must equal the .h
    initialisers synthesis reads (checked first, as csim does)."""
    check_weights(project)
    header = (TEMPLATES / "bounded_stream" / "hls_stream.h").read_text()
    flags = [C.OPT, "-std=c++14", "-pthread", f"-I{TEMPLATES / 'bounded_stream'}", *C.BASE_FLAGS[2:]]
    weights = f'-DWEIGHTS_DIR="{project / "firmware" / "weights"}"'
    out = project / "build" / f"threaded-{C.source_hash(project, [source, header, *flags, weights])}"
    binary = out / f"{name}_threaded"
    if not binary.exists():
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}_threaded.cpp").write_text(source)
        C.gxx(project, flags, [weights, str(out / f"{name}_threaded.cpp")], binary)
    return binary


def _parse_report(text: str) -> tuple:
    streams, processes = [], []
    for line in text.splitlines():
        parts = line.split()
        if parts[:1] == ["STREAM"]:
            fields = dict(p.split("=") for p in parts[2:] if "=" in p)
            streams.append({"name": parts[1], "depth": int(fields["depth"]), "held": int(fields["held"]),
                            "peak": int(fields["peak"]), "full": "FULL" in parts})
        elif parts[:1] == ["PROCESS"]:
            processes.append({"name": parts[1], "state": parts[2], "stream": parts[3] if len(parts) > 3 else None})
    return streams, processes


def run(binary: Path, project: Path, images: np.ndarray, depths: dict | None = None,
        timeout_ms: int = 60000, sequential: bool = False) -> ThreadedRun:
    """Run the threaded simulation on images, with some stream depths overridden; or, sequential,
    the project's own top function in one thread with unbounded streams, as C simulation runs it."""
    args = ["--timeout-ms", str(int(timeout_ms))] + (["--sequential"] if sequential else [])
    for stream, depth in (depths or {}).items():
        args += ["--depth", f"{stream}={int(depth)}"]
    with tempfile.TemporaryDirectory() as tmp:
        inputs, results = Path(tmp) / "in.dat", Path(tmp) / "out.dat"
        testbench.write_rows(inputs, images.reshape(len(images), -1))
        done = subprocess.run([str(binary), str(inputs), str(results), *args], cwd=project,
                              capture_output=True, text=True)
        if done.returncode not in EXIT_STATUS:
            raise ThreadedError(f"{binary.name} failed ({done.returncode}): {done.stderr[-2000:]}")
        status = EXIT_STATUS[done.returncode]
        if status != "finished":
            streams, processes = _parse_report(done.stderr)
            return ThreadedRun(status, None, streams=streams, processes=processes,
                               message=done.stderr.splitlines()[0] if done.stderr else "")
        peaks = {p[1]: (int(p[2]), int(p[3])) for p in (l.split() for l in done.stdout.splitlines()) if p[:1] == ["PEAK"]}
        return ThreadedRun(status, testbench.read_rows(results), peaks=peaks)
