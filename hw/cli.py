"""The ``attendnets`` command: thin subcommands over the package's functions."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter hides our output

# Each stage registers its own subcommands (``add_cli(subparsers)``); the order is the help's.
SUBCOMMAND_MODULES = (
    "qmodels.train",        # train, eval
    "hw.sim.csim",          # csim
    "hw.sim.bench",         # bench
    "host.deploy",          # deploy
)


def _models(args) -> int:
    from qmodels.build import build_model
    from qmodels.complexity import PAPER_TABLE1, measure
    from qmodels.spec import builtin_names

    rows = []
    for name in args.names or builtin_names():
        c = measure(build_model(name, calibrate=False), name=name)
        paper = PAPER_TABLE1.get(name)
        row = c.as_dict()
        if paper:
            row["paper"] = paper
            row["params_ratio"] = c.params / paper["params"]
            row["macs_ratio"] = c.macs / paper["macs"]
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(_table1(rows))
    return 0


def _table1(rows) -> str:
    head = (f"{'model':<16}{'top-1':>7}{'params':>10}{'mult-adds':>11}{'w.bits':>8} | "
            f"{'params':>10}{'mult-adds':>11}{'weights':>10}{'p/paper':>9}{'m/paper':>9}")
    lines = ["Table 1 (Wong et al. 2020, ImageNet50)           | this package (8-bit QKeras, counted from the model)",
             head, "-" * len(head)]
    for row in rows:
        p = row.get("paper")
        left = (f"{p['model']:<16}{p['top1']:>6.1f}%{p['params'] / 1e3:>9.0f}K{p['macs'] / 1e6:>10.1f}M"
                f"{p['weight_bits']:>8}" if p else f"{row['name']:<16}{'-':>7}{'-':>10}{'-':>11}{'-':>8}")
        right = f"{row['params'] / 1e3:>9.1f}K{row['macs'] / 1e6:>10.1f}M{row['weight_bytes'] / 1024:>8.0f}KiB"
        ratios = f"{row['params_ratio']:>9.3f}{row['macs_ratio']:>9.3f}" if p else f"{'-':>9}{'-':>9}"
        lines.append(f"{left} | {right}{ratios}")
    lines.append("AttoNet-A/B: architecture not public, not built.  Top-1 is the paper's; train with "
                 "'attendnets train' for ours.")
    return "\n".join(lines)


def _build_config(args):
    from hw.config import BuildConfig

    cfg = BuildConfig.load(args.config) if args.config else BuildConfig(model=args.model)
    if args.model:
        cfg.model = args.model
    overrides = {"board": args.board, "backend": args.backend, "io": args.io, "clock_ns": args.clock_ns,
                 "reuse": args.reuse, "strategy": args.strategy, "classes": args.classes, "weights": args.weights,
                 "seed": args.seed, "samples": args.samples, "project_name": args.project_name,
                 "input_shape": [int(v) for v in args.input_shape.split(",")] if args.input_shape else None}
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    return cfg.validate("command line" if not args.config else args.config)


def _generate(args) -> int:
    import time

    from hw.hls.convert import generate

    cfg = _build_config(args)
    out = args.out or f"hls_projects/{cfg.model.replace('-', '_')}-{cfg.board}"
    start = time.perf_counter()
    path, status = generate(cfg, out, force=args.force)
    print(f"{status}: {path} ({cfg.model}, {cfg.board}, {cfg.backend}, io_{cfg.io}) "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


def _add_hw(sub):
    from hw.boards import board_names
    from hw.config import BACKENDS, IO_TYPES, STRATEGIES

    p = sub.add_parser("generate", help="write a synthesizable HLS project for a model and board")
    p.add_argument("model", nargs="?", help="built-in model name or spec file (or 'model' in --config)")
    p.add_argument("--config", help="build config YAML (hls_projects/configs/*.yaml); options override it")
    p.add_argument("--board", choices=board_names())
    p.add_argument("--out", help="project folder (default hls_projects/<model>-<board>)")
    p.add_argument("--input-shape", help="H,W,C (default: the spec's)")
    p.add_argument("--classes", type=int)
    p.add_argument("--weights", help="checkpoint directory from 'attendnets train' (default: seeded weights)")
    p.add_argument("--backend", choices=BACKENDS)
    p.add_argument("--io", choices=IO_TYPES)
    p.add_argument("--clock-ns", type=float)
    p.add_argument("--reuse", type=int)
    p.add_argument("--strategy", choices=STRATEGIES)
    p.add_argument("--seed", type=int)
    p.add_argument("--samples", type=int, help="test-bench images written to tb_data")
    p.add_argument("--project-name", help="top function and file names (default: the model's name)")
    p.add_argument("--force", action="store_true", help="replace an existing project even if it changes or was edited")
    p.set_defaults(func=_generate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attendnets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("models", help="Table 1 of the paper beside this package's models")
    p.add_argument("names", nargs="*", help="built-in model names or spec files (default: all built-in)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of the table")
    p.set_defaults(func=_models)
    _add_hw(sub)
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).add_cli(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from qmodels.spec import SpecError

    known = (SpecError, FileNotFoundError, ValueError)
    if args.command in ("generate", "csim"):
        from hw.sim.csim import CsimError
        from hw.hls.project import ProjectError

        known += (CsimError, ProjectError)
    try:
        return args.func(args)
    except known as err:
        print(f"attendnets {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
