"""Run on the board (or the simulated board), from an unpacked package folder:

    python -m host.board verify PACKAGE            checksums of every file (MANIFEST.sha256)
    python -m host.board smoke PACKAGE [--backend auto|pynq|sim] [--json]
                                                   the package's sample images through the accelerator,
                                                   scores compared bit for bit with the expected ones

Exit status: 0 ok, 1 mismatch or failure, 2 bad input.  numpy (+ pynq on a board) only.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from host.accelerator import BACKENDS, AcceleratorError, AttendNetAccelerator
from host.package import SAMPLES, PackageError, verify_manifest
from host.simboard import SimulatedBoardError


def load_samples(folder: Path) -> dict:
    path = folder / SAMPLES
    if not path.exists():
        raise PackageError(f"{path}: missing; the package has no smoke-test images")
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def smoke(folder, backend: str = "auto") -> dict:
    """Every sample image through the accelerator; the report is JSON-ready."""
    folder = Path(folder)
    samples = load_samples(folder)
    acc = AttendNetAccelerator(folder, backend=backend)
    try:
        scores = acc.run(samples["images"])
        top = [[label for label, _, _ in row] for row in acc.predict(samples["images"][:1], top_k=3)]
        latencies = list(acc.latencies)
    finally:
        acc.close()
    expected = samples["expected"]
    exact = scores == expected.reshape(scores.shape)
    report = {"package": str(folder), "backend": acc.backend_name, "images": int(len(scores)),
              "bit_exact_images": int(exact.all(axis=1).sum()), "exact": bool(exact.all()),
              "max_abs_diff": float(np.abs(scores - expected.reshape(scores.shape)).max()),
              "scores": scores.tolist(), "top3_first_image": top[0],
              "images_per_s": len(latencies) / sum(latencies), "latency_ms_mean": 1e3 * float(np.mean(latencies)),
              "throughput_source": "measured" + (" (simulated board: C++ on this CPU, not the FPGA)"
                                                 if acc.backend_name == "sim" else " on the board")}
    if "labels" in samples:
        report["top1_accuracy"] = float(np.mean(scores.argmax(1) == samples["labels"]))
    return report


def format_smoke(report: dict) -> str:
    lines = [f"smoke inference ({report['backend']}): {report['images']} images, "
             f"{report['bit_exact_images']}/{report['images']} bit-exact with the expected scores"
             + ("" if report["exact"] else f" (max |diff| {report['max_abs_diff']:g})")]
    for i, row in enumerate(report["scores"][:3]):
        lines.append(f"  image {i}: scores " + " ".join(repr(v) for v in row))   # exact: codes x 2^-frac
    lines.append(f"  top-3 of image 0: {', '.join(report['top3_first_image'])}")
    if "top1_accuracy" in report:
        lines.append(f"  top-1 accuracy on these images: {report['top1_accuracy']:.3f}")
    lines.append(f"  throughput {report['images_per_s']:.1f} images/s, mean latency {report['latency_ms_mean']:.3f} ms "
                 f"({report['throughput_source']})")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m host.board", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("verify")
    p.add_argument("package")
    p = sub.add_parser("smoke")
    p.add_argument("package")
    p.add_argument("--backend", choices=BACKENDS, default="auto")
    p.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "verify":
            print(f"{verify_manifest(args.package)} files verified in {args.package}")
            return 0
        report = smoke(args.package, args.backend)
    except (PackageError, AcceleratorError, SimulatedBoardError, FileNotFoundError) as err:
        print(f"host.board {args.command}: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else format_smoke(report))
    return 0 if report["exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
