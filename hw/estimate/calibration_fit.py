"""The estimator against published synthesis reports: rebuild each design, estimate it, compare.

Each record of ``hw/estimate/calibration/*.yaml`` (copied from public vendor reports) describes a
network layer by layer; ``rebuild`` (hw/estimate/calibration/rebuild.py) makes it a (Q)Keras model
with seeded weights, and the estimator prices it with the record's own FIFOs.  Two scales are
fitted, LUT and FF (geometric mean of published / predicted post-synthesis totals); everything else
is unfitted.  The error quoted everywhere is leave-one-out: for each record with post-synthesis
totals the scales are fitted on all the others and that record is predicted.  The per-resource
distribution (median, worst, number of designs) is the band every report prints beside its figures
(``band``).  Two targets, kept apart: Vivado post-synthesis utilization (totals; leave-one-out, the
records with a synthesis report) and the HLS tool's own report (every record the estimator can
rebuild: DSPs, which HLS binds and synthesis keeps within a few percent, and, for io_stream designs,
cycles; nothing fitted enters either, so they need no leave-one-out).
``python -m hw.estimate.calibration_fit --write`` writes ERRORS_FILE; a test checks it is fresh.
"""
from __future__ import annotations

import argparse
import functools

import numpy as np
import yaml

from qmodels import strict_yaml

from hw.estimate.calibration.rebuild import rebuild
from hw.estimate.network import ERRORS_FILE, RESOURCES, UNSCALED, Stream, estimate_network, load_errors  # noqa: F401
FITTED = ("lut", "ff")
CYCLES = ("latency_cycles", "interval_cycles", "layer_cycles")
TARGETS = {"post_synthesis": "Vivado post-synthesis utilization (totals), leave-one-out",
           "hls_csynth": "Vivado/Vitis HLS csynth report: DSPs (totals), and cycles of io_stream designs "
                         "(latency, interval, worst layer of >= 100 cycles)"}
RESOURCE_FIGURES = ("dsp", "lut", "ff", "bram18")   # uram: no calibration design uses any


class _Part:
    """The record's device, as far as the estimator needs one (capacities are not compared)."""

    def __init__(self, record: dict):
        self.name, self.family = record["part"], record.get("family", "virtexuplus")
        self.resources = {"lut": 1, "ff": 1, "dsp": 1, "bram36": 1, "uram": 0}


@functools.lru_cache(maxsize=None)
def _geoms(record_yaml: str):
    """The record's layer geometries (rebuilding the Keras model is the slow part: once per record)."""
    from hw.estimate.geometry import from_model

    record = strict_yaml.loads(record_yaml)
    model, types = rebuild(record)
    geoms = from_model(model, types)
    for g in geoms:                         # operand widths the record states explicitly
        spec = next((s for s in record["network"]["layers"] if s["name"] == g.name), {})
        g.data_bits = spec.get("input_bits", g.data_bits)
    return geoms


def estimate_record(record: dict, coefficients: dict = None):
    key = yaml.safe_dump({k: record[k] for k in ("name", "network")}, sort_keys=True)
    streams = [Stream(f["stream"], f["depth"], f["bits"], f["count"]) for f in record.get("hls_fifos") or []]
    return estimate_network(_geoms(key), _settings(record), _Part(record), float(record["clock_ns"]), streams,
                            coefficients if coefficients is not None else UNSCALED)


def _settings(record: dict) -> dict:
    """{layer: LayerSetting} from the record's reuse factor and strategy (a layer's own, else the
    network's), for the layers with products."""
    from hw.estimate.calibration.rebuild import MATRIX
    from hw.estimate.layers import LayerSetting

    net = record["network"]
    return {s["name"]: LayerSetting(int(s.get("reuse_factor", net.get("reuse_factor", 1))),
                                    str(s.get("strategy", net.get("strategy", "Latency"))).lower())
            for s in net["layers"] if s["type"] in MATRIX}


def is_stream(record: dict) -> bool:
    return record["network"].get("io_type", "io_stream") == "io_stream"


def rebuildable(record: dict) -> bool:
    """Whether rebuild.py has a rule for every layer of the record."""
    from hw.estimate.calibration.rebuild import IMPLICIT, RULES

    return all(s["type"] in RULES or s["type"] in IMPLICIT for s in record["network"]["layers"])


def _relative(estimate: float, published: float):
    """estimate / published - 1; a resource the design does not use counts as exact when the
    estimate is 0 too, and is left out otherwise (no relative error of a zero)."""
    if published:
        return round(estimate / published - 1, 4)
    return 0.0 if estimate == 0 else None


def errors(record: dict, est) -> dict:
    """Post-synthesis target: relative errors of the totals (estimate / Vivado's - 1)."""
    published, totals = record["totals"]["post_synthesis"], est.totals
    out = {k: _relative(totals[k], published[k]) for k in RESOURCE_FIGURES}
    return {k: v for k, v in out.items() if v is not None}


LONG_LAYER = 100        # per-layer cycles are compared where HLS reports at least this many


def hls_errors(record: dict, est) -> dict:
    """HLS target: DSPs against the csynth total and, for io_stream designs, cycles (latency,
    interval, the worst layer HLS gives >= LONG_LAYER cycles: the ones that set the interval)."""
    out = {"dsp": _relative(est.totals["dsp"], record["totals"]["hls"]["dsp"])}
    if is_stream(record):
        out["latency_cycles"] = round(est.latency_cycles / record["latency_cycles"] - 1, 4)
        out["interval_cycles"] = round(est.interval_cycles / record["interval_cycles"] - 1, 4)
        ours = {layer.name: layer.cycles for layer in est.layers}
        errs = [ours[name] / hls["latency_cycles"] - 1 for name, hls in record["hls_layers"].items()
                if name in ours and hls["latency_cycles"] >= LONG_LAYER]
        if errs:
            out["layer_cycles"] = round(max(errs, key=abs), 4)
    return {k: v for k, v in out.items() if v is not None}


def per_layer(record: dict, est) -> dict:
    """Per layer: [estimated, HLS-reported] cycles and DSPs (HLS's per-layer figures are its own
    estimates; only the totals have a post-synthesis counterpart)."""
    ours = {layer.name: layer for layer in est.layers}
    return {name: {"cycles": [ours[name].cycles, hls["latency_cycles"]],
                   "dsp": [round(ours[name].cost.dsp), hls["dsp"]]}
            for name, hls in record["hls_layers"].items() if name in ours}


def fit(records: list) -> dict:
    """LUT and FF scales: geometric mean of published / predicted (unscaled) over ``records``."""
    if not records:
        raise ValueError("no calibration record with post-synthesis totals to fit on")
    ratios = {k: [] for k in FITTED}
    for record in records:
        est = estimate_record(record, UNSCALED)
        for k in FITTED:
            ratios[k].append(record["totals"]["post_synthesis"][k] / est.totals[k])
    return {f"{k}_scale": round(float(np.exp(np.mean(np.log(v)))), 4) for k, v in ratios.items()}


def _source(record: dict, report: str) -> str:
    src = record["source"]
    return f"{src['repo']}: {src[report]['path']} @ {src[report]['commit'][:12]}"


def leave_one_out(records: list) -> dict:
    """{name: row}: each record predicted with the scales fitted on all the other records."""
    table = {}
    for record in records:
        others = [r for r in records if r is not record]
        coefficients = fit(others)
        est = estimate_record(record, coefficients)
        table[record["name"]] = {
            "fitted_on": sorted(r["name"] for r in others), "coefficients": coefficients,
            "errors": errors(record, est), "estimate": est.totals,
            "published": record["totals"]["post_synthesis"], "source": _source(record, "synth_report")}
    return table


def hls_table(records: list) -> dict:
    """{name: row}: every rebuildable record against its HLS report (nothing fitted is involved)."""
    table = {}
    for record in records:
        est = estimate_record(record)
        table[record["name"]] = {"errors": hls_errors(record, est), "layers": per_layer(record, est),
                                 "estimate_dsp": est.totals["dsp"], "hls_dsp": record["totals"]["hls"]["dsp"],
                                 "tool": record["tool"]["hls"], "source": _source(record, "hls_report")}
    return table


def distribution(table: dict, target: str) -> dict:
    """Per figure: median and worst |error| over the records that measure it, and how many."""
    keys = [k for k in (*RESOURCES, *CYCLES) if any(k in row["errors"] for row in table.values())]
    out = {}
    for k in keys:
        values = {name: row["errors"][k] for name, row in table.items() if k in row["errors"]}
        worst = max(values, key=lambda n: abs(values[n]))
        out[k] = {"target": target, "designs": len(values),
                  "median_abs": round(float(np.median(np.abs(list(values.values())))), 4),
                  "worst": values[worst], "worst_design": worst}
    return out


def run() -> dict:
    from hw.estimate.calibration import load_calibration

    records = load_calibration()
    table = leave_one_out(records)
    hls = hls_table([r for r in load_calibration(include_hls_only=True) if rebuildable(r)])
    return {"predicts": "post-synthesis (Vivado report_utilization) resources; HLS cycles",
            "targets": TARGETS, "coefficients": fit(records),
            "leave_one_out": distribution(table, "post_synthesis"), "hls_csynth": distribution(hls, "hls_csynth"),
            "records": table, "hls_records": hls}


def band(figure: str, data: dict = None):
    """The measured error band of an estimated figure: for a resource the worst leave-one-out |error|
    against post-synthesis, for latency_cycles / interval_cycles the worst |error| against HLS
    csynth, over the calibration designs (None when no design measured it)."""
    table = "hls_csynth" if figure in CYCLES else "leave_one_out"
    row = (load_errors() if data is None else data).get(table, {}).get(figure)
    return abs(row["worst"]) if row else None


def bands(data: dict = None) -> dict:
    """{figure: band} of every resource and of latency and interval cycles."""
    data = load_errors() if data is None else data
    return {k: band(k, data) for k in (*RESOURCES, "latency_cycles", "interval_cycles")}


def margin_budget(budget: float, data: dict = None) -> dict:
    """{resource: fraction}: ``budget`` shrunk by each resource's measured band, so that an estimate
    within it stays within ``budget`` at the band's upper edge (estimate x (1 + band) <= budget x
    board).  A resource no design measured (URAM) keeps ``budget``."""
    data = load_errors() if data is None else data
    return {k: budget if band(k, data) is None else round(budget / (1 + band(k, data)), 4) for k in RESOURCES}


def band_text(figure: str, data: dict = None) -> str:
    """``±12%`` (the measured band of ``figure``), ``±?`` when no design measured it."""
    b = band(figure, data)
    return "±?" if b is None else f"±{b:.0%}"


def with_band(resource: str, value, text: str = None) -> str:
    """``LUT 184k ±12%``-style: the figure and its measured band (``±?`` when unmeasured)."""
    return f"{text if text is not None else value} {band_text(resource)}"


def footer() -> str:
    """One line for every report: what the figures predict and their measured error."""
    data = load_errors()
    dist = data.get("leave_one_out")
    if not dist:
        return "estimated figures; calibration errors not measured (run python -m hw.estimate.calibration_fit --write)"
    post = ", ".join(f"{k} ±{abs(v['worst']):.0%} (median {v['median_abs']:.0%}, {v['designs']} designs)"
                     for k, v in dist.items())
    hls = ", ".join(f"{k} ±{abs(v['worst']):.0%} (median {v['median_abs']:.0%}, {v['designs']})"
                    for k, v in data.get("hls_csynth", {}).items())
    return ("estimated: resources predict Vivado post-synthesis utilization, cycles HLS csynth; "
            f"leave-one-out error over published designs: {post}; against HLS reports: {hls}")


def table_markdown(data: dict) -> str:
    """The tables hw/README.md quotes: the distribution per figure, then every design's errors."""
    lines = ["| figure | target | designs | median abs error | worst (design) |", "|---|---|---|---|---|"]
    for v_key in ("leave_one_out", "hls_csynth"):
        for k, v in data[v_key].items():
            lines.append(f"| {k} | {v['target']} | {v['designs']} | {v['median_abs']:.0%} | "
                         f"{v['worst']:+.0%} ({v['worst_design']}) |")
    lines += ["", "| design | LUT | FF | DSP | BRAM18 | (post-synthesis, leave-one-out) |", "|---|---|---|---|---|---|"]
    for name, row in data["records"].items():
        lines.append(f"| {name} | " + " | ".join(_pct(row["errors"].get(k)) for k in ("lut", "ff", "dsp", "bram18"))
                     + " | |")
    lines += ["", "| design | HLS tool | DSP vs HLS | latency | interval | worst layer |", "|---|---|---|---|---|---|"]
    for name, row in data["hls_records"].items():
        lines.append(f"| {name} | {row['tool'].split(' (')[0]} | " +
                     " | ".join(_pct(row["errors"].get(k)) for k in ("dsp", *CYCLES)) + " |")
    return "\n".join(lines)


def _pct(value) -> str:
    return "-" if value is None else f"{value:+.0%}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {ERRORS_FILE.name}")
    args = parser.parse_args(argv)
    result = run()
    text = yaml.safe_dump(result, sort_keys=False)
    if args.write:
        ERRORS_FILE.write_text("# Written by: python -m hw.estimate.calibration_fit --write\n" + text)
    print(text)
    print(table_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
