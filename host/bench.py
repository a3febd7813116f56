"""On-board benchmark: images per second and latency percentiles for batch sizes 1..N.

    python -m host.bench PACKAGE [--backend auto|pynq|sim] [--max-batch 8] [--repeats 20] [--json]

Every figure is measured, wall clock, on the machine that runs it, DMA round trips and the
host's packing included.  On the simulated board it measures the C++ on this CPU, not the FPGA.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from host.accelerator import BACKENDS, AcceleratorError, AttendNetAccelerator
from host.package import SAMPLES, PackageError
from host.simboard import SimulatedBoardError


def _images(acc: AttendNetAccelerator, count: int) -> np.ndarray:
    path = acc.folder / SAMPLES
    if path.exists():
        with np.load(path) as data:
            pool = data["images"]
    else:
        pool = np.random.default_rng(0).integers(0, 256, (count, *acc.info.input.shape), dtype=np.uint8)
    return pool[np.arange(count) % len(pool)]


def benchmark(acc: AttendNetAccelerator, max_batch: int = 8, repeats: int = 20, warmup: int = 2) -> dict:
    """Per batch size 1..max_batch: images/s and batch latency p50/p90/p99 (ms)."""
    if max_batch < 1 or repeats < 1:
        raise AcceleratorError(f"--max-batch and --repeats must be at least 1, got {max_batch} and {repeats}")
    rows = []
    for batch in range(1, max_batch + 1):
        images = _images(acc, batch)
        for _ in range(warmup):
            acc.run(images)
        latencies = []
        for _ in range(repeats):
            start = time.perf_counter()
            acc.run(images)
            latencies.append(time.perf_counter() - start)
        ms = 1e3 * np.asarray(latencies)
        rows.append({"batch": batch, "images_per_s": batch * repeats / float(np.sum(latencies)),
                     "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
                     "p99_ms": float(np.percentile(ms, 99)), "repeats": repeats})
    return {"package": str(acc.folder), "backend": acc.backend_name, "board": acc.info.board,
            "source": "measured" + (" (simulated board: the C++ on this CPU, not the FPGA)"
                                    if acc.backend_name == "sim" else " on the board"),
            "rows": rows}


def format_table(report: dict) -> str:
    lines = [f"{report['package']} on {report['backend']} ({report['source']})",
             f"{'batch':>5} {'images/s':>10} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9}"]
    lines += [f"{r['batch']:>5} {r['images_per_s']:>10.1f} {r['p50_ms']:>9.3f} {r['p90_ms']:>9.3f} {r['p99_ms']:>9.3f}"
              for r in report["rows"]]
    lines.append("latency: one whole batch, images sent one after another through the DMA")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m host.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("package", help="unpacked deployment package (or a project, with --backend sim and a library)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--out", help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    try:
        acc = AttendNetAccelerator(args.package, backend=args.backend)
        try:
            report = benchmark(acc, args.max_batch, args.repeats)
        finally:
            acc.close()
    except (PackageError, AcceleratorError, SimulatedBoardError) as err:
        print(f"host.bench: error: {err}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
