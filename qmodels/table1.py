"""The small-scale Table 1: AttendNets against MobileNets at equal cost, float against 8-bit, on Fashion-MNIST.

``attendnets table1 --dataset fashion-mnist --out DIR`` trains every network of NETS with the same
recipe and several seeds into DIR/<net>/seed<k>/ (checkpoint directories), then prints params,
mult-adds, 8-bit weight memory, the float network's and the 8-bit network's top-1 (mean and
sample standard deviation over the seeds) beside the paper's ImageNet50 Table 1, and writes
DIR/table1.json and DIR/table1.png (top-1 against mult-adds).

Resumable and parallel: each run is claimed by creating DIR/claims/<net>-seed<k>/ (mkdir is
atomic) holding the claimant's pid; a finished run is never retrained, an unfinished one is
resumed from its last epoch, a claim whose process is gone is taken over.  Start the command
several times on the same DIR to train on several cores; any invocation prints what is done.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from qmodels import data as D
from qmodels.complexity import PAPER_TABLE1
from qmodels.recipes import RECIPES, describe

_R = RECIPES["fashion-mnist"]

NETS = ("fmnist-attendnet-a", "fmnist-attendnet-b", "fmnist-mobilenet-v1", "fmnist-mobilenet-v2")
PAPER_ROW = {"fmnist-attendnet-a": "attendnet-a", "fmnist-attendnet-b": "attendnet-b",
             "fmnist-mobilenet-v1": "mobilenet-v1", "fmnist-mobilenet-v2": "mobilenet-v2"}


@dataclass
class Recipe:
    """The one training recipe every network of the table gets (see TrainOptions for the fields);
    the defaults are qmodels/recipes.py's 'fashion-mnist' recipe."""
    float_epochs: int = _R["float_epochs"]
    epochs: int = _R["epochs"]
    train_images: "int | None" = _R["train_images"]
    batch_size: int = _R["batch_size"]
    lr: float = _R["lr"]
    qat_lr: "float | None" = _R["qat_lr"]
    label_smoothing: float = _R["label_smoothing"]
    weight_decay: float = _R["weight_decay"]
    augment: "str | None" = _R["augment"]
    validate: bool = _R["validate"]

    def options(self, seed: int):
        from qmodels.train import TrainOptions
        return TrainOptions(seed=seed, **asdict(self))

    def describe(self) -> str:
        return describe(asdict(self))


def run_dir(out: Path, net: str, seed: int) -> Path:
    return out / net / f"seed{seed}"


def finished(ckpt: Path, recipe: Recipe) -> "dict | None":
    """checkpoint.yaml of a run that completed RECIPE, else None."""
    from qmodels.train import CheckpointError, read_info
    try:
        info = read_info(ckpt)
    except CheckpointError:
        return None
    done = info["epoch"] >= recipe.float_epochs + recipe.epochs and "evaluation" in info
    return info if done else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(out: Path, net: str, seed: int) -> bool:
    """Take the run for this process: a new claim, or one whose recorded process is gone."""
    folder = out / "claims" / f"{net}-seed{seed}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir()
    except FileExistsError:
        pid_file = folder / "pid"
        if not pid_file.is_file():
            return False  # claimed by a process that records no pid: leave it alone
        holder = int(pid_file.read_text().strip() or 0)
        if holder != os.getpid() and _alive(holder):
            return False
    (folder / "pid").write_text(f"{os.getpid()}\n")
    return True


def train_all(out: Path, folder: D.ImageFolder, recipe: Recipe, nets, seeds: int, log=print) -> None:
    """Train every (seed, net) not yet finished and not held by another live process; report progress."""
    from qmodels.train import train
    jobs = [(seed, net) for seed in range(seeds) for net in nets]
    for number, (seed, net) in enumerate(jobs, 1):
        ckpt = run_dir(out, net, seed)
        tag = f"[{number}/{len(jobs)}] {net} seed {seed}"
        if finished(ckpt, recipe):
            log(f"{tag}: done")
            continue
        if not claim(out, net, seed):
            log(f"{tag}: being trained by another process, skipped")
            continue
        log(f"{tag}: training into {ckpt} ...")
        started = time.time()
        info = train(net, folder, ckpt, recipe.options(seed))
        e = info["evaluation"]
        log(f"{tag}: {time.time() - started:.0f} s, top-1 {100 * e['top1']:.2f}% (8-bit), "
            f"{100 * e['top1_float']:.2f}% (float)")


# ----------------------------------------------------------------------------- results
def _mean_std(values: list) -> "tuple[float | None, float | None]":
    if not values:
        return None, None
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


def _metric_rows(ckpt: Path) -> list:
    import csv
    from qmodels.train import METRICS
    if not (ckpt / METRICS).is_file():
        return []
    with open(ckpt / METRICS, newline="") as handle:
        return list(csv.DictReader(handle))


def _epoch_seconds(ckpt: Path) -> dict:
    by_phase = {}
    for row in _metric_rows(ckpt):
        by_phase.setdefault(row["phase"], []).append(float(row["seconds"]))
    return {phase: sum(v) / len(v) for phase, v in by_phase.items()}


def _curve(ckpt: Path) -> list:
    """[epoch, phase, val top-1] of every epoch validated so far (the recipe's learning curve)."""
    return [[int(r["epoch"]), r["phase"], float(r["val_top1"])] for r in _metric_rows(ckpt) if r.get("val_top1")]


def collect(out: Path, recipe: Recipe, nets, seeds: int) -> list:
    """One row per network: complexity, per-seed results of finished runs, mean and std."""
    from qmodels.build import build_model
    from qmodels.complexity import measure
    rows = []
    for net in nets:
        cost = measure(build_model(net, calibrate=False), name=net)
        runs = []
        for seed in range(seeds):
            info = finished(run_dir(out, net, seed), recipe)
            if info:
                e = info["evaluation"]
                runs.append({"seed": seed, "top1": e["top1"], "top1_float": e["top1_float"],
                             "drop_top1": e["drop_top1"], "count": e["count"],
                             "seconds_per_epoch": _epoch_seconds(run_dir(out, net, seed))})
        row = {"model": net, "params": cost.params, "macs": cost.macs, "weight_bytes": cost.weight_bytes,
               "weight_bits": cost.weight_bits, "seeds_done": len(runs), "seeds": seeds, "runs": runs,
               "curves": [{"seed": seed, "finished": any(r["seed"] == seed for r in runs),
                           "points": _curve(run_dir(out, net, seed))} for seed in range(seeds)
                          if _curve(run_dir(out, net, seed))],
               "paper": PAPER_TABLE1.get(PAPER_ROW.get(net, ""))}
        for key in ("top1", "top1_float", "drop_top1"):
            row[f"{key}_mean"], row[f"{key}_std"] = _mean_std([r[key] for r in runs if r[key] is not None])
        rows.append(row)
    return rows


def _pm(mean, std) -> str:
    return f"{100 * mean:6.2f} ± {100 * std:4.2f}" if mean is not None else f"{'pending':>13}"


def format_table(rows: list, recipe: Recipe, dataset: str) -> str:
    head = (f"{'model':<20}{'params':>9}{'mult-adds':>11}{'8-bit wts':>10}{'float top-1 %':>15}{'8-bit top-1 %':>15}"
            f"{'drop':>7}{'seeds':>7} | {'paper (ImageNet50)':<16}{'top-1':>7}{'params':>8}{'mult-adds':>10}")
    lines = [f"Small-scale Table 1 on {dataset} (10,000 test images); mean ± std over seeds", f"recipe: "
             f"{recipe.describe()}", head, "-" * len(head)]
    for r in rows:
        p = r["paper"]
        drop = f"{100 * r['drop_top1_mean']:+6.2f}" if r["drop_top1_mean"] is not None else f"{'-':>6}"
        paper = (f"{p['model']:<16}{p['top1']:>6.1f}%{p['params'] / 1e6:>7.2f}M{p['macs'] / 1e6:>9.1f}M"
                 f" ({p['weight_bits']}-bit)" if p else "")
        lines.append(f"{r['model']:<20}{r['params'] / 1e3:>8.1f}K{r['macs'] / 1e6:>10.2f}M"
                     f"{r['weight_bytes'] / 1024:>7.1f}KiB{_pm(r['top1_float_mean'], r['top1_float_std']):>15}"
                     f"{_pm(r['top1_mean'], r['top1_std']):>15}{drop:>7}{r['seeds_done']:>4}/{r['seeds']:<2} | {paper}")
    lines.append("drop: 8-bit minus float top-1, points (each 8-bit network against its own float network).  "
                 "Paper rows: Wong et al. 2020, ImageNet50 at 224x224, for context only.")
    return "\n".join(lines)


def write_chart(rows: list, path: Path, dataset: str) -> "Path | None":
    """Top-1 against mult-adds, float (open) and 8-bit (filled) with ±std bars; None if nothing is finished."""
    done = [r for r in rows if r["top1_mean"] is not None]
    if not done:
        return None
    import matplotlib
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, r in enumerate(done):
        color, x = f"C{i}", r["macs"] / 1e6
        ax.errorbar(x, 100 * r["top1_mean"], yerr=100 * r["top1_std"], fmt="o", color=color, capsize=3,
                    label=f"{r['model']} ({r['params'] / 1e3:.0f}K params)")
        if r["top1_float_mean"] is not None:
            ax.errorbar(x, 100 * r["top1_float_mean"], yerr=100 * r["top1_float_std"], fmt="o", mfc="none",
                        color=color, capsize=3)
    ax.set_xlabel("mult-adds per image (millions)")
    ax.set_ylabel("top-1 (%)")
    ax.set_title(f"{dataset}: 8-bit (filled) and float (open) top-1, mean ± std over seeds")
    return _finish_chart(fig, ax, path)


def _finish_chart(fig, ax, path: Path) -> Path:
    """Grid, legend and layout of a Table 1 chart, written whole (a partial file renamed into place)."""
    import matplotlib.pyplot as plt

    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".partial.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


def write_curve_chart(rows: list, path: Path, dataset: str) -> "Path | None":
    """Val top-1 after every epoch (float phase, then QAT) per network and seed; unfinished runs dashed."""
    curves = [(i, r["model"], c) for i, r in enumerate(rows) for c in r.get("curves", [])]
    if not curves:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, model, c in curves:
        epochs, phases, top1 = zip(*c["points"])
        label = f"{model} seed {c['seed']}" + ("" if c["finished"] else f" (unfinished, {len(epochs)} epochs)")
        ax.plot(epochs, [100 * t for t in top1], "-" if c["finished"] else "--", color=f"C{i}", label=label)
        qat = [e for e, phase in zip(epochs, phases) if phase == "qat"]
        if qat:
            ax.axvline(qat[0] - 0.5, color=f"C{i}", alpha=0.3, lw=0.8)
    ax.set_xlabel("epoch (float phase, then QAT after the thin vertical line)")
    ax.set_ylabel("val top-1 (%)")
    ax.set_title(f"{dataset}: learning curves (float network, then the 8-bit network)")
    return _finish_chart(fig, ax, path)


def write_results(out: Path, rows: list, recipe: Recipe, dataset: str) -> dict:
    result = {"dataset": dataset, "recipe": asdict(recipe), "recipe_text": recipe.describe(), "rows": rows,
              "figures": "measured: top-1 on the full test set; params, mult-adds and weight memory counted "
                         "from the model (qmodels/complexity.py)"}
    tmp = out / "table1.partial.json"
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out / "table1.json")
    write_chart(rows, out / "table1.png", dataset)
    write_curve_chart(rows, out / "table1-curve.png", dataset)
    return result


# ----------------------------------------------------------------------------- command line
def _cli(args) -> int:
    from qmodels.spec import load_spec
    nets = args.models.split(",") if args.models else list(NETS)
    for net in nets:
        load_spec(net)  # a bad name fails here, naming it, before any training
    seeds = args.seeds
    from qmodels.train import recipe_from_args
    recipe = Recipe(**recipe_from_args(args, args.dataset))
    recipe.options(0)  # checks every option's range before anything is trained
    out = Path(args.out).expanduser()
    if not args.collect_only:
        folder = D.resolve(dataset=args.dataset, data_file=args.data_file)
        out.mkdir(parents=True, exist_ok=True)
        train_all(out, folder, recipe, nets, seeds, log=lambda text: print(text, file=sys.stderr, flush=True))
    elif not out.is_dir():
        raise D.DataError(f"{out}: no such table folder (run without --collect-only first)")
    rows = collect(out, recipe, nets, seeds)
    result = write_results(out, rows, recipe, args.dataset)
    print(json.dumps(result, indent=2) if args.json else format_table(rows, recipe, args.dataset))
    if not args.json:
        print(f"written: {out / 'table1.json'}" + (f", {out / 'table1.png'}" if (out / "table1.png").is_file() else ""))
    return 0


def add_cli(subparsers) -> None:
    """Register the 'table1' subcommand."""
    from qmodels.train import recipe_args
    p = subparsers.add_parser("table1", help="small-scale Table 1: AttendNets vs MobileNets, float vs 8-bit, seeds")
    p.add_argument("--dataset", choices=[D.FASHION], default=D.FASHION, help="dataset (default %(default)s)")
    p.add_argument("--data-file", metavar="DIR", help="folder of Fashion-MNIST's four IDX files")
    p.add_argument("--out", required=True, metavar="DIR", help="table folder: one checkpoint per net and seed")
    p.add_argument("--models", metavar="A,B,...", help=f"networks (default: {','.join(NETS)})")
    p.add_argument("--seeds", type=_seeds, default=3, help="seeds 0..N-1 per network, 1..20 (default 3)")
    recipe_args(p)
    p.add_argument("--collect-only", action="store_true", help="train nothing: tabulate the finished runs")
    p.add_argument("--json", action="store_true", help="print the JSON (also written to DIR/table1.json)")
    p.set_defaults(func=_cli)


def _seeds(text: str) -> int:
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= value <= 20:
        raise argparse.ArgumentTypeError(f"must be from 1 to 20, got {value}")
    return value
