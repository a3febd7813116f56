"""``attendnets compare``: the four Table 1 networks planned for each board, beside what a user
would pick instead (the Vitis AI DPU's published throughput) and the board's physical limit.

Every figure of ours is the estimator's (labelled estimated); the DPU figures are published ones
(``DPU_FPS``).  Each network is built once and planned for every board asked for.
"""
from __future__ import annotations

from hw.estimate.plan import PlanError

# Published Vitis AI DPU throughput at 224x224 (../shared/REFERENCE.md): Vitis AI 2.5 model zoo,
# images/s with one thread / several threads.  No DPU exists for Zynq-7000, and the zoo lists no
# Ultra96-V2 figure.
DPU_FPS = {
    "zcu104": {"mobilenet-v1": (344.9, 784.0), "mobilenet-v2": (284.2, 609.2), "config": "2xB4096 @300 MHz"},
    "kv260": {"mobilenet-v1": (354.2, 425.6), "mobilenet-v2": (290.6, 336.8), "config": "1xB4096F @300 MHz"},
    "zcu102": {"mobilenet-v1": (326.6, 951.0), "mobilenet-v2": (268.1, 707.0), "config": "3xB4096 @281 MHz"},
}
DPU_SOURCE = "Vitis AI 2.5 model zoo (1 thread / multi-thread)"
COMPARED = ("attendnet-a", "attendnet-b", "mobilenet-v1", "mobilenet-v2")
BOARDS = ("zcu104", "kv260", "zcu102", "ultra96v2", "pynq-z2")


def compare_rows(boards=BOARDS, budget: float = 0.8, models=None) -> list:
    """One row per (board, network): complexity, fit, planned fps, bottleneck, totals, utilization,
    physical limit, and the DPU's published fps where there is one."""
    from hw.config import BuildConfig
    from hw.estimate.plan import plan
    from hw.estimate.source import from_config
    from qmodels.build import build_model
    from qmodels.complexity import measure

    rows = []
    for name in models or COMPARED:
        model = build_model(name)         # seeded and calibrated, as generation builds it
        c = measure(model, name=name)
        for board in boards:
            row = {"board": board, "model": name, "params": c.params, "macs": c.macs,
                   "weight_kib": c.weight_bytes / 1024}
            design = from_config(BuildConfig(model=name, board=board), model)
            limit = design.estimate().as_dict()
            row.update(physical_limit_fps=limit["physical_limit_fps"], multiply_capacity=limit["multiply_capacity"],
                       capacity=limit["capacity"])
            try:
                d = plan(design, budget).estimate.as_dict()
                row.update(fits=True, fps=d["fps"], bottleneck=d["bottleneck"], **d["totals"],
                           utilization=d["utilization"], ratio_to_physical_limit=d["ratio_to_physical_limit"])
            except PlanError as err:
                row.update(fits=False, fps=None, reason=str(err))
            dpu = DPU_FPS.get(board, {}).get(name)
            row["dpu_fps"] = ({"single": dpu[0], "multi": dpu[1], "source": DPU_SOURCE,
                               "config": DPU_FPS[board]["config"]} if dpu else None)
            rows.append(row)
    return rows


def compare_text(rows, fmt: str, budget: float = 0.8) -> str:
    from hw.estimate.calibration_fit import band_text

    head = ["board", "model", "params", "mult-adds", "fits", "fps (est.)", "bottleneck",
            *(f"{label} {band_text(k)}" for k, label in (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"),
                                                          ("bram18", "BRAM18"), ("uram", "URAM"))),
            "physical limit (est.)", "DPU fps 1t/mt"]
    body = []
    for r in rows:
        dpu = f"{r['dpu_fps']['single']:.0f} / {r['dpu_fps']['multi']:.0f}" if r["dpu_fps"] else "-"
        res = [_resource_cell(r, k) for k in ("lut", "ff", "dsp", "bram18", "uram")]
        body.append([r["board"], r["model"], f"{r['params'] / 1e3:.0f}K", f"{r['macs'] / 1e6:.1f}M",
                     "yes" if r["fits"] else "no", f"{r['fps']:.1f}" if r["fps"] else "-",
                     r.get("bottleneck", "-"), *res, f"{r['physical_limit_fps']:.0f}", dpu])
    notes = [f"{r['board']} {r['model']}: {r['reason']}" for r in rows if not r["fits"]]
    src = (f"Planned within {budget:.0%} of every resource; every figure of ours is estimated (column heads carry "
           "each resource's measured error band). Physical limit: every DSP (two products each where 8-bit "
           "packing is exact) and every LUT as a fabric multiplier, all busy, at the board's clock. "
           f"DPU: {DPU_SOURCE}: " + "; ".join(f"{b} {v['config']}" for b, v in DPU_FPS.items())
           + "; none exists for Zynq-7000 (pynq-z2), none is published for ultra96v2.")
    if fmt == "md":
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(map(str, b)) + " |" for b in body]
        return "\n".join(["# AttendNets and MobileNets on Zynq boards (estimated)", ""] + lines + ["", src, ""]
                         + [f"- {n}" for n in notes] + [chart(rows)])
    widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
    lines = ["  ".join(str(v).rjust(w) for v, w in zip(x, widths)) for x in [head] + body]
    return "\n".join(lines + [src] + notes)


def _resource_cell(row, k: str) -> str:
    """'total (utilization)', or '-' where there is none: no plan fits, or the board has none of the
    resource (URAM on pynq-z2, ultra96v2, zcu102: 0 of 0 is not 0%; the JSON keeps its numbers)."""
    if not row["fits"] or row["utilization"].get(k) is None or row.get("capacity", {}).get(k) == 0:
        return "-"
    return f"{row[k]} ({row['utilization'][k]:.0%})"


def chart(rows) -> str:
    """Grouped bars per board: our planned fps (estimated) beside the DPU's published multi-thread fps."""
    import base64
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    boards = list(dict.fromkeys(r["board"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, len(boards), figsize=(3.2 * len(boards), 3), sharey=True, squeeze=False)
    for ax, board in zip(axes[0], boards):
        mine = {r["model"]: r for r in rows if r["board"] == board}
        x = range(len(models))
        ax.bar([i - 0.2 for i in x], [mine[m]["fps"] or 0 for m in models], width=0.4, label="ours (est.)")
        ax.bar([i + 0.2 for i in x], [mine[m]["dpu_fps"]["multi"] if mine[m]["dpu_fps"] else 0 for m in models],
               width=0.4, label="DPU (published)")
        ax.set_xticks(list(x), [m.replace("attendnet-", "AN-").replace("mobilenet-", "MN-") for m in models],
                      fontsize=8)
        ax.set_title(board)
    axes[0][0].set_ylabel("images/s")
    axes[0][0].legend(fontsize=7)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return f"\n![images per second](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})\n"
