"""Benchmark of the whole flow on a full-size network: generate, g++ compile, C simulation, software.

Each phase runs in its own Python subprocess so that its peak memory is its own: a process's
ru_maxrss is a high-water mark, so measuring phases one after the other inside one process would
report the largest phase for all of them.  The parent reaps every child with os.wait4, which
returns that child's own resource usage (peak RSS, CPU time) and nothing else.

  generate   hw.hls.convert.generate; peak = the generating Python process (TensorFlow included)
  compile    hw.sim.csim.build in a fresh project; peak = the largest g++/cc1plus process
             (RUSAGE_CHILDREN of a process whose only children are the compiler)
  qkeras     model(x) one image at a time, after a warm-up call; peak = that process
  reference  qmodels.reference.Reference (float64 numpy), same process and images
  emulation  the ctypes library, after a warm-up call (which loads the weights); peak = that process;
             with --jobs N > 1 the images are split over N worker processes (hw.sim.parallel), each
             loading the library and its weights inside the timed run
  testbench  the test-bench binary, one launch per repeat and job (it reads its weights at start, counted)

Every figure is measured on the machine that runs this, with whatever else runs on it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[2] / "hls_projects" / "configs"
PHASES = ("generate", "compile", "qkeras", "reference", "emulation", "testbench")
IMAGE_PHASES = ("qkeras", "reference", "emulation", "testbench")


class BenchError(RuntimeError):
    pass


@dataclass
class BenchResult:
    model: str
    board: str
    io: str
    strategy: str
    reuse: int
    input_shape: list
    images: int
    repeat: int
    cpus: int
    jobs: int = 1
    phases: dict = field(default_factory=dict)   # phase -> {seconds, peak_mb, peak_of, images_per_s, ...}
    exact: dict = field(default_factory=dict)    # emulation/testbench -> hw.sim.csim.compare()
    notes: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"measured on this machine ({self.cpus} cores)"

    def to_dict(self) -> dict:
        return {**asdict(self), "label": self.label}


# ------------------------------------------------------------------ configuration
def bench_config(model: str, board: str, io: str):
    """The committed recipe for model x board when there is one (strategy, reuse), else resource/16.

    Resource with reuse 16 is what the 224x224 recipes use; the latency strategy cannot unroll
    their pointwise layers.
    """
    from hw.config import BuildConfig

    recipe = CONFIGS / f"{model.replace('-', '_')}-{board}.yaml"
    if recipe.exists():
        cfg = BuildConfig.load(recipe)
    else:
        cfg = BuildConfig(model=model, board=board, strategy="resource", reuse=16, samples=4)
    cfg.io = io
    cfg.weights = None  # the benchmark is of the full network with seeded weights, trained or not
    return cfg.validate(str(recipe) if recipe.exists() else "bench")


# ------------------------------------------------------------------ child processes
def run_child(phase: str, args: dict, log: Path) -> dict:
    """Run one phase in a fresh Python process; its JSON answer plus wall time and own peak RSS."""
    cmd = [sys.executable, "-m", "hw.sim.bench", "--child", phase, json.dumps(args)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    with open(log, "w") as err, tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=Path(__file__).resolve().parents[2])
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not the parent's total
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        lines = out.read().strip().splitlines()
    if proc.returncode or not lines:
        tail = log.read_text()[-3000:]
        raise BenchError(f"bench phase '{phase}' failed (exit {proc.returncode}); log {log}:\n{tail}")
    answer = json.loads(lines[-1])
    answer.update(process_wall_s=wall, process_peak_mb=usage.ru_maxrss / 1024,
                  process_cpu_s=usage.ru_utime + usage.ru_stime)
    return answer


def _children_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def child_generate(a: dict) -> dict:
    from hw.config import BuildConfig
    from hw.hls.convert import generate, load_resolved

    cfg = BuildConfig.from_dict(a["config"])
    start = time.perf_counter()
    generate(cfg, a["project"])
    seconds = time.perf_counter() - start
    resolved = load_resolved(a["project"])
    return {"seconds": seconds, "name": resolved["project_name"], "lsb": resolved["testbench"]["output_lsb"],
            "input_shape": resolved["software_model"]["input_shape"]}


def child_compile(a: dict) -> dict:
    from hw.sim import csim

    built = csim.build(Path(a["project"]), a["name"])
    return {"seconds": built["compile_s"], "steps": built["steps"], "gxx_peak_mb": _children_peak_mb(),
            "flags": built["flags"]}


def child_software(a: dict) -> dict:
    """QKeras and the float64 reference on the same images; writes images and expected outputs."""
    import numpy as np

    from hw.hls.convert import KERAS_FILE, load_resolved
    from hw.sim.csim import inputs_for
    from qmodels.build import load_model
    from qmodels.reference import Reference

    project, work = Path(a["project"]), Path(a["work"])
    model = load_model(project / KERAS_FILE)
    images, _ = inputs_for(project, load_resolved(project), model, a["images"])
    model(images[:1], training=False)  # warm-up: graph tracing is not per-image work
    qkeras, reference = [], []
    for _ in range(a["repeat"]):
        start = time.perf_counter()
        for image in images:
            model(image[None], training=False)
        qkeras.append(time.perf_counter() - start)
        start = time.perf_counter()
        expected = Reference(model).run(images).reshape(len(images), -1)
        reference.append(time.perf_counter() - start)
    np.save(work / "images.npy", images)
    np.save(work / "expected.npy", expected)
    return {"qkeras_s": qkeras, "reference_s": reference}


def _load_images(a: dict) -> tuple:
    import numpy as np

    work = Path(a["work"])
    return np.load(work / "images.npy"), np.load(work / "expected.npy")


def child_emulation(a: dict) -> dict:
    from hw.sim.csim import compare, run_emulation

    images, expected = _load_images(a)
    project, n_out = Path(a["project"]), expected.shape[1]
    warm = run_emulation(project, a["name"], images[:1], n_out)  # loads the weights from text files
    if warm["compile_s"]:
        raise BenchError("the emulation library was compiled inside the emulation phase; build() cache missed")
    runs = [run_emulation(project, a["name"], images, n_out, a["jobs"]) for _ in range(a["repeat"])]
    return {"run_s": [r["run_s"] for r in runs], "warmup_s": warm["run_s"],
            "exact": compare(runs[-1]["outputs"], expected, a["lsb"])}


def child_testbench(a: dict) -> dict:
    from hw.sim.csim import compare, run_testbench

    images, expected = _load_images(a)
    runs = [run_testbench(Path(a["project"]), a["name"], images, expected, a["jobs"]) for _ in range(a["repeat"])]
    if any(r["compile_s"] for r in runs):
        raise BenchError("the test bench was compiled inside the testbench phase; build() cache missed")
    return {"run_s": [r["run_s"] for r in runs], "binary_peak_mb": _children_peak_mb(),
            "exact": compare(runs[-1]["outputs"], expected, a["lsb"])}


CHILDREN = {"generate": child_generate, "compile": child_compile, "software": child_software,
            "emulation": child_emulation, "testbench": child_testbench}


# ------------------------------------------------------------------ the benchmark
def _rate(images: int, seconds: list) -> tuple:
    """(best seconds, images/s of the best repeat): the least disturbed run on a shared machine."""
    best = min(seconds)
    return best, images / best if best > 0 else float("inf")


def _image_phase(result: BenchResult, phase: str, seconds: list, peak_mb: float, peak_of: str, **extra):
    best, rate = _rate(result.images, seconds)
    result.phases[phase] = {"seconds": best, "all_seconds": seconds, "peak_mb": peak_mb, "peak_of": peak_of,
                            "images_per_s": rate, **extra}


def _ratios(result: BenchResult) -> None:
    base = result.phases.get("qkeras", {}).get("images_per_s")
    for phase in IMAGE_PHASES:
        if phase in result.phases and base:
            result.phases[phase]["ratio_vs_qkeras"] = result.phases[phase]["images_per_s"] / base


def bench(model: str = "attendnet-b", board: str = "zcu104", io: str = "stream", images: int = 4,
          repeat: int = 2, out=None, progress=print, jobs: int = 1) -> BenchResult:
    """Generate, compile and C-simulate ``model`` at its full input size with seeded weights."""
    if images < 1 or repeat < 1 or jobs < 1:
        raise ValueError(f"--images, --repeat and --jobs must be positive, got {images}, {repeat} and {jobs}")
    from qmodels.spec import load_spec

    load_spec(model)  # an unknown model fails here in one line, not in the generate child's traceback
    cfg = bench_config(model, board, io)
    work = Path(out)
    project = work / "project"
    if project.exists() and any(project.iterdir()):
        raise BenchError(f"{project} exists and is not empty: the compile must start from nothing; "
                         "give a new --out")
    work.mkdir(parents=True, exist_ok=True)
    result = BenchResult(cfg.model, cfg.board, cfg.io, cfg.strategy, cfg.reuse, [], images, repeat,
                         os.cpu_count() or 0, min(jobs, images))

    def child(phase, **args):
        progress(f"bench: {phase} ...")
        return run_child(phase, {"project": str(project), "work": str(work), **args}, work / f"{phase}.log")

    gen = child("generate", config=cfg.to_dict())
    result.input_shape = gen["input_shape"]
    result.phases["generate"] = {"seconds": gen["seconds"], "peak_mb": gen["process_peak_mb"],
                                 "peak_of": "generating Python process (incl. TensorFlow)",
                                 "process_wall_s": gen["process_wall_s"], "process_cpu_s": gen["process_cpu_s"]}
    names = {"name": gen["name"], "lsb": gen["lsb"]}
    comp = child("compile", **names)
    result.phases["compile"] = {"seconds": comp["seconds"], "peak_mb": comp["gxx_peak_mb"],
                                "peak_of": "largest g++/cc1plus process", "steps": comp["steps"],
                                "flags": comp["flags"], "cpu_s_all_children": comp["process_cpu_s"]}
    sw = child("software", images=images, repeat=repeat)
    _image_phase(result, "qkeras", sw["qkeras_s"], sw["process_peak_mb"], "Python process (QKeras + reference)")
    _image_phase(result, "reference", sw["reference_s"], sw["process_peak_mb"], "same process as qkeras")
    emu = child("emulation", images=images, repeat=repeat, jobs=jobs, **names)
    _image_phase(result, "emulation", emu["run_s"], emu["process_peak_mb"],
                 "Python process with the library" if result.jobs == 1 else "parent process (workers not counted)",
                 warmup_s=emu["warmup_s"])
    tb = child("testbench", images=images, repeat=repeat, jobs=jobs, **names)
    _image_phase(result, "testbench", tb["run_s"], tb["binary_peak_mb"], "test-bench binary",
                 note="per launch, including reading weights and data files")
    result.exact = {"emulation": emu["exact"], "testbench": tb["exact"]}
    _ratios(result)
    return result


# ------------------------------------------------------------------ report
ROWS = {"generate": "generate (hls4ml + tb_data)", "compile": "compile (g++, firmware+bridge+tb)",
        "qkeras": "QKeras model, 1 image/call", "reference": "float64 reference (numpy)",
        "emulation": "csim emulation (ctypes)", "testbench": "csim test bench (binary)"}


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(r: dict) -> str:
    """The table of a result dict (BenchResult.to_dict()); every figure carries the machine label."""
    head = f"{'phase':<36}{'seconds':>10}{'peak MB':>10}{'images/s':>11}{'ratio vs QKeras':>17}"
    lines = [f"Benchmark of {r['model']} {'x'.join(map(str, r['input_shape']))}, {r['board']}, io_{r['io']}, "
             f"{r['strategy']} reuse {r['reuse']}, seeded weights, {r['images']} images, best of {r['repeat']}, "
             f"C++ images in {r.get('jobs', 1)} parallel process(es), {r['phases'].get('compile', {}).get('flags', '')}",
             f"All figures {r['label']}; other work on the machine makes them noisy.", head, "-" * len(head)]
    for phase in PHASES:
        p = r["phases"].get(phase)
        if p is None:
            continue
        lines.append(f"{ROWS[phase]:<36}{_cell(p.get('seconds'), '.2f'):>10}{_cell(p.get('peak_mb'), '.0f'):>10}"
                     f"{_cell(p.get('images_per_s'), '.3f'):>11}{_cell(p.get('ratio_vs_qkeras'), '.4f'):>17}")
    lines.append("peak MB: " + "; ".join(f"{phase}: {p['peak_of']}" for phase, p in r["phases"].items()))
    for mode, ex in r["exact"].items():
        verdict = "EXACT" if ex["bit_exact_fraction"] == 1.0 else "NOT EXACT"
        lines.append(f"{mode}: {verdict}, bit-exact fraction {ex['bit_exact_fraction']:.4f}, "
                     f"max diff {ex['max_diff_lsb']:g} LSB, top-1 agreement {ex['top1_agreement']:.3f} "
                     f"on {ex['samples']} images")
    lines += [f"note: {n}" for n in r.get("notes", [])]
    return "\n".join(lines)


def _bench_cli(args) -> int:
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="attendnets-bench-"))
    quiet = (lambda *_: None) if args.json else (lambda msg: print(msg, file=sys.stderr))
    try:
        result = bench(args.model, args.board, args.io, args.images, args.repeat, out, progress=quiet, jobs=args.jobs)
    except BenchError as err:
        print(f"attendnets bench: error: {err}", file=sys.stderr)
        return 2
    finally:
        if args.keep or args.out:
            print(f"bench: work folder kept: {out}", file=sys.stderr)
        else:
            shutil.rmtree(out, ignore_errors=True)
    r = result.to_dict()
    print(json.dumps(r, indent=2) if args.json else format_table(r))
    return 0 if all(ex["bit_exact_fraction"] == 1.0 for ex in r["exact"].values()) else 1


def add_cli(subparsers) -> None:
    """Register the 'bench' subcommand on an argparse subparsers object."""
    from hw.boards import board_names
    from hw.config import IO_TYPES, option_type
    from hw.sim import parallel

    p = subparsers.add_parser("bench", help="time generate, g++ compile and C simulation against QKeras")
    p.add_argument("model", nargs="?", default="attendnet-b", help="built-in model name (default %(default)s)")
    p.add_argument("--board", default="zcu104", choices=board_names(), help="default %(default)s")
    p.add_argument("--io", default="stream", choices=IO_TYPES, help="default %(default)s")
    p.add_argument("--images", type=option_type("images"), default=4, metavar="N",
                   help="images per run (default %(default)s)")
    p.add_argument("--repeat", type=option_type("repeat"), default=2,
                   help="timed runs per image phase, best reported (default 2)")
    p.add_argument("--jobs", type=option_type("jobs"), default=parallel.default_jobs(),
                   help="parallel processes for the C++ images (default: every core, %(default)s here)")
    p.add_argument("--out", metavar="DIR", help="work folder, kept (default: a temporary folder, removed)")
    p.add_argument("--keep", action="store_true", help="keep the temporary work folder and print its path")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of the table")
    p.set_defaults(func=_bench_cli)


def _child_main(argv) -> int:
    phase, args = argv[0], json.loads(argv[1])
    if phase not in CHILDREN:
        raise BenchError(f"unknown bench phase {phase!r}")
    print(json.dumps(CHILDREN[phase](args)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2:]))
    sys.exit("hw.sim.bench: run it as 'attendnets bench'")
