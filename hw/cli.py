"""The ``attendnets`` command: thin subcommands over the package's functions."""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter hides our output


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attendnets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("models", help="Table 1 of the paper beside this package's models")
    p.add_argument("names", nargs="*", help="built-in model names or spec files (default: all built-in)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of the table")
    p.set_defaults(func=_models)
    from qmodels.train import add_cli as add_training

    add_training(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from qmodels.spec import SpecError

    try:
        return args.func(args)
    except (SpecError, FileNotFoundError, ValueError) as err:
        print(f"attendnets {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
