"""Quantization-aware training (QAT) and evaluation of qmodels networks, and the train/eval subcommands.

Training has two phases, each with its own cosine learning-rate schedule and a fresh optimizer:
an optional *float* phase (``--float-epochs``) trains the float twin (qmodels/float_twin.py: the
same network without quantizers, the paper's 32-bit rows), which is evaluated and kept as the
checkpoint's float network; QAT then starts from its weights.  Evaluation reports the 8-bit
network, the float network and the 8-bit network's drop against it; the 8-bit weights with their
quantizers removed are reported too, but only under that name.  Checkpoints: qmodels/checkpoint.py.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from qmodels import data as D
from qmodels import spec as S
from qmodels.build import build_model
from qmodels.checkpoint import (CHECKPOINT, FLOAT_WEIGHTS, FORMAT, METRICS, OPTIMIZER, SPEC_FILE,  # noqa: F401
                                WEIGHTS, CheckpointError, load_checkpoint, load_float_network, read_info,
                                restore_optimizer, save_checkpoint, save_float_weights, spec_to_dict)
from qmodels.float_twin import FloatSelectiveAttention, copy_weights, float_twin  # noqa: F401

METRIC_COLUMNS = ("epoch", "phase", "lr", "loss", "top1", "top5", "val_loss", "val_top1", "val_top5", "seconds")
# Accepted ranges of the numeric options (inclusive); one clear error outside them.
RANGES = {"epochs": (1, 10_000), "float_epochs": (0, 10_000), "batch_size": (1, 4096), "lr": (1e-7, 1.0),
          "seed": (0, 2**31 - 1), "input_size": (8, 1024), "train_images": (1, 10**9)}


class OptionError(ValueError):
    """A training option outside its range; the message names the option and the range."""


def check_range(name: str, value, kind=int):
    """VALUE as KIND within RANGES[name], else an OptionError naming --name and the range."""
    low, high = RANGES[name]
    option = "--" + name.replace("_", "-")
    try:
        number = kind(value)
        if isinstance(value, float) and kind is int and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise OptionError(f"{option}: expected {'an integer' if kind is int else 'a number'}, got {value!r}") from None
    if not (low <= number <= high) or number != number:
        shown = value if isinstance(value, str) else repr(value)  # command-line text as typed
        raise OptionError(f"{option}: must be from {low:g} to {high:g}, got {shown}")
    return number


# ----------------------------------------------------------------------------- training
@dataclass
class TrainOptions:
    epochs: int = 80              # QAT epochs
    float_epochs: int = 0         # float-network epochs before QAT
    batch_size: int = 32
    lr: float = 3e-3              # peak learning rate of each phase's cosine schedule
    seed: int = 0
    input_size: "int | None" = None
    augment: "str | None" = None  # default: 'crop' for digits, 'shift' for Fashion-MNIST, 'standard' otherwise
    restart: bool = False
    train_images: "int | None" = None  # images per epoch: a fresh random subset each epoch (None: all)

    def __post_init__(self):
        for name in ("epochs", "float_epochs", "batch_size", "seed"):
            setattr(self, name, check_range(name, getattr(self, name)))
        self.lr = check_range("lr", self.lr, float)
        for name in ("input_size", "train_images"):
            if getattr(self, name) is not None:
                setattr(self, name, check_range(name, getattr(self, name)))
        if self.augment is not None and self.augment not in D.AUGMENT:
            raise OptionError(f"--augment: must be one of {', '.join(D.AUGMENT)}, got {self.augment!r}")


def cosine_lr(base: float, epoch: int, epochs: int) -> float:
    """Cosine decay from base to 1% of base over a phase's epochs."""
    t = epoch / max(epochs - 1, 1)
    return float(base * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))))


@contextlib.contextmanager
def naming_bad_images(files):
    """Turn TensorFlow's path-less decode error into a DataError naming the file."""
    try:
        yield
    except tf.errors.OpError:
        bad = D.find_undecodable(files)
        if bad is None:
            raise
        raise D.DataError(f"{bad[0]}: cannot be decoded: {bad[1]}") from None


def _dataset_entry(folder: D.ImageFolder) -> dict:
    dataset = {"name": folder.name, "class_names": list(folder.class_names),
               "train_count": folder.train.count, "val_count": folder.val.count}
    if folder.name == D.FASHION:
        if folder.root != D.idx.DEBIAN_DIR:  # the default is not recorded: a shipped checkpoint stays movable
            dataset["source"] = str(folder.root)
    elif folder.name != D.DIGITS:
        dataset.update(root=str(folder.root.resolve()), val_dir=str(folder.val.root.resolve()))
    return dataset


def _fresh(model_name, folder: D.ImageFolder, opts: TrainOptions):
    spec = S.load_spec(model_name) if not isinstance(model_name, S.NetworkSpec) else model_name
    size = opts.input_size
    shape = (size, size, spec.input_shape[2]) if size else spec.input_shape
    spec = spec.with_shape(shape, len(folder.class_names))
    prep = D.default_preprocess(folder.name, shape, opts.augment)
    info = {"format": FORMAT, "model": spec.name, "spec": spec_to_dict(spec), "input_shape": list(shape),
            "classes": len(folder.class_names), "seed": opts.seed, "epoch": 0, "phase": None,
            "dataset": _dataset_entry(folder), "preprocess": dataclasses.asdict(prep), "metrics": {}}
    return spec, info


def _resume_or_start(model_name, folder, out: Path, opts: TrainOptions):
    spec, info = _fresh(model_name, folder, opts)
    if opts.restart or not (out / CHECKPOINT).exists():
        for name in (CHECKPOINT, WEIGHTS, FLOAT_WEIGHTS, OPTIMIZER, METRICS, SPEC_FILE):
            (out / name).unlink(missing_ok=True)
        return build_model(spec, seed=opts.seed, calibrate=True), info
    loaded, old = load_checkpoint(out)
    for key in ("model", "input_shape", "classes", "spec"):
        if old[key] != info[key]:
            raise CheckpointError(f"{out / CHECKPOINT}: field '{key}' is {old[key]!r} but this run has "
                                  f"{info[key]!r}; use another --out or --restart")
    if old["dataset"]["class_names"] != info["dataset"]["class_names"]:
        raise CheckpointError(f"{out / CHECKPOINT}: its class names differ from those of {folder.root}")
    done_float = (old.get("float") or {}).get("epochs", 0)
    if old["epoch"] > done_float and done_float != opts.float_epochs:
        raise CheckpointError(f"{out / CHECKPOINT}: QAT started after {done_float} float epochs, this run asks "
                              f"for --float-epochs {opts.float_epochs}; use another --out or --restart")
    _trim_metrics(out / METRICS, old["epoch"])
    return loaded, {**old, "dataset": info["dataset"], "preprocess": info["preprocess"]}


def _trim_metrics(path: Path, epoch: int) -> None:
    """Drop rows after the committed epoch (written before a crash that lost their checkpoint)."""
    if path.is_file():
        with open(path, newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if int(r["epoch"]) <= epoch]
        _write_rows(path, rows, "w")


def _write_rows(path: Path, rows, mode: str) -> None:
    new = mode == "w" or not path.exists()
    with open(path, mode, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRIC_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


class _EpochSaver(tf.keras.callbacks.Callback):
    """After every epoch: copy the float network's weights back, checkpoint, log a metrics row."""

    def __init__(self, phase, qmodel, optimizer, out: Path, info: dict):
        super().__init__()
        self.phase, self.qmodel, self.optimizer, self.out, self.info = phase, qmodel, optimizer, out, info
        self.started = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.model is not self.qmodel:
            copy_weights(self.model, self.qmodel)
        row = {"epoch": epoch + 1, "phase": self.phase, "lr": float(self.optimizer.learning_rate.numpy()),
               "seconds": round(time.time() - self.started, 2)}
        row.update({k: round(float(logs[k]), 6) for k in METRIC_COLUMNS if k in logs})
        self.info.update(epoch=epoch + 1, phase=self.phase, metrics=row)
        save_checkpoint(self.out, self.qmodel, self.info, self.optimizer, self.phase)
        _write_rows(self.out / METRICS, [row], "a")


def _compile(net, lr: float, classes: int):
    optimizer = tf.keras.optimizers.Adam(lr)
    optimizer.build(net.trainable_variables)
    net.compile(optimizer, tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="top1"),
                         tf.keras.metrics.SparseTopKCategoricalAccuracy(min(5, classes), name="top5")])
    return optimizer


def _run_phase(phase, qmodel, folder, out, info, span, opts: TrainOptions, verbose: int):
    first, start, stop = span
    net = float_twin(qmodel) if phase == "float" else qmodel
    optimizer = _compile(net, opts.lr, info["classes"])
    if first > start and restore_optimizer(out, optimizer, phase):
        print(f"resuming the {phase} phase at epoch {first + 1} of {stop} from {out}", file=sys.stderr)
    prep = D.Preprocess(**info["preprocess"])
    train_ds = D.make_dataset(folder.train, prep, opts.batch_size, training=True, seed=opts.seed + first)
    if opts.train_images:  # the split is reshuffled every epoch, so each epoch takes another subset
        train_ds = train_ds.take(-(-opts.train_images // opts.batch_size))
    schedule = tf.keras.callbacks.LearningRateScheduler(lambda e, _: cosine_lr(opts.lr, e - start, stop - start))
    # no validation inside fit: the float phase's end and the training's end evaluate the val split anyway
    with naming_bad_images(folder.train.files):
        net.fit(train_ds, initial_epoch=first, epochs=stop, verbose=verbose,
                callbacks=[schedule, _EpochSaver(phase, qmodel, optimizer, out, info)])


def _record_float_network(qmodel, folder, out: Path, info: dict, opts: TrainOptions) -> None:
    """At the end of the float phase: keep the float network's weights and its accuracy."""
    prep = D.default_preprocess(folder.name, info["input_shape"], "none", info["preprocess"]["crop_fraction"])
    logits, labels = predict(float_twin(qmodel), folder.val, prep, opts.batch_size)
    k = min(5, info["classes"])
    info["float"] = {"epochs": opts.float_epochs, "weights": save_float_weights(out, qmodel),
                     "top1": _topk(logits, labels, 1), "top5": _topk(logits, labels, k)}
    save_checkpoint(out, qmodel, info)


def train(model_name, folder: D.ImageFolder, out, opts: TrainOptions = TrainOptions()) -> dict:
    """Train (or resume) MODEL on FOLDER into the checkpoint directory OUT; return checkpoint.yaml's dict.

    ``opts.float_epochs`` of the float network precede ``opts.epochs`` of QAT.  An existing
    checkpoint in OUT is resumed (its epoch counts both phases) unless ``opts.restart``; raising
    ``epochs`` extends a finished run.
    """
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    tf.keras.utils.set_random_seed(opts.seed)
    qmodel, info = _resume_or_start(model_name, folder, out, opts)
    info["train"] = {**dataclasses.asdict(opts), "restart": False}
    verbose = 1 if sys.stdout.isatty() else 2
    total = opts.float_epochs + opts.epochs
    for phase, start, stop in (("float", 0, opts.float_epochs), ("qat", opts.float_epochs, total)):
        if info["epoch"] < stop:
            _run_phase(phase, qmodel, folder, out, info, (max(info["epoch"], start), start, stop), opts, verbose)
        if phase == "float" and stop and (info.get("float") or {}).get("epochs") != stop:
            _record_float_network(qmodel, folder, out, info, opts)
    prep = D.default_preprocess(folder.name, info["input_shape"], "none", info["preprocess"]["crop_fraction"])
    result = evaluate(qmodel, folder, prep, opts.batch_size)
    if info.get("float"):  # the float network was evaluated when its phase ended; its weights have not moved
        top1, top5 = info["float"]["top1"], info["float"]["top5"]
        result.update(top1_float=top1, top5_float=top5, drop_top1=result["top1"] - top1)
    info["evaluation"] = {k: v for k, v in result.items() if k in SUMMARY_KEYS}
    save_checkpoint(out, qmodel, info)
    return info


# ----------------------------------------------------------------------------- evaluation
SUMMARY_KEYS = ("count", "top1", "top5", "top1_float", "top5_float", "drop_top1", "top1_unquantized",
                "top5_unquantized")


def _topk(logits: np.ndarray, labels: np.ndarray, k: int) -> float:
    best = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(best == labels[:, None], axis=1)))


def predict(net, split: D.Split, prep: D.Preprocess, batch_size: int = 128):
    """(logits, labels) of NET over a whole split, in the split's order."""
    out = []
    with naming_bad_images(split.files):
        for images, _ in D.make_dataset(split, prep, batch_size, training=False):
            out.append(net.predict_on_batch(images))
    return np.concatenate(out), np.asarray(split.labels)


def evaluate(qmodel, folder: D.ImageFolder, prep: D.Preprocess, batch_size: int = 128, float_net=None) -> dict:
    """Top-1/top-5 on the val split of the 8-bit model, of the float network FLOAT_NET (None: not
    trained, figures None) and of the 8-bit weights with quantizers removed; a confusion summary."""
    q, labels = predict(qmodel, folder.val, prep, batch_size)
    u, _ = predict(float_twin(qmodel), folder.val, prep, batch_size)
    f = predict(float_net, folder.val, prep, batch_size)[0] if float_net is not None else None
    n = len(folder.class_names)
    k = min(5, n)
    confusion = np.zeros((n, n), np.int64)
    np.add.at(confusion, (labels, q.argmax(axis=1)), 1)
    pairs = [(int(confusion[t, p]), folder.class_names[t], folder.class_names[p])
             for t in range(n) for p in range(n) if t != p and confusion[t, p]]
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    top1, top1_float = _topk(q, labels, 1), (_topk(f, labels, 1) if f is not None else None)
    return {"count": int(len(labels)), "top1": top1, "top5": _topk(q, labels, k),
            "top1_float": top1_float, "top5_float": _topk(f, labels, k) if f is not None else None,
            "drop_top1": top1 - top1_float if f is not None else None,
            "top1_unquantized": _topk(u, labels, 1), "top5_unquantized": _topk(u, labels, k),
            "per_class_top1": {name: float(acc) for name, acc in zip(folder.class_names, per_class)},
            "confused": [{"true": t, "predicted": p, "count": c} for c, t, p in sorted(pairs, reverse=True)[:10]],
            "confusion": confusion.tolist()}


def evaluate_checkpoint(ckpt_dir, data=None, dataset=None, batch_size: int = 128, data_file=None) -> dict:
    """Evaluate a checkpoint on --data/--dataset, or on the dataset it was trained on."""
    model, info = load_checkpoint(ckpt_dir)
    if data is None and dataset is None and data_file is None:
        folder = D.folder_from_info(info["dataset"])
    else:
        folder = D.resolve(data, dataset or (info["dataset"]["name"] if data is None else None), data_file)
    if folder.class_names != info["dataset"]["class_names"]:
        raise D.DataError(f"{folder.root}: its classes differ from those checkpoint {ckpt_dir} was trained on")
    prep = D.default_preprocess(info["dataset"]["name"], info["input_shape"], "none",
                                info.get("preprocess", {}).get("crop_fraction"))
    result = evaluate(model, folder, prep, batch_size, load_float_network(ckpt_dir, info))
    float_epochs = (info.get("float") or {}).get("epochs", 0)
    return {"model": info["model"], "weights": str(ckpt_dir), "data": str(folder.root), "epoch": info["epoch"],
            "float_epochs": float_epochs, "qat_epochs": info["epoch"] - float_epochs, **result}


# ----------------------------------------------------------------------------- command line
def _pct(x) -> str:
    return f"{100 * x:7.2f}%" if x is not None else f"{'-':>8}"


def _report(result: dict) -> str:
    lines = [f"{result['model']} ({result['weights']}, epoch {result['epoch']}) on {result['data']} val, "
             f"{result['count']} images", f"{'':40}{'top-1':>8}{'top-5':>8}",
             f"{'8-bit (QAT)':40}{_pct(result['top1'])}{_pct(result['top5'])}"]
    if result["top1_float"] is None:
        lines.append(f"{'float network':40}  not trained (train with --float-epochs N)")
    else:
        lines += [f"{'float network (' + str(result['float_epochs']) + ' float epochs)':40}"
                  f"{_pct(result['top1_float'])}{_pct(result['top5_float'])}",
                  f"{'8-bit minus float':40}{100 * result['drop_top1']:+7.2f} points"]
    lines.append(f"{'8-bit weights, quantizers removed':40}{_pct(result['top1_unquantized'])}"
                 f"{_pct(result['top5_unquantized'])}")
    worst = sorted(result["per_class_top1"].items(), key=lambda kv: kv[1])[:5]
    lines.append("lowest per-class top-1 (8-bit): " + ", ".join(f"{name} {100 * acc:.0f}%" for name, acc in worst))
    confused = ", ".join(f"{c['true']}->{c['predicted']} x{c['count']}" for c in result["confused"][:5])
    lines.append(f"most confused (true->predicted): {confused or 'none'}")
    return "\n".join(lines)


def _train_cli(args) -> int:
    opts = TrainOptions(epochs=args.epochs, float_epochs=args.float_epochs, batch_size=args.batch_size, lr=args.lr,
                        seed=args.seed, input_size=args.input_size, augment=args.augment, restart=args.restart,
                        train_images=args.train_images)
    folder = D.resolve(args.data, args.dataset, args.data_file)
    info = train(args.model, folder, args.out, opts)
    e = info["evaluation"]
    float_part = (f"{100 * e['top1_float']:.2f}% (float network), {100 * e['drop_top1']:+.2f} points"
                  if e["top1_float"] is not None else "no float network (--float-epochs 0)")
    print(f"{args.out}: epoch {info['epoch']}, val top-1 {100 * e['top1']:.2f}% (8-bit), {float_part}; "
          f"top-5 {100 * e['top5']:.2f}% (8-bit)")
    return 0


def _eval_cli(args) -> int:
    wanted, held = S.load_spec(args.model).name, read_info(args.weights)["model"]
    if wanted != held:
        raise CheckpointError(f"{args.weights}: holds a {held} model, not {wanted}")
    result = evaluate_checkpoint(args.weights, args.data, args.dataset, args.batch_size, args.data_file)
    if args.json:
        import json
        print(json.dumps(result, indent=2))
    else:
        print(_report(result))
    return 0


def ranged(name: str, kind=int):
    """An argparse type: KIND within RANGES[name]; outside it argparse exits 2 naming the option."""
    import argparse

    def convert(text):
        try:
            return check_range(name, text, kind)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err).split(": ", 1)[-1]) from None
    convert.__name__ = "integer" if kind is int else "number"
    return convert


def data_args(parser, required: bool) -> None:
    """--data DIR | --dataset NAME, and --data-file DIR for Fashion-MNIST's IDX files."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--data", metavar="DIR", help="ImageNet-style folder: DIR/train/<class>/*, DIR/val/<class>/*")
    group.add_argument("--dataset", choices=list(D.DATASETS), help="built-in dataset instead of --data")
    parser.add_argument("--data-file", metavar="DIR", help=f"folder of Fashion-MNIST's four IDX files (default: "
                        f"${D.idx.ENV}, else {D.idx.DEBIAN_DIR})")


def add_cli(subparsers) -> None:
    """Register the 'train' and 'eval' subcommands on an argparse subparsers object."""
    p = subparsers.add_parser("train", help="quantization-aware training into a checkpoint directory")
    p.add_argument("model", help="built-in model name or spec file")
    data_args(p, required=True)
    p.add_argument("--out", required=True, metavar="CKPT_DIR", help="checkpoint directory (resumed if present)")
    p.add_argument("--epochs", type=ranged("epochs"), default=TrainOptions.epochs,
                   help="QAT epochs, 1..10000 (default %(default)s)")
    p.add_argument("--float-epochs", type=ranged("float_epochs"), default=0,
                   help="epochs of the float network first (its figure is eval's 'float'); QAT starts from it "
                        "(0..10000, default 0)")
    p.add_argument("--batch-size", type=ranged("batch_size"), default=TrainOptions.batch_size,
                   help="1..4096 (default %(default)s)")
    p.add_argument("--lr", type=ranged("lr", float), default=TrainOptions.lr,
                   help="peak learning rate, 1e-7..1 (default %(default)s)")
    p.add_argument("--input-size", type=ranged("input_size"), help="square input size, 8..1024 (default: the spec's)")
    p.add_argument("--seed", type=ranged("seed"), default=0, help="weights, shuffling and augmentation seed (default 0)")
    p.add_argument("--augment", choices=list(D.AUGMENT),
                   help="default: crop for digits, shift for fashion-mnist, standard otherwise")
    p.add_argument("--train-images", type=ranged("train_images"), metavar="N",
                   help="train each epoch on N images, a fresh random subset each epoch (default: all)")
    p.add_argument("--restart", action="store_true", help="start afresh even if CKPT_DIR holds a checkpoint")
    p.set_defaults(func=_train_cli)
    p = subparsers.add_parser("eval", help="top-1/top-5 of a checkpoint: 8-bit, float network, drop")
    p.add_argument("model", help="built-in model name or spec file (must match the checkpoint)")
    p.add_argument("--weights", required=True, metavar="CKPT_DIR", help="checkpoint directory")
    data_args(p, required=False)
    p.add_argument("--batch-size", type=ranged("batch_size"), default=128, help="1..4096 (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print a JSON object (top1, top1_float, drop_top1, ...)")
    p.set_defaults(func=_eval_cli)
