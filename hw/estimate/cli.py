"""``attendnets report``, ``plan`` and ``compare``: the estimator's subcommands (registered by add_cli),
and the one-line estimate ``attendnets generate`` prints (generation_summary)."""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from hw.estimate.plan import PlanError


def generation_summary(cfg, model, types: dict):
    """The estimate's one line for a project just generated from ``cfg`` (``model`` and ``types``, as
    hw.hls.convert.Generated carries them), warning when the board looks too small; None for io_parallel
    (the estimator models io_stream designs only) or a layer the estimator has no model of (a warning:
    it must not fail a generation that succeeded)."""
    if cfg.io != "stream":
        return None
    from hw.estimate.render import fits_warning, summary_line
    from hw.estimate.source import from_config

    try:
        estimate = from_config(cfg, model, types).estimate()
    except ValueError as err:
        warnings.warn(f"no resource estimate: {err}")
        return None
    warning = fits_warning(estimate)
    if warning:
        warnings.warn(warning.removeprefix("warning: "))
    return summary_line(estimate)


class OutExists(RuntimeError):
    """plan's --out names a file already there: a recipe the user may have edited is never overwritten
    silently (a refusal is a failure of the work, exit status 1, as generate's is)."""


def _check_out(out, replace: bool) -> None:
    """Before the work, so that a refusal costs no planning: --out must name a file, and one already
    there is replaced only if ``replace`` (plan's --force; report and compare always: their outputs are
    regenerated, e.g. docs/compare-estimated.md, not edited)."""
    if not out:
        return
    if Path(out).is_dir():
        raise ValueError(f"--out {out} is a folder; expected a file name")
    if Path(out).exists() and not replace:
        raise OutExists(f"--out {out} exists and may hold your edits; pass --force to replace it, "
                        "or choose another --out")


def _write(text: str, out) -> None:
    """Print ``text``, or write it to ``out`` through a sibling renamed over it, so that a failure (a
    full disk, Ctrl-C) leaves the old file or none, never half of one."""
    if not out:
        print(text)
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")   # same folder: the rename cannot cross disks
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as err:      # the user named --out, not the sibling: say which file failed and why
        tmp.unlink(missing_ok=True)
        raise OSError(f"cannot write --out {out}: {err.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    print(f"wrote {out}")


def _report(args) -> int:
    from hw.estimate.render import FORMATS
    from hw.estimate.source import from_project
    from hw.estimate.vendor_reports import load_reports

    _check_out(args.out, replace=True)
    design = from_project(args.project)
    est = design.estimate()
    synth = load_reports(args.project)
    render = FORMATS[args.format]
    kwargs = {} if args.format in ("table", "json") else {"title": f"{design.name} on {design.board.name}"}
    _write(render(est, synth, **kwargs), args.out)
    return 0


def _plan(args) -> int:
    from hw.config import BuildConfig
    from hw.estimate.calibration_fit import band_text
    from hw.estimate.plan import plan, recipe
    from hw.estimate.render import as_table
    from hw.estimate.source import EstimateError, from_config

    if args.model and Path(args.model).is_dir():
        raise EstimateError(f"model {args.model}: is a folder; expected a built-in model name or a spec .yaml file")
    _check_out(args.out, replace=args.force)
    shape = args.input_shape
    cfg = BuildConfig(model=args.model, weights=args.weights, board=args.board, clock_ns=args.clock_ns,
                      input_shape=shape).validate("command line")
    budget = _budget(args)
    try:
        p = plan(from_config(cfg), budget, args.target_fps)
    except PlanError as err:
        print(f"attendnets plan: error: {err}", file=sys.stderr)
        return 1
    print(as_table(p.estimate))
    goal = f"--target-fps {args.target_fps:g}" if args.target_fps else f"highest throughput within {args.budget:.0%}"
    what = " ".join(filter(None, (args.model, args.weights and f"--weights {args.weights}")))
    built = recipe(p, args.model, shape, weights=args.weights)
    text = (f"# attendnets plan {what} --board {args.board} ({goal}{_margin_note(args, budget)}); "
            "every figure estimated:\n"
            f"# {p.estimate.fps:.1f} images/s, bottleneck {p.estimate.bottleneck.name}, utilization "
            + ", ".join(f"{k} {v:.0%} {band_text(k)}" for k, v in p.estimate.utilization.items()) + "\n"
            + (built.relative_to(Path(args.out).parent) if args.out else built).to_yaml())
    if args.out:
        _write(text, args.out)
        print(f"generate it with: attendnets generate --config {args.out}")
    return 0


def _budget(args):
    """--budget as plan() takes it: one fraction, or with --margin measured each resource's fraction
    shrunk by its measured error band (so that the band's upper edge stays within the budget)."""
    from hw.estimate.calibration_fit import margin_budget

    return margin_budget(args.budget) if args.margin == "measured" else args.budget


def _margin_note(args, budget) -> str:
    if not isinstance(budget, dict):
        return ""
    return ", --margin measured: " + ", ".join(f"{k} {v:.0%}" for k, v in budget.items())


def _compare(args) -> int:
    import json

    from hw.estimate import compare

    _check_out(args.out, replace=True)
    rows = compare.compare_rows(args.board)
    _write(json.dumps(rows, indent=2) if args.format == "json" else compare.compare_text(rows, args.format),
           args.out)
    return 0


def add_cli(subparsers) -> None:
    """Register 'report', 'plan' and 'compare'."""
    from hw.boards import board_names
    from hw.config import input_shape_option, option_type
    from hw.estimate.compare import BOARDS

    p = subparsers.add_parser("report", help="estimated (and synthesized) resources, cycles and fit of a project")
    p.add_argument("project", help="a project folder written by 'attendnets generate'")
    p.add_argument("--format", choices=("table", "json", "md", "html"), default="table")
    p.add_argument("--out", help="write to this file instead of printing")
    p.set_defaults(func=_report)
    p = subparsers.add_parser("plan", help="per-layer reuse factors and strategies that fit a board")
    p.add_argument("model", nargs="?", help="built-in model name or spec file (default: --weights' network)")
    p.add_argument("--weights", metavar="CKPT_DIR", help="a trained checkpoint: plan its network with its weights "
                   "(a LUT multiplier's cost depends on its constant weight), as generate --weights builds it")
    p.add_argument("--board", required=True, choices=board_names())
    p.add_argument("--budget", type=option_type("budget"), default=0.8,
                   help="fraction of every resource to use (default 0.8)")
    p.add_argument("--margin", choices=("none", "measured"), default="none",
                   help="'measured': plan against the upper edge of each resource's measured error band "
                        "(budget / (1 + band), hw/estimate/calibration_errors.yaml), so 'fits' means fits at "
                        "the measured error")
    p.add_argument("--target-fps", type=option_type("fps"), help="fewest resources reaching this many images/s")
    p.add_argument("--input-shape", type=input_shape_option, help="H,W,C (default: the spec's)")
    p.add_argument("--clock-ns", type=option_type("clock_ns"), help="default: the board's")
    p.add_argument("--out", help="write the build recipe here (for 'attendnets generate --config'); "
                                 "an existing file is kept unless --force")
    p.add_argument("--force", action="store_true",
                   help="replace the --out recipe if it exists, even if it was edited")
    p.set_defaults(func=_plan)
    p = subparsers.add_parser("compare", help="AttendNet-A/-B and MobileNet-V1/-V2 planned for each board, beside "
                                              "the Vitis AI DPU and the board's physical limit")
    p.add_argument("--board", nargs="+", choices=board_names(), default=list(BOARDS),
                   help=f"one or more boards (default: {' '.join(BOARDS)})")
    p.add_argument("--format", choices=("table", "md", "json"), default="table")
    p.add_argument("--out", help="write to this file instead of printing")
    p.set_defaults(func=_compare)
