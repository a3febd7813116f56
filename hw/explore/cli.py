"""``attendnets explore``: the options, the run (hw.explore.study) and the printed front (hw.explore.front)."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from qmodels.options import LIMITS

from hw.explore.price import Constraints
from hw.explore.proxy import Proxy
from hw.explore.study import ExploreError, Request


def _ranged(name: str, kind=int):
    low, high = LIMITS[name][:2]   # qmodels.options: the one table of ranges

    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g}, got {text}")
        return value
    return convert


def request(args) -> Request:
    from qmodels import data as D
    from qmodels.spec import load_spec

    from hw.explore.promote import promotion_proxy

    if args.dataset not in D.DATASETS:
        raise ExploreError(f"--dataset: unknown dataset {args.dataset!r}; expected one of {', '.join(D.DATASETS)}")
    proxy = Proxy(float_epochs=args.proxy_float_epochs, epochs=args.proxy_epochs, train_images=args.proxy_images,
                  val_images=args.proxy_val)
    req = Request(dataset=args.dataset, data_file=args.data_file, trials=args.trials, out=Path(args.out),
                  constraints=Constraints(args.board, args.budget, args.target_fps, args.max_params, args.max_macs),
                  storage=args.storage, study=args.study, scheduler=args.scheduler, seed=args.seed,
                  sampler=args.sampler, workers=args.workers, proxy=proxy, baseline=args.baseline,
                  space_file=args.space,
                  promote=promotion_proxy(args.promote_float_epochs, args.promote_epochs, proxy))
    req.space()  # a bad --space file fails here
    if args.baseline and tuple(load_spec(args.baseline).input_shape) != req.space().input_shape:
        raise ExploreError(f"--baseline {args.baseline}: its input shape {list(load_spec(args.baseline).input_shape)} "
                           f"is not {args.dataset}'s {list(req.space().input_shape)}")
    return req


def explore(req: Request, log=None, verify: bool = False) -> dict:
    """Run (or resume) the search; write the front; its summary.  Progress goes to ``log`` (stderr)."""
    log = log or sys.stderr
    from hw.cluster import dask_client
    from hw.explore.front import best_against, front_rows, write_front
    from hw.explore.promote import BASELINE, promote, promoted, with_promoted
    from hw.explore.proxy import open_dataset
    from hw.explore.study import Search, check_possible, open_study

    open_dataset(req.dataset, req.data_file)  # a missing dataset fails here, in one line, not on a worker
    with tempfile.TemporaryDirectory(prefix="attendnets-explore-") as tmp:
        smallest = check_possible(req, Path(tmp))
    with dask_client(req.scheduler, req.workers) as client:  # an unreachable scheduler: nothing written yet
        req.out.mkdir(parents=True, exist_ok=True)
        study, storage = open_study(req)
        print(f"attendnets explore: study {req.study!r} in {req.storage_url()}: {req.constraints.describe()}; "
              f"proxy: {req.proxy.describe()}; smallest network of the space: {smallest['fps']:,.0f} images/s (estimated)",
              file=log, flush=True)
        print(f"attendnets explore: {'scheduler ' + req.scheduler if req.scheduler else 'local Dask cluster'} "
              f"({client.scheduler.address})", file=log, flush=True)
        Search(req, study, storage, client, log).run()
        rows = front_rows(study, req.out)
        say = lambda text: print(f"attendnets explore: {text}", file=log, flush=True)  # noqa: E731
        if req.promote and rows:
            promote(study, req, rows, client, say)
        figures = promoted(study)
        rows = with_promoted(rows, figures)
        if verify and rows:
            from hw.explore.verify import verify_front

            verify_front(client, req.out, rows, say=say)
    rows = write_front(study, req.out, req.settings(), rows)
    return {"study": req.study, "storage": req.storage_url(), "front": rows, "out": str(req.out),
            "comparison": best_against(rows, study.user_attrs.get("baseline"), figures.get(BASELINE))}


def format_front(summary: dict) -> str:
    lines = [f"Pareto front of study {summary['study']} ({len(summary['front'])} members; top-1 is the short-QAT "
             "proxy, 'promoted' the longer recipe's, images/s estimated):",
             f"  {'name':<28}{'top-1 proxy':>12}{'promoted':>10}{'images/s est.':>15}{'params':>9}{'mult-adds':>11}"
             "  bottleneck"]
    for r in summary["front"]:
        checked = r.get("csim")
        csim = "" if not checked else ("  csim bit-exact" if checked["exact"] else "  csim NOT EXACT")
        better = "" if r.get("top1_promoted") is None else f"{r['top1_promoted']:.4f}"
        lines.append(f"  {r['name']:<28}{r['top1_proxy']:>12.4f}{better:>10}{r['fps_estimated']:>15,.0f}"
                     f"{r['params'] / 1e3:>8.1f}K{r['macs'] / 1e6:>10.2f}M  {r['bottleneck']}{csim}")
    if summary["comparison"]:
        lines.append("  " + summary["comparison"])
    lines.append(f"  specs, plans, front.json and front.png in {Path(summary['out']) / 'front'}")
    return "\n".join(lines)


def _explore_cli(args) -> int:
    import json

    summary = explore(request(args), verify=args.verify)
    if not summary["front"]:
        print("attendnets explore: error: no trial has finished training; nothing on the front", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2) if args.json else format_front(summary))
    return 0 if all(r.get("csim", {}).get("exact", True) for r in summary["front"]) else 1


def add_cli(subparsers) -> None:
    """Register the 'explore' subcommand."""
    from hw.boards import board_names
    from hw.cluster import scheduler_option

    p = subparsers.add_parser("explore", help="multi-objective search of VAC/PEPE networks: short-QAT accuracy "
                                              "(proxy) against estimated images/s on a board (Optuna, Dask)",
                              description="Resumable: run it again with the same --out (or --storage and --study) "
                                          "to continue; finished trials are kept.")
    p.add_argument("--dataset", required=True, help="digits or fashion-mnist")
    p.add_argument("--data-file", help="folder of Fashion-MNIST's IDX files (default: qmodels.idx's)")
    p.add_argument("--board", required=True, choices=board_names())
    p.add_argument("--budget", type=_ranged("explore_budget", float), default=0.8,
                   help="fraction of every resource a plan may use (default %(default)s)")
    p.add_argument("--target-fps", type=_ranged("target_fps", float), help="prune candidates below this many images/s")
    p.add_argument("--max-params", type=_ranged("max_params"))
    p.add_argument("--max-macs", type=_ranged("max_macs"))
    p.add_argument("--trials", type=_ranged("trials"), required=True, help="trained trials the study should reach")
    p.add_argument("--out", default="explore-out", help="trials, study.db and front/ (default %(default)s)")
    p.add_argument("--storage", help="SQLAlchemy URL of the study (default: sqlite:///OUT/study.db)")
    p.add_argument("--study", default="explore", help="study name in the storage (default %(default)s)")
    p.add_argument("--scheduler", type=scheduler_option, help="Dask scheduler address (default: a local cluster)")
    p.add_argument("--workers", type=_ranged("workers"), default=2, help="local cluster workers (default %(default)s)")
    p.add_argument("--seed", type=_ranged("explore_seed"), default=0)
    p.add_argument("--sampler", choices=("tpe", "nsga2"), default="tpe", help="Optuna sampler (default %(default)s)")
    p.add_argument("--space", help="YAML mapping restricting the search space: lists for some of hw.explore.space."
                                    "Space's fields (e.g. blocks: [2, 3], widths: [8, 16])")
    p.add_argument("--baseline", help="a model trained with the same proxy for comparison (e.g. fmnist-attendnet-b)")
    default = Proxy()
    p.add_argument("--proxy-epochs", type=_ranged("proxy_epochs"), default=default.epochs, help="QAT epochs")
    p.add_argument("--proxy-float-epochs", type=_ranged("proxy_float_epochs"), default=default.float_epochs)
    p.add_argument("--proxy-images", type=_ranged("proxy_images"), default=default.train_images,
                   help="training images per proxy epoch (default %(default)s)")
    p.add_argument("--proxy-val", type=_ranged("proxy_val"), default=default.val_images,
                   help="test images the proxy evaluates (default %(default)s)")
    p.add_argument("--promote-float-epochs", type=_ranged("proxy_float_epochs"), default=0, metavar="F",
                   help="train the proxy's front and --baseline again, F float + --promote-epochs QAT epochs on "
                        "every training image, evaluated on every test image; compare at that fidelity "
                        "(default 0: no promotion)")
    p.add_argument("--promote-epochs", type=_ranged("proxy_epochs"), default=2, help="QAT epochs of the promotion")
    p.add_argument("--verify", action="store_true", help="generate every front member with its trained weights and "
                   "C-simulate it against both software models (exit 1 unless all are bit-exact)")
    p.add_argument("--json", action="store_true", help="print the front as JSON")
    p.set_defaults(func=_explore_cli)
