"""Images in parallel processes: one C++ instance per process, the images split between them.

A C simulation of one image is single-threaded and independent of the others, so N processes
give close to N times the images per second on N free cores.  Each process loads the emulation
library (or runs the test-bench binary) on its own slice; the weights are read once per process.

Emulation workers are ``python -m hw.sim.parallel LIB FUNCTION IN.npy OUT.npy N_OUT``: a fresh
interpreter with numpy and ctypes only (no TensorFlow), so start-up costs a fraction of a second.
With a Dask ``scheduler`` (hw.cluster) each slice is a task instead: the images and expected
outputs travel with the task, and the task starts the same worker (or test bench) on the Dask
worker's machine, a fresh process each time, so a rebuilt library is never served stale.  The
project's compiled files must be visible there at the same path.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


class ParallelError(RuntimeError):
    pass


def default_jobs() -> int:
    """Every core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def slices(count: int, jobs: int) -> list:
    """Contiguous index ranges, one per job, as even as possible (no empty ones)."""
    jobs = max(1, min(int(jobs), count))
    bounds = np.linspace(0, count, jobs + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def emulate(library: Path, function: str, images: np.ndarray, n_out: int) -> np.ndarray:
    """The emulation library's outputs for images, in this process."""
    lib = ctypes.CDLL(str(Path(library).resolve()))
    fn = getattr(lib, function)
    fn.restype = None
    outputs = np.zeros((len(images), n_out))
    pointer = ctypes.POINTER(ctypes.c_double)
    for i, image in enumerate(images):
        x = np.ascontiguousarray(image.ravel(), dtype=np.float64)
        y = np.zeros(n_out)
        fn(x.ctypes.data_as(pointer), y.ctypes.data_as(pointer))
        outputs[i] = y
    return outputs


def _wait_all(procs: list, what: str) -> None:
    failed = []
    for proc, log in procs:
        if proc.wait():
            failed.append(f"{what} exited with {proc.returncode}: {Path(log).read_text()[-1500:]}")
    if failed:
        raise ParallelError("; ".join(failed))


def emulate_parallel(library: Path, function: str, images: np.ndarray, n_out: int, jobs: int,
                     scheduler: "str | None" = None) -> np.ndarray:
    """emulate() with the images split over ``jobs`` worker processes (Dask tasks with a ``scheduler``)."""
    parts = slices(len(images), jobs)
    if scheduler:
        calls = [(str(Path(library).resolve()), function, np.ascontiguousarray(images[a:b], np.float64), n_out)
                 for a, b in parts]
        return np.concatenate(_on_cluster(scheduler, _emulate_task, calls))
    if len(parts) <= 1:
        return emulate(library, function, images, n_out)
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="attendnets-jobs-") as tmp:
        procs = []
        for k, (a, b) in enumerate(parts):
            src, dst, log = (Path(tmp) / f"{k}.{ext}" for ext in ("in.npy", "out.npy", "log"))
            np.save(src, np.ascontiguousarray(images[a:b], np.float64))
            with open(log, "w") as err:
                cmd = [sys.executable, "-m", "hw.sim.parallel", str(library), function, str(src), str(dst), str(n_out)]
                procs.append((subprocess.Popen(cmd, cwd=root, stdout=err, stderr=subprocess.STDOUT), log))
        _wait_all(procs, "an emulation worker")
        return np.concatenate([np.load(Path(tmp) / f"{k}.out.npy") for k in range(len(parts))])


def testbench_parallel(binary: Path, project: Path, inputs: list, expected: list, results: list,
                       scheduler: "str | None" = None) -> list:
    """Run the test-bench binary once per (inputs, expected, results) file triple, all at once (as Dask
    tasks with a ``scheduler``); returns each run's stdout.  Exit 1 (a mismatch) is an answer, not a failure."""
    if scheduler:
        calls = [(str(Path(binary).resolve()), str(Path(project).resolve()), Path(i).read_bytes(), Path(e).read_bytes())
                 for i, e in zip(inputs, expected)]
        answers = _on_cluster(scheduler, _testbench_task, calls)
        for (rows, _), path in zip(answers, results):
            Path(path).write_bytes(rows)
        return [log for _, log in answers]
    procs = [subprocess.Popen([str(binary), str(i), str(e), str(r)], cwd=project, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i, e, r in zip(inputs, expected, results)]
    logs = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode not in (0, 1):
            raise ParallelError(f"{Path(binary).name} failed ({proc.returncode}): {err[-2000:]}")
        logs.append(out.strip())
    return logs


def _on_cluster(scheduler: str, task, calls: list) -> list:
    from hw.cluster import dask_client, run_all

    with dask_client(scheduler) as client:
        return run_all(client, task, calls)


def _emulate_task(library: str, function: str, images: np.ndarray, n_out: int) -> np.ndarray:
    """One slice on a Dask worker, in a fresh emulation process."""
    with tempfile.TemporaryDirectory(prefix="attendnets-task-") as tmp:
        src, dst, log = (Path(tmp) / name for name in ("in.npy", "out.npy", "log"))
        np.save(src, images)
        with open(log, "w") as err:
            cmd = [sys.executable, "-m", "hw.sim.parallel", library, function, str(src), str(dst), str(n_out)]
            proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[2], stdout=err, stderr=subprocess.STDOUT)
        _wait_all([(proc, log)], "an emulation task")
        return np.load(dst)


def _testbench_task(binary: str, project: str, inputs: bytes, expected: bytes) -> tuple:
    """One slice's test-bench run on a Dask worker: (its results file's bytes, its stdout)."""
    with tempfile.TemporaryDirectory(prefix="attendnets-task-") as tmp:
        files = [Path(tmp) / name for name in ("in.dat", "expected.dat", "results.dat")]
        files[0].write_bytes(inputs)
        files[1].write_bytes(expected)
        (log,) = testbench_parallel(Path(binary), Path(project), [files[0]], [files[1]], [files[2]])
        return files[2].read_bytes(), log


def _worker(argv) -> int:
    library, function, src, dst, n_out = argv
    start = time.perf_counter()
    np.save(dst, emulate(Path(library), function, np.load(src), int(n_out)))
    print(f"emulated in {time.perf_counter() - start:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit("usage: python -m hw.sim.parallel LIB FUNCTION IN.npy OUT.npy N_OUT (used by hw.sim.csim)")
    sys.exit(_worker(sys.argv[1:]))
