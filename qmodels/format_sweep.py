"""Where a trained network loses accuracy to its fixed-point formats (``attendnets eval --formats``).

Two measurements, no training:

* the *format sweep*: a checkpoint's float network (``float``) or its 8-bit network's weights
  (``qat``) run through the QKeras model of its spec with one format class changed at a time,
  top-1 on the val split.  Each class is widened to 16 bits (4 more integer and 4 more fraction
  bits: what the class costs), made finer only (16 bits, the same integer bits: what its step
  costs), and kept at 8 bits with the integer/fraction split moved one bit each way (whether a
  better 8-bit split exists).  Variants QKeras cannot build are listed with the reason.
* the *ranges*: per quantized tensor of the float twin of those weights, its largest value,
  99.9th percentile and the share of values outside the format's range (what the 8-bit network
  clips).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from qmodels import data as D
from qmodels import spec as S
from qmodels.build import INPUT_QUANTIZER, build_model
from qmodels.checkpoint import FLOAT_WEIGHTS, WEIGHTS, CheckpointError, read_info
from qmodels.evaluate import _topk, predict
from qmodels.fixed import Fixed, realisable
from qmodels.float_twin import float_twin
from qmodels.layers import SelectiveAttention

NETWORKS = ("float", "qat")


def _variants(fmt: Fixed) -> list:
    return [("wide", Fixed(16, fmt.integer + 4, fmt.signed)), ("finer only", Fixed(16, fmt.integer, fmt.signed)),
            ("8-bit, 1 integer bit less", Fixed(8, fmt.integer - 1, fmt.signed)),
            ("8-bit, 1 integer bit more", Fixed(8, fmt.integer + 1, fmt.signed))]


def format_classes(classes=None) -> list:
    """The spec's format classes named in CLASSES (all when None), in the spec's order; a ValueError
    naming an unknown one."""
    names = [f.name for f in dataclasses.fields(S.Quantization)]
    unknown = [c for c in classes or () if c not in names]
    if unknown:
        raise ValueError(f"--classes: unknown format class {unknown[0]!r}; known: {', '.join(names)}")
    return [c for c in names if not classes or c in classes]


class Sweep:
    """A checkpoint's spec and weights, and its val split, to evaluate under other formats."""

    def __init__(self, ckpt_dir, network: str = "float", folder: "D.ImageFolder | None" = None, batch_size: int = 128):
        if network not in NETWORKS:
            raise ValueError(f"--formats: expected one of {', '.join(NETWORKS)}, got {network!r}")
        info = read_info(ckpt_dir)
        record = info.get("float")
        if network == "float" and not record:
            raise CheckpointError(f"{ckpt_dir}: holds no float network (trained with --float-epochs 0); "
                                  "use --formats qat")
        file = record.get("weights", FLOAT_WEIGHTS) if network == "float" else info.get("weights", WEIGHTS)
        self.weights = str(Path(ckpt_dir).expanduser() / file)
        self.spec = S.parse_spec(info["spec"], source=f"{ckpt_dir}/checkpoint.yaml: spec")
        self.folder = folder or D.folder_from_info(info["dataset"])
        self.prep = D.default_preprocess(info["dataset"]["name"], info["input_shape"], "none",
                                         info.get("preprocess", {}).get("crop_fraction"))
        self.batch_size = batch_size

    def model(self, quantization: "S.Quantization | None" = None) -> tf.keras.Model:
        spec = dataclasses.replace(self.spec, quantization=quantization or self.spec.quantization)
        model = build_model(spec, seed=0, calibrate=False)
        model.load_weights(self.weights)
        return model

    def top1(self, net) -> float:
        logits, labels = predict(net, self.folder.val, self.prep, self.batch_size)
        return _topk(logits, labels, 1)

    def rows(self, classes=None, progress=None):
        """Dicts (class, format, variant, top1 or why not) for the float twin, the spec as is, then each
        variant of each class in CLASSES (default: all); PROGRESS(row) is called after each."""
        base = self.spec.quantization
        plan = [("-", "no quantizer", "float twin", None), ("-", "the spec's", "spec as is", base)]
        for name in format_classes(classes):
            for label, fmt in _variants(base.format(name)):
                problem = realisable(fmt, S.FORMAT_KINDS[name])  # a reason (str) instead of formats
                plan.append((name, str(fmt), label, problem or dataclasses.replace(base, **{name: str(fmt)})))
        for name, fmt, label, quant in plan:
            row = {"class": name, "format": fmt, "variant": label}
            if isinstance(quant, str):
                row["not_built"] = quant
            else:
                row["top1"] = self.top1(float_twin(self.model()) if quant is None else self.model(quant))
            if progress:
                progress(row)
            yield row

    def ranges(self, images: int = 2000) -> list:
        """Per quantized tensor: its format, max, 99.9th percentile and clipped share in the float twin."""
        model, q = self.model(), self.spec.quantization
        probes = []
        for layer in model.layers:
            if isinstance(layer, SelectiveAttention):
                probes.append((layer.name, q.format("attended")))
            elif type(layer).__name__ == "QActivation" and layer.name != INPUT_QUANTIZER:
                relu = type(layer.quantizer).__name__ == "quantized_relu"
                attention = layer.name.endswith("_embed_pw_act")
                probes.append((layer.name, q.format("activation" if relu else "attention" if attention else "linear")))
        twin = float_twin(model)
        sub = tf.keras.Model(twin.inputs, [twin.get_layer(name).output for name, _ in probes])
        batches = D.make_dataset(self.folder.val, self.prep, self.batch_size, training=False)
        x = np.concatenate([b for b, _ in batches.take(-(-images // self.batch_size))])[:images]
        outs = sub.predict(x, batch_size=self.batch_size, verbose=0)
        return [{"tensor": name, "format": str(fmt), "max": float(np.abs(y).max()),
                 "p99_9": float(np.percentile(np.abs(y), 99.9)),
                 "clipped": float(np.mean((y > fmt.max) | (y < fmt.min)))} for (name, fmt), y in zip(probes, outs)]


def row_text(row: dict) -> str:
    figure = f"{100 * row['top1']:6.2f}%" if "top1" in row else f"not built: {row['not_built']}"
    return f"{row['class']:10} {row['format']:14} {row['variant']:27} {figure}"


def ranges_text(rows: list) -> str:
    lines = [f"{'tensor':26} {'format':14} {'max':>8} {'p99.9':>8} {'clipped':>8}"]
    lines += [f"{r['tensor']:26} {r['format']:14} {r['max']:8.3f} {r['p99_9']:8.3f} {100 * r['clipped']:7.2f}%"
              for r in rows]
    return "\n".join(lines)


def formats_cli(args) -> int:
    """``attendnets eval MODEL --weights CKPT --formats float|qat [--classes a,b] [--json]``."""
    classes = format_classes([c.strip() for c in args.classes.split(",")] if args.classes else None)
    sweep = Sweep(args.weights, args.formats, D.resolve(args.data, args.dataset, args.data_file)
                  if (args.data or args.dataset or args.data_file) else None, args.batch_size)
    show = None if args.json else (lambda row: print(row_text(row), flush=True))
    if show:
        print(f"{sweep.spec.name}: {'float network' if args.formats == 'float' else '8-bit network weights'} of "
              f"{args.weights} under other formats, top-1 on {sweep.folder.val.count} val images")
    rows = list(sweep.rows(classes, show))
    ranges = sweep.ranges()
    if args.json:
        print(json.dumps({"model": sweep.spec.name, "weights": sweep.weights, "rows": rows, "ranges": ranges}, indent=1))
    else:
        print(f"\nfloat twin of the same weights, first {min(2000, sweep.folder.val.count)} val images:")
        print(ranges_text(ranges))
    return 0
