"""C simulation of a generated project, compared bit for bit with the exact software model.

Three ways to run the same C++, each compared with the float64 reference (qmodels.reference):
  emulation  hls4ml's bridge compiled with g++ into a shared library, called through ctypes;
  testbench  the project's own test bench compiled with plain g++ and run on its inputs;
  vendor     the vendor's csim (vitis_hls / vivado_hls) when it is on PATH, else skipped.
"""
from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from hw.hls import testbench
from hw.hls.convert import KERAS_FILE, load_resolved

MODES = ("emulation", "testbench", "vendor")
CXX = "g++"
# -fno-gnu-unique: template statics would otherwise be bound process-wide across every emulation
# library loaded into one Python process (hls4ml's build_lib.sh uses it for the same reason)
CXXFLAGS = ["-O2", "-std=c++14", "-fno-gnu-unique", "-Ifirmware/ap_types", "-Ifirmware", "-I."]
VENDOR_TOOLS = {"vitis": ("vitis-run", "vitis_hls"), "vivado": ("vivado_hls",)}


class CsimError(RuntimeError):
    pass


def _source_hash(project: Path, extra: list) -> str:
    digest = hashlib.sha256(" ".join(extra).encode())
    for path in sorted((project / "firmware").rglob("*")) + sorted(project.glob("*.cpp")):
        if path.is_file() and path.suffix in (".h", ".cpp", ".txt"):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _gxx(project: Path, args: list, target: Path) -> float:
    tmp = target.with_name(target.name + ".part")
    start = time.perf_counter()
    done = subprocess.run([CXX, *CXXFLAGS, *args, "-o", str(tmp)], cwd=project, capture_output=True, text=True)
    if done.returncode:
        raise CsimError(f"g++ {' '.join(args)} in {project} failed:\n{done.stderr[-4000:]}")
    tmp.rename(target)
    return time.perf_counter() - start


def build(project: Path, name: str) -> dict:
    """Compile the firmware once and link it into the emulation library and the test bench.

    Cached by source content under build/.  The weights are read at run time from an absolute
    WEIGHTS_DIR: build/ is local output, never part of the movable project.
    """
    project = Path(project).resolve()  # g++ runs inside the project: outputs need absolute paths
    weights = f'-DWEIGHTS_DIR="{project / "firmware" / "weights"}"'
    out = project / "build" / _source_hash(project, CXXFLAGS + [weights])
    out.mkdir(parents=True, exist_ok=True)
    timings = []
    steps = [(out / "firmware.o", ["-fPIC", weights, "-c", f"firmware/{name}.cpp"]),
             (out / "bridge.o", ["-fPIC", weights, "-c", f"{name}_bridge.cpp"]),
             (out / "test.o", [weights, "-c", f"{name}_test.cpp"])]
    links = [(out / f"lib{name}.so", ["-shared", str(out / "firmware.o"), str(out / "bridge.o")]),
             (out / f"{name}_test", [str(out / "firmware.o"), str(out / "test.o")])]
    for target, args in steps + links:
        if not target.exists():
            timings.append({"target": target.name, "seconds": _gxx(project, args, target)})
    return {"library": out / f"lib{name}.so", "testbench": out / f"{name}_test", "steps": timings,
            "compile_s": sum(t["seconds"] for t in timings)}


def run_emulation(project: Path, name: str, images: np.ndarray, n_out: int) -> dict:
    built = build(project, name)
    lib = ctypes.CDLL(str(built["library"].resolve()))
    fn = getattr(lib, f"{name}_double")
    fn.restype = None
    outputs = np.zeros((len(images), n_out))
    start = time.perf_counter()
    for i, image in enumerate(images):
        x = np.ascontiguousarray(image.ravel(), dtype=np.float64)
        y = np.zeros(n_out)
        fn(x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), y.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
        outputs[i] = y
    return {"outputs": outputs, "compile_s": built["compile_s"], "run_s": time.perf_counter() - start}


def run_testbench(project: Path, name: str, images: np.ndarray, expected: np.ndarray) -> dict:
    built = build(project, name)
    with tempfile.TemporaryDirectory() as tmp:
        inputs, want, results = (Path(tmp) / f for f in ("in.dat", "expected.dat", "results.log"))
        testbench.write_rows(inputs, images.reshape(len(images), -1))
        testbench.write_rows(want, expected)
        start = time.perf_counter()
        done = subprocess.run([str(built["testbench"].resolve()), str(inputs), str(want), str(results)],
                              cwd=project, capture_output=True, text=True)
        if done.returncode not in (0, 1):
            raise CsimError(f"{built['testbench'].name} failed ({done.returncode}): {done.stderr[-2000:]}")
        return {"outputs": testbench.read_rows(results), "compile_s": built["compile_s"],
                "run_s": time.perf_counter() - start, "log": done.stdout.strip()}


def vendor_tool(backend: str):
    """The first vendor HLS tool of the backend that is on PATH, or None."""
    return next((tool for tool in VENDOR_TOOLS[backend] if shutil.which(tool)), None)


def _vendor_command(tool: str, project: Path) -> list:
    opts = {"reset": 1, "csim": 1, "synth": 0, "cosim": 0, "validation": 0, "export": 0, "vsynth": 0, "fifo_opt": 0}
    if tool == "vivado_hls":  # its build_prj.tcl reads the options from argv
        return [tool, "-f", "build_prj.tcl", " ".join(f"{k}={v}" for k, v in opts.items())]
    # the Vitis build_prj.tcl sources build_opt.tcl; run_vendor restores the project's own afterwards
    (project / "build_opt.tcl").write_text("array set opt {\n" + "".join(f"    {k} {v}\n" for k, v in opts.items()) + "}\n")
    return [tool, "--tcl", "build_prj.tcl", "--mode", "hls"] if tool == "vitis-run" else [tool, "-f", "build_prj.tcl"]


def run_vendor(project: Path, backend: str, name: str) -> dict:
    """The vendor's own csim of the test bench on tb_data (the inputs written at generation)."""
    tool = vendor_tool(backend)
    if tool is None:
        return {"skipped": f"none of {', '.join(VENDOR_TOOLS[backend])} is on PATH"}
    options = (project / "build_opt.tcl").read_text()
    start = time.perf_counter()
    try:
        done = subprocess.run(_vendor_command(tool, project), cwd=project, capture_output=True, text=True)
    finally:
        (project / "build_opt.tcl").write_text(options)
    # csim runs in <name>_prj/solution1/csim/build, where the test bench writes its tb_data/ log
    logs = [project / f"{name}_prj" / "solution1" / "csim" / "build" / "tb_data" / testbench.RESULTS,
            project / "tb_data" / testbench.RESULTS]
    found = next((log for log in logs if log.exists()), None)
    if done.returncode or found is None:
        raise CsimError(f"{tool} csim failed in {project} ({done.returncode}); no {testbench.RESULTS} in "
                        f"{', '.join(str(l.relative_to(project)) for l in logs)}:\n{done.stdout[-3000:]}")
    return {"tool": tool, "outputs": testbench.read_rows(found), "run_s": time.perf_counter() - start}


def compare(outputs: np.ndarray, expected: np.ndarray, lsb: float, labels=None) -> dict:
    diff = np.abs(outputs.reshape(expected.shape) - expected) / lsb
    result = {"samples": int(len(expected)), "bit_exact_fraction": float(np.mean(diff == 0)),
              "max_diff_lsb": float(diff.max()) if diff.size else 0.0,
              "top1_agreement": float(np.mean(outputs.reshape(expected.shape).argmax(1) == expected.argmax(1)))}
    if labels is not None:
        result["accuracy"] = float(np.mean(outputs.reshape(expected.shape).argmax(1) == labels))
    return result


def liveness(model, trace: dict) -> dict:
    """Per quantized layer, the fraction of outputs (in a reference trace) neither zero nor saturated."""
    from qmodels.fixed import from_qkeras

    alive = {}
    for layer in model.layers:
        if type(layer).__name__ != "QActivation":
            continue
        fmt, values = from_qkeras(layer.quantizer), trace[layer.name]
        saturated = (values >= fmt.max) | ((values <= fmt.min) if fmt.signed else False)
        alive[layer.name] = float(np.mean((values != 0) & ~saturated))
    return alive


def inputs_for(project: Path, resolved: dict, model, samples) -> tuple:
    """tb_data's images and labels, extended with more (seeded or validation) images when asked."""
    images, _, labels = testbench.read_tb_data(project)
    shape = tuple(resolved["software_model"]["input_shape"])
    images = images.reshape(-1, *shape)
    if samples is None or samples <= len(images):
        n = len(images) if samples is None else samples
        return images[:n], (labels[:n] if labels is not None else None)
    build = resolved["build"]
    if build.get("weights"):
        from qmodels.data import sample_images

        if not Path(build["weights"]).exists():
            raise CsimError(f"{samples} images need the checkpoint {build['weights']} (relative to where "
                            f"'generate' ran), which is not here; tb_data has {len(images)}")
        more, more_labels, _ = sample_images(build["weights"], samples)
        return np.asarray(more, np.float64), more_labels
    from qmodels.reference import synthetic_images

    return synthetic_images(samples, shape, seed=build["seed"] + 1), None


def first_divergence(project: Path, resolved: dict, model, images, ref: dict) -> str:
    """The first layer whose C++ output differs from the reference (hls4ml trace of a fresh conversion)."""
    from hw.config import BuildConfig
    from hw.hls.convert import convert

    cfg = BuildConfig.from_dict(resolved["build"])
    with tempfile.TemporaryDirectory() as tmp:
        hls_model = convert(model, cfg, Path(tmp) / "trace", resolved["project_name"], trace=True)
        _, trace = hls_model.trace(np.ascontiguousarray(images[:2], dtype=np.float64))
    for layer in model.layers:
        want = ref[layer.name][:2]
        if layer.name in trace and not np.array_equal(trace[layer.name].reshape(want.shape), want):
            return layer.name
    return "none found by trace (the difference is outside traced layers)"


def csim(project, samples=None, modes=MODES) -> dict:
    """Run the chosen modes and compare each with the exact reference; the report is JSON-ready."""
    from qmodels.build import load_model
    from qmodels.reference import Reference

    project = Path(project).resolve()
    resolved = load_resolved(project)
    name, lsb = resolved["project_name"], resolved["testbench"]["output_lsb"]
    model = load_model(project / KERAS_FILE)
    images, labels = inputs_for(project, resolved, model, samples)
    ref = Reference(model).run(images, trace=True)
    expected = ref[model.layers[-1].name].reshape(len(images), -1)
    report = {"project": str(project), "samples": int(len(images)), "modes": {},
              "weights": resolved["software_model"]["weights"], "output_lsb": lsb}
    if labels is not None:
        report["software_accuracy"] = float(np.mean(expected.argmax(1) == labels))
    for mode in modes:
        if mode == "emulation":
            run = run_emulation(project, name, images, expected.shape[1])
        elif mode == "testbench":
            run = run_testbench(project, name, images, expected)
        else:
            run = run_vendor(project, resolved["build"]["backend"], name)
            if "outputs" in run:  # the vendor run uses tb_data as written at generation
                tb_images, tb_expected, tb_labels = testbench.read_tb_data(project)
                run.update(compare(run.pop("outputs"), tb_expected, lsb, tb_labels))
        if "outputs" in run:
            run.update(compare(run.pop("outputs"), expected, lsb, labels))
        report["modes"][mode] = run
    ran = [r for r in report["modes"].values() if "bit_exact_fraction" in r]
    if not ran:
        raise CsimError("no C simulation mode ran")
    for key in ("bit_exact_fraction", "top1_agreement"):
        report[key] = min(r[key] for r in ran)
    report["max_diff_lsb"] = max(r["max_diff_lsb"] for r in ran)
    report["exact"] = report["bit_exact_fraction"] == 1.0
    report["liveness"] = liveness(model, ref)
    if not report["exact"]:
        report["first_divergent_layer"] = first_divergence(project, resolved, model, images, ref)
    return report


def format_report(report: dict) -> str:
    lines = [f"C simulation of {report['project']}: {report['samples']} images, {report['weights']} weights"]
    for mode, run in report["modes"].items():
        if "skipped" in run:
            lines.append(f"  {mode:<10} skipped: {run['skipped']}")
            continue
        acc = f", accuracy {run['accuracy']:.3f}" if "accuracy" in run else ""
        lines.append(f"  {mode:<10} bit-exact {run['bit_exact_fraction']:.4f}, max diff {run['max_diff_lsb']:g} LSB, "
                     f"top-1 agreement {run['top1_agreement']:.3f}{acc}  "
                     f"(compile {run.get('compile_s', 0):.1f} s, run {run['run_s']:.2f} s)")
    if "software_accuracy" in report:
        lines.append(f"  software model accuracy {report['software_accuracy']:.3f}")
    live = report["liveness"]
    low = min(live, key=live.get)
    lines.append(f"  live outputs (neither zero nor saturated): median {np.median(list(live.values())):.2f}, "
                 f"lowest {live[low]:.2f} at {low}")
    lines.append("  EXACT" if report["exact"] else f"  NOT EXACT: first divergent layer {report['first_divergent_layer']}")
    return "\n".join(lines)


def _csim_cli(args) -> int:
    import json

    report = csim(args.project, samples=args.samples, modes=args.modes or MODES)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0 if report["exact"] else 1


def add_cli(subparsers) -> None:
    """Register the 'csim' subcommand."""
    p = subparsers.add_parser("csim", help="C-simulate a project and compare it bit for bit with the software model")
    p.add_argument("project")
    p.add_argument("--samples", type=int, help="images to run (default: the project's tb_data)")
    p.add_argument("--modes", nargs="+", choices=MODES)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_csim_cli)
