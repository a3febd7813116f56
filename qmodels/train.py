"""Quantization-aware training (QAT) of qmodels networks, and the train/eval subcommands.

Training has two phases, each with its own cosine learning-rate schedule and a fresh optimizer:
an optional *float* phase (``--float-epochs``) trains the float twin (qmodels/float_twin.py: the
same network without quantizers, the paper's 32-bit rows), which is evaluated and kept as the
checkpoint's float network; QAT then starts from its weights (at ``qat_lr`` if given).  Options:
qmodels/options.py; named recipes: qmodels/recipes.py; evaluation: qmodels/evaluate.py;
checkpoints: qmodels/checkpoint.py.  Every epoch is checkpointed, so an interrupted run resumes.
``--from-float CKPT_DIR`` skips the float phase: QAT starts from that checkpoint's float network,
which may belong to a spec with other formats but the same layers (the way to try a format on a
trained network without training its float network again).
"""
from __future__ import annotations

import csv
import dataclasses
import math
import sys
import time
from pathlib import Path

import tensorflow as tf

from qmodels import data as D
from qmodels import spec as S
from qmodels.build import build_model
from qmodels.checkpoint import (CHECKPOINT, FLOAT_WEIGHTS, FORMAT, METRICS, OPTIMIZER, SPEC_FILE,  # noqa: F401
                                WEIGHTS, CheckpointError, float_record, load_checkpoint, load_float_into,
                                load_float_network, read_info, restore_optimizer, save_checkpoint,
                                save_float_weights, spec_to_dict)
from qmodels.evaluate import (SUMMARY_KEYS, _topk, eval_cli, evaluate, evaluate_checkpoint,  # noqa: F401
                              naming_bad_images, predict, report)
from qmodels.float_twin import FloatSelectiveAttention, copy_weights, float_twin  # noqa: F401
from qmodels.options import LIMITS, OptionError, TrainOptions, check_range, ranged  # noqa: F401

METRIC_COLUMNS = ("epoch", "phase", "lr", "loss", "top1", "top5", "val_loss", "val_top1", "val_top5", "seconds")


def cosine_lr(base: float, epoch: int, epochs: int) -> float:
    """Cosine decay from base to 1% of base over a phase's epochs."""
    t = epoch / max(epochs - 1, 1)
    return float(base * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))))


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
    # only a run whose QAT has begun is tied to its float epochs; one cut short in its float phase resumes
    if old.get("phase") == "qat" and done_float != opts.float_epochs:
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


def loss_function(classes: int, label_smoothing: float = 0.0):
    """Cross-entropy on logits against integer labels; with smoothing, against (1 - s) one-hot + s / classes."""
    if not label_smoothing:
        return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def smoothed_cross_entropy(labels, logits):
        onehot = tf.one_hot(tf.cast(tf.reshape(labels, [-1]), tf.int32), classes)
        return tf.keras.losses.categorical_crossentropy(onehot, logits, from_logits=True,
                                                        label_smoothing=label_smoothing)
    return smoothed_cross_entropy


class Progress(tf.keras.callbacks.Callback):
    """One line per epoch on stderr: phase, epoch, loss and accuracy, seconds, and the phase's time left."""

    def __init__(self, phase: str, span, total: int, stream=None):
        super().__init__()
        self.phase, (self.start, self.stop), self.total = phase, span, total
        self.stream, self.times, self.started = stream, [], time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs, seconds = logs or {}, time.time() - self.started
        self.times.append(seconds)
        left = (self.stop - epoch - 1) * sum(self.times) / len(self.times)
        val = f", val top-1 {100 * logs['val_top1']:.2f}%" if "val_top1" in logs else ""
        after = f" (then {self.total - self.stop} QAT epochs)" if self.phase == "float" and self.total > self.stop else ""
        print(f"{self.phase} epoch {epoch + 1 - self.start}/{self.stop - self.start} (run {epoch + 1}/{self.total}): "
              f"loss {logs.get('loss', float('nan')):.4f}, top-1 {100 * logs.get('top1', float('nan')):.2f}%{val}, "
              f"{seconds:.0f} s; phase ends in ~{_duration(left)}{after}", file=self.stream or sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _compile(net, lr: float, classes: int, opts: "TrainOptions | None" = None):
    opts = opts or TrainOptions()
    if opts.weight_decay:
        optimizer = tf.keras.optimizers.AdamW(lr, weight_decay=opts.weight_decay)
    else:
        optimizer = tf.keras.optimizers.Adam(lr)
    optimizer.build(net.trainable_variables)
    net.compile(optimizer, loss_function(classes, opts.label_smoothing),
                metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="top1"),
                         tf.keras.metrics.SparseTopKCategoricalAccuracy(min(5, classes), name="top5")])
    return optimizer


def _run_phase(phase, qmodel, folder, out, info, span, opts: TrainOptions, verbose: int):
    first, start, stop = span
    net = float_twin(qmodel) if phase == "float" else qmodel
    peak = opts.qat_lr if phase == "qat" and opts.qat_lr is not None else opts.lr
    optimizer = _compile(net, peak, info["classes"], opts)
    if first > start and restore_optimizer(out, optimizer, phase):
        print(f"resuming the {phase} phase at epoch {first + 1} of {stop} from {out}", file=sys.stderr)
    prep = D.Preprocess(**info["preprocess"])
    train_ds = D.make_dataset(folder.train, prep, opts.batch_size, training=True, seed=opts.seed + first)
    if opts.train_images:  # the split is reshuffled every epoch, so each epoch takes another subset
        train_ds = train_ds.take(-(-opts.train_images // opts.batch_size))
    schedule = tf.keras.callbacks.LearningRateScheduler(lambda e, _: cosine_lr(peak, e - start, stop - start))
    # validation inside fit only for the learning curve: the phases' ends evaluate the val split anyway
    val_ds = None
    if opts.validate:
        val_prep = D.default_preprocess(folder.name, info["input_shape"], "none", prep.crop_fraction)
        val_ds = D.make_dataset(folder.val, val_prep, max(opts.batch_size, 128), training=False)
    callbacks = [schedule, _EpochSaver(phase, qmodel, optimizer, out, info),
                 Progress(phase, (start, stop), opts.float_epochs + opts.epochs)]
    with naming_bad_images(folder.train.files):
        net.fit(train_ds, initial_epoch=first, epochs=stop, verbose=verbose, validation_data=val_ds,
                callbacks=callbacks)


def _record_float_network(qmodel, folder, out: Path, info: dict, opts: TrainOptions) -> None:
    """At the end of the float phase: keep the float network's weights and its accuracy."""
    prep = D.default_preprocess(folder.name, info["input_shape"], "none", info["preprocess"]["crop_fraction"])
    logits, labels = predict(float_twin(qmodel), folder.val, prep, opts.batch_size)
    k = min(5, info["classes"])
    info["float"] = {"epochs": opts.float_epochs, "weights": save_float_weights(out, qmodel),
                     "top1": _topk(logits, labels, 1), "top5": _topk(logits, labels, k)}
    save_checkpoint(out, qmodel, info)


def _start_from_float(qmodel, source: Path, folder, out: Path, info: dict, opts: TrainOptions) -> None:
    """A fresh run whose float phase is SOURCE's: its float weights, learning curve and epoch count."""
    src = load_float_into(source, qmodel)
    for key in ("input_shape", "classes"):
        if src[key] != info[key]:
            raise CheckpointError(f"{source / CHECKPOINT}: field '{key}' is {src[key]!r} but this run has {info[key]!r}")
    if src["dataset"]["class_names"] != info["dataset"]["class_names"]:
        raise CheckpointError(f"{source / CHECKPOINT}: its class names differ from those of {folder.root}")
    if (source / METRICS).is_file():  # the float curve, so that metrics.csv tells the whole run
        with open(source / METRICS, newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r["phase"] == "float"]
        _write_rows(out / METRICS, rows, "w")
    info.update(epoch=opts.float_epochs, phase="float", from_float={"checkpoint": str(source), "model": src["model"]})
    _record_float_network(qmodel, folder, out, info, opts)  # evaluated again, here, on this run's val split


def _same_dir(recorded, path: Path) -> bool:
    return recorded is not None and Path(recorded).expanduser().resolve() == path.resolve()


def source_float_epochs(source) -> int:
    """How many float epochs checkpoint SOURCE's float network was trained for (CheckpointError if none)."""
    return int(float_record(source, read_info(source))["epochs"])


def train(model_name, folder: D.ImageFolder, out, opts: TrainOptions = TrainOptions(), from_float=None) -> dict:
    """Train (or resume) MODEL on FOLDER into the checkpoint directory OUT; return checkpoint.yaml's dict.

    ``opts.float_epochs`` of the float network precede ``opts.epochs`` of QAT.  An existing
    checkpoint in OUT is resumed (its epoch counts both phases) unless ``opts.restart``; raising
    ``epochs`` extends a finished run.  With ``from_float`` (a checkpoint directory) QAT starts from
    that checkpoint's float network, whose epochs replace ``opts.float_epochs``.
    """
    out = Path(out).expanduser()
    if from_float is not None:
        from_float = Path(from_float).expanduser()
        opts = dataclasses.replace(opts, float_epochs=source_float_epochs(from_float))
    out.mkdir(parents=True, exist_ok=True)
    tf.keras.utils.set_random_seed(opts.seed)
    qmodel, info = _resume_or_start(model_name, folder, out, opts)
    if from_float is not None and info["epoch"] == 0:
        _start_from_float(qmodel, from_float, folder, out, info, opts)
    elif from_float is not None and not _same_dir((info.get("from_float") or {}).get("checkpoint"), from_float):
        raise CheckpointError(f"{out / CHECKPOINT}: this run did not start from {from_float}'s float network; "
                              "use another --out or --restart")
    info["train"] = {**dataclasses.asdict(opts), "restart": False}
    verbose = 1 if sys.stdout.isatty() else 0  # off a terminal, Progress prints one line per epoch
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


# ----------------------------------------------------------------------------- command line
RECIPE_OPTIONS = ("float_epochs", "epochs", "train_images", "batch_size", "lr", "qat_lr", "label_smoothing",
                  "weight_decay", "augment")


def recipe_args(parser) -> None:
    """--recipe NAME and the options a recipe fixes; each given explicitly overrides the recipe's value."""
    from qmodels.recipes import RECIPES
    parser.add_argument("--recipe", choices=list(RECIPES), help="named training recipe (qmodels/recipes.py; "
                        "default: fashion-mnist for --dataset fashion-mnist, none otherwise)")
    parser.add_argument("--epochs", type=ranged("epochs"), help=f"QAT epochs, 1..10000 (no recipe: {TrainOptions.epochs})")
    parser.add_argument("--float-epochs", type=ranged("float_epochs"), help="epochs of the float network first (its "
                        "figure is eval's 'float'); QAT starts from it (0..10000; no recipe: 0)")
    parser.add_argument("--batch-size", type=ranged("batch_size"),
                        help=f"1..4096 (no recipe: {TrainOptions.batch_size})")
    parser.add_argument("--lr", type=ranged("lr", float), help=f"peak learning rate, 1e-7..1 (no recipe: {TrainOptions.lr})")
    parser.add_argument("--qat-lr", type=ranged("qat_lr", float), help="peak learning rate of QAT (default: --lr)")
    parser.add_argument("--label-smoothing", type=ranged("label_smoothing", float), help="0..0.5 (no recipe: 0)")
    parser.add_argument("--weight-decay", type=ranged("weight_decay", float), help="AdamW decay, 0..1 (no recipe: 0)")
    parser.add_argument("--augment", choices=list(D.AUGMENT),
                        help="default: crop for digits, shift for fashion-mnist, standard otherwise")
    parser.add_argument("--train-images", type=ranged("train_images"), metavar="N",
                        help="train each epoch on N images, a fresh random subset each epoch (default: all)")


def recipe_from_args(args, dataset=None) -> dict:
    """TrainOptions fields: the named (or the dataset's default) recipe's, then every option given explicitly."""
    from qmodels.recipes import DEFAULT, recipe_fields
    name = args.recipe or DEFAULT.get(dataset)
    fields = recipe_fields(name) if name else {}
    fields.update({k: getattr(args, k) for k in RECIPE_OPTIONS if getattr(args, k) is not None})
    return fields


def _train_cli(args) -> int:
    fields = recipe_from_args(args, args.dataset)
    if args.from_float:  # the float phase is the source's: an explicit --float-epochs must agree with it
        done = source_float_epochs(args.from_float)
        if args.float_epochs is not None and args.float_epochs != done:
            raise OptionError(f"--float-epochs {args.float_epochs}: {args.from_float} holds a float network of "
                              f"{done} epochs; give {done} or leave --float-epochs out")
        fields["float_epochs"] = done
    opts = TrainOptions(seed=args.seed, input_size=args.input_size, restart=args.restart, **fields)
    S.load_spec(args.model)  # a bad spec fails before the data is fetched or --out is made
    folder = D.resolve(args.data, args.dataset, args.data_file)
    info = train(args.model, folder, args.out, opts, from_float=args.from_float)
    e = info["evaluation"]
    float_part = (f"{100 * e['top1_float']:.2f}% (float network), {100 * e['drop_top1']:+.2f} points"
                  if e["top1_float"] is not None else "no float network (--float-epochs 0)")
    print(f"{args.out}: epoch {info['epoch']}, val top-1 {100 * e['top1']:.2f}% (8-bit), {float_part}; "
          f"top-5 {100 * e['top5']:.2f}% (8-bit)")
    return 0


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
    recipe_args(p)
    p.add_argument("--input-size", type=ranged("train_input_size"), help="square input size, 8..1024 (default: the spec's)")
    p.add_argument("--seed", type=ranged("seed"), default=0, help="weights, shuffling and augmentation seed (default 0)")
    p.add_argument("--restart", action="store_true", help="start afresh even if CKPT_DIR holds a checkpoint")
    p.add_argument("--from-float", metavar="SRC_DIR", help="skip the float phase: start QAT from checkpoint "
                   "SRC_DIR's float network (same layers and shapes; other formats allowed), whose float epochs "
                   "count as this run's")
    p.set_defaults(func=_train_cli)
    p = subparsers.add_parser("eval", help="top-1/top-5 of a checkpoint: 8-bit, float network, drop")
    p.add_argument("model", help="built-in model name or spec file (must match the checkpoint)")
    p.add_argument("--weights", required=True, metavar="CKPT_DIR", help="checkpoint directory")
    data_args(p, required=False)
    p.add_argument("--batch-size", type=ranged("batch_size"), default=128, help="1..4096 (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print a JSON object (top1, top1_float, drop_top1, ...)")
    p.add_argument("--formats", choices=("float", "qat"), help="no training: top-1 of the float network (float) or "
                   "the 8-bit weights (qat) with each format class of the spec widened, made finer, or its 8-bit "
                   "split moved, one at a time, and the float twin's value ranges (qmodels/format_sweep.py)")
    p.add_argument("--classes", metavar="A,B", help="with --formats: only these format classes (default: all)")
    p.set_defaults(func=eval_command)


def eval_command(args) -> int:
    """`attendnets eval`: a checkpoint evaluated, or with --formats under other formats.  The choice
    is made here because qmodels.format_sweep builds on qmodels.evaluate (no loop between them)."""
    if getattr(args, "formats", None):
        from qmodels.evaluate import check_eval_args
        from qmodels.format_sweep import formats_cli

        check_eval_args(args)
        return formats_cli(args)
    return eval_cli(args)
