"""An estimate (and synthesized figures where a project has vendor reports) as text, JSON, Markdown, HTML.

Every figure carries its source: the estimate's columns are ``estimated``; figures read from vendor
reports are ``synthesized`` (hw.estimate.vendor_reports), shown beside the estimate with their ratio.
The footer of every format quotes the estimator's measured error (hw.estimate.calibration_fit), and
every estimated resource total is printed with its measured band (``LUT 184k ±58%``: the worst
leave-one-out error against post-synthesis over the calibration designs; ``±?`` where no design
measured it).
"""
from __future__ import annotations

import base64
import html
import io
import json

from hw.estimate.calibration_fit import band_text, bands, footer
from hw.estimate.network import RESOURCES

COLUMNS = ("multipliers", "dsp", "lut", "ff", "bram18", "uram", "ii", "cycles")
LABELS = {"dsp": "DSP", "lut": "LUT", "ff": "FF", "bram18": "BRAM18", "uram": "URAM"}


def _short(n) -> str:
    """184k, 4.6k, 340."""
    n = float(n)
    return f"{n / 1000:.0f}k" if abs(n) >= 10_000 else f"{n / 1000:.1f}k" if abs(n) >= 1000 else f"{n:.0f}"


def banded_totals(est) -> str:
    """``DSP 0 ±67%, LUT 184k ±58%, ...``: every estimated total with its measured band."""
    return ", ".join(f"{LABELS[k]} {_short(v)} {band_text(k)}" for k, v in est.totals.items())


def upper_edge(est) -> dict:
    """{resource: utilization at the band's upper edge} (the band unknown: the estimate itself)."""
    b = bands()
    return {k: u * (1 + (b[k] or 0.0)) for k, u in est.utilization.items()}


def summary_line(est) -> str:
    """One line: fits or not (and what is short), every total with its measured band, the fit at the
    bands' upper edge, fps, bottleneck; every figure estimated."""
    d = est.as_dict()
    if d["fits"]:
        fit = f"fits {d['board']} (largest use {max(d['utilization'].items(), key=lambda kv: kv[1])[0]} " \
              f"{max(d['utilization'].values()):.0%})"
    else:
        fit = "does NOT fit {}: ".format(d["board"]) + ", ".join(
            f"{k} short by {v} ({d['utilization'][k]:.0%} of the board)" for k, v in d["short"].items())
    edge = max(upper_edge(est).items(), key=lambda kv: kv[1])
    return (f"estimated: {fit}; {banded_totals(est)}; at the bands' upper edge {edge[0]} {edge[1]:.0%}; "
            f"{d['fps']:.1f} images/s at {1000 / d['clock_ns']:.0f} MHz "
            f"(interval {d['interval_cycles']} cycles {band_text('interval_cycles')}, bottleneck {d['bottleneck']}); "
            f"{d['fps'] / d['physical_limit_fps']:.0%} of the physical limit {d['physical_limit_fps']:.0f}/s")


def fits_warning(est) -> str | None:
    """The warning ``generate`` prints when the estimate says the board is too small, else None."""
    if est.fits:
        return None
    short = ", ".join(f"{k} by {v} ({est.utilization[k]:.0%})" for k, v in est.as_dict()["short"].items())
    return (f"warning: the estimate says this design does not fit {est.board}: {short}; the project is "
            "written anyway (synthesis decides); 'attendnets plan' chooses reuse factors that fit")


def as_json(est, synth=None) -> str:
    data = est.as_dict()
    data["bands"] = bands()
    data["utilization_upper_edge"] = {k: round(v, 4) for k, v in upper_edge(est).items()}
    data["footer"] = footer()
    if synth is not None:
        data["synthesized"] = {"source": synth.source, "totals": synth.totals, "totals_from": synth.totals_from,
                               "latency_cycles": synth.latency_cycles, "interval_cycles": synth.interval_cycles}
        for layer in data["layers"]:
            if layer["name"] in synth.layers:
                layer["synthesized"] = synth.layers[layer["name"]]
    return json.dumps(data, indent=2)


def _fmt(v) -> str:
    return f"{v:.0f}" if isinstance(v, float) else str(v)


def _ratio(est: float, syn) -> str:
    return f"{est / syn:.2f}" if syn else "-"


def _rows(est, synth) -> tuple:
    head = ["layer", "kind", "RF", "fold", "strategy", "weights in", *COLUMNS]
    if synth is not None:
        head += ["synth LUT", "synth FF", "synth DSP", "synth BRAM18", "LUT est/synth"]
    rows = []
    for layer in est.as_dict()["layers"]:
        row = [layer["name"], layer["kind"], layer["reuse"], layer["fold"], layer["strategy"], layer["storage"]] + [
            _fmt(layer[c]) for c in COLUMNS]
        if synth is not None:
            s = synth.layers.get(layer["name"])
            row += [_fmt(s[k]) for k in ("lut", "ff", "dsp", "bram18")] + [_ratio(layer["lut"], s["lut"])] \
                if s else ["-"] * 5
        rows.append(row)
    fifo = est.as_dict()["fifos"]
    rows.append([f"FIFOs ({fifo['count']})", "stream", "", "", "", "", "", *(_fmt(fifo[k]) for k in RESOURCES), "", ""]
                + (["-"] * 5 if synth is not None else []))
    totals = est.totals
    rows.append(["total", "", "", "", "", "", "", *(_fmt(totals[k]) for k in RESOURCES), "", _fmt(est.interval_cycles)]
                + ([_fmt(synth.totals.get(k, "-")) for k in ("lut", "ff", "dsp", "bram18")]
                   + [_ratio(totals["lut"], synth.totals.get("lut"))] if synth is not None else []))
    rows.append(["measured band", "", "", "", "", "", "", *(band_text(k) for k in RESOURCES), "", ""]
                + (["", "", "", "", ""] if synth is not None else []))
    return head, rows


def _summary(est, synth) -> list:
    d = est.as_dict()
    # a resource the board lacks (URAM on pynq-z2) is none, not 0% of it
    util = ", ".join(f"{k} {v:.1%} {band_text(k)}" if d["capacity"][k] else f"{k} - (none on the board)"
                     for k, v in d["utilization"].items())
    lines = [f"board: {d['board']} ({est.family}), clock {d['clock_ns']} ns; {'; '.join(est.notes)}",
             f"utilization (estimated): {util}",
             summary_line(est),
             f"latency {d['latency_cycles']} cycles {band_text('latency_cycles')} "
             f"({d['latency_cycles'] * d['clock_ns'] / 1e3:.1f} us), interval {d['interval_cycles']} cycles "
             f"{band_text('interval_cycles')}, {d['fps']:.1f} images/s (estimated; the cycles' bands are against "
             "HLS csynth)",
             f"physical limit: {_multipliers(d)} x {1000 / d['clock_ns']:.0f} MHz / {d['macs'] / 1e6:.1f}M "
             f"mult-adds = {d['physical_limit_fps']:.0f} images/s; this design reaches "
             f"{d['ratio_to_physical_limit']:.1%} of it"]
    if synth is not None:
        lines.append(f"{synth.source} ({synth.totals_from}): " + ", ".join(
            f"{k} {synth.totals.get(k)}" for k in RESOURCES) + (f"; latency {synth.latency_cycles}, interval "
                                                                 f"{synth.interval_cycles} cycles (HLS)"
                                                                 if synth.latency_cycles else ""))
    return lines


def as_table(est, synth=None) -> str:
    head, rows = _rows(est, synth)
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    fmt = lambda r: "  ".join(str(v).rjust(w) if i > 1 else str(v).ljust(w)  # noqa: E731
                              for i, (v, w) in enumerate(zip(r, widths)))
    out = [fmt(head), "-" * len(fmt(head))] + [fmt(r) for r in rows]
    return "\n".join(_summary(est, synth) + [""] + out + ["", footer()])


def _md_table(head, rows) -> str:
    lines = ["| " + " | ".join(map(str, head)) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def charts(est) -> list:
    """(title, PNG bytes): cycles per layer against the interval, resources per layer, utilization."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = est.layers
    names = [layer.name for layer in layers]
    out = []
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.12), 4))
    ax.bar(range(len(names)), [layer.cycles for layer in layers], color="tab:blue")
    ax.axhline(est.interval_cycles, color="tab:red", label=f"interval {est.interval_cycles}")
    ax.set_ylabel("cycles per image (estimated)")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=5)
    ax.legend()
    out.append(("Cycles per layer against the pipeline interval", fig))
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.12), 4))
    bottom = [0.0] * len(names)
    for k in ("lut", "ff", "bram18", "dsp"):
        cap = est.capacity[k] or 1
        share = [100 * getattr(layer.cost, k) / cap for layer in layers]
        ax.bar(range(len(names)), share, bottom=bottom, label=k)
        bottom = [b + s for b, s in zip(bottom, share)]
    ax.set_ylabel("% of the board (estimated, stacked)")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=5)
    ax.legend()
    out.append(("Resources per layer", fig))
    fig, ax = plt.subplots(figsize=(6, 3))
    util = est.utilization
    ax.bar(list(util), [100 * min(v, 5.0) for v in util.values()],
           color=["tab:red" if v > 1 else "tab:green" for v in util.values()])
    ax.axhline(100, color="black", linestyle="--", label="board")
    ax.set_ylabel("% of the board (estimated)")
    ax.legend()
    out.append(("Utilization against the board", fig))
    pngs = []
    for title, fig in out:
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        pngs.append((title, buf.getvalue()))
    return pngs


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def as_markdown(est, synth=None, title: str = "Resources and latency") -> str:
    head, rows = _rows(est, synth)
    parts = [f"# {title}", ""] + [f"- {line}" for line in _summary(est, synth)] + ["", _md_table(head, rows), ""]
    for name, png in charts(est):
        parts += [f"## {name}", "", f"![{name}]({_data_uri(png)})", ""]
    return "\n".join(parts + [f"_{footer()}_", ""])


def as_html(est, synth=None, title: str = "Resources and latency") -> str:
    head, rows = _rows(est, synth)
    table = "<table>\n<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in head) + "</tr>\n" + "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>\n" for r in rows) + "</table>"
    figs = "".join(f"<h2>{html.escape(n)}</h2>\n<img alt=\"{html.escape(n)}\" src=\"{_data_uri(p)}\">\n"
                   for n, p in charts(est))
    items = "".join(f"<li>{html.escape(line)}</li>" for line in _summary(est, synth))
    style = "body{font-family:sans-serif} table{border-collapse:collapse;font-size:12px} td,th{border:1px solid #ccc;" \
            "padding:2px 6px;text-align:right} img{max-width:100%}"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n<h1>{html.escape(title)}</h1>\n<ul>{items}</ul>\n{table}\n{figs}"
            f"<p><em>{html.escape(footer())}</em></p>\n</body></html>\n")


FORMATS = {"table": as_table, "json": as_json, "md": as_markdown, "html": as_html}


def _multipliers(d: dict) -> str:
    """What the physical limit counts: DSPs at their packing plus LUT multipliers."""
    m = d.get("multiply_capacity") or {}
    if "per_clock" not in m:
        return f"{d['capacity']['dsp']} DSPs"
    operands = "x".join(map(str, m.get("operands", [])))
    return (f"({m['dsp']} DSPs x {m['per_dsp']} + {m['lut']} LUT multipliers of {operands} bits "
            f"= {m['per_clock']} products per clock)")
