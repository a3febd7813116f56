"""Evaluation of qmodels networks: top-1/top-5 of the 8-bit network, of its float network and of the
8-bit weights with quantizers removed, a confusion summary, and the text report of ``attendnets eval``."""
from __future__ import annotations

import contextlib
import sys

import numpy as np
import tensorflow as tf

from qmodels import data as D
from qmodels import spec as S
from qmodels.checkpoint import CheckpointError, load_checkpoint, load_float_network, read_info
from qmodels.float_twin import float_twin


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


def _pct(x) -> str:
    return f"{100 * x:7.2f}%" if x is not None else f"{'-':>8}"


def report(result: dict) -> str:
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


def check_eval_args(args) -> None:
    """The checks of `attendnets eval` both its forms share: the checkpoint holds the model named."""
    wanted, held = S.load_spec(args.model).name, read_info(args.weights)["model"]
    if wanted != held:
        raise CheckpointError(f"{args.weights}: holds a {held} model, not {wanted}")
    if getattr(args, "classes", None) and not getattr(args, "formats", None):
        raise ValueError("--classes: only with --formats float|qat")


def eval_cli(args) -> int:
    check_eval_args(args)
    result = evaluate_checkpoint(args.weights, args.data, args.dataset, args.batch_size, args.data_file)
    if args.json:
        import json
        print(json.dumps(result, indent=2))
    else:
        print(report(result))
    return 0
