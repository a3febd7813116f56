"""Quantization-aware training (QAT), evaluation and checkpoints of qmodels networks.

A checkpoint directory is self-contained (the hardware side reads it):

* ``checkpoint.yaml``: format, model name, the spec embedded (with the trained input shape and
  classes), input_shape, classes, seed, epoch (completed), phase, metrics of the last epoch,
  dataset (name, class names, and for a folder its root and val path; 'digits' for the
  built-in set), preprocess, training options and, once training ends, the final evaluation;
* ``spec.yaml``: a copy of the embedded spec; ``weights.h5``: the Keras weights of the QKeras
  model (the float latent weights; its quantizers make them 8-bit in the forward pass);
* ``optimizer.npz``: optimizer state for resuming; ``metrics.csv``: one row per epoch.

"Float" means the same network and the same trained weights with every quantizer removed
(``float_twin``): no weight, bias, activation or attention quantizer, an exact sigmoid instead
of the 8-bit table, and ReLU without the 8-bit format's upper bound.  The optional float
warm-start trains that twin first (its weights still clipped to the quantizers' ranges), copies
its weights into the QKeras model, and continues with QAT and a fresh optimizer.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
import yaml

from qmodels import data as D
from qmodels import spec as S
from qmodels.build import build_model, custom_objects
from qmodels.layers import SelectiveAttention

FORMAT = "attendnets-checkpoint/1"
CHECKPOINT, SPEC_FILE, WEIGHTS, OPTIMIZER, METRICS = (
    "checkpoint.yaml", "spec.yaml", "weights.h5", "optimizer.npz", "metrics.csv")
METRIC_COLUMNS = ("epoch", "phase", "lr", "loss", "top1", "top5", "val_loss", "val_top1", "val_top5", "seconds")
REQUIRED = ("format", "model", "spec", "input_shape", "classes", "epoch", "dataset")


class CheckpointError(ValueError):
    """A missing or malformed checkpoint; the message names the path."""


# ----------------------------------------------------------------------------- float twin
class FloatSelectiveAttention(SelectiveAttention):
    """S * V' * sigmoid(A) in float: no attention, table, scale or output quantizer."""

    def call(self, inputs):
        v, a = inputs
        return v * tf.sigmoid(a) * self.scale


def _float_layer(layer):
    with warnings.catch_warnings():  # QKeras' get_config serializes quantizers as constraints, noisily
        warnings.simplefilter("ignore", UserWarning)
        kind, config = type(layer).__name__, layer.get_config()
    if any(k.endswith("_quantizer") for k in config):  # QConv2D, QDepthwiseConv2D, QDense and subclasses
        for key in [k for k in config if k.endswith("_quantizer")]:
            config[key] = None
        for key in [k for k in config if k.endswith("_constraint")]:
            config[key] = getattr(layer, key)  # keep QKeras' Clip: warm-start weights stay in range
        return type(layer).from_config(config)
    if kind == "QActivation":
        relu = type(layer.quantizer).__name__ == "quantized_relu"
        return tf.keras.layers.Activation("relu" if relu else "linear", name=layer.name)
    if isinstance(layer, SelectiveAttention):
        return FloatSelectiveAttention.from_config(config)
    return layer.__class__.from_config(config)


def float_twin(model: tf.keras.Model) -> tf.keras.Model:
    """The same graph, layer names and weights with every quantizer removed (see module doc)."""
    with tf.keras.utils.custom_object_scope(custom_objects()):
        twin = tf.keras.models.clone_model(model, clone_function=_float_layer)
    copy_weights(model, twin)
    return twin


def copy_weights(src: tf.keras.Model, dst: tf.keras.Model) -> None:
    for layer in src.layers:
        if layer.weights:
            dst.get_layer(layer.name).set_weights(layer.get_weights())


# ----------------------------------------------------------------------------- checkpoints
def spec_to_dict(spec: S.NetworkSpec) -> dict:
    """The YAML form ``spec.parse_spec`` reads back to an equal spec."""
    kinds = {cls: kind for kind, cls in S.STAGE_KINDS.items()}
    return {"name": spec.name, "description": spec.description, "input_shape": list(spec.input_shape),
            "classes": int(spec.classes), "quantization": dataclasses.asdict(spec.quantization),
            "stages": [{kinds[type(st)]: dataclasses.asdict(st)} for st in spec.stages]}


def read_info(ckpt_dir) -> dict:
    """checkpoint.yaml of a checkpoint directory, checked for the fields every reader needs."""
    ckpt_dir = Path(ckpt_dir).expanduser()
    path = ckpt_dir / CHECKPOINT
    if not ckpt_dir.is_dir():
        raise CheckpointError(f"{ckpt_dir}: no such checkpoint directory")
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; {ckpt_dir} is not a checkpoint directory")
    try:
        info = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise CheckpointError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{path}: expected a mapping, got {type(info).__name__}")
    for key in REQUIRED:
        if key not in info:
            raise CheckpointError(f"{path}: missing field '{key}'")
    if info["format"] != FORMAT:
        raise CheckpointError(f"{path}: field 'format' is {info['format']!r}, this version reads {FORMAT!r}")
    if not isinstance(info["dataset"], dict) or not isinstance(info["dataset"].get("class_names"), list):
        raise CheckpointError(f"{path}: field 'dataset' must be a mapping with a 'class_names' list")
    return info


def load_checkpoint(ckpt_dir):
    """(QKeras model with the trained weights, checkpoint.yaml as a dict).

    The model is rebuilt from the embedded spec (no calibration) and the weights are loaded.
    """
    ckpt_dir = Path(ckpt_dir).expanduser()
    info = read_info(ckpt_dir)
    spec = S.parse_spec(info["spec"], source=f"{ckpt_dir / CHECKPOINT}: spec")
    weights = ckpt_dir / str(info.get("weights", WEIGHTS))
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing (the weights of checkpoint {ckpt_dir})")
    model = build_model(spec, seed=int(info.get("seed", 0)), calibrate=False)
    try:
        model.load_weights(str(weights))
    except (ValueError, OSError) as err:
        raise CheckpointError(f"{weights}: cannot load into {spec.name}: {err}") from None
    return model, info


def _atomic(path: Path, write) -> None:
    """Write to a sibling then rename, so a crash never leaves a half-written file.

    The sibling keeps the suffix but must not end in '.weights.h5': Keras would write its v3 format.
    """
    tmp = path.with_name(f"{path.stem}.partial{path.suffix}")
    write(tmp)
    tmp.replace(path)


def save_checkpoint(ckpt_dir, model, info: dict, optimizer=None, phase: str = "qat") -> None:
    """Weights, optimizer state and spec copy first, checkpoint.yaml last (it commits the epoch)."""
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    _atomic(ckpt_dir / WEIGHTS, lambda p: model.save_weights(str(p), save_format="h5"))
    if optimizer is not None:
        state = {f"v{i:04d}": v.numpy() for i, v in enumerate(optimizer.variables)}
        _atomic(ckpt_dir / OPTIMIZER, lambda p: np.savez(open(p, "wb"), phase=np.array(phase), **state))
    dump = lambda obj: yaml.safe_dump(obj, sort_keys=False, default_flow_style=None)  # noqa: E731
    _atomic(ckpt_dir / SPEC_FILE, lambda p: p.write_text(dump(info["spec"])))
    _atomic(ckpt_dir / CHECKPOINT, lambda p: p.write_text(dump({**info, "weights": WEIGHTS})))


def _restore_optimizer(ckpt_dir: Path, optimizer, phase: str) -> bool:
    path = ckpt_dir / OPTIMIZER
    if not path.is_file():
        return False
    with np.load(path) as saved:
        if str(saved["phase"]) != phase:
            return False
        values = [saved[f"v{i:04d}"] for i in range(len(saved.files) - 1)]
    if [v.shape for v in values] != [tuple(v.shape) for v in optimizer.variables]:
        raise CheckpointError(f"{path}: optimizer state does not match the model; train again with --restart")
    for var, value in zip(optimizer.variables, values):
        var.assign(value)
    return True


# ----------------------------------------------------------------------------- training
@dataclass
class TrainOptions:
    epochs: int = 80              # QAT epochs
    float_epochs: int = 0         # float warm-start epochs before QAT
    batch_size: int = 32
    lr: float = 3e-3              # peak learning rate of each phase's cosine schedule
    seed: int = 0
    input_size: "int | None" = None
    augment: "str | None" = None  # default: 'crop' for digits, 'standard' otherwise
    restart: bool = False


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


def _fresh(model_name, folder: D.ImageFolder, opts: TrainOptions):
    spec = S.load_spec(model_name) if not isinstance(model_name, S.NetworkSpec) else model_name
    size = opts.input_size
    shape = (size, size, spec.input_shape[2]) if size else spec.input_shape
    spec = spec.with_shape(shape, len(folder.class_names))
    prep = D.default_preprocess(folder.name, shape, opts.augment)
    dataset = {"name": folder.name, "class_names": list(folder.class_names),
               "train_count": len(folder.train.files), "val_count": len(folder.val.files)}
    if folder.name != D.DIGITS:
        dataset.update(root=str(folder.root.resolve()), val_dir=str(folder.val.root.resolve()))
    info = {"format": FORMAT, "model": spec.name, "spec": spec_to_dict(spec), "input_shape": list(shape),
            "classes": len(folder.class_names), "seed": opts.seed, "epoch": 0, "phase": None,
            "dataset": dataset, "preprocess": dataclasses.asdict(prep), "metrics": {}}
    return spec, info


def _resume_or_start(model_name, folder, out: Path, opts: TrainOptions):
    spec, info = _fresh(model_name, folder, opts)
    if opts.restart or not (out / CHECKPOINT).exists():
        for name in (CHECKPOINT, WEIGHTS, OPTIMIZER, METRICS, SPEC_FILE):
            (out / name).unlink(missing_ok=True)
        return build_model(spec, seed=opts.seed, calibrate=True), info
    loaded, old = load_checkpoint(out)
    for key in ("model", "input_shape", "classes", "spec"):
        if old[key] != info[key]:
            raise CheckpointError(f"{out / CHECKPOINT}: field '{key}' is {old[key]!r} but this run has "
                                  f"{info[key]!r}; use another --out or --restart")
    if old["dataset"]["class_names"] != info["dataset"]["class_names"]:
        raise CheckpointError(f"{out / CHECKPOINT}: its class names differ from those of {folder.root}")
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
    """After every epoch: copy float weights back if warm-starting, checkpoint, log a metrics row."""

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
    if first > start and _restore_optimizer(out, optimizer, phase):
        print(f"resuming the {phase} phase at epoch {first + 1} of {stop} from {out}", file=sys.stderr)
    prep = D.Preprocess(**info["preprocess"])
    train_ds = D.make_dataset(folder.train, prep, opts.batch_size, training=True, seed=opts.seed + first)
    val_ds = D.make_dataset(folder.val, prep, opts.batch_size, training=False)
    schedule = tf.keras.callbacks.LearningRateScheduler(lambda e, _: cosine_lr(opts.lr, e - start, stop - start))
    with naming_bad_images(folder.train.files + folder.val.files):
        net.fit(train_ds, validation_data=val_ds, initial_epoch=first, epochs=stop, verbose=verbose,
                callbacks=[schedule, _EpochSaver(phase, qmodel, optimizer, out, info)])


def train(model_name, folder: D.ImageFolder, out, opts: TrainOptions = TrainOptions()) -> dict:
    """Train (or resume) MODEL on FOLDER into the checkpoint directory OUT; return checkpoint.yaml's dict.

    A float warm-start of ``opts.float_epochs`` precedes ``opts.epochs`` of QAT; each phase has
    its own cosine learning-rate schedule.  An existing checkpoint in OUT is resumed (its epoch
    counts both phases) unless ``opts.restart``; raising ``epochs`` extends a finished run.
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
    prep = D.Preprocess(**info["preprocess"])
    info["evaluation"] = {k: v for k, v in evaluate(qmodel, folder, prep, opts.batch_size).items()
                          if k in ("count", "top1", "top5", "top1_float", "top5_float")}
    save_checkpoint(out, qmodel, info)
    return info


# ----------------------------------------------------------------------------- evaluation
def _topk(logits: np.ndarray, labels: np.ndarray, k: int) -> float:
    best = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(best == labels[:, None], axis=1)))


def evaluate(qmodel, folder: D.ImageFolder, prep: D.Preprocess, batch_size: int = 128) -> dict:
    """Top-1/top-5 of the 8-bit model and of its float twin on the val split, and a confusion summary."""
    twin = float_twin(qmodel)
    quantized, floating = [], []
    with naming_bad_images(folder.val.files):
        for images, _ in D.make_dataset(folder.val, prep, batch_size, training=False):
            quantized.append(qmodel.predict_on_batch(images))
            floating.append(twin.predict_on_batch(images))
    labels = np.asarray(folder.val.labels)
    q, f = np.concatenate(quantized), np.concatenate(floating)
    n = len(folder.class_names)
    k = min(5, n)
    confusion = np.zeros((n, n), np.int64)
    np.add.at(confusion, (labels, q.argmax(axis=1)), 1)
    pairs = [(int(confusion[t, p]), folder.class_names[t], folder.class_names[p])
             for t in range(n) for p in range(n) if t != p and confusion[t, p]]
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {"count": int(len(labels)), "top1": _topk(q, labels, 1), "top5": _topk(q, labels, k),
            "top1_float": _topk(f, labels, 1), "top5_float": _topk(f, labels, k),
            "per_class_top1": {name: float(acc) for name, acc in zip(folder.class_names, per_class)},
            "confused": [{"true": t, "predicted": p, "count": c} for c, t, p in sorted(pairs, reverse=True)[:10]],
            "confusion": confusion.tolist()}


def evaluate_checkpoint(ckpt_dir, data=None, dataset=None, batch_size: int = 128) -> dict:
    """Evaluate a checkpoint on --data/--dataset, or on the dataset it was trained on."""
    model, info = load_checkpoint(ckpt_dir)
    folder = D.folder_from_info(info["dataset"]) if data is None and dataset is None else D.resolve(data, dataset)
    if folder.class_names != info["dataset"]["class_names"]:
        raise D.DataError(f"{folder.root}: its classes differ from those checkpoint {ckpt_dir} was trained on")
    prep = D.default_preprocess(info["dataset"]["name"], info["input_shape"], "none",
                                info.get("preprocess", {}).get("crop_fraction"))
    result = evaluate(model, folder, prep, batch_size)
    return {"model": info["model"], "weights": str(ckpt_dir), "data": str(folder.root), "epoch": info["epoch"],
            **result}


# ----------------------------------------------------------------------------- command line
def _report(result: dict) -> str:
    pct = lambda x: f"{100 * x:7.2f}%"  # noqa: E731
    lines = [f"{result['model']} ({result['weights']}, epoch {result['epoch']}) on {result['data']} val, "
             f"{result['count']} images", f"{'':8}{'top-1':>8}{'top-5':>8}",
             f"{'8-bit':8}{pct(result['top1'])}{pct(result['top5'])}",
             f"{'float':8}{pct(result['top1_float'])}{pct(result['top5_float'])}"]
    worst = sorted(result["per_class_top1"].items(), key=lambda kv: kv[1])[:5]
    lines.append("lowest per-class top-1 (8-bit): " + ", ".join(f"{name} {100 * acc:.0f}%" for name, acc in worst))
    confused = ", ".join(f"{c['true']}->{c['predicted']} x{c['count']}" for c in result["confused"][:5])
    lines.append(f"most confused (true->predicted): {confused or 'none'}")
    return "\n".join(lines)


def _train_cli(args) -> int:
    folder = D.resolve(args.data, args.dataset)
    opts = TrainOptions(epochs=args.epochs, float_epochs=args.float_epochs, batch_size=args.batch_size, lr=args.lr,
                        seed=args.seed, input_size=args.input_size, augment=args.augment, restart=args.restart)
    info = train(args.model, folder, args.out, opts)
    e = info["evaluation"]
    print(f"{args.out}: epoch {info['epoch']}, val top-1 {100 * e['top1']:.2f}% (8-bit), "
          f"{100 * e['top1_float']:.2f}% (float), top-5 {100 * e['top5']:.2f}% (8-bit)")
    return 0


def _eval_cli(args) -> int:
    wanted, held = S.load_spec(args.model).name, read_info(args.weights)["model"]
    if wanted != held:
        raise CheckpointError(f"{args.weights}: holds a {held} model, not {wanted}")
    result = evaluate_checkpoint(args.weights, args.data, args.dataset, args.batch_size)
    if args.json:
        import json
        print(json.dumps(result, indent=2))
    else:
        print(_report(result))
    return 0


def _data_args(parser, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--data", metavar="DIR", help="ImageNet-style folder: DIR/train/<class>/*, DIR/val/<class>/*")
    group.add_argument("--dataset", choices=[D.DIGITS], help="built-in dataset instead of --data")


def add_cli(subparsers) -> None:
    """Register the 'train' and 'eval' subcommands on an argparse subparsers object."""
    p = subparsers.add_parser("train", help="quantization-aware training into a checkpoint directory")
    p.add_argument("model", help="built-in model name or spec file")
    _data_args(p, required=True)
    p.add_argument("--out", required=True, metavar="CKPT_DIR", help="checkpoint directory (resumed if present)")
    p.add_argument("--epochs", type=int, default=TrainOptions.epochs, help="QAT epochs (default %(default)s)")
    p.add_argument("--float-epochs", type=int, default=0, help="float warm-start epochs before QAT (default 0)")
    p.add_argument("--batch-size", type=int, default=TrainOptions.batch_size, help="default %(default)s")
    p.add_argument("--lr", type=float, default=TrainOptions.lr, help="peak learning rate (default %(default)s)")
    p.add_argument("--input-size", type=int, help="square input size (default: the spec's)")
    p.add_argument("--seed", type=int, default=0, help="weights, shuffling and augmentation seed (default 0)")
    p.add_argument("--augment", choices=list(D.AUGMENT), help="default: crop for digits, standard otherwise")
    p.add_argument("--restart", action="store_true", help="start afresh even if CKPT_DIR holds a checkpoint")
    p.set_defaults(func=_train_cli)
    p = subparsers.add_parser("eval", help="top-1/top-5 of a checkpoint, 8-bit and float")
    p.add_argument("model", help="built-in model name or spec file (must match the checkpoint)")
    p.add_argument("--weights", required=True, metavar="CKPT_DIR", help="checkpoint directory")
    _data_args(p, required=False)
    p.add_argument("--batch-size", type=int, default=128, help="default %(default)s")
    p.add_argument("--json", action="store_true", help="print a JSON object (top1, top1_float, top5, ...)")
    p.set_defaults(func=_eval_cli)
