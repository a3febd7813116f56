"""C simulation of a generated project, compared bit for bit with both software models.

Three ways to run the same C++:
  emulation  hls4ml's bridge compiled with g++ into a shared library, called through ctypes;
  testbench  the project's own test bench compiled with plain g++ and run on its inputs;
  vendor     the vendor's csim (vitis_hls / vivado_hls) when it is on PATH, else skipped.
Each is compared with the exact float64 reference (qmodels.reference) and with the QKeras model
as Keras runs it (float32, hw.sim.software).  Emulation and test bench run the images in
``jobs`` parallel processes (hw.sim.parallel).  Before compiling, the weights csim loads
(.txt) are checked against the ones synthesis reads (.h initialisers, hw.sim.firmware).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hw.hls import testbench
from hw.hls.convert import load_resolved
from hw.sim import parallel
from hw.sim.firmware import check_weights
from hw.sim.toolchain import BASE_FLAGS, CXX, CXXFLAGS, OPT, CsimError, gxx, source_hash  # noqa: F401 (re-exported)

MODES = ("emulation", "testbench", "vendor")
VENDOR_TOOLS = {"vitis": ("vitis-run", "vitis_hls"), "vivado": ("vivado_hls",)}


def build(project: Path, name: str, opt: str | None = None, targets=("library", "testbench")) -> dict:
    """Compile the firmware once and link it into the emulation library and/or the test bench.

    Cached by source content and flags under build/.  The weights are read at run time from an
    absolute WEIGHTS_DIR: build/ is local output, never part of the movable project.  The .txt
    weights compiled in must equal the .h initialisers synthesis reads (checked first).
    """
    project = Path(project).resolve()  # g++ runs inside the project: outputs need absolute paths
    check_weights(project)
    flags = [opt or OPT, *BASE_FLAGS]
    weights = f'-DWEIGHTS_DIR="{project / "firmware" / "weights"}"'
    out = project / "build" / source_hash(project, flags + [weights])
    out.mkdir(parents=True, exist_ok=True)
    timings = []
    steps = [(out / "firmware.o", ["-fPIC", weights, "-c", f"firmware/{name}.cpp"])]
    if "library" in targets:  # a sweep case or a test-bench run never loads the library: skip its two steps
        steps += [(out / "bridge.o", ["-fPIC", weights, "-c", f"{name}_bridge.cpp"]),
                  (out / f"lib{name}.so", ["-shared", str(out / "firmware.o"), str(out / "bridge.o")])]
    if "testbench" in targets:
        steps += [(out / "test.o", [weights, "-c", f"{name}_test.cpp"]),
                  (out / f"{name}_test", [str(out / "firmware.o"), str(out / "test.o")])]
    for target, args in steps:
        if not target.exists():
            timings.append({"target": target.name, "seconds": gxx(project, flags, args, target)})
    return {"library": out / f"lib{name}.so", "testbench": out / f"{name}_test", "steps": timings,
            "compile_s": sum(t["seconds"] for t in timings), "flags": " ".join(flags), "dir": out}


def run_emulation(project: Path, name: str, images: np.ndarray, n_out: int, jobs: int = 1,
                  opt: str | None = None, scheduler: str | None = None) -> dict:
    built = build(project, name, opt, targets=("library",))
    start = time.perf_counter()
    outputs = parallel.emulate_parallel(built["library"], f"{name}_double", images, n_out, jobs, scheduler)
    return {"outputs": outputs, "compile_s": built["compile_s"], "run_s": time.perf_counter() - start,
            "jobs": min(jobs, len(images)), "flags": built["flags"]}


def run_testbench(project: Path, name: str, images: np.ndarray, expected: np.ndarray, jobs: int = 1,
                  opt: str | None = None, scheduler: str | None = None) -> dict:
    built = build(project, name, opt, targets=("testbench",))
    parts = parallel.slices(len(images), jobs)
    with tempfile.TemporaryDirectory() as tmp:
        files = [[Path(tmp) / f"{k}.{f}" for k in range(len(parts))] for f in ("in.dat", "expected.dat", "log")]
        for k, (a, b) in enumerate(parts):
            testbench.write_rows(files[0][k], images[a:b].reshape(b - a, -1))
            testbench.write_rows(files[1][k], expected[a:b])
        start = time.perf_counter()
        logs = parallel.testbench_parallel(built["testbench"].resolve(), project, *files, scheduler=scheduler)
        run_s = time.perf_counter() - start
        outputs = np.concatenate([testbench.read_rows(f) for f in files[2]])
    return {"outputs": outputs, "compile_s": built["compile_s"], "run_s": run_s, "log": "\n".join(logs),
            "jobs": len(parts), "flags": built["flags"]}


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
    """Bit-exact fraction, largest difference in LSBs, top-1 agreement (None with one class:
    an argmax over one output always agrees) and accuracy when labels are known."""
    got = outputs.reshape(expected.shape)
    diff = np.abs(got - expected) / lsb
    one_class = expected.ndim < 2 or expected.shape[1] < 2
    result = {"samples": int(len(expected)), "bit_exact_fraction": float(np.mean(diff == 0)),
              "max_diff_lsb": float(diff.max()) if diff.size else 0.0,
              "top1_agreement": None if one_class else float(np.mean(got.argmax(1) == expected.argmax(1)))}
    if labels is not None and not one_class:
        result["accuracy"] = float(np.mean(got.argmax(1) == labels))
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


def _checkpoint(resolved: dict, option: str) -> str:
    weights = resolved["build"].get("weights")
    if not weights:
        raise CsimError(f"{option} reads a checkpoint's dataset, but this project has seeded weights "
                        "(generated without --weights); use --samples N for more seeded images")
    if not Path(weights).exists():
        raise CsimError(f"{option} needs the checkpoint {weights} (relative to where 'generate' ran), "
                        "which is not here")
    return weights


def inputs_for(project: Path, resolved: dict, model, samples) -> tuple:
    """tb_data's images and labels, extended with more (seeded or validation) images when asked."""
    images, _, labels = testbench.read_tb_data(project)
    shape = tuple(resolved["software_model"]["input_shape"])
    images = testbench.as_images(images, shape, project)
    if samples is None or samples <= len(images):
        n = len(images) if samples is None else samples
        return images[:n], (labels[:n] if labels is not None else None)
    build = resolved["build"]
    if build.get("weights"):
        from qmodels.data import sample_images

        more, more_labels, _ = sample_images(_checkpoint(resolved, f"--samples {samples}"), samples)
        return np.asarray(more, np.float64), more_labels
    from qmodels.reference import synthetic_images

    return synthetic_images(samples, shape, seed=build["seed"] + 1), None


def dataset_inputs(resolved: dict, count) -> tuple:
    """The first ``count`` images (or 'all') of the checkpoint's validation split, in dataset order."""
    from qmodels.data import dataset_images

    n = None if count == "all" else int(count)
    images, labels, _ = dataset_images(_checkpoint(resolved, f"--images {count}"), "val", n)
    if not len(images):
        raise CsimError(f"--images {count}: the checkpoint's validation split has no images")
    return np.asarray(images, np.float64), labels


@contextlib.contextmanager
def stdout_to_stderr():
    """Send everything written to stdout (Python's and the C library's, e.g. hls4ml's compile
    messages) to stderr, so that a JSON report is the only thing on stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def first_divergence(project: Path, resolved: dict, model, images, ref: dict) -> str:
    """The first layer whose C++ output differs from the reference (hls4ml trace of a fresh conversion)."""
    from hw.config import BuildConfig
    from hw.hls.convert import convert
    from hw.hls.precision import derive

    cfg = BuildConfig.from_dict(resolved["build"])
    with tempfile.TemporaryDirectory() as tmp:
        hls_model = convert(model, cfg, Path(tmp) / "trace", resolved["project_name"], trace=True)
        _, trace = hls_model.trace(np.ascontiguousarray(images[:2], dtype=np.float64))
    # a fused producer writes its activation's format: its trace is the activation's output
    traced_as = {producer: act for act, producer in resolved.get("fused_activations", {}).get("fused", {}).items()}
    types = derive(model)
    for layer in model.layers:
        want = ref[traced_as.get(layer.name, layer.name)][:2]
        if type(layer).__name__ == "GlobalAveragePooling2D" and layer.name not in traced_as:
            # an unfused mean is hls4ml's quotient, truncated (toward zero) at its type's LSB
            frac = types[layer.name]["result"][0].frac
            want = np.trunc(want * 2.0 ** frac) / 2.0 ** frac
        if layer.name in trace and not np.array_equal(trace[layer.name].reshape(want.shape), want):
            return layer.name
    return ("none found by trace of a fresh conversion of the model (the difference is in the project's "
            "files, not in what generation makes of the model: edited weights or C++?)")


def _batch_size(model) -> int:
    """Images per reference batch: the traced reference keeps every layer's float64 output."""
    values = sum(int(np.prod(layer.output_shape[1:])) for layer in model.layers
                 if not isinstance(layer.output_shape, list))
    return int(max(1, min(64, 4e8 // (8 * max(values, 1)))))


def software(model, images: np.ndarray) -> dict:
    """Both software models on the images, in batches: the exact reference (with the liveness of
    every quantized layer) and Keras' float32 predict.  The trace of the first batch is kept."""
    from hw.sim.software import keras_outputs
    from qmodels.reference import Reference

    reference, last = Reference(model), model.layers[-1].name
    expected, keras, alive, first = [], [], {}, None
    step = _batch_size(model)
    for start in range(0, len(images), step):
        batch = images[start:start + step]
        trace = reference.run(batch, trace=True)
        expected.append(trace[last].reshape(len(batch), -1))
        keras.append(keras_outputs(model, batch))
        for name, fraction in liveness(model, trace).items():
            alive[name] = alive.get(name, 0.0) + fraction * len(batch) / len(images)
        first = trace if first is None else first
    return {"expected": np.concatenate(expected), "keras": np.concatenate(keras), "liveness": alive,
            "first_trace": first}


def _run_mode(mode: str, project: Path, resolved: dict, images, expected, jobs: int, scheduler=None) -> dict:
    name = resolved["project_name"]
    if mode == "emulation":
        return run_emulation(project, name, images, expected.shape[1], jobs, scheduler=scheduler)
    if mode == "testbench":
        return run_testbench(project, name, images, expected, jobs, scheduler=scheduler)
    return run_vendor(project, resolved["build"]["backend"], name)


def csim(project, samples=None, modes=MODES, jobs: int = 1, images=None, scheduler=None) -> dict:
    """Run the chosen modes and compare each with both software models; the report is JSON-ready.

    ``samples``: tb_data's images, extended by seeded or validation images; ``images``: 'all' or
    N images of the checkpoint's validation split instead.  ``jobs``: parallel processes (slices as
    Dask tasks on the cluster at ``scheduler``, hw.cluster)."""
    from hw.hls.convert import load_project_model  # names a damaged keras/model.h5

    if samples is not None and images is not None:
        raise ValueError("--samples and --images: give one or the other, not both")  # bad input: exit 2
    project = Path(project).resolve()
    resolved = load_resolved(project)
    lsb = resolved["testbench"]["output_lsb"]
    model = load_project_model(project)
    if images is not None:
        images, labels = dataset_inputs(resolved, images)
    else:
        images, labels = inputs_for(project, resolved, model, samples)
    if not len(images):
        raise CsimError("no images to simulate (--samples must be at least 1)")
    sw = software(model, images)
    expected = sw["expected"]
    report = {"project": str(project), "samples": int(len(images)), "modes": {}, "jobs": int(jobs),
              "weights": resolved["software_model"]["weights"], "output_lsb": lsb,
              "firmware_weights": check_weights(project)}
    if labels is not None and expected.shape[1] > 1:
        report["software_accuracy"] = float(np.mean(expected.argmax(1) == labels))
    for mode in modes:
        run = _run_mode(mode, project, resolved, images, expected, jobs, scheduler)
        if "outputs" in run and mode == "vendor":  # the vendor run uses tb_data as written at generation
            _, tb_expected, tb_labels = testbench.read_tb_data(project)
            run.update(compare(run.pop("outputs"), tb_expected, lsb, tb_labels))
        elif "outputs" in run:
            outputs = run.pop("outputs")
            run.update(compare(outputs, expected, lsb, labels))
            run["keras"] = compare(outputs, sw["keras"], lsb)
            run["images_per_s"] = len(images) / run["run_s"] if run["run_s"] > 0 else None
        report["modes"][mode] = run
    _summarise(report, sw["liveness"])
    if not report["exact"]:
        with stdout_to_stderr():  # hls4ml prints while it recompiles with tracing
            report["first_divergent_layer"] = first_divergence(project, resolved, model, images, sw["first_trace"])
    # the two software models disagree: say where Keras leaves the exact values (a C++ that differs
    # from both is reported above, by its first divergent layer)
    report["keras_equals_reference"] = bool(np.array_equal(sw["keras"], expected))
    if not report["keras_equals_reference"]:
        report["keras_divergence"] = _keras_divergence(model, images, expected, sw)
    return report


def _summarise(report: dict, alive: dict) -> None:
    ran = [r for r in report["modes"].values() if "bit_exact_fraction" in r]
    if not ran:
        raise CsimError("no C simulation mode ran")
    report["bit_exact_fraction"] = min(r["bit_exact_fraction"] for r in ran)
    report["max_diff_lsb"] = max(r["max_diff_lsb"] for r in ran)
    agreements = [r["top1_agreement"] for r in ran if r["top1_agreement"] is not None]
    report["top1_agreement"] = min(agreements) if agreements else None
    versus_keras = [r["keras"] for r in ran if "keras" in r]
    if versus_keras:
        report["keras_bit_exact_fraction"] = min(k["bit_exact_fraction"] for k in versus_keras)
        report["keras_max_diff_lsb"] = max(k["max_diff_lsb"] for k in versus_keras)
        report["keras_exact"] = report["keras_bit_exact_fraction"] == 1.0
    rates = [r["images_per_s"] for r in ran if r.get("images_per_s")]
    if rates:
        report["images_per_s"] = max(rates)
    report["exact"] = report["bit_exact_fraction"] == 1.0
    report["liveness"] = alive


def _keras_divergence(model, images, expected, sw) -> dict:
    """Where Keras leaves the exact values, traced on (up to 4 of) the images it gets wrong."""
    from hw.sim.software import keras_divergence

    wrong = np.flatnonzero(np.any(sw["keras"] != expected, axis=1))
    chosen = wrong[wrong < len(next(iter(sw["first_trace"].values())))][:4]
    if not len(chosen):  # the differing images are beyond the traced first batch
        chosen = wrong[:1]
        from qmodels.reference import Reference
        trace = Reference(model).run(images[chosen], trace=True)
    else:
        trace = {k: v[chosen] for k, v in sw["first_trace"].items()}
    return keras_divergence(model, images[chosen], trace)
