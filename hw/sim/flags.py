"""How csim's optimisation level was chosen: compile time against run time, measured.

    python -m hw.sim.flags PROJECT [--images N] [--opts O1 O2 O3]

For each level: a cold g++ build of the project (firmware, bridge, test bench; hw.sim.csim.build)
and the test bench on N images in one process (seconds per image, weights loading included).
-march=native is not a candidate: the binaries and the figures must hold on any x86-64 machine.

Measured on AttendNet-B 224x224 (zcu104 recipe: io_stream, resource, reuse 16), seeded weights,
2 images, `nice -n 10 python -m hw.sim.flags PROJECT`, on the shared 2-core development machine
while it ran about 14 other jobs (load average 13-16): wall times there measure the other jobs,
so the comparison is by CPU seconds (this process's children: g++, the test bench).

    level  compile CPU s  run CPU s/image  (wall: compile s, run s/image)
    -O1        37.1           4.51           455, 58.9
    -O2        48.7           4.55           578, 47.4
    -O3         -             4.68             -, 63.0   (compile not recorded: cache bug, fixed since)

The same on attendnet-tiny 32x32 (8 images, same machine and load):

    -O0        13.7           0.211
    -O1        16.6           0.0085
    -O2        21.2           0.0137

The run time does not depend on the level from -O1 up (within 4% on AttendNet-B, noise); -O1
compiles in 24% less CPU time than -O2 (22% on the small network, where -O0 would run 25 times
slower).  csim therefore compiles with -O1 (hw.sim.toolchain.OPT).  Speed for many images comes from
running them in parallel processes (csim --jobs), not from the flags.  The CPU seconds per
image here are inflated by the contention (cache and hyper-thread sharing): `attendnets bench`
on a quieter machine measured 2.8 s/image for -O2.

Where the time goes (why no flag helps), measured on AttendNet-B at 64x64 (same recipe, seeded
weights), the test bench at -O1: instructions counted by `valgrind --tool=callgrind` on one image
(exact, load-independent), split into the weights loaded once per process and the per-image work:

    weights from .txt (hls4ml load_weights_from_txt, iostream)   3.85 G instructions, once
    per image                                                    2.63 G instructions, of which
      hls4ml pointwise 1x1 convs (dense_resource_rf_leq_nin)       81%
      hls4ml first 3x3 conv (line buffer 1%, its dense 5%)          6%
      hls4ml relu                                                   5%
      grouped conv (ours, nnet_group_conv2d.h)                      5%
      selective attention (ours)                                    1%
      pooling, dense, stream copies, unpooling (ours 0.1%)          2%

`perf record` at 224x224 (one image) agrees: hls4ml's dense_resource 72% of samples, our grouped
conv 4%, weight loading 6%.  The cost is the C model of ap_fixed itself: an 8-bit multiply-
accumulate into an exact accumulator takes 130-150 instructions at -O1 and 115-135 at -O2
(13 ns), written as hls4ml's resource loop or as a plain loop nest alike (a micro-benchmark of
one pointwise layer's types); -march=x86-64-v2, -v3 or native leave its instruction count as
it is (within 0.001%).  Per image at 64x64: -O1 2.63 G, -O2 2.32 G, -O3 2.29 G instructions,
but CPU seconds differ by less than the noise (min of 3 runs of 24 images in one process, on
the 2-core machine with a background sweep of 2 workers and other jobs, load average 6-10):
-O1 0.267, -O2 0.259, -O3 0.258 s/image.  -DNDEBUG was no faster in another run (0.261 against
0.249 for -O1: the asserts are compile-time constants), and profile-guided -O2 ran no fewer
instructions on the micro-benchmark.  So -O1 stays; a process 1.4x faster would need a faster
ap_fixed C model or MAC loop in hls4ml's own headers, which csim must not fork.

The MAC itself, measured by ``python -m hw.sim.mac_bench --opts O1 O2 O3 --instructions`` (one
128x128 pointwise layer of the types above; instructions counted by valgrind, so load-independent):

    instructions per MAC     ap_fixed (hls4ml)   ap_int on the raw bits   uint8/int8/int32
    g++ 12   -O1                  105.8                 43.9                    7.4
    g++ 12   -O2 / -O3             92.4                 34.8                    2.3
    clang 14 -O1 / -O2             94.0 / 94.7          34.8 / 34.7             6.4 / 2.6

Another compiler does not help either.  A kernel accumulating on ap_int raw bits (still
synthesizable, the same hardware) would run about 2.5x fewer instructions per MAC, so about 1.9x
for the whole image given the 81% share: not yet 1 image/s, and it would replace hls4ml's pointwise
kernel in every project.  Native integers would be fast, but only in a branch synthesis never
compiles, which would make csim test code the board never runs.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hw.hls import testbench


OPT_LEVELS = ("O0", "O1", "O2", "O3", "Os", "Ofast")  # g++/clang++ -O levels, without the dash


def _cpu_of_children() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_testbench(binary: Path, project: Path, pictures, expected) -> tuple:
    """(wall s, CPU s, outputs) of one test-bench process on the images."""
    import os
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        files = [Path(tmp) / f for f in ("in.dat", "expected.dat", "out.log")]
        testbench.write_rows(files[0], pictures.reshape(len(pictures), -1))
        testbench.write_rows(files[1], expected)
        start = time.perf_counter()
        proc = subprocess.Popen([str(binary), *map(str, files)], cwd=project, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU time
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            raise RuntimeError(f"{binary} failed with {os.waitstatus_to_exitcode(status)}")
        return wall, usage.ru_utime + usage.ru_stime, testbench.read_rows(files[2])


def measure(project: Path, opts=("-O1", "-O2", "-O3"), images: int = 2) -> list:
    """[{opt, compile wall/CPU s, run wall/CPU s per image}] for each level, each from a cold build.

    CPU seconds are the figure to compare on a shared machine: wall time there mostly measures
    the other jobs."""
    from hw.hls.convert import load_resolved
    from hw.sim import csim

    project = Path(project).resolve()
    name = load_resolved(project)["project_name"]
    pictures, expected, _ = testbench.read_tb_data(project)
    pictures, expected = pictures[:images], expected[:images]
    rows = []
    for opt in opts:
        cpu = _cpu_of_children()
        built = csim.build(project, name, opt)
        if not built["steps"]:  # a cached build has no compile time to report: build again, cold
            shutil.rmtree(built["dir"])
            cpu = _cpu_of_children()
            built = csim.build(project, name, opt)
        compile_cpu = _cpu_of_children() - cpu
        wall, run_cpu, outputs = _timed_testbench(built["testbench"], project, pictures, expected)
        rows.append({"opt": opt, "compile_s": built["compile_s"], "compile_cpu_s": compile_cpu,
                     "run_s_per_image": wall / len(pictures), "run_cpu_s_per_image": run_cpu / len(pictures),
                     "images": len(pictures), "exact": bool(np.array_equal(outputs.reshape(expected.shape), expected))})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hw.sim.flags", description=__doc__.splitlines()[0])
    parser.add_argument("project")
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--opts", nargs="+", default=["O1", "O2", "O3"], choices=OPT_LEVELS,
                        help="levels, without the dash")
    args = parser.parse_args(argv)
    if args.images < 1:
        parser.error("--images must be at least 1")
    opts = [f"-{o}" for o in args.opts]
    for row in measure(Path(args.project), opts, args.images):
        print(f"{row['opt']:<5} compile {row['compile_s']:6.1f} s ({row['compile_cpu_s']:6.1f} s CPU)   "
              f"run {row['run_s_per_image']:.2f} s/image ({row['run_cpu_s_per_image']:.2f} s CPU)"
              f"{'' if row['exact'] else '   NOT EXACT'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
