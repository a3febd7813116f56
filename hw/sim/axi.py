"""The g++ builds of a project's AXI4-Stream top (written by hw.hls.accelerator): the simulated board's
library and the top's test bench, into the project's build/axi-<hash>/ with the weights compiled in
(templates/axi_weights.*), so the library can be moved.
``build_library`` and ``run_testbench`` compile them with the toolchain csim uses (hw.sim.toolchain).
"""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from string import Template

from hw.hls.accelerator import GXX_INCLUDE
from hw.hls.ports import AcceleratorConfig

TEMPLATES = Path(__file__).parent / "templates"
RESULTS = "axi_results.log"


class AxiBuildError(RuntimeError):
    pass


_WEIGHT_TEXT = re.compile(r"^[0-9eE.,+\-\s]*$")   # what hls4ml writes; nothing that could end a raw string


def _weights_sources(project: Path, name: str, loaded=()) -> dict:
    """File name -> text of the weights compiled into the library (axi_weights.h and .cpp).

    ``loaded``: the arrays the top fills from its weight frame (storage uram).  Their text is
    empty, so the network's first call (nnet::load_weights_from_txt reads no line) leaves them as the
    load made them: zeros unless the frame came through, as URAM holds nothing from the bitstream."""
    texts = {}
    for path in sorted((project / "firmware" / "weights").glob("*.txt")):
        text = path.read_text()
        if not _WEIGHT_TEXT.match(text):
            raise AxiBuildError(f"{path}: not a weight text of numbers and commas as hls4ml writes it")
        texts[path.name] = "" if path.stem in loaded else text
    values = {"name": name, "NAME": name.upper(),
              "names": "".join(f'"{n}", ' for n in texts),
              "texts": "".join(f'R"w({text})w",\n    ' for text in texts.values())}
    return {f"{name}_axi_weights{ext}": Template((TEMPLATES / f"axi_weights{ext}").read_text()).substitute(values)
            for ext in (".h", ".cpp")}


def _compile(project: Path, name: str, loaded=()) -> dict:
    """Object files and links of the AXI build in build/axi-<hash>/: the simulated board's library
    and the test bench, with the weights compiled in (no path to the project in either)."""
    from hw.sim.firmware import check_weights
    from hw.sim.toolchain import CXXFLAGS, gxx, source_hash

    check_weights(project)   # the .txt compiled in must hold the .h initialisers synthesis builds in
    generated = _weights_sources(project, name, loaded)
    templates = [(TEMPLATES / t).read_text() for t in ("axi_weights.h", "axi_weights.cpp")]
    out = project / "build" / f"axi-{source_hash(project, CXXFLAGS + templates + list(loaded))}"
    out.mkdir(parents=True, exist_ok=True)
    for file, text in generated.items():
        if not (out / file).exists() or (out / file).read_text() != text:
            (out / file).write_text(text)
    flags = ["-fPIC", f"-I{GXX_INCLUDE}", "-include", str(out / f"{name}_axi_weights.h")]
    objects = {"firmware.o": f"firmware/{name}.cpp", "axi.o": f"firmware/{name}_axi.cpp",
               "axi_bridge.o": f"{name}_axi_bridge.cpp", "axi_test.o": f"{name}_axi_test.cpp",
               "axi_weights.o": str(out / f"{name}_axi_weights.cpp")}
    steps = [(out / obj, [*flags, "-c", src]) for obj, src in objects.items()]
    core = [str(out / o) for o in ("firmware.o", "axi.o", "axi_bridge.o", "axi_weights.o")]
    steps += [(out / f"lib{name}_axi.so", ["-shared", *core]),
              (out / f"{name}_axi_test", [*core, str(out / "axi_test.o")])]
    timings = []
    for target, args in steps:
        if not target.exists():
            timings.append({"target": target.name, "seconds": gxx(project, CXXFLAGS, args, target)})
    return {"library": out / f"lib{name}_axi.so", "testbench": out / f"{name}_axi_test", "steps": timings,
            "compile_s": sum(t["seconds"] for t in timings), "dir": out}


def build(project) -> dict:
    project = Path(project).resolve()   # g++ runs inside the project: outputs need absolute paths
    acc = AcceleratorConfig.load(project)
    return _compile(project, acc.project, [m.variable for m in acc.weights.memories] if acc.weights else ())


def build_library(project) -> Path:
    """Compile the AXI top and its bridge into build/.../lib<name>_axi.so (cached by source) and
    return its path: ``<name>_axi_run`` there is the simulated board's hardware."""
    return build(project)["library"]


def run_testbench(project, inputs=None, expected=None, weight_frame=None) -> dict:
    """Run the AXI test bench (default: on tb_data, with the project's weight frame if it has one);
    exit status 0 means bit-exact."""
    project = Path(project).resolve()
    built = build(project)
    args = [str(built["testbench"])]
    if inputs is not None or weight_frame is not None:
        tb = project / "tb_data"
        args += [str(inputs or tb / "tb_input_features.dat"), str(expected or tb / "tb_output_predictions.dat"),
                 str(project / "build" / RESULTS)] + ([str(weight_frame)] if weight_frame is not None else [])
    start = time.perf_counter()
    done = subprocess.run(args, cwd=project, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise AxiBuildError(f"{built['testbench'].name} failed ({done.returncode}): {done.stderr[-2000:]}")
    return {"exact": done.returncode == 0, "log": done.stdout.strip(), "compile_s": built["compile_s"],
            "run_s": time.perf_counter() - start}
