"""The 'csim' subcommand: options, the printed report, and --fifo-check (hw.sim.fifo_check)."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from hw.cluster import scheduler_option
from hw.config import option_type
from hw.sim import parallel
from hw.sim.csim import MODES, CsimError, csim


def _mode_line(mode: str, run: dict) -> str:
    if "skipped" in run:
        return f"  {mode:<10} skipped: {run['skipped']}"
    top1 = "n/a (one class)" if run["top1_agreement"] is None else f"{run['top1_agreement']:.3f}"
    acc = f", accuracy {run['accuracy']:.3f}" if "accuracy" in run else ""
    speed = (f", {run['images_per_s']:.2f} images/s on {run['jobs']} process{'es' if run['jobs'] > 1 else ''}"
             if run.get("images_per_s") else "")
    line = (f"  {mode:<10} vs reference: bit-exact {run['bit_exact_fraction']:.4f}, max diff {run['max_diff_lsb']:g} LSB, "
            f"top-1 agreement {top1}{acc}  (compile {run.get('compile_s', 0):.1f} s, run {run['run_s']:.2f} s{speed})")
    if "keras" in run:
        k = run["keras"]
        line += f"\n  {'':<10} vs Keras:     bit-exact {k['bit_exact_fraction']:.4f}, max diff {k['max_diff_lsb']:g} LSB"
    return line


def format_report(report: dict) -> str:
    lines = [f"C simulation of {report['project']}: {report['samples']} images, {report['weights']} weights; "
             f"firmware weights: {report['firmware_weights']['arrays']} arrays, .txt == .h"]
    lines += [_mode_line(mode, run) for mode, run in report["modes"].items()]
    if "software_accuracy" in report:
        lines.append(f"  software model accuracy {report['software_accuracy']:.3f}")
    live = report["liveness"]
    if live:
        low = min(live, key=live.get)
        lines.append(f"  live outputs (neither zero nor saturated): median {np.median(list(live.values())):.2f}, "
                     f"lowest {live[low]:.2f} at {low}")
    lines.append("  EXACT vs the exact reference" if report["exact"]
                 else f"  NOT EXACT vs the exact reference: first divergent layer {report['first_divergent_layer']}")
    if "keras_divergence" in report:
        d = report["keras_divergence"]
        lines.append(f"  KERAS DIFFERS: the QKeras model as Keras runs it (float32) leaves the exact values at "
                     f"{d['layer']}: {d['why']}")
    if report.get("keras_exact"):
        lines.append("  EXACT vs Keras (model.predict, float32)")
    elif report.get("keras_equals_reference"):
        lines.append("  NOT EXACT vs Keras either (Keras' float32 equals the exact reference on these images)")
    return "\n".join(lines)


def _run(args) -> tuple:
    """(report, its text, exit status) of the chosen check."""
    if args.fifo_check:
        from hw.sim.fifo_check import fifo_check, format_fifo_check

        if args.scheduler:
            raise ValueError("--scheduler runs the image slices of a C simulation on a Dask cluster; "
                             "--fifo-check runs here only")

        quiet = (lambda msg: None) if args.json else (lambda msg: print(msg, file=sys.stderr))
        report = fifo_check(args.project, samples=args.samples, images=args.images,
                            timeout_ms=int(args.watchdog_s * 1000), progress=quiet)
        return report, format_fifo_check(report), 0 if report["passed"] else 1
    report = csim(args.project, samples=args.samples, modes=args.modes or MODES, jobs=args.jobs, images=args.images,
                  scheduler=args.scheduler)
    return report, format_report(report), 0 if report["exact"] and report.get("keras_exact", True) else 1


def _csim_cli(args) -> int:
    try:
        report, text, status = _run(args)
    except (CsimError, ValueError, FileNotFoundError) as err:
        if not args.json:
            raise
        print(json.dumps({"error": str(err), "exact": None}))  # stdout stays JSON on every path
        print(f"attendnets csim: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else text)
    return status


def _count_or_all(text: str):
    """--images: 'all', or a number of images in the range of LIMITS['images']."""
    if text == "all":
        return "all"
    try:
        return option_type("images")(text)
    except argparse.ArgumentTypeError as err:
        raise argparse.ArgumentTypeError(f"expected 'all' or {str(err).removeprefix('expected ')}") from None


def add_cli(subparsers) -> None:
    """Register the 'csim' subcommand."""
    p = subparsers.add_parser("csim", help="C-simulate a project and compare it bit for bit with both software models",
                              description="Exit status 0 when the C++ equals the exact reference and Keras' "
                                          "model.predict on every output, 1 otherwise, 2 on bad input.")
    p.add_argument("project")
    p.add_argument("--samples", type=option_type("images"), help="images to run (default: the project's tb_data; more are "
                   "seeded images, or validation images of the project's checkpoint)")
    p.add_argument("--images", type=_count_or_all, metavar="all|N",
                   help="the first N (or all) images of the checkpoint's validation split, in dataset order")
    p.add_argument("--jobs", type=option_type("jobs"), default=parallel.default_jobs(),
                   help="parallel processes for the images (default: every core, %(default)s here)")
    p.add_argument("--scheduler", type=scheduler_option, help="run the --jobs slices as tasks on this Dask scheduler's "
                   "cluster (tcp://HOST:PORT; its workers must see the project folder)")
    p.add_argument("--modes", nargs="+", choices=MODES)
    p.add_argument("--fifo-check", action="store_true",
                   help="instead: run the C++ with every dataflow process in a thread and bounded FIFOs of the "
                        "project's depths; check that it finishes, and that each fork's short copy deadlocks one "
                        "pixel below its minimum (io_stream only)")
    p.add_argument("--watchdog-s", type=option_type("watchdog_s"), default=60.0,
                   help="--fifo-check: seconds without any stream operation before a run counts as hung "
                        "(a deadlock is detected at once; default %(default)s)")
    p.add_argument("--json", action="store_true", help="print only a JSON object on stdout, also on errors")
    p.set_defaults(func=_csim_cli)
