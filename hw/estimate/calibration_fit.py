"""The estimator against published synthesis reports: rebuild each design, estimate it, compare.

Each record of ``hw/estimate/calibration/*.yaml`` (copied from public vendor reports) describes a
network layer by layer; ``rebuild`` makes it a (Q)Keras model with seeded weights pruned by
magnitude to the published sparsity (the trained weights are not public), and the estimator
prices it with the record's own FIFOs.  Two scales are fitted, LUT and FF (ratio of published to
predicted post-synthesis totals on the FIT set, geometric mean); everything else is unfitted.
The errors on the records outside FIT are the held-out errors quoted in hw/README.md and in every
report's footer (``ERRORS_FILE``, written by ``python -m hw.estimate.calibration_fit --write`` and
checked by the tests to match a fresh run).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import yaml

from hw.estimate.network import RESOURCES, Stream, estimate_network

FIT = ("svhn_cnn_16bit_pruned",)       # fitted on; every other record is held out
ERRORS_FILE = Path(__file__).with_name("calibration_errors.yaml")
SEED = 0


class _Part:
    """The record's device, as far as the estimator needs one (no board file: an Alveo U250)."""

    def __init__(self, record: dict):
        self.name, self.family = record["part"], record.get("family", "virtexuplus")
        self.resources = {"lut": 1, "ff": 1, "dsp": 1, "bram36": 1, "uram": 0}


def _fixed(bits: int, signed: bool = True):
    from qmodels.fixed import Fixed

    integer = {16: 6, 6: 1}.get(bits, bits // 2) if signed else 0
    return Fixed(bits, integer, signed)


def rebuild(record: dict):
    """(Keras model, types) of a calibration record; weights seeded and magnitude-pruned."""
    import tensorflow as tf

    net = record["network"]
    rng = np.random.default_rng(SEED)
    x = inputs = tf.keras.Input(shape=tuple(net["input_shape"]), name="input")
    types = {"input": {"result": (_fixed(16), False)}}
    for spec in net["layers"]:
        layer = _layer(spec)
        if spec["type"] == "Dense" and len(x.shape) > 2:
            x = tf.keras.layers.Flatten(name=f"flatten_{spec['name']}")(x)
            types[f"flatten_{spec['name']}"] = {"result": types[_last(types)]["result"]}
        x = layer(x)
        types[spec["name"]] = _types(spec, types[_last(types)]["result"][0])
        if spec["type"] in ("Conv2D", "Dense"):
            _set_weights(layer, spec, rng, types[spec["name"]]["weight"], net["pruning"]["target_sparsity"])
    return tf.keras.Model(inputs, x, name=record["name"]), types


def _last(types: dict) -> str:
    return list(types)[-1]


def _layer(spec: dict):
    import tensorflow as tf

    kind, name = spec["type"], spec["name"]
    if kind == "Conv2D":
        return tf.keras.layers.Conv2D(spec["filters"], tuple(spec["kernel"]), padding=spec.get("padding", "valid"),
                                      name=name)
    if kind == "Dense":
        return tf.keras.layers.Dense(spec["n_out"], name=name)
    if kind == "ReLU":
        return tf.keras.layers.ReLU(name=name)
    if kind == "MaxPooling2D":
        return tf.keras.layers.MaxPooling2D(tuple(spec["pool"]), name=name)
    if kind == "BatchNormalization":
        return tf.keras.layers.BatchNormalization(name=name)
    if kind == "Softmax":
        return tf.keras.layers.Softmax(name=name)
    raise ValueError(f"calibration layer {name}: no rebuild rule for {kind}")


def _types(spec: dict, previous) -> dict:
    result = _fixed(spec.get("result_bits", 16), signed=spec.get("result_bits") is None)
    if spec["type"] == "MaxPooling2D":
        result = _fixed(16)                 # hls4ml's pooling result type at the time (16-bit FIFOs)
    t = {"result": (result, spec["type"] == "ReLU"), "accum": _fixed(16)}
    if spec["type"] in ("Conv2D", "Dense"):
        t["weight"] = _fixed(spec.get("weight_bits", 16))
    return t


def _set_weights(layer, spec, rng, fmt, sparsity: float) -> None:
    kernel = layer.get_weights()[0]
    fan_in = int(np.prod(kernel.shape[:-1]))
    values = rng.normal(0.0, math.sqrt(2.0 / fan_in), kernel.shape)
    values = np.clip(values, fmt.min, fmt.max)
    if spec.get("pruned"):
        values[np.abs(values) < np.quantile(np.abs(values), sparsity)] = 0.0
    layer.set_weights([fmt.quantize(values).astype(np.float32), np.zeros(kernel.shape[-1], np.float32)])


def estimate_record(record: dict, coefficients: dict = None):
    from hw.estimate.geometry import from_model

    model, types = rebuild(record)
    geoms = from_model(model, types)
    for g in geoms:                         # operand widths the record states explicitly
        spec = next((s for s in record["network"]["layers"] if s["name"] == g.name), {})
        g.data_bits = spec.get("input_bits", g.data_bits)
    streams = [Stream(f["stream"], f["depth"], f["bits"], f["count"]) for f in record.get("hls_fifos") or []]
    return estimate_network(geoms, {}, _Part(record), float(record["clock_ns"]), streams, coefficients)


def errors(record: dict, est) -> dict:
    """Relative errors (estimate / published - 1) of the post-synthesis totals and HLS cycles."""
    published = record["totals"]["post_synthesis"]
    totals = est.totals
    out = {k: round(totals[k] / published[k] - 1, 4) for k in RESOURCES if published.get(k)}
    out["latency_cycles"] = round(est.latency_cycles / record["latency_cycles"] - 1, 4)
    out["interval_cycles"] = round(est.interval_cycles / record["interval_cycles"] - 1, 4)
    return out


def per_layer(record: dict, est) -> dict:
    """Per layer: [estimated, HLS-reported] cycles and DSPs (HLS's per-layer figures are its own
    estimates; only the totals have a post-synthesis counterpart)."""
    ours = {layer.name: layer for layer in est.layers}
    return {name: {"cycles": [ours[name].cycles, hls["latency_cycles"]], "dsp": [round(ours[name].cost.dsp), hls["dsp"]]}
            for name, hls in record["hls_layers"].items() if name in ours}


def fit(records: list) -> dict:
    """LUT and FF scales: geometric mean of published / predicted over the FIT records."""
    ratios = {"lut": [], "ff": []}
    for record in records:
        if record["name"] in FIT:
            est = estimate_record(record, {"lut_scale": 1.0, "ff_scale": 1.0})
            for k in ratios:
                ratios[k].append(record["totals"]["post_synthesis"][k] / est.totals[k])
    if not all(ratios.values()):
        raise ValueError(f"no calibration record named {', '.join(FIT)} to fit on")
    return {f"{k}_scale": round(float(np.exp(np.mean(np.log(v)))), 4) for k, v in ratios.items()}


def run() -> dict:
    from hw.estimate.calibration import load_calibration

    records = load_calibration()
    coefficients = fit(records)
    table = {}
    for record in records:
        est = estimate_record(record, coefficients)
        table[record["name"]] = {"role": "fit" if record["name"] in FIT else "held-out",
                                 "errors": errors(record, est), "layers": per_layer(record, est),
                                 "estimate": est.totals,
                                 "published": record["totals"]["post_synthesis"],
                                 "source": f"{record['source']['repo']}: {record['source']['synth_report']['path']}"}
    return {"predicts": "post-synthesis (Vivado report_utilization) resources; HLS cycles",
            "coefficients": coefficients, "records": table}


def load_errors() -> dict:
    """The measured calibration errors (ERRORS_FILE); {} when it has not been written."""
    return yaml.safe_load(ERRORS_FILE.read_text()) if ERRORS_FILE.exists() else {}


def footer() -> str:
    """One line for every report: the measured error of the estimate on held-out published designs."""
    data = load_errors()
    held = [(name, r["errors"]) for name, r in data.get("records", {}).items() if r["role"] == "held-out"]
    if not held:
        return "estimated figures; calibration errors not measured (run python -m hw.estimate.calibration_fit --write)"
    parts = []
    for name, err in held:
        parts.append(f"{name}: " + ", ".join(f"{k} {v:+.0%}" for k, v in err.items()))
    return ("estimated (post-synthesis resources, HLS cycles); error on held-out published designs: "
            + "; ".join(parts))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {ERRORS_FILE.name}")
    args = parser.parse_args(argv)
    result = run()
    text = yaml.safe_dump(result, sort_keys=False)
    if args.write:
        ERRORS_FILE.write_text("# Written by: python -m hw.estimate.calibration_fit --write\n" + text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
