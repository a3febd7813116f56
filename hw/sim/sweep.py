"""``attendnets sweep``: random valid networks and formats, each generated, compiled and compared
bit for bit with both software models (the exact reference and Keras' float32 predict).

Cases come from hw.sim.sweep_cases.random_case(seed, index), so a sweep is reproducible and
resumable: results are appended to OUT/results-<worker>.jsonl and a second run with the same
OUT skips the cases already there.  ``--jobs J`` long-lived worker processes (TensorFlow loaded
once each) take cases index = worker, worker + J, ...; each case compiles C++, so a case costs
tens of seconds.  With ``--scheduler ADDRESS`` the cases are Dask tasks on that cluster instead
(hw.cluster: its workers must see OUT) and this process appends their rows to
OUT/results-dask.jsonl.  A case that does not pass keeps its folder: spec.yaml, the project, and
repro.sh with the two commands that reproduce it; a passing case keeps only spec.yaml.

Outcome of a case: ``exact`` (C++ == reference == Keras on every output), ``keras-differs``
(C++ == reference, Keras' float32 differs first at a layer float32 explains: a sum wider than 24
bits or a division by a non-power of two), ``keras-unexplained`` (C++ == reference, Keras differs
where float32 does not explain it: a bug in a software model), ``mismatch`` (C++ !=
reference), ``generate-error`` / ``csim-error`` (the spec validated but the flow failed).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from hw.sim import sweep_cases

OUTCOMES = ("exact", "keras-differs", "keras-unexplained", "mismatch", "generate-error", "csim-error")
LIVE = 0.05  # a case whose least-live quantized layer has fewer live outputs counts as collapsed


def _repro(case_dir: Path, cfg) -> str:
    """The commands that rebuild a case: its whole recipe is written beside it (build.yaml)."""
    (case_dir / "build.yaml").write_text(cfg.to_yaml())
    project = case_dir / "project"
    return (f"attendnets generate --config {case_dir / 'build.yaml'} --out {project} --force\n"
            f"attendnets csim {project} --modes testbench\n")


def case_config(case: dict, spec: Path, index: int):
    """The case's BuildConfig, its multiplier policy resolved per layer on the model."""
    from hw.boards import load_board
    from hw.config import BuildConfig, LayerSettings
    from hw.hls.precision import derive
    from qmodels.build import build_model

    build = dict(case["build"])
    policy, folds = build.pop("multipliers", "lut"), build.pop("folds", False)
    cfg = BuildConfig(model=str(spec), seed=index % 2 ** 32, samples=4, **{"board": "zcu104", **build})
    if policy == "lut" and not folds:
        return cfg
    model = build_model(str(spec), seed=cfg.seed, calibrate=False)
    chosen = {} if policy == "lut" else sweep_cases.multipliers_for(model, policy, load_board(cfg.board).part,
                                                                    derive(model), case["seed"], index)
    cfg.layers = {name: LayerSettings(multiplier=m) for name, m in chosen.items()}
    folded = sweep_cases.folds_for(model, chosen, case["seed"], index) if folds else {}
    for name, (reuse, fold, storage) in sweep_cases.loaded_storages_for(folded, cfg.io, cfg.board, case["seed"],
                                                                        index).items():
        cfg.layers[name] = LayerSettings(reuse=reuse, strategy="latency", multiplier=chosen.get(name), fold=fold,
                                         storage=None if storage == "registers" else storage)
    gap_folds = sweep_cases.gap_folds_for(model, cfg.io, case["seed"], index) if folds else {}
    for name, fold in sweep_cases.stream_folds_for(model, folded, gap_folds, case["seed"], index).items():
        cfg.layers[name] = LayerSettings(fold=fold)
    return cfg


def _compare(project: Path) -> dict:
    from hw.sim.csim import csim

    report = csim(project, modes=("testbench",), jobs=1)
    live = report["liveness"]
    row = {"max_diff_lsb": report["max_diff_lsb"], "keras_max_diff_lsb": report.get("keras_max_diff_lsb"),
           "min_liveness": min(live.values()) if live else None,
           "least_live_layer": min(live, key=live.get) if live else None}
    loaded = _through_the_weight_frame(project)
    if loaded is not None:
        row["weight_frame_exact"] = loaded
    if not report["exact"]:
        row.update(outcome="mismatch", first_divergent_layer=report["first_divergent_layer"])
    elif loaded is False:
        row.update(outcome="mismatch", first_divergent_layer="the AXI top with its weight frame loaded")
    elif report.get("keras_exact") is False:
        explained = report["keras_divergence"].get("explained", False)
        row.update(outcome="keras-differs" if explained else "keras-unexplained",
                   keras_divergence=report["keras_divergence"])
    else:
        row["outcome"] = "exact"
    return row


def _through_the_weight_frame(project: Path):
    """For a project with run-time weights (URAM), whether the AXI test bench, which loads them from
    the weight frame into arrays that start empty, is bit-exact on tb_data (None: no such weights).
    csim's modes fill those arrays from the weight files, so they prove the network, not the load."""
    from hw.hls.ports import AcceleratorConfig
    from hw.sim.axi import run_testbench

    if AcceleratorConfig.load(project).weights is None:
        return None
    return bool(run_testbench(project)["exact"])


def _stream_folds(project: Path) -> dict:
    """{producer: F} of the streams generation folded (hw/hls/ops/stream_fold.py), as recorded."""
    from qmodels.project_record import ProjectRecord

    layers = ProjectRecord.load(project).to_dict()["layers"]
    return {name: entry["stream_fold"] for name, entry in layers.items() if entry.get("stream_fold")}


def run_case(seed: int, index: int, out: Path) -> dict:
    """Generate, compile and compare one case; the row of results.jsonl."""
    from hw.hls.convert import generate

    case = sweep_cases.random_case(seed, index)
    case_dir = Path(out) / case["name"]
    shutil.rmtree(case_dir, ignore_errors=True)
    case_dir.mkdir(parents=True)
    spec = case_dir / "spec.yaml"
    spec.write_text(yaml.safe_dump(case["spec"], sort_keys=False))
    row = {"index": index, "seed": seed, "name": case["name"], "spec": str(spec), **case["build"],
           "input_shape": case["spec"]["input_shape"], "classes": case["spec"]["classes"],
           "formats": case["spec"].get("quantization", {}),
           "stages": [next(iter(s)) for s in case["spec"]["stages"]]}
    start = time.perf_counter()
    stage, cfg = "generate-error", None
    try:
        cfg = case_config({**case, "seed": seed}, spec, index)
        row["layer_multipliers"] = {name: s.multiplier for name, s in cfg.layers.items() if s.multiplier}
        row["layer_folds"] = {name: [s.reuse, s.fold, s.storage or "registers"] for name, s in cfg.layers.items()
                              if s.fold}
        generate(cfg, case_dir / "project")
        row["stream_folds"] = _stream_folds(case_dir / "project")
        stage = "csim-error"
        row.update(_compare(case_dir / "project"))
    except Exception as err:  # a failing case is a result of the sweep: recorded, counted, reproducible
        row.update(outcome=stage, error=f"{type(err).__name__}: {str(err)[-1500:]}")
    row["seconds"] = time.perf_counter() - start
    if row["outcome"] == "exact":
        shutil.rmtree(case_dir / "project", ignore_errors=True)
    else:
        (case_dir / "repro.sh").write_text(_repro(case_dir, cfg) if cfg is not None else "")
    return row


def result_rows(out: Path):
    """Every row of OUT's results files (a case twice if two runs raced on OUT)."""
    for path in sorted(Path(out).glob("results-*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                yield json.loads(line)


def done_indices(out: Path) -> set:
    return {r["index"] for r in result_rows(out)}


PARENT_ENV = "ATTENDNETS_SWEEP_PARENT"


def worker(seed: int, out: Path, first: int, step: int, cases: int) -> int:
    import tensorflow as tf

    # A sweep killed by a signal cannot stop its workers (no finally runs), and an orphaned worker
    # raced the next run on the same case folders (spurious csim errors, cases done twice): a worker
    # whose sweep is gone stops before its next case.
    parent = int(os.environ.get(PARENT_ENV, os.getppid()))
    skip = done_indices(out)
    with open(Path(out) / f"results-{first}.jsonl", "a") as results:
        for index in range(first, cases, step):
            if index in skip:
                continue
            if os.getppid() != parent:
                return 1
            row = run_case(seed, index, out)
            results.write(json.dumps(row) + "\n")
            results.flush()
            tf.keras.backend.clear_session()
    return 0


def case_task(seed: int, index: int, out: str) -> dict:
    """One case as a Dask task: its row (the worker process keeps TensorFlow loaded between cases)."""
    import tensorflow as tf

    try:
        return run_case(seed, index, Path(out))
    finally:
        tf.keras.backend.clear_session()


def _sweep_on_cluster(seed: int, out: Path, cases: int, scheduler: str, progress) -> None:
    from hw.cluster import dask_client, run_all

    start_done, started = len(done_indices(out)), time.perf_counter()
    todo = sorted(set(range(cases)) - done_indices(out))
    with dask_client(scheduler) as client, open(out / "results-dask.jsonl", "a") as results:
        def save(_, row):
            results.write(json.dumps(row) + "\n")
            results.flush()
            if progress:
                _progress(out, cases, start_done, started, progress)
        run_all(client, case_task, [(seed, index, str(out.resolve())) for index in todo], on_result=save)


def summarise(out: Path, cases: int | None = None) -> dict:
    """Counts over the cases of OUT, each once: a case recorded twice (two runs raced on OUT) counts
    with its worse outcome."""
    rank = {o: i for i, o in enumerate(("mismatch", "keras-unexplained", "csim-error", "generate-error",
                                        "keras-differs", "exact"))}  # worst first
    rows = {}
    for r in result_rows(out):
        if r["index"] not in rows or rank[r["outcome"]] < rank[rows[r["index"]]["outcome"]]:
            rows[r["index"]] = r
    rows = [rows[i] for i in sorted(rows)]
    if cases is not None:
        rows = [r for r in rows if r["index"] < cases]
    counts = {o: sum(r["outcome"] == o for r in rows) for o in OUTCOMES}
    compared = [r for r in rows if r["outcome"] in ("exact", "keras-differs", "keras-unexplained", "mismatch")]
    live = [r["min_liveness"] for r in compared if r.get("min_liveness") is not None]
    return {"cases": len(rows), **counts,
            "mismatches_vs_reference": counts["mismatch"],
            "mismatches_vs_keras": counts["keras-differs"] + counts["keras-unexplained"]
            + sum(r.get("keras_max_diff_lsb") not in (0, 0.0, None) for r in rows if r["outcome"] == "mismatch"),
            "collapsed": sum(v < LIVE for v in live),
            "folded_streams": {"cases": sum(bool(r.get("stream_folds")) for r in compared),
                               "streams": sum(len(r.get("stream_folds") or {}) for r in compared),
                               "exact": sum(bool(r.get("stream_folds")) and r["outcome"] != "mismatch"
                                            for r in compared)},
            "median_min_liveness": float(sorted(live)[len(live) // 2]) if live else None,
            "seconds_per_case": sum(r["seconds"] for r in rows) / len(rows) if rows else None,
            "failing": [{"name": r["name"], "outcome": r["outcome"], "spec": r["spec"],
                         "why": r.get("first_divergent_layer") or (r.get("keras_divergence") or {}).get("layer")
                         or r.get("error", "")[:300]} for r in rows if r["outcome"] != "exact"]}


def format_summary(s: dict, out: Path) -> str:
    lines = [f"Sweep in {out}: {s['cases']} cases",
             f"  exact (C++ == reference == Keras)       {s['exact']}",
             f"  C++ == reference, Keras float32 differs {s['keras-differs']} (explained by float32), "
             f"{s['keras-unexplained']} (unexplained)",
             f"  C++ != reference                         {s['mismatch']}",
             f"  generate failed / csim failed           {s['generate-error']} / {s['csim-error']}",
             f"  mismatches vs reference {s['mismatches_vs_reference']}, vs Keras {s['mismatches_vs_keras']}",
             f"  liveness: median least-live layer {s['median_min_liveness']}, "
             f"collapsed (< {LIVE:.0%} live somewhere) {s['collapsed']}",
             f"  folded streams: {s['folded_streams']['streams']} in {s['folded_streams']['cases']} compared cases, "
             f"{s['folded_streams']['exact']} of those cases exact against the reference"]
    if s["seconds_per_case"]:
        lines.append(f"  {s['seconds_per_case']:.1f} s per case (one worker)")
    lines += [f"  {f['outcome']:<15} {f['name']}: {f['why']}  ({Path(f['spec']).parent / 'repro.sh'})"
              for f in s["failing"][:40]]
    return "\n".join(lines)


def _progress(out: Path, cases: int, start_done: int, started: float, stream) -> None:
    s = summarise(out, cases)
    n, width = s["cases"], 30
    bar = "#" * int(width * n / max(cases, 1))
    rate = (n - start_done) / max(time.perf_counter() - started, 1e-9) * 3600
    print(f"\r[{bar:<{width}}] {n}/{cases} cases, {s['mismatch']} C++ mismatches, {s['keras-differs']} Keras "
          f"(float32), {s['keras-unexplained']} Keras unexplained, "
          f"{s['generate-error'] + s['csim-error']} errors, {rate:.0f} cases/h ", end="", file=stream, flush=True)


def sweep(cases: int, seed: int = 0, jobs: int = 1, out="sweep-out", progress=sys.stderr, scheduler=None) -> dict:
    """Run cases 0..cases-1 of the seeded sweep in ``jobs`` worker processes (or as tasks on the Dask
    cluster at ``scheduler``); the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if scheduler:
        _sweep_on_cluster(seed, out, cases, scheduler, progress)
        if progress:
            print(file=progress)
        return _finish(out, cases)
    with _only_run(out):
        return _sweep_locally(seed, out, cases, jobs, progress)


@contextlib.contextmanager
def _only_run(out: Path):
    """Hold OUT/.sweep.lock for the run: two sweeps on one folder would run the same cases in the
    same case folders at once.  The lock goes with the process, however it ends."""
    import fcntl

    with open(out / ".sweep.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise SweepBusy(f"--out {out}: another sweep is running in it (pid {lock.read().strip() or '?'}); "
                            "wait for it or give another --out") from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield


class SweepBusy(RuntimeError):
    """Another sweep holds the folder (exit 1)."""


def _sweep_locally(seed: int, out: Path, cases: int, jobs: int, progress) -> dict:
    root = Path(__file__).resolve().parents[2]
    start_done, started = len(done_indices(out)), time.perf_counter()
    procs = []
    for k in range(min(jobs, cases)):
        log = open(out / f"worker-{k}.log", "a")
        cmd = [sys.executable, "-m", "hw.sim.sweep", "--worker", str(seed), str(out), str(k), str(jobs), str(cases)]
        procs.append((subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, PARENT_ENV: str(os.getpid())}), log))
    try:
        while any(p.poll() is None for p, _ in procs):
            if progress:
                _progress(out, cases, start_done, started, progress)
            time.sleep(2)
    finally:
        for p, log in procs:
            if p.poll() is None:
                p.terminate()
            p.wait()
            log.close()
    if progress:
        _progress(out, cases, start_done, started, progress)
        print(file=progress)
    failed = [k for k, (p, _) in enumerate(procs) if p.returncode]
    if failed:
        raise RuntimeError(f"sweep workers {failed} failed; see {out}/worker-<k>.log")
    return _finish(out, cases)


def _finish(out: Path, cases: int) -> dict:
    summary = summarise(out, cases)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _sweep_cli(args) -> int:
    summary = sweep(args.cases, args.seed, args.jobs, args.out, progress=None if args.json else sys.stderr,
                    scheduler=args.scheduler)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary, Path(args.out)))
    return 0 if summary["exact"] + summary["keras-differs"] == summary["cases"] else 1


def add_cli(subparsers) -> None:
    """Register the 'sweep' subcommand."""
    from hw.cluster import scheduler_option
    from hw.config import option_type
    from hw.sim import parallel

    p = subparsers.add_parser("sweep", help="random valid networks and formats, each compared bit for bit with both "
                                            "software models",
                              description="Exit status 0 when the C++ equals the exact reference in every case and "
                                          "every difference of Keras' float32 model is explained by float32.")
    p.add_argument("--cases", type=option_type("cases"), default=20, help="cases 0..N-1 (default %(default)s)")
    p.add_argument("--seed", type=option_type("seed"), default=0,
                   help="the sweep's seed, 0..2^32-1 (default %(default)s)")
    p.add_argument("--jobs", type=option_type("jobs"), default=parallel.default_jobs(),
                   help="worker processes (default: every core, %(default)s here)")
    p.add_argument("--out", default="sweep-out", help="results folder; cases already in it are skipped "
                                                      "(default %(default)s)")
    p.add_argument("--scheduler", type=scheduler_option, help="run the cases as tasks on this Dask scheduler's cluster "
                   "(tcp://HOST:PORT; its workers must see --out) instead of --jobs local processes")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_sweep_cli)


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--worker":
        seed, out, first, step, cases = sys.argv[2:]
        sys.exit(worker(int(seed), Path(out), int(first), int(step), int(cases)))
    sys.exit("hw.sim.sweep: run it as 'attendnets sweep'")
