"""``attendnets report``, ``plan`` and ``compare``: the estimator's subcommands (registered by add_cli)."""
from __future__ import annotations

import sys
from pathlib import Path

from hw.estimate.plan import PlanError

# Published Vitis AI DPU throughput at 224x224 (../shared/REFERENCE.md): Vitis AI 2.5 model zoo,
# images/s with one thread / several threads.  No DPU exists for Zynq-7000.
DPU_FPS = {
    "zcu104": {"mobilenet-v1": (344.9, 784.0), "mobilenet-v2": (284.2, 609.2), "config": "2xB4096 @300 MHz"},
    "kv260": {"mobilenet-v1": (354.2, 425.6), "mobilenet-v2": (290.6, 336.8), "config": "1xB4096F @300 MHz"},
    "zcu102": {"mobilenet-v1": (326.6, 951.0), "mobilenet-v2": (268.1, 707.0), "config": "3xB4096 @281 MHz"},
}
DPU_SOURCE = "Vitis AI 2.5 model zoo (1 thread / multi-thread)"
COMPARED = ("attendnet-a", "attendnet-b", "mobilenet-v1", "mobilenet-v2")


def _write(text: str, out) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
        print(f"wrote {out}")
    else:
        print(text)


def _report(args) -> int:
    from hw.estimate.render import FORMATS
    from hw.estimate.source import from_project
    from hw.estimate.vendor_reports import load_reports

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

    if Path(args.model).is_dir():
        raise EstimateError(f"model {args.model}: is a folder; expected a built-in model name or a spec .yaml file")
    shape = args.input_shape
    cfg = BuildConfig(model=args.model, board=args.board, clock_ns=args.clock_ns, input_shape=shape).validate(
        "command line")
    budget = _budget(args)
    try:
        p = plan(from_config(cfg), budget, args.target_fps)
    except PlanError as err:
        print(f"attendnets plan: error: {err}", file=sys.stderr)
        return 1
    print(as_table(p.estimate))
    goal = f"--target-fps {args.target_fps:g}" if args.target_fps else f"highest throughput within {args.budget:.0%}"
    text = (f"# attendnets plan {args.model} --board {args.board} ({goal}{_margin_note(args, budget)}); "
            "every figure estimated:\n"
            f"# {p.estimate.fps:.1f} images/s, bottleneck {p.estimate.bottleneck.name}, utilization "
            + ", ".join(f"{k} {v:.0%} {band_text(k)}" for k, v in p.estimate.utilization.items()) + "\n"
            + recipe(p, args.model, shape).to_yaml())
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


def compare_rows(board: str, budget: float = 0.8) -> list:
    from hw.config import BuildConfig
    from hw.estimate.plan import plan
    from hw.estimate.source import from_config
    from qmodels.build import build_model
    from qmodels.complexity import measure

    rows = []
    for name in COMPARED:
        model = build_model(name, calibrate=False)
        c = measure(model, name=name)
        row = {"model": name, "params": c.params, "macs": c.macs, "weight_kib": c.weight_bytes / 1024}
        try:
            p = plan(from_config(BuildConfig(model=name, board=board), model), budget)
            d = p.estimate.as_dict()
            row.update(fits=True, fps=d["fps"], bottleneck=d["bottleneck"], **d["totals"],
                       utilization=d["utilization"])
        except PlanError as err:
            row.update(fits=False, fps=None, reason=str(err))
        dpu = DPU_FPS.get(board, {}).get(name)
        row["dpu_fps"] = {"single": dpu[0], "multi": dpu[1], "source": DPU_SOURCE,
                          "config": DPU_FPS[board]["config"]} if dpu else None
        rows.append(row)
    return rows


def _compare_text(rows, board, fmt) -> str:
    from hw.estimate.calibration_fit import band_text

    head = ["model", "params", "mult-adds", "weights KiB", "fits", "fps (est.)",
            *(f"{label} {band_text(k)}" for k, label in (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"),
                                                          ("bram18", "BRAM18"))), "DPU fps 1t/mt"]
    body = []
    for r in rows:
        dpu = f"{r['dpu_fps']['single']:.0f} / {r['dpu_fps']['multi']:.0f}" if r["dpu_fps"] else "-"
        res = [r.get(k, "-") for k in ("lut", "ff", "dsp", "bram18")] if r["fits"] else ["-"] * 4
        body.append([r["model"], f"{r['params'] / 1e3:.0f}K", f"{r['macs'] / 1e6:.1f}M", f"{r['weight_kib']:.0f}",
                     "yes" if r["fits"] else "no", f"{r['fps']:.1f}" if r["fps"] else "-", *res, dpu])
    notes = [f"{r['model']}: {r['reason']}" for r in rows if not r["fits"]]
    src = (f"planned for {board} within 80% of every resource (estimated; each resource's column head carries "
           f"its measured error band); DPU: {DPU_SOURCE}") + (
        f", {DPU_FPS[board]['config']}" if board in DPU_FPS else "; no DPU exists for this board")
    if fmt == "md":
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(map(str, b)) + " |" for b in body]
        notes = [f"- {n}" for n in notes]
        return "\n".join([f"# AttendNets and MobileNets on {board}", ""] + lines + ["", src, ""] + notes + [_chart(rows)])
    widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
    lines = ["  ".join(str(v).rjust(w) for v, w in zip(x, widths)) for x in [head] + body]
    return "\n".join(lines + [src] + notes)


def _chart(rows) -> str:
    import base64
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    names = [r["model"] for r in rows]
    ax.bar([i - 0.2 for i in range(len(rows))], [r["fps"] or 0 for r in rows], width=0.4, label="this package (est.)")
    ax.bar([i + 0.2 for i in range(len(rows))], [r["dpu_fps"]["multi"] if r["dpu_fps"] else 0 for r in rows],
           width=0.4, label="Vitis AI DPU (published)")
    ax.set_xticks(range(len(rows)), names)
    ax.set_ylabel("images/s")
    ax.legend()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return f"\n![images per second](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})\n"


def _compare(args) -> int:
    import json

    rows = compare_rows(args.board)
    _write(json.dumps(rows, indent=2) if args.format == "json" else _compare_text(rows, args.board, args.format),
           args.out)
    return 0


def add_cli(subparsers) -> None:
    """Register 'report', 'plan' and 'compare'."""
    from hw.boards import board_names
    from hw.config import input_shape_option, option_type

    p = subparsers.add_parser("report", help="estimated (and synthesized) resources, cycles and fit of a project")
    p.add_argument("project", help="a project folder written by 'attendnets generate'")
    p.add_argument("--format", choices=("table", "json", "md", "html"), default="table")
    p.add_argument("--out", help="write to this file instead of printing")
    p.set_defaults(func=_report)
    p = subparsers.add_parser("plan", help="per-layer reuse factors and strategies that fit a board")
    p.add_argument("model", help="built-in model name or spec file")
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
    p.add_argument("--out", help="write the build recipe here (for 'attendnets generate --config')")
    p.set_defaults(func=_plan)
    p = subparsers.add_parser("compare", help="AttendNet-A/-B and MobileNet-V1/-V2 planned for one board")
    p.add_argument("--board", required=True, choices=board_names())
    p.add_argument("--format", choices=("table", "md", "json"), default="table")
    p.add_argument("--out", help="write to this file instead of printing")
    p.set_defaults(func=_compare)
